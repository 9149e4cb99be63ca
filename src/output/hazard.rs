//! `churnlab hazard --out`: `hazard.json` (the out-of-time figures) and
//! `hazard_test.csv` (each test account's outcome and P(churn within 1..12 months)).

use std::path::Path;

use super::{Written, names};
use crate::error::Result;
use crate::hazard::HazardEvaluation;
use crate::input::io::{self, Format};
use crate::input::table::{Column, Table};

/// Writes both files into `out`, replacing the folder whole.
pub fn write(e: &HazardEvaluation, out: &Path) -> Result<Written> {
    super::staged(out, "hazard", |dir| write_files(e, dir))
}

/// Writes both files into `dir` (a run's staged folder, or the hazard's own).
pub fn write_files(e: &HazardEvaluation, dir: &Path) -> Result<()> {
    super::write_json(&dir.join(names::HAZARD_JSON), e)?;
    io::write_table(
        &dir.join(names::HAZARD_TEST_CSV),
        &test_table(e),
        Format::Csv,
    )
}

fn test_table(e: &HazardEvaluation) -> Table {
    let rows = &e.test;
    let mut t = Table::new()
        .with(
            "account_id",
            Column::Str(rows.iter().map(|a| Some(a.account_id.clone())).collect()),
        )
        .with(
            "event",
            Column::Int(rows.iter().map(|a| Some(i64::from(a.event))).collect()),
        )
        .with(
            "time",
            Column::Float(rows.iter().map(|a| Some(a.time)).collect()),
        );
    for m in 1..=crate::hazard::MONTHS {
        t = t.with(
            &format!("p_churn_{m}m"),
            Column::Float(rows.iter().map(|a| a.within.get(m - 1).copied()).collect()),
        );
    }
    t
}
