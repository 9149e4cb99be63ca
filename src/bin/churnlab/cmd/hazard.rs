//! `churnlab hazard`: time to churn, fitted and tested out of time.

use std::path::Path;

use anyhow::Result;

use churnlab::config::Config;
use churnlab::output::{self, text};
use churnlab::workflow;

use crate::hiargs::BookAt;

pub fn run(book: &BookAt, out: Option<&Path>, cfg: &Config) -> Result<()> {
    let e = workflow::inspect::hazard(&book.data, book.as_of, cfg)?;
    print!("{}", text::hazard(&e));
    if let Some(dir) = out {
        let written = output::hazard::write(&e, dir)?;
        log::info!("{written}");
    }
    Ok(())
}
