//! What every feature family shares: the spine's index by snapshot and account, the
//! values being filled by feature name, and polars' per-account aggregation over a window
//! of days copied into them.

use std::collections::HashMap;

use polars::prelude::*;

use super::columns as dataset;
use crate::book::snapshot::SpineRow;
use crate::error::{Error, Result};

pub(super) fn pe(e: PolarsError) -> Error {
    Error::Internal(format!("feature computation failed: {e}"))
}

/// Per-snapshot map from account index to spine row.
pub(super) struct Index {
    pub(super) row_of: Vec<Vec<Option<usize>>>,
}

impl Index {
    pub(super) fn new(rows: &[SpineRow], n_snapshots: usize, n_accounts: usize) -> Self {
        let mut row_of = vec![vec![None; n_accounts]; n_snapshots];
        for (i, r) in rows.iter().enumerate() {
            row_of[r.snapshot][r.account as usize] = Some(i);
        }
        Index { row_of }
    }
}

/// Feature values being filled, by catalog name. A value is finite or missing, so NaN
/// stands for missing: 8 bytes a cell instead of an `Option`'s 16 while the tables are
/// still in memory (1.5 M account-snapshots x 64 columns at 100,000 accounts).
pub(super) struct Values {
    pub(super) cols: HashMap<&'static str, Vec<f64>>,
}

pub(super) const MISSING: f64 = f64::NAN;

impl Values {
    pub(super) fn set(&mut self, name: &str, row: usize, v: Option<f64>) {
        if let Some(c) = self.cols.get_mut(name) {
            c[row] = v.filter(|x| x.is_finite()).unwrap_or(MISSING);
        }
    }
    pub(super) fn get(&self, name: &str, row: usize) -> Option<f64> {
        self.cols.get(name).map(|c| c[row]).filter(|x| !x.is_nan())
    }
    /// A column taken out, as the snapshot table holds it.
    pub(super) fn take(&mut self, name: &str) -> dataset::Numbers {
        self.cols.remove(name).unwrap_or_default().into()
    }
}

/// Copies every non-key column of an aggregated frame into the spine rows of snapshot `s`.
pub(super) fn fill(df: &DataFrame, s: usize, index: &Index, values: &mut Values) -> Result<()> {
    let acc = df
        .column("account_idx")
        .map_err(pe)?
        .u32()
        .map_err(pe)?
        .clone();
    let accs: Vec<Option<u32>> = acc.iter().collect();
    for c in df.columns() {
        let name = c.name().as_str();
        if name == "account_idx" {
            continue;
        }
        let v = c.cast(&DataType::Float64).map_err(pe)?;
        let v = v.f64().map_err(pe)?;
        for (a, x) in accs.iter().zip(v.iter()) {
            if let Some(row) = a.and_then(|a| index.row_of[s][a as usize]) {
                values.set(name, row, x);
            }
        }
    }
    Ok(())
}

/// Aggregates, per account, the rows of `frame` that pass `keep` and copies the results
/// into the spine rows of snapshot `s`: the step every windowed feature family shares.
pub(super) fn fill_aggregates(
    frame: &DataFrame,
    keep: Option<Expr>,
    aggs: Vec<Expr>,
    s: usize,
    index: &Index,
    values: &mut Values,
) -> Result<()> {
    let mut lf = frame.clone().lazy();
    if let Some(keep) = keep {
        lf = lf.filter(keep);
    }
    let df = lf
        .group_by([col("account_idx")])
        .agg(aggs)
        .collect()
        .map_err(pe)?;
    fill(&df, s, index, values)
}

pub(super) fn day_col(name: &str) -> Expr {
    col(name).cast(DataType::Int32)
}

pub(super) fn in_window(c: &str, lo: i64, hi: i64) -> Expr {
    col(c).gt_eq(lit(lo)).and(col(c).lt(lit(hi)))
}

/// Scratch columns used to derive catalog features; filled alongside them.
pub(super) const SCRATCH: [&str; 9] = [
    "events_prev_30d",
    "features_used_30d",
    "active_users_prev_30d",
    "sticky_users_30d",
    "user_days_30d",
    "tickets_prev_30d",
    "nps_prev",
    "promoters_180d",
    "detractors_180d",
];

pub(super) fn ensure_scratch(values: &mut Values, n: usize) {
    for s in SCRATCH {
        values.cols.entry(s).or_insert_with(|| vec![MISSING; n]);
    }
}
