//! Out-of-time validation of the hazard against the direct 90-day model.

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use super::model::{HazardModel, PARAMS, fit_rows};
use super::{Curve, MONTHS, churn_month};
use crate::common::dates;
use crate::common::math::sigmoid;
use crate::common::rng::held_out_groups;
use crate::error::{Error, Result};
use crate::features::SnapshotTable;
use crate::features::dataset::Dataset;
use crate::model::prep::Preprocessor;
use crate::model::tree::Boost;
use crate::train::metrics;
use crate::train::survival::{self, Surv};

/// The horizons reported, in months.
pub const HORIZONS: [usize; 3] = [3, 6, 12];

/// Calibration at one horizon: the test accounts' predicted P(churn within it) against
/// whether they did (every test account is followed the twelve months).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Calibration {
    pub months: usize,
    pub mean_predicted: f64,
    pub observed_rate: f64,
    /// Expected calibration error over ten equal-width bins.
    pub ece: f64,
    /// Integrated calibration index: mean |predicted - lowess-smoothed observed rate|
    /// ([`metrics::ici`]).
    #[serde(default)]
    pub ici: f64,
}

/// The hazard's out-of-time figures.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HazardEvaluation {
    /// Fit snapshots are before it and see only months that ended by it; the test rows
    /// are the accounts of its snapshot.
    pub cut: NaiveDate,
    pub fit_snapshots: usize,
    pub fit_months: usize,
    pub trees: usize,
    pub test_accounts: usize,
    pub test_churned_12m: usize,
    /// The hazard's curves scored on the test accounts.
    #[serde(flatten)]
    pub scores: Scores,
    /// The curves the list shows (with the direct 90-day model): the direct model's
    /// probability for the first three months, the hazard's after them
    /// ([`super::Curve::spliced`]); when the direct model was fitted.
    pub spliced: Option<Scores>,
    /// ROC-AUC on the 90-day label of the test accounts: the hazard's P(churn within 3
    /// months), and a direct 90-day booster fitted on the same snapshots (labels known
    /// by the cut).
    pub auc_90d_hazard: f64,
    pub auc_90d_direct: Option<f64>,
    /// Each test account's outcome and curve, for `hazard_test.csv` (benches/survival.py
    /// scores other survival models on the same accounts).
    #[serde(skip)]
    pub test: Vec<TestAccount>,
}

/// Survival metrics of twelve-month curves on the test accounts.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Scores {
    /// Cumulative/dynamic ROC-AUC at [`HORIZONS`], and their mean.
    pub auc: Vec<f64>,
    pub mean_auc: f64,
    /// Uno's concordance of P(churn within 12 months) against the churn month.
    pub uno_c: f64,
    /// Integrated Brier score over months 1 to 12.
    pub integrated_brier: f64,
    pub calibration: Vec<Calibration>,
}

/// Scores `curves` against the test accounts' churn months (`event`, `time`).
fn score_curves(curves: &[Curve], event: &[bool], time: &[f64]) -> Result<Scores> {
    let truth = Surv { event, time };
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
            let y: Vec<f64> = (0..event.len())
                .map(|i| f64::from(u8::from(event[i] && time[i] <= h as f64)))
                .collect();
            let p = &within[h - 1];
            let (_, ece) = metrics::reliability(&y, p, 10);
            Calibration {
                months: h,
                mean_predicted: p.iter().sum::<f64>() / p.len() as f64,
                observed_rate: y.iter().sum::<f64>() / y.len() as f64,
                ece,
                ici: metrics::ici(&y, p).unwrap_or(f64::NAN),
            }
        })
        .collect();
    Ok(Scores {
        auc,
        mean_auc,
        uno_c,
        integrated_brier,
        calibration,
    })
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
///
/// With `with_direct`, a direct 90-day booster is fitted on the same snapshots as the
/// yardstick of the hazard's 3-month figure (`churnlab hazard`; `run` leaves it out).
pub fn evaluate(
    t: &SnapshotTable,
    ds: &Dataset,
    seed: u64,
    with_direct: bool,
) -> Result<HazardEvaluation> {
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
    let fit = fit_rows(
        t,
        ds,
        (0..t.rows.len()).filter(|&i| t.rows[i].t < cut),
        cut,
        seed,
    );
    let test: Vec<usize> = (0..t.rows.len()).filter(|&i| t.rows[i].t == cut).collect();
    if fit.is_empty() || test.is_empty() {
        return Err(Error::Input(format!(
            "the hazard needs snapshots before {cut} and on it"
        )));
    }
    let hazard = HazardModel::fit(t, ds, &fit, cut, seed)?;

    // Every test account's twelve months.
    let curves = hazard.curves(t, ds, &test)?;
    let (event, time) = test_outcomes(t, &test);
    let scores = score_curves(&curves, &event, &time)?;
    let labelled: Vec<usize> = (0..test.len())
        .filter(|&k| t.rows[test[k]].label.is_some())
        .collect();
    let y90: Vec<f64> = labelled
        .iter()
        .map(|&k| f64::from(u8::from(t.rows[test[k]].label == Some(true))))
        .collect();
    let auc90 = |p: &[f64]| {
        metrics::roc_auc(&y90, p)
            .ok_or_else(|| Error::Input(format!("no churn (or no renewal) in 90 days after {cut}")))
    };
    let p_hazard: Vec<f64> = labelled.iter().map(|&k| curves[k].within(3)).collect();
    let (auc_90d_direct, spliced) = if with_direct {
        let p = direct_90_day(t, ds, &hazard.prep, (&fit, &test), cut, seed)?;
        let spliced: Vec<Curve> = curves.iter().zip(&p).map(|(c, &p)| c.spliced(p)).collect();
        (
            Some(auc90(&labelled.iter().map(|&k| p[k]).collect::<Vec<_>>())?),
            Some(score_curves(&spliced, &event, &time)?),
        )
    } else {
        (None, None)
    };
    Ok(HazardEvaluation {
        cut,
        fit_snapshots: fit.len(),
        fit_months: hazard.fit_months,
        trees: hazard.booster.trees.len(),
        test_accounts: test.len(),
        test_churned_12m: event.iter().filter(|&&e| e).count(),
        scores,
        spliced,
        auc_90d_hazard: auc90(&p_hazard)?,
        auc_90d_direct,
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

/// The direct 90-day booster fitted on the fit snapshots whose label is known by the cut,
/// and its probabilities for the test snapshots.
fn direct_90_day(
    t: &SnapshotTable,
    ds: &Dataset,
    prep: &Preprocessor,
    (fit, test): (&[usize], &[usize]),
    cut: NaiveDate,
    seed: u64,
) -> Result<Vec<f64>> {
    let horizon = Duration::days(t.horizon_days);
    let rows: Vec<usize> = fit
        .iter()
        .copied()
        .filter(|&i| t.rows[i].label.is_some() && t.rows[i].t + horizon < cut)
        .collect();
    let x = prep.transform(ds, &rows)?;
    let y: Vec<f64> = rows
        .iter()
        .map(|&i| f64::from(u8::from(t.rows[i].label == Some(true))))
        .collect();
    let stop = held_out_groups(rows.iter().map(|&i| ds.group[i]), seed);
    let direct = Boost::fit(x.view(), &y, None, PARAMS, Some(&stop), seed);
    let raw = direct.raw(prep.transform(ds, test)?.view());
    Ok(raw.into_iter().map(sigmoid).collect())
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
