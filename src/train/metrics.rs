//! Classification metrics for churn models: ranking (ROC-AUC, PR-AUC), probability quality
//! (Brier, log loss, reliability and calibration error) and the CS questions "how much
//! churn, and how much churned ARR, sits in the top 10% / 20% of the list".
//!
//! ROC-AUC, PR-AUC (average precision), Brier, log loss and the reliability bins follow
//! scikit-learn's definitions exactly; `tests/metrics.rs` checks them against values
//! computed with scikit-learn.

use serde::{Deserialize, Serialize};

/// Rows ordered by descending score; ties keep their input order (stable).
pub fn order_desc(p: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..p.len()).collect();
    idx.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
    idx
}

/// Wilson score 95% interval for `k` successes in `n` trials; `(0, 1)` when `n` is 0.
pub fn wilson(k: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (k, n) = (k as f64, n as f64);
    let z = 1.959_963_984_540_054;
    let p = k / n;
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Area under the ROC curve, ties scored one half (scikit-learn `roc_auc_score`).
/// `None` when only one class is present.
pub fn roc_auc(y: &[f64], p: &[f64]) -> Option<f64> {
    weighted_roc_auc(&order_desc(p), y, p, &vec![1; y.len()])
}

/// ROC-AUC of rows weighted by whole multiplicities `w` (a bootstrap draw), given `order`,
/// the rows sorted by descending score (see [`order_desc`]). Equal to [`roc_auc`] of the
/// sample with row `i` repeated `w[i]` times, in one pass instead of a sort per draw.
pub fn weighted_roc_auc(order: &[usize], y: &[f64], p: &[f64], w: &[u32]) -> Option<f64> {
    let (mut tp, mut fp, mut area) = (0.0f64, 0.0f64, 0.0f64);
    let mut i = 0;
    while i < order.len() {
        let (tp0, fp0) = (tp, fp);
        let s = p[order[i]];
        while i < order.len() && (p[order[i]] == s || (p[order[i]].is_nan() && s.is_nan())) {
            let k = f64::from(w[order[i]]);
            if y[order[i]] > 0.5 {
                tp += k;
            } else {
                fp += k;
            }
            i += 1;
        }
        area += (fp - fp0) * (tp + tp0) / 2.0;
    }
    (tp > 0.0 && fp > 0.0).then(|| area / (tp * fp))
}

/// Average precision (scikit-learn `average_precision_score`): sum over thresholds of
/// precision times the increase in recall. `None` without positives.
pub fn pr_auc(y: &[f64], p: &[f64]) -> Option<f64> {
    let idx = order_desc(p);
    let pos = y.iter().filter(|&&v| v > 0.5).count() as f64;
    if pos == 0.0 {
        return None;
    }
    let (mut tp, mut n, mut ap, mut last_recall) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    let mut i = 0;
    while i < idx.len() {
        let s = p[idx[i]];
        // NaN scores form one group too (NaN == NaN is false: the walk would not advance).
        while i < idx.len() && (p[idx[i]] == s || (p[idx[i]].is_nan() && s.is_nan())) {
            if y[idx[i]] > 0.5 {
                tp += 1.0;
            }
            n += 1.0;
            i += 1;
        }
        let recall = tp / pos;
        ap += (recall - last_recall) * (tp / n);
        last_recall = recall;
    }
    Some(ap)
}

/// Mean squared error of the probabilities.
pub fn brier(y: &[f64], p: &[f64]) -> f64 {
    let n = y.len().max(1) as f64;
    y.iter().zip(p).map(|(y, p)| (p - y).powi(2)).sum::<f64>() / n
}

/// Mean negative log-likelihood, probabilities clipped to [eps, 1 - eps] (float64 eps,
/// as scikit-learn does).
pub fn log_loss(y: &[f64], p: &[f64]) -> f64 {
    let eps = f64::EPSILON;
    let n = y.len().max(1) as f64;
    -y.iter()
        .zip(p)
        .map(|(y, p)| {
            let p = p.clamp(eps, 1.0 - eps);
            y * p.ln() + (1.0 - y) * (1.0 - p).ln()
        })
        .sum::<f64>()
        / n
}

/// What the top `share` of the list (by score, rounded up to whole rows) holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TopShare {
    pub share: f64,
    pub rows: usize,
    /// Churn rate in the top rows divided by the overall churn rate.
    pub lift: f64,
    /// Share of all churners found in the top rows.
    pub churn_capture: f64,
    /// Share of all churned ARR found in the top rows (when ARR is known).
    pub arr_capture: Option<f64>,
}

pub fn top_share(y: &[f64], p: &[f64], arr: Option<&[f64]>, share: f64) -> TopShare {
    let idx = order_desc(p);
    let rows = ((share * y.len() as f64) - 1e-9).ceil().max(0.0) as usize;
    let rows = rows.min(y.len());
    let pos: f64 = y.iter().sum();
    let top_pos: f64 = idx[..rows].iter().map(|&i| y[i]).sum();
    let rate = pos / y.len().max(1) as f64;
    let top_rate = if rows > 0 { top_pos / rows as f64 } else { 0.0 };
    let arr_capture = arr.and_then(|a| {
        let churned: f64 = y.iter().zip(a).map(|(y, a)| y * a).sum();
        let top: f64 = idx[..rows].iter().map(|&i| y[i] * a[i]).sum();
        (churned > 0.0).then(|| top / churned)
    });
    TopShare {
        share,
        rows,
        lift: if rate > 0.0 { top_rate / rate } else { 0.0 },
        churn_capture: if pos > 0.0 { top_pos / pos } else { 0.0 },
        arr_capture,
    }
}

/// One bin of a reliability table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bin {
    pub lower: f64,
    pub upper: f64,
    pub rows: usize,
    pub mean_predicted: Option<f64>,
    pub observed_rate: Option<f64>,
}

/// Ten equal-width bins of predicted probability (scikit-learn `calibration_curve`'s
/// uniform strategy: a value on an inner edge belongs to the lower bin), with the expected
/// calibration error: the row-weighted mean gap between predicted and observed.
pub fn reliability(y: &[f64], p: &[f64], bins: usize) -> (Vec<Bin>, f64) {
    let bins = bins.max(1);
    let step = 1.0 / bins as f64;
    let edges: Vec<f64> = (0..=bins).map(|i| i as f64 * step).collect();
    let mut sum_p = vec![0.0; bins];
    let mut sum_y = vec![0.0; bins];
    let mut n = vec![0usize; bins];
    for (&y, &p) in y.iter().zip(p) {
        let b = edges[1..bins].iter().filter(|&&e| e < p).count();
        sum_p[b] += p;
        sum_y[b] += y;
        n[b] += 1;
    }
    let total = y.len().max(1) as f64;
    let mut ece = 0.0;
    let table = (0..bins)
        .map(|b| {
            let (mp, rate) = if n[b] > 0 {
                let k = n[b] as f64;
                ece += k / total * (sum_p[b] / k - sum_y[b] / k).abs();
                (Some(sum_p[b] / k), Some(sum_y[b] / k))
            } else {
                (None, None)
            };
            Bin {
                lower: edges[b],
                upper: edges[b + 1],
                rows: n[b],
                mean_predicted: mp,
                observed_rate: rate,
            }
        })
        .collect();
    (table, ece)
}

/// Every metric for one set of predictions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub rows: usize,
    pub positives: usize,
    pub churn_rate: f64,
    pub roc_auc: Option<f64>,
    pub pr_auc: Option<f64>,
    pub brier: f64,
    pub log_loss: f64,
    pub top_10: TopShare,
    pub top_20: TopShare,
    pub calibration_error: f64,
    pub reliability: Vec<Bin>,
    /// The cumulative gains curve: lift and capture in the top 5%, 10%, ... 100%.
    #[serde(default)]
    pub capture: Vec<TopShare>,
}

impl Metrics {
    pub fn compute(y: &[f64], p: &[f64], arr: Option<&[f64]>) -> Metrics {
        let positives = y.iter().filter(|&&v| v > 0.5).count();
        let (reliability, calibration_error) = reliability(y, p, 10);
        Metrics {
            rows: y.len(),
            positives,
            churn_rate: positives as f64 / y.len().max(1) as f64,
            roc_auc: roc_auc(y, p),
            pr_auc: pr_auc(y, p),
            brier: brier(y, p),
            log_loss: log_loss(y, p),
            top_10: top_share(y, p, arr, 0.1),
            top_20: top_share(y, p, arr, 0.2),
            calibration_error,
            reliability,
            capture: (1..=20)
                .map(|k| top_share(y, p, arr, k as f64 * 0.05))
                .collect(),
        }
    }
}

#[cfg(test)]
mod nan_tests {
    use super::*;

    /// Found by the fuzzer: a usage count of 1e308 made a model's scores NaN, and the
    /// tie walk never advanced past them.
    #[test]
    fn nan_scores_do_not_stall_the_ranking_metrics() {
        let y = [1.0, 0.0, 1.0, 0.0];
        let p = [f64::NAN, 0.2, f64::NAN, 0.1];
        assert!(roc_auc(&y, &p).is_some());
        assert!(pr_auc(&y, &p).is_some());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-computed: 4 rows, scores 0.9 0.8 0.3 0.1 with labels 1 0 1 0.
    /// Pairs (pos, neg): (0.9>0.8) (0.9>0.1) (0.3<0.8) (0.3>0.1) -> 3 of 4.
    /// AP: thresholds 0.9 (P=1, R=.5), 0.8 (P=.5), 0.3 (P=2/3, R=1) -> .5*1 + .5*2/3.
    #[test]
    fn small_hand_example() {
        let y = [1.0, 0.0, 1.0, 0.0];
        let p = [0.9, 0.8, 0.3, 0.1];
        assert_eq!(roc_auc(&y, &p), Some(0.75));
        assert!((pr_auc(&y, &p).unwrap() - (0.5 + 1.0 / 3.0)).abs() < 1e-12);
        assert!((brier(&y, &p) - (0.01 + 0.64 + 0.49 + 0.01) / 4.0).abs() < 1e-12);
        // Top 20% of 4 rows rounds up to 1 row: the 0.9 churner. Lift 1 / 0.5 = 2.
        let arr = [100.0, 50.0, 300.0, 10.0];
        let t = top_share(&y, &p, Some(&arr), 0.2);
        assert_eq!(t.rows, 1);
        assert_eq!(t.lift, 2.0);
        assert_eq!(t.churn_capture, 0.5);
        assert_eq!(t.arr_capture, Some(0.25));
        assert_eq!(roc_auc(&[1.0, 1.0], &[0.2, 0.3]), None);
    }
}

/// Lowess (Cleveland 1979) of `y` on `x`, as statsmodels' `lowess` computes it with no
/// robustness iterations and `delta` 0: at each point, a linear fit weighted by the
/// tricube of the distance over its `frac · n` nearest neighbours (at least 2). `x` must
/// be sorted ascending; tied `x` share the fit of the first of them; a point whose
/// neighbours give fewer than two positive weights keeps its own `y`. Returns the fitted
/// value at each point, in `x`'s order.
pub fn lowess(x: &[f64], y: &[f64], frac: f64) -> Vec<f64> {
    let n = x.len();
    let mut fit = vec![0.0; n];
    if n == 0 {
        return fit;
    }
    let k = ((frac * n as f64 + 1e-10) as usize).clamp(2.min(n), n);
    let (mut left, mut right) = (0usize, k);
    let mut w = vec![0.0; n];
    let mut i = 0;
    while i < n {
        let xv = x[i];
        while right < n && xv > (x[left] + x[right]) / 2.0 {
            left += 1;
            right += 1;
        }
        let radius = (xv - x[left]).max(x[right - 1] - xv);
        let mut sum = 0.0;
        let mut positive = 0;
        for j in left..right {
            let d = (x[j] - xv).abs() / radius;
            let c = 1.0 - d * d * d;
            w[j] = c * c * c;
            sum += w[j];
            positive += usize::from(w[j] > 1e-12);
        }
        fit[i] = if positive < 2 {
            y[i]
        } else {
            let mean: f64 = (left..right).map(|j| w[j] / sum * x[j]).sum();
            let var = (left..right)
                .map(|j| w[j] / sum * (x[j] - mean).powi(2))
                .sum::<f64>()
                .max(1e-12);
            (left..right)
                .map(|j| w[j] / sum * (1.0 + (xv - mean) * (x[j] - mean) / var) * y[j])
                .sum()
        };
        let mut last = i;
        while last + 1 < n && x[last + 1] == xv {
            last += 1;
            fit[last] = fit[i];
        }
        i = last + 1;
    }
    fit
}

/// The integrated calibration index (Austin and Steyerberg, 2019): the mean absolute
/// difference between each predicted probability and the observed rate at it, the rate
/// smoothed by [`lowess`] of the outcome on the prediction (statsmodels' default span,
/// 2/3). 0 for a perfectly calibrated model; `None` without rows.
pub fn ici(y: &[f64], p: &[f64]) -> Option<f64> {
    if p.is_empty() {
        return None;
    }
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let xs: Vec<f64> = order.iter().map(|&i| p[i]).collect();
    let ys: Vec<f64> = order.iter().map(|&i| y[i]).collect();
    let fit = lowess(&xs, &ys, 2.0 / 3.0);
    Some(xs.iter().zip(&fit).map(|(p, f)| (p - f).abs()).sum::<f64>() / xs.len() as f64)
}
