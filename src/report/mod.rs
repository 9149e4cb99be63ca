//! The report CS leaders open: `report.html`, rendered from an output folder's files
//! (what `run` or `score` wrote), so `churnlab report --run OUT` re-renders exactly what
//! `run` wrote. [`load`] reads the folder; [`html`] draws the page with [`svg`] charts.

mod escape;
pub mod html;
pub mod load;
pub(crate) mod outlook;
pub(crate) mod retraining;
pub(crate) mod svg;

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::input::io;
use crate::output::names;

pub use html::Options;

/// Where the report reads and what it compares with.
#[derive(Clone, Debug, Default)]
pub struct ReportOptions {
    /// An earlier run's output folder: the headline says what changed since then.
    pub previous: Option<PathBuf>,
    /// A backtest's output folder (default: this folder's `backtest.json`, if any): the
    /// forecast section shows how accurate the forecast was in the past.
    pub backtest: Option<PathBuf>,
    pub page: Options,
}

/// Renders `dir`'s files into `dir/report.html` (written atomically); returns its path.
pub fn write(dir: &Path, o: &ReportOptions) -> Result<PathBuf> {
    let inputs = load::load(dir, o.previous.as_deref(), o.backtest.as_deref())?;
    let page = html::render(&inputs, &o.page);
    let path = dir.join(names::REPORT_HTML);
    io::write_atomic(&path, page.as_bytes())?;
    log::info!(
        "wrote {} ({} kB, {} accounts on the page)",
        path.display(),
        page.len() / 1024,
        inputs.accounts.len().min(o.page.top)
    );
    Ok(path)
}
