//! Analyses beyond "who will churn": cohorts (how segments and signup cohorts retain,
//! which signals separate churners), clusters (what kinds of accounts there are) and
//! propensity (do CS plays reduce churn). The three run concurrently, and beside model
//! training in `churnlab run`; each is seeded, so results do not depend on the thread
//! count.

pub mod cluster;
pub mod cohort;
pub(crate) mod effects;
pub mod forecast;
pub(crate) mod play_models;
pub mod propensity;
pub mod quarters;
pub mod targeting;

use crate::book::retention::History;
use crate::error::Result;
use crate::features::PlayFlags;
use crate::features::dataset::Dataset;
use crate::input::load::AccountInfo;
use chrono::NaiveDate;

/// Everything `churnlab analyze` produces.
pub struct Analyses {
    pub curves: Vec<cohort::CurvePoint>,
    pub metric_bins: Vec<cohort::MetricBin>,
    /// Why the book cannot be clustered, when it cannot.
    pub clusters: Result<cluster::ClusterReport>,
    /// Why the plays cannot be analysed, when they cannot.
    pub propensity: Result<propensity::PropensityReport>,
    /// Seconds each analysis took (not written to the outputs).
    pub seconds: [f64; 3],
}

/// Inputs the analyses share.
pub struct Inputs<'a> {
    pub ds: &'a Dataset,
    pub accounts: &'a [AccountInfo],
    pub histories: &'a [History],
    pub as_of: NaiveDate,
    pub plays: &'a PlayFlags,
    pub seed: u64,
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = std::time::Instant::now();
    let v = f();
    (v, t.elapsed().as_secs_f64())
}

/// Runs the cohort, cluster and propensity analyses concurrently.
pub fn run_all(inp: &Inputs) -> Analyses {
    let ((cohorts, t0), ((clusters, t1), (prop, t2))) = rayon::join(
        || {
            timed(|| {
                (
                    cohort::retention_curves(inp.accounts, inp.histories, inp.as_of),
                    cohort::metric_cohorts(inp.ds),
                )
            })
        },
        || {
            rayon::join(
                || timed(|| cluster::clusters(inp.ds, &Default::default(), inp.seed)),
                || timed(|| propensity::analyse(inp.ds, inp.plays, &Default::default(), inp.seed)),
            )
        },
    );
    Analyses {
        curves: cohorts.0,
        metric_bins: cohorts.1,
        clusters,
        propensity: prop,
        seconds: [t0, t1, t2],
    }
}
