//! `churnlab validate`: an input folder checked against the data contract.

use std::path::Path;

use anyhow::Result;

use churnlab::config::Config;
use churnlab::workflow;

pub fn run(data: &Path, cfg: &Config) -> Result<()> {
    print!("{}", workflow::inspect::validate(data, None, cfg)?);
    Ok(())
}
