//! Point-in-time snapshots and churn labels.
//!
//! A snapshot is an (account, date t) pair for an account active at t with at least
//! `min_tenure_days` of tenure. Its label is 1 when the account churns within the
//! horizon (the churn date, the last covered day, lies in [t, t + horizon]), 0 when it is
//! still a customer after the horizon, and missing when the horizon runs past the data or
//! the churn is still inside its grace period. Snapshots with a missing label are the
//! ones that get scored.

use chrono::{Duration, NaiveDate};

use crate::book::retention::{Ending, History};
use crate::common::dates;
use crate::config::SnapshotConfig;
use crate::input::load::{AccountInfo, Term};

/// The snapshot dates: every cadence date from `first` up to `as_of`, and `as_of` itself
/// (the scoring date) when it is not a cadence date.
pub fn snapshot_dates(first: NaiveDate, as_of: NaiveDate, cadence_months: u32) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut t = dates::month_start(first);
    if t < first {
        t = dates::add_months(t, 1);
    }
    while t <= as_of {
        out.push(t);
        t = dates::add_months(t, cadence_months.max(1) as i32);
    }
    if out.last() != Some(&as_of) {
        out.push(as_of);
    }
    out
}

/// One row of the spine: an active account at a snapshot date, with its label and the
/// commercial facts its contracts give at t.
#[derive(Clone, Debug, PartialEq)]
pub struct SpineRow {
    pub account: u32,
    pub snapshot: usize,
    pub t: NaiveDate,
    /// Churn within the horizon.
    pub label: Option<bool>,
    /// Churn at the next renewal (the end of the first term in force on t).
    pub label_next_renewal: Option<bool>,
    pub churn_date: Option<NaiveDate>,
    pub arr: f64,
    pub seats: f64,
    pub tenure_days: f64,
    pub renewal_date: NaiveDate,
    pub days_to_renewal: f64,
    pub first_renewal_ahead: bool,
    pub arr_change_last_renewal: Option<f64>,
    pub term_months: f64,
}

/// Labels and contract facts for every active account at every snapshot date.
pub fn spine(
    accounts: &[AccountInfo],
    histories: &[History],
    snapshot_dates: &[NaiveDate],
    cfg: &SnapshotConfig,
    as_of: NaiveDate,
) -> Vec<SpineRow> {
    let h = Duration::days(cfg.horizon_days);
    let mut rows = Vec::new();
    for (s, &t) in snapshot_dates.iter().enumerate() {
        for (a, hist) in histories.iter().enumerate() {
            let Some(spell) = hist.spell_at(t) else {
                continue;
            };
            let since = hist
                .spells
                .first()
                .map(|f| f.start)
                .unwrap_or(t)
                .min(accounts[a].created);
            let tenure = (t - since).num_days();
            if tenure < cfg.min_tenure_days {
                continue;
            }
            // Contract facts as known before t: terms in force on the day before t (a term
            // starting on t is dated t and not yet visible). The current term is the one
            // ending first; in a bridged gap the last one that ended.
            let before = t - Duration::days(1);
            let covering: Vec<&Term> = hist
                .terms
                .iter()
                .filter(|x| x.start <= before && before <= x.end)
                .collect();
            let (arr, seats) = hist.arr_seats_at(before);
            let current = covering.iter().min_by_key(|x| x.end).copied().or_else(|| {
                hist.terms
                    .iter()
                    .filter(|x| x.start >= spell.start && x.end < t)
                    .max_by_key(|x| x.end)
            });
            let renewal_date = current.map(|x| x.end).unwrap_or(before);
            let term_months = current
                .map(|x| (x.end - x.start).num_days() as f64 / 30.44)
                .unwrap_or(f64::NAN);
            let started_before = hist
                .terms
                .iter()
                .filter(|x| x.start >= spell.start && x.start < t)
                .count();
            let first_renewal_ahead = started_before <= 1;
            let arr_change_last_renewal = last_renewal_change(hist, spell.start, t);

            let churned = spell.ending == Ending::Churned;
            let label = if t + h >= as_of {
                None
            } else if spell.end <= t + h {
                match spell.ending {
                    Ending::Churned => Some(true),
                    _ => None,
                }
            } else {
                Some(false)
            };
            // The next renewal: the end of the first term in force on t (labels look ahead).
            let next_end = hist
                .terms
                .iter()
                .filter(|x| x.start <= t && t <= x.end)
                .map(|x| x.end)
                .min()
                .unwrap_or(t);
            let label_next_renewal = if spell.end > next_end {
                Some(false)
            } else if churned {
                Some(true)
            } else {
                None
            };
            rows.push(SpineRow {
                account: a as u32,
                snapshot: s,
                t,
                label,
                label_next_renewal,
                churn_date: if churned && spell.end >= t {
                    Some(spell.end)
                } else {
                    None
                },
                arr,
                seats,
                tenure_days: tenure as f64,
                renewal_date,
                days_to_renewal: (renewal_date - t).num_days().max(0) as f64,
                first_renewal_ahead,
                arr_change_last_renewal,
                term_months,
            });
        }
    }
    rows
}

/// Relative ARR change at the latest renewal before t inside the spell: ARR on the first
/// day of the newest term that started before t, against ARR the day before it.
fn last_renewal_change(hist: &History, spell_start: NaiveDate, t: NaiveDate) -> Option<f64> {
    let latest = hist
        .terms
        .iter()
        .filter(|x| x.start > spell_start && x.start < t)
        .map(|x| x.start)
        .max()?;
    let before = hist.arr_seats_at(latest - Duration::days(1)).0;
    let after = hist.arr_seats_at(latest).0;
    (before > 0.0).then(|| after / before - 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        dates::parse_date(s).unwrap()
    }
    fn term(start: &str, end: &str, arr: f64) -> Term {
        Term {
            account: 0,
            start: d(start),
            end: d(end),
            arr,
            seats: 10.0,
        }
    }
    fn info() -> AccountInfo {
        AccountInfo {
            id: "A".into(),
            name: "A".into(),
            segment: "smb".into(),
            created: d("2024-01-01"),
            csm: None,
        }
    }

    #[test]
    fn snapshot_dates_follow_the_cadence_and_end_at_the_scoring_date() {
        let s = snapshot_dates(d("2025-01-15"), d("2025-05-10"), 1);
        let s: Vec<String> = s.iter().map(|x| x.to_string()).collect();
        assert_eq!(
            s,
            [
                "2025-02-01",
                "2025-03-01",
                "2025-04-01",
                "2025-05-01",
                "2025-05-10"
            ]
        );
        assert_eq!(snapshot_dates(d("2025-01-01"), d("2025-07-01"), 3).len(), 3);
    }

    /// One account renewing once (ARR 100 -> 120 on 2025-01-01) and churning at the end
    /// of 2025 (last covered day 2025-12-31); data as of 2026-06-01, horizon 90 days.
    #[test]
    fn labels_by_hand() {
        let terms = vec![
            term("2024-01-01", "2024-12-31", 100.0),
            term("2025-01-01", "2025-12-31", 120.0),
        ];
        let hist = vec![History::new(terms, 30, d("2026-06-01"))];
        let dates = [
            d("2024-01-10"),
            d("2024-06-01"),
            d("2024-10-01"),
            d("2025-10-01"),
            d("2026-01-01"),
        ];
        let rows = spine(
            &[info()],
            &hist,
            &dates,
            &SnapshotConfig::default(),
            d("2026-06-01"),
        );
        assert_eq!(
            rows.len(),
            3,
            "2024-01-10 is too young (9 days < 14); 2026-01-01 is after churn"
        );
        let by_t = |s: &str| rows.iter().find(|r| r.t == d(s)).unwrap();
        // 2024-10-01 + 90 = 2024-12-30: the renewal at 2024-12-31 is outside; no churn.
        assert_eq!(by_t("2024-10-01").label, Some(false));
        assert_eq!(by_t("2024-10-01").label_next_renewal, Some(false));
        assert!(by_t("2024-10-01").first_renewal_ahead);
        assert_eq!(by_t("2024-10-01").days_to_renewal, 91.0);
        // 2025-10-01 + 90 = 2025-12-30 < 2025-12-31: still 0 within 90 days, but churns
        // at its next renewal.
        assert_eq!(by_t("2025-10-01").label, Some(false));
        assert_eq!(by_t("2025-10-01").label_next_renewal, Some(true));
        assert_eq!(by_t("2025-10-01").churn_date, Some(d("2025-12-31")));
        assert!(!by_t("2025-10-01").first_renewal_ahead);
        assert!((by_t("2025-10-01").arr_change_last_renewal.unwrap() - 0.2).abs() < 1e-12);
        assert_eq!(by_t("2025-10-01").arr, 120.0);
        // With a 92-day horizon the churn falls inside.
        let cfg = SnapshotConfig {
            horizon_days: 92,
            ..SnapshotConfig::default()
        };
        let rows = spine(&[info()], &hist, &[d("2025-10-01")], &cfg, d("2026-06-01"));
        assert_eq!(rows[0].label, Some(true));
    }

    #[test]
    fn unlabelled_when_the_horizon_runs_past_the_data_or_churn_is_pending() {
        let hist = vec![History::new(
            vec![term("2024-01-01", "2025-05-20", 100.0)],
            30,
            d("2025-06-01"),
        )];
        let rows = spine(
            &[info()],
            &hist,
            &[d("2025-03-01"), d("2025-05-01")],
            &SnapshotConfig::default(),
            d("2025-06-01"),
        );
        assert_eq!(
            rows[0].label, None,
            "the churn on 2025-05-20 is still inside its grace period"
        );
        assert_eq!(
            rows[1].label, None,
            "2025-05-01 + 90 days runs past the data"
        );
        assert_eq!(
            rows[1].label_next_renewal, None,
            "the term ended 12 days before as-of: pending"
        );
    }
}
