//! The effect models behind the next best play, as the propensity analysis fits them
//! and the model folder keeps them (`plays.json`), so that `churnlab score` offers the
//! same plays without rerunning the analysis.

use std::path::Path;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::effects::EffectModel;
use crate::error::Result;
use crate::features::dataset::Dataset;
use crate::model::prep::Preprocessor;

/// What offering the next best play needs, fitted by the propensity analysis and saved
/// in the model folder (`plays.json`) so that `churnlab score` offers the same plays
/// without rerunning the analysis.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PlayModels {
    /// The preprocessing of the features at the snapshot, the effect models' inputs.
    pub prep: Preprocessor,
    pub plays: Vec<PlayModel>,
}

/// One play's DR-learner effect model and its headline.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PlayModel {
    pub play: String,
    /// The doubly robust effect on the treated (change in churn probability).
    pub att_dr: f64,
    /// Whether the headline passed its checks with an interval below zero: only then is
    /// the play offered.
    pub supported: bool,
    pub model: EffectModel,
}

impl PlayModels {
    /// The effect models' inputs for rows `rows` of `ds`, and each play's estimated
    /// effect on each row (change in churn probability; negative: fewer churns).
    pub fn effects(&self, ds: &Dataset, rows: &[usize]) -> Result<(Array2<f64>, Vec<Vec<f64>>)> {
        let z = self.prep.transform(ds, rows)?;
        let by_play = self
            .plays
            .iter()
            .map(|p| {
                z.rows()
                    .into_iter()
                    .map(|r| match r.as_slice() {
                        Some(v) => p.model.effect(v),
                        None => p.model.effect(&r.to_vec()),
                    })
                    .collect()
            })
            .collect();
        Ok((z, by_play))
    }

    /// Writes `plays.json` (into a model folder being saved).
    pub fn to_json(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self)
            .map_err(|e| crate::error::Error::Internal(format!("serialising: {e}")))
    }

    /// Reads `<model folder>/plays.json`; `None` when the folder has none (a model
    /// trained by `churnlab train`, or before the plays analysis existed).
    pub fn load(model_dir: &Path) -> Result<Option<PlayModels>> {
        let path = model_dir.join(PLAYS_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(crate::error::Error::io(&path, e)),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| crate::error::Error::Read {
                path: path.clone(),
                message: format!("not a churnlab plays file ({e})"),
            })
    }
}

/// The model folder's file of [`PlayModels`].
pub const PLAYS_FILE: &str = "plays.json";
