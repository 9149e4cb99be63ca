//! The configuration: one TOML file, every field optional (defaults built in).
//!
//! As in linfa's `ParamGuard`, a [`RawConfig`] (what the TOML says, or what code builds)
//! becomes a checked [`Config`] through [`RawConfig::check`], once, before any work; the
//! stages only ever receive the checked type. Every error names the file and the line of
//! the offending key. This module is a leaf: it owns the section types and depends on no
//! stage (the health section checks its measures against the static feature catalog).

pub mod health;
mod position;

use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::common::vocab::Family;
use crate::error::{Error, Result};
pub use health::HealthConfig;
use position::line_col;

/// The configuration as written: parsed, not yet checked.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    /// Seed for everything random (model fits, splits, bootstraps).
    pub seed: u64,
    pub data: DataConfig,
    pub snapshots: SnapshotConfig,
    pub features: FeatureConfig,
    pub models: ModelConfig,
    pub scoring: ScoringConfig,
    /// The CS team's health score (see [`crate::health`]); none by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthConfig>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// An account churns at the end of a term when no term starts within this many days.
    pub grace_days: i64,
    /// The date the data describes as "now"; default: the day after the latest event.
    pub as_of: Option<NaiveDate>,
    /// Drop rows dated outside the book's span with a warning, instead of refusing the
    /// book ([`crate::input::span`]).
    pub skip_out_of_span_dates: bool,
}

/// How snapshots are taken and labelled.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SnapshotConfig {
    /// Months between snapshots (snapshots fall on the first of the month).
    pub cadence_months: u32,
    /// Days after t within which a churn makes the label 1.
    pub horizon_days: i64,
    /// Accounts younger than this at t are left out (default 0: new accounts are
    /// scored from what exists; their missing windows stay missing).
    pub min_tenure_days: i64,
    /// First snapshot; default: the first cadence date at least `warmup_days` after the
    /// first behavioural event (so trailing windows are full).
    pub start: Option<NaiveDate>,
    pub warmup_days: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FeatureConfig {
    /// Sticky features: values of the usage table's `feature` column. Empty: the two
    /// sticky features are unavailable (a choice from labels would make the feature table
    /// depend on the future; the per-type family covers each feature instead).
    pub sticky_features: Vec<String>,
    /// Event types (values of `usage.feature`) that get the per-type metrics. Empty: chosen
    /// from the data by coverage ([`FeatureConfig::usage_type_min_share`],
    /// [`FeatureConfig::usage_type_max`]) when a model is trained; a saved model's
    /// configuration holds the list it was trained with.
    pub usage_types: Vec<String>,
    /// A type enters the per-type family when at least this share of the accounts with
    /// usage used it before the training cut.
    pub usage_type_min_share: f64,
    /// At most this many types, the most widely used first (0: no per-type family).
    pub usage_type_max: usize,
    /// Ratios between types (`usage[A/B].ratio_90d`) for every pair among this many of the
    /// family's types, the most widely used first (6 gives 15 columns). Default 0, off: on
    /// a book built for them they bought no ROC-AUC (decision 27).
    pub usage_ratio_types: usize,
    /// Features the models must not use: feature names (`churnlab catalog`) or source
    /// tables (`usage` drops every usage feature). They are still computed, written to the
    /// snapshot table and used to score a previous model that has them.
    pub exclude: Vec<String>,
}

/// Training options.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// Families to train (names as in metrics.json); empty: all.
    pub families: Vec<Family>,
    /// Share of labelled snapshot dates in each of the validation and test periods.
    pub test_share: f64,
    /// Folds for flat tables.
    pub folds: usize,
    /// Fit the final models on all labelled rows (else keep the ones fitted on the fit
    /// period for validation).
    pub refit: bool,
    /// Fit the account-month hazard beside the models (a book's runs only): P(churn
    /// within 6 and 12 months) and of the next renewal on the list, and the quarter
    /// forecast.
    pub hazard: bool,
}

/// Probability cut-offs of the risk tiers.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ScoringConfig {
    /// At or above: "high".
    pub high: f64,
    /// At or above (and below `high`): "medium"; below: "low".
    pub medium: f64,
}

impl Default for RawConfig {
    fn default() -> Self {
        RawConfig {
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
            skip_out_of_span_dates: false,
        }
    }
}

impl Default for SnapshotConfig {
    fn default() -> Self {
        SnapshotConfig {
            cadence_months: 1,
            horizon_days: 90,
            min_tenure_days: 0,
            start: None,
            warmup_days: 90,
        }
    }
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            sticky_features: Vec::new(),
            usage_types: Vec::new(),
            usage_type_min_share: 0.02,
            usage_type_max: 50,
            usage_ratio_types: 0,
            exclude: Vec::new(),
        }
    }
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            families: Vec::new(),
            test_share: 0.2,
            folds: 5,
            refit: true,
            hazard: true,
        }
    }
}

impl Default for ScoringConfig {
    fn default() -> Self {
        ScoringConfig {
            high: 0.25,
            medium: 0.10,
        }
    }
}

impl ScoringConfig {
    pub fn tier(&self, p: f64) -> &'static str {
        if p >= self.high {
            "high"
        } else if p >= self.medium {
            "medium"
        } else {
            "low"
        }
    }
}

/// A configuration that passed every check. Only [`RawConfig::check`] makes one; read
/// its sections through the accessors, and change it through [`Config::to_raw`] and a
/// new check.
#[derive(Clone, Debug, PartialEq)]
pub struct Config(RawConfig);

impl Default for Config {
    /// The built-in defaults, which pass every check.
    fn default() -> Self {
        Config(RawConfig::default())
    }
}

impl Config {
    /// Reads and checks a TOML file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// Parses and checks TOML text; `path` names it in errors.
    pub fn from_toml(text: &str, path: &str) -> Result<Self> {
        RawConfig::from_toml(text, path)?.check_source(&Source {
            path,
            text: Some(text),
        })
    }

    pub fn seed(&self) -> u64 {
        self.0.seed
    }
    pub fn data(&self) -> &DataConfig {
        &self.0.data
    }
    pub fn snapshots(&self) -> &SnapshotConfig {
        &self.0.snapshots
    }
    pub fn features(&self) -> &FeatureConfig {
        &self.0.features
    }
    pub fn models(&self) -> &ModelConfig {
        &self.0.models
    }
    pub fn scoring(&self) -> &ScoringConfig {
        &self.0.scoring
    }
    pub fn health(&self) -> Option<&HealthConfig> {
        self.0.health.as_ref()
    }
    /// The checked values, for serialising or for building a changed configuration.
    pub fn raw(&self) -> &RawConfig {
        &self.0
    }
    pub fn to_raw(&self) -> RawConfig {
        self.0.clone()
    }
    /// This configuration with the per-type usage family's list of types fixed: what a
    /// model folder saves once training has chosen the types from the data, so that
    /// scoring computes the same columns.
    pub fn with_usage_types(&self, types: &[String]) -> Config {
        let mut raw = self.0.clone();
        raw.features.usage_types = types.to_vec();
        Config(raw)
    }
    /// The configuration as TOML (what a model folder saves as `config.toml`).
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(&self.0)
            .map_err(|e| Error::Internal(format!("serialising the configuration: {e}")))
    }
}

/// Where a configuration came from, so that errors can name the file and line.
struct Source<'a> {
    path: &'a str,
    text: Option<&'a str>,
}

impl Source<'_> {
    /// An error about `section.key`, located at its line when the text has it.
    fn error(&self, section: &str, key: &str, message: String) -> Error {
        let at = self
            .text
            .and_then(|t| locate(t, section, key).map(|(l, c)| format!("line {l}, column {c}: ")))
            .unwrap_or_default();
        Error::Config {
            path: self.path.to_string(),
            message: format!("{at}{section}.{key}: {message}"),
        }
    }
}

/// Line and column of the value of `section.key` in TOML `text`.
fn locate(text: &str, section: &str, key: &str) -> Option<(usize, usize)> {
    let doc = toml::de::DeTable::parse(text).ok()?;
    fn find<'a, 'i>(
        t: &'a toml::de::DeTable<'i>,
        name: &str,
    ) -> Option<&'a toml::Spanned<toml::de::DeValue<'i>>> {
        t.iter()
            .find(|(k, _)| k.get_ref().as_ref() == name)
            .map(|(_, v)| v)
    }
    let sec = find(doc.get_ref(), section)?;
    let toml::de::DeValue::Table(t) = sec.get_ref() else {
        return None;
    };
    let v = find(t, key)?;
    Some(line_col(text, v.span().start))
}

impl RawConfig {
    /// Parses TOML text without checking values; syntax errors and unknown keys name the
    /// line and column.
    pub fn from_toml(text: &str, path: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| {
            let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
            Error::Config {
                path: path.to_string(),
                message: format!("line {line}, column {col}: {}", e.message()),
            }
        })
    }

    /// Checks every value once and returns the checked configuration. For a
    /// configuration built in code (no file): errors name the key.
    pub fn check(self) -> Result<Config> {
        self.check_source(&Source {
            path: "(built in code)",
            text: None,
        })
    }

    fn check_source(self, src: &Source<'_>) -> Result<Config> {
        self.check_book(src)?;
        self.check_features(src)?;
        self.check_models(src)?;
        if let Some(h) = &self.health {
            h.check(src.path, src.text.unwrap_or(""))?;
        }
        Ok(Config(self))
    }

    /// `[data]` and `[snapshots]`.
    fn check_book(&self, src: &Source<'_>) -> Result<()> {
        let d = &self.data;
        if !(0..=366).contains(&d.grace_days) {
            return Err(src.error(
                "data",
                "grace_days",
                format!("is {}; expected 0 to 366 days", d.grace_days),
            ));
        }
        let s = &self.snapshots;
        if !(1..=12).contains(&s.cadence_months) {
            return Err(src.error(
                "snapshots",
                "cadence_months",
                format!("is {}; expected 1 to 12 months", s.cadence_months),
            ));
        }
        if !(1..=730).contains(&s.horizon_days) {
            return Err(src.error(
                "snapshots",
                "horizon_days",
                format!("is {}; expected 1 to 730 days", s.horizon_days),
            ));
        }
        for (key, v) in [
            ("min_tenure_days", s.min_tenure_days),
            ("warmup_days", s.warmup_days),
        ] {
            if !(0..=3660).contains(&v) {
                return Err(src.error(
                    "snapshots",
                    key,
                    format!("is {v}; expected 0 to 3660 days"),
                ));
            }
        }
        Ok(())
    }

    /// `[features]`: sticky features, usage types and their rules, exclusions.
    fn check_features(&self, src: &Source<'_>) -> Result<()> {
        let mut seen = Vec::new();
        // Sticky features and usage types are values of the usage table's `feature`
        // column: the data, not the catalog, says which exist.
        for f in &self.features.sticky_features {
            if f.trim().is_empty() {
                return Err(src.error(
                    "features",
                    "sticky_features",
                    "has an empty name; expected values of the usage table's feature column".into(),
                ));
            }
            if seen.contains(&f) {
                return Err(src.error(
                    "features",
                    "sticky_features",
                    format!("`{f}` appears twice"),
                ));
            }
            seen.push(f);
        }
        let mut seen = Vec::new();
        for f in &self.features.usage_types {
            if f.trim().is_empty() || f.contains(']') {
                return Err(src.error(
                    "features",
                    "usage_types",
                    format!("`{f}` is not a usable type name; expected a value of the usage table's feature column"),
                ));
            }
            if seen.contains(&f) {
                return Err(src.error("features", "usage_types", format!("`{f}` appears twice")));
            }
            seen.push(f);
        }
        let ft = &self.features;
        if !(ft.usage_type_min_share >= 0.0 && ft.usage_type_min_share <= 1.0) {
            return Err(src.error(
                "features",
                "usage_type_min_share",
                format!(
                    "is {}; expected a share of accounts from 0 to 1",
                    ft.usage_type_min_share
                ),
            ));
        }
        if ft.usage_type_max > 200 {
            return Err(src.error(
                "features",
                "usage_type_max",
                format!(
                    "is {}; expected at most 200 types (8 columns each)",
                    ft.usage_type_max
                ),
            ));
        }
        if ft.usage_ratio_types > 20 {
            return Err(src.error(
                "features",
                "usage_ratio_types",
                format!(
                    "is {}; expected at most 20 types (a column for each pair)",
                    ft.usage_ratio_types
                ),
            ));
        }
        for f in &self.features.exclude {
            if crate::common::catalog::matching(f).is_empty()
                && crate::common::catalog::per_type(f).is_none()
            {
                return Err(src.error(
                    "features",
                    "exclude",
                    format!("`{f}` is neither a feature of the catalog (see `churnlab catalog`) nor a table name"),
                ));
            }
        }
        Ok(())
    }

    /// `[models]` and `[scoring]`.
    fn check_models(&self, src: &Source<'_>) -> Result<()> {
        let m = &self.models;
        if !(m.test_share > 0.0 && m.test_share < 0.5) {
            return Err(src.error(
                "models",
                "test_share",
                format!(
                    "is {}; expected a share strictly between 0 and 0.5 (each of the validation and test periods takes this share of the labelled dates)",
                    m.test_share
                ),
            ));
        }
        if !(2..=100).contains(&m.folds) {
            return Err(src.error(
                "models",
                "folds",
                format!("is {}; expected 2 to 100 folds", m.folds),
            ));
        }
        let mut fams = Vec::new();
        for f in &m.families {
            if fams.contains(f) {
                return Err(src.error(
                    "models",
                    "families",
                    format!("`{}` appears twice", f.name()),
                ));
            }
            fams.push(*f);
        }
        let t = &self.scoring;
        if !(t.medium > 0.0 && t.medium < t.high && t.high <= 1.0) {
            return Err(src.error(
                "scoring",
                if t.high > 1.0 || !t.high.is_finite() {
                    "high"
                } else {
                    "medium"
                },
                format!(
                    "tiers must satisfy 0 < medium < high <= 1 (got medium {}, high {})",
                    t.medium, t.high
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Config::from_toml(text, "c.toml").unwrap_err().to_string()
    }

    #[test]
    fn defaults_and_errors_name_the_line() {
        let c = Config::from_toml("seed = 7\n[data]\ngrace_days = 45\n", "c.toml").unwrap();
        assert_eq!((c.seed(), c.data().grace_days), (7, 45));
        let e = err("seed = 7\n[data]\ngrace_dayz = 45\n");
        assert!(
            e.contains("c.toml") && e.contains("line 3") && e.contains("grace_dayz"),
            "{e}"
        );
        let e = err("[data]\ngrace_days = -1\n");
        assert!(
            e.contains("line 2, column 14") && e.contains("expected 0 to 366"),
            "{e}"
        );
    }

    #[test]
    fn every_section_is_checked_with_its_line() {
        let cases = [
            (
                "[models]\ntest_share = 0.5\n",
                "line 2",
                "models.test_share",
            ),
            ("[models]\ntest_share = 0\n", "line 2", "models.test_share"),
            (
                "seed = 1\n\n[models]\nfolds = 1\n",
                "line 4",
                "models.folds",
            ),
            (
                "[models]\nfamilies = [\"logistic\", \"logistic\"]\n",
                "line 2",
                "appears twice",
            ),
            ("[models]\nfamilies = [\"svm\"]\n", "line 2", "svm"),
            (
                "[scoring]\nhigh = 0.1\nmedium = 0.2\n",
                "line 3",
                "0 < medium < high",
            ),
            ("[snapshots]\nhorizon_days = 0\n", "line 2", "horizon_days"),
            (
                "[snapshots]\ncadence_months = 13\n",
                "line 2",
                "cadence_months",
            ),
            (
                "[features]\nusage_types = [\"a\", \"a\"]\n",
                "line 2",
                "appears twice",
            ),
        ];
        for (text, line, what) in cases {
            let e = err(text);
            assert!(
                e.contains("c.toml") && e.contains(line) && e.contains(what),
                "{text:?}: {e}"
            );
        }
    }

    #[test]
    fn checked_in_code_too() {
        let mut raw = RawConfig::default();
        raw.models.folds = 1;
        let e = raw.check().unwrap_err().to_string();
        assert!(
            e.contains("models.folds") && e.contains("expected 2"),
            "{e}"
        );
        let c = RawConfig::default().check().unwrap();
        assert_eq!(c, Config::default());
    }
}
