//! Exact path-dependent TreeSHAP (Lundberg et al. 2018, "Consistent individualized
//! feature attribution for tree ensembles", Algorithm 2): the Shapley value of every
//! design column for one row of one tree, in O(leaves x depth^2), using the node covers
//! recorded at training time for the conditional expectations.

use crate::model::tree::Tree;

#[derive(Clone, Copy, Debug)]
struct PathElem {
    /// Design column split on (-1 for the root element).
    d: i64,
    /// Share of cover that flows down this path when the feature is unknown.
    z: f64,
    /// 1 when the row's value takes this path, else 0.
    o: f64,
    /// Permutation weight.
    w: f64,
}

fn extend(m: &mut Vec<PathElem>, pz: f64, po: f64, pi: i64) {
    let l = m.len();
    m.push(PathElem {
        d: pi,
        z: pz,
        o: po,
        w: if l == 0 { 1.0 } else { 0.0 },
    });
    for i in (0..l).rev() {
        m[i + 1].w += po * m[i].w * (i + 1) as f64 / (l + 1) as f64;
        m[i].w = pz * m[i].w * (l - i) as f64 / (l + 1) as f64;
    }
}

fn unwind(m: &mut Vec<PathElem>, i: usize) {
    let l = m.len() - 1;
    let mut n = m[l].w;
    let (o, z) = (m[i].o, m[i].z);
    for j in (0..l).rev() {
        if o != 0.0 {
            let t = m[j].w;
            m[j].w = n * (l + 1) as f64 / ((j + 1) as f64 * o);
            n = t - m[j].w * z * (l - j) as f64 / (l + 1) as f64;
        } else {
            m[j].w = m[j].w * (l + 1) as f64 / (z * (l - j) as f64);
        }
    }
    for j in i..l {
        m[j].d = m[j + 1].d;
        m[j].z = m[j + 1].z;
        m[j].o = m[j + 1].o;
    }
    m.pop();
}

fn unwound_sum(m: &[PathElem], i: usize) -> f64 {
    let l = m.len() - 1;
    let (o, z) = (m[i].o, m[i].z);
    let mut total = 0.0;
    if o != 0.0 {
        let mut n = m[l].w;
        for j in (0..l).rev() {
            let t = n * (l + 1) as f64 / ((j + 1) as f64 * o);
            total += t;
            n = m[j].w - t * z * (l - j) as f64 / (l + 1) as f64;
        }
    } else {
        for j in (0..l).rev() {
            total += m[j].w * (l + 1) as f64 / (z * (l - j) as f64);
        }
    }
    total
}

/// Reusable path buffers, one per depth, so a row's recursion allocates nothing.
#[derive(Default)]
pub(crate) struct Scratch {
    paths: Vec<Vec<PathElem>>,
}

#[allow(clippy::too_many_arguments)]
fn recurse(
    t: &Tree,
    x: &[f64],
    phi: &mut [f64],
    j: usize,
    paths: &mut [Vec<PathElem>],
    depth: usize,
    pz: f64,
    po: f64,
    pi: i64,
) {
    // This node's path: the parent's (one level up), extended.
    let (parents, rest) = paths.split_at_mut(depth);
    let Some(m) = rest.first_mut() else {
        return;
    };
    m.clear();
    if let Some(parent) = parents.last() {
        m.extend_from_slice(parent);
    }
    extend(m, pz, po, pi);
    let n = &t.nodes[j];
    if n.is_leaf() {
        for i in 1..m.len() {
            let w = unwound_sum(m, i);
            phi[m[i].d as usize] += w * (m[i].o - m[i].z) * n.value;
        }
        return;
    }
    let d = n.feature as usize;
    let (hot, cold) = if x[d] <= n.threshold {
        (n.left as usize, n.right as usize)
    } else {
        (n.right as usize, n.left as usize)
    };
    let (mut iz, mut io) = (1.0, 1.0);
    if let Some(k) = (1..m.len()).find(|&k| m[k].d == d as i64) {
        iz = m[k].z;
        io = m[k].o;
        unwind(m, k);
    }
    let cover = n.cover.max(f64::MIN_POSITIVE);
    let (hc, cc) = (t.nodes[hot].cover, t.nodes[cold].cover);
    // Children write only deeper buffers, so this node's path is intact for the second.
    recurse(
        t,
        x,
        phi,
        hot,
        paths,
        depth + 1,
        iz * hc / cover,
        io,
        d as i64,
    );
    recurse(
        t,
        x,
        phi,
        cold,
        paths,
        depth + 1,
        iz * cc / cover,
        0.0,
        d as i64,
    );
}

/// Adds the SHAP values of `tree` at row `x` into `phi` (one slot per design column).
#[cfg(test)]
pub(crate) fn tree_shap(tree: &Tree, x: &[f64], phi: &mut [f64]) {
    tree_shap_with(tree, x, phi, &mut Scratch::default());
}

/// [`tree_shap`] with buffers reused across rows and trees.
pub(crate) fn tree_shap_with(tree: &Tree, x: &[f64], phi: &mut [f64], scratch: &mut Scratch) {
    if tree.nodes.is_empty() || tree.nodes[0].is_leaf() {
        return;
    }
    // One buffer per level: a tree of depth D has at least 2D + 1 nodes, so this bounds
    // its depth without a walk.
    let need = (tree.nodes.len() - 1) / 2 + 2;
    if scratch.paths.len() < need {
        scratch
            .paths
            .resize_with(need, || Vec::with_capacity(need + 1));
    }
    recurse(tree, x, phi, 0, &mut scratch.paths, 0, 1.0, 1.0, -1);
}

/// Deepest tree [`Compiled`] precomputes; deeper trees (a forest's) are explained by the
/// recursion. A leaf at depth D has 2^D patterns of D entries: at most 32 leaves x 32
/// patterns x 5 entries for a tree of depth 5.
pub(crate) const MAX_COMPILED_DEPTH: usize = 5;

/// A shallow tree's TreeSHAP, compiled. What a leaf adds to a row's contributions depends
/// only on which way the row turned at each of the leaf's ancestors (towards the leaf, or
/// away from it), so for every leaf and every pattern of turns the additions are worked
/// out once, by the same arithmetic [`recurse`] does for that pattern. A row then walks
/// the tree in the recursion's order (the row's own branch first) and adds the entries of
/// each leaf's pattern: the same numbers added in the same order, so the contributions are
/// bit-for-bit the recursion's (a test compares them), at O(leaves x depth) a row instead
/// of O(leaves x depth^2) with divisions.
pub(crate) struct Compiled {
    /// Per node; for a leaf, where its patterns start in `table`.
    start: Vec<usize>,
    /// Per node; for a leaf, the entries of one pattern (its path's distinct features).
    width: Vec<usize>,
    /// (design column, addition), pattern after pattern, leaf after leaf.
    table: Vec<(u32, f64)>,
    /// For a tree of at most [`MAX_FLAT_SPLITS`] splits, the walk itself laid out.
    flat: Option<Flat>,
}

/// Most splits a tree may have for [`Flat`]: 7 (a full tree of depth 3) makes 128
/// outcomes of at most 24 additions each.
const MAX_FLAT_SPLITS: usize = 7;

/// A small tree's walk, laid out for every outcome of its splits. The walk visits every
/// node whichever way the row goes; only the order (the row's own branch first) and the
/// patterns differ, and both follow from which way the row goes at each split. So for
/// each of the 2^splits outcomes the walk's additions are listed once, in the walk's
/// order, and a row adds the list of its outcome: the same additions in the same order,
/// without the recursion.
struct Flat {
    /// The splits: node index, design column, threshold.
    splits: Vec<(usize, usize, f64)>,
    /// Per outcome, where its additions start in `entries` (and one past the last).
    start: Vec<usize>,
    entries: Vec<(u32, f64)>,
}

impl Compiled {
    /// None for a tree deeper than [`MAX_COMPILED_DEPTH`].
    pub(crate) fn new(t: &Tree) -> Option<Compiled> {
        if t.depth() > MAX_COMPILED_DEPTH {
            return None;
        }
        let mut c = Compiled {
            start: vec![0; t.nodes.len()],
            width: vec![0; t.nodes.len()],
            table: Vec::new(),
            flat: None,
        };
        if t.nodes.is_empty() || t.nodes[0].is_leaf() {
            return Some(c);
        }
        // Depth-first; each entry is a node and its ancestors with the child taken.
        let mut stack: Vec<(usize, Vec<(usize, usize)>)> = vec![(0, Vec::new())];
        let mut m: Vec<PathElem> = Vec::new();
        while let Some((j, ancestors)) = stack.pop() {
            let n = &t.nodes[j];
            if !n.is_leaf() {
                for child in [n.left as usize, n.right as usize] {
                    let mut a = ancestors.clone();
                    a.push((j, child));
                    stack.push((child, a));
                }
                continue;
            }
            c.start[j] = c.table.len();
            for pattern in 0..1usize << ancestors.len() {
                // The recursion's path to this leaf when the row turns towards it at the
                // ancestors whose bit is set.
                m.clear();
                extend(&mut m, 1.0, 1.0, -1);
                for (a, &(node, child)) in ancestors.iter().enumerate() {
                    let p = &t.nodes[node];
                    let d = p.feature as usize;
                    let (mut iz, mut io) = (1.0, 1.0);
                    if let Some(k) = (1..m.len()).find(|&k| m[k].d == d as i64) {
                        iz = m[k].z;
                        io = m[k].o;
                        unwind(&mut m, k);
                    }
                    let cover = p.cover.max(f64::MIN_POSITIVE);
                    let towards = pattern >> a & 1 == 1;
                    let po = if towards { io } else { 0.0 };
                    extend(&mut m, iz * t.nodes[child].cover / cover, po, d as i64);
                }
                for i in 1..m.len() {
                    let w = unwound_sum(&m, i);
                    c.table
                        .push((m[i].d as u32, w * (m[i].o - m[i].z) * n.value));
                }
                c.width[j] = m.len() - 1;
            }
        }
        c.flat = c.flatten(t);
        Some(c)
    }

    /// The walk laid out per outcome of the splits; None past [`MAX_FLAT_SPLITS`].
    fn flatten(&self, t: &Tree) -> Option<Flat> {
        let splits: Vec<(usize, usize, f64)> = (t.nodes.iter().enumerate())
            .filter(|(_, n)| !n.is_leaf())
            .map(|(j, n)| (j, n.feature as usize, n.threshold))
            .collect();
        if splits.len() > MAX_FLAT_SPLITS {
            return None;
        }
        let mut f = Flat {
            start: vec![0],
            entries: Vec::new(),
            splits,
        };
        for outcome in 0..1usize << f.splits.len() {
            // Which way the row goes at each node for this outcome (bit k: split k's
            // test held, so the row goes left).
            let left = |j: usize| {
                let k = f.splits.iter().position(|s| s.0 == j).unwrap_or(0);
                outcome >> k & 1 == 1
            };
            let mut entries = Vec::new();
            self.lay_out(t, &left, 0, 0, 0, &mut entries);
            f.entries.extend(entries);
            f.start.push(f.entries.len());
        }
        Some(f)
    }

    /// [`Compiled::walk`]'s additions in its order, given which way the row goes.
    fn lay_out(
        &self,
        t: &Tree,
        left: &dyn Fn(usize) -> bool,
        j: usize,
        bits: usize,
        depth: usize,
        out: &mut Vec<(u32, f64)>,
    ) {
        let n = &t.nodes[j];
        if n.is_leaf() {
            let w = self.width[j];
            let s = self.start[j] + bits * w;
            out.extend_from_slice(&self.table[s..s + w]);
            return;
        }
        let (hot, cold) = if left(j) {
            (n.left as usize, n.right as usize)
        } else {
            (n.right as usize, n.left as usize)
        };
        self.lay_out(t, left, hot, bits | 1 << depth, depth + 1, out);
        self.lay_out(t, left, cold, bits, depth + 1, out);
    }

    /// Adds the SHAP values of `tree` (the tree this was compiled from) at row `x`.
    pub(crate) fn add(&self, tree: &Tree, x: &[f64], phi: &mut [f64]) {
        if tree.nodes.is_empty() || tree.nodes[0].is_leaf() {
            return;
        }
        if let Some(f) = &self.flat {
            let mut outcome = 0;
            for (k, &(_, d, threshold)) in f.splits.iter().enumerate() {
                // As the walk decides: NaN fails the test and goes right.
                outcome |= usize::from(x[d] <= threshold) << k;
            }
            for &(d, v) in &f.entries[f.start[outcome]..f.start[outcome + 1]] {
                phi[d as usize] += v;
            }
            return;
        }
        self.walk(tree, x, phi, 0, 0, 0);
    }

    fn walk(&self, t: &Tree, x: &[f64], phi: &mut [f64], j: usize, bits: usize, depth: usize) {
        let n = &t.nodes[j];
        if n.is_leaf() {
            let w = self.width[j];
            let s = self.start[j] + bits * w;
            for &(d, v) in &self.table[s..s + w] {
                phi[d as usize] += v;
            }
            return;
        }
        let (hot, cold) = if x[n.feature as usize] <= n.threshold {
            (n.left as usize, n.right as usize)
        } else {
            (n.right as usize, n.left as usize)
        };
        self.walk(t, x, phi, hot, bits | 1 << depth, depth + 1);
        self.walk(t, x, phi, cold, bits, depth + 1);
    }
}

/// The tree's expected output: leaf values weighted by training cover.
pub(crate) fn expected_value(tree: &Tree) -> f64 {
    let root = tree.nodes.first().map(|n| n.cover).unwrap_or(0.0);
    if root <= 0.0 {
        return tree.nodes.first().map(|n| n.value).unwrap_or(0.0);
    }
    tree.nodes
        .iter()
        .filter(|n| n.is_leaf())
        .map(|n| n.value * n.cover / root)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::rng::Rng;
    use crate::model::tree::DecisionTree;
    use crate::model::tree::node::Node;
    use ndarray::Array2;

    /// E[f(x) | x_S] with the tree's covers: follow x on features in S, average the
    /// children by cover otherwise.
    fn cond_exp(t: &Tree, k: usize, x: &[f64], s: u32) -> f64 {
        let n = &t.nodes[k];
        if n.is_leaf() {
            return n.value;
        }
        let (l, r) = (n.left as usize, n.right as usize);
        if s & (1 << n.feature) != 0 {
            cond_exp(
                t,
                if x[n.feature as usize] <= n.threshold {
                    l
                } else {
                    r
                },
                x,
                s,
            )
        } else {
            (t.nodes[l].cover * cond_exp(t, l, x, s) + t.nodes[r].cover * cond_exp(t, r, x, s))
                / n.cover
        }
    }

    fn brute_force(t: &Tree, x: &[f64], p: usize) -> Vec<f64> {
        let fact = |n: usize| (1..=n).map(|v| v as f64).product::<f64>();
        let mut phi = vec![0.0; p];
        for (i, slot) in phi.iter_mut().enumerate() {
            for s in 0u32..(1 << p) {
                if s & (1 << i) != 0 {
                    continue;
                }
                let k = s.count_ones() as usize;
                let w = fact(k) * fact(p - k - 1) / fact(p);
                *slot += w * (cond_exp(t, 0, x, s | (1 << i)) - cond_exp(t, 0, x, s));
            }
        }
        phi
    }

    #[test]
    fn matches_brute_force_shapley_and_adds_up() {
        let mut rng = Rng::new(9);
        let (n, p) = (400, 5);
        let x = Array2::from_shape_fn((n, p), |_| rng.normal());
        // A target with interactions and a repeated feature along paths.
        let y: Vec<f64> = (0..n)
            .map(|i| {
                let z = 1.5 * x[[i, 0]] - x[[i, 1]] * x[[i, 2]] + 0.5 * x[[i, 0]].powi(2);
                f64::from(u8::from(rng.bernoulli(crate::common::math::sigmoid(z))))
            })
            .collect();
        let t = DecisionTree::fit(x.view(), &y, None, 5, 5.0).tree;
        assert!(t.depth() >= 4);
        let base = expected_value(&t);
        for i in 0..50 {
            let row = x.row(i).to_vec();
            let mut phi = vec![0.0; p];
            tree_shap(&t, &row, &mut phi);
            let sum: f64 = phi.iter().sum::<f64>() + base;
            assert!((sum - t.predict_row(&row)).abs() < 1e-9, "additivity");
            let bf = brute_force(&t, &row, p);
            for (a, b) in phi.iter().zip(&bf) {
                assert!((a - b).abs() < 1e-9, "treeshap {a} vs brute force {b}");
            }
        }
    }

    /// The compiled form adds the recursion's numbers in the recursion's order: equal to
    /// the last bit, on trees with repeated features along their paths and on rows with
    /// missing (NaN) values.
    #[test]
    fn compiled_trees_give_the_recursions_values_exactly() {
        let mut rng = Rng::new(21);
        let (n, p) = (600, 4);
        let x = Array2::from_shape_fn((n, p), |_| rng.normal());
        let y: Vec<f64> = (0..n)
            .map(|i| {
                let z = 2.0 * x[[i, 0]] - x[[i, 1]] * x[[i, 0]] + x[[i, 2]].abs();
                f64::from(u8::from(rng.bernoulli(crate::common::math::sigmoid(z))))
            })
            .collect();
        let (mut compared, mut flat) = (0, 0);
        for depth in 1..=MAX_COMPILED_DEPTH {
            let t = DecisionTree::fit(x.view(), &y, None, depth, 3.0).tree;
            let c = Compiled::new(&t).expect("shallow enough to compile");
            // Up to seven splits the walk is laid out per outcome; past that it walks.
            let splits = t.nodes.iter().filter(|n| !n.is_leaf()).count();
            assert_eq!(c.flat.is_some(), splits <= MAX_FLAT_SPLITS, "depth {depth}");
            flat += usize::from(c.flat.is_some());
            for i in 0..n {
                let mut row = x.row(i).to_vec();
                if i % 7 == 0 {
                    row[0] = f64::NAN;
                }
                let (mut a, mut b) = (vec![0.0; p], vec![0.0; p]);
                tree_shap(&t, &row, &mut a);
                c.add(&t, &row, &mut b);
                assert_eq!(
                    a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    b.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    "depth {depth}, row {i}: {a:?} vs {b:?}"
                );
                compared += 1;
            }
        }
        assert_eq!(compared, MAX_COMPILED_DEPTH * n);
        // Both ways were compared: depths 1 to 3 laid out, deeper ones walked.
        assert!((3..MAX_COMPILED_DEPTH).contains(&flat), "{flat} laid out");
        let deep = DecisionTree::fit(x.view(), &y, None, MAX_COMPILED_DEPTH + 3, 1.0).tree;
        assert!(deep.depth() > MAX_COMPILED_DEPTH);
        assert!(
            Compiled::new(&deep).is_none(),
            "deep trees keep the recursion"
        );
    }

    /// Hand-computed: a stump on x0 at 0 with leaves 0 (cover 3) and 1 (cover 1).
    /// Base = 0.25; a row going right gets phi0 = 0.75, going left -0.25.
    #[test]
    fn stump_by_hand() {
        let leaf = |v: f64, c: f64| Node {
            feature: u32::MAX,
            threshold: 0.0,
            split_bin: 0,
            left: 0,
            right: 0,
            value: v,
            cover: c,
            gain: 0.0,
        };
        let t = Tree {
            nodes: vec![
                Node {
                    feature: 0,
                    threshold: 0.0,
                    split_bin: 0,
                    left: 1,
                    right: 2,
                    value: 0.25,
                    cover: 4.0,
                    gain: 1.0,
                },
                leaf(0.0, 3.0),
                leaf(1.0, 1.0),
            ],
        };
        assert_eq!(expected_value(&t), 0.25);
        let mut phi = vec![0.0; 2];
        tree_shap(&t, &[1.0, 5.0], &mut phi);
        assert_eq!(phi, vec![0.75, 0.0]);
        let mut phi = vec![0.0; 2];
        tree_shap(&t, &[-1.0, 5.0], &mut phi);
        assert_eq!(phi, vec![-0.25, 0.0]);
    }
}
