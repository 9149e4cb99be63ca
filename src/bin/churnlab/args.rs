//! The command line's flags, turned into the library's checked types before any work.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};

use churnlab::input::io::Format;
use churnlab::model::Family;
use churnlab::report::ReportOptions;
use churnlab::score::{Filter, ListOptions, RankBy};
use churnlab::sim::Grain;
use churnlab::workflow::train::FlatTable;

#[derive(Parser)]
#[command(
    name = "churnlab",
    version,
    about = "Churn modelling for B2B SaaS Customer Success teams"
)]
pub struct Cli {
    /// More logging (-v: steps, -vv: details).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// A TOML configuration file (default: DATA/churnlab.toml when the command reads a
    /// data folder, --data or the book, that has one: run, health, analyze, features,
    /// retention, train, score, backtest and validate; else the built-in defaults).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Write a simulated customer book (every input table) with its hidden truth.
    Simulate {
        #[arg(long, default_value_t = 2000)]
        accounts: usize,
        #[arg(long, default_value_t = 24)]
        months: u32,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// First simulated month (YYYY-MM-DD, a month start).
        #[arg(long, default_value = "2024-11-01")]
        start: NaiveDate,
        /// Usage rows per user and feature: daily, weekly or monthly.
        #[arg(long, default_value = "monthly")]
        grain: Grain,
        #[arg(long, default_value = "csv")]
        format: Format,
        #[arg(long)]
        out: PathBuf,
    },
    /// The whole pipeline on a folder of tables: validation, retention, features,
    /// training, calibration, scoring of the current snapshot and explanations.
    Run {
        #[command(flatten)]
        book: BookArgs,
        /// Output folder for this run's files.
        #[arg(long, default_value = "out")]
        out: PathBuf,
        /// Where the model folder goes (MODELS/<run-id>).
        #[arg(long, default_value = "models")]
        models: PathBuf,
        #[command(flatten)]
        list: ListArgs,
        #[command(flatten)]
        report: ReportArgs,
        /// What to compare with: a model folder (MODELS/<run-id>), `champion` (the
        /// promoted model in MODELS), `latest`, or an earlier run's output folder. The new
        /// champion is compared with that model, and the list with the previous list
        /// (the output folder given, else the run OUT holds now).
        #[arg(long)]
        previous: Option<String>,
        /// Exit with status 3 (after writing every output) when a top feature's PSI between
        /// the training window and the scoring date exceeds this, or it disappeared.
        #[arg(long, value_name = "PSI", value_parser = positive_psi)]
        fail_on_drift: Option<f64>,
    },
    /// The model folders under MODELS and which one is promoted (MODELS/index.json).
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
    },
    /// Re-render report.html from an output folder of `run` or `score` (after editing
    /// nothing but the options below: an earlier run to compare with, a backtest).
    Report {
        /// The output folder to render (it must hold scored_accounts.csv).
        #[arg(long)]
        run: PathBuf,
        #[command(flatten)]
        report: ReportArgs,
        /// An earlier run's output folder: the report's headline says what changed since.
        #[arg(long)]
        previous: Option<PathBuf>,
    },
    /// Validate the team's health score ([health] in the config) against churn: its
    /// out-of-time ROC-AUC next to the model's, churn by tier, each component and
    /// measure, tier stability, fitted weights and a recommended configuration.
    Health {
        #[command(flatten)]
        book: BookArgs,
        /// Output folder for the report files.
        #[arg(long, default_value = "out")]
        out: PathBuf,
        /// Skip training the model (its ROC-AUC is then not reported).
        #[arg(long)]
        no_model: bool,
    },
    /// Cohort retention and metric cohorts, account clusters and the propensity analysis
    /// of CS plays, run concurrently; json and csv per analysis.
    Analyze {
        #[command(flatten)]
        book: BookArgs,
        #[arg(long, default_value = "out")]
        out: PathBuf,
    },
    /// Write the snapshot table: one row per account and snapshot date, with labels and
    /// every feature of the catalog (Parquet and CSV).
    Features {
        #[command(flatten)]
        book: BookArgs,
        /// Output file; written as FILE.parquet and FILE.csv (any extension is replaced).
        #[arg(long)]
        out: PathBuf,
    },
    /// Write the SQL that builds the snapshot table (spine, labels, every catalog feature,
    /// the per-type family) where the data lives: one file per stage, for DuckDB, Spark,
    /// BigQuery or Snowflake.
    Sql {
        /// duckdb, spark, bigquery or snowflake.
        #[arg(long)]
        dialect: String,
        /// Output folder for the stage files.
        #[arg(long, default_value = "sql-out")]
        out: PathBuf,
        /// A model folder: its configuration (snapshot rules, sticky features and the
        /// per-type event types it was trained with) fixes the columns.
        #[arg(long)]
        model: Option<PathBuf>,
        /// The per-type family's event types, comma-separated (default: the model's, or
        /// `[features] usage_types`; none: no per-type columns).
        #[arg(long, value_delimiter = ',')]
        types: Vec<String>,
        /// The usage table's grain (active days and DAU/MAU need daily rows).
        #[arg(long, value_enum, default_value = "daily")]
        usage_grain: GrainArg,
        /// The as-of date (default: the day after the latest event, computed in SQL).
        #[arg(long)]
        as_of: Option<NaiveDate>,
        /// Tables and optional columns the warehouse does not have, comma-separated
        /// (usage, tickets, nps, contacts, activities, invoices, usage.user_id,
        /// usage.minutes, tickets.csat, tickets.escalated, accounts.industry,
        /// accounts.region, contracts.plan): their features are NULL.
        #[arg(long, value_delimiter = ',')]
        without: Vec<String>,
    },
    /// Train every model family (out of time on a book, or cross-validated on a flat
    /// table), calibrate, pick a champion and save the model folder.
    Train {
        /// A folder of account tables (snapshot features are built from it).
        #[arg(long, conflicts_with = "table", required_unless_present = "table")]
        data: Option<PathBuf>,
        #[command(flatten)]
        flat: OptFlatArgs,
        /// Where model folders go; this run writes MODELS/<run-id>.
        #[arg(long, default_value = "models")]
        models: PathBuf,
        /// The date the data describes as "now" (default: the day after the latest event).
        #[arg(long)]
        as_of: Option<NaiveDate>,
        /// The model to compare the new champion with: a model folder, `champion` or
        /// `latest` (see `run --previous`).
        #[arg(long)]
        previous: Option<String>,
    },
    /// Cross-validate every model family on a flat feature table and print the metrics.
    Evaluate {
        #[command(flatten)]
        flat: FlatArgs,
        /// Number of stratified folds.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(2..=100))]
        cv: u16,
        /// Also write the full report as JSON here.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Score new data with a saved model, without retraining.
    Score {
        /// A model folder (models/<run-id>).
        #[arg(long)]
        model: PathBuf,
        /// A folder of account tables: every account active at the as-of date is scored.
        #[arg(long, conflicts_with = "table", required_unless_present = "table")]
        data: Option<PathBuf>,
        /// A flat feature table with the model's feature columns.
        #[arg(long)]
        table: Option<PathBuf>,
        /// The id column of the flat table.
        #[arg(long)]
        id: Option<String>,
        /// Output folder for scored_accounts.csv/.parquet, drivers.csv, at_risk.xlsx,
        /// forecast.json/.csv and report.html.
        #[arg(long, default_value = "out")]
        out: PathBuf,
        /// The date the data describes as "now" (default: the day after the latest event).
        #[arg(long)]
        as_of: Option<NaiveDate>,
        #[command(flatten)]
        list: ListArgs,
        #[command(flatten)]
        report: ReportArgs,
        /// An earlier run's output folder: the report's headline says what changed since.
        #[arg(long)]
        previous: Option<PathBuf>,
    },
    /// Would past lists have been right? Reruns the pipeline on the book as it was at
    /// each date and compares its scores with what happened over the next horizon.
    Backtest {
        #[arg(long)]
        data: PathBuf,
        /// Cut dates, comma-separated (default: three month starts a quarter apart, the
        /// latest whose horizon has passed).
        #[arg(long, value_delimiter = ',')]
        at: Vec<NaiveDate>,
        /// Output folder for backtest.json and backtest.csv.
        #[arg(long, default_value = "out")]
        out: PathBuf,
    },
    /// Benchmark: fit each model family once on a flat table with fixed parameters,
    /// timing each fit, and export the design matrix for benches/compare_fit.py.
    #[command(hide = true)]
    BenchFit {
        #[command(flatten)]
        flat: FlatArgs,
        /// Where to write the design matrix and labels (Parquet).
        #[arg(long)]
        matrix: Option<PathBuf>,
        /// Where to write the timings (JSON).
        #[arg(long)]
        json: PathBuf,
        /// Fit only this family (logistic, decision_tree, random_forest,
        /// gradient_boosting); default: all four.
        #[arg(long, value_parser = family)]
        only: Option<Family>,
    },
    /// Print the feature catalog (the Markdown of docs/features.md).
    Catalog,
    /// Check an input folder against the data contract and summarise it.
    Validate {
        #[arg(long)]
        data: PathBuf,
    },
    /// Time to churn: an account-month hazard (P(churn within 1..12 months), with the
    /// renewal calendar), fitted and tested out of time against the direct 90-day model.
    Hazard {
        #[command(flatten)]
        book: BookArgs,
        /// Folder for hazard.json (default: print only).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Logo churn, revenue churn, GRR and NRR by month, quarter and segment.
    Retention {
        #[command(flatten)]
        book: BookArgs,
        /// Folder for retention.csv (default: print only).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Override the config's grace period (days).
        #[arg(long, value_parser = clap::value_parser!(i64).range(0..=366))]
        grace_days: Option<i64>,
    },
}

/// A folder of account tables and its as-of date.
#[derive(clap::Args, Clone, Debug)]
pub struct BookArgs {
    #[arg(long)]
    pub data: PathBuf,
    /// The date the data describes as "now" (default: the day after the latest event).
    #[arg(long)]
    pub as_of: Option<NaiveDate>,
}

/// A flat feature table and how to read it.
#[derive(clap::Args, Clone, Debug)]
pub struct FlatArgs {
    /// A flat feature table (CSV or Parquet): one row per example.
    #[arg(long)]
    pub table: PathBuf,
    /// The label column (0/1, yes/no, true/false; blank: unlabelled).
    #[arg(long)]
    pub label: String,
    /// The id column (rows sharing an id stay in one fold).
    #[arg(long)]
    pub id: Option<String>,
    /// Columns that are not features (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
}

/// The same, optional (train takes a book or a flat table).
#[derive(clap::Args, Clone, Debug)]
pub struct OptFlatArgs {
    /// A flat feature table (CSV or Parquet): one row per example.
    #[arg(long, requires = "label")]
    pub table: Option<PathBuf>,
    /// The label column of the flat table (0/1, yes/no, true/false).
    #[arg(long)]
    pub label: Option<String>,
    /// The id column of the flat table (rows sharing an id stay in one fold).
    #[arg(long)]
    pub id: Option<String>,
    /// Columns of the flat table that are not features (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
}

/// A usage table's grain, for `churnlab sql`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum GrainArg {
    Daily,
    Weekly,
    Monthly,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum RankArg {
    /// ARR at risk (probability x ARR).
    #[value(alias = "arr_at_risk")]
    Arr,
    /// Churn probability.
    #[value(alias = "p")]
    Probability,
}

/// How the ranked at-risk list is ordered and filtered.
#[derive(clap::Args, Clone, Debug)]
pub struct ListArgs {
    /// Rank by ARR at risk or by churn probability.
    #[arg(long, value_enum, default_value = "arr")]
    pub rank_by: RankArg,
    /// Only accounts of this segment.
    #[arg(long)]
    pub segment: Option<String>,
    /// Only accounts owned by this CSM.
    #[arg(long)]
    pub csm: Option<String>,
    /// Only accounts renewing within this many days.
    #[arg(long)]
    pub renewing_within: Option<f64>,
    /// Rows of the list to print.
    #[arg(long, default_value_t = 15)]
    pub top: usize,
}

#[derive(Subcommand)]
pub enum ModelsCommand {
    /// Every saved model, oldest first, with its decision; the promoted one is marked.
    List {
        #[arg(long, default_value = "models")]
        models: PathBuf,
    },
}

fn family(s: &str) -> Result<Family, String> {
    Family::ALL
        .into_iter()
        .find(|f| f.name() == s)
        .ok_or_else(|| {
            format!("expected one of logistic, decision_tree, random_forest, gradient_boosting, found {s:?}")
        })
}

fn positive_psi(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!("expected a PSI above 0 such as 0.25, found {s:?}")),
    }
}

/// What report.html compares with and how much of the list it shows.
#[derive(clap::Args, Clone, Debug)]
pub struct ReportArgs {
    /// A backtest's output folder: the report shows how accurate the forecast was
    /// (default: OUT/backtest.json when present).
    #[arg(long)]
    pub backtest: Option<PathBuf>,
    /// Accounts of the ranked list on the page (every account is in at_risk.xlsx).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub report_rows: u32,
}

impl ReportArgs {
    /// The report's options; `previous` is the earlier run's output folder, if any.
    pub fn options(&self, previous: Option<PathBuf>) -> ReportOptions {
        ReportOptions {
            previous,
            backtest: self.backtest.clone(),
            page: churnlab::report::Options {
                top: self.report_rows as usize,
                ..Default::default()
            },
        }
    }
}

impl From<FlatArgs> for FlatTable {
    fn from(f: FlatArgs) -> Self {
        FlatTable {
            path: f.table,
            label: f.label,
            id: f.id,
            exclude: f.exclude,
        }
    }
}

impl ListArgs {
    pub fn options(&self) -> ListOptions {
        ListOptions {
            rank_by: match self.rank_by {
                RankArg::Arr => RankBy::ArrAtRisk,
                RankArg::Probability => RankBy::Probability,
            },
            filter: Filter {
                segment: self.segment.clone(),
                csm: self.csm.clone(),
                renewing_within: self.renewing_within,
            },
        }
    }
}

impl Command {
    /// The data folder of every command that reads one: its `churnlab.toml` is the
    /// configuration when `--config` is not given (the one rule, applied in `load_config`).
    pub fn data_dir(&self) -> Option<&Path> {
        match self {
            Command::Run { book, .. }
            | Command::Health { book, .. }
            | Command::Analyze { book, .. }
            | Command::Features { book, .. }
            | Command::Hazard { book, .. }
            | Command::Retention { book, .. } => Some(&book.data),
            Command::Score { data, .. } | Command::Train { data, .. } => data.as_deref(),
            Command::Backtest { data, .. } | Command::Validate { data } => Some(data),
            Command::Simulate { .. }
            | Command::Models { .. }
            | Command::Report { .. }
            | Command::Evaluate { .. }
            | Command::BenchFit { .. }
            | Command::Sql { .. }
            | Command::Catalog => None,
        }
    }
}
