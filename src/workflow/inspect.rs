//! The inspections: `validate` (the book against the contract, summarised), `retention`
//! (logo and revenue churn, GRR and NRR from the contracts) and `features` (the snapshot
//! table alone), and `hazard` (time to churn, validated out of time).

use std::path::Path;

use chrono::NaiveDate;

use super::BookContext;
use crate::book::retention::{self, Report};
use crate::book::summary::{self, Summary};
use crate::config::Config;
use crate::error::Result;
use crate::features::SnapshotTable;

/// Checks the book in `data` against the contract and summarises it.
pub fn validate(data: &Path, as_of: Option<NaiveDate>, cfg: &Config) -> Result<Summary> {
    let ctx = BookContext::for_job(data, as_of, cfg)?;
    Ok(summary::summarize(
        &ctx.book,
        &ctx.accounts,
        &ctx.histories,
        ctx.as_of,
    ))
}

/// Retention metrics by month, quarter and segment; `grace_days` overrides the config's.
pub fn retention(
    data: &Path,
    grace_days: Option<i64>,
    as_of: Option<NaiveDate>,
    cfg: &Config,
) -> Result<Report> {
    let grace = grace_days.unwrap_or(cfg.data().grace_days);
    let ctx = BookContext::open_with(data, grace, super::as_of(as_of, cfg), super::loader(cfg))?;
    Ok(retention::report(
        &ctx.accounts,
        &ctx.terms,
        &ctx.histories,
        grace,
        ctx.as_of,
    ))
}

/// The snapshot table of the book in `data`.
pub fn features(data: &Path, as_of: Option<NaiveDate>, cfg: &Config) -> Result<SnapshotTable> {
    let ctx = BookContext::for_job(data, as_of, cfg)?;
    ctx.snapshot_table(cfg.snapshots(), cfg.features())
}

/// The account-month hazard fitted out of time on the book in `data`, against the direct
/// 90-day model ([`crate::hazard::evaluate`]).
pub fn hazard(
    data: &Path,
    as_of: Option<NaiveDate>,
    cfg: &Config,
) -> Result<crate::hazard::HazardEvaluation> {
    let t = features(data, as_of, cfg)?;
    log::info!("fitting the account-month hazard out of time");
    let ds = crate::features::dataset::Dataset::from_snapshots(&t);
    crate::hazard::evaluate(&t, &ds, cfg.seed(), true)
}
