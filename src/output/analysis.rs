//! The analyses' files: `cohorts.json`, `cohort_retention.csv`, `metric_cohorts.csv`,
//! `clusters.json`/`.csv`, `propensity.json`/`.csv` and `propensity_balance.csv`.

use std::path::Path;

use serde::Serialize;

use super::{Written, names, write_json};
use crate::analysis::{Analyses, cohort};
use crate::error::Result;
use crate::input::io::{self, Format};

#[derive(Serialize)]
struct Cohorts<'a> {
    ages_months: &'a [i32],
    retention_curves: &'a [cohort::CurvePoint],
    metric_cohorts: &'a [cohort::MetricBin],
}

/// Writes each analysis as json and csv into `out`, replacing the folder whole. An
/// analysis that could not be computed gets a json file with its error.
pub fn write(a: &Analyses, out: &Path) -> Result<Written> {
    super::staged(out, "analyze", |dir| write_files(a, dir))
}

/// The same files, written into `out` as it is (for a job that stages its own folder).
pub fn write_files(a: &Analyses, out: &Path) -> Result<()> {
    let json = |name: &str, v: &dyn erased_serde_json::Json| v.write(&out.join(name));
    json(
        names::COHORTS_JSON,
        &Cohorts {
            ages_months: &cohort::AGES,
            retention_curves: &a.curves,
            metric_cohorts: &a.metric_bins,
        },
    )?;
    let error = |e: &crate::Error| serde_json::json!({ "error": e.to_string() });
    match &a.clusters {
        Ok(c) => json(names::CLUSTERS_JSON, c)?,
        Err(e) => json(names::CLUSTERS_JSON, &error(e))?,
    }
    match &a.propensity {
        Ok(p) => json(names::PROPENSITY_JSON, p)?,
        Err(e) => json(names::PROPENSITY_JSON, &error(e))?,
    }
    let mut tables = vec![
        (names::COHORT_RETENTION_CSV, cohort::curves_table(&a.curves)),
        (
            names::METRIC_COHORTS_CSV,
            cohort::bins_table(&a.metric_bins),
        ),
    ];
    if let Ok(c) = &a.clusters {
        tables.push((names::CLUSTERS_CSV, c.to_table()));
    }
    if let Ok(p) = &a.propensity {
        tables.push((names::PROPENSITY_CSV, p.effects_table()));
        tables.push((names::PROPENSITY_BALANCE_CSV, p.balance_table()));
    }
    for (name, t) in tables {
        io::write_table(&out.join(name), &t, Format::Csv)?;
    }
    Ok(())
}

/// Pretty JSON of any serialisable value, behind an object-safe trait.
mod erased_serde_json {
    use std::path::Path;

    pub(crate) trait Json {
        fn write(&self, path: &Path) -> crate::Result<()>;
    }

    impl<T: serde::Serialize> Json for T {
        fn write(&self, path: &Path) -> crate::Result<()> {
            super::write_json(path, self)
        }
    }
}
