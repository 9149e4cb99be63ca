//! `churnlab analyze`: cohort retention and metric cohorts, account clusters and the
//! propensity analysis of CS plays, run concurrently.

use std::path::Path;

use chrono::NaiveDate;

use super::BookContext;
use crate::analysis::{self, Analyses};
use crate::config::Config;
use crate::error::Result;
use crate::features;
use crate::features::dataset::Dataset;

/// Runs the three analyses on the book in `data`.
pub fn analyze(data: &Path, as_of: Option<NaiveDate>, cfg: &Config) -> Result<Analyses> {
    let ctx = BookContext::for_job(data, as_of, cfg)?;
    let table = ctx.snapshot_table(cfg.snapshots(), cfg.features())?;
    let ds = Dataset::from_snapshots(&table);
    let plays = features::play_flags(&ctx.book, &table)?;
    log::info!("running the cohort, cluster and propensity analyses");
    let a = analysis::run_all(&analysis::Inputs {
        ds: &ds,
        accounts: &ctx.accounts,
        histories: &ctx.histories,
        as_of: table.as_of,
        plays: &plays,
        seed: cfg.seed(),
    });
    log::info!(
        "cohorts {:.1}s, clusters {:.1}s, propensity {:.1}s (concurrently)",
        a.seconds[0],
        a.seconds[1],
        a.seconds[2]
    );
    Ok(a)
}
