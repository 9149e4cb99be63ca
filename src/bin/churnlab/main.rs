//! The churnlab command line: parses the arguments, checks the configuration once,
//! dispatches to the library's workflow and prints what came back.

mod args;

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

use churnlab::config::Config;
use churnlab::input::io::{self, Format};
use churnlab::output::{self, text};
use churnlab::score::ScoredList;
use churnlab::sim::{self, SimConfig};

use args::{Cli, Command, ListArgs, ModelsCommand};
use churnlab::workflow::{
    self, Progress, previous::Previous, run::RunOptions, score::ScoreSource, train::FlatTable,
};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let cfg = load_config(cli.config.as_deref(), cli.command.data_dir())?;
    let quiet = cli.quiet;
    let t0 = Instant::now();
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
            simulate(&sc, &out, quiet)?
        }
        Command::Run {
            book,
            out,
            models,
            list,
            report,
            previous,
            fail_on_drift,
        } => {
            let previous = Previous::resolve(previous.as_deref(), &models, Some(&out))?;
            let opts = RunOptions {
                data: book.data,
                models,
                as_of: book.as_of,
                list: list.options(),
                previous: previous.clone(),
            };
            return run_pipeline(
                &opts,
                &cfg,
                &out,
                &list,
                &report.options(previous.list),
                fail_on_drift,
                quiet,
            );
        }
        Command::Models {
            command: ModelsCommand::List { models },
        } => print!(
            "{}",
            text::models(&churnlab::train::registry::read(&models)?, &models)
        ),
        Command::Health {
            book,
            out,
            no_model,
        } => {
            let h = with_bar(quiet, |p| {
                workflow::health::health(&book.data, book.as_of, !no_model, &cfg, p)
            })?;
            output::health::write(&h.validation, &h.dataset, &h.table, &out)?;
            print!("\n{}", h.validation.summary());
            println!(
                "\nwrote health_report.json, health_auc.csv, health_tiers.csv, health_components.csv, health_scores.parquet/.csv and recommended_health.toml in {} ({:.1}s)",
                out.display(),
                t0.elapsed().as_secs_f64()
            );
        }
        Command::Analyze { book, out } => {
            let a = workflow::analyze::analyze(&book.data, book.as_of, &cfg)?;
            let files = output::analysis::write(&a, &out)?;
            print!("{}", text::analyses(&a));
            println!(
                "\nwrote {} in {} ({:.1}s)",
                files.join(", "),
                out.display(),
                t0.elapsed().as_secs_f64()
            );
        }
        Command::Features { book, out } => {
            let t = workflow::inspect::features(&book.data, book.as_of, &cfg)?;
            if let Some(dir) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
                output::ensure_dir(dir)?;
            }
            for path in t.write(&out, &[Format::Parquet, Format::Csv])? {
                log::info!("wrote {}", path.display());
            }
        }
        Command::Train {
            data,
            flat,
            models,
            as_of,
            previous,
        } => {
            let previous = match previous {
                Some(p) => Some(churnlab::train::registry::resolve(&models, &p)?),
                None => None,
            };
            let source = match (data, flat.table, flat.label) {
                (Some(dir), _, _) => workflow::train::TrainSource::Book { dir, as_of },
                (None, Some(path), Some(label)) => workflow::train::TrainSource::Flat(FlatTable {
                    path,
                    label,
                    id: flat.id,
                    exclude: flat.exclude,
                }),
                _ => anyhow::bail!("pass --data DIR or --table FILE --label COL"),
            };
            let t = with_bar(quiet, |p| {
                workflow::train::train(&source, &models, previous.as_deref(), &cfg, p)
            })?;
            print!("{}", text::training(&t.trained.report));
            println!(
                "\nchampion: {} ({}); model folder {} written in {:.1}s",
                t.trained.report.champion.name(),
                t.trained.report.champion_reason,
                t.model_dir.display(),
                t0.elapsed().as_secs_f64()
            );
            println!("{}", t.entry.decision);
        }
        Command::Evaluate { flat, cv, out } => {
            let trained = with_bar(quiet, |p| {
                workflow::train::evaluate(&flat.into(), usize::from(cv), &cfg, p)
            })?;
            print!("{}", text::training(&trained.report));
            if let Some(path) = out {
                output::write_json(&path, &trained.report)?;
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
            list,
            report,
            previous,
        } => {
            let source = match (data, table) {
                (Some(dir), _) => ScoreSource::Book { dir, as_of },
                (None, Some(path)) => ScoreSource::Flat { path, id },
                (None, None) => anyhow::bail!("pass --data DIR or --table FILE"),
            };
            let scored = workflow::score::score(&model, &source, &cfg, &list.options())?;
            // Rendered before the list is handed to the writers, which free it.
            let shown = list_text(&scored.list, &list, &out);
            output::list::write_scoring(scored, &out, &report.options(previous))?;
            print!("{shown}");
            print_deliverables(&out);
        }
        Command::Report {
            run,
            report,
            previous,
        } => {
            let path = churnlab::report::write(&run, &report.options(previous))?;
            println!("wrote {}", path.display());
        }
        Command::Backtest { data, at, out } => {
            let b = with_bar(quiet, |p| workflow::backtest::backtest(&data, &at, &cfg, p))?;
            output::backtest::write(&b, &out)?;
            print!("{}", text::backtest(&b));
            println!(
                "\nwrote backtest.json, backtest.csv and backtest_scores.csv in {} ({:.1}s)",
                out.display(),
                t0.elapsed().as_secs_f64()
            );
        }
        Command::BenchFit {
            flat,
            matrix,
            json,
            only,
        } => {
            let timings =
                workflow::bench::bench_fit(&flat.into(), matrix.as_deref(), only.as_deref(), &cfg)?;
            output::write_json(&json, &timings)?;
        }
        Command::Catalog => print!("{}", churnlab::features::catalog_markdown()),
        Command::Validate { data } => print!("{}", workflow::inspect::validate(&data, None, &cfg)?),
        Command::Retention {
            book,
            out,
            grace_days,
        } => {
            let report = workflow::inspect::retention(&book.data, grace_days, book.as_of, &cfg)?;
            print!("{}", text::retention(&report));
            if let Some(dir) = out {
                output::staged(&dir, "retention", |d| {
                    io::write_table(&d.join("retention.csv"), &report.to_table(), Format::Csv)
                })?;
                log::info!("wrote {}", dir.join("retention.csv").display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `churnlab run`: the pipeline, its files, what it prints; status 3 when
/// `--fail-on-drift` trips (after every file is written).
fn run_pipeline(
    opts: &RunOptions,
    cfg: &Config,
    out: &Path,
    list: &ListArgs,
    report: &churnlab::report::ReportOptions,
    fail_on_drift: Option<f64>,
    quiet: bool,
) -> Result<ExitCode> {
    let r = with_bar(quiet, |p| workflow::run::run(opts, cfg, p))?;
    let t_write = std::time::Instant::now();
    let files = output::run::write(&r, out, report)?;
    log::info!(
        "outputs written in {:.1}s: {}",
        t_write.elapsed().as_secs_f64(),
        files.join(", ")
    );
    print!(
        "{}\n{}{}{}",
        r.summary,
        text::retention(&r.retention),
        text::training(&r.trained.report),
        text::analyses(&r.analyses)
    );
    if let Some(v) = &r.health {
        print!("\n{}", v.report_brief());
    }
    println!(
        "\nmodel folder: {} (champion {}); {}",
        r.model_dir.display(),
        r.manifest.champion.name(),
        r.entry.decision
    );
    print_list(&r.list, list, out);
    print!("\n{}", text::retraining(&r.drift, r.stability.as_ref()));
    let health = if cfg.health().is_some() {
        " and the health-score validation (health_*, recommended_health.toml)"
    } else {
        ""
    };
    println!(
        "also wrote retention.csv, summary.json, snapshots.parquet/.csv, metrics.json, forecast.json/.csv, drift.csv/.json{}, the cohort, cluster and propensity analyses{health} in {} ({:.1}s in all)",
        if r.stability.is_some() {
            ", stability.csv/.json"
        } else {
            ""
        },
        out.display(),
        r.seconds.total
    );
    print_deliverables(out);
    if let Some(threshold) = fail_on_drift {
        let past = r.drift.past(threshold);
        if !past.is_empty() {
            let names: Vec<String> = past
                .iter()
                .map(|f| match f.psi {
                    Some(p) if f.status != "disappeared" => format!("{} (PSI {p:.3})", f.feature),
                    _ => format!("{} ({})", f.feature, f.status),
                })
                .collect();
            eprintln!(
                "error: drift: {} of the model's top features drifted past PSI {threshold}: {} (see drift.csv); exiting with status 3",
                past.len(),
                names.join(", ")
            );
            return Ok(ExitCode::from(3));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The configuration, checked: `--config`, else `DATA/churnlab.toml` when the command
/// reads a data folder that has one, else the built-in defaults.
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

fn simulate(sc: &SimConfig, out: &Path, quiet: bool) -> Result<()> {
    output::ensure_dir(out)?;
    log::info!(
        "simulating {} accounts x {} months from {} (seed {}) into {}",
        sc.accounts,
        sc.months,
        sc.start,
        sc.seed,
        out.display()
    );
    let t0 = Instant::now();
    let pb = bar(quiet, "simulating");
    pb.set_length(sc.accounts as u64);
    let summary = sim::simulate(sc, out, &|done| pb.set_position(done as u64))?;
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
    Ok(())
}

/// Runs a training job with a progress bar over its model fits.
fn with_bar<T>(
    quiet: bool,
    job: impl FnOnce(workflow::OnProgress<'_>) -> churnlab::Result<T>,
) -> churnlab::Result<T> {
    let pb = bar(quiet, "training");
    let progress = |e: Progress<'_>| match e {
        Progress::Plan { fits } => pb.set_length(fits as u64),
        Progress::Fitted { .. } => {
            pb.inc(1);
            log::debug!("{e}");
        }
        _ => pb.println(format!("[churnlab] {e}")),
    };
    let r = job(&progress);
    pb.finish_and_clear();
    r
}

fn bar(quiet: bool, what: &str) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(0);
    let style = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed}, eta {eta})")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    pb.set_style(style);
    pb.set_message(what.to_string());
    pb
}

/// Prints the ranked list's head and where it was written.
fn print_list(list: &ScoredList, a: &ListArgs, out: &Path) {
    print!("{}", list_text(list, a, out));
}

/// The top of the list and where the files are.
fn list_text(list: &ScoredList, a: &ListArgs, out: &Path) -> String {
    let unscored = list.rows.iter().filter(|s| s.reason.is_some()).count();
    format!(
        "\n{}\n{} accounts ({unscored} could not be scored; reasons in the file). Wrote {}, {}, {} and {}\n",
        text::at_risk(list, a.options().rank_by, a.top),
        list.rows.len(),
        out.join("scored_accounts.csv").display(),
        out.join("scored_accounts.parquet").display(),
        out.join("drivers.csv").display(),
        out.join("at_risk.xlsx").display()
    )
}

/// The closing lines: where the files a CS leader opens are.
fn print_deliverables(out: &Path) {
    println!(
        "\nFor CS leaders: open {} (the report) and {} (every account, a sheet per CSM up to 200 CSMs).",
        out.join("report.html").display(),
        out.join("at_risk.xlsx").display()
    );
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
