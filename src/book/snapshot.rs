//! Point-in-time snapshots and churn labels.
//!
//! A snapshot is an (account, date t) pair for an account in the book at t, judged from
//! what was known before t (see [`spine`]): active, new, or lapsed (its term ended within
//! the grace period and no renewal is known yet). Its label is 1 when the account churns
//! within the horizon (its coverage ends, with no new term within the grace period, by
//! t + horizon; for a lapsed account that is when its grace runs out with no renewal), 0
//! when it is still a customer after the horizon, and missing when the horizon runs past
//! the data or the churn is still inside its grace period. Snapshots with a missing label
//! are the ones that get scored.

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

/// Where an account stands at a snapshot date, from what was known the day before.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Status {
    /// A term covers the day before t.
    #[default]
    Active,
    /// Active and younger than [`NEW_ACCOUNT_DAYS`]: onboarding.
    New,
    /// Its last term ended before t, within the grace period, and no renewal was known
    /// before t: a renewal may still come.
    Lapsed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::New => "new",
            Status::Lapsed => "lapsed",
        }
    }
}

/// Accounts younger than this (days of tenure) are "new": the onboarding window CS teams
/// watch most closely (the first 90 days).
pub const NEW_ACCOUNT_DAYS: i64 = 90;

/// One row of the spine: an account in the book at a snapshot date (active, new or
/// lapsed), with its label and the commercial facts its contracts give at t.
#[derive(Clone, Debug, PartialEq)]
pub struct SpineRow {
    pub account: u32,
    pub snapshot: usize,
    pub t: NaiveDate,
    pub status: Status,
    /// Days since the last term ended, for a lapsed account (0 otherwise).
    pub days_lapsed: f64,
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

/// Labels and contract facts for every account in the book at every snapshot date.
///
/// Membership uses only what is known before t: an account is in snapshot t when a term
/// covers t - 1 (active, or new when younger than [`NEW_ACCOUNT_DAYS`]), or when its last
/// term ended before t - 1 but recently enough that a renewal starting on t would still
/// continue it (`t - end <= grace_days`) and no term known before t follows it (lapsed).
/// Labels alone look ahead, through the contract histories as of the as-of date.
pub fn spine(
    accounts: &[AccountInfo],
    histories: &[History],
    snapshot_dates: &[NaiveDate],
    cfg: &SnapshotConfig,
    grace_days: i64,
    as_of: NaiveDate,
) -> Vec<SpineRow> {
    let h = Duration::days(cfg.horizon_days);
    let mut rows = Vec::new();
    for (s, &t) in snapshot_dates.iter().enumerate() {
        let before = t - Duration::days(1);
        for (a, hist) in histories.iter().enumerate() {
            // Terms in force on the day before t (a term starting on t is dated t and not
            // yet visible); else the last term that ended before then.
            let covering = |day: NaiveDate| -> Vec<&Term> {
                hist.terms
                    .iter()
                    .filter(|x| x.start <= day && day <= x.end)
                    .collect()
            };
            let in_force = covering(before);
            let (status, reference, at_ref, days_lapsed) = if in_force.is_empty() {
                let Some(last_end) = hist
                    .terms
                    .iter()
                    .filter(|x| x.end < before)
                    .map(|x| x.end)
                    .max()
                else {
                    continue;
                };
                if (t - last_end).num_days() > grace_days {
                    continue;
                }
                (
                    Status::Lapsed,
                    last_end,
                    covering(last_end),
                    (before - last_end).num_days() as f64,
                )
            } else {
                (Status::Active, before, in_force, 0.0)
            };
            // The coverage interval (terms merged across gaps within grace) holding the
            // reference day; its end, as of the as-of date, gives the labels.
            let Some(spell) = hist.spell_at(reference) else {
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
            let status = if status == Status::Active && tenure < NEW_ACCOUNT_DAYS {
                Status::New
            } else {
                status
            };
            // Contract facts as known before t. ARR and seats: the terms covering the
            // reference day (for a lapsed account, the ARR at stake). The current term is
            // the one ending first; for a lapsed account the last one that ended.
            let arr = at_ref.iter().map(|x| x.arr).sum();
            let seats = at_ref.iter().map(|x| x.seats).sum();
            let current = at_ref.iter().min_by_key(|x| x.end).copied();
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
                churned.then_some(true)
            } else {
                Some(false)
            };
            // Churn at the next renewal: the end of the current term (labels look ahead).
            let label_next_renewal = if spell.end > renewal_date {
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
                status,
                days_lapsed,
                label,
                label_next_renewal,
                // The spell holds the reference day, so its end is never before it.
                churn_date: churned.then_some(spell.end),
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
            d("2026-01-15"),
            d("2026-02-15"),
        ];
        let cfg = SnapshotConfig::default();
        let rows = spine(&[info()], &hist, &dates, &cfg, 30, d("2026-06-01"));
        assert_eq!(rows.len(), 6, "2026-02-15 is 46 days after the term ended");
        let by_t = |s: &str| rows.iter().find(|r| r.t == d(s)).unwrap();
        // Nine days old: new, in the book, and not churning within 90 days.
        assert_eq!(by_t("2024-01-10").status, Status::New);
        assert_eq!(by_t("2024-01-10").tenure_days, 9.0);
        assert_eq!(by_t("2024-01-10").label, Some(false));
        assert_eq!(by_t("2024-06-01").status, Status::Active);
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
        // On 2026-01-01 the term covered the day before: active, renewal due today.
        let r = by_t("2026-01-01");
        assert_eq!(
            (r.status, r.days_to_renewal, r.label),
            (Status::Active, 0.0, Some(true))
        );
        // On 2026-01-15 the term ended 14 days before and no renewal is known: lapsed,
        // with the ARR at stake, and labelled churn (no renewal came within grace).
        let r = by_t("2026-01-15");
        assert_eq!(
            (r.status, r.days_lapsed, r.arr),
            (Status::Lapsed, 14.0, 120.0)
        );
        assert_eq!(r.label, Some(true));
        assert_eq!(r.churn_date, Some(d("2025-12-31")));
        // With a 92-day horizon the churn falls inside.
        let cfg = SnapshotConfig {
            horizon_days: 92,
            ..SnapshotConfig::default()
        };
        let rows = spine(
            &[info()],
            &hist,
            &[d("2025-10-01")],
            &cfg,
            30,
            d("2026-06-01"),
        );
        assert_eq!(rows[0].label, Some(true));
    }

    /// A renewal 19 days after the term ended: lapsed in the gap (what was known then),
    /// labelled no churn (what came).
    #[test]
    fn a_late_renewal_is_lapsed_then_active() {
        let terms = vec![
            term("2024-01-01", "2024-12-31", 100.0),
            term("2025-01-20", "2025-12-31", 90.0),
        ];
        let hist = vec![History::new(terms, 30, d("2026-06-01"))];
        let cfg = SnapshotConfig::default();
        let dates = [d("2025-01-10"), d("2025-02-01")];
        let rows = spine(&[info()], &hist, &dates, &cfg, 30, d("2026-06-01"));
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].status, rows[0].days_lapsed), (Status::Lapsed, 9.0));
        assert_eq!((rows[0].arr, rows[0].label), (100.0, Some(false)));
        assert_eq!((rows[1].status, rows[1].arr), (Status::Active, 90.0));
        assert!((rows[1].arr_change_last_renewal.unwrap() + 0.1).abs() < 1e-12);
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
            &[d("2025-03-01"), d("2025-05-01"), d("2025-06-01")],
            &SnapshotConfig::default(),
            30,
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
        // At the as-of date it is lapsed (11 days), and scored.
        assert_eq!(
            (rows[2].status, rows[2].days_lapsed),
            (Status::Lapsed, 11.0)
        );
    }
}
