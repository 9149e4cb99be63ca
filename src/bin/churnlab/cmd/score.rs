//! `churnlab score`: new data scored with a saved model, without retraining.

use std::path::Path;

use anyhow::Result;

use churnlab::config::Config;
use churnlab::output;
use churnlab::report::ReportOptions;
use churnlab::workflow::{self, score::ScoreSource};

use crate::hiargs::ListView;
use crate::ui::Ui;

pub fn run(
    model: &Path,
    source: &ScoreSource,
    out: &Path,
    list: &ListView,
    report: &ReportOptions,
    cfg: &Config,
    ui: &Ui,
) -> Result<()> {
    let scored = workflow::score::score(model, source, cfg, &list.options)?;
    // Rendered before the list is handed to the writers, which free it.
    let shown = super::run::list_text(&scored.list, list);
    let written = output::list::write_scoring(scored, out, report)?;
    print!("{shown}");
    ui.wrote(&written);
    ui.deliverables(&written);
    Ok(())
}
