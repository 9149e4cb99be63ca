//! Growing one tree on binned rows with per-row statistics: histograms, split finding,
//! partitions (LightGBM's treelearner/). Every ensemble grows its trees here.

use rayon::prelude::*;

use super::bins::{Binned, GROUP_CELLS};
use super::node::{Node, Tree};
use crate::common::rng::Rng;

/// Rows per task when a large node's rows are partitioned in parallel.
pub(super) const PARTITION_CHUNK: usize = 32_768;

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

/// Joint histograms of some groups: `cells[s * GROUP_CELLS..]` is group `groups[s]`'s.
pub(super) struct Hist {
    pub(super) groups: Vec<usize>,
    pub(super) cells: Vec<[f64; 3]>,
}

pub(super) struct Grower<'a> {
    pub(super) data: &'a Binned,
    /// Per row (a, b, cover), packed so a histogram update reads one cache line.
    pub(super) abc: &'a [[f64; 3]],
    pub(super) params: GrowParams,
    pub(super) rng: Rng,
    pub(super) nodes: Vec<Node>,
    /// Each leaf and the range of the row slice that reached it.
    pub(super) leaves: Vec<(u32, usize, usize)>,
    /// The columns this tree may split on (all, or its sample), ascending.
    pub(super) columns: Vec<usize>,
    /// The groups holding them, ascending: the slots of the tree's histograms.
    pub(super) groups: Vec<usize>,
    /// Whether each node draws its `mtry` columns and builds the histograms of their
    /// groups alone from its rows (no subtraction): cheaper than a child's pass over every
    /// group when the draw covers under half of them (a forest on a wide design).
    pub(super) per_node: bool,
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
    pub(super) fn histogram(&self, rows: &[u32], groups: Vec<usize>) -> Hist {
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
pub(super) fn partition(rows: &[u32], goes_left: impl Fn(u32) -> bool) -> (Vec<u32>, Vec<u32>) {
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
