//! `churnlab health`: the team's health score validated against churn.

use std::path::Path;

use anyhow::Result;

use churnlab::config::Config;
use churnlab::output;
use churnlab::workflow;

use crate::hiargs::BookAt;
use crate::ui::Ui;

pub fn run(book: &BookAt, out: &Path, with_model: bool, cfg: &Config, ui: &Ui) -> Result<()> {
    let h =
        ui.with_bar(|p| workflow::health::health(&book.data, book.as_of, with_model, cfg, p))?;
    let written = output::health::write(&h.validation, &h.dataset, &h.table, out)?;
    print!("\n{}", output::text::health(&h.validation));
    ui.wrote(&written);
    Ok(())
}
