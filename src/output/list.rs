//! The ranked at-risk list: `scored_accounts.csv` / `.parquet`, `drivers.csv` and the
//! `at_risk.xlsx` workbook.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::input::io::{self, Format};
use crate::score::ScoredList;

/// Accounts whose drivers are formatted and written at a time.
const DRIVER_BLOCK: usize = 50_000;

/// Writes the list into `out`; returns the paths written.
pub fn write(list: &ScoredList, out: &Path) -> Result<Vec<PathBuf>> {
    super::ensure_dir(out)?;
    let files = io::write_parquet_and_csv(&out.join("scored_accounts"), &list.to_table())?;
    let drivers = out.join("drivers.csv");
    // Streamed a block of accounts at a time: six drivers a row make a table six times
    // the list's length, never held whole.
    let mut w = io::TableWriter::create(&drivers, Format::Csv)?;
    let mut start = 0;
    loop {
        let end = (start + DRIVER_BLOCK).min(list.rows.len());
        w.write(&list.drivers_table(start..end))?;
        start = end;
        if start >= list.rows.len() {
            break;
        }
    }
    w.finish()?;
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
