//! Everything `churnlab run` writes into its output folder.

use std::path::Path;

use super::{Written, names};
use crate::error::Result;
use crate::input::io::{self, Format};
use crate::report::ReportOptions;
use crate::workflow::run::RunResult;

/// Writes a run's files into `out`: `retention.csv`, `summary.json`, `snapshots.*`,
/// the analyses, `metrics.json`, the health-score validation (when configured) and the
/// at-risk list with its workbook and forecast, the drift and list-stability checks, and last `report.html`, rendered from
/// those files.
///
/// The folder is replaced whole ([`super::staged`]): a failure or a kill leaves the
/// previous run's files as they were.
pub fn write(r: &RunResult, out: &Path, report: &ReportOptions) -> Result<Written> {
    super::staged(out, "run", |dir| write_files(r, dir, report))
}

fn write_files(r: &RunResult, out: &Path, report: &ReportOptions) -> Result<()> {
    // The snapshot table is the largest file by far (every feature of every snapshot):
    // written beside the others, which the report then reads.
    let timed = |what: &str, t: std::time::Instant| {
        log::debug!("{what} written in {:.1}s", t.elapsed().as_secs_f64());
    };
    let t = std::time::Instant::now();
    let formats = snapshot_formats(r.table.rows.len());
    let (snapshots, files) = rayon::join(
        || {
            let r = r.table.write(&out.join(names::SNAPSHOTS), formats);
            timed("the snapshot table", t);
            r
        },
        || write_the_rest(r, out),
    );
    snapshots?;
    files?;
    timed("the files before the report", t);
    let t = std::time::Instant::now();
    crate::report::write(out, report)?;
    timed("report.html", t);
    Ok(())
}

/// A run's snapshot table above this many rows is written as Parquet alone: as CSV it
/// is hundreds of megabytes that no spreadsheet opens (208 MB at 20,000 accounts, 304,337
/// rows), and writing it was the longest step of the output stage. `churnlab features`
/// writes both at any size.
pub const SNAPSHOT_CSV_MAX_ROWS: usize = 100_000;

fn snapshot_formats(rows: usize) -> &'static [Format] {
    if rows <= SNAPSHOT_CSV_MAX_ROWS {
        &[Format::Parquet, Format::Csv]
    } else {
        &[Format::Parquet]
    }
}

fn write_the_rest(r: &RunResult, out: &Path) -> Result<()> {
    super::retention::write_files(&r.retention, out)?;
    super::write_json(
        &out.join(names::SUMMARY_JSON),
        &serde_json::json!({ "summary": r.summary, "retention": r.retention }),
    )?;
    super::analysis::write_files(&r.analyses, out)?;
    super::monitor::write(&r.drift, r.stability.as_ref(), out)?;
    super::write_json(&out.join(names::METRICS_JSON), &r.trained.report)?;
    if let Some(v) = &r.health {
        super::health::write_files(v, &r.dataset, &r.table, out)?;
    }
    super::list::write(&r.list, out)?;
    super::forecast::write(&r.forecast, out)?;
    if let Some(h) = &r.hazard {
        super::hazard::write_files(h, out)?;
    }
    if !r.budget.is_empty() {
        io::write_table(
            &out.join(names::PLAY_BUDGET_CSV),
            &crate::analysis::targeting::budget_table(&r.budget),
            Format::Csv,
        )?;
    }
    if !r.play_effects.is_empty() {
        io::write_table(
            &out.join(names::PLAY_EFFECTS_CSV),
            &crate::analysis::targeting::play_effects_table(&r.play_effects),
            Format::Csv,
        )?;
    }
    Ok(())
}
