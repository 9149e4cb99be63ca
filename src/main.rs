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
use churnlab::{features, load, retention, summary};

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
    /// The whole pipeline on a folder of tables (today: validation, retention, features).
    Run {
        #[arg(long)]
        data: PathBuf,
        /// Output folder for this run's files.
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

fn load_config(path: Option<&Path>) -> Result<Config> {
    Ok(match path {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    })
}

fn run(cli: Cli) -> Result<()> {
    let cfg = load_config(cli.config.as_deref())?;
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
        Command::Run { data, out, as_of } => {
            let t0 = Instant::now();
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
            let path = out.join("retention.csv");
            io::write_table(&path, &report.to_table(), Format::Csv)?;
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
            let labelled = table.rows.iter().filter(|r| r.label.is_some()).count();
            let flat = table.to_table();
            for format in [Format::Parquet, Format::Csv] {
                io::write_table(
                    &out.join(format!("snapshots.{}", format.extension())),
                    &flat,
                    format,
                )?;
            }
            println!();
            println!(
                "Snapshot table: {} account-snapshots over {} dates, {labelled} labelled, {} features ({} unavailable: {})",
                table.rows.len(),
                table.snapshot_dates.len(),
                features::CATALOG.len() + features::CATEGORICALS.len(),
                table.unavailable.len(),
                table
                    .unavailable
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            println!();
            println!(
                "wrote {} (retention.csv, summary.json, snapshots.parquet, snapshots.csv) in {:.1}s",
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
            let t = table.to_table();
            for format in [Format::Parquet, Format::Csv] {
                let path = out.with_extension(format.extension());
                io::write_table(&path, &t, format)?;
                log::info!("wrote {}", path.display());
            }
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
