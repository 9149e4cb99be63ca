//! Reads what the report shows from an output folder: the files `run` and `score` wrote,
//! into the very types that wrote them (a figure written as `null`, or missing from an
//! older folder, reads back as NaN or its default). Every file but the at-risk list is
//! optional; a section whose file is missing says so.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;

pub use crate::analysis::cluster::{Cluster, ClusterReport as Clusters};
pub use crate::analysis::cohort::CurvePoint;
use crate::analysis::forecast::Forecast;
pub use crate::analysis::propensity::{Effect, Overlap, PropensityReport as Propensity};
pub use crate::book::retention::{Report as Retention, Window};
pub use crate::book::summary::{Summary, TableLine};
use crate::error::{Error, Result};
pub use crate::health::validate::{AucRow, HealthReport as Health, PartRow, Stability, TierRow};
pub use crate::input::previous::{Account, accounts};
use crate::output::names;
use crate::train::Report as TrainReport;
pub use crate::workflow::backtest::{Backtest, CutResult as Cut};

/// `summary.json`'s envelope: the book summary and the retention report, as `run`
/// writes them.
#[derive(Clone, Debug, Deserialize)]
struct SummaryFile {
    summary: Summary,
    retention: Retention,
}

/// `cohorts.json`'s retention curves.
#[derive(Clone, Debug, Deserialize)]
struct CohortsFile {
    retention_curves: Vec<CurvePoint>,
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
    /// The account-month hazard's out-of-time figures (`hazard.json`), when the run
    /// fitted it.
    pub hazard: Option<crate::hazard::HazardEvaluation>,
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
        hazard: json(&dir.join(names::HAZARD_JSON))?,
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
