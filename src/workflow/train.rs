//! `churnlab train` and `evaluate`: train every model family on a book's snapshots (out
//! of time) or on a flat table (cross-validated), pick the champion and save the model
//! folder; or cross-validate only.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::{BookContext, OnProgress};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::features::SnapshotTable;
use crate::features::dataset::Dataset;
use crate::train::artifact::{self, Manifest, ModelDir};
use crate::train::compare::{self, Challenger};
use crate::train::registry::{self, Entry};
use crate::train::split::Scheme;
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
    /// Its line in `MODELS/index.json`: promoted or not, and why.
    pub entry: Entry,
}

/// Trains every family on `source`, saves the model folder under `models` and returns it.
/// With `previous` (a model folder), the new champion is compared with it first
/// ([`crate::train::compare`]) and the index records the decision.
pub fn train(
    source: &TrainSource,
    models: &Path,
    previous: Option<&Path>,
    cfg: &Config,
    progress: OnProgress<'_>,
) -> Result<TrainOutcome> {
    let previous = previous.map(artifact::load).transpose()?;
    let (ds, base, hazard) = match source {
        TrainSource::Book { dir, as_of } => {
            let ctx = BookContext::for_job(dir, *as_of, cfg)?;
            let t = ctx.snapshot_table(cfg.snapshots(), cfg.features())?;
            let ds = Dataset::from_snapshots(&t);
            let hazard = book_hazard(&t, &ds, cfg);
            (ds, ManifestBase::book(dir, &t), hazard)
        }
        TrainSource::Flat(f) => (
            flat_dataset(f)?,
            ManifestBase::flat(f, cfg.snapshots().horizon_days),
            None,
        ),
    };
    let mut trained = train_dataset(&ds, scheme_for(&ds, cfg), cfg, progress)?;
    let (model_dir, entry) = save(
        models,
        &base,
        &mut trained,
        &ds,
        previous.as_ref(),
        cfg,
        &hazard_file(hazard.as_ref())?,
    )?;
    Ok(TrainOutcome {
        trained,
        dataset: ds,
        model_dir,
        entry,
    })
}

/// The account-month hazard of a book, unless `[models] hazard = false`; a book it
/// cannot be fitted on (no month at risk observed) gets none, with the reason logged.
pub(crate) fn book_hazard(
    t: &SnapshotTable,
    ds: &Dataset,
    cfg: &Config,
) -> Option<crate::hazard::BookHazard> {
    if !cfg.models().hazard {
        return None;
    }
    crate::hazard::for_book(t, ds, cfg.seed())
        .map_err(|e| log::warn!("no account-month hazard: {e}"))
        .ok()
}

/// The hazard's file for the model folder, when there is one.
pub(crate) fn hazard_file(
    h: Option<&crate::hazard::BookHazard>,
) -> Result<Vec<(&'static str, Vec<u8>)>> {
    h.map(|h| {
        serde_json::to_vec(&h.model)
            .map(|b| (crate::hazard::model::FILE, b))
            .map_err(|e| Error::Internal(format!("serialising the hazard: {e}")))
    })
    .into_iter()
    .collect()
}

/// The dataset the models are fitted on: `ds` without the features `[features] exclude`
/// names (borrowed when it names none).
pub(crate) fn for_training<'a>(ds: &'a Dataset, cfg: &Config) -> Cow<'a, Dataset> {
    let exclude = &cfg.features().exclude;
    if exclude.is_empty() {
        return Cow::Borrowed(ds);
    }
    let names: Vec<String> = ds
        .numeric_names
        .iter()
        .chain(&ds.categorical_names)
        .filter(|n| {
            exclude
                .iter()
                .any(|e| crate::features::catalog::excludes(e, n))
        })
        .cloned()
        .collect();
    let mut d = ds.clone();
    let _ = d.drop_columns(&names);
    log::info!(
        "[features] exclude: the models leave out {} feature columns ({})",
        ds.numeric_names.len() + ds.categorical_names.len()
            - d.numeric_names.len()
            - d.categorical_names.len(),
        exclude.join(", ")
    );
    Cow::Owned(d)
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
    let ds = flat_dataset(flat)?;
    train_dataset(&ds, Scheme::CrossValidation { folds }, &cfg, progress)
}

/// The validation scheme of a job that trains on `ds`: out of time when its snapshot
/// dates allow, else the configured number of folds. A job chooses it once; training and
/// the health-score validation take the same.
pub fn scheme_for(ds: &Dataset, cfg: &Config) -> Scheme {
    Scheme::for_dataset(
        ds,
        cfg.snapshots().horizon_days,
        cfg.models().test_share,
        cfg.models().folds,
    )
}

/// Trains every family on a dataset with the configured options (without the features
/// `[features] exclude` names), validated as `scheme` says.
pub fn train_dataset(
    ds: &Dataset,
    scheme: Scheme,
    cfg: &Config,
    progress: OnProgress<'_>,
) -> Result<Trained> {
    fit::train(
        &for_training(ds, cfg),
        cfg.models(),
        scheme,
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
    /// The per-type usage family's types as the feature layer chose them (None for flat
    /// tables): the saved configuration fixes them, so scoring builds the same columns.
    usage_types: Option<Vec<String>>,
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
            usage_types: Some(t.usage_types.clone()),
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
            usage_types: None,
        }
    }

    fn manifest(&self, trained: &Trained, cfg: &Config) -> Manifest {
        Manifest {
            run_id: artifact::run_id(&self.prefix, &trained.report),
            churnlab_version: env!("CARGO_PKG_VERSION").to_string(),
            champion: trained.report.champion,
            families: trained.pipelines.keys().copied().collect(),
            source: self.source.clone(),
            label: self.label.clone(),
            id_column: self.id.clone(),
            // The features the models use (`[features] exclude` leaves some of `ds` out).
            numeric_features: features(trained).0,
            categorical_features: features(trained).1,
            horizon_days: self.horizon,
            seed: cfg.seed(),
            data_window: self.window.clone(),
            as_of: self.as_of.clone(),
        }
    }
}

/// The numeric and categorical features the champion's preprocessor takes.
fn features(trained: &Trained) -> (Vec<String>, Vec<String>) {
    trained
        .pipelines
        .get(&trained.report.champion)
        .map(|p| {
            (
                p.prep.numeric.iter().map(|s| s.name.clone()).collect(),
                p.prep.categorical.iter().map(|s| s.name.clone()).collect(),
            )
        })
        .unwrap_or_default()
}

/// Saves the model folder `models/<run-id>` and records it in `models/index.json`. With a
/// previous model, the champion is first compared with it on `ds` (every computed
/// feature, so a champion using features this training left out still scores) and the
/// comparison goes into metrics.json and the model card. A training that kept no model
/// (cross-validation with `refit = false`) cannot be saved.
pub(crate) fn save(
    models: &Path,
    base: &ManifestBase,
    trained: &mut Trained,
    ds: &Dataset,
    previous: Option<&ModelDir>,
    cfg: &Config,
    extra: &[(&str, Vec<u8>)],
) -> Result<(PathBuf, Entry)> {
    if !trained.pipelines.contains_key(&trained.report.champion) {
        return Err(Error::Input(
            "cross-validation with [models] refit = false keeps no single model to save; set refit = true (a book trained out of time keeps its validation models)".into(),
        ));
    }
    let run_id = artifact::run_id(&base.prefix, &trained.report);
    if let Some(prev) = previous.filter(|p| p.manifest.run_id == run_id) {
        log::info!(
            "the previous model {} is this very model (same data, configuration and seed): nothing to compare",
            prev.manifest.run_id
        );
    }
    if let Some(prev) = previous.filter(|p| p.manifest.run_id != run_id) {
        let champion = trained.report.champion;
        let proba = trained
            .test_proba
            .get(&champion)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        log::info!(
            "comparing {run_id} with the previous model {}",
            prev.manifest.run_id
        );
        // Only the comparison on newer rows refits (see compare::compare).
        let refit_until = |end: i32, rows: &[usize]| -> Result<Vec<f64>> {
            let fit_ds = for_training(ds, cfg);
            let t = fit_ds.time.as_deref().unwrap_or(&[]);
            let fit_rows: Vec<usize> = fit_ds
                .labelled()
                .into_iter()
                .filter(|&i| t.get(i).is_some_and(|&d| d <= end))
                .collect();
            log::info!(
                "refitting the challenger on the {} labelled rows up to the champion's window end",
                fit_rows.len()
            );
            fit::refit_champion_on(trained, &fit_ds, &fit_rows, cfg.seed())?.predict(ds, rows)
        };
        let c = compare::compare(
            &Challenger {
                run_id: &run_id,
                family: champion,
                horizon_days: base.horizon,
                ds,
                test_rows: &trained.test_rows,
                test_proba: proba,
                refit_until: &refit_until,
            },
            prev,
            cfg.seed(),
        );
        log::info!("{}", c.decision);
        trained.report.comparison = Some(c);
    }
    let manifest = base.manifest(trained, cfg);
    let fitted = match &base.usage_types {
        Some(types) => cfg.with_usage_types(types),
        None => cfg.clone(),
    };
    let mut files = crate::train::card::documents(&manifest, trained, ds);
    files.extend(extra.iter().map(|(name, bytes)| (*name, bytes.clone())));
    let dir = artifact::save(models, &manifest, trained, &fitted, &files)?;
    let auc = trained
        .report
        .families
        .iter()
        .find(|f| f.family == trained.report.champion)
        .and_then(|f| f.test.roc_auc);
    let entry = registry::record(models, &manifest, auc, trained.report.comparison.as_ref())?;
    Ok((dir, entry))
}
