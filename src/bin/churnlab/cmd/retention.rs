//! `churnlab retention`: logo churn, GRR and NRR by period and segment.

use std::path::Path;

use anyhow::Result;

use churnlab::config::Config;
use churnlab::output::{self, text};
use churnlab::workflow;

use crate::hiargs::BookAt;

pub fn run(book: &BookAt, out: Option<&Path>, grace_days: Option<i64>, cfg: &Config) -> Result<()> {
    let report = workflow::inspect::retention(&book.data, grace_days, book.as_of, cfg)?;
    print!("{}", text::retention(&report));
    if let Some(dir) = out {
        let written = output::retention::write(&report, dir)?;
        log::info!("{written}");
    }
    Ok(())
}
