//! The fitted hazard: its preprocessing and booster, saved whole in the model folder
//! ([`FILE`]) so that `churnlab score` gives each account's twelve months without
//! retraining.

use chrono::NaiveDate;
use ndarray::{Array2, ArrayView2, s};
use serde::{Deserialize, Serialize};

use super::{CALENDAR, Curve, MONTHS, MonthRow, calendar, months_at_risk};
use crate::common::math::sigmoid;
use crate::common::rng::{held_out_groups, sample_groups};
use crate::error::{Error, Result};
use crate::features::SnapshotTable;
use crate::features::dataset::Dataset;
use crate::model::prep::Preprocessor;
use crate::model::tree::{Boost, BoostParams};

/// The hazard's file in the model folder.
pub const FILE: &str = "hazard.json";

/// Above this many fit snapshots, the hazard is fitted on a seeded sample of whole
/// accounts of about this size (each gives up to twelve month rows).
pub const FIT_SNAPSHOTS: usize = 40_000;

/// The booster of the hazard (and of the direct 90-day yardstick): the grid's depth-3
/// candidate, early-stopped on 15% of accounts.
pub const PARAMS: BoostParams = BoostParams {
    max_trees: 600,
    max_depth: 3,
    learning_rate: 0.1,
    lambda: 1.0,
    min_leaf: 50.0,
    subsample: 1.0,
    colsample: 1.0,
};

/// A fitted hazard.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HazardModel {
    pub prep: Preprocessor,
    pub booster: Boost,
    /// The months at risk it saw ended by this date (the cut, or the as-of date).
    pub observed_to: NaiveDate,
    pub fit_snapshots: usize,
    pub fit_months: usize,
}

/// The snapshot rows of `candidates` with a month at risk ended by `end`, sampled by
/// whole accounts down to about [`FIT_SNAPSHOTS`].
pub fn fit_rows(
    t: &SnapshotTable,
    ds: &Dataset,
    candidates: impl Iterator<Item = usize>,
    end: NaiveDate,
    seed: u64,
) -> Vec<usize> {
    let all: Vec<usize> = candidates
        .filter(|&i| !months_at_risk(i, &t.rows[i], end).is_empty())
        .collect();
    let groups: Vec<u32> = all.iter().map(|&i| ds.group[i]).collect();
    match sample_groups(&groups, FIT_SNAPSHOTS, seed ^ 0x4a2d) {
        Some(pos) => pos.into_iter().map(|k| all[k]).collect(),
        None => all,
    }
}

impl HazardModel {
    /// Fits the hazard on the months at risk of snapshot rows `rows` of `t` that end by
    /// `end`.
    pub fn fit(
        t: &SnapshotTable,
        ds: &Dataset,
        rows: &[usize],
        end: NaiveDate,
        seed: u64,
    ) -> Result<HazardModel> {
        let prep = Preprocessor::fit(ds, rows);
        let x = prep.transform(ds, rows)?;
        let months: Vec<MonthRow> = rows
            .iter()
            .enumerate()
            .flat_map(|(pos, &i)| months_at_risk(pos, &t.rows[i], end))
            .collect();
        if months.is_empty() {
            return Err(Error::Input(format!(
                "the hazard needs a month at risk that ended by {end}"
            )));
        }
        let design = month_design(x.view(), &months, |m| calendar(&t.rows[rows[m.row]], m.k));
        let y: Vec<f64> = months
            .iter()
            .map(|m| f64::from(u8::from(m.churned)))
            .collect();
        let stop = held_out_groups(months.iter().map(|m| ds.group[rows[m.row]]), seed);
        let booster = Boost::fit(design.view(), &y, None, PARAMS, Some(&stop), seed);
        Ok(HazardModel {
            prep,
            booster,
            observed_to: end,
            fit_snapshots: rows.len(),
            fit_months: months.len(),
        })
    }

    /// The twelve months of snapshot rows `rows` of `t`.
    pub fn curves(&self, t: &SnapshotTable, ds: &Dataset, rows: &[usize]) -> Result<Vec<Curve>> {
        let x = self.prep.transform(ds, rows)?;
        Ok(curves(&self.booster, x.view(), |pos, k| {
            calendar(&t.rows[rows[pos]], k)
        }))
    }
}

/// The design of months at risk: the snapshot's design row, then the month's calendar.
fn month_design(
    x: ArrayView2<f64>,
    months: &[MonthRow],
    cal: impl Fn(&MonthRow) -> [f64; 5],
) -> Array2<f64> {
    let p = x.ncols();
    let mut out = Array2::zeros((months.len(), p + CALENDAR.len()));
    for (r, m) in months.iter().enumerate() {
        out.slice_mut(s![r, ..p]).assign(&x.row(m.row));
        for (j, v) in cal(m).into_iter().enumerate() {
            out[[r, p + j]] = v;
        }
    }
    out
}

/// Each row of `x`'s twelve hazards, multiplied into a [`Curve`].
fn curves(
    hazard: &Boost,
    x: ArrayView2<f64>,
    cal: impl Fn(usize, usize) -> [f64; 5],
) -> Vec<Curve> {
    let months: Vec<MonthRow> = (0..x.nrows())
        .flat_map(|row| {
            (1..=MONTHS).map(move |k| MonthRow {
                row,
                k,
                churned: false,
            })
        })
        .collect();
    let design = month_design(x, &months, |m| cal(m.row, m.k));
    let raw = hazard.raw(design.view());
    raw.chunks(MONTHS)
        .map(|c| Curve::new(c.iter().map(|&v| sigmoid(v)).collect()))
        .collect()
}
