//! Analyses beyond "who will churn": cohorts (how segments and signup cohorts retain,
//! which signals separate churners), clusters (what kinds of accounts there are) and
//! propensity (do CS plays reduce churn). The three run concurrently, and beside model
//! training in `churnlab run`; each is seeded, so results do not depend on the thread
//! count.

pub mod cluster;
pub mod cohort;
pub mod propensity;

use std::path::Path;

use chrono::NaiveDate;
use serde::Serialize;

use crate::dataset::Dataset;
use crate::error::Result;
use crate::features::PlayFlags;
use crate::io::{self, Format};
use crate::load::AccountInfo;
use crate::retention::History;

/// Everything `churnlab analyze` produces.
pub struct Analyses {
    pub curves: Vec<cohort::CurvePoint>,
    pub metric_bins: Vec<cohort::MetricBin>,
    /// An error message when the book cannot be clustered.
    pub clusters: std::result::Result<cluster::ClusterReport, String>,
    pub propensity: std::result::Result<propensity::PropensityReport, String>,
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
        clusters: clusters.map_err(|e| e.to_string()),
        propensity: prop.map_err(|e| e.to_string()),
        seconds: [t0, t1, t2],
    }
}

#[derive(Serialize)]
struct Cohorts<'a> {
    ages_months: &'a [i32],
    retention_curves: &'a [cohort::CurvePoint],
    metric_cohorts: &'a [cohort::MetricBin],
}

impl Analyses {
    /// Writes each analysis as json and csv into `out`; returns the file names.
    pub fn write(&self, out: &Path) -> Result<Vec<String>> {
        let json = |name: &str, v: &dyn erased::Json| -> Result<String> {
            io::write_atomic(&out.join(name), v.to_json()?.as_bytes())?;
            Ok(name.to_string())
        };
        let mut files = vec![json(
            "cohorts.json",
            &Cohorts {
                ages_months: &cohort::AGES,
                retention_curves: &self.curves,
                metric_cohorts: &self.metric_bins,
            },
        )?];
        io::write_table(
            &out.join("cohort_retention.csv"),
            &cohort::curves_table(&self.curves),
            Format::Csv,
        )?;
        io::write_table(
            &out.join("metric_cohorts.csv"),
            &cohort::bins_table(&self.metric_bins),
            Format::Csv,
        )?;
        files.push("cohort_retention.csv".into());
        files.push("metric_cohorts.csv".into());
        match &self.clusters {
            Ok(c) => {
                files.push(json("clusters.json", c)?);
                io::write_table(&out.join("clusters.csv"), &c.to_table(), Format::Csv)?;
                files.push("clusters.csv".into());
            }
            Err(e) => files.push(json("clusters.json", &serde_json::json!({ "error": e }))?),
        }
        match &self.propensity {
            Ok(p) => {
                files.push(json("propensity.json", p)?);
                io::write_table(&out.join("propensity.csv"), &p.effects_table(), Format::Csv)?;
                io::write_table(
                    &out.join("propensity_balance.csv"),
                    &p.balance_table(),
                    Format::Csv,
                )?;
                files.push("propensity.csv".into());
                files.push("propensity_balance.csv".into());
            }
            Err(e) => files.push(json("propensity.json", &serde_json::json!({ "error": e }))?),
        }
        Ok(files)
    }
}

mod erased {
    use crate::error::{Error, Result};

    /// Serialises any `Serialize` value as pretty JSON (object-safe).
    pub trait Json {
        fn to_json(&self) -> Result<String>;
    }

    impl<T: serde::Serialize> Json for T {
        fn to_json(&self) -> Result<String> {
            serde_json::to_string_pretty(self).map_err(|e| Error::Input(format!("json: {e}")))
        }
    }
}
