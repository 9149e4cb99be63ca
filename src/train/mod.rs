//! Training: every candidate of every family is fitted in parallel (rayon), chosen on
//! held-out rows, calibrated, compared, and refitted on all labelled rows.
//!
//! Two schemes ([`split::Scheme`], chosen once by the job that trains):
//! - out of time (snapshot tables): fit | gap | validation | gap | test periods
//!   ([`crate::train::split::out_of_time`]). Hyper-parameters, calibration and the champion are
//!   chosen on validation; test is only reported.
//! - cross-validation (flat tables): stratified, grouped, seeded folds. Choices and
//!   reported metrics both use the out-of-fold predictions.
//!
//! The metrics ([`metrics`], and [`survival`] for time to churn) and splits ([`split`]) live here; the fitted pipelines are
//! saved whole as a model folder ([`artifact`]).

pub mod artifact;
pub(crate) mod card;
pub mod compare;
pub(crate) mod comparison;
pub mod metrics;
pub mod registry;
pub mod split;
pub mod survival;

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::common::rng::Rng;
use crate::config::ModelConfig;
use crate::error::{Error, Result};
use crate::features::dataset::Dataset;
use crate::model::calibrate::Calibrator;
use crate::model::logistic::Logistic;
use crate::model::prep::Preprocessor;
use crate::model::{self, Family, Model, Params};
use metrics::Metrics;
use split::{OutOfTime, Scheme, SchemeName};

/// A preprocessor, a fitted model and its calibration: everything needed to score.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pipeline {
    pub params: Params,
    pub prep: Preprocessor,
    pub model: Model,
    pub calibrator: Calibrator,
}

impl Pipeline {
    /// Calibrated churn probabilities for `rows` of `ds`.
    pub fn predict(&self, ds: &Dataset, rows: &[usize]) -> Result<Vec<f64>> {
        let x = self.prep.transform(ds, rows)?;
        Ok(self.proba(x.view()))
    }

    /// Calibrated churn probabilities for a design matrix made by `self.prep`.
    pub fn proba(&self, x: ndarray::ArrayView2<f64>) -> Vec<f64> {
        self.model
            .proba(x)
            .into_iter()
            .map(|p| self.calibrator.apply(p))
            .collect()
    }
}

/// Held-out results of one candidate.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CandidateResult {
    pub params: Params,
    pub description: String,
    /// ROC-AUC on the rows used for choosing (validation period, or out of fold).
    pub selection_roc_auc: Option<f64>,
    pub selection_log_loss: f64,
    /// Mean and standard deviation of per-fold ROC-AUC (cross-validation only).
    pub fold_roc_auc: Option<(f64, f64)>,
    /// Wall time of the fit (logged, not saved: saved outputs must not vary run to run).
    #[serde(default, skip_serializing)]
    pub fit_seconds: f64,
}

/// The chosen candidate of one family.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FamilyResult {
    pub family: Family,
    pub params: Params,
    pub description: String,
    pub calibration: String,
    /// Brier score of each calibration option on the selection rows (cross-fitted).
    pub calibration_brier: BTreeMap<String, f64>,
    /// Metrics on the selection rows (calibrated).
    pub selection: Metrics,
    /// Metrics on the reported rows (the test period; out of fold for cross-validation).
    pub test: Metrics,
    /// Out of time only: test metrics on accounts with no row in the fit period (the
    /// grouped-by-account view: how the model does on accounts it never saw).
    pub test_unseen_accounts: Option<Metrics>,
    pub fold_roc_auc: Option<(f64, f64)>,
    /// Wall time of the final refit (not saved, as above).
    #[serde(default, skip_serializing)]
    pub final_fit_seconds: f64,
    /// Whether the saved model was refitted on every labelled row ([`refits`]); if not, it
    /// is the model fitted on the fit period, the one these test metrics measure.
    #[serde(default = "refitted_by_default")]
    pub refitted: bool,
}

/// Reports saved before `refitted` existed refitted every family.
fn refitted_by_default() -> bool {
    true
}

/// Whether a family's chosen model is refitted on every labelled row (with `[models]
/// refit`): the champion, which scores the book, and the decision tree, whose rules are
/// read as a description of the book (a fraction of a second). Out of time, the other
/// families keep the model fitted on the fit period, the one whose test metrics are
/// reported: no command scores with them, and their refits were most of the training time
/// on large books (the logistic regression's, read only for its coefficients, was 8 s of
/// the 20,000-account run; docs/decisions.md 35). Cross-validation has no single fitted
/// model to keep, so it refits every family.
fn refits(family: Family, champion: Family, out_of_time: bool) -> bool {
    !out_of_time || family == champion || family == Family::DecisionTree
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub scheme: SchemeName,
    pub rows_labelled: usize,
    pub positives: usize,
    pub split: Option<OutOfTime>,
    pub folds: Option<usize>,
    pub candidates: Vec<CandidateResult>,
    pub families: Vec<FamilyResult>,
    /// Out of time, on large books: the candidates were fitted on this many fit-period
    /// rows (a seeded sample of whole accounts, see [`TUNING_ROWS`]); None: on all.
    #[serde(default)]
    pub tuning_rows: Option<usize>,
    /// On books with more than [`FINAL_ROWS`] labelled rows: the refits were fitted on
    /// this many (a seeded sample of whole accounts); None: on every labelled row.
    #[serde(default)]
    pub final_rows: Option<usize>,
    pub champion: Family,
    pub champion_rule: String,
    pub champion_reason: String,
    /// This run's champion against the previous model (`--previous`), with the decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<comparison::Comparison>,
}

/// What training reports while it works, for progress bars and logs.
#[derive(Clone, Debug)]
pub enum Progress<'a> {
    /// How many model fits lie ahead in all (candidates, folds and final refits).
    Plan { fits: usize },
    /// The out-of-time split was made.
    Split(&'a OutOfTime),
    /// The candidates are fitted on a sample of `rows` of the `of` fit-period rows.
    Tuning { rows: usize, of: usize },
    /// Cross-validation starts.
    CrossValidation { folds: usize, rows: usize },
    /// One fit finished.
    Fitted { what: String, seconds: f64 },
    /// A fold of cross-validation finished.
    FoldDone { fold: usize, folds: usize },
    /// The chosen candidates that [`refits`] names are being refitted on every labelled
    /// row.
    Refitting,
}

impl std::fmt::Display for Progress<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Progress::Plan { fits } => write!(f, "{fits} model fits planned"),
            Progress::Split(s) => write!(
                f,
                "out-of-time split: fit {} rows ({} to {}), validation {} ({} to {}), test {} ({} to {})",
                s.fit.len(),
                s.fit_dates.0,
                s.fit_dates.1,
                s.valid.len(),
                s.valid_dates.0,
                s.valid_dates.1,
                s.test.len(),
                s.test_dates.0,
                s.test_dates.1
            ),
            Progress::Tuning { rows, of } => write!(
                f,
                "candidates fitted on a sample of {rows} of the {of} fit-period rows (whole accounts); \
                 the champion's choice is refitted on every labelled row (past {FINAL_ROWS}, on a seeded \
                 sample of whole accounts)"
            ),
            Progress::CrossValidation { folds, rows } => write!(
                f,
                "{folds}-fold stratified cross-validation over {rows} labelled rows"
            ),
            Progress::Fitted { what, seconds } => write!(f, "fitted {what} in {seconds:.1}s"),
            Progress::FoldDone { fold, folds } => write!(f, "fold {fold} of {folds} done"),
            Progress::Refitting => {
                write!(
                    f,
                    "refitting on all labelled rows (past {FINAL_ROWS}, on a seeded sample of whole accounts): the champion, and the decision tree for its rules (every family under cross-validation)"
                )
            }
        }
    }
}

/// The outcome of training: the report and one fitted pipeline per family.
pub struct Trained {
    pub report: Report,
    pub pipelines: BTreeMap<Family, Pipeline>,
    /// The reported rows (test period, or every labelled row out of fold) and each
    /// family's calibrated probabilities on them, from models that did not see them.
    pub test_rows: Vec<usize>,
    pub test_proba: BTreeMap<Family, Vec<f64>>,
    /// How the models were validated (the health-score validation takes the same split).
    pub scheme: Scheme,
}

/// Above this many fit-period rows, the candidates are fitted on a seeded sample of
/// whole accounts of about this size. Candidates are only compared with each other, and
/// their ranking settles well before this many rows; each family's chosen candidate is
/// then refitted on every labelled row. Test metrics (from the candidates) are those of a
/// model fitted on the sample: if anything, below the final model's.
pub const TUNING_ROWS: usize = 200_000;

/// Above this many labelled rows, the final refits are fitted on a seeded sample of whole
/// accounts of about this size, every date kept. Below it (a 20,000-account book has
/// 260,000), on every labelled row. At 100,000 accounts (1.3 million labelled rows) the
/// full design matrix alone is 2.6 GB; the booster grows each tree on at most
/// `model::tree::MAX_TREE_ROWS` rows whatever the book, and a logistic regression
/// of 250 columns is settled long before half a million rows.
pub const FINAL_ROWS: usize = 500_000;

/// `rows`, or a seeded sample of their accounts holding about [`TUNING_ROWS`] rows.
fn tuning_sample(ds: &Dataset, rows: &[usize], seed: u64) -> Option<Vec<usize>> {
    sample_of(ds, rows, TUNING_ROWS, seed ^ 0x7a5e)
}

/// `rows`, or a seeded sample of their accounts holding about `size` rows.
fn sample_of(ds: &Dataset, rows: &[usize], size: usize, seed: u64) -> Option<Vec<usize>> {
    let groups: Vec<u32> = rows.iter().map(|&i| ds.group[i]).collect();
    crate::common::rng::sample_groups(&groups, size, seed)
        .map(|pos| pos.into_iter().map(|k| rows[k]).collect())
}

/// Rows (positions in `rows`) held out for early stopping: about 15% of groups.
fn stop_rows(ds: &Dataset, rows: &[usize], seed: u64) -> Vec<usize> {
    crate::common::rng::held_out_groups(rows.iter().map(|&r| ds.group[r]), seed)
}

/// Fits one candidate on `rows` of `ds`, whose design matrix is `x`; its wall time. The
/// first tree fitted on `x` bins it for all the others.
fn fit_one(
    params: &Params,
    ds: &Dataset,
    rows: &[usize],
    x: &model::Design,
    seed: u64,
) -> (Model, f64) {
    let y = ds.labels(rows);
    let stop = matches!(params, Params::GradientBoosting(_)).then(|| stop_rows(ds, rows, seed));
    let t = std::time::Instant::now();
    let m = model::fit_on(params, x, &y, None, stop.as_deref(), seed);
    (m, t.elapsed().as_secs_f64())
}

/// Fits every candidate of `grid` on `rows` (design `x`), in parallel; each model with
/// its fit seconds, in grid order. `seed_of(k)` seeds candidate k and `done(k, seconds)`
/// hears of each fit. The logistic candidates are two chains, the L2 ones and the L1 ones,
/// each from the strongest penalty to the weakest, each fit starting Newton's method at
/// the previous optimum (a path of warm starts: the same optima in fewer steps).
fn fit_grid(
    grid: &[Params],
    ds: &Dataset,
    rows: &[usize],
    x: &model::Design,
    seed_of: &(dyn Fn(usize) -> u64 + Sync),
    done: &(dyn Fn(usize, f64) + Sync),
) -> Vec<(Model, f64)> {
    let penalty_of = |k: usize| grid[k].penalty();
    let chain = |lasso: bool| {
        let mut c: Vec<usize> = (0..grid.len())
            .filter(|&k| penalty_of(k).is_some_and(|p| (p.l1 > 0.0) == lasso))
            .collect();
        let strength = |k: usize| penalty_of(k).map_or(0.0, |p| if lasso { p.l1 } else { p.l2 });
        c.sort_by(|&a, &b| strength(b).total_cmp(&strength(a)));
        c
    };
    let tasks: Vec<Vec<usize>> = [chain(false), chain(true)]
        .into_iter()
        .filter(|c| !c.is_empty())
        .chain(
            (0..grid.len())
                .filter(|&k| penalty_of(k).is_none())
                .map(|k| vec![k]),
        )
        .collect();
    let y = ds.labels(rows);
    let mut fitted: Vec<(usize, Model, f64)> = tasks
        .par_iter()
        .flat_map_iter(|task| {
            let mut previous: Option<Logistic> = None;
            let mut out = Vec::with_capacity(task.len());
            for &k in task {
                let (m, secs) = match (penalty_of(k), previous.take()) {
                    (Some(pen), Some(p)) => {
                        let t = std::time::Instant::now();
                        let m =
                            Logistic::fit_from(x.x(), &y, None, pen, Some((p.intercept, p.coef)));
                        (Model::Logistic(m), t.elapsed().as_secs_f64())
                    }
                    _ => fit_one(&grid[k], ds, rows, x, seed_of(k)),
                };
                done(k, secs);
                if let Model::Logistic(l) = &m {
                    previous = Some(l.clone());
                }
                out.push((k, m, secs));
            }
            out
        })
        .collect();
    fitted.sort_by_key(|f| f.0);
    fitted.into_iter().map(|(_, m, s)| (m, s)).collect()
}

/// A refit of `params` on `rows` (whose design is `x`, from `prep`), from what the model
/// fitted on the fit period (`validated`, with its preprocessor) already learned: a
/// logistic regression starts Newton's method from the validated coefficients (by design
/// column name), the same optimum in fewer steps. Other families fit afresh; a booster
/// early-stops again on the refit rows (refitting it with the validated number of trees
/// was faster but blurred the reasons, docs/decisions.md 31).
fn refit_one(
    params: &Params,
    validated: Option<(&Preprocessor, &Model)>,
    prep: &Preprocessor,
    ds: &Dataset,
    rows: &[usize],
    x: &model::Design,
    seed: u64,
) -> (Model, f64) {
    match (params.penalty(), validated) {
        (Some(pen), Some((old_prep, Model::Logistic(m)))) => {
            let coef: Vec<f64> = prep
                .columns
                .iter()
                .map(|c| {
                    old_prep
                        .columns
                        .iter()
                        .position(|o| o.name == c.name)
                        .map_or(0.0, |k| m.coef[k])
                })
                .collect();
            let y = ds.labels(rows);
            let t = std::time::Instant::now();
            let m = Logistic::fit_from(x.x(), &y, None, pen, Some((m.intercept, coef)));
            (Model::Logistic(m), t.elapsed().as_secs_f64())
        }
        _ => fit_one(params, ds, rows, x, seed),
    }
}

/// The champion's chosen parameters refitted on `rows` alone, with the champion's
/// calibration map: the new model as it would have been trained on the dates an older
/// model had (see [`compare`]).
pub fn refit_champion_on(
    trained: &Trained,
    ds: &Dataset,
    rows: &[usize],
    seed: u64,
) -> Result<Pipeline> {
    let champion = trained
        .pipelines
        .get(&trained.report.champion)
        .ok_or_else(|| Error::Internal("the champion has no fitted pipeline to refit".into()))?;
    let (prep, x) = Preprocessor::fit_transform(ds, rows)?;
    let (model, _) = refit_one(
        &champion.params,
        Some((&champion.prep, &champion.model)),
        &prep,
        ds,
        rows,
        &model::Design::new(x.view()),
        candidate_seed(seed, 950),
    );
    Ok(Pipeline {
        params: champion.params.clone(),
        prep,
        model,
        calibrator: champion.calibrator.clone(),
    })
}

/// One candidate fitted on the fit period: its predictions on the validation and test
/// periods, its fit time, and the model itself when it is to be kept (no refit).
struct HeldOut {
    valid: Vec<f64>,
    test: Vec<f64>,
    seconds: f64,
    model: Option<Model>,
}

fn candidate_seed(seed: u64, k: usize) -> u64 {
    Rng::stream(seed, 500 + k as u64).next_u64()
}

/// Chooses the calibration for held-out predictions `p` by cross-fitted Brier (fit on
/// half the groups, scored on the other half, both ways) and fits it on all of them.
fn choose_calibration(
    ds: &Dataset,
    rows: &[usize],
    p: &[f64],
    y: &[f64],
) -> (Calibrator, BTreeMap<String, f64>) {
    let half: Vec<bool> = rows
        .iter()
        .map(|&i| Rng::stream(0xca1, u64::from(ds.group[i])).f64() < 0.5)
        .collect();
    let part = |side: bool| -> (Vec<f64>, Vec<f64>) {
        let idx: Vec<usize> = (0..rows.len()).filter(|&k| half[k] == side).collect();
        (
            idx.iter().map(|&k| p[k]).collect(),
            idx.iter().map(|&k| y[k]).collect(),
        )
    };
    let (pa, ya) = part(true);
    let (pb, yb) = part(false);
    let mut briers = BTreeMap::new();
    type Fit = fn(&[f64], &[f64]) -> Calibrator;
    let fits: [(&str, Fit); 3] = [
        ("none", |_, _| Calibrator::None),
        ("platt", Calibrator::platt),
        ("isotonic", Calibrator::isotonic),
    ];
    let mut best = ("none", f64::INFINITY);
    for (name, f) in fits {
        let score = |cp: &[f64], cy: &[f64], sp: &[f64], sy: &[f64]| {
            if cp.is_empty() || sp.is_empty() {
                return 0.0;
            }
            let c = f(cp, cy);
            let q: Vec<f64> = sp.iter().map(|&v| c.apply(v)).collect();
            metrics::brier(sy, &q) * sp.len() as f64
        };
        let b = (score(&pa, &ya, &pb, &yb) + score(&pb, &yb, &pa, &ya)) / rows.len().max(1) as f64;
        briers.insert(name.to_string(), b);
        if b < best.1 - 1e-12 {
            best = (name, b);
        }
    }
    let c = match best.0 {
        "platt" => Calibrator::platt(p, y),
        "isotonic" => Calibrator::isotonic(p, y),
        _ => Calibrator::None,
    };
    (c, briers)
}

fn grid_for(cfg: &ModelConfig, rows: usize) -> Vec<Params> {
    Params::grid(rows)
        .into_iter()
        .filter(|p| cfg.families.is_empty() || cfg.families.contains(&p.family()))
        .collect()
}

/// Families in order of simplicity; the champion rule prefers the simpler of near-ties.
const TIE: f64 = 0.002;

fn pick_champion(families: &[FamilyResult]) -> (Family, String) {
    let best = families
        .iter()
        .filter_map(|f| f.selection.roc_auc.map(|a| (f.family, a)))
        .fold(None::<(Family, f64)>, |acc, (f, a)| match acc {
            Some((_, b)) if b >= a => acc,
            _ => Some((f, a)),
        });
    let Some((top, top_auc)) = best else {
        return (Family::Logistic, "no family had a ROC-AUC".into());
    };
    // The simplest family within TIE of the best.
    let chosen = Family::ALL
        .iter()
        .copied()
        .find(|fam| {
            families.iter().any(|f| {
                f.family == *fam && f.selection.roc_auc.is_some_and(|a| a >= top_auc - TIE)
            })
        })
        .unwrap_or(top);
    let auc = families
        .iter()
        .find(|f| f.family == chosen)
        .and_then(|f| f.selection.roc_auc)
        .unwrap_or(top_auc);
    let reason = if chosen == top {
        format!("highest selection ROC-AUC ({auc:.4})")
    } else {
        format!(
            "selection ROC-AUC {auc:.4} is within {TIE} of the best ({} at {top_auc:.4}), and it is simpler",
            top.name()
        )
    };
    (chosen, reason)
}

/// Every candidate's held-out predictions: on the rows that choose (validation period,
/// or every labelled row out of fold) and on the rows that are reported (test period, or
/// the same out-of-fold rows), with what the out-of-time fit keeps for the final models.
struct Selection {
    sel_rows: Vec<usize>,
    test_rows: Vec<usize>,
    /// `[candidate][row]`.
    sel_preds: Vec<Vec<f64>>,
    test_preds: Vec<Vec<f64>>,
    /// Mean and SD of the per-fold ROC-AUC (cross-validation only).
    fold_aucs: Vec<Option<(f64, f64)>>,
    fit_secs: Vec<f64>,
    folds_used: Option<usize>,
    tuning_rows: Option<usize>,
    /// Out of time: each candidate's fit-period model and their preprocessor (the
    /// families that are not refitted keep theirs).
    validation_models: Vec<Option<Model>>,
    fit_prep: Option<Preprocessor>,
}

/// Out of time: the candidates fitted on the fit period (a seeded sample of it on large
/// books) and predicted on the validation and test periods.
fn out_of_time_candidates(
    ds: &Dataset,
    grid: &[Params],
    s: &OutOfTime,
    seed: u64,
    progress: &(dyn Fn(Progress<'_>) + Sync),
    started: std::time::Instant,
) -> Result<Selection> {
    progress(Progress::Split(s));
    let sample = tuning_sample(ds, &s.fit, seed);
    if let Some(rows) = &sample {
        progress(Progress::Tuning {
            rows: rows.len(),
            of: s.fit.len(),
        });
    }
    let fit_rows = sample.as_deref().unwrap_or(&s.fit);
    let (prep, xf) = Preprocessor::fit_transform(ds, fit_rows)?;
    let xv = prep.transform(ds, &s.valid)?;
    let xt = prep.transform(ds, &s.test)?;
    let design = model::Design::new(xf.view());
    log::debug!(
        "training: design matrices at {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let fitted = fit_grid(
        grid,
        ds,
        fit_rows,
        &design,
        &|k| candidate_seed(seed, k),
        &|k, seconds| {
            progress(Progress::Fitted {
                what: grid[k].describe(),
                seconds,
            })
        },
    );
    log::debug!(
        "training: candidates fitted at {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let out: Vec<HeldOut> = fitted
        .into_par_iter()
        .map(|(m, seconds)| {
            HeldOut {
                valid: m.proba(xv.view()),
                test: m.proba(xt.view()),
                seconds,
                // Kept: without refit they are the saved models; with it, the families
                // that are not refitted ([`refits`]) keep theirs.
                model: Some(m),
            }
        })
        .collect();
    log::debug!(
        "training: candidates' held-out predictions at {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let mut sel = Selection {
        sel_rows: s.valid.clone(),
        test_rows: s.test.clone(),
        sel_preds: Vec::with_capacity(out.len()),
        test_preds: Vec::with_capacity(out.len()),
        fold_aucs: vec![None; grid.len()],
        fit_secs: out.iter().map(|o| o.seconds).collect(),
        folds_used: None,
        tuning_rows: sample.as_ref().map(Vec::len),
        validation_models: Vec::with_capacity(out.len()),
        fit_prep: Some(prep),
    };
    for o in out {
        sel.sel_preds.push(o.valid);
        sel.test_preds.push(o.test);
        sel.validation_models.push(o.model);
    }
    Ok(sel)
}

/// Cross-validation: every candidate fitted on each fold's complement and predicted out
/// of fold.
fn cross_validated_candidates(
    ds: &Dataset,
    grid: &[Params],
    labelled: &[usize],
    folds: usize,
    seed: u64,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Result<Selection> {
    let k = folds.max(2);
    progress(Progress::CrossValidation {
        folds: k,
        rows: labelled.len(),
    });
    let folds = split::stratified_group_folds(ds, k, seed);
    let mut oof = vec![vec![0.0; ds.rows()]; grid.len()];
    let mut per_fold = vec![Vec::new(); grid.len()];
    let mut secs = vec![0.0; grid.len()];
    for f in 0..k {
        let tr: Vec<usize> = labelled
            .iter()
            .copied()
            .filter(|&i| folds[i] != Some(f))
            .collect();
        let te: Vec<usize> = labelled
            .iter()
            .copied()
            .filter(|&i| folds[i] == Some(f))
            .collect();
        if te.is_empty() {
            continue;
        }
        let (prep, xtr) = Preprocessor::fit_transform(ds, &tr)?;
        let xte = prep.transform(ds, &te)?;
        let yte = ds.labels(&te);
        let design = model::Design::new(xtr.view());
        let fitted = fit_grid(
            grid,
            ds,
            &tr,
            &design,
            &|c| candidate_seed(seed, c * 100 + f),
            &|c, seconds| {
                progress(Progress::Fitted {
                    what: format!("{} (fold {})", grid[c].describe(), f + 1),
                    seconds,
                })
            },
        );
        let out: Vec<(Vec<f64>, f64)> = fitted
            .into_par_iter()
            .map(|(m, s)| (m.proba(xte.view()), s))
            .collect();
        for (c, (p, s)) in out.into_iter().enumerate() {
            if let Some(a) = metrics::roc_auc(&yte, &p) {
                per_fold[c].push(a);
            }
            for (k, &i) in te.iter().enumerate() {
                oof[c][i] = p[k];
            }
            secs[c] += s;
        }
        progress(Progress::FoldDone {
            fold: f + 1,
            folds: k,
        });
    }
    let sel_preds: Vec<Vec<f64>> = oof
        .iter()
        .map(|o| labelled.iter().map(|&i| o[i]).collect::<Vec<f64>>())
        .collect();
    let fold_aucs = per_fold
        .iter()
        .map(|v| {
            if v.is_empty() {
                return None;
            }
            let m = v.iter().sum::<f64>() / v.len() as f64;
            let sd = (v.iter().map(|a| (a - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
            Some((m, sd))
        })
        .collect();
    Ok(Selection {
        sel_rows: labelled.to_vec(),
        test_rows: labelled.to_vec(),
        test_preds: sel_preds.clone(),
        sel_preds,
        fold_aucs,
        fit_secs: secs,
        folds_used: Some(k),
        tuning_rows: None,
        validation_models: Vec::new(),
        fit_prep: None,
    })
}

/// A family's chosen candidate: its index in the grid, its calibration and its result.
type Chosen = (usize, Calibrator, FamilyResult);

/// A refitted model and its fit seconds.
type Refit = (Model, f64);

/// Each family's best candidate (highest selection ROC-AUC, or mean fold ROC-AUC under
/// cross-validation), calibrated on the selection rows, with its metrics; and each
/// family's calibrated probabilities on the reported rows.
fn choose_families(
    ds: &Dataset,
    grid: &[Params],
    candidates: &[CandidateResult],
    sel: &Selection,
    oot: Option<&OutOfTime>,
) -> (Vec<Chosen>, BTreeMap<Family, Vec<f64>>) {
    let y_sel = ds.labels(&sel.sel_rows);
    let y_test = ds.labels(&sel.test_rows);
    let arr_sel = ds.arr_of(&sel.sel_rows);
    let arr_test = ds.arr_of(&sel.test_rows);
    // Test rows whose account has no fit row (out of time only).
    let unseen: Option<Vec<usize>> = oot.map(|s| {
        let seen: std::collections::HashSet<u32> = s.fit.iter().map(|&i| ds.group[i]).collect();
        (0..sel.test_rows.len())
            .filter(|&k| !seen.contains(&ds.group[sel.test_rows[k]]))
            .collect()
    });
    let mut families = Vec::new();
    let mut test_proba = BTreeMap::new();
    for fam in Family::ALL {
        let best = candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| c.params.family() == fam)
            .map(|(k, c)| {
                let score = c
                    .fold_roc_auc
                    .map(|f| f.0)
                    .or(c.selection_roc_auc)
                    .unwrap_or(0.0);
                (k, score)
            })
            .fold(None::<(usize, f64)>, |acc, (k, s)| match acc {
                Some((_, b)) if b >= s => acc,
                _ => Some((k, s)),
            });
        let Some((k, _)) = best else { continue };
        let (cal, briers) = choose_calibration(ds, &sel.sel_rows, &sel.sel_preds[k], &y_sel);
        let ps: Vec<f64> = sel.sel_preds[k].iter().map(|&v| cal.apply(v)).collect();
        let pt: Vec<f64> = sel.test_preds[k].iter().map(|&v| cal.apply(v)).collect();
        test_proba.insert(fam, pt.clone());
        let calibration = cal.name().to_string();
        families.push((
            k,
            cal,
            FamilyResult {
                family: fam,
                params: grid[k].clone(),
                description: grid[k].describe(),
                calibration,
                calibration_brier: briers,
                selection: Metrics::compute(&y_sel, &ps, arr_sel.as_deref()),
                test: Metrics::compute(&y_test, &pt, arr_test.as_deref()),
                test_unseen_accounts: unseen.as_ref().filter(|u| !u.is_empty()).map(|u| {
                    let pick = |v: &[f64]| u.iter().map(|&k| v[k]).collect::<Vec<f64>>();
                    Metrics::compute(
                        &pick(&y_test),
                        &pick(&pt),
                        arr_test.as_deref().map(pick).as_deref(),
                    )
                }),
                fold_roc_auc: candidates[k].fold_roc_auc,
                final_fit_seconds: 0.0,
                refitted: false,
            },
        ));
    }
    (families, test_proba)
}

/// The families that `refit` names refitted on `rows` (all labelled rows, or the final
/// sample), in parallel: their preprocessor, and per family (in `families`' order) the
/// refitted model with its seconds, or None for a family kept as fitted.
#[allow(clippy::too_many_arguments)]
fn refit_families(
    ds: &Dataset,
    families: &[Chosen],
    refit: &(dyn Fn(&FamilyResult) -> bool + Sync),
    sel: &Selection,
    rows: &[usize],
    sampled: bool,
    seed: u64,
    progress: &(dyn Fn(Progress<'_>) + Sync),
    started: std::time::Instant,
) -> Result<(Preprocessor, Vec<Option<Refit>>)> {
    let (prep, x) = Preprocessor::fit_transform(ds, rows)?;
    let design = model::Design::new(x.view());
    log::debug!(
        "training: final design matrix at {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let models = families
        .par_iter()
        .map(|(k, _, f)| {
            refit(f).then(|| {
                let validated = sel
                    .fit_prep
                    .as_ref()
                    .zip(sel.validation_models.get(*k).and_then(Option::as_ref));
                let (m, secs) = refit_one(
                    &f.params,
                    validated,
                    &prep,
                    ds,
                    rows,
                    &design,
                    candidate_seed(seed, 900 + k),
                );
                progress(Progress::Fitted {
                    what: format!(
                        "{} on {}",
                        f.params.describe(),
                        if sampled {
                            "the final sample of labelled rows"
                        } else {
                            "all labelled rows"
                        }
                    ),
                    seconds: secs,
                });
                (m, secs)
            })
        })
        .collect();
    Ok((prep, models))
}

/// Trains every family on a dataset, validated as `scheme` says (out of time, or by
/// cross-validation).
pub fn train(
    ds: &Dataset,
    cfg: &ModelConfig,
    scheme: Scheme,
    seed: u64,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Result<Trained> {
    let started = std::time::Instant::now();
    let labelled = ds.labelled();
    let y_all = ds.labels(&labelled);
    let positives = y_all.iter().filter(|&&v| v > 0.5).count();
    if positives == 0 || positives == labelled.len() {
        return Err(Error::Input(format!(
            "the label has a single class ({positives} churned of {} labelled rows); a model needs both",
            labelled.len()
        )));
    }
    let grid = grid_for(cfg, labelled.len());
    let oot = scheme.split();
    let families_trained = Family::ALL
        .iter()
        .filter(|f| grid.iter().any(|p| p.family() == **f))
        .count();
    let candidate_fits = grid.len()
        * match &scheme {
            Scheme::OutOfTime(_) => 1,
            Scheme::CrossValidation { folds } => *folds,
        };
    // Refits: at most one per family ([`refits`] narrows it once the champion is known).
    progress(Progress::Plan {
        fits: candidate_fits + if cfg.refit { families_trained } else { 0 },
    });
    let mut sel = match &scheme {
        Scheme::OutOfTime(s) => out_of_time_candidates(ds, &grid, s, seed, progress, started)?,
        Scheme::CrossValidation { folds } => {
            cross_validated_candidates(ds, &grid, &labelled, *folds, seed, progress)?
        }
    };
    let y_sel = ds.labels(&sel.sel_rows);
    let candidates: Vec<CandidateResult> = grid
        .iter()
        .enumerate()
        .map(|(k, p)| CandidateResult {
            params: p.clone(),
            description: p.describe(),
            selection_roc_auc: metrics::roc_auc(&y_sel, &sel.sel_preds[k]),
            selection_log_loss: metrics::log_loss(&y_sel, &sel.sel_preds[k]),
            fold_roc_auc: sel.fold_aucs[k],
            fit_seconds: sel.fit_secs[k],
        })
        .collect();
    let (families, test_proba) = choose_families(ds, &grid, &candidates, &sel, oot);

    // The champion is chosen on the selection rows, before any refit.
    let chosen: Vec<FamilyResult> = families.iter().map(|(_, _, f)| f.clone()).collect();
    let (champion, reason) = pick_champion(&chosen);
    // Final pipelines: the chosen parameters of the families that [`refits`] names refitted
    // on all labelled rows.
    let refit_family = |f: &FamilyResult| cfg.refit && refits(f.family, champion, oot.is_some());
    let refit_count = families.iter().filter(|(_, _, f)| refit_family(f)).count();
    let final_sample = (refit_count > 0)
        .then(|| sample_of(ds, &labelled, FINAL_ROWS, seed ^ 0xf17a))
        .flatten();
    let mut finals = if refit_count > 0 {
        progress(Progress::Plan {
            fits: candidate_fits + refit_count,
        });
        progress(Progress::Refitting);
        log::debug!(
            "training: families chosen and calibrated at {:.1}s",
            started.elapsed().as_secs_f64()
        );
        let (prep, models) = refit_families(
            ds,
            &families,
            &refit_family,
            &sel,
            final_sample.as_deref().unwrap_or(&labelled),
            final_sample.is_some(),
            seed,
            progress,
            started,
        )?;
        Some((prep, models.into_iter()))
    } else {
        None
    };
    let mut pipelines = BTreeMap::new();
    let mut results = Vec::with_capacity(families.len());
    for (k, cal, mut f) in families {
        let refitted = finals
            .as_mut()
            .and_then(|(prep, models)| models.next().flatten().map(|m| (prep.clone(), m)));
        let fitted = match refitted {
            Some((prep, (model, secs))) => {
                f.final_fit_seconds = secs;
                f.refitted = true;
                Some((prep, model))
            }
            None => sel
                .fit_prep
                .clone()
                .zip(sel.validation_models.get_mut(k).and_then(Option::take)),
        };
        if let Some((prep, model)) = fitted {
            pipelines.insert(
                f.family,
                Pipeline {
                    params: f.params.clone(),
                    prep,
                    model,
                    calibrator: cal,
                },
            );
        }
        results.push(f);
    }
    Ok(Trained {
        report: Report {
            scheme: scheme.name(),
            rows_labelled: labelled.len(),
            positives,
            split: oot.cloned(),
            folds: sel.folds_used,
            tuning_rows: sel.tuning_rows,
            final_rows: final_sample.as_ref().map(Vec::len),
            candidates,
            families: results,
            champion,
            champion_rule: format!(
                "the family with the highest ROC-AUC on the selection rows (validation period, or out of fold); \
                 among families within {TIE} of it, the simplest (logistic, decision tree, random forest, gradient boosting)"
            ),
            champion_reason: reason,
            comparison: None,
        },
        pipelines,
        test_rows: sel.test_rows,
        test_proba,
        scheme,
    })
}
