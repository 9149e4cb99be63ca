//! What a retrain compares with (`--previous`), resolved once before any work: the model
//! in production and the list the CS team last received.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::input::previous::{self, Account, DriverRow};
use crate::output::names;
use crate::train::artifact::{self, ModelDir};
use crate::train::registry;

/// The previous model folder and the previous run's output folder, either or both.
#[derive(Clone, Debug, Default)]
pub struct Previous {
    /// A model folder: the challenger is compared with its champion.
    pub model: Option<PathBuf>,
    /// An output folder of `run` or `score`: the list is compared with its list.
    pub list: Option<PathBuf>,
    /// Given an output folder only: the models folder where [`Previous::load`] looks for
    /// the model that made its list (named in the list's `model_id`).
    pub list_model_in: Option<PathBuf>,
}

fn holds_list(dir: &Path) -> bool {
    dir.join(names::SCORED_ACCOUNTS_CSV).is_file()
}

impl Previous {
    /// Resolves `--previous`:
    /// - a model folder, a run id in `models`, `champion` (the promoted model) or
    ///   `latest` (the last saved): the model; the list is `out`'s when `out` already
    ///   holds a run;
    /// - an earlier run's output folder: its list, and the model that made it when that
    ///   model is in `models`.
    ///
    /// Without `--previous`, nothing is compared: a run's outputs depend on its inputs
    /// only, never on what OUT held before.
    pub fn resolve(arg: Option<&str>, models: &Path, out: Option<&Path>) -> Result<Previous> {
        let Some(arg) = arg else {
            return Ok(Previous::default());
        };
        let out_list = out.filter(|o| holds_list(o)).map(Path::to_path_buf);
        let dir = PathBuf::from(arg);
        if holds_list(&dir) && !dir.join("manifest.json").is_file() {
            return Ok(Previous {
                model: None,
                list: Some(dir),
                list_model_in: Some(models.to_path_buf()),
            });
        }
        Ok(Previous {
            model: Some(registry::resolve(models, arg)?),
            list: out_list,
            list_model_in: None,
        })
    }

    /// Reads what was resolved: errors name the file.
    pub fn load(&self) -> Result<Loaded> {
        let mut model = self.model.as_deref().map(artifact::load).transpose()?;
        let list = match &self.list {
            Some(dir) => {
                let accounts = previous::accounts(&dir.join(names::SCORED_ACCOUNTS_CSV))?;
                let d = dir.join(names::DRIVERS_CSV);
                let drivers = if d.is_file() {
                    previous::drivers(&d)?
                } else {
                    Vec::new()
                };
                if let Some(models) = &self.list_model_in {
                    let m = accounts
                        .first()
                        .map(|a| models.join(&a.model_id))
                        .filter(|m| m.join("manifest.json").is_file());
                    match m {
                        Some(m) => model = Some(artifact::load(&m)?),
                        None => log::warn!(
                            "--previous {}: the model that made this list is not in {}; the list is compared, the models are not",
                            dir.display(),
                            models.display()
                        ),
                    }
                }
                Some(List {
                    path: dir.join(names::SCORED_ACCOUNTS_CSV),
                    accounts,
                    drivers,
                })
            }
            None => None,
        };
        Ok(Loaded { model, list })
    }
}

/// The previous run's list as read.
pub struct List {
    pub path: PathBuf,
    pub accounts: Vec<Account>,
    pub drivers: Vec<DriverRow>,
}

/// The previous model and list, loaded.
#[derive(Default)]
pub struct Loaded {
    pub model: Option<ModelDir>,
    pub list: Option<List>,
}

impl Loaded {
    /// The previous model's features, numeric then categorical (for drift's new and
    /// retired features).
    pub fn model_features(&self) -> Option<Vec<String>> {
        self.model.as_ref().map(|p| {
            [
                p.manifest.numeric_features.clone(),
                p.manifest.categorical_features.clone(),
            ]
            .concat()
        })
    }
}
