//! Validation of the configured health score against churn, and better weights.
//!
//! - Out of time: the same split as model training (fit | gap | validation | gap | test).
//!   Weights and tier cut-offs are fitted on the periods before the test period and every
//!   headline ROC-AUC (configured, fitted, model) is measured on the test period's rows.
//! - Tier churn rates, component and measure ROC-AUCs and tier stability describe the
//!   configured score over every labelled snapshot (nothing is fitted there).
//! - Fitted weights: a logistic regression of churn on each measure's shortfall
//!   (1 - score/100) with non-negative coefficients. A measure's coefficient is its
//!   weight; a component's weight is the sum over its measures. A missing measure takes
//!   its component's configured score (and a missing component the overall score), which
//!   is what redistributing its weight does.

use std::collections::BTreeMap;

use ndarray::Array2;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::{ComponentSpec, HealthConfig, HealthScores, Measure, Tier, Tiers, component_score};
use crate::error::{Error, Result};
use crate::features::dataset::Dataset;

use crate::model::logistic::Logistic;
use crate::train::Trained;
use crate::train::metrics::{roc_auc, wilson};
use crate::train::split::{Scheme, SchemeName};

/// L2 penalty of the weight fit (on shortfalls in 0..1): small, only for stability.
const L2: f64 = 1e-4;
/// Each recommended tier must hold at least this share of the history's scored rows.
const MIN_TIER_SHARE: f64 = 0.05;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HealthReport {
    pub scheme: SchemeName,
    pub history_dates: (String, String),
    pub test_dates: (String, String),
    pub history_rows: usize,
    pub test_rows: usize,
    /// Test-period ROC-AUC against churn within the horizon, overall then per segment.
    pub overall: AucRow,
    pub by_segment: Vec<AucRow>,
    /// Configured score, every labelled snapshot.
    pub tiers: Vec<TierRow>,
    pub tiers_monotone: bool,
    pub components: Vec<PartRow>,
    pub measures: Vec<PartRow>,
    pub stability: Stability,
    /// Fitted weights' tiers (recommended cut-offs), test period.
    pub recommended_tiers: Tiers,
    pub recommended_tier_rates: Vec<TierRow>,
    pub recommended_tiers_monotone: bool,
    pub recommended_stability: Stability,
    #[serde(default)]
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AucRow {
    pub segment: String,
    pub rows: usize,
    pub churned: usize,
    pub configured_roc_auc: Option<f64>,
    pub fitted_roc_auc: Option<f64>,
    pub model_roc_auc: Option<f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TierRow {
    pub tier: String,
    pub rows: usize,
    pub churned: usize,
    pub churn_rate: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

/// One component or measure.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PartRow {
    pub component: String,
    /// Empty for a component row.
    pub feature: String,
    /// Share of labelled rows where it is present.
    #[serde(deserialize_with = "crate::common::nan::f64")]
    pub coverage: f64,
    /// ROC-AUC of its shortfall (low score = risk) against churn; 0.5 is no signal.
    pub roc_auc: Option<f64>,
    /// Whether a low score goes with more churn (ROC-AUC above 0.5).
    pub direction_agrees: Option<bool>,
    /// Share of the whole score, in percent, configured and fitted.
    #[serde(deserialize_with = "crate::common::nan::f64")]
    pub configured_share: f64,
    #[serde(deserialize_with = "crate::common::nan::f64")]
    pub fitted_share: f64,
    /// Standard deviation of its fitted contribution to the log-odds of churn across
    /// the history's accounts, as a share (percent) of the components' (or of the
    /// component's measures') total: how much it moves risk, whatever the measures'
    /// 0 and 100 anchors. Comparable to driver weights per standard deviation.
    #[serde(
        default = "crate::common::nan::missing",
        deserialize_with = "crate::common::nan::f64"
    )]
    pub fitted_importance: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Stability {
    /// Consecutive snapshot pairs of the same account, both scored.
    pub pairs: usize,
    pub flips: usize,
    pub flip_rate: Option<f64>,
    /// "red->green" etc. with counts, flips only.
    pub transitions: BTreeMap<String, usize>,
}

/// Everything `churnlab health` writes.
pub struct Validation {
    pub report: HealthReport,
    /// The configured score for every row of the dataset.
    pub scores: HealthScores,
    /// The score as configured, and its fitted weights with the recommended tiers.
    pub configured: HealthConfig,
    pub fitted: HealthConfig,
    pub fitted_scores: HealthScores,
}

fn auc_of(ds: &Dataset, rows: &[usize], risk: impl Fn(usize) -> Option<f64>) -> Option<f64> {
    let (mut y, mut p) = (Vec::new(), Vec::new());
    for &i in rows {
        if let (Some(l), Some(r)) = (ds.label[i], risk(i)) {
            y.push(l);
            p.push(r);
        }
    }
    roc_auc(&y, &p)
}

/// Validates `cfg` on `ds` (a snapshot dataset) on the job's validation `scheme`, which
/// must be out of time. `trained`, when given, was validated on the same scheme and
/// supplies the model's test-period probabilities for the comparison.
pub fn validate(
    cfg: &HealthConfig,
    ds: &Dataset,
    scheme: &Scheme,
    trained: Option<&Trained>,
) -> Result<Validation> {
    let all: Vec<usize> = (0..ds.rows()).collect();
    let scores = cfg.score(ds, &all);
    let split = scheme.split().ok_or_else(|| {
        Error::Input(
            "health validation needs an out-of-time split: too few labelled snapshot dates".into(),
        )
    })?;
    let mut history: Vec<usize> = split.fit.iter().chain(&split.valid).copied().collect();
    history.sort_unstable();
    let test = &split.test;
    let mut notes = Vec::new();
    for f in cfg.features() {
        if ds.numeric_col(&f).is_none() {
            notes.push(format!(
                "feature `{f}` is not available in this book: its weight is spread over the other measures"
            ));
        }
    }

    // Fitted weights on the history.
    let (fitted_comps, importance, fit_note) = fit_weights(cfg, ds, &history, &scores);
    notes.extend(fit_note);
    let mut fitted = cfg.clone();
    if let Some(c) = fitted_comps {
        fitted.components = c;
    }
    let pre_fitted = fitted.score(ds, &all);
    let hist_scored: Vec<(f64, f64)> = history
        .iter()
        .filter_map(|&i| Some((pre_fitted.rows[i].score?, ds.label[i]?)))
        .collect();
    let rec = recommend_tiers(&hist_scored).unwrap_or_else(|| {
        notes.push(
            "no pair of cut-offs gives three tiers with falling churn rates; the configured tiers are kept"
                .into(),
        );
        *cfg.tiers.get_ref()
    });
    fitted.tiers = Spanned::new(0..0, rec);
    let fitted_scores = fitted.score(ds, &all);

    // Headline AUCs on the test period.
    let model: Option<BTreeMap<usize, f64>> = trained.and_then(|t| {
        let p = t.test_proba.get(&t.report.champion)?;
        Some(t.test_rows.iter().copied().zip(p.iter().copied()).collect())
    });
    let segment = ds.categorical_col("segment");
    let auc_row = |name: &str, rows: Vec<usize>| {
        let rows: Vec<usize> = rows
            .into_iter()
            .filter(|&i| scores.rows[i].score.is_some() && fitted_scores.rows[i].score.is_some())
            .collect();
        AucRow {
            segment: name.to_string(),
            rows: rows.len(),
            churned: rows
                .iter()
                .filter(|&&i| ds.label[i].is_some_and(|l| l > 0.5))
                .count(),
            configured_roc_auc: auc_of(ds, &rows, |i| scores.rows[i].score.map(|s| -s)),
            fitted_roc_auc: auc_of(ds, &rows, |i| fitted_scores.rows[i].score.map(|s| -s)),
            model_roc_auc: model.as_ref().and_then(|m| {
                if rows.iter().all(|i| m.contains_key(i)) {
                    auc_of(ds, &rows, |i| m.get(&i).copied())
                } else {
                    None
                }
            }),
        }
    };
    let overall = auc_row("all", test.clone());
    let mut by_segment = Vec::new();
    if let Some(seg) = segment {
        let mut names: Vec<&str> = test.iter().filter_map(|&i| seg[i].as_deref()).collect();
        names.sort_unstable();
        names.dedup();
        for n in names {
            let rows = test
                .iter()
                .copied()
                .filter(|&i| seg[i].as_deref() == Some(n))
                .collect();
            by_segment.push(auc_row(n, rows));
        }
    }

    // The configured score over every labelled row.
    let labelled = ds.labelled();
    let tier_of = |s: &HealthScores, i: usize| s.rows[i].tier;
    let tiers = tier_table(ds, &labelled, |i| tier_of(&scores, i));
    let recommended_tier_rates = tier_table(ds, test, |i| tier_of(&fitted_scores, i));
    let parts = parts(cfg, &fitted, &importance, ds, &labelled, &scores);
    let report = HealthReport {
        scheme: SchemeName::OutOfTime,
        history_dates: (split.fit_dates.0.clone(), split.valid_dates.1.clone()),
        test_dates: split.test_dates.clone(),
        history_rows: history.len(),
        test_rows: test.len(),
        overall,
        by_segment,
        tiers_monotone: monotone(&tiers),
        tiers,
        components: parts.0,
        measures: parts.1,
        stability: stability(ds, |i| tier_of(&scores, i)),
        recommended_tiers: rec,
        recommended_tiers_monotone: monotone(&recommended_tier_rates),
        recommended_tier_rates,
        recommended_stability: stability(ds, |i| tier_of(&fitted_scores, i)),
        notes,
    };
    Ok(Validation {
        report,
        scores,
        configured: cfg.clone(),
        fitted,
        fitted_scores,
    })
}

/// Non-negative logistic regression of churn on the default profile's measure
/// shortfalls; `None` (with a note) when there is nothing to fit.
type Importance = BTreeMap<(String, String), f64>;

fn fit_weights(
    cfg: &HealthConfig,
    ds: &Dataset,
    history: &[usize],
    scores: &HealthScores,
) -> (
    Option<Vec<Spanned<ComponentSpec>>>,
    Importance,
    Option<String>,
) {
    let comps: Vec<&ComponentSpec> = cfg.components.iter().map(|c| c.get_ref()).collect();
    let measures: Vec<(usize, &Measure)> = comps
        .iter()
        .enumerate()
        .flat_map(|(k, c)| c.measures.iter().map(move |m| (k, m.get_ref())))
        .collect();
    let p = measures.len();
    let mut x = Vec::new();
    let mut y = Vec::new();
    for &i in history {
        let (Some(label), Some(overall)) = (ds.label[i], scores.rows[i].score) else {
            continue;
        };
        let comp: Vec<Option<f64>> = comps.iter().map(|c| component_score(c, ds, i)).collect();
        for &(k, m) in &measures {
            let s = super::measure_value(m, ds, i)
                .or(comp[k])
                .unwrap_or(overall);
            x.push(1.0 - s / 100.0);
        }
        y.push(label);
    }
    let n = y.len();
    let pos = y.iter().filter(|&&v| v > 0.5).count();
    if n == 0 || pos == 0 || pos == n {
        return (
            None,
            Importance::new(),
            Some("no churn (or only churn) in the history: weights not fitted".into()),
        );
    }
    let Ok(x) = Array2::from_shape_vec((n, p), x) else {
        return (
            None,
            Importance::new(),
            Some("weights not fitted: design shape".into()),
        );
    };
    let fit = Logistic::fit_nonnegative(x.view(), &y, L2);
    let total: f64 = fit.coef.iter().sum();
    if total <= 0.0 {
        return (
            None,
            Importance::new(),
            Some(
                "no measure predicts churn in the history: the configured weights are kept".into(),
            ),
        );
    }
    let importance = importance(&comps, &measures, &fit.coef, &x);
    let mut out = Vec::new();
    for (k, c) in comps.iter().enumerate() {
        let betas: Vec<(f64, &Measure)> = measures
            .iter()
            .zip(&fit.coef)
            .filter(|((kk, _), _)| *kk == k)
            .map(|((_, m), b)| (*b, *m))
            .collect();
        let w: f64 = betas.iter().map(|b| b.0).sum();
        if w <= 1e-9 * total {
            continue;
        }
        let ms: Vec<Spanned<Measure>> = betas
            .iter()
            .filter(|(b, _)| *b > 1e-9 * total)
            .map(|(b, m)| {
                let mut m = (*m).clone();
                m.weight = Spanned::new(0..0, 100.0 * b / w);
                Spanned::new(0..0, m)
            })
            .collect();
        out.push(Spanned::new(
            0..0,
            ComponentSpec {
                name: c.name.clone(),
                weight: Spanned::new(0..0, 100.0 * w / total),
                measures: ms,
            },
        ));
    }
    (Some(out), importance, None)
}

/// Standard deviations of the fitted contributions (components, and measures within
/// each component) as percentages.
fn importance(
    comps: &[&ComponentSpec],
    measures: &[(usize, &Measure)],
    coef: &[f64],
    x: &Array2<f64>,
) -> Importance {
    let sd = |v: &[f64]| {
        let n = v.len().max(1) as f64;
        let m = v.iter().sum::<f64>() / n;
        (v.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / n).sqrt()
    };
    let mut out = Importance::new();
    let mut comp_sd = Vec::new();
    for (k, c) in comps.iter().enumerate() {
        let idx: Vec<usize> = (0..measures.len())
            .filter(|&j| measures[j].0 == k)
            .collect();
        let contrib: Vec<f64> = x
            .outer_iter()
            .map(|row| idx.iter().map(|&j| coef[j] * row[j]).sum())
            .collect();
        comp_sd.push(sd(&contrib));
        let ms: Vec<f64> = idx
            .iter()
            .map(|&j| {
                let v: Vec<f64> = x.column(j).iter().map(|a| coef[j] * a).collect();
                sd(&v)
            })
            .collect();
        let total: f64 = ms.iter().sum();
        for (&j, v) in idx.iter().zip(&ms) {
            let share = if total > 0.0 { 100.0 * v / total } else { 0.0 };
            out.insert(
                (c.name.clone(), measures[j].1.feature.get_ref().clone()),
                share,
            );
        }
    }
    let total: f64 = comp_sd.iter().sum();
    for (c, v) in comps.iter().zip(&comp_sd) {
        let share = if total > 0.0 { 100.0 * v / total } else { 0.0 };
        out.insert((c.name.clone(), String::new()), share);
    }
    out
}

/// Cut-offs (multiples of 5) that best separate churn: the largest likelihood-ratio
/// statistic of tier against churn, with falling rates red > yellow > green and every
/// tier holding at least [`MIN_TIER_SHARE`] of the rows.
pub fn recommend_tiers(scored: &[(f64, f64)]) -> Option<Tiers> {
    let n = scored.len() as f64;
    if scored.is_empty() {
        return None;
    }
    let base = scored.iter().filter(|s| s.1 > 0.5).count() as f64 / n;
    let g = |c: f64, m: f64| -> f64 {
        let term = |a: f64, e: f64| if a > 0.0 { a * (a / e).ln() } else { 0.0 };
        term(c, m * base) + term(m - c, m * (1.0 - base))
    };
    let mut best: Option<(f64, Tiers)> = None;
    for r in (5..=90).step_by(5) {
        for gr in ((r + 5)..=95).step_by(5) {
            let t = Tiers {
                red_below: f64::from(r),
                green_from: f64::from(gr),
            };
            let mut cnt = [(0.0f64, 0.0f64); 3];
            for &(s, y) in scored {
                let k = t.of(s) as usize;
                cnt[k].0 += y;
                cnt[k].1 += 1.0;
            }
            if cnt.iter().any(|c| c.1 < MIN_TIER_SHARE * n) {
                continue;
            }
            let rate = |k: usize| cnt[k].0 / cnt[k].1;
            if !(rate(0) > rate(1) && rate(1) > rate(2)) {
                continue;
            }
            let stat: f64 = cnt.iter().map(|c| g(c.0, c.1)).sum();
            if best.is_none_or(|b| stat > b.0) {
                best = Some((stat, t));
            }
        }
    }
    best.map(|b| b.1)
}

fn tier_table(ds: &Dataset, rows: &[usize], tier: impl Fn(usize) -> Option<Tier>) -> Vec<TierRow> {
    Tier::ALL
        .iter()
        .map(|&t| {
            let (mut n, mut k) = (0, 0);
            for &i in rows {
                if let (Some(l), Some(ti)) = (ds.label[i], tier(i))
                    && ti == t
                {
                    n += 1;
                    k += usize::from(l > 0.5);
                }
            }
            let ci = (n > 0).then(|| wilson(k, n));
            TierRow {
                tier: t.as_str().to_string(),
                rows: n,
                churned: k,
                churn_rate: (n > 0).then(|| k as f64 / n as f64),
                ci_low: ci.map(|c| c.0),
                ci_high: ci.map(|c| c.1),
            }
        })
        .collect()
}

/// Churn falls from red to yellow to green (tiers with no rows are skipped).
fn monotone(t: &[TierRow]) -> bool {
    let rates: Vec<f64> = t.iter().filter_map(|r| r.churn_rate).collect();
    rates.len() >= 2 && rates.windows(2).all(|w| w[0] > w[1])
}

fn stability(ds: &Dataset, tier: impl Fn(usize) -> Option<Tier>) -> Stability {
    let time = ds.time.as_deref();
    let mut order: Vec<usize> = (0..ds.rows()).collect();
    order.sort_by_key(|&i| (ds.group[i], time.map_or(0, |t| t[i]), i));
    let (mut pairs, mut flips) = (0, 0);
    let mut transitions = BTreeMap::new();
    for w in order.windows(2) {
        if ds.group[w[0]] != ds.group[w[1]] {
            continue;
        }
        if let (Some(a), Some(b)) = (tier(w[0]), tier(w[1])) {
            pairs += 1;
            if a != b {
                flips += 1;
                *transitions
                    .entry(format!("{}->{}", a.as_str(), b.as_str()))
                    .or_insert(0) += 1;
            }
        }
    }
    Stability {
        pairs,
        flips,
        flip_rate: (pairs > 0).then(|| flips as f64 / pairs as f64),
        transitions,
    }
}

/// Shares in percent of each component and measure of the default profile.
fn shares(cfg: &HealthConfig) -> BTreeMap<(String, String), f64> {
    let mut out = BTreeMap::new();
    let total: f64 = cfg
        .components
        .iter()
        .map(|c| *c.get_ref().weight.get_ref())
        .sum();
    for c in &cfg.components {
        let c = c.get_ref();
        let cw = c.weight.get_ref() / total;
        out.insert((c.name.clone(), String::new()), 100.0 * cw);
        let mt: f64 = c
            .measures
            .iter()
            .map(|m| *m.get_ref().weight.get_ref())
            .sum();
        for m in &c.measures {
            let m = m.get_ref();
            out.insert(
                (c.name.clone(), m.feature.get_ref().clone()),
                100.0 * cw * m.weight.get_ref() / mt,
            );
        }
    }
    out
}

fn parts(
    cfg: &HealthConfig,
    fitted: &HealthConfig,
    importance: &Importance,
    ds: &Dataset,
    labelled: &[usize],
    scores: &HealthScores,
) -> (Vec<PartRow>, Vec<PartRow>) {
    let conf = shares(cfg);
    let fit = shares(fitted);
    let n = labelled.len().max(1) as f64;
    let row = |comp: &str, feature: &str, risk: &dyn Fn(usize) -> Option<f64>| {
        let present = labelled.iter().filter(|&&i| risk(i).is_some()).count();
        let auc = auc_of(ds, labelled, risk);
        let key = (comp.to_string(), feature.to_string());
        PartRow {
            component: comp.to_string(),
            feature: feature.to_string(),
            coverage: present as f64 / n,
            roc_auc: auc,
            direction_agrees: auc.map(|a| a > 0.5),
            configured_share: conf.get(&key).copied().unwrap_or(0.0),
            fitted_share: fit.get(&key).copied().unwrap_or(0.0),
            fitted_importance: importance.get(&key).copied().unwrap_or(0.0),
        }
    };
    let mut comps = Vec::new();
    let mut measures = Vec::new();
    for c in &cfg.components {
        let c = c.get_ref();
        let k = scores.components.iter().position(|n| *n == c.name);
        comps.push(row(&c.name, "", &|i| {
            k.and_then(|k| scores.rows[i].components[k]).map(|s| -s)
        }));
        for m in &c.measures {
            let m = m.get_ref();
            let col = ds.numeric_col(m.feature.get_ref());
            let (a, b) = (*m.value_at_0.get_ref(), *m.value_at_100.get_ref());
            // Unclamped, so that values beyond the anchors still rank.
            measures.push(row(&c.name, m.feature.get_ref(), &|i| {
                col.and_then(|v| v.get(i)).map(|v| -(v - a) / (b - a))
            }));
        }
    }
    (comps, measures)
}
