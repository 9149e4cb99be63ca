//! `churnlab evaluate`: every family cross-validated on a flat table; nothing saved.

use std::path::Path;

use anyhow::Result;

use churnlab::config::Config;
use churnlab::output::{self, text};
use churnlab::workflow::{self, train::FlatTable};

use crate::ui::{self, Ui};

pub fn run(
    flat: &FlatTable,
    folds: usize,
    out: Option<&Path>,
    cfg: &Config,
    ui: &Ui,
) -> Result<()> {
    let trained = ui.with_bar(|p| workflow::train::evaluate(flat, folds, cfg, p))?;
    print!("{}", text::training(&trained.report));
    if let Some(path) = out {
        output::write_json(path, &trained.report)?;
        ui::wrote_file(path);
    }
    Ok(())
}
