//! The readable decision tree and the random forest: leaves hold weighted churn rates.

use ndarray::ArrayView2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::bins::Binned;
use super::learner::{GrowParams, grow_tree};
use super::node::{MAX_TREE_ROWS, Tree, sum_of_trees, weights};
use crate::common::rng::Rng;

/// A single classification tree: leaves hold the weighted churn rate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionTree {
    pub max_depth: usize,
    pub min_leaf: f64,
    pub tree: Tree,
}

impl DecisionTree {
    pub fn fit(
        x: ArrayView2<f64>,
        y: &[f64],
        w: Option<&[f64]>,
        max_depth: usize,
        min_leaf: f64,
    ) -> Self {
        Self::fit_binned(&Binned::new(x), y, w, max_depth, min_leaf)
    }

    /// [`DecisionTree::fit`] on a matrix already binned.
    pub(crate) fn fit_binned(
        data: &Binned,
        y: &[f64],
        w: Option<&[f64]>,
        max_depth: usize,
        min_leaf: f64,
    ) -> Self {
        let n = data.rows;
        let w = weights(w, n);
        let abc: Vec<[f64; 3]> = y.iter().zip(&w).map(|(y, &w)| [y * w, w, w]).collect();
        let mut rows: Vec<u32> = (0..n as u32).collect();
        let params = GrowParams {
            max_depth,
            min_leaf,
            min_b: 0.0,
            lambda: 0.0,
            mtry: None,
            colsample: 1.0,
        };
        let tree = grow_tree(data, &abc, &mut rows, params, 0).tree;
        DecisionTree {
            max_depth,
            min_leaf,
            tree,
        }
    }

    pub fn proba(&self, x: ArrayView2<f64>) -> Vec<f64> {
        sum_of_trees(x, std::slice::from_ref(&self.tree))
            .into_iter()
            .map(|v| v.clamp(0.0, 1.0))
            .collect()
    }
}

/// A random forest: bootstrap rows, a random subset of columns per split, mean of the
/// trees' leaf churn rates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Forest {
    pub max_depth: usize,
    pub min_leaf: f64,
    pub trees: Vec<Tree>,
}

impl Forest {
    pub fn fit(
        x: ArrayView2<f64>,
        y: &[f64],
        w: Option<&[f64]>,
        n_trees: usize,
        max_depth: usize,
        min_leaf: f64,
        seed: u64,
    ) -> Self {
        Self::fit_binned(&Binned::new(x), y, w, n_trees, max_depth, min_leaf, seed)
    }

    /// [`Forest::fit`] on a matrix already binned.
    pub(crate) fn fit_binned(
        data: &Binned,
        y: &[f64],
        w: Option<&[f64]>,
        n_trees: usize,
        max_depth: usize,
        min_leaf: f64,
        seed: u64,
    ) -> Self {
        let n = data.rows;
        let w = weights(w, n);
        let mtry = ((data.columns() as f64).sqrt().ceil() as usize).max(1);
        let trees = (0..n_trees)
            .into_par_iter()
            .map(|t| {
                let mut rng = Rng::stream(seed, 1000 + t as u64);
                let mut count = vec![0.0f64; n];
                for _ in 0..n.min(MAX_TREE_ROWS) {
                    count[rng.below(n as u64) as usize] += 1.0;
                }
                let abc: Vec<[f64; 3]> = y
                    .iter()
                    .zip(&w)
                    .zip(&count)
                    .map(|((y, w), c)| {
                        let wc = w * c;
                        [y * wc, wc, wc]
                    })
                    .collect();
                let mut rows: Vec<u32> =
                    (0..n as u32).filter(|&i| count[i as usize] > 0.0).collect();
                let params = GrowParams {
                    max_depth,
                    min_leaf,
                    min_b: 0.0,
                    lambda: 0.0,
                    mtry: Some(mtry),
                    colsample: 1.0,
                };
                grow_tree(data, &abc, &mut rows, params, rng.next_u64()).tree
            })
            .collect();
        Forest {
            max_depth,
            min_leaf,
            trees,
        }
    }

    pub fn proba(&self, x: ArrayView2<f64>) -> Vec<f64> {
        let k = self.trees.len().max(1) as f64;
        sum_of_trees(x, &self.trees)
            .into_iter()
            .map(|v| (v / k).clamp(0.0, 1.0))
            .collect()
    }
}
