//! `churnlab train`: every family trained, the champion chosen, the model folder saved.

use std::path::Path;

use anyhow::Result;

use churnlab::config::Config;
use churnlab::output::text;
use churnlab::workflow::{self, train::TrainSource};

use crate::ui::Ui;

pub fn run(
    source: &TrainSource,
    models: &Path,
    previous: Option<&Path>,
    cfg: &Config,
    ui: &Ui,
) -> Result<()> {
    let t = ui.with_bar(|p| workflow::train::train(source, models, previous, cfg, p))?;
    print!("{}", text::training(&t.trained.report));
    println!(
        "\nchampion: {} ({}); model folder {} written in {:.1}s",
        t.trained.report.champion.name(),
        t.trained.report.champion_reason,
        t.model_dir.display(),
        ui.seconds()
    );
    println!("{}", t.entry.decision);
    Ok(())
}
