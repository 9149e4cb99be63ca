//! Probability calibration fitted on held-out predictions: Platt scaling (a logistic
//! regression on the log-odds) and isotonic regression (pool adjacent violators, linear
//! between block centres, clipped at the ends, as scikit-learn's `IsotonicRegression`).

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::logistic::Logistic;
use crate::common::math::{logit, sigmoid};

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
        // Each block is flat between its lowest and highest x; the fit is linear between
        // blocks.
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for b in &blocks {
            let v = b.2 / b.3;
            xs.push(b.0);
            ys.push(v);
            if b.1 > b.0 {
                xs.push(b.1);
                ys.push(v);
            }
        }
        Calibrator::Isotonic { x: xs, y: ys }
    }

    pub fn apply(&self, p: f64) -> f64 {
        match self {
            Calibrator::None => p,
            Calibrator::Platt { slope, intercept } => sigmoid(slope * logit(p) + intercept),
            Calibrator::Isotonic { x, y } => {
                if x.is_empty() {
                    return p;
                }
                let k = x.partition_point(|&v| v < p);
                if k == 0 {
                    y[0]
                } else if k >= x.len() {
                    y[x.len() - 1]
                } else {
                    let (x0, x1, y0, y1) = (x[k - 1], x[k], y[k - 1], y[k]);
                    if x1 > x0 {
                        y0 + (y1 - y0) * (p - x0) / (x1 - x0)
                    } else {
                        y1
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isotonic_pools_violators() {
        // y by increasing p: 0 1 0 1 1 -> blocks {0}, {1,0} pooled to 0.5 over
        // [0.2, 0.3], {1}, {1}. scikit-learn's IsotonicRegression gives the same points.
        let p = [0.1, 0.2, 0.3, 0.4, 0.5];
        let y = [0.0, 1.0, 0.0, 1.0, 1.0];
        let c = Calibrator::isotonic(&p, &y);
        let Calibrator::Isotonic { x, y: v } = &c else {
            unreachable!()
        };
        assert_eq!(x, &vec![0.1, 0.2, 0.3, 0.4, 0.5]);
        assert_eq!(v, &vec![0.0, 0.5, 0.5, 1.0, 1.0]);
        assert!((c.apply(0.15) - 0.25).abs() < 1e-12);
        assert!((c.apply(0.35) - 0.75).abs() < 1e-12);
        assert_eq!(c.apply(0.0), 0.0);
        assert_eq!(c.apply(0.9), 1.0);
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
