//! What loading a table yields, and the limits it works within: shared by the loader
//! and the checks that run on its frames (`span`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use polars::prelude::DataFrame;

use crate::input::io;
use crate::input::text::LineMap;

/// How many problems are listed per file and per column before the rest are only counted.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub per_file: usize,
    pub per_column: usize,
    /// Bytes of CSV (rows of Parquet / 64) read and parsed at a time: bounds the memory
    /// that text takes while a large table loads.
    pub chunk_bytes: usize,
    /// Drop rows dated outside the book's span (with a warning) instead of refusing them
    /// ([`crate::input::span`]).
    pub skip_out_of_span_dates: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_file: 25,
            per_column: 5,
            chunk_bytes: io::CSV_CHUNK_BYTES,
            skip_out_of_span_dates: false,
        }
    }
}

/// One loaded table: where it came from and its validated frame. Every frame other than
/// `accounts` has an `account_idx` column (UInt32) indexing the accounts table.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub path: PathBuf,
    pub frame: DataFrame,
    /// CSV: the line of each row (empty for Parquet, whose rows are their own lines).
    pub lines: LineMap,
    /// For each coded column ([`crate::input::schema::ColumnSpec::coded`]), its names by code.
    pub codes: BTreeMap<&'static str, Vec<String>>,
}

impl Loaded {
    /// The names of a coded column's codes (code `k` is `names[k]`); None for a column
    /// that is not coded or absent.
    pub fn names(&self, column: &str) -> Option<&[String]> {
        self.codes.get(column).map(Vec::as_slice)
    }

    /// The 1-based line (CSV) or row (Parquet) of frame row `i`.
    pub fn line(&self, i: usize) -> usize {
        if is_parquet(&self.path.to_string_lossy()) {
            i + 1
        } else {
            self.lines.line(i)
        }
    }
}

pub(crate) fn is_parquet(file: &str) -> bool {
    file.to_ascii_lowercase().ends_with(".parquet")
}
