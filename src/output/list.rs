//! The ranked at-risk list: `scored_accounts.csv` / `.parquet`, `drivers.csv` and the
//! `at_risk.xlsx` workbook.

use std::path::Path;
use std::time::Instant;

use super::{Written, names};
use crate::error::Result;
use crate::input::io::{self, Format};
use crate::score::ScoredList;

/// Accounts formatted and written at a time: the list and its drivers (six a row) are
/// streamed, never held whole as text. The list's block is Parquet's row group.
const LIST_BLOCK: usize = 262_144;
const DRIVER_BLOCK: usize = 50_000;

/// Writes the list into `out`. The workbook is built beside the flat files (each is one
/// thread's work, and their bytes do not depend on each other).
pub fn write(list: &ScoredList, out: &Path) -> Result<()> {
    super::ensure_dir(out)?;
    let book = out.join(names::WORKBOOK);
    let drivers = out.join(names::DRIVERS_CSV);
    let (flat, workbook) = rayon::join(
        || -> Result<()> {
            let t = Instant::now();
            let stem = out.join(names::SCORED_ACCOUNTS);
            let files = [Format::Parquet, Format::Csv].map(|f| stem.with_extension(f.extension()));
            let mut parquet = io::TableWriter::create(&files[0], Format::Parquet)?;
            let mut csv = io::TableWriter::create(&files[1], Format::Csv)?;
            in_blocks(list.rows.len(), LIST_BLOCK, |r| {
                let t = list.table(r);
                parquet.write(&t)?;
                csv.write(&t)
            })?;
            parquet.finish()?;
            csv.finish()?;
            let mut w = io::TableWriter::create(&drivers, Format::Csv)?;
            in_blocks(list.rows.len(), DRIVER_BLOCK, |r| {
                w.write(&list.drivers_table(r))
            })?;
            w.finish()?;
            log::debug!(
                "scored_accounts and drivers.csv written in {:.1}s",
                t.elapsed().as_secs_f64()
            );
            Ok(())
        },
        || {
            let t = Instant::now();
            super::workbook::write(list, &book)?;
            log::debug!("at_risk.xlsx written in {:.1}s", t.elapsed().as_secs_f64());
            Ok::<(), crate::error::Error>(())
        },
    );
    flat?;
    workbook
}

/// Calls `f` on `0..n` in consecutive ranges of `block` (once, on `0..0`, when `n` is 0,
/// so that an empty table still gets its header).
fn in_blocks(
    n: usize,
    block: usize,
    mut f: impl FnMut(std::ops::Range<usize>) -> Result<()>,
) -> Result<()> {
    let mut start = 0;
    loop {
        let end = (start + block).min(n);
        f(start..end)?;
        start = end;
        if start >= n {
            return Ok(());
        }
    }
}

/// Writes what `churnlab score` produces into `out`: the list, its workbook and forecast,
/// and `report.html` rendered from them; the folder is replaced whole.
/// The scoring is consumed: the list is freed once written, before the report reads the
/// files back (a million-row list and its read-back copy are never held together).
pub fn write_scoring(
    s: crate::workflow::score::Scoring,
    out: &Path,
    report: &crate::report::ReportOptions,
) -> Result<Written> {
    super::staged(out, "score", move |dir| {
        write(&s.list, dir)?;
        super::forecast::write(&s.forecast, dir)?;
        drop(s);
        crate::common::memory::release_freed();
        crate::report::write(dir, report).map(|_| ())
    })
}
