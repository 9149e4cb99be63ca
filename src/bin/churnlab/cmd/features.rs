//! `churnlab features`: the snapshot table as Parquet and CSV.

use std::path::Path;

use anyhow::Result;

use churnlab::config::Config;
use churnlab::input::io::Format;
use churnlab::output;
use churnlab::workflow;

use crate::hiargs::BookAt;
use crate::ui;

pub fn run(book: &BookAt, out: &Path, cfg: &Config) -> Result<()> {
    let t = workflow::inspect::features(&book.data, book.as_of, cfg)?;
    if let Some(dir) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        output::ensure_dir(dir)?;
    }
    for path in t.write(out, &[Format::Parquet, Format::Csv])? {
        ui::wrote_file(&path);
    }
    Ok(())
}
