//! Model families behind one interface: [`Params`] says what to fit, [`fit`] fits it on a
//! design matrix, and the fitted [`Model`] gives log-odds ([`Model::raw`]) and churn
//! probabilities ([`Model::proba`]). Fitted models serialise whole (serde), preprocessing
//! lives in [`crate::model::prep`].

pub(crate) mod calibrate;
pub mod logistic;
pub mod prep;
pub(crate) mod tree;

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::common::math::{logit, sigmoid};
pub use crate::common::vocab::Family;
use logistic::{Logistic, Penalty};
use tree::{Boost, BoostParams, DecisionTree, Forest};

/// The L1 strengths of the logistic grid, on the mean log-loss of standardised columns:
/// scikit-learn's `C` is `1 / (l1 n)`, so on 10,000 rows these are C = 0.01, 0.033 and 0.1
/// (the baseline's, benches/baseline.py).
pub const L1_GRID: [f64; 3] = [1e-2, 3e-3, 1e-3];

/// One candidate: a family and its hyper-parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case")]
pub enum Params {
    Logistic {
        l2: f64,
        /// 0 for a pure L2 fit (and for models saved before L1 existed).
        #[serde(default)]
        l1: f64,
    },
    DecisionTree {
        max_depth: usize,
        min_leaf: f64,
    },
    RandomForest {
        trees: usize,
        max_depth: usize,
        min_leaf: f64,
    },
    GradientBoosting(BoostParams),
}

impl Params {
    pub fn family(&self) -> Family {
        match self {
            Params::Logistic { .. } => Family::Logistic,
            Params::DecisionTree { .. } => Family::DecisionTree,
            Params::RandomForest { .. } => Family::RandomForest,
            Params::GradientBoosting(_) => Family::GradientBoosting,
        }
    }

    /// A logistic candidate's penalty; None for the tree families.
    pub fn penalty(&self) -> Option<Penalty> {
        match *self {
            Params::Logistic { l2, l1 } => Some(Penalty { l2, l1 }),
            _ => None,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Params::Logistic { l2, l1 } if *l1 > 0.0 => format!("logistic l1={l1} l2={l2}"),
            Params::Logistic { l2, .. } => format!("logistic l2={l2}"),
            Params::DecisionTree {
                max_depth,
                min_leaf,
            } => format!("decision_tree depth={max_depth} min_leaf={min_leaf}"),
            Params::RandomForest {
                trees,
                max_depth,
                min_leaf,
            } => format!("random_forest trees={trees} depth={max_depth} min_leaf={min_leaf}"),
            Params::GradientBoosting(p) => format!(
                "gradient_boosting depth={} lr={} max_trees={} l2={} subsample={} colsample={}",
                p.max_depth, p.learning_rate, p.max_trees, p.lambda, p.subsample, p.colsample
            ),
        }
    }

    /// One fixed configuration per family, for speed benchmarks against other libraries
    /// (benches/compare_fit.py fits the same settings there). No early stopping.
    pub fn benchmark() -> Vec<Params> {
        vec![
            Params::Logistic { l2: 1e-3, l1: 0.0 },
            Params::DecisionTree {
                max_depth: 4,
                min_leaf: 100.0,
            },
            Params::RandomForest {
                trees: 100,
                max_depth: 10,
                min_leaf: 50.0,
            },
            Params::GradientBoosting(BoostParams {
                max_trees: 200,
                max_depth: 5,
                learning_rate: 0.1,
                lambda: 1.0,
                min_leaf: 50.0,
                subsample: 1.0,
                colsample: 1.0,
            }),
        ]
    }

    /// The small default grid per family. `rows` scales the smallest leaf.
    pub fn grid(rows: usize) -> Vec<Params> {
        let leaf = ((rows as f64) * 0.002).clamp(5.0, 200.0).round();
        let mut g = Vec::new();
        // Out of time (the validation period picks one); the per-type family makes the design
        // wide, so the grid reaches strong penalties too.
        for l2 in [1e-4, 1e-3, 1e-2, 1e-1] {
            g.push(Params::Logistic { l2, l1: 0.0 });
        }
        for max_depth in [3, 4] {
            g.push(Params::DecisionTree {
                max_depth,
                min_leaf: (leaf * 5.0).max(20.0).round(),
            });
        }
        // 100 trees: on the 20,000-account book 200 raised the forests' selection ROC-AUC
        // by under 0.002 (docs/decisions.md, decision 32) at twice the fit and predict time.
        for max_depth in [8, 14] {
            g.push(Params::RandomForest {
                trees: 100,
                max_depth,
                min_leaf: leaf,
            });
        }
        // Each tree grows on half the rows of a large book (a quarter less time a tree on
        // the 20,000-account book, the same test ROC-AUC), on 80% of a small one (on the
        // 2,000-row saas_churn.csv, half cost 0.0014 of 5-fold ROC-AUC). A large book
        // also takes steps of 0.1 (LightGBM's default), half the trees of 0.05: on the
        // 20,000-account book the refit went from 31 s to 16-19 s, test ROC-AUC 0.9418 to
        // 0.9408 (docs/decisions.md 35); small tables keep 0.05 and their figures.
        let (subsample, learning_rate) = if rows > 50_000 {
            (0.5, 0.1)
        } else {
            (0.8, 0.05)
        };
        for max_depth in [3, 5] {
            g.push(Params::GradientBoosting(BoostParams {
                max_trees: 600,
                max_depth,
                learning_rate,
                lambda: 1.0,
                min_leaf: leaf,
                subsample,
                colsample: 1.0,
            }));
        }
        // L1 (lasso, with a whisper of L2 for a unique optimum): it drops the columns that
        // carry nothing, which a wide per-type design has many of (docs/decisions.md 36).
        // Last, because a candidate's seed is its place in the grid: a new candidate at
        // the end leaves every other one's fit as it was.
        for l1 in L1_GRID {
            g.push(Params::Logistic { l2: 1e-6, l1 });
        }
        g
    }
}

/// A fitted model of any family.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case")]
pub enum Model {
    Logistic(Logistic),
    DecisionTree(DecisionTree),
    RandomForest(Forest),
    GradientBoosting(Boost),
}

/// A design matrix, and its bin codes for the trees, built on first use and then shared
/// by every tree fitted on it (a grid's candidates, the refits): binning a 260,140 x 252
/// matrix is a binary search per cell, about 2 s, which each fit used to repeat.
pub struct Design<'a> {
    x: ndarray::CowArray<'a, f64, ndarray::Ix2>,
    binned: std::sync::OnceLock<tree::Binned>,
}

impl<'a> Design<'a> {
    pub fn new(x: ArrayView2<'a, f64>) -> Self {
        Design {
            x: x.into(),
            binned: std::sync::OnceLock::new(),
        }
    }

    pub fn x(&self) -> ArrayView2<'_, f64> {
        self.x.view()
    }

    /// Rows `rows` of this design, their bin codes taken from this design's (built here
    /// if not yet): many fits on samples of one matrix (cross-fitting) bin it once.
    pub fn select(&self, rows: &[usize]) -> Design<'static> {
        Design {
            x: self.x.select(ndarray::Axis(0), rows).into(),
            binned: std::sync::OnceLock::from(self.binned().select(rows)),
        }
    }

    fn binned(&self) -> &tree::Binned {
        self.binned.get_or_init(|| tree::Binned::new(self.x.view()))
    }
}

/// Fits `params` on design matrix `x` with labels `y` (0/1) and optional sample weights.
/// `stop` are rows of `x` held out for early stopping (boosting only; other families
/// train on them too).
pub fn fit(
    params: &Params,
    x: ArrayView2<f64>,
    y: &[f64],
    w: Option<&[f64]>,
    stop: Option<&[usize]>,
    seed: u64,
) -> Model {
    fit_on(params, &Design::new(x), y, w, stop, seed)
}

/// [`fit`] on a [`Design`], whose bin codes are built once for all the trees fitted on it.
pub fn fit_on(
    params: &Params,
    design: &Design,
    y: &[f64],
    w: Option<&[f64]>,
    stop: Option<&[usize]>,
    seed: u64,
) -> Model {
    // Inside rayon's pool: a fit takes thousands of short parallel steps (a histogram per
    // node, gradients per tree), and each one started from outside the pool waits for
    // the pool's threads to wake (on the booster benchmark, 5.9 s against 5.2 s).
    rayon::scope(|_| match params {
        &Params::Logistic { l2, l1 } => Model::Logistic(Logistic::fit_from(
            design.x(),
            y,
            w,
            Penalty { l2, l1 },
            None,
        )),
        Params::DecisionTree {
            max_depth,
            min_leaf,
        } => Model::DecisionTree(DecisionTree::fit_binned(
            design.binned(),
            y,
            w,
            *max_depth,
            *min_leaf,
        )),
        Params::RandomForest {
            trees,
            max_depth,
            min_leaf,
        } => Model::RandomForest(Forest::fit_binned(
            design.binned(),
            y,
            w,
            *trees,
            *max_depth,
            *min_leaf,
            seed,
        )),
        Params::GradientBoosting(p) => {
            Model::GradientBoosting(Boost::fit_binned(design.binned(), y, w, *p, stop, seed))
        }
    })
}

impl Model {
    pub fn family(&self) -> Family {
        match self {
            Model::Logistic(_) => Family::Logistic,
            Model::DecisionTree(_) => Family::DecisionTree,
            Model::RandomForest(_) => Family::RandomForest,
            Model::GradientBoosting(_) => Family::GradientBoosting,
        }
    }

    /// Uncalibrated churn probability per row.
    pub fn proba(&self, x: ArrayView2<f64>) -> Vec<f64> {
        match self {
            Model::Logistic(m) => m.raw(x).into_iter().map(sigmoid).collect(),
            Model::DecisionTree(m) => m.proba(x),
            Model::RandomForest(m) => m.proba(x),
            Model::GradientBoosting(m) => m.raw(x).into_iter().map(sigmoid).collect(),
        }
    }

    /// Log-odds of `x` as it is, and with each column of `cols` set in turn to each of
    /// `values`: `(observed, set)`, `set[c][v][i]` (see [`Boost::raw_set`]).
    pub fn raw_set(
        &self,
        x: ArrayView2<f64>,
        cols: &[usize],
        values: &[f64],
    ) -> (Vec<f64>, Vec<Vec<Vec<f64>>>) {
        if let Model::GradientBoosting(m) = self {
            return m.raw_set(x, cols, values);
        }
        (
            self.raw(x),
            tree::each_setting(x, cols, values, |xs| self.raw(xs)),
        )
    }

    /// Log-odds per row (for trees that average probabilities, the log-odds of that).
    pub fn raw(&self, x: ArrayView2<f64>) -> Vec<f64> {
        match self {
            Model::Logistic(m) => m.raw(x),
            Model::GradientBoosting(m) => m.raw(x),
            _ => self.proba(x).into_iter().map(logit).collect(),
        }
    }
}
