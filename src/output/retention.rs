//! `retention.csv`: gross and net revenue retention and logo churn by period and segment.

use std::path::Path;

use super::{Written, names};
use crate::book::retention::Report;
use crate::error::Result;
use crate::input::io::{self, Format};

/// Writes `retention.csv` into `out`, replacing the folder whole (`churnlab retention
/// --out`).
pub fn write(r: &Report, out: &Path) -> Result<Written> {
    super::staged(out, "retention", |dir| write_files(r, dir))
}

/// The same file, written into `out` as it is (for a job that stages its own folder).
pub fn write_files(r: &Report, out: &Path) -> Result<()> {
    io::write_table(&out.join(names::RETENTION_CSV), &r.to_table(), Format::Csv)
}
