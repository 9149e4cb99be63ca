//! Out-of-time validation of the hazard against the direct 90-day model.

use chrono::{Duration, NaiveDate};
use ndarray::{Array2, ArrayView2, s};
use serde::Serialize;

use super::{Curve, MONTHS, MonthRow, calendar, churn_month, months_at_risk};
use crate::common::dates;
use crate::common::math::sigmoid;
use crate::common::rng::{held_out_groups, sample_groups};
use crate::error::{Error, Result};
use crate::features::SnapshotTable;
use crate::features::dataset::Dataset;
use crate::model::prep::Preprocessor;
use crate::model::tree::{Boost, BoostParams};
use crate::train::metrics;
use crate::train::survival::{self, Surv};

/// Above this many fit snapshots, the hazard is fitted on a seeded sample of whole
/// accounts of about this size (each gives up to twelve month rows).
pub const FIT_SNAPSHOTS: usize = 40_000;

/// The horizons reported, in months.
pub const HORIZONS: [usize; 3] = [3, 6, 12];

/// The booster both models use: the grid's depth-3 candidate, early-stopped on 15% of
/// accounts.
const PARAMS: BoostParams = BoostParams {
    max_trees: 600,
    max_depth: 3,
    learning_rate: 0.1,
    lambda: 1.0,
    min_leaf: 50.0,
    subsample: 1.0,
    colsample: 1.0,
};

/// Calibration at one horizon: the test accounts' predicted P(churn within it) against
/// whether they did (every test account is followed the twelve months).
#[derive(Clone, Debug, Serialize)]
pub struct Calibration {
    pub months: usize,
    pub mean_predicted: f64,
    pub observed_rate: f64,
    /// Expected calibration error over ten equal-width bins.
    pub ece: f64,
}

/// The hazard's out-of-time figures.
#[derive(Clone, Debug, Serialize)]
pub struct HazardEvaluation {
    /// Fit snapshots are before it and see only months that ended by it; the test rows
    /// are the accounts of its snapshot.
    pub cut: NaiveDate,
    pub fit_snapshots: usize,
    pub fit_months: usize,
    pub trees: usize,
    pub test_accounts: usize,
    pub test_churned_12m: usize,
    /// Cumulative/dynamic ROC-AUC at [`HORIZONS`], and their mean.
    pub auc: Vec<f64>,
    pub mean_auc: f64,
    /// Uno's concordance of P(churn within 12 months) against the churn month.
    pub uno_c: f64,
    /// Integrated Brier score over months 1 to 12.
    pub integrated_brier: f64,
    pub calibration: Vec<Calibration>,
    /// ROC-AUC on the 90-day label of the test accounts: the hazard's P(churn within 3
    /// months), and a direct 90-day booster fitted on the same snapshots (labels known
    /// by the cut).
    pub auc_90d_hazard: f64,
    pub auc_90d_direct: f64,
    /// Each test account's outcome and curve, for `hazard_test.csv` (benches/survival.py
    /// scores other survival models on the same accounts).
    #[serde(skip)]
    pub test: Vec<TestAccount>,
}

/// A test account: its churn month within twelve (`event`, at `time`) or still a
/// customer after twelve (`time` 12.5), and its P(churn within m months), m = 1..=12.
#[derive(Clone, Debug)]
pub struct TestAccount {
    pub account_id: String,
    pub event: bool,
    pub time: f64,
    pub within: Vec<f64>,
}

/// Fits the hazard out of time on `t` and scores the snapshot at the cut: the latest
/// snapshot date followed for twelve whole months before the as-of date.
pub fn evaluate(t: &SnapshotTable, seed: u64) -> Result<HazardEvaluation> {
    let cut = t
        .snapshot_dates
        .iter()
        .copied()
        .filter(|&d| dates::add_months(d, MONTHS as i32) < t.as_of)
        .max()
        .ok_or_else(|| {
            Error::Input(format!(
                "the hazard needs a snapshot followed for {MONTHS} months: the data ends {}",
                t.as_of
            ))
        })?;
    let ds = Dataset::from_snapshots(t);
    let fit_all: Vec<usize> = (0..t.rows.len())
        .filter(|&i| t.rows[i].t < cut && !months_at_risk(i, &t.rows[i], cut).is_empty())
        .collect();
    let groups: Vec<u32> = fit_all.iter().map(|&i| ds.group[i]).collect();
    let fit: Vec<usize> = match sample_groups(&groups, FIT_SNAPSHOTS, seed ^ 0x4a2d) {
        Some(pos) => pos.into_iter().map(|k| fit_all[k]).collect(),
        None => fit_all,
    };
    let test: Vec<usize> = (0..t.rows.len()).filter(|&i| t.rows[i].t == cut).collect();
    if fit.is_empty() || test.is_empty() {
        return Err(Error::Input(format!(
            "the hazard needs snapshots before {cut} and on it"
        )));
    }
    let prep = Preprocessor::fit(&ds, &fit);
    let x_fit = prep.transform(&ds, &fit)?;
    let x_test = prep.transform(&ds, &test)?;

    // The hazard on the months at risk of the fit snapshots.
    let months: Vec<MonthRow> = fit
        .iter()
        .enumerate()
        .flat_map(|(pos, &i)| months_at_risk(pos, &t.rows[i], cut))
        .collect();
    let x_months = month_design(x_fit.view(), &months, |m| {
        calendar(&t.rows[fit[m.row]], m.k)
    });
    let y: Vec<f64> = months
        .iter()
        .map(|m| f64::from(u8::from(m.churned)))
        .collect();
    let stop = held_out_groups(months.iter().map(|m| ds.group[fit[m.row]]), seed);
    let hazard = Boost::fit(x_months.view(), &y, None, PARAMS, Some(&stop), seed);

    // Every test account's twelve months.
    let curves = curves(&hazard, x_test.view(), |pos, k| {
        calendar(&t.rows[test[pos]], k)
    });
    let (event, time) = test_outcomes(t, &test);
    let truth = Surv {
        event: &event,
        time: &time,
    };
    let within: Vec<Vec<f64>> = (1..=MONTHS)
        .map(|m| curves.iter().map(|c| c.within(m)).collect())
        .collect();
    let at: Vec<&[f64]> = HORIZONS.iter().map(|&h| within[h - 1].as_slice()).collect();
    let horizons: Vec<f64> = HORIZONS.iter().map(|&h| h as f64).collect();
    let (auc, mean_auc) = survival::cumulative_dynamic_auc(truth, truth, &at, &horizons)
        .map_err(|e| Error::Input(format!("time-dependent AUC: {e}")))?;
    let uno_c = survival::uno_concordance(truth, truth, &within[MONTHS - 1], None)
        .map_err(|e| Error::Input(format!("Uno's concordance: {e}")))?;
    let survive: Vec<Vec<f64>> = within
        .iter()
        .map(|w| w.iter().map(|p| 1.0 - p).collect())
        .collect();
    let survive: Vec<&[f64]> = survive.iter().map(Vec::as_slice).collect();
    let months_axis: Vec<f64> = (1..=MONTHS).map(|m| m as f64).collect();
    let integrated_brier = survival::integrated_brier_score(truth, truth, &survive, &months_axis)
        .map_err(|e| Error::Input(format!("integrated Brier score: {e}")))?;
    let calibration = HORIZONS
        .iter()
        .map(|&h| {
            let y: Vec<f64> = (0..test.len())
                .map(|i| f64::from(u8::from(event[i] && time[i] <= h as f64)))
                .collect();
            let p = &within[h - 1];
            let (_, ece) = metrics::reliability(&y, p, 10);
            Calibration {
                months: h,
                mean_predicted: p.iter().sum::<f64>() / p.len() as f64,
                observed_rate: y.iter().sum::<f64>() / y.len() as f64,
                ece,
            }
        })
        .collect();

    // The direct 90-day model on the same snapshots, labels known by the cut.
    let horizon = Duration::days(t.horizon_days);
    let direct_rows: Vec<usize> = (0..fit.len())
        .filter(|&pos| {
            let r = &t.rows[fit[pos]];
            r.label.is_some() && r.t + horizon < cut
        })
        .collect();
    let x_direct = x_fit.select(ndarray::Axis(0), &direct_rows);
    let y_direct: Vec<f64> = direct_rows
        .iter()
        .map(|&pos| f64::from(u8::from(t.rows[fit[pos]].label == Some(true))))
        .collect();
    let stop = held_out_groups(direct_rows.iter().map(|&pos| ds.group[fit[pos]]), seed);
    let direct = Boost::fit(x_direct.view(), &y_direct, None, PARAMS, Some(&stop), seed);
    let labelled: Vec<usize> = (0..test.len())
        .filter(|&k| t.rows[test[k]].label.is_some())
        .collect();
    let y90: Vec<f64> = labelled
        .iter()
        .map(|&k| f64::from(u8::from(t.rows[test[k]].label == Some(true))))
        .collect();
    let p_hazard: Vec<f64> = labelled.iter().map(|&k| curves[k].within(3)).collect();
    let direct_raw = direct.raw(x_test.view());
    let p_direct: Vec<f64> = labelled.iter().map(|&k| sigmoid(direct_raw[k])).collect();
    let auc90 = |p: &[f64]| {
        metrics::roc_auc(&y90, p)
            .ok_or_else(|| Error::Input(format!("no churn (or no renewal) in 90 days after {cut}")))
    };
    Ok(HazardEvaluation {
        cut,
        fit_snapshots: fit.len(),
        fit_months: months.len(),
        trees: hazard.trees.len(),
        test_accounts: test.len(),
        test_churned_12m: event.iter().filter(|&&e| e).count(),
        auc,
        mean_auc,
        uno_c,
        integrated_brier,
        calibration,
        auc_90d_hazard: auc90(&p_hazard)?,
        auc_90d_direct: auc90(&p_direct)?,
        test: test
            .iter()
            .enumerate()
            .map(|(k, &i)| TestAccount {
                account_id: t.account_ids[t.rows[i].account as usize].clone(),
                event: event[k],
                time: time[k],
                within: curves[k].cumulative.clone(),
            })
            .collect(),
    })
}

/// The design of months at risk: the snapshot's design row, then the month's calendar.
fn month_design(
    x: ArrayView2<f64>,
    months: &[MonthRow],
    cal: impl Fn(&MonthRow) -> [f64; 5],
) -> Array2<f64> {
    let p = x.ncols();
    let mut out = Array2::zeros((months.len(), p + 5));
    for (r, m) in months.iter().enumerate() {
        out.slice_mut(s![r, ..p]).assign(&x.row(m.row));
        for (j, v) in cal(m).into_iter().enumerate() {
            out[[r, p + j]] = v;
        }
    }
    out
}

/// Each row of `x`'s twelve hazards, multiplied into a [`Curve`].
pub fn curves(
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

/// The test accounts' churn month within twelve (an event), else still a customer after
/// month twelve (censored at 12.5: the cut was chosen so that every test account is
/// followed the twelve months, and only horizons up to twelve are scored).
fn test_outcomes(t: &SnapshotTable, test: &[usize]) -> (Vec<bool>, Vec<f64>) {
    test.iter()
        .map(|&i| {
            let r = &t.rows[i];
            match r.churn_date.map(|c| churn_month(r.t, c)) {
                Some(k) if k <= MONTHS => (true, k as f64),
                _ => (false, MONTHS as f64 + 0.5),
            }
        })
        .unzip()
}
