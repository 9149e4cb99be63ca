//! The retraining checks' files: `drift.csv` (a row per feature) and `drift.json` (with
//! the signals that stopped or appeared), and after a previous run `stability.csv` (the
//! accounts that entered or left the high tier) and `stability.json`.

use std::path::Path;

use crate::error::Result;
use crate::input::io::{self, Format};
use crate::monitor::drift::Drift;
use crate::monitor::stability::Stability;

/// Writes the drift and stability files into `out`; returns their names.
pub fn write(drift: &Drift, stability: Option<&Stability>, out: &Path) -> Result<Vec<String>> {
    super::ensure_dir(out)?;
    io::write_table(&out.join("drift.csv"), &drift.to_table(), Format::Csv)?;
    super::write_json(&out.join("drift.json"), drift)?;
    let mut files = vec!["drift.csv".to_string(), "drift.json".to_string()];
    if let Some(s) = stability {
        io::write_table(&out.join("stability.csv"), &s.to_table(), Format::Csv)?;
        super::write_json(&out.join("stability.json"), s)?;
        files.extend(["stability.csv".to_string(), "stability.json".to_string()]);
    }
    Ok(files)
}
