//! Time to churn: a discrete-time hazard on account-months, with the renewal calendar in
//! the hazard (issue 33, first part).
//!
//! From a snapshot row (an account at t, with its features) the next [`MONTHS`] months are
//! rows at risk: month k is `[t + (k-1) months, t + k months)`. Month k is labelled 1 when
//! the account churns in it. Months after the churn give no row (no longer at risk), and
//! months that end after the data does (the as-of date, or the cut when fitting) give no
//! row either: right-censoring is explicit. A churn dated before t (a lapsed account whose
//! last term ended within the grace period and never renewed) falls in month 1, when the
//! grace period runs out.
//!
//! Each month's covariates are the snapshot's features plus its renewal calendar
//! ([`CALENDAR`]): which month ahead it is, whether a term ends in it, the months from its
//! start to the next term end, how many term ends have passed since t, and the term length.
//! Term ends after the current one are projected at the current term's length: what a CS
//! team assumes of a renewal that has not happened yet.
//!
//! The fitted hazards `h_k` multiply into P(churn within m months) = 1 - Π_{k≤m} (1 - h_k)
//! ([`Curve`]), the expected churn month, and the probability that the next renewal fails
//! (churn by the end of the month holding the current term's end).
//!
//! [`evaluate`] validates out of time: the hazard is fitted on snapshots before a cut,
//! seeing only months that ended before it, and tested on the snapshot at the cut, followed
//! for 12 months, with the survival metrics of [`crate::train::survival`]. A direct 90-day
//! model fitted on the same snapshots is the yardstick for the hazard's 3-month figure.

pub mod evaluate;
pub mod model;

pub use evaluate::{HazardEvaluation, evaluate};
pub use model::HazardModel;

use chrono::{Duration, NaiveDate};

use crate::book::snapshot::SpineRow;
use crate::common::dates;
use crate::features::SnapshotTable;
use crate::features::dataset::Dataset;

/// Months ahead the hazard covers.
pub const MONTHS: usize = 12;

/// The renewal-calendar covariates of a month at risk, appended to the snapshot's
/// features.
pub const CALENDAR: [&str; 5] = [
    "hazard.month_ahead",
    "hazard.term_ends_in_month",
    "hazard.months_to_term_end",
    "hazard.term_ends_passed",
    "hazard.term_months",
];

/// Days per month, to express day spans in months.
const DAYS_PER_MONTH: f64 = 30.4375;

/// One month at risk: snapshot row `row`, month `k` (1..=[`MONTHS`]) after its date.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MonthRow {
    pub row: usize,
    pub k: usize,
    pub churned: bool,
}

/// The month (1-based) after `t` in which `churn` falls; a churn before t falls in month 1.
pub fn churn_month(t: NaiveDate, churn: NaiveDate) -> usize {
    let mut k = 1;
    while churn >= dates::add_months(t, k as i32) {
        k += 1;
    }
    k
}

/// The months at risk of snapshot row `row` (spine row `r`) that end on or before `end`
/// (exclusive bound: a month `[s, e)` is observed when `e <= end`).
pub fn months_at_risk(row: usize, r: &SpineRow, end: NaiveDate) -> Vec<MonthRow> {
    let churn = r.churn_date.map(|c| churn_month(r.t, c));
    let mut out = Vec::new();
    for k in 1..=MONTHS {
        if dates::add_months(r.t, k as i32) > end {
            break;
        }
        let churned = churn == Some(k);
        out.push(MonthRow { row, k, churned });
        if churned {
            break;
        }
    }
    out
}

/// Term ends from the current term's on, at the current term's length, through the
/// first one after the hazard's last month.
fn term_ends(r: &SpineRow) -> Vec<NaiveDate> {
    let months = if r.term_months.is_finite() {
        (r.term_months.round() as i32).max(1)
    } else {
        12
    };
    let until = dates::add_months(r.t, MONTHS as i32 + months + 1);
    let mut out = Vec::new();
    // A term ends the day before the next one would start.
    let next_start = r.renewal_date + Duration::days(1);
    for j in 0.. {
        let end = dates::add_months(next_start, j * months) - Duration::days(1);
        if end >= until || j > 1000 {
            break;
        }
        out.push(end);
    }
    out
}

/// The [`CALENDAR`] covariates of month `k` after snapshot row `r`.
pub fn calendar(r: &SpineRow, k: usize) -> [f64; 5] {
    let start = dates::add_months(r.t, k as i32 - 1);
    let end = dates::add_months(r.t, k as i32);
    let ends = term_ends(r);
    let in_month = ends.iter().any(|&e| e >= start && e < end);
    let to_next = ends.iter().find(|&&e| e >= start).map_or(f64::NAN, |&e| {
        (e - start).num_days() as f64 / DAYS_PER_MONTH
    });
    let passed = ends.iter().filter(|&&e| e >= r.t && e < start).count();
    [
        k as f64,
        f64::from(u8::from(in_month)),
        to_next,
        passed as f64,
        r.term_months,
    ]
}

/// A snapshot row's twelve months: the hazards and what they multiply into.
#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    /// h_k: P(churn in month k | a customer at its start), k = 1..=12.
    pub hazard: Vec<f64>,
    /// P(churn within m months), m = 1..=12.
    pub cumulative: Vec<f64>,
}

impl Curve {
    pub fn new(hazard: Vec<f64>) -> Curve {
        let mut survive = 1.0;
        let cumulative = hazard
            .iter()
            .map(|h| {
                survive *= 1.0 - h.clamp(0.0, 1.0);
                1.0 - survive
            })
            .collect();
        Curve { hazard, cumulative }
    }

    /// P(churn within `m` months), 1 <= m <= 12.
    pub fn within(&self, m: usize) -> f64 {
        self.cumulative[m.clamp(1, self.cumulative.len()) - 1]
    }

    /// This curve with P(churn within 3 months) set to `p` (see [`Outlook::new`]): the
    /// first three hazards rescaled so that they multiply into `p` with the same shape
    /// (the same share of the three months' churn in each), the later hazards kept.
    pub fn spliced(&self, p: f64) -> Curve {
        let p = p.clamp(0.0, 1.0);
        let own = self.within(3);
        let mut cumulative = self.cumulative.clone();
        for (m, c) in cumulative.iter_mut().enumerate() {
            *c = if m < 3 {
                if own > 0.0 {
                    p * *c / own
                } else {
                    p * (m + 1) as f64 / 3.0
                }
            } else {
                // P(churn in (3, m]) given staying the three months, from the hazard.
                let later = if own < 1.0 {
                    (*c - own) / (1.0 - own)
                } else {
                    0.0
                };
                p + (1.0 - p) * later
            };
        }
        let mut stayed = 1.0;
        let hazard = cumulative
            .iter()
            .map(|&c| {
                let h = if stayed > 0.0 {
                    1.0 - (1.0 - c) / stayed
                } else {
                    0.0
                };
                stayed = 1.0 - c;
                h.clamp(0.0, 1.0)
            })
            .collect();
        Curve { hazard, cumulative }
    }

    /// The expected churn month among accounts that churn within the twelve months
    /// (`None` when churn within them has probability 0).
    pub fn expected_month(&self) -> Option<f64> {
        let total = *self.cumulative.last()?;
        if total <= 0.0 {
            return None;
        }
        let mut prev = 0.0;
        let mut sum = 0.0;
        for (k, &c) in self.cumulative.iter().enumerate() {
            sum += (k + 1) as f64 * (c - prev);
            prev = c;
        }
        Some(sum / total)
    }

    /// P(the next renewal fails): churn by the end of the month holding the current
    /// term's end; `None` when that is past the twelve months.
    pub fn next_renewal_fails(&self, r: &SpineRow) -> Option<f64> {
        let end = r.renewal_date.max(r.t);
        let k = churn_month(r.t, end);
        (k <= self.cumulative.len()).then(|| self.within(k))
    }
}

/// The hazard of a book's run: its out-of-time figures when the data follows a snapshot
/// for twelve months (else `None`, with the reason logged), and the model fitted on every
/// snapshot before the as-of date with the months observed by it, which the model folder
/// keeps.
pub struct BookHazard {
    pub model: HazardModel,
    pub evaluation: Option<HazardEvaluation>,
}

/// Evaluates, then fits, the hazard of snapshot table `t` (design `ds`).
pub fn for_book(t: &SnapshotTable, ds: &Dataset, seed: u64) -> crate::error::Result<BookHazard> {
    log::info!("fitting the account-month hazard (out of time, then on every snapshot)");
    let evaluation = match evaluate(t, ds, seed, false) {
        Ok(e) => Some(e),
        Err(e) => {
            log::warn!("the hazard is not validated: {e}");
            None
        }
    };
    let rows = model::fit_rows(t, ds, 0..t.rows.len(), t.as_of, seed);
    let model = HazardModel::fit(t, ds, &rows, t.as_of, seed)?;
    Ok(BookHazard { model, evaluation })
}

/// Whether a 90-day model of this horizon (days) gives an outlook's first three months
/// ([`Outlook::new`]): a horizon of about three months, 85 to 95 days.
pub fn splices(horizon_days: i64) -> bool {
    (85..=95).contains(&horizon_days)
}

/// Quarters ahead the forecast covers: months 1-3, 4-6, 7-9 and 10-12.
pub const QUARTERS: usize = MONTHS / 3;

/// An account's next twelve months as the list shows them.
#[derive(Clone, Debug, PartialEq)]
pub struct Outlook {
    /// P(churn within m months), m = 1..=12.
    pub within: Vec<f64>,
    /// The next renewal: the current term's end (past t when it is overdue).
    pub next_renewal: NaiveDate,
    /// P(that renewal fails); `None` when it is past the twelve months.
    pub p_next_renewal_fails: Option<f64>,
    /// Whether a term ends (is up for renewal) in each quarter ahead; an overdue renewal
    /// counts in the first.
    pub renews_in_quarter: [bool; QUARTERS],
}

impl Outlook {
    /// The outlook of snapshot row `r` from its hazard curve. With `p_90d`, the list's
    /// calibrated 90-day probability (a model whose horizon is about three months), the
    /// first three months are that model's and the months after them the hazard's
    /// conditional on staying: P(churn within m) = p + (1 - p) P_h(churn in (3, m] |
    /// stayed 3), and within the first three months the hazard's shape scaled to p. The
    /// list then says one thing: P(churn within 6 months) is never below the 90-day
    /// probability beside it, and the first quarter of the forecast agrees with the
    /// 90-day forecast.
    pub fn new(curve: &Curve, r: &SpineRow, p_90d: Option<f64>) -> Outlook {
        let curve = match p_90d {
            Some(p) => curve.spliced(p),
            None => curve.clone(),
        };
        let mut renews_in_quarter = [false; QUARTERS];
        let ends = term_ends(r);
        for (q, slot) in renews_in_quarter.iter_mut().enumerate() {
            let start = dates::add_months(r.t, 3 * q as i32);
            let end = dates::add_months(r.t, 3 * (q as i32 + 1));
            *slot = ends
                .iter()
                .any(|&e| e < end && (e >= start || (q == 0 && e < r.t)));
        }
        Outlook {
            within: curve.cumulative.clone(),
            next_renewal: r.renewal_date,
            p_next_renewal_fails: curve.next_renewal_fails(r),
            renews_in_quarter,
        }
    }

    /// P(churn within `m` months), 1 <= m <= 12.
    pub fn within(&self, m: usize) -> f64 {
        self.within[m.clamp(1, self.within.len()) - 1]
    }

    /// P(churn in quarter `q`, 0-based): within its last month, less within the month
    /// before it began.
    pub fn in_quarter(&self, q: usize) -> f64 {
        let before = if q == 0 { 0.0 } else { self.within(3 * q) };
        (self.within(3 * q + 3) - before).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::snapshot::Status;

    fn d(s: &str) -> NaiveDate {
        dates::parse_date(s).unwrap()
    }

    fn row(t: &str, renewal: &str, term_months: f64, churn: Option<&str>) -> SpineRow {
        SpineRow {
            account: 0,
            snapshot: 0,
            t: d(t),
            status: Status::Active,
            days_lapsed: 0.0,
            label: None,
            label_next_renewal: None,
            churn_date: churn.map(d),
            arr: 1000.0,
            seats: 10.0,
            tenure_days: 400.0,
            renewal_date: d(renewal),
            days_to_renewal: 0.0,
            first_renewal_ahead: false,
            arr_change_last_renewal: None,
            term_months,
        }
    }

    #[test]
    fn months_stop_at_the_churn_and_at_the_end_of_the_data() {
        // Term ends 2025-06-30; churn dated then: month 3 after 2025-04-01.
        let r = row("2025-04-01", "2025-06-30", 12.0, Some("2025-06-30"));
        let m = months_at_risk(7, &r, d("2026-01-01"));
        assert_eq!(m.len(), 3);
        assert_eq!((m[2].row, m[2].k, m[2].churned), (7, 3, true));
        assert!(!m[0].churned && !m[1].churned);
        // Data ends 2025-06-01: months 1 and 2 observed ([04-01, 05-01), [05-01, 06-01)).
        let m = months_at_risk(7, &r, d("2025-06-01"));
        assert_eq!(m.iter().map(|x| x.k).collect::<Vec<_>>(), vec![1, 2]);
        assert!(m.iter().all(|x| !x.churned));
        // A churn dated before t (lapsed) falls in month 1.
        let r = row("2025-04-01", "2025-03-20", 12.0, Some("2025-03-20"));
        assert_eq!(churn_month(r.t, d("2025-03-20")), 1);
        // No churn: twelve months when the data reaches that far.
        let r = row("2025-04-01", "2025-06-30", 12.0, None);
        assert_eq!(months_at_risk(0, &r, d("2026-04-01")).len(), 12);
        assert_eq!(months_at_risk(0, &r, d("2026-03-31")).len(), 11);
    }

    #[test]
    fn the_calendar_projects_term_ends_at_the_term_length() {
        // Quarterly terms ending 2025-05-31, then 08-31, 11-30, 2026-02-28.
        let r = row("2025-04-01", "2025-05-31", 3.0, None);
        let cal: Vec<[f64; 5]> = (1..=12).map(|k| calendar(&r, k)).collect();
        let ends_in: Vec<usize> = (0..12)
            .filter(|&k| cal[k][1] == 1.0)
            .map(|k| k + 1)
            .collect();
        // May (month 2), August (5), November (8), February (11).
        assert_eq!(ends_in, vec![2, 5, 8, 11]);
        // Month 3 (June) starts after the May end: 1 passed, next end 2025-08-31, 91 days.
        assert_eq!(cal[2][3], 1.0);
        assert!((cal[2][2] - 91.0 / DAYS_PER_MONTH).abs() < 1e-12);
        assert_eq!(cal[11][0], 12.0);
        assert_eq!(cal[11][4], 3.0);
        // Month 1: the May end is 60 days from April 1, none passed.
        assert!((cal[0][2] - 60.0 / DAYS_PER_MONTH).abs() < 1e-12);
        assert_eq!(cal[0][3], 0.0);
    }

    #[test]
    fn the_outlook_splits_the_year_into_quarters_and_renewals() {
        let mut h = vec![0.0; MONTHS];
        h[1] = 0.2; // month 2
        h[4] = 0.5; // month 5
        let c = Curve::new(h);
        // Quarterly terms ending 2025-05-31, 08-31, 11-30, 2026-02-28.
        let o = Outlook::new(&c, &row("2025-04-01", "2025-05-31", 3.0, None), None);
        assert_eq!(o.renews_in_quarter, [true, true, true, true]);
        assert!((o.in_quarter(0) - 0.2).abs() < 1e-15);
        // 1 - 0.8 * 0.5 = 0.6, less 0.2
        assert!((o.in_quarter(1) - 0.4).abs() < 1e-15);
        assert_eq!(o.in_quarter(2), 0.0);
        assert!((o.p_next_renewal_fails.unwrap() - 0.2).abs() < 1e-15);
        // An annual term ending 2025-12-31: up for renewal in the third quarter only.
        let o = Outlook::new(&c, &row("2025-04-01", "2025-12-31", 12.0, None), None);
        assert_eq!(o.renews_in_quarter, [false, false, true, false]);
        // Overdue (lapsed, the term ended before t): the first quarter, and the end of
        // the term a renewal would start (2026-03-15) in the fourth.
        let o = Outlook::new(&c, &row("2025-04-01", "2025-03-15", 12.0, None), None);
        assert_eq!(o.renews_in_quarter, [true, false, false, true]);
        assert_eq!(o.next_renewal, d("2025-03-15"));
    }

    /// The hazard says 0.2 within 3 months (all in month 2) and 0.6 within 6 (month 5:
    /// 0.5 of those left). Spliced to a 90-day probability of 0.4: within 2 months 0.4,
    /// within 5 months 0.4 + 0.6 * 0.5 = 0.7.
    #[test]
    fn the_90_day_probability_splices_into_the_curve() {
        let mut h = vec![0.0; MONTHS];
        h[1] = 0.2;
        h[4] = 0.5;
        let c = Curve::new(h).spliced(0.4);
        assert!((c.within(1) - 0.0).abs() < 1e-15);
        assert!((c.within(2) - 0.4).abs() < 1e-15);
        assert!((c.within(3) - 0.4).abs() < 1e-15);
        assert!((c.within(5) - 0.7).abs() < 1e-15);
        assert!((c.within(12) - 0.7).abs() < 1e-15);
        assert!((c.hazard[4] - 0.5).abs() < 1e-15);
        assert!((c.hazard[1] - 0.4).abs() < 1e-15);
        // Its own 3-month figure leaves a curve as it was.
        let own = Curve::new(vec![0.05; MONTHS]);
        let same = own.spliced(own.within(3));
        for m in 1..=MONTHS {
            assert!((same.within(m) - own.within(m)).abs() < 1e-12);
        }
    }

    #[test]
    fn hazards_multiply_into_churn_within_m_months() {
        let mut h = vec![0.0; MONTHS];
        h[0] = 0.1;
        h[2] = 0.5;
        let c = Curve::new(h);
        assert!((c.within(1) - 0.1).abs() < 1e-15);
        assert!((c.within(2) - 0.1).abs() < 1e-15);
        // 1 - 0.9 * 0.5
        assert!((c.within(3) - 0.55).abs() < 1e-15);
        assert!((c.within(12) - 0.55).abs() < 1e-15);
        // (1 * 0.1 + 3 * 0.45) / 0.55
        assert!((c.expected_month().unwrap() - 1.45 / 0.55).abs() < 1e-12);
        // Renewal on 2025-06-30 after t = 2025-04-01: month 3.
        let r = row("2025-04-01", "2025-06-30", 12.0, None);
        assert!((c.next_renewal_fails(&r).unwrap() - 0.55).abs() < 1e-15);
        let far = row("2025-04-01", "2026-06-30", 24.0, None);
        assert_eq!(c.next_renewal_fails(&far), None);
    }
}
