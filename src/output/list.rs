//! The ranked at-risk list: `scored_accounts.csv` / `.parquet` and `drivers.csv`.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::input::io::{self, Format};
use crate::score::ScoredList;

/// Writes the list into `out`; returns the paths written.
pub fn write(list: &ScoredList, out: &Path) -> Result<Vec<PathBuf>> {
    super::ensure_dir(out)?;
    let files = io::write_parquet_and_csv(&out.join("scored_accounts"), &list.to_table())?;
    let drivers = out.join("drivers.csv");
    io::write_table(&drivers, &list.drivers_table(), Format::Csv)?;
    let mut files = files.to_vec();
    files.push(drivers);
    Ok(files)
}
