//! The per-type usage family: the metrics of [`catalog::PER_TYPE`] for each event type (a
//! value of the usage table's `feature` column) that passes the coverage rule. Sums over
//! all types cancel a type whose rise means churn (errors, dislikes, exports) against one
//! whose rise means retention; these columns keep the customer's own vocabulary apart.
//!
//! Which types enter is a choice made from the usage rows alone (never labels), before
//! the training cut, and saved with the model; every value at snapshot t reads only rows
//! dated before t.

use rayon::prelude::*;

use super::usage_rows::{ByAccount, UsageRows};

use super::window::{Index, MISSING, Values};
use crate::book::snapshot::SpineRow;
use crate::common::catalog::{self, FeatureSpec, PER_TYPE};
use crate::config::FeatureConfig;

/// The columns of the family, NaN for missing, with their names and the types they cover.
pub(super) struct PerType {
    pub types: Vec<String>,
    pub names: Vec<String>,
    pub columns: Vec<Vec<f64>>,
    /// Types used by at least the configured share of accounts in this book that are not
    /// in `types` (only when the list was fixed, as when scoring with a saved model), with
    /// their share of accounts.
    pub unmodelled: Vec<(String, f64)>,
}

/// The coverage of each type: the share of accounts with any kept usage row dated before
/// `cut` that have a row of that type before it, by feature code.
fn coverage(u: &UsageRows, cut: i32) -> Vec<f64> {
    let n_types = u.feature_names.len();
    let mut pairs: Vec<(u32, u32)> = (0..u.len())
        .filter(|&i| u.kept(i) && u.day[i] < cut && u.account[i] != u32::MAX)
        .map(|i| (u.account[i], u.feature[i]))
        .collect();
    pairs.par_sort_unstable();
    pairs.dedup();
    let mut users = vec![0usize; n_types];
    let mut accounts = 0usize;
    let mut last = u32::MAX;
    for &(a, f) in &pairs {
        if a != last {
            accounts += 1;
            last = a;
        }
        if let Some(n) = users.get_mut(f as usize) {
            *n += 1;
        }
    }
    users
        .into_iter()
        .map(|n| {
            if accounts == 0 {
                0.0
            } else {
                n as f64 / accounts as f64
            }
        })
        .collect()
}

/// Names a type can carry into a column name.
fn usable(name: &str) -> bool {
    !name.trim().is_empty() && !name.contains(']')
}

/// Types used by at least `min_share` of the accounts before `cut` (and by some), most
/// widely used first, ties by name, with their coverage.
fn ranked<'u>(u: &'u UsageRows, cut: i32, min_share: f64) -> Vec<(f64, &'u String)> {
    let cov = coverage(u, cut);
    let mut ranked: Vec<(f64, &String)> = cov
        .into_iter()
        .zip(u.feature_names)
        .filter(|(c, name)| *c > 0.0 && *c >= min_share && usable(name))
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    ranked
}

/// One account's per-type sums at one snapshot: counts in `[t-30, t)`, `[t-90, t)`,
/// `[t-90, t-30)`, since the start, and the last day of each type before t.
struct Sums {
    c30: Vec<f64>,
    c90: Vec<f64>,
    prior60: Vec<f64>,
    total: Vec<f64>,
    last: Vec<i32>,
}

/// Cumulative per-type counts of the rows before a moving boundary.
struct Cursor {
    at: usize,
    cum: Vec<f64>,
}

impl Cursor {
    fn new(k: usize) -> Self {
        Cursor {
            at: 0,
            cum: vec![0.0; k],
        }
    }
    /// Moves the boundary to `day` (rows with day < `day` counted); `last` records each
    /// type's latest day passed.
    fn advance(
        &mut self,
        rows: &[(i32, u32)],
        u: &UsageRows,
        kind_of: &[u32],
        day: i64,
        mut last: Option<&mut [i32]>,
    ) {
        while self.at < rows.len() && i64::from(rows[self.at].0) < day {
            let i = rows[self.at].1 as usize;
            if let Some(&k) = kind_of.get(u.feature[i] as usize)
                && k != u32::MAX
            {
                self.cum[k as usize] += u.events[i];
                if let Some(l) = last.as_deref_mut() {
                    l[k as usize] = rows[self.at].0;
                }
            }
            self.at += 1;
        }
    }
}

/// The event types of the family, and (with configured types) the types in the data
/// that are left out, with their share of accounts. Chosen by coverage on the rows
/// before `cut`, at most `usage_type_max` of them, unless configured.
fn choose_types(
    u: &UsageRows,
    feat: &FeatureConfig,
    cut: i32,
) -> (Vec<String>, Vec<(String, f64)>) {
    let (min_share, fixed) = (feat.usage_type_min_share, !feat.usage_types.is_empty());
    let chosen: Vec<String> = if fixed {
        feat.usage_types.clone()
    } else {
        ranked(u, cut, min_share)
            .into_iter()
            .take(feat.usage_type_max)
            .map(|(_, n)| n.clone())
            .collect()
    };
    let unmodelled: Vec<(String, f64)> = if fixed {
        ranked(u, i32::MAX, min_share)
            .into_iter()
            .filter(|(_, n)| !chosen.contains(n))
            .map(|(c, n)| (n.clone(), c))
            .collect()
    } else {
        Vec::new()
    };
    (chosen, unmodelled)
}

/// Account `a`'s per-type sums at each of its snapshots, as (snapshot row, sums), for
/// `kinds`: each feature code's chosen type (`u32::MAX` for none) and how many types
/// there are. One sweep of its rows in day order serves every snapshot.
fn sweep_account(
    a: usize,
    u: &UsageRows,
    by: &ByAccount,
    (kind_of, k): (&[u32], usize),
    snapshot_days: &[i64],
    index: &Index,
) -> Vec<(usize, Sums)> {
    let mut out = Vec::new();
    let mut mine: Vec<(i32, u32)> = by
        .rows_of(a)
        .iter()
        .map(|&r| (u.day[r as usize], r))
        .collect();
    // Day order (ties in table order). Rows already in day order (as tables are
    // written) need no sort.
    if !by.day_ordered(a) {
        mine.sort_unstable();
    }
    let (mut at90, mut at30, mut at_t) = (Cursor::new(k), Cursor::new(k), Cursor::new(k));
    let mut last = vec![i32::MIN; k];
    for (s, &t) in snapshot_days.iter().enumerate() {
        let Some(row) = index.row_of[s][a] else {
            continue;
        };
        at90.advance(&mine, u, kind_of, t - 90, None);
        at30.advance(&mine, u, kind_of, t - 30, None);
        at_t.advance(&mine, u, kind_of, t, Some(last.as_mut_slice()));
        let diff = |x: &Cursor, y: &Cursor| -> Vec<f64> {
            x.cum.iter().zip(&y.cum).map(|(a, b)| a - b).collect()
        };
        out.push((
            row,
            Sums {
                c30: diff(&at_t, &at30),
                c90: diff(&at_t, &at90),
                prior60: diff(&at30, &at90),
                total: at_t.cum.clone(),
                last: last.clone(),
            },
        ));
    }
    out
}

/// Computes the family for every spine row. `types` fixes the list when not empty;
/// otherwise it is chosen by the coverage rule from the rows dated before `cut`.
#[allow(clippy::too_many_arguments)]
pub(super) fn per_type(
    u: &UsageRows,
    by: &ByAccount,
    rows: &[SpineRow],
    snapshot_days: &[i64],
    index: &Index,
    feat: &FeatureConfig,
    cut: i32,
    values: &Values,
) -> PerType {
    let (chosen, unmodelled) = choose_types(u, feat, cut);
    let k = chosen.len();
    // Each feature code's position in the chosen list (u32::MAX: not a chosen type).
    let kind_of: Vec<u32> = u
        .feature_names
        .iter()
        .map(|n| {
            chosen
                .iter()
                .position(|c| c == n)
                .map_or(u32::MAX, |p| p as u32)
        })
        .collect();
    let has_users = u.user.is_some();
    let metrics: Vec<&FeatureSpec> = PER_TYPE
        .iter()
        .filter(|s| has_users || s.name != "per_user_30d")
        .collect();
    let pairs = catalog::ratio_pairs(&chosen, feat.usage_ratio_types);
    let names: Vec<String> = chosen
        .iter()
        .flat_map(|t| metrics.iter().map(|m| catalog::per_type_name(t, m.name)))
        .chain(
            pairs
                .iter()
                .map(|&(a, b)| catalog::ratio_name(&chosen[a], &chosen[b])),
        )
        .collect();
    let mut columns = vec![vec![MISSING; rows.len()]; names.len()];
    if k == 0 {
        return PerType {
            types: chosen,
            names,
            columns,
            unmodelled,
        };
    }
    let n_accounts = index.row_of.first().map_or(0, Vec::len);
    let accounts: Vec<usize> = (0..n_accounts).collect();
    for block in accounts.chunks(4096) {
        let found: Vec<Vec<(usize, Sums)>> = block
            .par_chunks(64)
            .map(|accounts| {
                accounts
                    .iter()
                    .flat_map(|&a| sweep_account(a, u, by, (&kind_of, k), snapshot_days, index))
                    .collect::<Vec<_>>()
            })
            .collect();
        for (row, s) in found.into_iter().flatten() {
            let r = &rows[row];
            let t = snapshot_days[r.snapshot];
            let tenure = r.tenure_days;
            let rate = |count: f64, window: f64| -> f64 {
                let exposure = window.min(tenure);
                if exposure >= 7.0 {
                    count * 30.0 / exposure
                } else {
                    MISSING
                }
            };
            let prior_exposure = 60f64.min(tenure - 30.0);
            let users = values.get("active_users_30d", row);
            let all_events = values.get("events_30d", row);
            let mut j = 0;
            for kk in 0..k {
                let r30 = rate(s.c30[kk], 30.0);
                for m in &metrics {
                    let v = match m.name {
                        "events_30d" => r30,
                        "events_90d" => rate(s.c90[kk], 90.0),
                        "per_user_30d" => match users {
                            Some(n) if n > 0.0 => r30 / n,
                            _ => MISSING,
                        },
                        "per_seat_30d" if r.seats > 0.0 => r30 / r.seats,
                        "share_30d" => match all_events {
                            Some(e) if e > 0.0 => s.c30[kk] / e,
                            _ => MISSING,
                        },
                        "trend_30d" if prior_exposure >= 15.0 && r30.is_finite() => {
                            let prior = s.prior60[kk] * 30.0 / prior_exposure;
                            ((r30 + 1.0) / (prior + 1.0)).ln()
                        }
                        "days_since" if s.last[kk] != i32::MIN => {
                            (t - i64::from(s.last[kk])) as f64
                        }
                        "events_total" => s.total[kk],
                        _ => MISSING,
                    };
                    columns[j][row] = if v.is_finite() { v } else { MISSING };
                    j += 1;
                }
            }
            for &(a, b) in &pairs {
                columns[j][row] = if tenure >= 7.0 && s.c90[b] > 0.0 {
                    s.c90[a] / s.c90[b]
                } else {
                    MISSING
                };
                j += 1;
            }
        }
    }
    PerType {
        types: chosen,
        names,
        columns,
        unmodelled,
    }
}
