//! `churnlab report`: report.html rendered again from an output folder.

use std::path::Path;

use anyhow::Result;

use churnlab::report::{self, ReportOptions};

pub fn run(dir: &Path, options: &ReportOptions) -> Result<()> {
    let path = report::write(dir, options)?;
    println!("wrote {}", path.display());
    Ok(())
}
