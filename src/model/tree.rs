//! Histogram trees: one grower serves the readable decision tree, the random forest and
//! gradient boosting.
//!
//! Every design column is cut into at most [`MAX_BINS`] bins at midpoints between
//! training values, so a split "bin <= k" is the same as "x <= threshold". Each row
//! carries two statistics `(a, b)` and a cover weight; a leaf predicts `a / (b + lambda)`
//! and a split's gain is `aL^2/(bL+l) + aR^2/(bR+l) - a^2/(b+l)`:
//! - classification tree and forest: `a = w*y`, `b = w`, `lambda = 0`, so leaves hold the
//!   weighted churn rate and the gain is the Gini (variance) reduction;
//! - boosting: `a = -w*(p - y)`, `b = w*p*(1 - p)`: a second-order Newton step on log loss.
//!
//! A node's histogram comes from its smaller child plus subtraction from the parent, so
//! each level costs about half a pass over the rows. A forest node on a wide design
//! instead builds the histograms of its drawn columns alone from its own rows, and a
//! boosted tree may be limited to a drawn share of the columns (`colsample`).

use ndarray::{ArrayView2, s};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::common::math::sigmoid;
use crate::common::rng::Rng;

pub(crate) const MAX_BINS: usize = 255;

/// Cells of one group's joint histogram: any u8 code.
const GROUP_CELLS: usize = 256;

/// Rows per task when a large node's rows are partitioned in parallel.
const PARTITION_CHUNK: usize = 32_768;

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

    fn predict_binned(&self, bins: &[Vec<u8>], i: usize) -> f64 {
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

/// How a tree grows.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GrowParams {
    pub max_depth: usize,
    /// Fewest cover (rows, weighted) in a leaf.
    pub min_leaf: f64,
    /// Fewest hessian (`b`) in a leaf.
    pub min_b: f64,
    pub lambda: f64,
    /// Columns tried per split (random forest); None: all.
    pub mtry: Option<usize>,
    /// Share of the columns a tree may split on, drawn per tree (LightGBM's
    /// `feature_fraction`); 1: all.
    pub colsample: f64,
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
    edges: Bins,
    /// Rows of the matrix.
    rows: usize,
    /// Column-major bin codes per design column (for partitions and predictions).
    codes: Vec<Vec<u8>>,
    /// Row-major codes per group (for histograms): a row's groups are adjacent, so a
    /// histogram pass reads each row's codes from one cache line and updates one cell in
    /// each of several histograms in turn, instead of one histogram row after row (where
    /// rows landing in the same cell wait on each other's sums).
    row_codes: Vec<u8>,
    /// Per design column: (group, stride, bins).
    member: Vec<(usize, usize, usize)>,
    /// Per group: its columns. Group g's joint histogram is cells
    /// `g * GROUP_CELLS..(g + 1) * GROUP_CELLS` of a node's histogram.
    groups: Vec<Vec<usize>>,
    /// Per group: its codes in use (the product of its members' bin counts).
    group_size: Vec<usize>,
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

    fn columns(&self) -> usize {
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

/// Joint histograms of some groups: `cells[s * GROUP_CELLS..]` is group `groups[s]`'s.
struct Hist {
    groups: Vec<usize>,
    cells: Vec<[f64; 3]>,
}

struct Grower<'a> {
    data: &'a Binned,
    /// Per row (a, b, cover), packed so a histogram update reads one cache line.
    abc: &'a [[f64; 3]],
    params: GrowParams,
    rng: Rng,
    nodes: Vec<Node>,
    /// Each leaf and the range of the row slice that reached it.
    leaves: Vec<(u32, usize, usize)>,
    /// The columns this tree may split on (all, or its sample), ascending.
    columns: Vec<usize>,
    /// The groups holding them, ascending: the slots of the tree's histograms.
    groups: Vec<usize>,
    /// Whether each node draws its `mtry` columns and builds the histograms of their
    /// groups alone from its rows (no subtraction): cheaper than a child's pass over every
    /// group when the draw covers under half of them (a forest on a wide design).
    per_node: bool,
}

/// Rows ahead of the one being added whose memory a histogram pass asks for.
const PREFETCH_AHEAD: usize = 16;

/// Hints that the cache line holding `p` is read soon (nothing off x86-64).
#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint: it never faults, whatever the address, and reads
    // nothing into the program.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// The ascending, distinct groups of `columns`.
fn groups_of(d: &Binned, columns: &[usize]) -> Vec<usize> {
    let mut g: Vec<usize> = columns.iter().map(|&f| d.member[f].0).collect();
    g.sort_unstable();
    g.dedup();
    g
}

impl Grower<'_> {
    /// The joint histograms of `groups` (ascending) over `rows`.
    fn histogram(&self, rows: &[u32], groups: Vec<usize>) -> Hist {
        let d = self.data;
        let ng = d.groups.len();
        let slots = groups.len();
        let mut h = vec![[0.0; 3]; slots * GROUP_CELLS];
        // Slots split into parts, one pass over the rows per part (two parts a thread,
        // for balance). Every cell's sum is still taken in row order, so the result
        // depends neither on the parts nor on the thread count.
        let parts = if rows.len() >= 4_096 {
            (2 * rayon::current_num_threads()).clamp(1, slots.max(1))
        } else {
            1
        };
        let mut slices: Vec<(&[usize], &mut [[f64; 3]])> = Vec::with_capacity(parts);
        let mut rest: &mut [[f64; 3]] = &mut h;
        for p in 0..parts {
            let (s0, s1) = (p * slots / parts, (p + 1) * slots / parts);
            let (head, tail) = rest.split_at_mut((s1 - s0) * GROUP_CELLS);
            slices.push((&groups[s0..s1], head));
            rest = tail;
        }
        let fill = |(part, hp): &mut (&[usize], &mut [[f64; 3]])| {
            // Every group's histogram has GROUP_CELLS cells, so a u8 code indexes it
            // without a bounds check.
            let mut hists: Vec<&mut [[f64; 3]; GROUP_CELLS]> = hp
                .chunks_exact_mut(GROUP_CELLS)
                .filter_map(|c| c.try_into().ok())
                .collect();
            let (Some(&g0), Some(&g1)) = (part.first(), part.last()) else {
                return;
            };
            // A run of adjacent groups reads one slice of the row's codes.
            let contiguous = g1 - g0 + 1 == part.len();
            for (i, &r) in rows.iter().enumerate() {
                // A node's rows are a sparse, ascending subset: the hardware prefetcher does
                // not see the pattern, so each row's codes and statistics are asked for
                // PREFETCH_AHEAD rows before they are read.
                if let Some(&next) = rows.get(i + PREFETCH_AHEAD) {
                    let at = next as usize * ng;
                    let codes = d.row_codes.as_ptr();
                    let mut off = g0;
                    while off <= g1 {
                        prefetch(codes.wrapping_add(at + off));
                        off += 64;
                    }
                    prefetch(codes.wrapping_add(at + g1));
                    prefetch(self.abc.as_ptr().wrapping_add(next as usize));
                }
                // Copied out, so it stays in registers across the row's groups (and a and
                // b are added as one vector).
                let v = self.abc[r as usize];
                let row = &d.row_codes[r as usize * ng..(r as usize + 1) * ng];
                let add = |c: u8, hg: &mut [[f64; 3]; GROUP_CELLS]| {
                    let cell = &mut hg[usize::from(c)];
                    cell[0] += v[0];
                    cell[1] += v[1];
                    cell[2] += v[2];
                };
                if contiguous {
                    for (&c, hg) in row[g0..=g1].iter().zip(hists.iter_mut()) {
                        add(c, hg);
                    }
                } else {
                    for (&g, hg) in part.iter().zip(hists.iter_mut()) {
                        add(row[g], hg);
                    }
                }
            }
        };
        if parts > 1 {
            slices.par_iter_mut().for_each(fill);
        } else {
            slices.iter_mut().for_each(fill);
        }
        Hist { groups, cells: h }
    }

    /// Design column `f`'s own histogram out of the joint ones (its group is in `hist`).
    fn column_hist<'h>(
        &self,
        hist: &'h Hist,
        f: usize,
        buf: &'h mut Vec<[f64; 3]>,
    ) -> &'h [[f64; 3]] {
        let d = self.data;
        let (g, stride, nb) = d.member[f];
        let slot = hist.groups.binary_search(&g);
        debug_assert!(slot.is_ok(), "column {f}'s group {g} has no histogram");
        let slot = slot.unwrap_or(0);
        let joint = &hist.cells[slot * GROUP_CELLS..(slot + 1) * GROUP_CELLS];
        if d.groups[g].len() == 1 {
            return &joint[..nb];
        }
        buf.clear();
        buf.resize(nb, [0.0; 3]);
        // Code c is column f's bin (c / stride) % nb: runs of `stride` codes share a bin,
        // and the bins cycle.
        let mut bin = 0;
        for run in joint[..d.group_size[g]].chunks(stride) {
            let m = &mut buf[bin];
            for cell in run {
                m[0] += cell[0];
                m[1] += cell[1];
                m[2] += cell[2];
            }
            bin = if bin + 1 == nb { 0 } else { bin + 1 };
        }
        buf
    }

    /// Column `f`'s best split of a node with totals `[a, b, cover]`: its gain, its bin
    /// (`bin <= k` goes left) and the left side's totals; the first bin on a tie.
    fn best_split(
        &self,
        hist: &Hist,
        f: usize,
        totals: [f64; 3],
    ) -> Option<(f64, usize, [f64; 3])> {
        let p = self.params;
        let [sa, sb, sc] = totals;
        let parent = sa * sa / (sb + p.lambda);
        let mut buf = Vec::new();
        let hf = self.column_hist(hist, f, &mut buf);
        let mut best: Option<(f64, usize, [f64; 3])> = None;
        let (mut la, mut lb, mut lc) = (0.0, 0.0, 0.0);
        for (k, cell) in hf.iter().enumerate().take(hf.len().saturating_sub(1)) {
            la += cell[0];
            lb += cell[1];
            lc += cell[2];
            if cell[2] == 0.0 {
                // An empty bin moves no row: the same split as the bin before it (or
                // none), not a better one. (Its a and b may hold a rounding residue from
                // the histogram subtraction; they are still added, so the sides' sums
                // are the same whichever bin is chosen.)
                continue;
            }
            let (ra, rb, rc) = (sa - la, sb - lb, sc - lc);
            if lc < p.min_leaf || rc < p.min_leaf {
                continue;
            }
            if lb < p.min_b || rb < p.min_b {
                continue;
            }
            let gain = la * la / (lb + p.lambda) + ra * ra / (rb + p.lambda) - parent;
            if gain > 1e-12 && best.is_none_or(|(g, ..)| gain > g) {
                best = Some((gain, k, [la, lb, lc]));
            }
        }
        best
    }

    /// Whether a node of `depth` with `cover` on `rows` rows may split at all.
    fn may_split(&self, depth: usize, cover: f64, rows: usize) -> bool {
        depth < self.params.max_depth && cover >= 2.0 * self.params.min_leaf && rows >= 2
    }

    /// Grows the node on `rows` (at `start` in the tree's row slice) with totals
    /// `[a, b, cover]`; `hist`, its joint histograms of the tree's groups, is present when
    /// it may split (a per-node grower builds its own).
    fn grow(
        &mut self,
        rows: &mut [u32],
        start: usize,
        depth: usize,
        totals: [f64; 3],
        hist: Option<Hist>,
    ) -> u32 {
        let p = self.params;
        let d = self.data;
        let [sa, sb, sc] = totals;
        let id = self.nodes.len() as u32;
        self.nodes.push(Node {
            feature: u32::MAX,
            threshold: 0.0,
            split_bin: 0,
            left: 0,
            right: 0,
            value: sa / (sb + p.lambda),
            cover: sc,
            gain: 0.0,
        });
        let end = start + rows.len();
        let leaf = |g: &mut Self| {
            g.leaves.push((id, start, end));
            id
        };
        if !self.may_split(depth, sc, rows.len()) {
            return leaf(self);
        }
        let nf = self.columns.len();
        let candidates: Vec<usize> = match p.mtry {
            Some(m) if m < nf => {
                // Partial Fisher-Yates: m distinct columns.
                let mut all = self.columns.clone();
                for k in 0..m {
                    let j = k + self.rng.below((nf - k) as u64) as usize;
                    all.swap(k, j);
                }
                all.truncate(m);
                all
            }
            _ => self.columns.clone(),
        };
        let hist = match hist {
            Some(h) => h,
            None if self.per_node => self.histogram(rows, groups_of(d, &candidates)),
            None => return leaf(self),
        };
        // Each candidate's best split (in parallel on large nodes), then the best of them:
        // the highest gain, the first column and bin on a tie, as one serial scan.
        let split_of = |&f: &usize| {
            self.best_split(&hist, f, totals)
                .map(|(gain, k, lt)| (gain, f, k, lt))
        };
        let per_column: Vec<_> = if rows.len() >= 4_096 {
            candidates.par_iter().map(split_of).collect()
        } else {
            candidates.iter().map(split_of).collect()
        };
        let mut best: Option<(f64, usize, usize, [f64; 3])> = None;
        for c in per_column.into_iter().flatten() {
            if best.is_none_or(|(g, ..)| c.0 > g) {
                best = Some(c);
            }
        }
        let Some((gain, f, k, lt)) = best else {
            return leaf(self);
        };
        let rt = [sa - lt[0], sb - lt[1], sc - lt[2]];
        // Stable partition (bin <= k to the front): rows stay in ascending order on each
        // side, so histogram passes read memory in order. Large nodes partition chunks in
        // parallel and concatenate them in order: the same result.
        let col = &d.codes[f];
        let goes_left = |r: u32| usize::from(col[r as usize]) <= k;
        let split = if rows.len() >= 2 * PARTITION_CHUNK {
            let parts: Vec<(Vec<u32>, Vec<u32>)> = rows
                .par_chunks(PARTITION_CHUNK)
                .map(|c| partition(c, goes_left))
                .collect();
            let mut at = 0;
            for side in [0, 1] {
                for part in &parts {
                    let run = if side == 0 { &part.0 } else { &part.1 };
                    rows[at..at + run.len()].copy_from_slice(run);
                    at += run.len();
                }
            }
            parts.iter().map(|p| p.0.len()).sum()
        } else {
            let (left, right) = partition(rows, goes_left);
            rows[..left.len()].copy_from_slice(&left);
            rows[left.len()..].copy_from_slice(&right);
            left.len()
        };
        if split == 0 || split == rows.len() {
            return leaf(self);
        }
        let (left_rows, right_rows) = rows.split_at_mut(split);
        let left_may = self.may_split(depth + 1, lt[2], left_rows.len());
        let right_may = self.may_split(depth + 1, rt[2], right_rows.len());
        // The smaller child's histograms by a pass, the larger's by subtraction, and
        // none for children that will be leaves.
        let (lh, rh) = if self.per_node || (!left_may && !right_may) {
            (None, None)
        } else {
            let small_left = left_rows.len() <= right_rows.len();
            let small = self.histogram(
                if small_left { left_rows } else { right_rows },
                self.groups.clone(),
            );
            let mut large = hist;
            for (l, s) in large.cells.iter_mut().zip(&small.cells) {
                l[0] -= s[0];
                l[1] -= s[1];
                l[2] -= s[2];
            }
            if small_left {
                (Some(small), Some(large))
            } else {
                (Some(large), Some(small))
            }
        };
        let left = self.grow(left_rows, start, depth + 1, lt, lh);
        let right = self.grow(right_rows, start + split, depth + 1, rt, rh);
        let node = &mut self.nodes[id as usize];
        node.feature = f as u32;
        node.split_bin = k as u16;
        node.threshold = d.edges.edges[f][k];
        node.left = left;
        node.right = right;
        node.gain = gain;
        id
    }
}

/// The rows that go left and those that go right, each in their order. Branch-free: each
/// row is written to both sides and only the side it belongs to moves on (a split's
/// direction is as good as random to the branch predictor).
fn partition(rows: &[u32], goes_left: impl Fn(u32) -> bool) -> (Vec<u32>, Vec<u32>) {
    let (mut left, mut right) = (vec![0u32; rows.len()], vec![0u32; rows.len()]);
    let (mut l, mut r) = (0, 0);
    for &row in rows {
        let go = usize::from(goes_left(row));
        left[l] = row;
        right[r] = row;
        l += go;
        r += 1 - go;
    }
    left.truncate(l);
    right.truncate(r);
    (left, right)
}

/// A grown tree, and each leaf with the range of `rows` (as partitioned) that reached it.
pub(crate) struct Grown {
    pub tree: Tree,
    pub leaves: Vec<(u32, usize, usize)>,
}

/// Grows one tree on `rows` with per-row statistics `abc[r] = [a, b, cover]`. On return
/// `rows` is partitioned so that each leaf's rows are contiguous.
pub(crate) fn grow_tree(
    data: &Binned,
    abc: &[[f64; 3]],
    rows: &mut [u32],
    params: GrowParams,
    seed: u64,
) -> Grown {
    let mut totals = [0.0; 3];
    for &r in rows.iter() {
        let v = abc[r as usize];
        totals[0] += v[0];
        totals[1] += v[1];
        totals[2] += v[2];
    }
    if data.columns() == 0 || rows.is_empty() {
        let [sa, sb, sc] = totals;
        return Grown {
            tree: Tree {
                nodes: vec![Node {
                    feature: u32::MAX,
                    threshold: 0.0,
                    split_bin: 0,
                    left: 0,
                    right: 0,
                    value: sa / (sb + params.lambda).max(f64::MIN_POSITIVE),
                    cover: sc,
                    gain: 0.0,
                }],
            },
            leaves: vec![(0, 0, rows.len())],
        };
    }
    let mut rng = Rng::new(seed);
    let all = data.columns();
    let columns: Vec<usize> = match params.colsample {
        c if c < 1.0 => {
            // Partial Fisher-Yates: this tree's columns, then in ascending order.
            let m = ((c * all as f64).round() as usize).clamp(1, all);
            let mut pick: Vec<usize> = (0..all).collect();
            for k in 0..m {
                let j = k + rng.below((all - k) as u64) as usize;
                pick.swap(k, j);
            }
            pick.truncate(m);
            pick.sort_unstable();
            pick
        }
        _ => (0..all).collect(),
    };
    let groups = groups_of(data, &columns);
    let per_node = params
        .mtry
        .is_some_and(|m| m < columns.len() && 2 * m <= groups.len());
    let mut g = Grower {
        data,
        abc,
        params,
        rng,
        nodes: Vec::new(),
        leaves: Vec::new(),
        columns,
        groups,
        per_node,
    };
    let hist = (!per_node && g.may_split(0, totals[2], rows.len()))
        .then(|| g.histogram(rows, g.groups.clone()));
    g.grow(rows, 0, 0, totals, hist);
    Grown {
        tree: Tree { nodes: g.nodes },
        leaves: g.leaves,
    }
}

/// Per row of `x`, the sum of the trees' values, added in tree order. Blocks of rows run
/// in parallel, and within a block tree by tree (a tree's nodes stay in cache across the
/// block's rows); each row's sum is taken in the same order either way, so the result does
/// not depend on the threads.
fn sum_of_trees(x: ArrayView2<f64>, trees: &[Tree]) -> Vec<f64> {
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

fn weights(w: Option<&[f64]>, n: usize) -> Vec<f64> {
    w.map(<[f64]>::to_vec).unwrap_or_else(|| vec![1.0; n])
}

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

/// Most rows one tree of a forest or of a boosted ensemble is grown on. Past it, a forest's
/// tree draws this many rows with replacement (scikit-learn's `max_samples`) and a boosted
/// tree samples this many on average (a smaller `subsample`). On the 100,000-account book
/// (1.3 M labelled rows) that is five to six times less work per tree at the same test
/// AUC; books up to this size fit exactly as before (docs/decisions.md 23).
pub const MAX_TREE_ROWS: usize = 200_000;

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

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// Hand-checkable: x in 0..10, y = 1 for x >= 7. One split at 6.5 separates them.
    #[test]
    fn a_stump_finds_the_clean_cut() {
        let x = Array2::from_shape_fn((10, 1), |(i, _)| i as f64);
        let y: Vec<f64> = (0..10).map(|i| f64::from(u8::from(i >= 7))).collect();
        let t = DecisionTree::fit(x.view(), &y, None, 1, 1.0);
        let root = &t.tree.nodes[0];
        assert_eq!(root.threshold, 6.5);
        assert_eq!(root.cover, 10.0);
        // Gini gain: parent 3^2/10 = 0.9; children 0 + 3^2/3 = 3; gain 2.1.
        assert!((root.gain - 2.1).abs() < 1e-12);
        assert_eq!(t.proba(x.view()), y);
    }

    /// Hand-checked: the rows going left and right, each in their order.
    #[test]
    fn partition_is_stable() {
        let (l, r) = partition(&[5, 1, 4, 2, 3, 8], |r| r % 2 == 1);
        assert_eq!((l, r), (vec![5, 1, 3], vec![4, 2, 8]));
        let (l, r) = partition(&[], |_| true);
        assert!(l.is_empty() && r.is_empty());
    }

    /// Large enough for every parallel path (histogram parts, chunked partitions, row-block
    /// binning): the trees are the same, bit for bit, on 1 and 3 threads.
    #[test]
    fn trees_are_identical_whatever_the_thread_count() {
        let n = 3 * PARTITION_CHUNK + 1_234;
        let mut rng = Rng::new(11);
        let x = ndarray::Array2::from_shape_fn((n, 12), |(_, j)| match j {
            0..4 => f64::from(u8::from(rng.f64() < 0.3)),
            4..6 => (rng.f64() * 7.0).floor(),
            _ => rng.f64() * 100.0,
        });
        let y: Vec<f64> = (0..n)
            .map(|i| {
                let z = x[[i, 0]] * 1.5 + x[[i, 4]] * 0.3 - x[[i, 6]] * 0.02 + rng.f64();
                f64::from(u8::from(z > 0.8))
            })
            .collect();
        let p = BoostParams {
            max_trees: 4,
            max_depth: 4,
            learning_rate: 0.3,
            lambda: 1.0,
            min_leaf: 20.0,
            subsample: 0.8,
            colsample: 1.0,
        };
        let fit = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                (
                    Boost::fit(x.view(), &y, None, p, None, 3),
                    Forest::fit(x.view(), &y, None, 3, 4, 20.0, 3),
                )
            })
        };
        let (one, three) = (fit(1), fit(3));
        assert!(one.0.trees.iter().all(|t| t.depth() == 4));
        assert_eq!(one, three);
    }

    /// A histogram of some groups (a forest node's draw) holds, slot for slot, the same
    /// sums as those groups' cells in a histogram of every group: each cell is summed in
    /// row order either way, with or without parts (4,096 rows and more).
    #[test]
    fn a_histogram_of_some_groups_is_those_groups_of_the_whole_one() {
        let n = 5_000;
        let mut rng = Rng::new(5);
        let x = Array2::from_shape_fn((n, 9), |(_, j)| match j {
            0..3 => f64::from(u8::from(rng.f64() < 0.4)),
            _ => (rng.f64() * 40.0).floor(),
        });
        let abc: Vec<[f64; 3]> = (0..n)
            .map(|i| [i as f64 * 0.5, 1.0 + (i % 7) as f64, 1.0])
            .collect();
        let data = Binned::new(x.view());
        let all: Vec<usize> = (0..data.groups.len()).collect();
        assert!(all.len() >= 4, "{} groups", all.len());
        let g = Grower {
            data: &data,
            abc: &abc,
            params: GrowParams {
                max_depth: 1,
                min_leaf: 1.0,
                min_b: 0.0,
                lambda: 0.0,
                mtry: None,
                colsample: 1.0,
            },
            rng: Rng::new(1),
            nodes: Vec::new(),
            leaves: Vec::new(),
            columns: (0..9).collect(),
            groups: all.clone(),
            per_node: false,
        };
        // Every third row: a node's sparse subset.
        let rows: Vec<u32> = (0..n as u32).step_by(3).collect();
        let some = vec![all[1], all[all.len() - 1]];
        for rows in [&rows[..], &(0..n as u32).collect::<Vec<_>>()[..]] {
            let whole = g.histogram(rows, all.clone());
            let part = g.histogram(rows, some.clone());
            for (slot, &grp) in some.iter().enumerate() {
                assert_eq!(
                    part.cells[slot * GROUP_CELLS..(slot + 1) * GROUP_CELLS],
                    whole.cells[grp * GROUP_CELLS..(grp + 1) * GROUP_CELLS]
                );
            }
            // The cover of any one group's cells is the node's row count.
            let cover: f64 = part.cells[..GROUP_CELLS].iter().map(|c| c[2]).sum();
            assert_eq!(cover, rows.len() as f64);
        }
    }

    /// With `colsample` 0.25 of 8 columns each boosted tree splits on 2 columns at most,
    /// and the trees between them reach more than 2 (each draws its own).
    #[test]
    fn each_boosted_tree_splits_on_its_own_share_of_the_columns() {
        let n = 2_000;
        let mut rng = Rng::new(9);
        let x = Array2::from_shape_fn((n, 8), |_| rng.f64());
        let y: Vec<f64> = (0..n)
            .map(|i| f64::from(u8::from(x.row(i).sum() + rng.f64() > 4.5)))
            .collect();
        let p = BoostParams {
            max_trees: 20,
            max_depth: 3,
            learning_rate: 0.3,
            lambda: 1.0,
            min_leaf: 5.0,
            subsample: 1.0,
            colsample: 0.25,
        };
        let b = Boost::fit(x.view(), &y, None, p, None, 4);
        let mut seen = std::collections::BTreeSet::new();
        for t in &b.trees {
            let used: std::collections::BTreeSet<u32> = t
                .nodes
                .iter()
                .filter(|n| !n.is_leaf())
                .map(|n| n.feature)
                .collect();
            assert!(!used.is_empty() && used.len() <= 2, "{used:?}");
            seen.extend(used);
        }
        assert!(seen.len() > 2, "{seen:?}");
    }

    /// `raw_set` against brute force: the observed scores are `raw`'s, and each setting
    /// equals `raw` on a copy of `x` with the column set (to float rounding: the trees
    /// are summed in another order). A column no tree splits on changes nothing.
    #[test]
    fn counterfactual_scores_match_setting_the_column() {
        let n = 1_500;
        let mut rng = Rng::new(3);
        let mut x = Array2::from_shape_fn((n, 5), |_| rng.f64());
        for i in 0..n {
            x[[i, 3]] = f64::from(u8::from(rng.f64() < 0.3));
            x[[i, 4]] = 0.0;
        }
        let y: Vec<f64> = (0..n)
            .map(|i| f64::from(u8::from(x[[i, 0]] + 0.8 * x[[i, 3]] + rng.f64() > 1.4)))
            .collect();
        let p = BoostParams {
            max_trees: 40,
            max_depth: 3,
            learning_rate: 0.2,
            lambda: 1.0,
            min_leaf: 5.0,
            subsample: 1.0,
            colsample: 1.0,
        };
        let b = Boost::fit(x.view(), &y, None, p, None, 5);
        let (observed, set) = b.raw_set(x.view(), &[3, 4], &[0.0, 1.0]);
        let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(u, v)| (u - v).abs() < 1e-9);
        assert!(close(&observed, &b.raw(x.view())));
        for (c, col) in [3usize, 4].iter().enumerate() {
            for (k, v) in [0.0, 1.0].iter().enumerate() {
                let mut xs = x.clone();
                xs.column_mut(*col).fill(*v);
                assert!(close(&set[c][k], &b.raw(xs.view())), "column {col} = {v}");
            }
        }
        // Column 3 matters (its two settings differ somewhere); column 4 is never split
        // on, so both settings give the observed scores.
        assert!(
            set[0][0]
                .iter()
                .zip(&set[0][1])
                .any(|(a, b)| (a - b).abs() > 1e-6)
        );
        assert_eq!(set[1][0], set[1][1]);
    }

    /// A subset's bin codes are the whole matrix's codes of those rows.
    #[test]
    fn selected_rows_keep_their_bin_codes() {
        let x = Array2::from_shape_fn((300, 3), |(i, j)| ((i * (j + 3)) % 17) as f64);
        let all = Binned::new(x.view());
        let rows = [5, 0, 299, 42, 42];
        let sub = all.select(&rows);
        assert_eq!(sub.rows, rows.len());
        let ng = all.groups.len();
        for (k, &i) in rows.iter().enumerate() {
            for f in 0..3 {
                assert_eq!(sub.codes[f][k], all.codes[f][i]);
            }
            assert_eq!(
                sub.row_codes[k * ng..(k + 1) * ng],
                all.row_codes[i * ng..(i + 1) * ng]
            );
        }
    }

    /// Past [`MAX_TREE_ROWS`] a tree grows on that many rows: a forest's tree draws
    /// exactly that many (its root covers them), a boosted tree samples that many on
    /// average. Below it, every row: a forest's tree draws n, a booster with subsample 1
    /// takes all n.
    #[test]
    fn trees_grow_on_at_most_max_tree_rows() {
        let n = MAX_TREE_ROWS + 50_000;
        let x = Array2::from_shape_fn((n, 1), |(i, _)| (i % 100) as f64);
        let y: Vec<f64> = (0..n).map(|i| f64::from(u8::from(i % 100 >= 70))).collect();
        let p = BoostParams {
            max_trees: 3,
            max_depth: 1,
            learning_rate: 0.1,
            lambda: 1.0,
            min_leaf: 1.0,
            subsample: 1.0,
            colsample: 1.0,
        };
        let forest = Forest::fit(x.view(), &y, None, 2, 1, 1.0, 7);
        for t in &forest.trees {
            assert_eq!(t.nodes[0].cover, MAX_TREE_ROWS as f64);
        }
        // The subsample is lowered to 200,000 / 250,000 = 0.8: a binomial count with a
        // standard deviation of 200 rows.
        let boost = Boost::fit(x.view(), &y, None, p, None, 7);
        assert_eq!(boost.trees.len(), 3);
        for t in &boost.trees {
            let c = t.nodes[0].cover;
            assert!((c - MAX_TREE_ROWS as f64).abs() < 1_500.0, "{c}");
        }
        let small = 1_000;
        let xs = x.slice(ndarray::s![..small, ..]);
        let forest = Forest::fit(xs, &y[..small], None, 2, 1, 1.0, 7);
        for t in &forest.trees {
            assert_eq!(t.nodes[0].cover, small as f64);
        }
        let boost = Boost::fit(xs, &y[..small], None, p, None, 7);
        for t in &boost.trees {
            assert_eq!(t.nodes[0].cover, small as f64);
        }
    }
}
