//! The model folder `models/<run-id>/`: every fitted step saved whole, enough to score new
//! data later without retraining.
//!
//! - `manifest.json`: run id, champion, feature schema, horizon, seed, data window;
//! - `pipeline_<family>.json`: preprocessing, fitted model and calibration per family;
//! - `metrics.json`: the training report (every candidate, every family, the champion);
//! - `config.toml`: the configuration used;
//! - `coefficients.csv`, `decision_tree.txt`, `MODEL_CARD.md`: the readable documents
//!   ([`super::card`]), `plays.json` when the run estimated the plays' effects and
//!   `hazard.json` when it fitted the account-month hazard, passed in by the job that saves.
//!
//! The folder is written under a temporary name and renamed when complete.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::model::Family;
use crate::train::{Pipeline, Report, Trained};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub run_id: String,
    pub churnlab_version: String,
    pub champion: Family,
    pub families: Vec<Family>,
    /// "snapshots" (trained on a book of tables) or "flat" (a flat feature table).
    pub source: String,
    pub label: String,
    pub id_column: Option<String>,
    pub numeric_features: Vec<String>,
    pub categorical_features: Vec<String>,
    pub horizon_days: i64,
    pub seed: u64,
    /// First and last labelled snapshot dates (books only).
    pub data_window: Option<(String, String)>,
    pub as_of: Option<String>,
}

/// A loaded model folder.
pub struct ModelDir {
    pub path: PathBuf,
    pub manifest: Manifest,
    pub pipelines: BTreeMap<Family, Pipeline>,
    pub config: Config,
    /// The account-month hazard, when the model was trained on a book with one
    /// (`hazard.json`).
    pub hazard: Option<crate::hazard::HazardModel>,
}

impl ModelDir {
    pub fn champion(&self) -> Result<&Pipeline> {
        self.pipelines.get(&self.manifest.champion).ok_or_else(|| {
            Error::Input(format!(
                "{}: the champion's pipeline file is missing",
                self.path.display()
            ))
        })
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

/// A run id that depends only on the inputs and results: the same data, config and seed
/// give the same id.
pub fn run_id(prefix: &str, report: &Report) -> String {
    // Timings are not serialised, so this depends only on the inputs. The comparison with
    // a previous model is not part of the model: the same fit has the same id with or
    // without one.
    let bare = Report {
        comparison: None,
        ..report.clone()
    };
    let text = serde_json::to_string(&bare).unwrap_or_default();
    format!("{prefix}-{:08x}", fnv(text.as_bytes()) as u32)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    std::fs::write(dir.join(name), bytes).map_err(|e| Error::io(dir.join(name), e))
}

fn json<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(v).map_err(|e| Error::Internal(format!("serialising: {e}")))
}

/// Writes the model folder `root/<run id>` (the manifest, metrics, pipelines and
/// configuration), with the files `extra` (name, contents: the model card and the other
/// readable documents of [`super::card`], the plays' effect models) beside them, and
/// returns its path.
pub fn save(
    root: &Path,
    manifest: &Manifest,
    trained: &Trained,
    config: &Config,
    extra: &[(&str, Vec<u8>)],
) -> Result<PathBuf> {
    std::fs::create_dir_all(root).map_err(|e| Error::io(root, e))?;
    sweep(root);
    let dir = root.join(&manifest.run_id);
    let tmp = root.join(format!(".{}.tmp{}", manifest.run_id, std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let res = (|| -> Result<()> {
        write(&tmp, "manifest.json", &json(manifest)?)?;
        write(&tmp, "metrics.json", &json(&trained.report)?)?;
        for (fam, p) in &trained.pipelines {
            write(&tmp, &format!("pipeline_{}.json", fam.name()), &json(p)?)?;
        }
        let toml = config.to_toml()?;
        write(&tmp, "config.toml", toml.as_bytes())?;
        for (name, bytes) in extra {
            write(&tmp, name, bytes)?;
        }
        Ok(())
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    }
    std::fs::rename(&tmp, &dir).map_err(|e| Error::io(&dir, e))?;
    Ok(dir)
}

/// Removes the temporary model folders of saves that were killed (`.ID.tmpPID` whose
/// process is gone); a folder that cannot be removed is left for the next save.
fn sweep(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if let Some(pid) = crate::common::process::leftover_pid(&name, ".tmp")
            && !crate::common::process::alive(pid)
            && e.path().is_dir()
        {
            log::info!("removing {} (left by a stopped save)", e.path().display());
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::Read {
        path: path.to_path_buf(),
        message: format!("not a churnlab model file ({e})"),
    })
}

/// Reads a model folder's `manifest.json` alone (no pipelines).
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    read_json(&dir.join("manifest.json"))
}

/// Loads a model folder written by [`save`].
pub fn load(dir: &Path) -> Result<ModelDir> {
    let mpath = dir.join("manifest.json");
    if !mpath.is_file() {
        return Err(Error::Input(format!(
            "{}: not a churnlab model folder (no manifest.json); pass models/<run-id>",
            dir.display()
        )));
    }
    let manifest = read_manifest(dir)?;
    let mut pipelines = BTreeMap::new();
    for fam in &manifest.families {
        let p: Pipeline = read_json(&dir.join(format!("pipeline_{}.json", fam.name())))?;
        pipelines.insert(*fam, p);
    }
    let cpath = dir.join("config.toml");
    let config = match std::fs::read_to_string(&cpath) {
        Ok(text) => Config::from_toml(&text, &cpath.display().to_string())?,
        Err(_) => Config::default(),
    };
    let hpath = dir.join(crate::hazard::model::FILE);
    let hazard = if hpath.is_file() {
        Some(read_json(&hpath)?)
    } else {
        None
    };
    Ok(ModelDir {
        path: dir.to_path_buf(),
        manifest,
        pipelines,
        config,
        hazard,
    })
}

#[cfg(test)]
mod sweep_tests {
    /// A save killed mid-way leaves `.ID.tmpPID`; the next save's sweep removes it when
    /// that process is gone, and leaves a live process's folder and model folders alone.
    #[test]
    fn a_killed_saves_temporary_folder_is_swept() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        // Above Linux's largest pid (2^22): never a running process.
        let dead = root.join(".churn-1a2b3c4d.tmp4999999");
        let live = root.join(format!(".churn-1a2b3c4d.tmp{}", std::process::id()));
        let model = root.join("churn-1a2b3c4d");
        for d in [&dead, &live, &model] {
            std::fs::create_dir_all(d).unwrap();
            std::fs::write(d.join("manifest.json"), "{}").unwrap();
        }
        super::sweep(root);
        assert!(!dead.exists());
        assert!(live.exists() && model.exists());
    }
}
