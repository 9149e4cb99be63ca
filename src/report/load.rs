//! Reads what the report shows from an output folder: the files `run` and `score` wrote.
//! Every file but the at-risk list is optional; a section whose file is missing says so.

use crate::output::names;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::analysis::forecast::Forecast;
use crate::error::{Error, Result};
pub use crate::input::previous::{Account, accounts};
use crate::train::Report as TrainReport;

#[derive(Clone, Debug, Deserialize)]
pub struct TableLine {
    pub table: String,
    pub rows: usize,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Summary {
    pub as_of: String,
    #[serde(default)]
    pub tables: Vec<TableLine>,
    #[serde(default)]
    pub missing: Vec<(String, String)>,
    #[serde(default)]
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Window {
    pub period: String,
    pub start: String,
    pub segment: String,
    pub accounts_start: usize,
    pub arr_start: f64,
    pub grr: Option<f64>,
    pub nrr: Option<f64>,
    pub logo_churn: Option<f64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Retention {
    pub settled_until: String,
    pub rows: Vec<Window>,
}

#[derive(Clone, Debug, Deserialize)]
struct SummaryFile {
    summary: Summary,
    retention: Retention,
}

#[derive(Clone, Debug, Deserialize)]
pub struct CurvePoint {
    pub cohort: String,
    pub segment: String,
    pub age_months: i32,
    pub accounts: usize,
    pub logo_retention: f64,
    pub grr: Option<f64>,
    pub survivors_only: bool,
}

#[derive(Clone, Debug, Deserialize)]
struct CohortsFile {
    retention_curves: Vec<CurvePoint>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Cluster {
    pub id: usize,
    pub name: String,
    pub accounts: usize,
    pub arr: f64,
    pub churned: usize,
    pub churn_rate: f64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Clusters {
    pub snapshot_date: String,
    pub k: usize,
    pub stability_mean_ari: f64,
    pub clusters: Vec<Cluster>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Overlap {
    pub treated_off_support: usize,
    pub treated_unmatched: usize,
}

/// A number the writer may have written as `null` (serde_json writes NaN so): NaN.
fn nan<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// [`nan`] for an interval.
fn nan_pair<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<(f64, f64), D::Error> {
    let (a, b) = <(Option<f64>, Option<f64>)>::deserialize(d)?;
    Ok((a.unwrap_or(f64::NAN), b.unwrap_or(f64::NAN)))
}

#[derive(Clone, Debug, Deserialize)]
pub struct Effect {
    pub treatment: String,
    pub window_days: i64,
    pub treated: usize,
    pub untreated: usize,
    #[serde(deserialize_with = "nan")]
    pub treated_churn_rate: f64,
    #[serde(deserialize_with = "nan")]
    pub untreated_churn_rate: f64,
    #[serde(deserialize_with = "nan")]
    pub naive_difference: f64,
    #[serde(default, deserialize_with = "nan")]
    pub att_dr: f64,
    #[serde(default, deserialize_with = "nan_pair")]
    pub att_dr_ci: (f64, f64),
    #[serde(default, deserialize_with = "nan")]
    pub ess_untreated: f64,
    #[serde(default)]
    pub trimmed_treated: usize,
    #[serde(default, deserialize_with = "nan")]
    pub e_value_ci: f64,
    #[serde(default, deserialize_with = "nan")]
    pub placebo_att: f64,
    #[serde(default, deserialize_with = "nan_pair")]
    pub placebo_ci: (f64, f64),
    #[serde(default)]
    pub negative_control_att: Option<f64>,
    #[serde(default)]
    pub negative_control_ci: Option<(f64, f64)>,
    #[serde(default)]
    pub trusted: bool,
    #[serde(default)]
    pub verdict: String,
    #[serde(deserialize_with = "nan")]
    pub att_matched: f64,
    #[serde(deserialize_with = "nan_pair")]
    pub att_matched_ci: (f64, f64),
    #[serde(deserialize_with = "nan")]
    pub att_weighted: f64,
    #[serde(deserialize_with = "nan_pair")]
    pub att_weighted_ci: (f64, f64),
    #[serde(deserialize_with = "nan")]
    pub max_abs_smd_before: f64,
    #[serde(deserialize_with = "nan")]
    pub max_abs_smd_matched: f64,
    #[serde(deserialize_with = "nan")]
    pub max_abs_smd_weighted: f64,
    pub overlap: Overlap,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Propensity {
    pub outcome: String,
    #[serde(default)]
    pub negative_control: Option<String>,
    pub effects: Vec<Effect>,
    #[serde(default)]
    pub skipped: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct AucRow {
    pub segment: String,
    pub rows: usize,
    pub churned: usize,
    pub configured_roc_auc: Option<f64>,
    pub fitted_roc_auc: Option<f64>,
    pub model_roc_auc: Option<f64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct TierRow {
    pub tier: String,
    pub rows: usize,
    pub churned: usize,
    pub churn_rate: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct PartRow {
    pub component: String,
    pub feature: String,
    pub coverage: f64,
    pub roc_auc: Option<f64>,
    pub direction_agrees: Option<bool>,
    pub configured_share: f64,
    pub fitted_share: f64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Stability {
    pub flip_rate: Option<f64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Health {
    pub test_dates: (String, String),
    pub overall: AucRow,
    pub by_segment: Vec<AucRow>,
    pub tiers: Vec<TierRow>,
    pub tiers_monotone: bool,
    pub components: Vec<PartRow>,
    pub measures: Vec<PartRow>,
    pub stability: Stability,
    pub recommended_tier_rates: Vec<TierRow>,
    pub recommended_stability: Stability,
    #[serde(default)]
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Cut {
    pub at: String,
    pub accounts: usize,
    pub resolved: usize,
    pub churned: usize,
    pub predicted_churned_arr: f64,
    #[serde(default)]
    pub predicted_churned_arr_interval: Option<(f64, f64)>,
    pub actual_churned_arr: f64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Backtest {
    pub horizon_days: i64,
    pub cuts: Vec<Cut>,
}

/// An analysis file that holds an error instead of a result.
#[derive(Clone, Debug, Deserialize)]
struct Failed {
    error: String,
}

/// Everything the report can show; `None` where the folder lacks the file.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    pub dir: PathBuf,
    pub accounts: Vec<Account>,
    pub summary: Option<Summary>,
    pub retention: Option<Retention>,
    pub curves: Vec<CurvePoint>,
    pub clusters: Option<std::result::Result<Clusters, String>>,
    pub propensity: Option<std::result::Result<Propensity, String>>,
    pub health: Option<Health>,
    /// `recommended_health.toml`, verbatim.
    pub recommended_toml: Option<String>,
    pub metrics: Option<TrainReport>,
    pub forecast: Option<Forecast>,
    pub backtest: Option<Backtest>,
    /// The previous run's list, when one was given.
    pub previous: Option<Vec<Account>>,
    pub drift: Option<crate::monitor::drift::Drift>,
    pub stability: Option<crate::monitor::stability::Stability>,
    /// `play_budget.csv`, when the run wrote one.
    pub budget: Vec<BudgetLine>,
}

/// One line of `play_budget.csv`: ARR saved (estimate, 95% low, high) by a window's
/// worth of a play aimed by estimated effect, and aimed at the top of the list.
#[derive(Clone, Debug)]
pub struct BudgetLine {
    pub play: String,
    pub accounts: usize,
    pub by_effect: [Option<f64>; 3],
    pub by_list: [Option<f64>; 3],
}

fn budget(path: &Path) -> Result<Vec<BudgetLine>> {
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let t = crate::input::io::TextFrame::read(path)?;
    let num = |c: &str, i: usize| t.column(c).get(i).and_then(|v| v.parse::<f64>().ok());
    Ok((0..t.height())
        .map(|i| BudgetLine {
            play: t.column("play").get(i).unwrap_or_default().to_string(),
            accounts: num("accounts", i).map_or(0, |v| v as usize),
            by_effect: ["", "_ci_low", "_ci_high"]
                .map(|s| num(&format!("arr_saved_by_effect{s}"), i)),
            by_list: ["", "_ci_low", "_ci_high"].map(|s| num(&format!("arr_saved_by_list{s}"), i)),
        })
        .collect())
}

/// Reads `dir`; `previous` and `backtest` are other output folders (a backtest's
/// `backtest.json` in `dir` itself is used when `backtest` is not given).
pub fn load(dir: &Path, previous: Option<&Path>, backtest: Option<&Path>) -> Result<Inputs> {
    let list = dir.join(names::SCORED_ACCOUNTS_CSV);
    if !list.is_file() {
        return Err(Error::Input(format!(
            "{}: no scored_accounts.csv here; pass the output folder of `churnlab run` or `churnlab score`",
            dir.display()
        )));
    }
    let summary: Option<SummaryFile> = json(&dir.join(names::SUMMARY_JSON))?;
    let (summary, retention) = match summary {
        Some(s) => (Some(s.summary), Some(s.retention)),
        None => (None, None),
    };
    let cohorts: Option<CohortsFile> = json(&dir.join(names::COHORTS_JSON))?;
    let bt_dir = backtest.unwrap_or(dir);
    Ok(Inputs {
        dir: dir.to_path_buf(),
        accounts: accounts(&list)?,
        summary,
        retention,
        curves: cohorts.map(|c| c.retention_curves).unwrap_or_default(),
        clusters: analysis(&dir.join(names::CLUSTERS_JSON))?,
        propensity: analysis(&dir.join(names::PROPENSITY_JSON))?,
        health: json(&dir.join(names::HEALTH_REPORT_JSON))?,
        recommended_toml: text(&dir.join(names::RECOMMENDED_HEALTH_TOML))?,
        metrics: json(&dir.join(names::METRICS_JSON))?,
        forecast: json(&dir.join(names::FORECAST_JSON))?,
        backtest: json(&bt_dir.join(names::BACKTEST_JSON))?,
        previous: match previous {
            Some(p) => Some(accounts(&p.join(names::SCORED_ACCOUNTS_CSV))?),
            None => None,
        },
        drift: json(&dir.join(names::DRIFT_JSON))?,
        stability: json(&dir.join(names::STABILITY_JSON))?,
        budget: budget(&dir.join(names::PLAY_BUDGET_CSV))?,
    })
}

fn text(path: &Path) -> Result<Option<String>> {
    if !path.is_file() {
        return Ok(None);
    }
    std::fs::read_to_string(path)
        .map(Some)
        .map_err(|e| Error::io(path, e))
}

fn json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    let Some(s) = text(path)? else {
        return Ok(None);
    };
    serde_json::from_str(&s).map(Some).map_err(|e| {
        Error::Input(format!(
            "{}: line {}, column {}: {e}",
            path.display(),
            e.line(),
            e.column()
        ))
    })
}

/// An analysis file: its result, or the error it records.
fn analysis<T: DeserializeOwned>(path: &Path) -> Result<Option<std::result::Result<T, String>>> {
    let Some(s) = text(path)? else {
        return Ok(None);
    };
    if let Ok(f) = serde_json::from_str::<Failed>(&s) {
        return Ok(Some(Err(f.error)));
    }
    serde_json::from_str(&s).map(|v| Some(Ok(v))).map_err(|e| {
        Error::Input(format!(
            "{}: line {}, column {}: {e}",
            path.display(),
            e.line(),
            e.column()
        ))
    })
}
