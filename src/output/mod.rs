//! The last stage: writers that turn each job's typed result into files, and the text
//! renderings the CLI prints ([`text`]). Nothing upstream writes an output file.

pub mod analysis;
pub mod backtest;
pub mod forecast;
pub mod hazard;
pub mod health;
pub mod list;
pub(crate) mod monitor;
pub mod names;
pub mod retention;
pub mod run;
pub(crate) mod stage;
pub mod text;
pub(crate) mod workbook;

use std::path::Path;

pub use stage::{Written, staged};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::input::io;

/// Creates the output folder (and its parents).
pub fn ensure_dir(out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))
}

/// Writes `v` as pretty JSON, atomically.
pub fn write_json<T: Serialize + ?Sized>(path: &Path, v: &T) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(v)
        .map_err(|e| Error::Internal(format!("serialising {}: {e}", path.display())))?;
    io::write_atomic(path, &bytes)
}
