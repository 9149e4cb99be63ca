//! The fitted tree (nodes with their split on values and on bin codes) and what every
//! ensemble shares: the per-tree row cap, summing trees over rows, weights, and scoring
//! with one column set in turn.

use ndarray::{ArrayView2, s};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Design column of the split; `u32::MAX` for a leaf.
    pub feature: u32,
    /// Rows with `x <= threshold` go left.
    pub threshold: f64,
    /// The same split on bin codes: `bin <= split_bin` goes left.
    pub split_bin: u16,
    pub left: u32,
    pub right: u32,
    pub value: f64,
    /// Training weight (rows) reaching the node: what path-dependent TreeSHAP needs.
    pub cover: f64,
    pub gain: f64,
}

impl Node {
    pub fn is_leaf(&self) -> bool {
        self.feature == u32::MAX
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

impl Tree {
    pub fn predict_row(&self, row: &[f64]) -> f64 {
        let mut k = 0usize;
        loop {
            let n = &self.nodes[k];
            if n.is_leaf() {
                return n.value;
            }
            k = if row[n.feature as usize] <= n.threshold {
                n.left as usize
            } else {
                n.right as usize
            };
        }
    }

    pub(super) fn predict_binned(&self, bins: &[Vec<u8>], i: usize) -> f64 {
        let mut k = 0usize;
        loop {
            let n = &self.nodes[k];
            if n.is_leaf() {
                return n.value;
            }
            k = if u16::from(bins[n.feature as usize][i]) <= n.split_bin {
                n.left as usize
            } else {
                n.right as usize
            };
        }
    }

    pub fn depth(&self) -> usize {
        fn d(t: &Tree, k: usize) -> usize {
            let n = &t.nodes[k];
            if n.is_leaf() {
                0
            } else {
                1 + d(t, n.left as usize).max(d(t, n.right as usize))
            }
        }
        d(self, 0)
    }
}

/// Most rows one tree of a forest or of a boosted ensemble is grown on. Past it, a forest's
/// tree draws this many rows with replacement (scikit-learn's `max_samples`) and a boosted
/// tree samples this many on average (a smaller `subsample`). On the 100,000-account book
/// (1.3 M labelled rows) that is five to six times less work per tree at the same test
/// AUC; books up to this size fit exactly as before (docs/decisions.md 23).
pub const MAX_TREE_ROWS: usize = 200_000;

/// Per row of `x`, the sum of the trees' values, added in tree order. Blocks of rows run
/// in parallel, and within a block tree by tree (a tree's nodes stay in cache across the
/// block's rows); each row's sum is taken in the same order either way, so the result does
/// not depend on the threads.
pub(super) fn sum_of_trees(x: ArrayView2<f64>, trees: &[Tree]) -> Vec<f64> {
    const ROWS: usize = 512;
    let (n, p) = x.dim();
    let mut out = vec![0.0; n];
    out.par_chunks_mut(ROWS).enumerate().for_each(|(c, block)| {
        let first = c * ROWS;
        let rows = x.slice(s![first..first + block.len(), ..]);
        // The block's rows contiguous, whatever the layout of `x`.
        let owned;
        let cells: &[f64] = match rows.as_slice() {
            Some(cells) => cells,
            None => {
                owned = rows.iter().copied().collect::<Vec<f64>>();
                &owned
            }
        };
        for t in trees {
            for (k, o) in block.iter_mut().enumerate() {
                *o += t.predict_row(&cells[k * p..(k + 1) * p]);
            }
        }
    });
    out
}

pub(super) fn weights(w: Option<&[f64]>, n: usize) -> Vec<f64> {
    w.map(<[f64]>::to_vec).unwrap_or_else(|| vec![1.0; n])
}

/// `score` of `x` with each column of `cols` set in turn to each of `values` (the others
/// as they are): `out[c][v]`.
pub(crate) fn each_setting(
    x: ArrayView2<f64>,
    cols: &[usize],
    values: &[f64],
    score: impl Fn(ArrayView2<f64>) -> Vec<f64>,
) -> Vec<Vec<Vec<f64>>> {
    let mut xs = x.to_owned();
    cols.iter()
        .map(|&c| {
            let keep = xs.column(c).to_owned();
            let out = values
                .iter()
                .map(|&v| {
                    xs.column_mut(c).fill(v);
                    score(xs.view())
                })
                .collect();
            xs.column_mut(c).assign(&keep);
            out
        })
        .collect()
}
