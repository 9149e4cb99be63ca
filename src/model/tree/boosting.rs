//! Gradient boosting on log loss (LightGBM's boosting/): Newton steps grown by the tree
//! learner, early stopping, and counterfactual scores from the trees that use a column.

use ndarray::ArrayView2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::bins::Binned;
use super::learner::{GrowParams, Grown, grow_tree};
use super::node::{MAX_TREE_ROWS, Tree, each_setting, sum_of_trees, weights};
use crate::common::math::sigmoid;
use crate::common::rng::Rng;

/// Gradient-boosted trees on log loss: `raw = base + sum of tree values` (leaf values
/// already scaled by the learning rate), probability `sigmoid(raw)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Boost {
    pub learning_rate: f64,
    pub max_depth: usize,
    pub base: f64,
    pub trees: Vec<Tree>,
}

/// Hyper-parameters of [`Boost::fit`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoostParams {
    pub max_trees: usize,
    pub max_depth: usize,
    pub learning_rate: f64,
    pub lambda: f64,
    pub min_leaf: f64,
    pub subsample: f64,
    /// Share of the columns each tree may split on, drawn per tree. Models saved before
    /// it existed used every column.
    #[serde(default = "every_column")]
    pub colsample: f64,
}

fn every_column() -> f64 {
    1.0
}

impl Boost {
    /// Fits up to `max_trees` trees. With `stop` (rows held out from `x`), keeps the number
    /// of trees with the lowest held-out log loss (checked every 10 trees, stopping after
    /// 50 trees without improvement); those rows are not used to grow trees.
    pub fn fit(
        x: ArrayView2<f64>,
        y: &[f64],
        w: Option<&[f64]>,
        p: BoostParams,
        stop: Option<&[usize]>,
        seed: u64,
    ) -> Self {
        Self::fit_binned(&Binned::new(x), y, w, p, stop, seed)
    }

    /// [`Boost::fit`] on a matrix already binned.
    pub(crate) fn fit_binned(
        data: &Binned,
        y: &[f64],
        w: Option<&[f64]>,
        p: BoostParams,
        stop: Option<&[usize]>,
        seed: u64,
    ) -> Self {
        let n = data.rows;
        let w = weights(w, n);
        let mut held = vec![false; n];
        if let Some(s) = stop {
            for &i in s {
                held[i] = true;
            }
        }
        let train: Vec<u32> = (0..n as u32).filter(|&i| !held[i as usize]).collect();
        let sw: f64 = train.iter().map(|&i| w[i as usize]).sum::<f64>().max(1e-12);
        let ybar = (train
            .iter()
            .map(|&i| w[i as usize] * y[i as usize])
            .sum::<f64>()
            / sw)
            .clamp(1e-6, 1.0 - 1e-6);
        let base = (ybar / (1.0 - ybar)).ln();
        let mut raw = vec![base; n];
        // Rows a tree was not grown on (held out, or left out by subsampling) are
        // predicted through it; the rest take their leaf's value directly.
        let mut in_tree = vec![false; n];
        let mut trees = Vec::new();
        let mut rng = Rng::stream(seed, 77);
        // Per row [a, b, cover]: the gradients are refreshed every tree, the cover is w.
        let mut abc: Vec<[f64; 3]> = w.iter().map(|&w| [0.0, 0.0, w]).collect();
        let held_rows: Vec<usize> = stop.map(<[usize]>::to_vec).unwrap_or_default();
        let held_loss = |raw: &[f64]| -> f64 {
            held_rows
                .iter()
                .map(|&i| {
                    let z = raw[i];
                    let sp = if z > 0.0 {
                        z + (-z).exp().ln_1p()
                    } else {
                        z.exp().ln_1p()
                    };
                    w[i] * (sp - y[i] * z)
                })
                .sum()
        };
        let (mut best_loss, mut best_trees) = (held_loss(&raw), 0usize);
        let params = GrowParams {
            max_depth: p.max_depth,
            min_leaf: p.min_leaf,
            min_b: 1e-3,
            lambda: p.lambda,
            mtry: None,
            colsample: p.colsample,
        };
        let subsample = p
            .subsample
            .min(MAX_TREE_ROWS as f64 / train.len().max(1) as f64);
        for t in 0..p.max_trees {
            let mut rows: Vec<u32> = if subsample < 1.0 {
                train
                    .iter()
                    .copied()
                    .filter(|_| rng.f64() < subsample)
                    .collect()
            } else {
                train.clone()
            };
            // Gradients of every row, in parallel (the tree reads only its own rows').
            abc.par_iter_mut()
                .zip(&raw)
                .zip(y)
                .with_min_len(4_096)
                .for_each(|((v, &z), &y)| {
                    let pi = sigmoid(z);
                    let w = v[2];
                    v[0] = w * (y - pi);
                    v[1] = w * (pi * (1.0 - pi)).max(1e-6);
                });
            let Grown { mut tree, leaves } =
                grow_tree(data, &abc, &mut rows, params, rng.next_u64());
            for node in &mut tree.nodes {
                node.value *= p.learning_rate;
            }
            in_tree.iter_mut().for_each(|v| *v = false);
            for &(leaf, s, e) in &leaves {
                let v = tree.nodes[leaf as usize].value;
                for &r in &rows[s..e] {
                    raw[r as usize] += v;
                    in_tree[r as usize] = true;
                }
            }
            raw.par_iter_mut()
                .zip(&in_tree)
                .enumerate()
                .with_min_len(4_096)
                .filter(|(_, (_, t))| !**t)
                .for_each(|(i, (r, _))| *r += tree.predict_binned(&data.codes, i));
            trees.push(tree);
            if !held_rows.is_empty() && (t + 1) % 10 == 0 {
                let loss = held_loss(&raw);
                if loss < best_loss - 1e-12 {
                    best_loss = loss;
                    best_trees = t + 1;
                } else if t + 1 >= best_trees + 50 {
                    break;
                }
            }
        }
        if !held_rows.is_empty() {
            trees.truncate(best_trees);
        }
        Boost {
            learning_rate: p.learning_rate,
            max_depth: p.max_depth,
            base,
            trees,
        }
    }

    pub fn raw(&self, x: ArrayView2<f64>) -> Vec<f64> {
        sum_of_trees(x, &self.trees)
            .into_iter()
            .map(|v| self.base + v)
            .collect()
    }

    /// Raw scores of `x` as it is, and with each column of `cols` set in turn to each of
    /// `values` (the others as they are): `(observed, set)`, `set[c][v][i]`. The trees
    /// that never split on `cols` are summed once; only the others are evaluated per
    /// setting (an S-learner's counterfactuals at a fraction of a prediction each).
    pub fn raw_set(
        &self,
        x: ArrayView2<f64>,
        cols: &[usize],
        values: &[f64],
    ) -> (Vec<f64>, Vec<Vec<Vec<f64>>>) {
        let (fixed, varying): (Vec<Tree>, Vec<Tree>) = self.trees.iter().cloned().partition(|t| {
            t.nodes
                .iter()
                .all(|n| n.is_leaf() || !cols.contains(&(n.feature as usize)))
        });
        let common: Vec<f64> = sum_of_trees(x, &fixed)
            .into_iter()
            .map(|v| self.base + v)
            .collect();
        let plus = |x: ArrayView2<f64>| -> Vec<f64> {
            common
                .iter()
                .zip(sum_of_trees(x, &varying))
                .map(|(a, b)| a + b)
                .collect()
        };
        (plus(x), each_setting(x, cols, values, plus))
    }
}
