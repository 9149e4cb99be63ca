//! Per-row contributions of every design column to a model's log-odds, for every model
//! family, adding up (with the base value) to the model's raw prediction.
//!
//! - logistic: `coef_j * (x_j - reference_j)`, the reference being the training mean of
//!   the design column, so the base value is the log-odds at the average account;
//! - gradient boosting: exact path-dependent TreeSHAP summed over trees (already in
//!   log-odds);
//! - decision tree and random forest predict probabilities: TreeSHAP in probability
//!   (averaged over trees for the forest), then every value scaled by
//!   `(logit(f) - logit(base)) / (f - base)`, so that they add up in log-odds too.
//!   The scaling keeps each feature's share and sign; it is the usual way to report
//!   probability-space SHAP values on the log-odds scale.

pub mod drivers;
pub(crate) mod treeshap;

use ndarray::ArrayView2;
use rayon::prelude::*;

use crate::common::math::logit;
use crate::model::Model;
use crate::model::prep::Preprocessor;

/// Contributions for one row.
#[derive(Clone, Debug, PartialEq)]
pub struct RowContributions {
    /// The model's log-odds at the reference (expected) input.
    pub base: f64,
    /// One value per design column, in log-odds.
    pub values: Vec<f64>,
}

/// Moves probability-space contributions to log-odds, keeping their shares.
fn to_log_odds(base_p: f64, f_p: f64, mut values: Vec<f64>) -> RowContributions {
    let base = logit(base_p);
    let target = logit(f_p) - base;
    let sum: f64 = values.iter().sum();
    if sum.abs() > 1e-12 {
        let scale = target / sum;
        values.iter_mut().for_each(|v| *v *= scale);
    } else if target.abs() > 1e-12 {
        // The clamp moved the output although no feature did: give it to nobody but keep
        // additivity by adjusting the base.
        return RowContributions {
            base: base + target,
            values,
        };
    }
    RowContributions { base, values }
}

/// Contributions of every row of `x` (a design matrix from `prep`). `reference` is the
/// training mean of each design column (used by the logistic model).
pub fn contributions(
    model: &Model,
    x: ArrayView2<f64>,
    reference: &[f64],
) -> Vec<RowContributions> {
    let p = x.ncols();
    // The trees' expected outputs do not depend on the row: once per model.
    // (Summed in the order the per-row loop used to add them, so the base is unchanged.)
    let expected = |start: f64, trees: &[crate::model::tree::Tree]| -> f64 {
        trees
            .iter()
            .fold(start, |acc, t| acc + treeshap::expected_value(t))
    };
    let base_all = match model {
        Model::GradientBoosting(b) => expected(b.base, &b.trees),
        Model::DecisionTree(d) => treeshap::expected_value(&d.tree),
        Model::RandomForest(rf) => expected(0.0, &rf.trees) / rf.trees.len().max(1) as f64,
        Model::Logistic(_) => 0.0,
    };
    // Shallow trees compiled once per call (a boosted model's 600 trees in milliseconds);
    // deeper ones are explained by the recursion.
    let trees: &[crate::model::tree::Tree] = match model {
        Model::GradientBoosting(b) => &b.trees,
        Model::DecisionTree(d) => std::slice::from_ref(&d.tree),
        Model::RandomForest(rf) => &rf.trees,
        Model::Logistic(_) => &[],
    };
    let compiled: Vec<Option<treeshap::Compiled>> =
        trees.par_iter().map(treeshap::Compiled::new).collect();
    let shap = |k: usize, row: &[f64], values: &mut [f64], scratch: &mut treeshap::Scratch| {
        match &compiled[k] {
            Some(c) => c.add(&trees[k], row, values),
            None => treeshap::tree_shap_with(&trees[k], row, values, scratch),
        }
    };
    // Rows are independent: blocks of rows in parallel, collected in row order. Within a
    // block the trees go one at a time over every row, so a tree's nodes and compiled
    // table stay in cache; each row still adds its trees in model order, so the sums
    // are the same numbers added in the same order as row by row.
    let n = x.nrows();
    let blocks: Vec<Vec<RowContributions>> = (0..n.div_ceil(ROW_BLOCK))
        .into_par_iter()
        .map_init(treeshap::Scratch::default, |scratch, b| {
            let rows: Vec<Vec<f64>> = (b * ROW_BLOCK..n.min((b + 1) * ROW_BLOCK))
                .map(|i| x.row(i).to_vec())
                .collect();
            // Every row's values, summed over the trees (and their predictions in `also`).
            let mut each_tree = |mut also: Option<&mut [f64]>| {
                let mut values = vec![vec![0.0; p]; rows.len()];
                for (k, t) in trees.iter().enumerate() {
                    for (r, row) in rows.iter().enumerate() {
                        shap(k, row, &mut values[r], scratch);
                        if let Some(f) = also.as_deref_mut() {
                            f[r] += t.predict_row(row);
                        }
                    }
                }
                values
            };
            match model {
                Model::Logistic(m) => rows
                    .iter()
                    .map(|row| {
                        let values: Vec<f64> = (0..p)
                            .map(|j| {
                                m.coef[j] * (row[j] - reference.get(j).copied().unwrap_or(0.0))
                            })
                            .collect();
                        let base = m.intercept
                            + (0..p)
                                .map(|j| m.coef[j] * reference.get(j).copied().unwrap_or(0.0))
                                .sum::<f64>();
                        RowContributions { base, values }
                    })
                    .collect(),
                Model::GradientBoosting(_) => each_tree(None)
                    .into_iter()
                    .map(|values| RowContributions {
                        base: base_all,
                        values,
                    })
                    .collect(),
                Model::DecisionTree(d) => rows
                    .iter()
                    .zip(each_tree(None))
                    .map(|(row, values)| {
                        let f = d.tree.predict_row(row).clamp(0.0, 1.0);
                        to_log_odds(base_all, f, values)
                    })
                    .collect(),
                Model::RandomForest(rf) => {
                    let k = rf.trees.len().max(1) as f64;
                    let mut f = vec![0.0; rows.len()];
                    let values = each_tree(Some(&mut f));
                    values
                        .into_iter()
                        .zip(f)
                        .map(|(mut values, f)| {
                            values.iter_mut().for_each(|v| *v /= k);
                            to_log_odds(base_all, (f / k).clamp(0.0, 1.0), values)
                        })
                        .collect()
                }
            }
        })
        .collect();
    blocks.into_iter().flatten().collect()
}

/// Rows a worker explains together, tree by tree.
const ROW_BLOCK: usize = 64;

/// How design columns fold back onto the original features (one-hot levels and missing
/// flags join their feature): the features in the order of `prep`'s columns, and each
/// column's feature.
pub struct Folding {
    pub features: Vec<String>,
    column_feature: Vec<usize>,
}

impl Folding {
    pub fn new(prep: &Preprocessor) -> Folding {
        let mut features: Vec<String> = Vec::new();
        let column_feature = prep
            .columns
            .iter()
            .map(|c| match features.iter().position(|f| *f == c.source) {
                Some(k) => k,
                None => {
                    features.push(c.source.clone());
                    features.len() - 1
                }
            })
            .collect();
        Folding {
            features,
            column_feature,
        }
    }

    /// One row's contributions summed per feature (in column order, each sum starting at
    /// its first column's value), by feature index.
    pub fn fold(&self, values: &[f64]) -> Vec<f64> {
        let mut out: Vec<Option<f64>> = vec![None; self.features.len()];
        for (&k, &v) in self.column_feature.iter().zip(values) {
            out[k] = Some(out[k].map_or(v, |s| s + v));
        }
        out.into_iter().map(|v| v.unwrap_or(0.0)).collect()
    }
}

/// Contributions folded back onto the original features (one-hot levels and missing
/// flags join their feature), in the order of `prep`'s features.
pub fn by_feature(prep: &Preprocessor, values: &[f64]) -> Vec<(String, f64)> {
    let f = Folding::new(prep);
    let sums = f.fold(values);
    f.features.into_iter().zip(sums).collect()
}

/// Each feature's mean |contribution| (log-odds) over `rows`, strongest first: the model's
/// global importance on those rows. Rows beyond 2,000 are sampled evenly.
pub fn importance(
    pipe: &crate::train::Pipeline,
    ds: &crate::features::dataset::Dataset,
    rows: &[usize],
) -> crate::error::Result<Vec<(String, f64)>> {
    let step = rows.len().div_ceil(2000).max(1);
    let rows: Vec<usize> = rows.iter().step_by(step).copied().collect();
    let x = pipe.prep.transform(ds, &rows)?;
    let c = contributions(&pipe.model, x.view(), &pipe.prep.column_means);
    let folding = Folding::new(&pipe.prep);
    let mut totals: Vec<Option<f64>> = vec![None; folding.features.len()];
    for r in &c {
        for (t, v) in totals.iter_mut().zip(folding.fold(&r.values)) {
            *t = Some(t.map_or(v.abs(), |s| s + v.abs()));
        }
    }
    // Features seen in at least one row (all of them when there is a row).
    let mut sum: Vec<(String, f64)> = folding
        .features
        .into_iter()
        .zip(totals)
        .filter_map(|(f, t)| t.map(|t| (f, t)))
        .collect();
    let n = c.len().max(1) as f64;
    sum.iter_mut().for_each(|s| s.1 /= n);
    sum.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::rng::Rng;
    use crate::model::tree::BoostParams;
    use crate::model::{self, Params};
    use ndarray::Array2;

    #[test]
    fn every_family_adds_up_to_its_raw_prediction() {
        let mut rng = Rng::new(4);
        let (n, p) = (600, 6);
        let x = Array2::from_shape_fn((n, p), |_| rng.normal());
        let y: Vec<f64> = (0..n)
            .map(|i| {
                let z = x[[i, 0]] - 0.7 * x[[i, 1]] + 0.4 * x[[i, 2]] * x[[i, 3]] - 1.0;
                f64::from(u8::from(rng.bernoulli(crate::common::math::sigmoid(z))))
            })
            .collect();
        let reference: Vec<f64> = (0..p).map(|j| x.column(j).mean().unwrap_or(0.0)).collect();
        let grid = [
            Params::Logistic { l2: 1e-3, l1: 0.0 },
            Params::DecisionTree {
                max_depth: 4,
                min_leaf: 10.0,
            },
            Params::RandomForest {
                trees: 20,
                max_depth: 6,
                min_leaf: 5.0,
            },
            Params::GradientBoosting(BoostParams {
                max_trees: 40,
                max_depth: 3,
                learning_rate: 0.1,
                lambda: 1.0,
                min_leaf: 5.0,
                subsample: 0.8,
                colsample: 1.0,
            }),
        ];
        for params in grid {
            let m = model::fit(&params, x.view(), &y, None, None, 3);
            let raw = m.raw(x.view());
            let c = contributions(&m, x.view(), &reference);
            // Rows are explained in blocks, tree by tree: each row's values are exactly
            // those of explaining it alone.
            for i in [0, ROW_BLOCK - 1, ROW_BLOCK, n - 1] {
                let alone = contributions(&m, x.slice(ndarray::s![i..i + 1, ..]), &reference);
                assert_eq!(alone[0], c[i], "{}: row {i}", params.describe());
            }
            for i in 0..n {
                let sum = c[i].base + c[i].values.iter().sum::<f64>();
                assert!(
                    (sum - raw[i]).abs() < 1e-6,
                    "{}: row {i}: {sum} vs {}",
                    params.describe(),
                    raw[i]
                );
            }
        }
    }
}
