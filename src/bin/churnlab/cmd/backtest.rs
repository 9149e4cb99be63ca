//! `churnlab backtest`: the pipeline rerun on the book as it was at past dates.

use std::path::Path;

use anyhow::Result;
use chrono::NaiveDate;

use churnlab::config::Config;
use churnlab::output::{self, text};
use churnlab::workflow;

use crate::ui::Ui;

pub fn run(data: &Path, at: &[NaiveDate], out: &Path, cfg: &Config, ui: &Ui) -> Result<()> {
    let b = ui.with_bar(|p| workflow::backtest::backtest(data, at, cfg, p))?;
    let written = output::backtest::write(&b, out)?;
    print!("{}", text::backtest(&b));
    ui.wrote(&written);
    Ok(())
}
