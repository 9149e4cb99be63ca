//! The churnlab command line: parses arguments and config, then calls the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use churnlab::config::Config;
use churnlab::io::{self, Format};
use churnlab::sim::{self, Grain, SimConfig};
use churnlab::train::{self, Report, Trained};
use churnlab::{analysis, artifact, dataset, features, health, load, retention, score, summary};

#[derive(Parser)]
#[command(
    name = "churnlab",
    version,
    about = "Churn modelling for B2B SaaS Customer Success teams"
)]
struct Cli {
    /// More logging (-v: steps, -vv: details).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// A TOML configuration file (defaults are built in).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
        #[arg(long)]
        data: PathBuf,
        /// Output folder for this run's files.
        #[arg(long, default_value = "out")]
        out: PathBuf,
        /// Where the model folder goes (MODELS/<run-id>).
        #[arg(long, default_value = "models")]
        models: PathBuf,
        /// The date the data describes as "now" (default: the day after the latest event).
        #[arg(long)]
        as_of: Option<NaiveDate>,
        #[command(flatten)]
        list: ListArgs,
    },
    /// Validate the team's health score ([health] in the config) against churn: its
    /// out-of-time ROC-AUC next to the model's, churn by tier, each component and
    /// measure, tier stability, fitted weights and a recommended configuration.
    Health {
        #[arg(long)]
        data: PathBuf,
        /// Output folder for the report files.
        #[arg(long, default_value = "out")]
        out: PathBuf,
        /// The date the data describes as "now" (default: the day after the latest event).
        #[arg(long)]
        as_of: Option<NaiveDate>,
        /// Skip training the model (its ROC-AUC is then not reported).
        #[arg(long)]
        no_model: bool,
    },
    /// Cohort retention and metric cohorts, account clusters and the propensity analysis
    /// of CS plays, run concurrently; json and csv per analysis.
    Analyze {
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value = "out")]
        out: PathBuf,
        /// The date the data describes as "now" (default: the day after the latest event).
        #[arg(long)]
        as_of: Option<NaiveDate>,
    },
    /// Write the snapshot table: one row per account and snapshot date, with labels and
    /// every feature of the catalog (Parquet and CSV).
    Features {
        #[arg(long)]
        data: PathBuf,
        /// Output file; written as FILE.parquet and FILE.csv (any extension is replaced).
        #[arg(long)]
        out: PathBuf,
        /// The date the data describes as "now" (default: the day after the latest event).
        #[arg(long)]
        as_of: Option<NaiveDate>,
    },
    /// Train every model family (out of time on a book, or cross-validated on a flat
    /// table), calibrate, pick a champion and save the model folder.
    Train {
        /// A folder of account tables (snapshot features are built from it).
        #[arg(long, conflicts_with = "table", required_unless_present = "table")]
        data: Option<PathBuf>,
        /// A flat feature table (CSV or Parquet): one row per example.
        #[arg(long, requires = "label")]
        table: Option<PathBuf>,
        /// The label column of the flat table (0/1, yes/no, true/false).
        #[arg(long)]
        label: Option<String>,
        /// The id column of the flat table (rows sharing an id stay in one fold).
        #[arg(long)]
        id: Option<String>,
        /// Columns of the flat table that are not features (comma-separated).
        #[arg(long, value_delimiter = ',')]
        exclude: Vec<String>,
        /// Where model folders go; this run writes MODELS/<run-id>.
        #[arg(long, default_value = "models")]
        models: PathBuf,
        /// The date the data describes as "now" (default: the day after the latest event).
        #[arg(long)]
        as_of: Option<NaiveDate>,
    },
    /// Cross-validate every model family on a flat feature table and print the metrics.
    Evaluate {
        #[command(flatten)]
        flat: FlatArgs,
        /// Number of stratified folds.
        #[arg(long, default_value_t = 5)]
        cv: usize,
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
        #[arg(long)]
        id: Option<String>,
        /// Output folder for scored_accounts.csv and .parquet.
        #[arg(long, default_value = "out")]
        out: PathBuf,
        /// The date the data describes as "now" (default: the day after the latest event).
        #[arg(long)]
        as_of: Option<NaiveDate>,
        #[command(flatten)]
        list: ListArgs,
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
    },
    /// Print the feature catalog (the Markdown of docs/features.md).
    Catalog,
    /// Check an input folder against the data contract and summarise it.
    Validate {
        #[arg(long)]
        data: PathBuf,
    },
    /// Logo churn, revenue churn, GRR and NRR by month, quarter and segment.
    Retention {
        #[arg(long)]
        data: PathBuf,
        /// Folder for retention.csv (default: print only).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Override the config's grace period (days).
        #[arg(long)]
        grace_days: Option<i64>,
        /// The date the data describes as "now" (default: the day after the latest event).
        #[arg(long)]
        as_of: Option<NaiveDate>,
    },
}

/// A flat feature table and how to read it.
#[derive(clap::Args, Clone, Debug)]
struct FlatArgs {
    /// A flat feature table (CSV or Parquet): one row per example.
    #[arg(long)]
    table: PathBuf,
    /// The label column (0/1, yes/no, true/false; blank: unlabelled).
    #[arg(long)]
    label: String,
    /// The id column (rows sharing an id stay in one fold).
    #[arg(long)]
    id: Option<String>,
    /// Columns that are not features (comma-separated).
    #[arg(long, value_delimiter = ',')]
    exclude: Vec<String>,
}

/// How the ranked at-risk list is ordered and filtered.
#[derive(clap::Args, Clone, Debug)]
struct ListArgs {
    /// Rank by ARR at risk (arr, the default) or by churn probability (probability).
    #[arg(long, default_value = "arr")]
    rank_by: String,
    /// Only accounts of this segment.
    #[arg(long)]
    segment: Option<String>,
    /// Only accounts owned by this CSM.
    #[arg(long)]
    csm: Option<String>,
    /// Only accounts renewing within this many days.
    #[arg(long)]
    renewing_within: Option<f64>,
    /// Rows of the list to print.
    #[arg(long, default_value_t = 15)]
    top: usize,
}

struct Logger {
    level: log::LevelFilter,
}

impl log::Log for Logger {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= self.level
    }
    fn log(&self, r: &log::Record) {
        if self.enabled(r.metadata()) {
            let tag = match r.level() {
                log::Level::Error => "error",
                log::Level::Warn => "warning",
                log::Level::Info => "churnlab",
                _ => "debug",
            };
            eprintln!("[{tag}] {}", r.args());
        }
    }
    fn flush(&self) {}
}

fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => log::LevelFilter::Error,
        (_, 0) => log::LevelFilter::Info,
        (_, 1) => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    };
    let logger: &'static Logger = Box::leak(Box::new(Logger { level }));
    if log::set_logger(logger).is_ok() {
        log::set_max_level(level);
    }
}

fn bar(len: u64, what: &str, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    let style = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed}, eta {eta})")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    pb.set_style(style);
    pb.set_message(what.to_string());
    pb
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The config file: `--config`, else `DATA/churnlab.toml` when the command reads a data
/// folder that has one, else the built-in defaults.
/// Loads and validates a book, then builds its snapshot table.
fn book_and_table(
    data: &Path,
    cfg: &Config,
    as_of: Option<NaiveDate>,
) -> Result<(load::Book, features::SnapshotTable)> {
    log::info!("loading and validating {}", data.display());
    let book = load::load_book(data)?;
    let table = features::build(
        &book,
        &cfg.snapshots,
        &cfg.features,
        cfg.data.grace_days,
        as_of.or(cfg.data.as_of),
    )?;
    Ok((book, table))
}

/// What the analyses need besides the dataset: accounts, contract histories, plays.
fn analysis_context(
    book: &load::Book,
    table: &features::SnapshotTable,
    cfg: &Config,
) -> Result<(
    Vec<load::AccountInfo>,
    Vec<retention::History>,
    features::PlayFlags,
)> {
    let accounts = book.accounts();
    let hist = retention::histories(
        accounts.len(),
        &book.terms(),
        cfg.data.grace_days,
        table.as_of,
    );
    let plays = features::play_flags(book, table, table.horizon_days)?;
    Ok((accounts, hist, plays))
}

/// A readable summary of the analyses.
fn print_analyses(a: &analysis::Analyses) {
    println!();
    println!("Retention by signup cohort at 12 months of age (all segments):");
    let hidden = a
        .curves
        .iter()
        .filter(|p| p.segment == "all" && p.age_months == 12 && p.survivors_only)
        .count();
    if hidden > 0 {
        println!(
            "  ({hidden} cohorts that began before the first churn in the data hold survivors only; they are flagged in cohort_retention.csv and left out here)"
        );
    }
    for p in a.curves.iter().filter(|p| {
        p.segment == "all" && p.age_months == 12 && p.accounts >= 20 && !p.survivors_only
    }) {
        println!(
            "  {:<8} {:>5} accounts  logo {:>5.1}%  GRR {:>5.1}%  NRR {:>5.1}%",
            p.cohort,
            p.accounts,
            100.0 * p.logo_retention,
            100.0 * p.grr.unwrap_or(f64::NAN),
            100.0 * p.nrr.unwrap_or(f64::NAN)
        );
    }
    match &a.clusters {
        Ok(c) => {
            println!(
                "\nAccount clusters at {} (k = {} by silhouette; mean adjusted Rand index across seeds {:.2}):",
                c.snapshot_date, c.k, c.stability_mean_ari
            );
            for k in &c.clusters {
                println!(
                    "  {}. {:<55} {:>5} accounts  {:>14}  churn {:>5.1}%",
                    k.id,
                    k.name,
                    k.accounts,
                    churnlab::summary::money(k.arr),
                    100.0 * k.churn_rate
                );
            }
        }
        Err(e) => println!("\nclusters: not computed: {e}"),
    }
    match &a.propensity {
        Ok(p) => {
            println!(
                "\nDo CS plays reduce churn? (effect on the treated, churn within the horizon; 95% bootstrap CI)"
            );
            println!(
                "  {:<14} {:>7} {:>9} {:>24} {:>24} {:>9}",
                "play", "treated", "naive", "matched", "weighted", "max SMD"
            );
            for e in &p.effects {
                println!(
                    "  {:<14} {:>7} {:>+8.1}pp {:>+6.1}pp [{:>+5.1}, {:>+5.1}] {:>+6.1}pp [{:>+5.1}, {:>+5.1}] {:>4.2}->{:.2}",
                    e.treatment,
                    e.treated,
                    100.0 * e.naive_difference,
                    100.0 * e.att_matched,
                    100.0 * e.att_matched_ci.0,
                    100.0 * e.att_matched_ci.1,
                    100.0 * e.att_weighted,
                    100.0 * e.att_weighted_ci.0,
                    100.0 * e.att_weighted_ci.1,
                    e.max_abs_smd_before,
                    e.max_abs_smd_matched
                );
            }
            for s in &p.skipped {
                println!("  skipped {s}");
            }
        }
        Err(e) => println!("\npropensity: not computed: {e}"),
    }
}

/// The health validation's files in `out`.
fn write_health(
    v: &health::validate::Validation,
    ds: &dataset::Dataset,
    table: &features::SnapshotTable,
    out: &Path,
) -> Result<()> {
    io::write_atomic(
        &out.join("health_report.json"),
        &serde_json::to_vec_pretty(&v.report)?,
    )?;
    io::write_table(&out.join("health_auc.csv"), &v.auc_table(), Format::Csv)?;
    io::write_table(&out.join("health_tiers.csv"), &v.tiers_table(), Format::Csv)?;
    io::write_table(
        &out.join("health_components.csv"),
        &v.parts_table(),
        Format::Csv,
    )?;
    let dates: Vec<String> = table.rows.iter().map(|r| r.t.to_string()).collect();
    io::write_parquet_and_csv(
        &out.join("health_scores"),
        &health::validate::scores_table(ds, &v.scores, &dates),
    )?;
    io::write_atomic(
        &out.join("recommended_health.toml"),
        v.recommended_toml.as_bytes(),
    )?;
    Ok(())
}

fn load_config(path: Option<&Path>, data: Option<&Path>) -> Result<Config> {
    if let Some(p) = path {
        return Ok(Config::load(p)?);
    }
    if let Some(p) = data
        .map(|d| d.join("churnlab.toml"))
        .filter(|p| p.is_file())
    {
        log::info!("using the configuration in {}", p.display());
        return Ok(Config::load(&p)?);
    }
    Ok(Config::default())
}

impl Command {
    /// The data folder of the commands that read one.
    fn data_dir(&self) -> Option<&Path> {
        match self {
            Command::Run { data, .. }
            | Command::Health { data, .. }
            | Command::Analyze { data, .. } => Some(data),
            Command::Score { data, .. } => data.as_deref(),
            _ => None,
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let cfg = load_config(cli.config.as_deref(), cli.command.data_dir())?;
    match cli.command {
        Command::Simulate {
            accounts,
            months,
            seed,
            start,
            grain,
            format,
            out,
        } => {
            let sc = SimConfig {
                accounts,
                months,
                start,
                seed,
                grain,
                format,
                ..SimConfig::default()
            };
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            log::info!(
                "simulating {accounts} accounts x {months} months from {start} (seed {seed}) into {}",
                out.display()
            );
            let t0 = Instant::now();
            let pb = bar(accounts as u64, "simulating", cli.quiet);
            let summary = sim::simulate(&sc, &out, &|done| pb.set_position(done as u64))?;
            pb.finish_and_clear();
            let secs = t0.elapsed().as_secs_f64();
            for (t, n) in &summary.rows {
                log::info!("  {t:<11} {n:>12} rows");
            }
            log::info!(
                "wrote {} rows in {secs:.1}s ({:.0} rows/s); data ends {}; truth in {}",
                summary.total_rows(),
                summary.total_rows() as f64 / secs.max(1e-9),
                summary.data_end,
                out.join("truth").display()
            );
        }
        Command::Run {
            data,
            out,
            models,
            as_of,
            list: largs,
        } => {
            let t0 = Instant::now();
            cfg.scoring.validate()?;
            log::info!("loading and validating {}", data.display());
            let book = load::load_book(&data)?;
            let as_of = as_of.or(cfg.data.as_of);
            let s = summary::summarize(&book, cfg.data.grace_days, as_of);
            print!("{s}");
            println!();
            let report = retention::report(
                &book.accounts(),
                &book.terms(),
                cfg.data.grace_days,
                s.as_of,
            );
            print_retention(&report);
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            io::write_table(&out.join("retention.csv"), &report.to_table(), Format::Csv)?;
            let json = serde_json::to_string_pretty(
                &serde_json::json!({ "summary": s, "retention": report }),
            )?;
            io::write_atomic(&out.join("summary.json"), json.as_bytes())?;
            log::info!("computing point-in-time features");
            let table = features::build(
                &book,
                &cfg.snapshots,
                &cfg.features,
                cfg.data.grace_days,
                Some(s.as_of),
            )?;
            for (f, why) in &table.unavailable {
                log::warn!("feature {f} unavailable: {why}");
            }
            io::write_parquet_and_csv(&out.join("snapshots"), &table.to_table())?;
            log::info!(
                "snapshot table: {} account-snapshots over {} dates, {} labelled",
                table.rows.len(),
                table.snapshot_dates.len(),
                table.rows.iter().filter(|r| r.label.is_some()).count()
            );
            let ds = dataset::Dataset::from_snapshots(&table);
            let (accounts, hist, plays) = analysis_context(&book, &table, &cfg)?;
            let inputs = analysis::Inputs {
                ds: &ds,
                accounts: &accounts,
                histories: &hist,
                as_of: table.as_of,
                plays: &plays,
                seed: cfg.seed,
            };
            log::info!("training the models while the cohort, cluster and propensity analyses run");
            let t_features = t0.elapsed().as_secs_f64();
            let ((trained, t_train), analyses) = rayon::join(
                || {
                    let t = Instant::now();
                    (
                        train_logged(&ds, &cfg, cli.quiet),
                        t.elapsed().as_secs_f64(),
                    )
                },
                || analysis::run_all(&inputs),
            );
            let trained = trained?;
            log::info!(
                "up to the snapshot table {t_features:.1}s; then concurrently: training {t_train:.1}s, cohorts {:.1}s, clusters {:.1}s, propensity {:.1}s; wall {:.1}s since the start",
                analyses.seconds[0],
                analyses.seconds[1],
                analyses.seconds[2],
                t0.elapsed().as_secs_f64()
            );
            print_report(&trained.report);
            let files = analyses.write(&out)?;
            print_analyses(&analyses);
            log::info!("analyses written: {}", files.join(", "));
            let base = book_manifest_base(&data, &table);
            let manifest = manifest(&base, &trained, &ds, &cfg);
            let dir = artifact::save(&models, &manifest, &trained, &cfg, &ds)?;
            io::write_atomic(
                &out.join("metrics.json"),
                &serde_json::to_vec_pretty(&trained.report)?,
            )?;
            // Score with the model as saved, exactly as `churnlab score` would.
            let m = artifact::load(&dir)?;
            log::info!(
                "scoring and explaining the accounts active on {}",
                table.as_of
            );
            let mut list = score::score_snapshot(&m, &table, &accounts, &hist, &cfg.scoring)?;
            if let Some(h) = &cfg.health {
                log::info!("validating the health score");
                let v = health::validate::validate(
                    h,
                    &ds,
                    Some(&trained),
                    table.horizon_days,
                    cfg.models.test_share,
                )?;
                write_health(&v, &ds, &table, &out)?;
                println!();
                print!("{}", v.report_brief());
                list.attach_health(h, &ds, &table.scoring_rows());
            }
            println!();
            println!(
                "model folder: {} (champion {})",
                dir.display(),
                m.manifest.champion.name()
            );
            write_list(list, &out, &largs)?;
            println!(
                "also wrote retention.csv, summary.json, snapshots.parquet/.csv, metrics.json, the cohort, cluster and propensity analyses{} in {} ({:.1}s in all)",
                if cfg.health.is_some() {
                    " and the health-score validation (health_*, recommended_health.toml)"
                } else {
                    ""
                },
                out.display(),
                t0.elapsed().as_secs_f64()
            );
        }
        Command::Health {
            data,
            out,
            as_of,
            no_model,
        } => {
            let t0 = Instant::now();
            let Some(h) = &cfg.health else {
                anyhow::bail!(
                    "no health score configured: add a [health] section to the config (--config FILE, or {}/churnlab.toml); see the README",
                    data.display()
                );
            };
            let (_, table) = book_and_table(&data, &cfg, as_of)?;
            let ds = dataset::Dataset::from_snapshots(&table);
            let trained = if no_model {
                None
            } else {
                Some(train_logged(&ds, &cfg, cli.quiet)?)
            };
            let v = health::validate::validate(
                h,
                &ds,
                trained.as_ref(),
                table.horizon_days,
                cfg.models.test_share,
            )?;
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            write_health(&v, &ds, &table, &out)?;
            println!();
            print!("{}", v.summary());
            println!(
                "\nwrote health_report.json, health_auc.csv, health_tiers.csv, health_components.csv, health_scores.parquet/.csv and recommended_health.toml in {} ({:.1}s)",
                out.display(),
                t0.elapsed().as_secs_f64()
            );
        }
        Command::Analyze { data, out, as_of } => {
            let t0 = Instant::now();
            let (book, table) = book_and_table(&data, &cfg, as_of)?;
            let ds = dataset::Dataset::from_snapshots(&table);
            let (accounts, hist, plays) = analysis_context(&book, &table, &cfg)?;
            log::info!("running the cohort, cluster and propensity analyses");
            let a = analysis::run_all(&analysis::Inputs {
                ds: &ds,
                accounts: &accounts,
                histories: &hist,
                as_of: table.as_of,
                plays: &plays,
                seed: cfg.seed,
            });
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            let files = a.write(&out)?;
            print_analyses(&a);
            log::info!(
                "cohorts {:.1}s, clusters {:.1}s, propensity {:.1}s (concurrently)",
                a.seconds[0],
                a.seconds[1],
                a.seconds[2]
            );
            println!(
                "\nwrote {} in {} ({:.1}s)",
                files.join(", "),
                out.display(),
                t0.elapsed().as_secs_f64()
            );
        }
        Command::Features { data, out, as_of } => {
            let t0 = Instant::now();
            log::info!("loading and validating {}", data.display());
            let book = load::load_book(&data)?;
            log::info!(
                "loaded in {:.1}s; computing features",
                t0.elapsed().as_secs_f64()
            );
            let t1 = Instant::now();
            let as_of = as_of.or(cfg.data.as_of);
            let table = features::build(
                &book,
                &cfg.snapshots,
                &cfg.features,
                cfg.data.grace_days,
                as_of,
            )?;
            let labelled = table.rows.iter().filter(|r| r.label.is_some()).count();
            let positives = table.rows.iter().filter(|r| r.label == Some(true)).count();
            log::info!(
                "{} account-snapshots over {} snapshot dates ({} to {}) in {:.1}s: {labelled} labelled ({positives} churned within {} days), {} to score",
                table.rows.len(),
                table.snapshot_dates.len(),
                table
                    .snapshot_dates
                    .first()
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                table
                    .snapshot_dates
                    .last()
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                t1.elapsed().as_secs_f64(),
                table.horizon_days,
                table.rows.len() - labelled
            );
            for (f, why) in &table.unavailable {
                log::warn!("feature {f} unavailable: {why}");
            }
            if let Some(dir) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            for path in io::write_parquet_and_csv(&out, &table.to_table())? {
                log::info!("wrote {}", path.display());
            }
        }
        Command::Train {
            data,
            table,
            label,
            id,
            exclude,
            models,
            as_of,
        } => {
            let t0 = Instant::now();
            let (ds, manifest_base) = match (&data, &table) {
                (Some(dir), _) => {
                    let (ds, base) = book_dataset(dir, &cfg, as_of)?;
                    (ds, base)
                }
                (None, Some(path)) => {
                    let label = label.as_deref().context("--table needs --label")?;
                    let ds = flat_dataset(path, label, id.as_deref(), &exclude)?;
                    let base = ManifestBase {
                        source: format!("flat table {}", path.display()),
                        label: label.to_string(),
                        id: id.clone(),
                        window: None,
                        as_of: None,
                        horizon: cfg.snapshots.horizon_days,
                        prefix: "flat".into(),
                    };
                    (ds, base)
                }
                (None, None) => anyhow::bail!("pass --data DIR or --table FILE --label COL"),
            };
            let trained = train_logged(&ds, &cfg, cli.quiet)?;
            print_report(&trained.report);
            let manifest = manifest(&manifest_base, &trained, &ds, &cfg);
            let dir = artifact::save(&models, &manifest, &trained, &cfg, &ds)?;
            println!();
            println!(
                "champion: {} ({}); model folder {} written in {:.1}s",
                trained.report.champion.name(),
                trained.report.champion_reason,
                dir.display(),
                t0.elapsed().as_secs_f64()
            );
        }
        Command::Evaluate { flat, cv, out } => {
            let ds = flat_dataset(&flat.table, &flat.label, flat.id.as_deref(), &flat.exclude)?;
            let mut c = cfg.clone();
            c.models.folds = cv;
            c.models.refit = false;
            let ds = dataset::Dataset { time: None, ..ds };
            let trained = train_logged(&ds, &c, cli.quiet)?;
            print_report(&trained.report);
            if let Some(path) = out {
                io::write_atomic(&path, &serde_json::to_vec_pretty(&trained.report)?)?;
                log::info!("wrote {}", path.display());
            }
        }
        Command::Score {
            model,
            data,
            table,
            id,
            out,
            as_of,
            list: largs,
        } => {
            let m = artifact::load(&model)?;
            let tiers = cfg.scoring.clone();
            tiers.validate()?;
            let list = match (&data, &table) {
                (Some(dir), _) => {
                    let book = load::load_book(dir)?;
                    let mcfg = &m.config;
                    let as_of = as_of.or(cfg.data.as_of).or_else(|| book.as_of());
                    let t = features::build(
                        &book,
                        &mcfg.snapshots,
                        &mcfg.features,
                        mcfg.data.grace_days,
                        as_of,
                    )?;
                    let accounts = book.accounts();
                    let hist = retention::histories(
                        accounts.len(),
                        &book.terms(),
                        mcfg.data.grace_days,
                        t.as_of,
                    );
                    let mut list = score::score_snapshot(&m, &t, &accounts, &hist, &tiers)?;
                    if let Some(h) = cfg.health.as_ref().or(m.config.health.as_ref()) {
                        let ds = dataset::Dataset::from_snapshots(&t);
                        list.attach_health(h, &ds, &t.scoring_rows());
                    }
                    list
                }
                (None, Some(path)) => {
                    let t = Instant::now();
                    log::info!("reading {}", path.display());
                    let ds = dataset::Dataset::from_flat_unlabelled(path, id.as_deref())?;
                    log::info!(
                        "read {} rows in {:.1}s; scoring and explaining with {}",
                        ds.rows(),
                        t.elapsed().as_secs_f64(),
                        m.manifest.run_id
                    );
                    let t = Instant::now();
                    let mut list = score::score_flat(&m, &ds, &tiers)?;
                    if let Some(h) = cfg.health.as_ref().or(m.config.health.as_ref()) {
                        let rows: Vec<usize> = (0..ds.rows()).collect();
                        list.attach_health(h, &ds, &rows);
                    }
                    log::info!("scored and explained in {:.1}s", t.elapsed().as_secs_f64());
                    list
                }
                (None, None) => anyhow::bail!("pass --data DIR or --table FILE"),
            };
            write_list(list, &out, &largs)?;
        }
        Command::BenchFit { flat, matrix, json } => {
            let t0 = Instant::now();
            let ds = flat_dataset(&flat.table, &flat.label, flat.id.as_deref(), &flat.exclude)?;
            let read_s = t0.elapsed().as_secs_f64();
            let rows = ds.labelled();
            let y = ds.labels(&rows);
            let t1 = Instant::now();
            let (prep, x) = churnlab::prep::Preprocessor::fit_transform(&ds, &rows)?;
            let prep_s = t1.elapsed().as_secs_f64();
            log::info!(
                "design matrix {} x {} in {prep_s:.1}s",
                x.nrows(),
                x.ncols()
            );
            if let Some(path) = &matrix {
                let mut t = churnlab::table::Table::new();
                for (j, c) in prep.columns.iter().enumerate() {
                    t = t.with(
                        &format!("x{j}_{}", c.name),
                        churnlab::table::Column::Float(
                            x.column(j).iter().map(|v| Some(*v)).collect(),
                        ),
                    );
                }
                t = t.with(
                    "label",
                    churnlab::table::Column::Float(y.iter().map(|v| Some(*v)).collect()),
                );
                io::write_table(path, &t, Format::Parquet)?;
                log::info!("wrote {}", path.display());
            }
            let mut fits = Vec::new();
            for params in churnlab::model::Params::benchmark() {
                let t = Instant::now();
                let m = churnlab::model::fit(&params, x.view(), &y, None, None, cfg.seed);
                let secs = t.elapsed().as_secs_f64();
                let p = m.proba(x.view());
                let auc = churnlab::metrics::roc_auc(&y, &p);
                log::info!(
                    "{}: {secs:.1}s (training ROC-AUC {:.4})",
                    params.describe(),
                    auc.unwrap_or(f64::NAN)
                );
                fits.push(serde_json::json!({
                    "family": params.family().name(),
                    "params": params,
                    "seconds": secs,
                    "train_roc_auc": auc,
                }));
            }
            let out = serde_json::json!({
                "rows": x.nrows(),
                "columns": x.ncols(),
                "threads": rayon::current_num_threads(),
                "read_seconds": read_s,
                "prep_seconds": prep_s,
                "fits": fits,
            });
            io::write_atomic(&json, &serde_json::to_vec_pretty(&out)?)?;
        }
        Command::Catalog => print!("{}", features::catalog_markdown()),
        Command::Validate { data } => {
            let book = load::load_book(&data)?;
            let s = summary::summarize(&book, cfg.data.grace_days, cfg.data.as_of);
            print!("{s}");
        }
        Command::Retention {
            data,
            out,
            grace_days,
            as_of,
        } => {
            let book = load::load_book(&data)?;
            let grace = grace_days.unwrap_or(cfg.data.grace_days);
            let as_of = as_of
                .or(cfg.data.as_of)
                .or_else(|| book.as_of())
                .context("the data has no dated rows")?;
            let report = retention::report(&book.accounts(), &book.terms(), grace, as_of);
            print_retention(&report);
            if let Some(dir) = out {
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                let path = dir.join("retention.csv");
                io::write_table(&path, &report.to_table(), Format::Csv)?;
                log::info!("wrote {}", path.display());
            }
        }
    }
    Ok(())
}

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.1}%", 100.0 * x)
    } else {
        "-".into()
    }
}

fn print_retention(r: &retention::Report) {
    println!(
        "Retention from contracts (as of {}, churn = no new term within {} days; periods settled until {})",
        r.as_of, r.grace_days, r.settled_until
    );
    println!();
    println!("Trailing 12 months:");
    println!(
        "  {:<12} {:>8} {:>8} {:>9} {:>13} {:>10} {:>10} {:>10} {:>7} {:>7}",
        "segment",
        "accounts",
        "churned",
        "logo churn",
        "ARR start",
        "cancelled",
        "downsell",
        "expansion",
        "GRR",
        "NRR"
    );
    for w in r.rows.iter().filter(|w| w.period == "trailing_12m") {
        println!(
            "  {:<12} {:>8} {:>8} {:>9} {:>13} {:>10} {:>10} {:>10} {:>7} {:>7}",
            w.segment,
            w.accounts_start,
            w.churned,
            pct(w.logo_churn),
            summary::money(w.arr_start),
            summary::money(w.cancelled_arr),
            summary::money(w.seat_downsell_arr + w.price_downsell_arr),
            summary::money(w.expansion_arr),
            pct(w.grr),
            pct(w.nrr)
        );
    }
    println!();
    println!("By quarter (all segments; logo churn annualised in brackets):");
    println!(
        "  {:<10} {:>8} {:>8} {:>16} {:>7} {:>11} {:>11} {:>7} {:>7}",
        "quarter",
        "accounts",
        "churned",
        "logo churn",
        "new",
        "seat down",
        "price down",
        "GRR",
        "NRR"
    );
    let quarters: Vec<_> = r
        .rows
        .iter()
        .filter(|w| w.period == "quarter" && w.segment == "all")
        .collect();
    for w in quarters.iter().skip(quarters.len().saturating_sub(8)) {
        println!(
            "  {:<10} {:>8} {:>8} {:>16} {:>7} {:>11} {:>11} {:>7} {:>7}",
            w.start.to_string(),
            w.accounts_start,
            w.churned,
            format!("{} ({})", pct(w.logo_churn), pct(w.logo_churn_annualised)),
            w.new_accounts,
            summary::money(w.seat_downsell_arr),
            summary::money(w.price_downsell_arr),
            pct(w.grr),
            pct(w.nrr)
        );
    }
}

/// What the manifest records about the data a model was trained on.
struct ManifestBase {
    source: String,
    label: String,
    id: Option<String>,
    window: Option<(String, String)>,
    as_of: Option<String>,
    horizon: i64,
    prefix: String,
}

fn book_dataset(
    dir: &Path,
    cfg: &Config,
    as_of: Option<NaiveDate>,
) -> Result<(dataset::Dataset, ManifestBase)> {
    log::info!("loading and validating {}", dir.display());
    let book = load::load_book(dir)?;
    log::info!("computing point-in-time features");
    let t = features::build(
        &book,
        &cfg.snapshots,
        &cfg.features,
        cfg.data.grace_days,
        as_of.or(cfg.data.as_of),
    )?;
    for (f, why) in &t.unavailable {
        log::warn!("feature {f} unavailable: {why}");
    }
    Ok((
        dataset::Dataset::from_snapshots(&t),
        book_manifest_base(dir, &t),
    ))
}

/// What the manifest says about a book's snapshot table.
fn book_manifest_base(dir: &Path, t: &features::SnapshotTable) -> ManifestBase {
    let labelled: Vec<_> = t.rows.iter().filter(|r| r.label.is_some()).collect();
    let window = labelled
        .iter()
        .map(|r| r.t)
        .min()
        .zip(labelled.iter().map(|r| r.t).max())
        .map(|(a, b)| (a.to_string(), b.to_string()));
    ManifestBase {
        source: format!("account tables in {}", dir.display()),
        label: format!("churn within {} days", t.horizon_days),
        id: Some("account_id".into()),
        window,
        as_of: Some(t.as_of.to_string()),
        horizon: t.horizon_days,
        prefix: format!("churn-{}", t.as_of),
    }
}

fn train_logged(ds: &dataset::Dataset, cfg: &Config, quiet: bool) -> Result<Trained> {
    let grid = churnlab::model::Params::grid(ds.labelled().len());
    let pb = bar(grid.len() as u64, "training", quiet);
    let progress = |msg: &str| {
        if msg.starts_with("fitted") {
            pb.inc(1);
        }
        pb.println(format!("[churnlab] {msg}"));
    };
    let trained = train::train(
        ds,
        &cfg.models,
        cfg.snapshots.horizon_days,
        cfg.seed,
        &progress,
    )?;
    pb.finish_and_clear();
    Ok(trained)
}

fn manifest(
    b: &ManifestBase,
    trained: &Trained,
    ds: &dataset::Dataset,
    cfg: &Config,
) -> artifact::Manifest {
    artifact::Manifest {
        run_id: artifact::run_id(&b.prefix, &trained.report),
        churnlab_version: env!("CARGO_PKG_VERSION").to_string(),
        champion: trained.report.champion,
        families: trained.pipelines.keys().copied().collect(),
        source: b.source.clone(),
        label: b.label.clone(),
        id_column: b.id.clone(),
        numeric_features: ds.numeric_names.clone(),
        categorical_features: ds.categorical_names.clone(),
        horizon_days: b.horizon,
        seed: cfg.seed,
        data_window: b.window.clone(),
        as_of: b.as_of.clone(),
    }
}

fn opt(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.4}")).unwrap_or("-".into())
}

fn print_report(r: &Report) {
    println!();
    match &r.split {
        Some(s) => println!(
            "Out-of-time validation: fit {} rows ({} to {}), validation {} ({} to {}), test {} ({} to {}); gaps of {} days",
            s.fit_rows,
            s.fit_dates.0,
            s.fit_dates.1,
            s.valid_rows,
            s.valid_dates.0,
            s.valid_dates.1,
            s.test_rows,
            s.test_dates.0,
            s.test_dates.1,
            s.gap_days
        ),
        None => println!(
            "{}-fold stratified cross-validation over {} rows ({} churned)",
            r.folds.unwrap_or(0),
            r.rows_labelled,
            r.positives
        ),
    }
    let cv = r.split.is_none();
    println!();
    println!(
        "  {:<18} {:>13} {:>8} {:>8} {:>8} {:>9} {:>10} {:>10} {:>10}  chosen parameters",
        "model",
        if cv { "ROC-AUC folds" } else { "ROC-AUC" },
        "PR-AUC",
        "Brier",
        "logloss",
        "lift@10%",
        "capt@20%",
        "ARRcap@20",
        "calib",
    );
    for f in &r.families {
        let t = &f.test;
        let auc = match f.fold_roc_auc {
            Some((m, sd)) => format!("{m:.4}±{sd:.3}"),
            None => opt(t.roc_auc),
        };
        println!(
            "  {:<18} {:>13} {:>8} {:>8.4} {:>8.4} {:>9.2} {:>9.1}% {:>10} {:>10}  {}",
            f.family.name(),
            auc,
            opt(t.pr_auc),
            t.brier,
            t.log_loss,
            t.top_10.lift,
            100.0 * t.top_20.churn_capture,
            t.top_20
                .arr_capture
                .map(|v| format!("{:.1}%", 100.0 * v))
                .unwrap_or("-".into()),
            f.calibration,
            f.description
        );
    }
    println!();
    println!("  champion: {} ({})", r.champion.name(), r.champion_reason);
}

fn print_scored(list: &score::ScoredList, top: usize) {
    println!(
        "  {:>4} {:<12} {:<26} {:<12} {:>10} {:>8} {:<7} {:>11} {:>7}",
        "rank", "account", "name", "segment", "ARR", "p(churn)", "tier", "ARR at risk", "renews"
    );
    for (k, s) in list.rows.iter().take(top).enumerate() {
        let name: String = s
            .name
            .clone()
            .unwrap_or_default()
            .chars()
            .take(26)
            .collect();
        println!(
            "  {:>4} {:<12} {:<26} {:<12} {:>10} {:>8} {:<7} {:>11} {:>7}",
            k + 1,
            s.account_id,
            name,
            s.segment.clone().unwrap_or_default(),
            s.arr.map(summary::money).unwrap_or_default(),
            s.churn_probability
                .map(|p| format!("{:.1}%", 100.0 * p))
                .unwrap_or("-".into()),
            s.risk_tier.unwrap_or("-"),
            s.arr_at_risk.map(summary::money).unwrap_or_default(),
            s.days_to_renewal
                .map(|d| format!("{d:.0}d"))
                .unwrap_or_default()
        );
        if let Some(e) = &s.explanation {
            for d in e.top(3) {
                println!("         - {}", d.sentence);
            }
        }
    }
}

fn flat_dataset(
    path: &Path,
    label: &str,
    id: Option<&str>,
    exclude: &[String],
) -> Result<dataset::Dataset> {
    let mut ds = dataset::Dataset::from_flat(path, label, id)?;
    let missing = ds.drop_columns(exclude);
    if !missing.is_empty() {
        anyhow::bail!(
            "{}: --exclude names columns the table does not have: {}",
            path.display(),
            missing.join(", ")
        );
    }
    for n in &ds.notes {
        log::warn!("{n}");
    }
    log::info!(
        "{}: {} rows ({} labelled), {} numeric and {} categorical features",
        path.display(),
        ds.rows(),
        ds.labelled().len(),
        ds.numeric_names.len(),
        ds.categorical_names.len()
    );
    Ok(ds)
}

/// Ranks, filters, writes and prints the scored list (scored_accounts.csv / .parquet and
/// drivers.csv in `out`).
fn write_list(mut list: score::ScoredList, out: &Path, a: &ListArgs) -> Result<()> {
    let rank = match a.rank_by.as_str() {
        "arr" | "arr_at_risk" => score::RankBy::ArrAtRisk,
        "probability" | "p" => score::RankBy::Probability,
        other => anyhow::bail!("--rank-by {other}: expected arr or probability"),
    };
    let before = list.rows.len();
    list.filter(&score::Filter {
        segment: a.segment.clone(),
        csm: a.csm.clone(),
        renewing_within: a.renewing_within,
    });
    if list.rows.len() < before {
        log::info!("filters keep {} of {before} accounts", list.rows.len());
    }
    list.rank(rank);
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    io::write_parquet_and_csv(&out.join("scored_accounts"), &list.to_table())?;
    io::write_table(&out.join("drivers.csv"), &list.drivers_table(), Format::Csv)?;
    println!();
    println!(
        "At-risk accounts{} (ranked by {}):",
        list.as_of
            .as_ref()
            .map(|d| format!(" on {d}"))
            .unwrap_or_default(),
        if rank == score::RankBy::ArrAtRisk {
            "ARR at risk"
        } else {
            "churn probability"
        }
    );
    print_scored(&list, a.top);
    let unscored = list.rows.iter().filter(|s| s.reason.is_some()).count();
    println!();
    println!(
        "{} accounts ({} could not be scored; reasons in the file). Wrote {}, {} and {}",
        list.rows.len(),
        unscored,
        out.join("scored_accounts.csv").display(),
        out.join("scored_accounts.parquet").display(),
        out.join("drivers.csv").display()
    );
    Ok(())
}
