//! `churnlab analyze`: cohorts, clusters and the plays analysis.

use std::path::Path;

use anyhow::Result;

use churnlab::config::Config;
use churnlab::output::{self, text};
use churnlab::workflow;

use crate::hiargs::BookAt;
use crate::ui::Ui;

pub fn run(book: &BookAt, out: &Path, cfg: &Config, ui: &Ui) -> Result<()> {
    let a = workflow::analyze::analyze(&book.data, book.as_of, cfg)?;
    let written = output::analysis::write(&a, out)?;
    print!("{}", text::analyses(&a));
    ui.wrote(&written);
    Ok(())
}
