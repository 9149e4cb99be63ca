//! `churnlab run`: the whole pipeline, its files and what it prints; status 3 when
//! `--fail-on-drift` trips (after every file is written).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use churnlab::config::Config;
use churnlab::output::{self, text};
use churnlab::report::ReportOptions;
use churnlab::score::ScoredList;
use churnlab::workflow::{self, run::RunOptions};

use crate::hiargs::ListView;
use crate::ui::Ui;

pub fn run(
    opts: &RunOptions,
    out: &Path,
    list: &ListView,
    report: &ReportOptions,
    fail_on_drift: Option<f64>,
    cfg: &Config,
    ui: &Ui,
) -> Result<ExitCode> {
    let r = ui.with_bar(|p| workflow::run::run(opts, cfg, p))?;
    let t_write = std::time::Instant::now();
    let written = output::run::write(&r, out, report)?;
    log::info!("outputs written in {:.1}s", t_write.elapsed().as_secs_f64());
    print!(
        "{}\n{}{}{}",
        r.summary,
        text::retention(&r.retention),
        text::training(&r.trained.report),
        text::analyses(&r.analyses)
    );
    if let Some(v) = &r.health {
        print!("\n{}", text::health_brief(v));
    }
    println!(
        "\nmodel folder: {} (champion {}); {}",
        r.model_dir.display(),
        r.manifest.champion.name(),
        r.entry.decision
    );
    print!("{}", list_text(&r.list, list));
    print!("\n{}", text::retraining(&r.drift, r.stability.as_ref()));
    ui.wrote(&written);
    ui.deliverables(&written);
    Ok(drift_status(&r.drift, fail_on_drift))
}

/// Status 3 when a top feature drifted past `--fail-on-drift`, saying which.
fn drift_status(drift: &churnlab::monitor::drift::Drift, threshold: Option<f64>) -> ExitCode {
    let Some(threshold) = threshold else {
        return ExitCode::SUCCESS;
    };
    let past = drift.past(threshold);
    if past.is_empty() {
        return ExitCode::SUCCESS;
    }
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
    ExitCode::from(3)
}

/// The top of the list, and how many accounts it holds.
pub fn list_text(list: &ScoredList, view: &ListView) -> String {
    let unscored = list.rows.iter().filter(|s| s.reason.is_some()).count();
    format!(
        "\n{}\n{} accounts ({unscored} could not be scored; reasons in the file)\n",
        text::at_risk(list, view.options.rank_by, view.top),
        list.rows.len(),
    )
}
