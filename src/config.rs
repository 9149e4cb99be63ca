//! Run configuration: one TOML file, every field optional (defaults built in).

use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Seed for everything random (model fits, splits, bootstraps).
    pub seed: u64,
    pub data: DataConfig,
    pub snapshots: crate::snapshot::SnapshotConfig,
    pub features: crate::features::FeatureConfig,
    pub models: crate::train::ModelConfig,
    pub scoring: crate::score::ScoringConfig,
    /// The CS team's health score (see [`crate::health`]); none by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<crate::health::HealthConfig>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// An account churns at the end of a term when no term starts within this many days.
    pub grace_days: i64,
    /// The date the data describes as "now"; default: the day after the latest event.
    pub as_of: Option<NaiveDate>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 42,
            data: DataConfig::default(),
            snapshots: Default::default(),
            features: Default::default(),
            models: Default::default(),
            scoring: Default::default(),
            health: None,
        }
    }
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            grace_days: 30,
            as_of: None,
        }
    }
}

impl Config {
    pub fn from_toml(text: &str, path: &str) -> Result<Self> {
        let cfg: Config = toml::from_str(text).map_err(|e| {
            let (line, col) = e
                .span()
                .map(|s| {
                    let before = &text[..s.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let col = before
                        .rsplit('\n')
                        .next()
                        .map(|l| l.chars().count() + 1)
                        .unwrap_or(1);
                    (line, col)
                })
                .unwrap_or((0, 0));
            Error::Config {
                path: path.to_string(),
                message: format!("line {line}, column {col}: {}", e.message()),
            }
        })?;
        cfg.check(path, text)?;
        Ok(cfg)
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_toml(&text, &path.display().to_string())
    }

    fn check(&self, path: &str, text: &str) -> Result<()> {
        if !(0..=366).contains(&self.data.grace_days) {
            return Err(Error::Config {
                path: path.to_string(),
                message: format!(
                    "data.grace_days is {}; expected 0 to 366 days",
                    self.data.grace_days
                ),
            });
        }
        let s = &self.snapshots;
        if s.horizon_days < 1 || s.cadence_months < 1 || s.min_tenure_days < 0 || s.warmup_days < 0
        {
            return Err(Error::Config {
                path: path.to_string(),
                message: "snapshots: horizon_days and cadence_months must be >= 1, min_tenure_days and warmup_days >= 0".into(),
            });
        }
        if let Some(h) = &self.health {
            h.check(path, text)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors_name_the_line() {
        let c = Config::from_toml("seed = 7\n[data]\ngrace_days = 45\n", "c.toml").unwrap();
        assert_eq!((c.seed, c.data.grace_days), (7, 45));
        let e = Config::from_toml("seed = 7\n[data]\ngrace_dayz = 45\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("c.toml") && e.contains("line 3") && e.contains("grace_dayz"),
            "{e}"
        );
        let e = Config::from_toml("[data]\ngrace_days = -1\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected 0 to 366"), "{e}");
    }
}
