//! The CS activities table: relationship features (touches, QBRs) and the CS plays
//! the propensity analysis treats as treatments ([`PlayFlags`]).

use std::collections::HashMap;

use chrono::NaiveDate;
use polars::prelude::*;

use super::table::SnapshotTable;
use super::window::{Index, Values, day_col, fill_aggregates, pe};
use crate::common::dates;
use crate::error::Result;
use crate::input::load::Book;

/// The activities table as (account_idx, day, type), days since the epoch.
pub(super) fn activity_days(acts: &DataFrame) -> Result<DataFrame> {
    acts.clone()
        .lazy()
        .select([
            col("account_idx"),
            day_col("date").alias("day"),
            col("type"),
        ])
        .collect()
        .map_err(pe)
}

pub(super) fn activity_features(
    acts: &DataFrame,
    snapshot_dates: &[NaiveDate],
    index: &Index,
    values: &mut Values,
) -> Result<()> {
    let a = activity_days(acts)?;
    for (s, t) in snapshot_dates.iter().enumerate() {
        let t = dates::to_days(*t) as i64;
        let exec = col("type")
            .eq(lit("ebr"))
            .or(col("type").eq(lit("exec_outreach")));
        let aggs = vec![
            (lit(t) - col("day").max()).alias("days_since_cs_touch"),
            (lit(t) - col("day").filter(exec).max()).alias("days_since_exec_touch"),
            col("day")
                .filter(col("day").gt_eq(lit(t - 90)))
                .count()
                .alias("cs_touches_90d"),
        ];
        fill_aggregates(&a, Some(col("day").lt(lit(t))), aggs, s, index, values)?;
    }
    Ok(())
}

/// CS plays as treatments: for each activity type, whether the account had one since
/// the snapshot before each row's (the window; a row at the first snapshot date looks
/// back as far as the dates are apart), and whether it had one in the `history_days`
/// before that window (plays of the past: covariates of the analysis, never
/// treatments).
#[derive(Clone, Debug)]
pub struct PlayFlags {
    pub types: Vec<String>,
    /// `treated[k][i]`: row `i` had a play of `types[k]` in the window.
    pub treated: Vec<Vec<bool>>,
    /// `before[k][i]`: row `i` had a play of `types[k]` in the `history_days` before
    /// the window.
    pub before: Vec<Vec<bool>>,
    /// The longest window, in days (31 with monthly snapshots).
    pub window_days: i64,
    /// The snapshot table's churn horizon.
    pub horizon_days: i64,
    pub history_days: i64,
}

/// Reads the activities table (if any) into [`PlayFlags`].
pub fn play_flags(book: &Book, table: &SnapshotTable) -> Result<PlayFlags> {
    let history_days = 2 * table.horizon_days;
    let dates: Vec<i32> = table
        .snapshot_dates
        .iter()
        .map(|d| dates::to_days(*d))
        .collect();
    // Each snapshot date's window start: the date before it.
    let step = match dates.as_slice() {
        [a, b, ..] => b - a,
        _ => 30,
    };
    let start_of = |t: i32| {
        let k = dates.partition_point(|&d| d < t);
        k.checked_sub(1).map_or(t - step, |j| dates[j])
    };
    let window_days = dates
        .iter()
        .map(|&t| i64::from(t - start_of(t)))
        .max()
        .unwrap_or(i64::from(step));
    let mut out = PlayFlags {
        types: Vec::new(),
        treated: Vec::new(),
        before: Vec::new(),
        window_days,
        horizon_days: table.horizon_days,
        history_days,
    };
    let Some(acts) = book.frame("activities") else {
        return Ok(out);
    };
    let a = activity_days(acts)?;
    let acc = a
        .column("account_idx")
        .map_err(pe)?
        .u32()
        .map_err(pe)?
        .clone();
    let day = a.column("day").map_err(pe)?.i32().map_err(pe)?.clone();
    let ty = a.column("type").map_err(pe)?.str().map_err(pe)?.clone();
    let mut by_account: HashMap<u32, Vec<(i32, usize)>> = HashMap::new();
    for ((a, d), t) in acc.iter().zip(day.iter()).zip(ty.iter()) {
        let (Some(a), Some(d), Some(t)) = (a, d, t) else {
            continue;
        };
        let k = match out.types.iter().position(|x| x == t) {
            Some(k) => k,
            None => {
                out.types.push(t.to_string());
                out.types.len() - 1
            }
        };
        by_account.entry(a).or_default().push((d, k));
    }
    // Types in name order, so outputs do not depend on row order.
    let mut order: Vec<usize> = (0..out.types.len()).collect();
    order.sort_by(|&x, &y| out.types[x].cmp(&out.types[y]));
    let rank: Vec<usize> = {
        let mut r = vec![0; order.len()];
        for (pos, &k) in order.iter().enumerate() {
            r[k] = pos;
        }
        r
    };
    out.types = order.iter().map(|&k| out.types[k].clone()).collect();
    out.treated = vec![vec![false; table.rows.len()]; out.types.len()];
    out.before = out.treated.clone();
    let history = history_days as i32;
    for (i, r) in table.rows.iter().enumerate() {
        let t = dates::to_days(r.t);
        let start = start_of(t);
        if let Some(v) = by_account.get(&r.account) {
            for &(d, k) in v {
                if start <= d && d < t {
                    out.treated[rank[k]][i] = true;
                } else if start - history <= d && d < start {
                    out.before[rank[k]][i] = true;
                }
            }
        }
    }
    Ok(out)
}
