//! The analyses' files: `cohorts.json`, `cohort_retention.csv`, `metric_cohorts.csv`,
//! `clusters.json`/`.csv`, `propensity.json`/`.csv` and `propensity_balance.csv`.

use std::path::Path;

use serde::Serialize;

use super::write_json;
use crate::analysis::{Analyses, cohort};
use crate::error::Result;
use crate::input::io::{self, Format};

#[derive(Serialize)]
struct Cohorts<'a> {
    ages_months: &'a [i32],
    retention_curves: &'a [cohort::CurvePoint],
    metric_cohorts: &'a [cohort::MetricBin],
}

/// Writes each analysis as json and csv into `out`, replacing the folder whole; returns
/// the file names. An analysis that could not be computed gets a json file with its error.
pub fn write(a: &Analyses, out: &Path) -> Result<Vec<String>> {
    super::staged(out, "analyze", |dir| write_files(a, dir))
}

/// The same files, written into `out` as it is (for a job that stages its own folder).
pub fn write_files(a: &Analyses, out: &Path) -> Result<Vec<String>> {
    let mut files = Vec::new();
    let mut json = |name: &str, v: &dyn erased_serde_json::Json| -> Result<()> {
        v.write(&out.join(name))?;
        files.push(name.to_string());
        Ok(())
    };
    json(
        "cohorts.json",
        &Cohorts {
            ages_months: &cohort::AGES,
            retention_curves: &a.curves,
            metric_cohorts: &a.metric_bins,
        },
    )?;
    let error = |e: &crate::Error| serde_json::json!({ "error": e.to_string() });
    match &a.clusters {
        Ok(c) => json("clusters.json", c)?,
        Err(e) => json("clusters.json", &error(e))?,
    }
    match &a.propensity {
        Ok(p) => json("propensity.json", p)?,
        Err(e) => json("propensity.json", &error(e))?,
    }
    let mut tables = vec![
        ("cohort_retention.csv", cohort::curves_table(&a.curves)),
        ("metric_cohorts.csv", cohort::bins_table(&a.metric_bins)),
    ];
    if let Ok(c) = &a.clusters {
        tables.push(("clusters.csv", c.to_table()));
    }
    if let Ok(p) = &a.propensity {
        tables.push(("propensity.csv", p.effects_table()));
        tables.push(("propensity_balance.csv", p.balance_table()));
    }
    for (name, t) in tables {
        io::write_table(&out.join(name), &t, Format::Csv)?;
        files.push(name.to_string());
    }
    Ok(files)
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
