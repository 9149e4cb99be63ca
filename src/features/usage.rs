//! Adoption features from the product-usage table: activity, seats, breadth, sticky
//! features and trends, at whatever grain the table has (daily, weekly, monthly).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rayon::prelude::*;

use super::table::UsageGrain;
use super::usage_rows::{ByAccount, Seen, UsageRows, WindowSums};
use super::window::{Index, Values, ensure_scratch};
use crate::book::snapshot::SpineRow;
use crate::common::dates;
use crate::config::FeatureConfig;
use crate::error::Result;
use crate::input::load::{Book, Loaded};

/// The grain of the usage table: the median gap between consecutive distinct dates of the
/// same account, user and feature, over a sample of accounts.
fn detect_grain(u: &UsageRows) -> UsageGrain {
    let mut sample: Vec<(u32, u32, u32, i32)> = (0..u.len())
        .filter(|&i| u.account[i] < 400 && u.kept(i))
        .map(|i| (u.account[i], u.feature[i], u.user_of(i), u.day[i]))
        .collect();
    sample.sort_unstable();
    sample.dedup();
    let mut gaps: Vec<i32> = sample
        .windows(2)
        .filter(|w| w[0].0 == w[1].0 && w[0].1 == w[1].1 && w[0].2 == w[1].2)
        .map(|w| w[1].3 - w[0].3)
        .collect();
    if gaps.is_empty() {
        return UsageGrain::Daily;
    }
    gaps.sort_unstable();
    let median = gaps[gaps.len() / 2];
    if median <= 3 {
        UsageGrain::Daily
    } else if median <= 10 {
        UsageGrain::Weekly
    } else {
        UsageGrain::Monthly
    }
}

/// Why the usage features the table cannot support are not computed: no users, no
/// minutes, no daily rows, no sticky features configured.
fn note_unavailable(
    has_users: bool,
    has_minutes: bool,
    grain: UsageGrain,
    sticky: &[String],
    unavailable: &mut BTreeMap<String, String>,
) {
    if !has_users {
        for n in [
            "active_users_30d",
            "active_users_change_30d",
            "seat_utilisation_30d",
            "sticky_user_share_30d",
            "events_per_active_user_30d",
            "dau_mau_30d",
        ] {
            unavailable.insert(n.into(), "usage has no user_id column".into());
        }
    }
    if !has_minutes {
        unavailable.insert("minutes_30d".into(), "usage has no minutes column".into());
    }
    if grain != UsageGrain::Daily {
        let why = format!("usage is dated at {grain:?} grain; active days need daily rows")
            .to_lowercase();
        unavailable.insert("active_days_30d".into(), why.clone());
        unavailable.insert("dau_mau_30d".into(), why);
    }
    if sticky.is_empty() {
        for n in ["sticky_features_used_30d", "sticky_user_share_30d"] {
            unavailable.insert(
                n.into(),
                "no sticky features configured ([features] sticky_features); the per-type usage metrics cover each feature".into(),
            );
        }
    } else {
        log::info!("sticky features: {}", sticky.join(", "));
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn usage_features(
    usage: &Loaded,
    rows: &[SpineRow],
    snapshot_dates: &[NaiveDate],
    index: &Index,
    feat: &FeatureConfig,
    type_cut: i32,
    values: &mut Values,
    unavailable: &mut BTreeMap<String, String>,
) -> Result<(Vec<String>, UsageGrain, super::per_type::PerType)> {
    ensure_scratch(values, rows.len());
    // The frame's own columns, read in place: no copy of a table that can hold most of
    // a large book's memory.
    let mut rows_of = UsageRows::of(usage)?;
    let (has_users, has_minutes) = (rows_of.user.is_some(), rows_of.minutes.is_some());
    let grain = detect_grain(&rows_of);
    log::debug!("usage grain: {grain:?}");
    // Every window below reads an account's rows through one bucket per account: no
    // plan per snapshot, and no pass over other accounts' rows.
    let by_account = ByAccount::of(&rows_of);
    // Sticky features are configured or not computed: chosen from churn outcomes, as
    // they once were, they made every snapshot depend on later labels.
    let sticky = feat.sticky_features.clone();
    note_unavailable(has_users, has_minutes, grain, &sticky, unavailable);
    rows_of.mark_sticky(&sticky);
    let daily = grain == UsageGrain::Daily;
    let days: Vec<i64> = snapshot_dates
        .iter()
        .map(|t| i64::from(dates::to_days(*t)))
        .collect();
    // Accounts a block at a time, each account's snapshots in parallel with other
    // accounts'; each (account, snapshot) is computed alone, so the result does not
    // depend on the thread count, and only a block's results are held at once.
    let n_accounts = index.row_of.first().map_or(0, Vec::len);
    let accounts: Vec<usize> = (0..n_accounts).collect();
    for block in accounts.chunks(ACCOUNT_BLOCK) {
        let found: Vec<Vec<AtSnapshot>> = block
            .par_chunks(64)
            .map(|accounts| {
                let mut seen = Seen::default();
                let mut out = Vec::new();
                for &a in accounts {
                    for (s, &t) in days.iter().enumerate() {
                        let Some(row) = index.row_of[s][a] else {
                            continue;
                        };
                        out.push(AtSnapshot {
                            row,
                            window: rows_of.window_sums(&by_account, a, t, daily, &mut seen),
                            last_day: by_account.last_day_before(&rows_of, a, t),
                        });
                    }
                }
                out
            })
            .collect();
        for found in found.into_iter().flatten() {
            let row = found.row;
            let t = days[rows[row].snapshot];
            if let Some(last) = found.last_day {
                values.set(
                    "days_since_last_activity",
                    row,
                    Some((t - i64::from(last)) as f64),
                );
            }
            let Some(w) = found.window else {
                continue;
            };
            values.set("events_30d", row, Some(w.events_30d));
            values.set("events_prev_30d", row, Some(w.events_prev_30d));
            values.set("events_90d", row, Some(w.events_90d));
            values.set("features_used_30d", row, Some(w.features_30d as f64));
            values.set(
                "sticky_features_used_30d",
                row,
                Some(w.sticky_features_30d as f64),
            );
            if has_users {
                values.set("active_users_30d", row, Some(w.users_30d as f64));
                values.set("active_users_prev_30d", row, Some(w.users_prev_30d as f64));
                values.set("sticky_users_30d", row, Some(w.sticky_users_30d as f64));
            }
            if has_minutes {
                values.set("minutes_30d", row, Some(w.minutes_30d));
            }
            if daily {
                values.set("active_days_30d", row, Some(w.days_30d as f64));
                if has_users {
                    values.set("user_days_30d", row, Some(w.user_days_30d as f64));
                }
            }
        }
    }
    // Breadth: the features used over the features offered (seen before t). n_unique
    // counts an empty filtered group as 0 only when present; the absent-zero rule covers
    // accounts without rows.
    for (s, &t) in days.iter().enumerate() {
        let offered = by_account.features_before(t) as f64;
        for row in index.row_of[s].iter().flatten().copied() {
            let used = values.get("features_used_30d", row).unwrap_or(0.0);
            values.set(
                "feature_breadth_30d",
                row,
                (offered > 0.0).then(|| used / offered),
            );
        }
    }
    let family = super::per_type::per_type(
        &rows_of,
        &by_account,
        rows,
        &days,
        index,
        feat,
        type_cut,
        values,
    );
    log::info!(
        "per-type usage metrics for {} event types: {}",
        family.types.len(),
        family.types.join(", ")
    );
    Ok((sticky, grain, family))
}

/// One spine row's usage: its window's sums (None when the window has no row) and the
/// account's last day of use before the snapshot.
struct AtSnapshot {
    row: usize,
    window: Option<WindowSums>,
    last_day: Option<i32>,
}

/// Accounts per block of the window pass (a block's results are held until written).
const ACCOUNT_BLOCK: usize = 16_384;

/// Events of each product feature (the usage table's `feature` column) in two ranges of
/// days, `[lo, hi)` each: `(feature, events in a, events in b)`, by feature name. Empty
/// without a usage table. For the drift check: an instrumentation change that doubles one
/// feature's events shows here before any account-level feature moves much.
pub fn events_by_feature(
    book: &Book,
    a: (i32, i32),
    b: (i32, i32),
) -> Result<Vec<(String, f64, f64)>> {
    let Some(usage) = book.tables.get("usage") else {
        return Ok(Vec::new());
    };
    // Read in place, one pass: no copy of the largest table.
    let u = UsageRows::of(usage)?;
    let within = |(lo, hi): (i32, i32), d: i32| lo <= d && d < hi;
    let mut sums: Vec<Option<(f64, f64)>> = vec![None; u.feature_names.len()];
    for i in 0..u.len() {
        let Some(s) = sums.get_mut(u.feature[i] as usize) else {
            continue;
        };
        let (sa, sb) = s.get_or_insert((0.0, 0.0));
        let (d, e) = (u.day[i], u.events[i]);
        if within(a, d) {
            *sa += e;
        }
        if within(b, d) {
            *sb += e;
        }
    }
    let mut out: Vec<(String, f64, f64)> = sums
        .into_iter()
        .zip(u.feature_names)
        .filter_map(|(s, name)| s.map(|(x, y)| (name.clone(), x, y)))
        .collect();
    out.sort_by(|x, y| x.0.cmp(&y.0));
    Ok(out)
}
