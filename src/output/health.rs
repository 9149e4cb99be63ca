//! The health-score validation's files: `health_report.json`, `health_auc.csv`,
//! `health_tiers.csv`, `health_components.csv`, `health_scores.parquet`/`.csv` and
//! `recommended_health.toml`.

use std::path::Path;

use super::{Written, names};
use crate::error::Result;
use crate::features::SnapshotTable;
use crate::features::dataset::Dataset;
use crate::health::validate::{self, Validation};
use crate::input::io::{self, Format};

/// Writes the validation of the health score into `out`, replacing the folder whole.
pub fn write(v: &Validation, ds: &Dataset, table: &SnapshotTable, out: &Path) -> Result<Written> {
    super::staged(out, "health", |dir| write_files(v, ds, table, dir))
}

/// The same files, written into `out` as it is (for a job that stages its own folder).
pub fn write_files(v: &Validation, ds: &Dataset, table: &SnapshotTable, out: &Path) -> Result<()> {
    super::write_json(&out.join(names::HEALTH_REPORT_JSON), &v.report)?;
    io::write_table(
        &out.join(names::HEALTH_AUC_CSV),
        &v.auc_table(),
        Format::Csv,
    )?;
    io::write_table(
        &out.join(names::HEALTH_TIERS_CSV),
        &v.tiers_table(),
        Format::Csv,
    )?;
    io::write_table(
        &out.join(names::HEALTH_COMPONENTS_CSV),
        &v.parts_table(),
        Format::Csv,
    )?;
    let dates: Vec<String> = table.rows.iter().map(|r| r.t.to_string()).collect();
    io::write_parquet_and_csv(
        &out.join(names::HEALTH_SCORES),
        &validate::scores_table(ds, &v.scores, &dates),
    )?;
    io::write_atomic(
        &out.join(names::RECOMMENDED_HEALTH_TOML),
        v.recommended_toml.as_bytes(),
    )
}
