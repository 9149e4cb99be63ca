//! The ranked at-risk list: `scored_accounts.csv` / `.parquet`, `drivers.csv` and the
//! `at_risk.xlsx` workbook.

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
    let book = out.join("at_risk.xlsx");
    super::workbook::write(list, &book)?;
    let mut files = files.to_vec();
    files.push(drivers);
    files.push(book);
    Ok(files)
}

/// Writes what `churnlab score` produces into `out`: the list, its workbook and forecast,
/// and `report.html` rendered from them; the folder is replaced whole.
pub fn write_scoring(
    s: &crate::workflow::score::Scoring,
    out: &Path,
    report: &crate::report::ReportOptions,
) -> Result<()> {
    super::staged(out, |dir| {
        write(&s.list, dir)?;
        super::forecast::write(&s.forecast, dir)?;
        crate::report::write(dir, report).map(|_| ())
    })
}
