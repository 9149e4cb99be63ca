//! The retraining checks' files: `drift.csv` (a row per feature) and `drift.json` (with
//! the signals that stopped or appeared), and after a previous run `stability.csv` (the
//! accounts that entered or left the high tier) and `stability.json`.

use std::path::Path;

use super::names;
use crate::error::Result;
use crate::input::io::{self, Format};
use crate::monitor::drift::Drift;
use crate::monitor::stability::Stability;

/// Writes the drift and stability files into `out`.
pub fn write(drift: &Drift, stability: Option<&Stability>, out: &Path) -> Result<()> {
    super::ensure_dir(out)?;
    io::write_table(&out.join(names::DRIFT_CSV), &drift.to_table(), Format::Csv)?;
    super::write_json(&out.join(names::DRIFT_JSON), drift)?;
    if let Some(s) = stability {
        io::write_table(&out.join(names::STABILITY_CSV), &s.to_table(), Format::Csv)?;
        super::write_json(&out.join(names::STABILITY_JSON), s)?;
    }
    Ok(())
}
