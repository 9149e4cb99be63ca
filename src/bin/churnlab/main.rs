//! The churnlab command line: parses the flags, resolves them once into checked
//! high-level arguments ([`hiargs::HiArgs`]: the configuration and the job), dispatches
//! each job to its file in `cmd/` and prints what came back.

mod args;
mod cmd;
mod hiargs;
mod ui;

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use args::Cli;
use hiargs::{HiArgs, Job};
use ui::Ui;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ui = Ui::new(cli.verbose, cli.quiet);
    match run(cli, &ui) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli, ui: &Ui) -> Result<ExitCode> {
    let HiArgs { cfg, job } = HiArgs::resolve(cli)?;
    let cfg = &cfg;
    match job {
        Job::Simulate { sim, out } => cmd::simulate::run(&sim, &out, ui)?,
        Job::Run {
            opts,
            out,
            list,
            report,
            fail_on_drift,
        } => {
            return cmd::run::run(&opts, &out, &list, &report, fail_on_drift, cfg, ui);
        }
        Job::Models { dir } => cmd::models::run(&dir)?,
        Job::Report { run, report } => cmd::report::run(&run, &report)?,
        Job::Health {
            book,
            out,
            with_model,
        } => cmd::health::run(&book, &out, with_model, cfg, ui)?,
        Job::Analyze { book, out } => cmd::analyze::run(&book, &out, cfg, ui)?,
        Job::Features { book, out } => cmd::features::run(&book, &out, cfg)?,
        Job::Train {
            source,
            models,
            previous,
        } => cmd::train::run(&source, &models, previous.as_deref(), cfg, ui)?,
        Job::Evaluate { flat, folds, out } => {
            cmd::evaluate::run(&flat, folds, out.as_deref(), cfg, ui)?
        }
        Job::Score {
            model,
            source,
            out,
            list,
            report,
        } => cmd::score::run(&model, &source, &out, &list, &report, cfg, ui)?,
        Job::Backtest { data, at, out } => cmd::backtest::run(&data, &at, &out, cfg, ui)?,
        Job::BenchFit {
            flat,
            matrix,
            json,
            only,
        } => cmd::bench_fit::run(&flat, matrix.as_deref(), &json, only, cfg)?,
        Job::Catalog => cmd::catalog::run(),
        Job::Sql { plan, out } => cmd::sql::run(&plan, &out, ui)?,
        Job::Validate { data } => cmd::validate::run(&data, cfg)?,
        Job::Retention {
            book,
            out,
            grace_days,
        } => cmd::retention::run(&book, out.as_deref(), grace_days, cfg)?,
        Job::Hazard { book, out } => cmd::hazard::run(&book, out.as_deref(), cfg)?,
    }
    Ok(ExitCode::SUCCESS)
}
