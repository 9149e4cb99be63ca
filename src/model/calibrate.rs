//! Probability calibration fitted on held-out predictions: Platt scaling (a logistic
//! regression on the log-odds) and interpolated isotonic regression.
//!
//! Isotonic regression (pool adjacent violators) is a step function: every account in a
//! block gets the same probability, so a ranked list loses its order within a block, and
//! the end blocks often reach exactly 0 or 1. Here the fit is linear between the blocks'
//! centroids (mean score, churn rate), with linear tails from the first centroid down to
//! (0, 0) and from the last up to (1, 1): strictly increasing, so the ranking is kept.
//! Every calibrated probability is then squeezed affinely into [`FLOOR`, `CEILING`]
//! (`FLOOR + (CEILING - FLOOR) * p`): no account is ever certain to stay or to go, and,
//! unlike a clamp, the squeeze is strictly increasing, so it creates no ties (a clamp at
//! 0.1% tied half of a book whose raw probabilities ran below it).

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::logistic::Logistic;
use crate::common::math::{logit, sigmoid};

/// The lowest calibrated probability (0.01%).
pub const FLOOR: f64 = 1e-4;
/// The highest calibrated probability (99.99%).
pub const CEILING: f64 = 1.0 - 1e-4;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum Calibrator {
    /// No change.
    None,
    Platt {
        slope: f64,
        intercept: f64,
    },
    Isotonic {
        x: Vec<f64>,
        y: Vec<f64>,
    },
}

impl Calibrator {
    pub fn name(&self) -> &'static str {
        match self {
            Calibrator::None => "none",
            Calibrator::Platt { .. } => "platt",
            Calibrator::Isotonic { .. } => "isotonic",
        }
    }

    pub fn platt(p: &[f64], y: &[f64]) -> Calibrator {
        let x = Array2::from_shape_fn((p.len(), 1), |(i, _)| logit(p[i]));
        let m = Logistic::fit(x.view(), y, None, 1e-8);
        Calibrator::Platt {
            slope: m.coef[0],
            intercept: m.intercept,
        }
    }

    pub fn isotonic(p: &[f64], y: &[f64]) -> Calibrator {
        let mut idx: Vec<usize> = (0..p.len()).collect();
        idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]).then(a.cmp(&b)));
        // Blocks of (lowest x, highest x, sum y, count); ties in x are pooled first.
        let mut blocks: Vec<(f64, f64, f64, f64)> = Vec::new();
        for &i in &idx {
            match blocks.last_mut() {
                Some(b) if b.1 == p[i] => {
                    b.2 += y[i];
                    b.3 += 1.0;
                }
                _ => blocks.push((p[i], p[i], y[i], 1.0)),
            }
            while blocks.len() >= 2 {
                let (a, b) = (blocks[blocks.len() - 2], blocks[blocks.len() - 1]);
                if a.2 / a.3 < b.2 / b.3 {
                    break;
                }
                blocks.pop();
                if let Some(t) = blocks.last_mut() {
                    *t = (a.0, b.1, a.2 + b.2, a.3 + b.3);
                }
            }
        }
        // Knots at each block's centroid: its mean score and its churn rate.
        let mut sums = vec![0.0; blocks.len()];
        let mut k = 0;
        for &i in &idx {
            while p[i] > blocks[k].1 {
                k += 1;
            }
            sums[k] += p[i];
        }
        let xs = blocks.iter().zip(&sums).map(|(b, s)| s / b.3).collect();
        let ys = blocks.iter().map(|b| b.2 / b.3).collect();
        Calibrator::Isotonic { x: xs, y: ys }
    }

    /// The calibrated probability of a model score `p`, squeezed into [`FLOOR`, `CEILING`].
    pub fn apply(&self, p: f64) -> f64 {
        let q = match self {
            Calibrator::None => p,
            Calibrator::Platt { slope, intercept } => sigmoid(slope * logit(p) + intercept),
            Calibrator::Isotonic { x, y } => interpolate(x, y, p),
        };
        FLOOR + (CEILING - FLOOR) * q.clamp(0.0, 1.0)
    }
}

/// Linear between the knots `(x, y)`, and from the first knot down to (0, 0) and the last
/// up to (1, 1).
fn interpolate(x: &[f64], y: &[f64], p: f64) -> f64 {
    let (Some(&x0), Some(&xn)) = (x.first(), x.last()) else {
        return p;
    };
    if p.is_nan() {
        // No knot to place it between (found by the fuzzer: it indexed before the first).
        return p;
    }
    let line = |xa: f64, ya: f64, xb: f64, yb: f64| {
        if xb > xa {
            ya + (yb - ya) * (p - xa) / (xb - xa)
        } else {
            yb
        }
    };
    if p <= x0 {
        return line(0.0, 0.0, x0, y[0]);
    }
    if p >= xn {
        return line(xn, y[y.len() - 1], 1.0, 1.0);
    }
    let k = x.partition_point(|&v| v < p);
    line(x[k - 1], y[k - 1], x[k], y[k])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isotonic_pools_violators_and_interpolates_between_centroids() {
        // y by increasing p: 0 1 0 1 1 -> blocks {0.1}: 0, {0.2, 0.3}: 0.5, {0.4, 0.5}: 1
        // (the same blocks as scikit-learn's IsotonicRegression); centroids 0.1, 0.25, 0.45.
        let p = [0.1, 0.2, 0.3, 0.4, 0.5];
        let y = [0.0, 1.0, 0.0, 1.0, 1.0];
        let c = Calibrator::isotonic(&p, &y);
        let Calibrator::Isotonic { x, y: v } = &c else {
            unreachable!()
        };
        assert!(
            x.iter()
                .zip([0.1, 0.25, 0.45])
                .all(|(a, b)| (a - b).abs() < 1e-12)
        );
        assert_eq!(v, &vec![0.0, 0.5, 1.0]);
        // 0.15 is a third of the way from 0.1 to 0.25: 0.5 / 3 (then squeezed).
        let squeeze = |q: f64| FLOOR + (CEILING - FLOOR) * q;
        assert!((c.apply(0.15) - squeeze(0.5 / 3.0)).abs() < 1e-12);
        assert!((c.apply(0.35) - squeeze(0.75)).abs() < 1e-12);
        // No plateau: every score in (0.1, 0.45) maps to its own probability.
        let q: Vec<f64> = (11..45).map(|k| c.apply(k as f64 / 100.0)).collect();
        assert!(q.windows(2).all(|w| w[0] < w[1]));
        // Never 0 or 1.
        assert_eq!(c.apply(0.0), FLOOR);
        assert_eq!(c.apply(0.9), CEILING);
        assert_eq!(Calibrator::None.apply(1.0), CEILING);
    }

    #[test]
    fn platt_recovers_a_known_distortion() {
        // True p = sigmoid(2 * logit(s) - 1); large sample with y ~ Bernoulli(p).
        let mut rng = crate::common::rng::Rng::new(3);
        let s: Vec<f64> = (0..20_000).map(|_| rng.uniform(0.02, 0.98)).collect();
        let y: Vec<f64> = s
            .iter()
            .map(|&v| f64::from(u8::from(rng.bernoulli(sigmoid(2.0 * logit(v) - 1.0)))))
            .collect();
        let Calibrator::Platt { slope, intercept } = Calibrator::platt(&s, &y) else {
            unreachable!()
        };
        assert!((slope - 2.0).abs() < 0.1, "{slope}");
        assert!((intercept + 1.0).abs() < 0.1, "{intercept}");
    }
}
