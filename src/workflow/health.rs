//! `churnlab health`: validate the CS team's health score against churn.

use std::path::Path;

use chrono::NaiveDate;

use super::{BookContext, OnProgress};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::features::SnapshotTable;
use crate::features::dataset::Dataset;
use crate::health::validate::{self, Validation};

/// The validation and the rows it scored.
pub struct HealthOutcome {
    pub validation: Validation,
    pub table: SnapshotTable,
    pub dataset: Dataset,
}

/// Validates the configured health score on the book in `data`: its out-of-time ROC-AUC
/// (next to the model's unless `with_model` is false), churn by tier, components,
/// stability, fitted weights and a recommended configuration.
pub fn health(
    data: &Path,
    as_of: Option<NaiveDate>,
    with_model: bool,
    cfg: &Config,
    progress: OnProgress<'_>,
) -> Result<HealthOutcome> {
    let Some(h) = cfg.health() else {
        return Err(Error::Input(format!(
            "no health score configured: add a [health] section to the config (--config FILE, or {}/churnlab.toml); see the README",
            data.display()
        )));
    };
    let ctx = BookContext::for_job(data, as_of, cfg)?;
    let table = ctx.snapshot_table(cfg.snapshots(), cfg.features())?;
    let dataset = Dataset::from_snapshots(&table);
    let scheme = super::train::scheme_for(&dataset, cfg);
    let trained = if with_model {
        Some(super::train::train_dataset(
            &dataset,
            scheme.clone(),
            cfg,
            progress,
        )?)
    } else {
        None
    };
    let validation = validate::validate(h, &dataset, &scheme, trained.as_ref())?;
    Ok(HealthOutcome {
        validation,
        table,
        dataset,
    })
}
