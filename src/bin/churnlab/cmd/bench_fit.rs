//! `churnlab bench-fit` (hidden): each family fitted once with fixed parameters, timed.

use std::path::Path;

use anyhow::Result;

use churnlab::config::Config;
use churnlab::model::Family;
use churnlab::output;
use churnlab::workflow::{self, train::FlatTable};

pub fn run(
    flat: &FlatTable,
    matrix: Option<&Path>,
    json: &Path,
    only: Option<Family>,
    cfg: &Config,
) -> Result<()> {
    let timings = workflow::bench::bench_fit(flat, matrix, only, cfg)?;
    output::write_json(json, &timings)?;
    Ok(())
}
