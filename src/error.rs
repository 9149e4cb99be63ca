//! Library errors. Every error a user can cause names the file and, where there is one,
//! the line and the column.

use std::fmt;
use std::path::PathBuf;

pub type Result<T> = std::result::Result<T, Error>;

#[derive(thiserror::Error, Debug)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: could not read the file: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{path}: could not write the file: {message}")]
    Write { path: PathBuf, message: String },
    /// Transparent: the problems are the message, printed once (not again as a cause).
    #[error(transparent)]
    Invalid(#[from] Problems),
    #[error("config {path}: {message}")]
    Config { path: String, message: String },
    /// Input that is well formed but cannot serve the job (a single-class label, a
    /// model whose schema the data lacks, too few rows to cluster).
    #[error("{0}")]
    Input(String),
    /// A failure inside churnlab or a library it uses (polars, serialisation), not
    /// caused by the input: a bug to report.
    #[error("internal error (please report it): {0}")]
    Internal(String),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Where a problem is: a file, and when known a line (1-based, the header is line 1 of a
/// CSV; for Parquet the data row) and a column.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<String>,
}

/// One problem found in the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub at: Location,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.at.file)?;
        if let Some(line) = self.at.line {
            let what = if self.at.file.ends_with(".parquet") {
                "row"
            } else {
                "line"
            };
            write!(f, ", {what} {line}")?;
        }
        if let Some(col) = &self.at.column {
            write!(f, ", column '{col}'")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in one pass over the input, up to a limit per file, with the total.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Problems {
    pub items: Vec<Problem>,
    /// Problems found but not kept because a file reached the limit.
    pub suppressed: usize,
}

impl Problems {
    pub fn is_empty(&self) -> bool {
        self.items.is_empty() && self.suppressed == 0
    }

    pub fn total(&self) -> usize {
        self.items.len() + self.suppressed
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.total();
        writeln!(
            f,
            "the input has {n} problem{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.items {
            writeln!(f, "  - {p}")?;
        }
        if self.suppressed > 0 {
            writeln!(
                f,
                "  ... and {} more of the same kinds (not listed)",
                self.suppressed
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}
