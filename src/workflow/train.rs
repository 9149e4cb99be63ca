//! `churnlab train` and `evaluate`: train every model family on a book's snapshots (out
//! of time) or on a flat table (cross-validated), pick the champion and save the model
//! folder; or cross-validate only.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::{BookContext, OnProgress};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::features::SnapshotTable;
use crate::features::dataset::Dataset;
use crate::train::artifact::{self, Manifest};
use crate::train::{self as fit, Trained};

/// A flat feature table and how to read it.
#[derive(Clone, Debug)]
pub struct FlatTable {
    pub path: PathBuf,
    /// The label column (0/1, yes/no, true/false; blank: unlabelled).
    pub label: String,
    /// The id column (rows sharing an id stay in one fold).
    pub id: Option<String>,
    /// Columns that are not features.
    pub exclude: Vec<String>,
}

/// What a model is trained on.
#[derive(Clone, Debug)]
pub enum TrainSource {
    /// A folder of account tables; snapshot features are built from it.
    Book {
        dir: PathBuf,
        as_of: Option<NaiveDate>,
    },
    /// A flat feature table, one row per example.
    Flat(FlatTable),
}

/// A trained and saved model.
pub struct TrainOutcome {
    pub trained: Trained,
    pub dataset: Dataset,
    /// The saved model folder (`MODELS/<run-id>`).
    pub model_dir: PathBuf,
}

/// Trains every family on `source`, saves the model folder under `models` and returns it.
pub fn train(
    source: &TrainSource,
    models: &Path,
    cfg: &Config,
    progress: OnProgress<'_>,
) -> Result<TrainOutcome> {
    let (ds, base) = match source {
        TrainSource::Book { dir, as_of } => {
            let ctx = BookContext::for_job(dir, *as_of, cfg)?;
            let t = ctx.snapshot_table(cfg.snapshots(), cfg.features())?;
            (Dataset::from_snapshots(&t), ManifestBase::book(dir, &t))
        }
        TrainSource::Flat(f) => (
            flat_dataset(f)?,
            ManifestBase::flat(f, cfg.snapshots().horizon_days),
        ),
    };
    let trained = train_dataset(&ds, cfg, progress)?;
    let model_dir = save(models, &base, &trained, &ds, cfg)?;
    Ok(TrainOutcome {
        trained,
        dataset: ds,
        model_dir,
    })
}

/// Cross-validates every family on a flat table with `folds` folds (nothing is saved).
pub fn evaluate(
    flat: &FlatTable,
    folds: usize,
    cfg: &Config,
    progress: OnProgress<'_>,
) -> Result<Trained> {
    let mut raw = cfg.to_raw();
    raw.models.folds = folds;
    raw.models.refit = false;
    let cfg = raw.check()?;
    let ds = Dataset {
        time: None,
        ..flat_dataset(flat)?
    };
    train_dataset(&ds, &cfg, progress)
}

/// Trains every family on a dataset with the configured options.
pub fn train_dataset(ds: &Dataset, cfg: &Config, progress: OnProgress<'_>) -> Result<Trained> {
    fit::train(
        ds,
        cfg.models(),
        cfg.snapshots().horizon_days,
        cfg.seed(),
        progress,
    )
}

/// Reads a flat table, drops the excluded columns and logs what it holds.
pub(crate) fn flat_dataset(f: &FlatTable) -> Result<Dataset> {
    let mut ds = Dataset::from_flat(&f.path, &f.label, f.id.as_deref())?;
    let missing = ds.drop_columns(&f.exclude);
    if !missing.is_empty() {
        return Err(Error::Input(format!(
            "{}: --exclude names columns the table does not have: {}",
            f.path.display(),
            missing.join(", ")
        )));
    }
    for n in &ds.notes {
        log::warn!("{n}");
    }
    log::info!(
        "{}: {} rows ({} labelled), {} numeric and {} categorical features",
        f.path.display(),
        ds.rows(),
        ds.labelled().len(),
        ds.numeric_names.len(),
        ds.categorical_names.len()
    );
    Ok(ds)
}

/// What the manifest records about the data a model was trained on.
pub(crate) struct ManifestBase {
    source: String,
    label: String,
    id: Option<String>,
    window: Option<(String, String)>,
    as_of: Option<String>,
    horizon: i64,
    prefix: String,
}

impl ManifestBase {
    /// A book's snapshot table.
    pub(crate) fn book(dir: &Path, t: &SnapshotTable) -> Self {
        let labelled: Vec<_> = t.rows.iter().filter(|r| r.label.is_some()).collect();
        let window = labelled
            .iter()
            .map(|r| r.t)
            .min()
            .zip(labelled.iter().map(|r| r.t).max())
            .map(|(a, b)| (a.to_string(), b.to_string()));
        ManifestBase {
            source: format!("account tables in {}", dir.display()),
            label: format!("churn within {} days", t.horizon_days),
            id: Some("account_id".into()),
            window,
            as_of: Some(t.as_of.to_string()),
            horizon: t.horizon_days,
            prefix: format!("churn-{}", t.as_of),
        }
    }

    fn flat(f: &FlatTable, horizon: i64) -> Self {
        ManifestBase {
            source: format!("flat table {}", f.path.display()),
            label: f.label.clone(),
            id: f.id.clone(),
            window: None,
            as_of: None,
            horizon,
            prefix: "flat".into(),
        }
    }

    fn manifest(&self, trained: &Trained, ds: &Dataset, cfg: &Config) -> Manifest {
        Manifest {
            run_id: artifact::run_id(&self.prefix, &trained.report),
            churnlab_version: env!("CARGO_PKG_VERSION").to_string(),
            champion: trained.report.champion,
            families: trained.pipelines.keys().copied().collect(),
            source: self.source.clone(),
            label: self.label.clone(),
            id_column: self.id.clone(),
            numeric_features: ds.numeric_names.clone(),
            categorical_features: ds.categorical_names.clone(),
            horizon_days: self.horizon,
            seed: cfg.seed(),
            data_window: self.window.clone(),
            as_of: self.as_of.clone(),
        }
    }
}

/// Saves the model folder `models/<run-id>`; a training that kept no model (cross-
/// validation with `refit = false`) cannot be saved.
pub(crate) fn save(
    models: &Path,
    base: &ManifestBase,
    trained: &Trained,
    ds: &Dataset,
    cfg: &Config,
) -> Result<PathBuf> {
    if !trained.pipelines.contains_key(&trained.report.champion) {
        return Err(Error::Input(
            "cross-validation with [models] refit = false keeps no single model to save; set refit = true (a book trained out of time keeps its validation models)".into(),
        ));
    }
    let manifest = base.manifest(trained, ds, cfg);
    artifact::save(models, &manifest, trained, cfg, ds)
}
