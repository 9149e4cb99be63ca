//! The model index `MODELS/index.json`: every model folder saved under MODELS, oldest
//! first, with the decision taken when it was saved and which one is promoted (the model
//! in production). `churnlab models list` prints it; `--previous champion` and
//! `--previous latest` resolve through it.
//!
//! A model is promoted when its comparison with the champion says so
//! ([`super::compare::RULE`]), or when MODELS has no promoted model yet. A model saved
//! without a comparison is recorded but not promoted.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::input::io;
use crate::train::artifact::{self, Manifest};
use crate::train::comparison::Comparison;

/// One saved model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub run_id: String,
    /// The as-of date of the data it was trained on (books), else empty.
    pub as_of: String,
    pub champion_family: String,
    /// Held-out ROC-AUC of its champion family.
    pub test_roc_auc: Option<f64>,
    /// The model it was compared with, when it was.
    pub compared_with: Option<String>,
    pub promoted: bool,
    pub decision: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Index {
    pub models: Vec<Entry>,
}

impl Index {
    pub fn promoted(&self) -> Option<&Entry> {
        self.models.iter().find(|e| e.promoted)
    }
}

fn path(models: &Path) -> PathBuf {
    models.join("index.json")
}

/// Reads MODELS/index.json. Without one, the model folders already in MODELS are listed
/// from their manifests (oldest name first), none promoted.
pub fn read(models: &Path) -> Result<Index> {
    let p = path(models);
    if p.is_file() {
        let text = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
        return serde_json::from_str(&text).map_err(|e| Error::Read {
            path: p.clone(),
            message: format!(
                "line {}, column {}: not a churnlab model index ({e}); delete it to rebuild it from the model folders",
                e.line(),
                e.column()
            ),
        });
    }
    let mut models_found = Vec::new();
    if let Ok(rd) = std::fs::read_dir(models) {
        let mut dirs: Vec<PathBuf> = rd
            .flatten()
            .map(|d| d.path())
            .filter(|d| d.join("manifest.json").is_file())
            .collect();
        dirs.sort();
        for d in dirs {
            if let Ok(m) = artifact::read_manifest(&d) {
                models_found.push(Entry {
                    decision: "saved before the index existed".into(),
                    ..entry(&m, None, None)
                });
            }
        }
    }
    Ok(Index {
        models: models_found,
    })
}

fn entry(m: &Manifest, auc: Option<f64>, cmp: Option<&Comparison>) -> Entry {
    Entry {
        run_id: m.run_id.clone(),
        as_of: m.as_of.clone().unwrap_or_default(),
        champion_family: m.champion.name().to_string(),
        test_roc_auc: auc,
        compared_with: cmp.map(|c| c.champion_run_id.clone()),
        promoted: false,
        decision: String::new(),
    }
}

/// Records a saved model in MODELS/index.json and returns its entry: promoted when `cmp`
/// says so, or when no model is promoted yet. A model saved again without a comparison
/// keeps its entry; with one, its entry is replaced.
pub fn record(
    models: &Path,
    m: &Manifest,
    test_roc_auc: Option<f64>,
    cmp: Option<&Comparison>,
) -> Result<Entry> {
    let mut index = read(models)?;
    // (Without an index file, the list is rebuilt from the folders, this one included.)
    let same = path(models)
        .is_file()
        .then(|| index.models.iter().position(|e| e.run_id == m.run_id))
        .flatten();
    if let (None, Some(k)) = (cmp, same) {
        // The same model saved again (same data, configuration and seed): its line stands.
        return Ok(index.models[k].clone());
    }
    index.models.retain(|e| e.run_id != m.run_id);
    let mut e = entry(m, test_roc_auc, cmp);
    match (cmp, index.promoted()) {
        (Some(c), _) => {
            e.promoted = c.promoted;
            e.decision = c.decision.clone();
        }
        (None, None) => {
            e.promoted = true;
            e.decision = "promoted: no model in this folder was promoted yet".into();
        }
        (None, Some(p)) => {
            e.decision = format!(
                "not promoted: saved without a comparison; {} stays promoted (compare with --previous champion)",
                p.run_id
            );
        }
    }
    if e.promoted {
        index.models.iter_mut().for_each(|x| x.promoted = false);
    }
    index.models.push(e.clone());
    let text = serde_json::to_vec_pretty(&index)
        .map_err(|err| Error::Internal(format!("serialising the model index: {err}")))?;
    io::write_atomic(&path(models), &text)?;
    Ok(e)
}

/// The model folder `--previous` names: `champion` (the promoted model in MODELS),
/// `latest` (the last one saved there), a run id in MODELS, or a folder.
pub fn resolve(models: &Path, what: &str) -> Result<PathBuf> {
    let index = || read(models);
    let found = match what {
        "champion" => index()?.promoted().map(|e| e.run_id.clone()).ok_or_else(|| {
            Error::Input(format!(
                "--previous champion: {} has no promoted model yet (see `churnlab models list --models {}`)",
                models.display(),
                models.display()
            ))
        })?,
        "latest" => index()?.models.last().map(|e| e.run_id.clone()).ok_or_else(|| {
            Error::Input(format!(
                "--previous latest: {} holds no model folder yet",
                models.display()
            ))
        })?,
        other => {
            let p = PathBuf::from(other);
            if p.join("manifest.json").is_file() {
                return Ok(p);
            }
            if models.join(other).join("manifest.json").is_file() {
                return Ok(models.join(other));
            }
            return Err(Error::Input(format!(
                "--previous {other}: not a model folder (no manifest.json there or in {}); pass models/<run-id>, `champion` or `latest`",
                models.display()
            )));
        }
    };
    Ok(models.join(found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolving_names_that_are_not_models_is_a_clear_error() {
        let d = tempfile::tempdir().unwrap();
        let e = resolve(d.path(), "champion").unwrap_err().to_string();
        assert!(e.contains("has no promoted model yet"), "{e}");
        let e = resolve(d.path(), "nope").unwrap_err().to_string();
        assert!(e.contains("--previous nope: not a model folder"), "{e}");
        std::fs::write(d.path().join("index.json"), "{ not json").unwrap();
        let e = resolve(d.path(), "latest").unwrap_err().to_string();
        assert!(
            e.contains("line 1, column 3: not a churnlab model index"),
            "{e}"
        );
    }
}
