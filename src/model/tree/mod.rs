//! Histogram trees: one grower serves the readable decision tree, the random forest and
//! gradient boosting.
//!
//! Every design column is cut into at most 255 bins (`bins::MAX_BINS`) at midpoints between
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
//!
//! The code keeps LightGBM's three rooms: [`bins`] (the binned design, its io),
//! [`learner`] (growing one tree), and the ensembles built from it, [`forest`] (the
//! decision tree and the random forest) and [`boosting`]; [`node`] holds the fitted tree
//! itself and what every ensemble shares.

mod bins;
mod boosting;
mod forest;
mod learner;
pub(crate) mod node;

pub(crate) use bins::Binned;
pub use boosting::{Boost, BoostParams};
pub use forest::{DecisionTree, Forest};
#[cfg(test)]
use node::MAX_TREE_ROWS;
pub use node::Tree;
pub(crate) use node::each_setting;

#[cfg(test)]
mod tests {
    use super::bins::GROUP_CELLS;
    use super::learner::{GrowParams, Grower, PARTITION_CHUNK, partition};
    use super::*;
    use crate::common::rng::Rng;
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
