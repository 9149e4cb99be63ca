//! The design matrix as bin codes: each column cut into at most [`MAX_BINS`] bins at
//! midpoints between training values, narrow columns packed into shared bytes (the
//! trees' input, as LightGBM's io/ holds its binned dataset).

use ndarray::{ArrayView2, s};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub(crate) const MAX_BINS: usize = 255;

/// Cells of one group's joint histogram: any u8 code.
pub(super) const GROUP_CELLS: usize = 256;

/// Bin edges per design column: bin k holds values <= `edges[k]`; the last bin the rest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Bins {
    pub edges: Vec<Vec<f64>>,
}

/// Rows sampled (evenly spaced) to place the bin edges.
const EDGE_SAMPLE: usize = 200_000;

impl Bins {
    pub fn fit(x: ArrayView2<f64>, max_bins: usize) -> Bins {
        let n = x.nrows();
        let stride = n.div_ceil(EDGE_SAMPLE).max(1);
        let max_bins = max_bins.clamp(2, MAX_BINS);
        let edges = (0..x.ncols())
            .into_par_iter()
            .map(|j| {
                let mut all: Vec<f64> = x.column(j).iter().step_by(stride).copied().collect();
                all.sort_unstable_by(f64::total_cmp);
                let mut v = all.clone();
                v.dedup();
                if v.len() <= max_bins {
                    return v.windows(2).map(|w| (w[0] + w[1]) / 2.0).collect();
                }
                // Quantile cuts over the sampled values (with repeats, so heavy values
                // such as zero get a bin of their own).
                let mut e: Vec<f64> = Vec::new();
                for k in 1..max_bins {
                    let q = all[(k * all.len() / max_bins).min(all.len() - 1)];
                    // Edge between q and the next distinct value.
                    let next = all.partition_point(|&a| a <= q);
                    if next < all.len() {
                        let cut = (q + all[next]) / 2.0;
                        if e.last().is_none_or(|&l| cut > l) {
                            e.push(cut);
                        }
                    }
                }
                e
            })
            .collect();
        Bins { edges }
    }

    /// Column-major bin codes of `x`. Rows are coded in blocks in parallel (a row of `x`
    /// is contiguous in memory, a column is not), then each column's codes are joined.
    pub fn apply(&self, x: ArrayView2<f64>) -> Vec<Vec<u8>> {
        const BLOCK: usize = 4_096;
        let (n, p) = (x.nrows(), self.edges.len());
        if p == 0 {
            return Vec::new();
        }
        let blocks: Vec<Vec<u8>> = (0..n.div_ceil(BLOCK))
            .into_par_iter()
            .map(|b| {
                let rows = x.slice(s![b * BLOCK..((b + 1) * BLOCK).min(n), ..]);
                let len = rows.nrows();
                let mut out = vec![0u8; p * len];
                for (i, row) in rows.rows().into_iter().enumerate() {
                    for ((j, e), &v) in self.edges.iter().enumerate().zip(row) {
                        out[j * len + i] = e.partition_point(|&edge| edge < v) as u8;
                    }
                }
                out
            })
            .collect();
        (0..p)
            .into_par_iter()
            .map(|j| {
                let mut col = Vec::with_capacity(n);
                for out in &blocks {
                    let len = out.len() / p;
                    col.extend_from_slice(&out[j * len..(j + 1) * len]);
                }
                col
            })
            .collect()
    }
}

/// The training matrix as bin codes, ready for histogram passes.
///
/// Columns with few bins (missing flags, one-hot levels, small counts) share one byte:
/// a group's code is `sum(bin_f * stride_f)` over its members, with the product of their
/// bin counts at most 256. A group's joint histogram has 256 cells, and each member's
/// own histogram is its marginal (a sum over the codes in use). On the churn design
/// matrix this turns 105 columns into 44 groups. It is exact: a member's marginal holds
/// the same sums as a pass over its own codes.
pub(crate) struct Binned {
    pub(super) edges: Bins,
    /// Rows of the matrix.
    pub(super) rows: usize,
    /// Column-major bin codes per design column (for partitions and predictions).
    pub(super) codes: Vec<Vec<u8>>,
    /// Row-major codes per group (for histograms): a row's groups are adjacent, so a
    /// histogram pass reads each row's codes from one cache line and updates one cell in
    /// each of several histograms in turn, instead of one histogram row after row (where
    /// rows landing in the same cell wait on each other's sums).
    pub(super) row_codes: Vec<u8>,
    /// Per design column: (group, stride, bins).
    pub(super) member: Vec<(usize, usize, usize)>,
    /// Per group: its columns. Group g's joint histogram is cells
    /// `g * GROUP_CELLS..(g + 1) * GROUP_CELLS` of a node's histogram.
    pub(super) groups: Vec<Vec<usize>>,
    /// Per group: its codes in use (the product of its members' bin counts).
    pub(super) group_size: Vec<usize>,
}

impl Binned {
    /// Bin edges placed on `x`, and `x` as their codes.
    pub fn new(x: ArrayView2<f64>) -> Binned {
        let edges = Bins::fit(x, MAX_BINS);
        let codes = edges.apply(x);
        let nbins: Vec<usize> = edges.edges.iter().map(|e| e.len() + 1).collect();
        // First fit over columns in ascending bin count (ties by index): deterministic.
        let mut order: Vec<usize> = (0..nbins.len()).collect();
        order.sort_by_key(|&f| (nbins[f], f));
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut product: Vec<usize> = Vec::new();
        let mut member = vec![(0, 1, 1); nbins.len()];
        for f in order {
            let open = groups
                .len()
                .checked_sub(1)
                .filter(|&g| product[g] * nbins[f] <= 256);
            let g = match open {
                Some(g) => g,
                None => {
                    groups.push(Vec::new());
                    product.push(1);
                    groups.len() - 1
                }
            };
            member[f] = (g, product[g], nbins[f]);
            product[g] *= nbins[f];
            groups[g].push(f);
        }
        // Row-major group codes: row r's code in group g at `r * groups + g`.
        let n = x.nrows();
        let ng = groups.len();
        // Rows a task, filled in parallel.
        const ROWS: usize = 4_096;
        let mut row_codes = vec![0u8; n * ng];
        row_codes
            .par_chunks_mut(ng.max(1) * ROWS)
            .enumerate()
            .for_each(|(chunk, block)| {
                let first = chunk * ROWS;
                for (g, cols) in groups.iter().enumerate() {
                    for &f in cols {
                        let s = member[f].1;
                        let col = &codes[f][first..first + block.len() / ng];
                        for (c, &b) in block[g..].iter_mut().step_by(ng).zip(col) {
                            // Fits: the group's product is at most 256.
                            *c = (usize::from(*c) + usize::from(b) * s) as u8;
                        }
                    }
                }
            });
        Binned {
            edges,
            rows: n,
            codes,
            row_codes,
            member,
            groups,
            group_size: product,
        }
    }

    pub(super) fn columns(&self) -> usize {
        self.codes.len()
    }

    /// Rows `rows`, with these bin edges and column groups.
    pub fn select(&self, rows: &[usize]) -> Binned {
        let ng = self.groups.len();
        let mut row_codes = Vec::with_capacity(rows.len() * ng);
        for &i in rows {
            row_codes.extend_from_slice(&self.row_codes[i * ng..(i + 1) * ng]);
        }
        Binned {
            edges: self.edges.clone(),
            rows: rows.len(),
            codes: self
                .codes
                .iter()
                .map(|c| rows.iter().map(|&i| c[i]).collect())
                .collect(),
            row_codes,
            member: self.member.clone(),
            groups: self.groups.clone(),
            group_size: self.group_size.clone(),
        }
    }
}
