//! Propensity analysis: do CS plays reduce churn? For each activity type as a treatment
//! (a play in the window before the snapshot), a logistic propensity model of who gets
//! treated from the features at t, then
//! - 1:1 nearest-neighbour matching on the logit of the propensity, with replacement,
//!   within a caliper of 0.2 standard deviations (Austin 2011);
//! - inverse-propensity weighting for the effect on the treated (controls weighted
//!   e / (1 - e));
//! - balance (standardised mean differences before and after), overlap diagnostics;
//! - the effect on churn within the horizon among the treated (ATT), with a bootstrap
//!   95% interval that resamples accounts, next to the naive treated-minus-untreated
//!   difference.
//!
//! Covariates are every feature except those built from the activities table itself
//! (they are the treatment, or follow from it).

use ndarray::{Array2, Axis};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::effects::{self, EffectModel, Estimate};
use super::play_models::{PlayModel, PlayModels};
use crate::common::math::sigmoid;
use crate::common::rng::{Rng, sample_groups};
use crate::common::stats::percentile_ci;
use crate::error::Result;
use crate::features::dataset::Dataset;
use crate::features::{self, PlayFlags};
use crate::input::table::{Column, Table};
use crate::model::logistic::Logistic;
use crate::model::prep::Preprocessor;
use crate::model::tree::BoostParams;
use crate::model::{self, Design, Model, Params};

#[derive(Clone, Debug)]
pub(crate) struct PropensityConfig {
    /// Caliper in standard deviations of the logit of the propensity.
    pub caliper_sd: f64,
    pub bootstrap: usize,
    /// Treatments with fewer treated rows are skipped.
    pub min_treated: usize,
    pub l2: f64,
    /// Gradient-boosted propensity model instead of logistic regression.
    pub boosted: bool,
    /// The boosted propensity model is fitted on a seeded sample of whole accounts
    /// holding about this many rows when the book has more (the outcome model on twice
    /// as many).
    pub max_fit_rows: usize,
    /// A book with more labelled rows is analysed on a seeded sample of whole accounts
    /// holding about this many.
    pub max_rows: usize,
    /// Rows with a propensity above this leave the doubly robust estimate.
    pub trim: f64,
    /// Below this effective number of untreated rows, an estimate is not trusted.
    pub min_ess: f64,
    /// Ridge penalty of the per-account effect models (per row, on z-scores).
    pub effect_l2: f64,
}

impl Default for PropensityConfig {
    fn default() -> Self {
        PropensityConfig {
            caliper_sd: 0.2,
            bootstrap: 200,
            min_treated: 30,
            l2: 1e-3,
            boosted: true,
            max_fit_rows: 30_000,
            max_rows: 120_000,
            trim: 0.95,
            min_ess: 100.0,
            effect_l2: 0.01,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Balance {
    pub covariate: String,
    pub smd_before: f64,
    pub smd_matched: f64,
    pub smd_weighted: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Overlap {
    /// Propensity quantiles (5%, 25%, 50%, 75%, 95%) among treated and untreated.
    #[serde(default, skip_deserializing)]
    pub treated_quantiles: [f64; 5],
    #[serde(default, skip_deserializing)]
    pub control_quantiles: [f64; 5],
    /// Treated rows with no untreated row within the caliper (left out of matching).
    #[serde(default)]
    pub treated_unmatched: usize,
    /// Treated rows whose propensity lies above every untreated row's.
    #[serde(default)]
    pub treated_off_support: usize,
    /// Largest IPW weight's share of the untreated weights' sum.
    #[serde(
        default = "crate::common::nan::missing",
        deserialize_with = "crate::common::nan::f64"
    )]
    pub max_weight_share: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Effect {
    pub treatment: String,
    pub window_days: i64,
    pub treated: usize,
    pub untreated: usize,
    #[serde(
        default = "crate::common::nan::missing",
        deserialize_with = "crate::common::nan::f64"
    )]
    pub treated_churn_rate: f64,
    #[serde(
        default = "crate::common::nan::missing",
        deserialize_with = "crate::common::nan::f64"
    )]
    pub untreated_churn_rate: f64,
    /// Treated minus untreated churn rate, no adjustment.
    #[serde(
        default = "crate::common::nan::missing",
        deserialize_with = "crate::common::nan::f64"
    )]
    pub naive_difference: f64,
    /// Which estimate the report leads with ("doubly_robust").
    #[serde(default)]
    pub headline: String,
    /// The doubly robust (AIPW, cross-fitted) effect on the treated, its 95% interval and
    /// standard error (influence function summed by account).
    #[serde(
        default = "crate::common::nan::missing",
        deserialize_with = "crate::common::nan::f64"
    )]
    pub att_dr: f64,
    #[serde(
        default = "crate::common::nan::missing_pair",
        deserialize_with = "crate::common::nan::pair"
    )]
    pub att_dr_ci: (f64, f64),
    #[serde(
        default = "crate::common::nan::missing",
        deserialize_with = "crate::common::nan::f64"
    )]
    pub att_dr_se: f64,
    /// Treated rows above the propensity trim, left out of the doubly robust estimate.
    #[serde(default)]
    pub trimmed_treated: usize,
    /// Kish's effective number of untreated rows under the ATT weights.
    #[serde(
        default = "crate::common::nan::missing",
        deserialize_with = "crate::common::nan::f64"
    )]
    pub ess_untreated: f64,
    /// E-value of the point estimate and of the interval's bound nearest no effect.
    #[serde(
        default = "crate::common::nan::missing",
        deserialize_with = "crate::common::nan::f64"
    )]
    pub e_value: f64,
    #[serde(
        default = "crate::common::nan::missing",
        deserialize_with = "crate::common::nan::f64"
    )]
    pub e_value_ci: f64,
    /// A random placebo play as common as this one: its doubly robust effect.
    #[serde(
        default = "crate::common::nan::missing",
        deserialize_with = "crate::common::nan::f64"
    )]
    pub placebo_att: f64,
    #[serde(
        default = "crate::common::nan::missing_pair",
        deserialize_with = "crate::common::nan::pair"
    )]
    pub placebo_ci: (f64, f64),
    /// The play's "effect" on an outcome measured before it (see the report's
    /// `negative_control`); None when the book has none.
    #[serde(default)]
    pub negative_control_att: Option<f64>,
    #[serde(default)]
    pub negative_control_ci: Option<(f64, f64)>,
    /// Whether the checks passed, and the estimate's reading in words.
    #[serde(default)]
    pub trusted: bool,
    #[serde(default)]
    pub verdict: String,
    #[serde(
        default = "crate::common::nan::missing",
        deserialize_with = "crate::common::nan::f64"
    )]
    pub att_matched: f64,
    #[serde(
        default = "crate::common::nan::missing_pair",
        deserialize_with = "crate::common::nan::pair"
    )]
    pub att_matched_ci: (f64, f64),
    #[serde(
        default = "crate::common::nan::missing",
        deserialize_with = "crate::common::nan::f64"
    )]
    pub att_weighted: f64,
    #[serde(
        default = "crate::common::nan::missing_pair",
        deserialize_with = "crate::common::nan::pair"
    )]
    pub att_weighted_ci: (f64, f64),
    #[serde(default)]
    pub propensity_roc_auc: Option<f64>,
    #[serde(
        default = "crate::common::nan::missing",
        deserialize_with = "crate::common::nan::f64"
    )]
    pub max_abs_smd_before: f64,
    #[serde(
        default = "crate::common::nan::missing",
        deserialize_with = "crate::common::nan::f64"
    )]
    pub max_abs_smd_matched: f64,
    #[serde(
        default = "crate::common::nan::missing",
        deserialize_with = "crate::common::nan::f64"
    )]
    pub max_abs_smd_weighted: f64,
    pub overlap: Overlap,
    #[serde(default, skip_deserializing)]
    pub balance: Vec<Balance>,
    /// The DR-learner's model of the per-account effect (on the features at t).
    #[serde(skip)]
    pub effect_model: Option<EffectModel>,
    /// Its estimate for each of the report's `scoring_rows` (change in churn
    /// probability; negative = fewer churns).
    #[serde(skip)]
    pub scoring_effects: Vec<f64>,
    /// Accounts scored today that had the play in the window before today: the team's
    /// volume of this play per window (the budget table's size).
    #[serde(default)]
    pub recent_treated: usize,
}

impl Effect {
    /// Whether the headline passed the checks with an interval below zero: only then is
    /// the play offered as a next best play.
    pub fn supported(&self) -> bool {
        self.trusted && self.att_dr_ci.1 < 0.0
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PropensityReport {
    /// What `churnlab score` needs to offer the next best play (saved as `plays.json`
    /// in the model folder).
    #[serde(skip)]
    pub play_models: PlayModels,
    pub outcome: String,
    #[serde(default)]
    pub method: String,
    /// The negative-control outcome, in words, when the book has one.
    #[serde(default)]
    pub negative_control: Option<String>,
    /// Dataset rows of the accounts scored today (the per-account effects' rows).
    #[serde(skip)]
    pub scoring_rows: Vec<usize>,
    /// The effect models' inputs for those rows (the features at today, standardised).
    #[serde(skip)]
    pub scoring_z: Array2<f64>,
    pub effects: Vec<Effect>,
    #[serde(default)]
    pub skipped: Vec<String>,
}

/// Analyses every play type in `plays` on the labelled rows of `ds` (the snapshot
/// dataset `plays` was computed for).
pub(crate) fn analyse(
    ds: &Dataset,
    plays: &PlayFlags,
    cfg: &PropensityConfig,
    seed: u64,
) -> Result<PropensityReport> {
    let all = ds.labelled();
    // A large book is analysed on a seeded sample of whole accounts.
    let groups_all: Vec<u32> = all.iter().map(|&i| ds.group[i]).collect();
    let rows: Vec<usize> = match sample_groups(&groups_all, cfg.max_rows, seed ^ 0xA1B2) {
        Some(pos) => pos.into_iter().map(|k| all[k]).collect(),
        None => all,
    };
    let scoring = scoring_rows(ds);
    let cov = Covariates::build(ds, &rows, plays)?;
    let names = cov.names.clone();
    let y: Vec<f64> = ds.labels(&rows);
    let groups: Vec<u32> = rows.iter().map(|&i| ds.group[i]).collect();
    let cluster = dense(&groups);
    let fold: Vec<bool> = groups
        .iter()
        .map(|&g| Rng::stream(seed ^ 0xF01D, u64::from(g)).f64() < 0.5)
        .collect();
    let treated: Vec<Vec<bool>> = plays
        .treated
        .iter()
        .map(|t| rows.iter().map(|&i| t[i]).collect())
        .collect();
    let clock = std::time::Instant::now();
    let at = |what: &str| {
        log::debug!(
            "propensity: {what} at {:.1}s",
            clock.elapsed().as_secs_f64()
        );
    };
    at("covariates built");
    let outcome = Outcome::cross_fit(&cov.x, &treated, &y, &groups, &fold, cfg, seed);
    at("outcome model cross-fitted");
    let design = Design::new(cov.x.view());
    let nco = cov
        .negative_control
        .as_ref()
        .map(|v| NegativeControl::cross_fit(&design, v, &groups, &fold, cfg, seed));
    let mut effects = Vec::new();
    let mut skipped = Vec::new();
    let ctx = Shared {
        x: &cov.x,
        design: &design,
        balance_cols: cov.current,
        names: &names,
        y: &y,
        groups: &groups,
        cluster: &cluster,
        fold: &fold,
        cfg,
    };
    at("negative control cross-fitted");
    let placebo = placebo(&ctx, &treated, &outcome.observed, seed);
    at("placebo estimated");
    for (k, name) in plays.types.iter().enumerate() {
        let t = &treated[k];
        let nt = t.iter().filter(|&&v| v).count();
        if nt < cfg.min_treated || rows.len() - nt < cfg.min_treated {
            skipped.push(format!(
                "{name}: {nt} treated rows (at least {} needed)",
                cfg.min_treated
            ));
            continue;
        }
        let m = outcome.for_play(k);
        let recent_treated = scoring.iter().filter(|&&i| plays.treated[k][i]).count();
        effects.push(one(
            name,
            plays.window_days,
            &ctx,
            t,
            &m,
            nco.as_ref(),
            placebo,
            seed ^ (k as u64 + 1),
        ));
        if let Some(e) = effects.last_mut() {
            e.recent_treated = recent_treated;
        }
        at(name);
    }
    let play_models = PlayModels {
        prep: cov.prep.clone(),
        plays: effects
            .iter()
            .filter_map(|e| {
                Some(PlayModel {
                    play: e.treatment.clone(),
                    att_dr: e.att_dr,
                    supported: e.supported(),
                    model: e.effect_model.clone()?,
                })
            })
            .collect(),
    };
    let (scoring_z, by_play) = play_models.effects(ds, &scoring)?;
    for (pm, v) in play_models.plays.iter().zip(by_play) {
        if let Some(e) = effects.iter_mut().find(|e| e.treatment == pm.play) {
            e.scoring_effects = v;
        }
    }
    Ok(PropensityReport {
        play_models,
        outcome: format!(
            "churn within the horizon after the snapshot; treated = the play since the snapshot before (up to {} days)",
            plays.window_days
        ),
        method: format!(
            "headline: doubly robust effect on the treated (augmented inverse-propensity weighting, nuisance models cross-fitted on two halves of the accounts: {} propensity, gradient-boosted outcome with every play as a covariate), standard errors from the influence function summed by account, rows with a propensity above {} trimmed; {} covariates (the features at the snapshot, at the snapshot before, when the window's plays were chosen, and {} days before that, and each play in the {} days before the window); second opinion: 1:1 nearest-neighbour matching on the logit, caliper {} SD, with {} bootstrap resamples of accounts; {} rows of {} accounts",
            if cfg.boosted {
                "gradient-boosted"
            } else {
                "logistic"
            },
            cfg.trim,
            names.len(),
            plays.horizon_days,
            plays.history_days,
            cfg.caliper_sd,
            cfg.bootstrap,
            rows.len(),
            cluster.iter().copied().max().map_or(0, |m| m + 1),
        ),
        negative_control: cov.negative_control_name.clone(),
        scoring_rows: scoring.clone(),
        scoring_z,
        effects,
        skipped,
    })
}

/// The doubly robust effect of a random placebo "play" given to as many rows as the
/// median play: it must come out about zero (the method's own check).
fn placebo(c: &Shared, treated: &[Vec<bool>], observed: &[f64], seed: u64) -> Option<Estimate> {
    let n = c.y.len();
    let mut shares: Vec<f64> = treated
        .iter()
        .map(|t| t.iter().filter(|&&v| v).count() as f64 / n.max(1) as f64)
        .collect();
    let share = crate::common::stats::median(&mut shares)?;
    let fake: Vec<bool> = (0..n)
        .map(|i| Rng::stream(seed ^ 0x91AC, i as u64).f64() < share)
        .collect();
    let ff: Vec<f64> = fake.iter().map(|&v| f64::from(u8::from(v))).collect();
    let e = propensity(c, &ff, seed ^ 0x91AD);
    let keep: Vec<bool> = e.iter().map(|&p| p <= c.cfg.trim).collect();
    effects::att_aipw(c.y, &fake, &e, observed, c.cluster, &keep)
}

/// Rows at the latest snapshot date: the accounts scored today.
fn scoring_rows(ds: &Dataset) -> Vec<usize> {
    let Some(time) = ds.time.as_deref() else {
        return Vec::new();
    };
    let Some(&last) = time.iter().max() else {
        return Vec::new();
    };
    (0..ds.rows())
        .filter(|&i| time[i] == last && ds.label[i].is_none())
        .collect()
}

/// Positions `0..` for each distinct value, in order of first appearance.
fn dense(groups: &[u32]) -> Vec<usize> {
    let mut ids: std::collections::HashMap<u32, usize> = Default::default();
    groups
        .iter()
        .map(|&g| {
            let next = ids.len();
            *ids.entry(g).or_insert(next)
        })
        .collect()
}

/// What every play's analysis shares.
struct Shared<'a> {
    /// Covariates: the features at t, then the same features one treatment window before
    /// t, then an indicator of no row then.
    x: &'a Array2<f64>,
    /// `x` with its bin codes, built once for every booster fitted on its rows.
    design: &'a Design<'a>,
    /// The first `balance_cols` columns of `x` are the features at t (balance is shown
    /// for them).
    balance_cols: usize,
    names: &'a [String],
    y: &'a [f64],
    groups: &'a [u32],
    cluster: &'a [usize],
    fold: &'a [bool],
    cfg: &'a PropensityConfig,
}

/// The covariates of the analysed rows and of the scoring rows.
struct Covariates {
    x: Array2<f64>,
    names: Vec<String>,
    current: usize,
    /// The preprocessing of the features at t (the effect models' inputs).
    prep: Preprocessor,
    /// A pre-treatment outcome the plays cannot have caused, when the book has one
    /// (`None` in rows without a snapshot that far back).
    negative_control: Option<Vec<Option<f64>>>,
    negative_control_name: Option<String>,
}

impl Covariates {
    /// The covariates of `rows`: the account at t, as it stood at the snapshot before
    /// (when the window's plays were chosen) and one horizon before that, and which
    /// plays it had before the window.
    fn build(ds: &Dataset, rows: &[usize], plays: &PlayFlags) -> Result<Self> {
        // At t: the catalog's features not derived from the activities table (they are
        // the treatment, or follow from it). Before the window the activities features are
        // history, and stay. The per-type family is left out: the catalog's usage
        // aggregates already carry the account's engagement, and the family would triple
        // the covariates (on the 20,000-account book, 143 numeric covariates against 48;
        // propensity 76 s against 20 s).
        let per_type: Vec<String> = ds
            .numeric_names
            .iter()
            .filter(|n| features::catalog::per_type(n).is_some())
            .cloned()
            .collect();
        let mut past = ds.clone();
        past.drop_columns(&per_type);
        let mut cov = past.clone();
        let activities: Vec<String> = features::CATALOG
            .iter()
            .filter(|s| s.source.starts_with("activities"))
            .map(|s| s.name.to_string())
            .collect();
        cov.drop_columns(&activities);
        let (prep, now) = Preprocessor::fit_transform(&cov, rows)?;
        // Before the window: the snapshot before t, and one horizon before that.
        let before = previous_rows(ds);
        let earlier = lag_rows(ds, plays.horizon_days);
        let lagged: [Vec<Option<usize>>; 2] = [
            rows.iter().map(|&i| before[i]).collect(),
            rows.iter()
                .map(|&i| before[i].and_then(|j| earlier[j]))
                .collect(),
        ];
        let present: Vec<usize> = lagged[0].iter().flatten().copied().collect();
        let (prep_past, _) = Preprocessor::fit_transform(&past, &present)?;
        let (p, q, k) = (now.ncols(), prep_past.columns.len(), plays.types.len());
        let mut x = Array2::<f64>::zeros((rows.len(), p + 2 * q + 2 + k));
        x.slice_mut(ndarray::s![.., ..p]).assign(&now);
        let mut names: Vec<String> = prep.columns.iter().map(|c| c.name.clone()).collect();
        let labels = ["at the snapshot before", "one horizon before that"];
        for (b, lag_of) in lagged.iter().enumerate() {
            let present: Vec<usize> = lag_of.iter().flatten().copied().collect();
            let values = prep_past.transform(&past, &present)?;
            let (lo, flag) = (p + b * q, p + 2 * q + b);
            let mut j = 0;
            for (r, l) in lag_of.iter().enumerate() {
                match l {
                    Some(_) => {
                        x.slice_mut(ndarray::s![r, lo..lo + q])
                            .assign(&values.row(j));
                        j += 1;
                    }
                    None => x[[r, flag]] = 1.0,
                }
            }
            names.extend(
                prep_past
                    .columns
                    .iter()
                    .map(|c| format!("{} {}", c.name, labels[b])),
            );
        }
        names.extend(labels.iter().map(|l| format!("no snapshot {l}")));
        for (kk, name) in plays.types.iter().enumerate() {
            for (r, &i) in rows.iter().enumerate() {
                x[[r, p + 2 * q + 2 + kk]] = f64::from(u8::from(plays.before[kk][i]));
            }
            names.push(format!(
                "{name} in the {} days before the window",
                plays.history_days
            ));
        }
        // The negative-control outcome: low product use two snapshots before t, measured
        // before any play of the window could act, and not a covariate.
        let control = ["events_30d", "active_users_30d", "seat_utilisation_30d"]
            .into_iter()
            .find_map(|f| ds.numeric_col(f).map(|c| (f, c)));
        let (negative_control, negative_control_name) = match control {
            Some((f, col)) => {
                let lag2: Vec<Option<f64>> = rows
                    .iter()
                    .map(|&i| before[i].and_then(|j| before[j]).and_then(|j| col.get(j)))
                    .collect();
                let mut v: Vec<f64> = lag2.iter().flatten().copied().collect();
                match crate::common::stats::median(&mut v) {
                    Some(med) if lag2.iter().filter(|v| v.is_some()).count() >= 100 => (
                        Some(
                            lag2.iter()
                                .map(|v| v.map(|v| f64::from(u8::from(v < med))))
                                .collect(),
                        ),
                        Some(format!(
                            "{f} below its median ({med:.1}) two snapshots before"
                        )),
                    ),
                    _ => (None, None),
                }
            }
            None => (None, None),
        };
        Ok(Covariates {
            x,
            names,
            current: p,
            prep,
            negative_control,
            negative_control_name,
        })
    }
}

/// For every row of `ds`, the same account's row at the snapshot date before its own,
/// if it has one.
fn previous_rows(ds: &Dataset) -> Vec<Option<usize>> {
    let Some(time) = ds.time.as_deref() else {
        return vec![None; ds.rows()];
    };
    let mut dates: Vec<i32> = time.to_vec();
    dates.sort_unstable();
    dates.dedup();
    let at: std::collections::HashMap<(u32, i32), usize> = (0..ds.rows())
        .map(|i| ((ds.group[i], time[i]), i))
        .collect();
    (0..ds.rows())
        .map(|i| {
            let k = dates.partition_point(|&d| d < time[i]);
            let d = *dates.get(k.checked_sub(1)?)?;
            at.get(&(ds.group[i], d)).copied()
        })
        .collect()
}

/// For every row of `ds`, the same account's row at the latest snapshot date at least
/// `days` earlier, if it has one.
fn lag_rows(ds: &Dataset, days: i64) -> Vec<Option<usize>> {
    let Some(time) = ds.time.as_deref() else {
        return vec![None; ds.rows()];
    };
    let mut dates: Vec<i32> = time.to_vec();
    dates.sort_unstable();
    dates.dedup();
    let at: std::collections::HashMap<(u32, i32), usize> = (0..ds.rows())
        .map(|i| ((ds.group[i], time[i]), i))
        .collect();
    (0..ds.rows())
        .map(|i| {
            // Snapshot dates a month apart are 28 to 31 days apart.
            let target = time[i] - (days - days / 10) as i32;
            let k = dates.partition_point(|&d| d <= target);
            let d = *dates.get(k.checked_sub(1)?)?;
            at.get(&(ds.group[i], d)).copied()
        })
        .collect()
}

/// The outcome model, cross-fitted: churn given the covariates and every play's flag.
/// Each row is predicted by the model of the other half of the accounts, with the
/// play of interest switched off (`m0`) and on (`m1`).
struct Outcome {
    /// `[play][row]`.
    m0: Vec<Vec<f64>>,
    m1: Vec<Vec<f64>>,
    /// With every flag as observed.
    observed: Vec<f64>,
}

struct PlayOutcome<'a> {
    m0: &'a [f64],
    m1: &'a [f64],
}

impl Outcome {
    fn cross_fit(
        x: &Array2<f64>,
        treated: &[Vec<bool>],
        y: &[f64],
        groups: &[u32],
        fold: &[bool],
        cfg: &PropensityConfig,
        seed: u64,
    ) -> Outcome {
        let (n, p) = x.dim();
        let k = treated.len();
        // The covariates with every play's flag after them, binned once for both halves.
        let mut full = Array2::<f64>::zeros((n, p + k));
        full.slice_mut(ndarray::s![.., ..p]).assign(x);
        for (j, t) in treated.iter().enumerate() {
            for (i, &v) in t.iter().enumerate() {
                full[[i, p + j]] = f64::from(u8::from(v));
            }
        }
        let d = Design::new(full.view());
        let all: Vec<usize> = (0..n).collect();
        let plays: Vec<usize> = (p..p + k).collect();
        let mut m0 = vec![vec![0.0; n]; k];
        let mut m1 = vec![vec![0.0; n]; k];
        let mut observed = vec![0.0; n];
        for half in [false, true] {
            let train = half_sample(&all, groups, fold, half, 2 * cfg.max_fit_rows, seed ^ 0x0C);
            let model = fit_rows(&d, &all, y, groups, &train, 1.0, seed ^ 0x0C);
            let rows: Vec<usize> = (0..n).filter(|&i| fold[i] == half).collect();
            let xs = full.select(Axis(0), &rows);
            let (obs, set) = model.raw_set(xs.view(), &plays, &[0.0, 1.0]);
            for (r, v) in rows.iter().zip(obs) {
                observed[*r] = sigmoid(v);
            }
            for (j, by_value) in set.into_iter().enumerate() {
                for (out, raw) in [&mut m0[j], &mut m1[j]].into_iter().zip(by_value) {
                    for (r, v) in rows.iter().zip(raw) {
                        out[*r] = sigmoid(v);
                    }
                }
            }
        }
        Outcome { m0, m1, observed }
    }

    fn for_play(&self, k: usize) -> PlayOutcome<'_> {
        PlayOutcome {
            m0: &self.m0[k],
            m1: &self.m1[k],
        }
    }
}

/// The negative-control outcome and its cross-fitted prediction from the covariates,
/// over the rows where it is defined.
struct NegativeControl {
    y: Vec<f64>,
    m: Vec<f64>,
    defined: Vec<bool>,
}

impl NegativeControl {
    fn cross_fit(
        d: &Design,
        y: &[Option<f64>],
        groups: &[u32],
        fold: &[bool],
        cfg: &PropensityConfig,
        seed: u64,
    ) -> NegativeControl {
        let rows: Vec<usize> = (0..y.len()).filter(|&i| y[i].is_some()).collect();
        let ys: Vec<f64> = rows.iter().filter_map(|&i| y[i]).collect();
        // A check, not an input of any estimate: its trees grow on half the rows
        // (docs/decisions.md 35).
        let pred = cross_predict(
            d,
            &rows,
            &ys,
            groups,
            fold,
            Sampling {
                max: cfg.max_fit_rows,
                per_tree: 0.5,
            },
            seed ^ 0x4C,
        );
        let mut m = vec![0.0; y.len()];
        for (&i, v) in rows.iter().zip(pred) {
            m[i] = v;
        }
        NegativeControl {
            y: y.iter().map(|v| v.unwrap_or(0.0)).collect(),
            m,
            defined: y.iter().map(Option::is_some).collect(),
        }
    }
}

/// The booster of the propensity and outcome models (trees stop early on a held-out 15%
/// of accounts), each tree grown on `subsample` of its rows.
fn nuisance_params(subsample: f64) -> Params {
    Params::GradientBoosting(BoostParams {
        max_trees: 300,
        max_depth: 3,
        learning_rate: 0.1,
        lambda: 1.0,
        min_leaf: 50.0,
        subsample,
        colsample: 1.0,
    })
}

/// How a cross-fitted nuisance booster samples its rows: at most about `max` training
/// rows per half (a seeded sample of whole accounts), and each tree grown on `per_tree`
/// of them.
#[derive(Clone, Copy)]
struct Sampling {
    max: usize,
    per_tree: f64,
}

/// The positions in `rows` whose fold is not `half`: at most about `max_rows` of them,
/// a seeded sample of whole accounts.
fn half_sample(
    rows: &[usize],
    groups: &[u32],
    fold: &[bool],
    half: bool,
    max_rows: usize,
    seed: u64,
) -> Vec<usize> {
    let train: Vec<usize> = (0..rows.len()).filter(|&k| fold[rows[k]] != half).collect();
    let g: Vec<u32> = train.iter().map(|&k| groups[rows[k]]).collect();
    match sample_groups(&g, max_rows, seed ^ 0x5A3B1E) {
        Some(pos) => pos.into_iter().map(|k| train[k]).collect(),
        None => train,
    }
}

/// The nuisance booster fitted on the positions `train` of `rows` (design rows; `y` by
/// position in them).
fn fit_rows(
    d: &Design,
    rows: &[usize],
    y: &[f64],
    groups: &[u32],
    train: &[usize],
    subsample: f64,
    seed: u64,
) -> Model {
    let ys: Vec<f64> = train.iter().map(|&k| y[k]).collect();
    let stop: Vec<usize> = (0..train.len())
        .filter(|&j| Rng::stream(seed ^ 0x5709, u64::from(groups[rows[train[j]]])).f64() < 0.15)
        .collect();
    let design_rows: Vec<usize> = train.iter().map(|&k| rows[k]).collect();
    model::fit_on(
        &nuisance_params(subsample),
        &d.select(&design_rows),
        &ys,
        None,
        Some(&stop),
        seed,
    )
}

/// Each of `rows`' prediction (design rows; `y` by position in them) from the booster
/// fitted on the rows of the other half of the accounts, sampled as `sampling` says.
fn cross_predict(
    d: &Design,
    rows: &[usize],
    y: &[f64],
    groups: &[u32],
    fold: &[bool],
    sampling: Sampling,
    seed: u64,
) -> Vec<f64> {
    let mut out = vec![0.0; rows.len()];
    for half in [false, true] {
        let train = half_sample(rows, groups, fold, half, sampling.max, seed);
        let m = fit_rows(d, rows, y, groups, &train, sampling.per_tree, seed);
        let pos: Vec<usize> = (0..rows.len()).filter(|&k| fold[rows[k]] == half).collect();
        let at: Vec<usize> = pos.iter().map(|&k| rows[k]).collect();
        let xs = d.x().select(Axis(0), &at);
        for (&k, v) in pos.iter().zip(m.proba(xs.view())) {
            out[k] = v;
        }
    }
    out
}

/// Matching: for each treated row (by position), its matched untreated row, if any.
fn match_rows(logit: &[f64], t: &[bool], caliper: f64) -> Vec<Option<usize>> {
    let mut controls: Vec<(f64, usize)> = (0..t.len())
        .filter(|&i| !t[i])
        .map(|i| (logit[i], i))
        .collect();
    controls.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    (0..t.len())
        .map(|i| {
            if !t[i] {
                return None;
            }
            let v = logit[i];
            let pos = controls.partition_point(|c| c.0 < v);
            let mut best: Option<(f64, usize)> = None;
            for j in [pos.wrapping_sub(1), pos] {
                if let Some(&(c, idx)) = controls.get(j) {
                    let d = (c - v).abs();
                    if d <= caliper && best.is_none_or(|b| d < b.0) {
                        best = Some((d, idx));
                    }
                }
            }
            best.map(|b| b.1)
        })
        .collect()
}

/// ATT by weighting: treated churn minus the untreated churn weighted by the propensity
/// odds `e/(1-e)`.
fn att_weighted(y: &[f64], t: &[bool], odds: &[f64]) -> f64 {
    let (mut yt, mut wt, mut yc, mut wc) = (0.0, 0.0, 0.0, 0.0);
    for i in 0..y.len() {
        if t[i] {
            yt += y[i];
            wt += 1.0;
        } else {
            yc += odds[i] * y[i];
            wc += odds[i];
        }
    }
    if wt > 0.0 && wc > 0.0 {
        yt / wt - yc / wc
    } else {
        f64::NAN
    }
}

/// ATT by matching (over the treated rows with a match) and by weighting.
fn estimates(matches: &[Option<usize>], y: &[f64], t: &[bool], odds: &[f64]) -> (f64, f64) {
    let (mut sum, mut n) = (0.0, 0.0);
    for (i, m) in matches.iter().enumerate() {
        if let Some(c) = m {
            sum += y[i] - y[*c];
            n += 1.0;
        }
    }
    let att_m = if n > 0.0 { sum / n } else { f64::NAN };
    (att_m, att_weighted(y, t, odds))
}

fn quantiles(mut v: Vec<f64>) -> [f64; 5] {
    v.sort_by(f64::total_cmp);
    let q = |p: f64| {
        if v.is_empty() {
            f64::NAN
        } else {
            v[((v.len() - 1) as f64 * p).round() as usize]
        }
    };
    [q(0.05), q(0.25), q(0.5), q(0.75), q(0.95)]
}

#[allow(clippy::too_many_arguments)]
fn one(
    name: &str,
    window_days: i64,
    c: &Shared,
    t: &[bool],
    m: &PlayOutcome,
    nco: Option<&NegativeControl>,
    placebo: Option<Estimate>,
    seed: u64,
) -> Effect {
    let (cfg, y) = (c.cfg, c.y);
    let n = y.len();
    let tf: Vec<f64> = t.iter().map(|&v| f64::from(u8::from(v))).collect();
    let clock = std::time::Instant::now();
    let e = propensity(c, &tf, seed);
    let fitted = clock.elapsed().as_secs_f64();
    let logit: Vec<f64> = e.iter().map(|&p| (p / (1.0 - p)).ln()).collect();
    // Overlap in the open: rows whose propensity is above the trim have no comparable
    // untreated rows; they leave the doubly robust estimate (and the count says so).
    let keep: Vec<bool> = e.iter().map(|&p| p <= cfg.trim).collect();
    let dr = effects::att_aipw(y, t, &e, m.m0, c.cluster, &keep);
    let trimmed_treated = (0..n).filter(|&i| t[i] && !keep[i]).count();
    let ess_untreated = effects::effective_size(
        (0..n)
            .filter(|&i| !t[i] && keep[i])
            .map(|i| e[i] / (1.0 - e[i])),
    );
    let kept_treated: Vec<usize> = (0..n).filter(|&i| t[i] && keep[i]).collect();
    let p1 = kept_treated.iter().map(|&i| y[i]).sum::<f64>() / kept_treated.len().max(1) as f64;
    let (e_value, e_value_ci) = dr.map_or((f64::NAN, f64::NAN), |d| effects::e_values(p1, &d));
    // Negative control: the play cannot have changed what was measured before it.
    let negative_control = nco.and_then(|nc| {
        let k: Vec<bool> = keep
            .iter()
            .zip(&nc.defined)
            .map(|(a, b)| *a && *b)
            .collect();
        effects::att_aipw(&nc.y, t, &e, &nc.m, c.cluster, &k)
    });
    // Who it would help: the DR-learner's pseudo-outcomes on the features at t.
    let p = c.balance_cols;
    let kept: Vec<usize> = (0..n).filter(|&i| keep[i]).collect();
    let pseudo: Vec<f64> = kept
        .iter()
        .map(|&i| effects::pseudo_outcome(y[i], t[i], e[i].clamp(0.01, 0.99), m.m0[i], m.m1[i]))
        .collect();
    let z = c.x.select(Axis(0), &kept);
    let z = z.slice(ndarray::s![.., ..p]);
    let kept_cluster: Vec<usize> = kept.iter().map(|&i| c.cluster[i]).collect();
    let effect_model = effects::EffectModel::fit(z, &pseudo, &kept_cluster, cfg.effect_l2);
    let modelled = clock.elapsed().as_secs_f64();
    let second = second_opinion(c, t, &e, &logit, seed);
    log::trace!(
        "propensity {name}: propensity model {fitted:.1}s, effects and effect model {:.1}s, second opinion {:.1}s",
        modelled - fitted,
        clock.elapsed().as_secs_f64() - modelled
    );
    let (verdict, trusted) = verdict(
        cfg,
        dr.as_ref(),
        kept_treated.len(),
        ess_untreated,
        placebo.as_ref(),
        negative_control.as_ref(),
        e_value_ci,
    );
    let nt = tf.iter().sum::<f64>();
    let nc = n as f64 - nt;
    let yt = (0..n).filter(|&i| t[i]).map(|i| y[i]).sum::<f64>();
    let yc = (0..n).filter(|&i| !t[i]).map(|i| y[i]).sum::<f64>();
    let max_control = (0..n).filter(|&i| !t[i]).map(|i| e[i]).fold(0.0, f64::max);
    let nan = Estimate::new(f64::NAN, f64::NAN);
    Effect {
        treatment: name.to_string(),
        window_days,
        treated: nt as usize,
        untreated: nc as usize,
        treated_churn_rate: yt / nt,
        untreated_churn_rate: yc / nc,
        naive_difference: yt / nt - yc / nc,
        headline: "doubly_robust".into(),
        att_dr: dr.unwrap_or(nan).value,
        att_dr_ci: dr.unwrap_or(nan).ci,
        att_dr_se: dr.unwrap_or(nan).se,
        trimmed_treated,
        ess_untreated,
        e_value,
        e_value_ci,
        placebo_att: placebo.unwrap_or(nan).value,
        placebo_ci: placebo.unwrap_or(nan).ci,
        negative_control_att: negative_control.map(|v| v.value),
        negative_control_ci: negative_control.map(|v| v.ci),
        trusted,
        verdict,
        att_matched: second.att_m,
        att_matched_ci: second.ci_m,
        att_weighted: second.att_w,
        att_weighted_ci: second.ci_w,
        propensity_roc_auc: crate::train::metrics::roc_auc(&tf, &e),
        max_abs_smd_before: second.max_abs(|b| b.smd_before),
        max_abs_smd_matched: second.max_abs(|b| b.smd_matched),
        max_abs_smd_weighted: second.max_abs(|b| b.smd_weighted),
        overlap: Overlap {
            treated_quantiles: quantiles((0..n).filter(|&i| t[i]).map(|i| e[i]).collect()),
            control_quantiles: quantiles((0..n).filter(|&i| !t[i]).map(|i| e[i]).collect()),
            treated_unmatched: second.unmatched,
            treated_off_support: (0..n).filter(|&i| t[i] && e[i] > max_control).count(),
            max_weight_share: second.max_weight_share,
        },
        balance: second.balance,
        effect_model,
        scoring_effects: Vec::new(),
        recent_treated: 0,
    }
}

/// The cross-fitted propensity of `tf` (each row predicted by the model of the other
/// half of the accounts), clamped away from 0 and 1.
fn propensity(c: &Shared, tf: &[f64], seed: u64) -> Vec<f64> {
    let p = if c.cfg.boosted {
        // Gradient-boosted (McCaffrey et al. 2004): CSMs assign plays on thresholds
        // (renewal within months, NPS a detractor, a sponsor gone), which a linear model
        // misses. On a large book each half's trees are fitted on a seeded sample of
        // whole accounts (every row is still predicted).
        let all: Vec<usize> = (0..tf.len()).collect();
        cross_predict(
            c.design,
            &all,
            tf,
            c.groups,
            c.fold,
            Sampling {
                max: c.cfg.max_fit_rows,
                per_tree: 1.0,
            },
            seed,
        )
    } else {
        let mut out = vec![0.0; tf.len()];
        for half in [false, true] {
            let train: Vec<usize> = (0..tf.len()).filter(|&i| c.fold[i] != half).collect();
            let xs = c.x.select(Axis(0), &train);
            let ts: Vec<f64> = train.iter().map(|&i| tf[i]).collect();
            let m = Logistic::fit(xs.view(), &ts, None, c.cfg.l2);
            let rows: Vec<usize> = (0..tf.len()).filter(|&i| c.fold[i] == half).collect();
            let xr = c.x.select(Axis(0), &rows);
            for (r, v) in rows.iter().zip(m.raw(xr.view())) {
                out[*r] = sigmoid(v);
            }
        }
        out
    };
    p.into_iter().map(|v| v.clamp(1e-6, 1.0 - 1e-6)).collect()
}

/// Whether a play's headline can be acted on, and why not in words.
fn verdict(
    cfg: &PropensityConfig,
    dr: Option<&Estimate>,
    kept_treated: usize,
    ess: f64,
    placebo: Option<&Estimate>,
    negative_control: Option<&Estimate>,
    e_value_ci: f64,
) -> (String, bool) {
    let Some(dr) = dr else {
        return (
            "no estimate: no comparable untreated accounts".into(),
            false,
        );
    };
    if kept_treated < cfg.min_treated {
        return (
            format!(
                "too few treated snapshots with comparable untreated ones ({kept_treated}); not enough data to judge"
            ),
            false,
        );
    }
    if ess < cfg.min_ess {
        return (
            format!(
                "poor overlap: the untreated comparison rests on about {ess:.0} accounts' worth of weight; do not act on this estimate"
            ),
            false,
        );
    }
    if placebo.is_some_and(|p| !p.crosses_zero()) {
        return (
            "the placebo check failed (a random play showed an effect): the method is not reliable on this book".into(),
            false,
        );
    }
    if negative_control.is_some_and(|p| !p.crosses_zero()) {
        return (
            "the negative-control check failed (the play 'changed' what was measured before it): treated accounts differ in ways the features miss; treat the estimate as biased".into(),
            false,
        );
    }
    let words = if dr.crosses_zero() {
        "no effect detectable: the interval includes zero".to_string()
    } else if dr.value < 0.0 {
        format!(
            "reduces churn; an unmeasured factor would need a risk ratio of {e_value_ci:.2} with both the play and churn to explain the interval away"
        )
    } else {
        format!(
            "accounts with the play churn more, even after adjustment (a risk ratio of {e_value_ci:.2} would explain it away); likely the play is aimed at accounts in trouble the features do not see"
        )
    };
    (words, true)
}

/// The matched and weighted estimates (a second opinion beside the doubly robust one),
/// with bootstrap intervals, balance and the matching's overlap figures.
struct SecondOpinion {
    att_m: f64,
    ci_m: (f64, f64),
    att_w: f64,
    ci_w: (f64, f64),
    balance: Vec<Balance>,
    unmatched: usize,
    max_weight_share: f64,
}

impl SecondOpinion {
    fn max_abs(&self, f: impl Fn(&Balance) -> f64) -> f64 {
        self.balance
            .iter()
            .map(|b| f(b).abs())
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max)
    }
}

fn second_opinion(c: &Shared, t: &[bool], e: &[f64], logit: &[f64], seed: u64) -> SecondOpinion {
    let (cfg, y, groups) = (c.cfg, c.y, c.groups);
    let n = y.len();
    let mean = logit.iter().sum::<f64>() / n as f64;
    let sd = (logit.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
    let caliper = cfg.caliper_sd * sd;
    let odds: Vec<f64> = e.iter().map(|&p| p / (1.0 - p)).collect();
    let matches = match_rows(logit, t, caliper);
    let (att_m, att_w) = estimates(&matches, y, t, &odds);
    let (nt, nc) = {
        let nt = t.iter().filter(|&&v| v).count() as f64;
        (nt, n as f64 - nt)
    };
    let balance = balance(c, t, &matches, &odds, nt, nc);
    let wc: Vec<f64> = (0..n).map(|i| if t[i] { 0.0 } else { odds[i] }).collect();
    let swc: f64 = wc.iter().sum();
    let boots = bootstrap(cfg, logit, t, y, groups, &odds, caliper, seed);
    SecondOpinion {
        att_m,
        ci_m: percentile_ci(boots.iter().map(|b| b.0).collect()),
        att_w,
        ci_w: percentile_ci(boots.iter().map(|b| b.1).collect()),
        balance,
        unmatched: (0..n).filter(|&i| t[i] && matches[i].is_none()).count(),
        max_weight_share: if swc > 0.0 {
            wc.iter().copied().fold(0.0, f64::max) / swc
        } else {
            0.0
        },
    }
}

/// Standardised mean differences of the features at t: before, matched, weighted.
fn balance(
    c: &Shared,
    t: &[bool],
    matches: &[Option<usize>],
    odds: &[f64],
    nt: f64,
    nc: f64,
) -> Vec<Balance> {
    let (x, names) = (c.x, &c.names[..c.balance_cols]);
    let n = t.len();
    let mut balance = Vec::new();
    let wc: Vec<f64> = (0..n).map(|i| if t[i] { 0.0 } else { odds[i] }).collect();
    let swc: f64 = wc.iter().sum();
    // One pass over the rows (x is row-major), every covariate's sums taken in row order.
    let p = names.len();
    let mut sums = vec![[0.0f64; 7]; p];
    let mut mn = 0.0;
    for i in 0..n {
        let row = x.row(i);
        let row = row.slice(ndarray::s![..names.len()]);
        if t[i] {
            let matched = matches[i].map(|c| x.row(c));
            if matched.is_some() {
                mn += 1.0;
            }
            for (j, (acc, &v)) in sums.iter_mut().zip(row.iter()).enumerate() {
                acc[0] += v;
                acc[1] += v * v;
                if let Some(m) = &matched {
                    acc[4] += v;
                    acc[5] += m[j];
                }
            }
        } else {
            let w = wc[i];
            for (acc, &v) in sums.iter_mut().zip(row.iter()) {
                acc[2] += v;
                acc[3] += v * v;
                acc[6] += w * v;
            }
        }
    }
    for (cname, acc) in names.iter().zip(&sums) {
        let [st, sst, sc, ssc, mt_sum, mc_sum, wsum] = *acc;
        let (mt, mc) = (st / nt, sc / nc);
        let vt = (sst / nt - mt * mt).max(0.0);
        let vc = (ssc / nc - mc * mc).max(0.0);
        let pooled = ((vt + vc) / 2.0).sqrt();
        let smd = |d: f64| if pooled > 0.0 { d / pooled } else { 0.0 };
        balance.push(Balance {
            covariate: cname.clone(),
            smd_before: smd(mt - mc),
            smd_matched: if mn > 0.0 {
                smd((mt_sum - mc_sum) / mn)
            } else {
                f64::NAN
            },
            smd_weighted: if swc > 0.0 {
                smd(mt - wsum / swc)
            } else {
                f64::NAN
            },
        });
    }
    balance
}

/// Bootstrap over accounts (the propensity model held fixed): (matched, weighted) ATT
/// of each replicate.
#[allow(clippy::too_many_arguments)]
fn bootstrap(
    cfg: &PropensityConfig,
    logit: &[f64],
    t: &[bool],
    y: &[f64],
    groups: &[u32],
    odds: &[f64],
    caliper: f64,
    seed: u64,
) -> Vec<(f64, f64)> {
    let n = y.len();
    // Bootstrap over accounts (the propensity model held fixed), re-matching in every
    // replicate. A replicate is a multiset of the original rows, so its controls in logit
    // order are the original order with multiplicities: each treated row's nearest drawn
    // control is found by walking out from its place in that one sorted list, skipping
    // controls not drawn and stopping at the caliper. One pass over the rows a replicate,
    // no sort; the same estimator as re-sorting the resample.
    let mut cluster_of = vec![0usize; n];
    let mut ids: std::collections::BTreeMap<u32, usize> = Default::default();
    for (i, &g) in groups.iter().enumerate() {
        let next = ids.len();
        cluster_of[i] = *ids.entry(g).or_insert(next);
    }
    let clusters = ids.len();
    let mut controls: Vec<usize> = (0..n).filter(|&i| !t[i]).collect();
    controls.sort_by(|&a, &b| logit[a].total_cmp(&logit[b]).then(a.cmp(&b)));
    let place: Vec<usize> = (0..n)
        .map(|i| {
            if t[i] {
                controls.partition_point(|&c| logit[c] < logit[i])
            } else {
                0
            }
        })
        .collect();
    let treated: Vec<usize> = (0..n).filter(|&i| t[i]).collect();
    // The weighted ATT of a replicate needs only each account's sums (treated churn and
    // count, untreated odds-weighted churn and odds), times the account's multiplicity.
    let mut sums = vec![[0.0f64; 4]; clusters];
    for i in 0..n {
        let c = &mut sums[cluster_of[i]];
        if t[i] {
            c[0] += y[i];
            c[1] += 1.0;
        } else {
            c[2] += odds[i] * y[i];
            c[3] += odds[i];
        }
    }
    (0..cfg.bootstrap)
        .into_par_iter()
        .map(|b| {
            let mut r = Rng::stream(seed, b as u64);
            let mut count = vec![0u32; clusters];
            for _ in 0..clusters {
                count[r.below(clusters as u64) as usize] += 1;
            }
            let drawn = |i: usize| count[cluster_of[i]];
            let (mut s, mut sw) = (0.0, 0.0);
            for &i in &treated {
                let k = drawn(i);
                if k == 0 {
                    continue;
                }
                let v = logit[i];
                let mut best: Option<(f64, usize)> = None;
                let mut j = place[i];
                while j > 0 {
                    j -= 1;
                    let c = controls[j];
                    let d = v - logit[c];
                    if d > caliper {
                        break;
                    }
                    if drawn(c) > 0 {
                        best = Some((d, c));
                        break;
                    }
                }
                for &c in &controls[place[i]..] {
                    let d = logit[c] - v;
                    if d > caliper || best.is_some_and(|b| d >= b.0) {
                        break;
                    }
                    if drawn(c) > 0 {
                        best = Some((d, c));
                        break;
                    }
                }
                if let Some((_, c)) = best {
                    s += f64::from(k) * (y[i] - y[c]);
                    sw += f64::from(k);
                }
            }
            let att_m = if sw > 0.0 { s / sw } else { f64::NAN };
            let mut w = [0.0f64; 4];
            for (c, &k) in sums.iter().zip(&count) {
                if k > 0 {
                    let k = f64::from(k);
                    for (a, v) in w.iter_mut().zip(c) {
                        *a += k * v;
                    }
                }
            }
            let att_w = if w[1] > 0.0 && w[3] > 0.0 {
                w[0] / w[1] - w[2] / w[3]
            } else {
                f64::NAN
            };
            (att_m, att_w)
        })
        .collect()
}

impl PropensityReport {
    pub fn effects_table(&self) -> Table {
        let e = &self.effects;
        let f = |g: &dyn Fn(&Effect) -> f64| Column::Float(e.iter().map(|x| Some(g(x))).collect());
        Table::new()
            .with(
                "treatment",
                Column::Str(e.iter().map(|x| Some(x.treatment.clone())).collect()),
            )
            .with(
                "treated",
                Column::Int(e.iter().map(|x| Some(x.treated as i64)).collect()),
            )
            .with(
                "untreated",
                Column::Int(e.iter().map(|x| Some(x.untreated as i64)).collect()),
            )
            .with("treated_churn_rate", f(&|x| x.treated_churn_rate))
            .with("untreated_churn_rate", f(&|x| x.untreated_churn_rate))
            .with("naive_difference", f(&|x| x.naive_difference))
            .with("att_dr", f(&|x| x.att_dr))
            .with("att_dr_ci_low", f(&|x| x.att_dr_ci.0))
            .with("att_dr_ci_high", f(&|x| x.att_dr_ci.1))
            .with("att_dr_se", f(&|x| x.att_dr_se))
            .with(
                "trimmed_treated",
                Column::Int(e.iter().map(|x| Some(x.trimmed_treated as i64)).collect()),
            )
            .with("ess_untreated", f(&|x| x.ess_untreated))
            .with("e_value", f(&|x| x.e_value))
            .with("e_value_ci", f(&|x| x.e_value_ci))
            .with("placebo_att", f(&|x| x.placebo_att))
            .with("placebo_ci_low", f(&|x| x.placebo_ci.0))
            .with("placebo_ci_high", f(&|x| x.placebo_ci.1))
            .with(
                "negative_control_att",
                Column::Float(e.iter().map(|x| x.negative_control_att).collect()),
            )
            .with(
                "negative_control_ci_low",
                Column::Float(
                    e.iter()
                        .map(|x| x.negative_control_ci.map(|c| c.0))
                        .collect(),
                ),
            )
            .with(
                "negative_control_ci_high",
                Column::Float(
                    e.iter()
                        .map(|x| x.negative_control_ci.map(|c| c.1))
                        .collect(),
                ),
            )
            .with(
                "trusted",
                Column::Bool(e.iter().map(|x| Some(x.trusted)).collect()),
            )
            .with(
                "verdict",
                Column::Str(e.iter().map(|x| Some(x.verdict.clone())).collect()),
            )
            .with("att_matched", f(&|x| x.att_matched))
            .with("att_matched_ci_low", f(&|x| x.att_matched_ci.0))
            .with("att_matched_ci_high", f(&|x| x.att_matched_ci.1))
            .with("att_weighted", f(&|x| x.att_weighted))
            .with("att_weighted_ci_low", f(&|x| x.att_weighted_ci.0))
            .with("att_weighted_ci_high", f(&|x| x.att_weighted_ci.1))
            .with("max_abs_smd_before", f(&|x| x.max_abs_smd_before))
            .with("max_abs_smd_matched", f(&|x| x.max_abs_smd_matched))
            .with("max_abs_smd_weighted", f(&|x| x.max_abs_smd_weighted))
            .with(
                "treated_unmatched",
                Column::Int(
                    e.iter()
                        .map(|x| Some(x.overlap.treated_unmatched as i64))
                        .collect(),
                ),
            )
    }

    pub fn balance_table(&self) -> Table {
        let rows: Vec<(&str, &Balance)> = self
            .effects
            .iter()
            .flat_map(|e| e.balance.iter().map(move |b| (e.treatment.as_str(), b)))
            .collect();
        Table::new()
            .with(
                "treatment",
                Column::Str(rows.iter().map(|r| Some(r.0.to_string())).collect()),
            )
            .with(
                "covariate",
                Column::Str(rows.iter().map(|r| Some(r.1.covariate.clone())).collect()),
            )
            .with(
                "smd_before",
                Column::Float(rows.iter().map(|r| Some(r.1.smd_before)).collect()),
            )
            .with(
                "smd_matched",
                Column::Float(rows.iter().map(|r| Some(r.1.smd_matched)).collect()),
            )
            .with(
                "smd_weighted",
                Column::Float(rows.iter().map(|r| Some(r.1.smd_weighted)).collect()),
            )
    }
}
