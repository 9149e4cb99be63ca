//! The names of the files the jobs write into an output folder: one spelling, used by
//! the writers that make the files, by the report that reads them back and by
//! `--previous`, which reads an earlier run's list.

pub const RETENTION_CSV: &str = "retention.csv";
pub const HAZARD_JSON: &str = "hazard.json";
pub const HAZARD_TEST_CSV: &str = "hazard_test.csv";
pub const SUMMARY_JSON: &str = "summary.json";
/// The snapshot table's stem (`.parquet`, `.csv`).
pub const SNAPSHOTS: &str = "snapshots";
pub const METRICS_JSON: &str = "metrics.json";
/// The ranked list's stem (`.parquet`, `.csv`).
pub const SCORED_ACCOUNTS: &str = "scored_accounts";
pub const SCORED_ACCOUNTS_CSV: &str = "scored_accounts.csv";
pub const DRIVERS_CSV: &str = "drivers.csv";
pub const WORKBOOK: &str = "at_risk.xlsx";
pub const REPORT_HTML: &str = "report.html";
pub const FORECAST_JSON: &str = "forecast.json";
pub const FORECAST_CSV: &str = "forecast.csv";
pub const PLAY_BUDGET_CSV: &str = "play_budget.csv";
pub const PLAY_EFFECTS_CSV: &str = "play_effects.csv";
pub const COHORTS_JSON: &str = "cohorts.json";
pub const COHORT_RETENTION_CSV: &str = "cohort_retention.csv";
pub const METRIC_COHORTS_CSV: &str = "metric_cohorts.csv";
pub const CLUSTERS_JSON: &str = "clusters.json";
pub const CLUSTERS_CSV: &str = "clusters.csv";
pub const PROPENSITY_JSON: &str = "propensity.json";
pub const PROPENSITY_CSV: &str = "propensity.csv";
pub const PROPENSITY_BALANCE_CSV: &str = "propensity_balance.csv";
pub const DRIFT_CSV: &str = "drift.csv";
pub const DRIFT_JSON: &str = "drift.json";
pub const STABILITY_CSV: &str = "stability.csv";
pub const STABILITY_JSON: &str = "stability.json";
pub const HEALTH_REPORT_JSON: &str = "health_report.json";
pub const HEALTH_AUC_CSV: &str = "health_auc.csv";
pub const HEALTH_TIERS_CSV: &str = "health_tiers.csv";
pub const HEALTH_COMPONENTS_CSV: &str = "health_components.csv";
/// The health scores' stem (`.parquet`, `.csv`).
pub const HEALTH_SCORES: &str = "health_scores";
pub const RECOMMENDED_HEALTH_TOML: &str = "recommended_health.toml";
pub const BACKTEST_JSON: &str = "backtest.json";
pub const BACKTEST_CSV: &str = "backtest.csv";
pub const BACKTEST_SCORES_CSV: &str = "backtest_scores.csv";
