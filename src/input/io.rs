//! Reading and writing table files with polars. Every write goes to a temporary file in
//! the target folder and is renamed into place when complete, so a crash leaves no half
//! file behind.

use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use polars::prelude::*;
use rayon::prelude::*;

use crate::error::{Error, Location, Problem, Problems, Result};
use crate::input::table::{self, Table};
use crate::input::text::{self, BadText, CsvText, LineMap, Recoded};

/// A file format for tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Parquet,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "parquet" => Ok(Format::Parquet),
            other => Err(format!("unknown format '{other}': expected csv or parquet")),
        }
    }
}

/// Reads a CSV or Parquet file with every column as text (nulls for empty cells), so that
/// the loader can parse and report each bad cell with its line and column.
pub fn read_text_frame(path: &Path) -> Result<DataFrame> {
    let mut parts: Vec<DataFrame> = Vec::new();
    for_each_text_chunk(path, &mut |df, _, _| {
        parts.push(df);
        Ok(true)
    })?;
    let mut it = parts.into_iter();
    let Some(mut first) = it.next() else {
        return Err(Error::Read {
            path: path.to_path_buf(),
            message: "no data".into(),
        });
    };
    for df in it {
        first.vstack_mut_owned(df).map_err(|e| Error::Read {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    }
    Ok(first)
}

/// About how many bytes of CSV (or rows of Parquet) one text chunk holds. Large tables are
/// read and parsed chunk by chunk so that only one chunk is ever held as text.
pub(crate) const CSV_CHUNK_BYTES: usize = 64 << 20;
pub(crate) const PARQUET_CHUNK_ROWS: usize = 1 << 20;

/// What reading a file as text learned besides the rows: CSV lines and recoded records.
#[derive(Clone, Debug, Default)]
pub struct TextInfo {
    pub lines: LineMap,
    pub recoded: Recoded,
}

/// A chunk's handler: the chunk, the index of its first data row, and the lines of every
/// CSV record read so far. Returns false to stop early.
pub(crate) type OnChunk<'a> = dyn FnMut(DataFrame, usize, &LineMap) -> Result<bool> + 'a;

/// Reads a CSV or Parquet file in chunks, every column as text (nulls for empty cells),
/// and hands each chunk to `f`. Every chunk has the file's header, and the first call
/// always happens (with an empty frame if the file has a header but no rows). CSV text
/// goes through [`CsvText`] first: blank lines dropped, Windows-1252 recoded, lines kept.
pub(crate) fn for_each_text_chunk(path: &Path, f: &mut OnChunk) -> Result<TextInfo> {
    for_each_text_chunk_sized(path, CSV_CHUNK_BYTES, PARQUET_CHUNK_ROWS, false, f)
}

/// How messages name a table's file: its name (`usage.csv`), else the path as given.
pub(crate) fn file_label(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn bad_text(path: &Path, b: BadText) -> Error {
    let file = file_label(path);
    Error::Invalid(Problems {
        items: vec![Problem {
            at: Location {
                file,
                line: Some(b.line),
                column: b.column,
            },
            message: b.message,
        }],
        suppressed: 0,
    })
}

/// [`for_each_text_chunk`] with explicit chunk sizes (bytes of CSV, rows of Parquet).
/// With `typed`, a Parquet file's columns come as the file types them (the caller reads
/// each column's type); else every column is text.
pub(crate) fn for_each_text_chunk_sized(
    path: &Path,
    csv_chunk_bytes: usize,
    parquet_chunk_rows: usize,
    typed: bool,
    f: &mut OnChunk,
) -> Result<TextInfo> {
    let csv_chunk_bytes = csv_chunk_bytes.max(1);
    let parquet_chunk_rows = parquet_chunk_rows.max(1);
    let read_err = |e: PolarsError| Error::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ext == "parquet" {
        let open = || File::open(path).map_err(|e| Error::io(path, e));
        let rows = ParquetReader::new(open()?).num_rows().map_err(read_err)?;
        let mut offset = 0usize;
        loop {
            let len = parquet_chunk_rows.min(rows - offset);
            let df = ParquetReader::new(open()?)
                .with_slice(Some((offset, len)))
                .finish()
                .map_err(read_err)?;
            let height = df.height();
            let text = if typed {
                df
            } else {
                let cols = df
                    .columns()
                    .iter()
                    .map(text_column)
                    .collect::<PolarsResult<Vec<_>>>()
                    .map_err(read_err)?;
                drop(df);
                DataFrame::new(height, cols).map_err(read_err)?
            };
            if !f(text, offset, &LineMap::default())? {
                return Ok(TextInfo::default());
            }
            offset += height;
            if height == 0 || offset >= rows {
                return Ok(TextInfo::default());
            }
        }
    }
    let parse = |bytes: Vec<u8>| -> Result<DataFrame> {
        CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .into_reader_with_file_handle(std::io::Cursor::new(bytes))
            .finish()
            .map_err(read_err)
    };
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut buf: Vec<u8> = Vec::new();
    let mut header: Option<Vec<u8>> = None;
    let mut csv = CsvText::default();
    let mut offset = 0usize;
    let mut eof = false;
    while !eof {
        // Top the buffer up to one chunk (more if a single row is longer than that).
        let want = buf.len().max(csv_chunk_bytes) + csv_chunk_bytes / 4 + 1;
        while buf.len() < want {
            let before = buf.len();
            let n = std::io::Read::by_ref(&mut file)
                .take((want - before) as u64)
                .read_to_end(&mut buf)
                .map_err(|e| Error::io(path, e))?;
            if n == 0 {
                eof = true;
                break;
            }
        }
        if header.is_none() {
            match text::first_record_end(&buf) {
                Some(end) => {
                    header = Some(csv.start(&buf[..end]).map_err(|b| bad_text(path, b))?);
                    buf.drain(..end);
                }
                None if eof => {
                    // A header without a newline, or an empty file: let polars judge it.
                    let text = csv.start(&buf).map_err(|b| bad_text(path, b))?;
                    let df = parse(text)?;
                    f(df, 0, &csv.lines)?;
                    return Ok(TextInfo::default());
                }
                None => continue,
            }
        }
        let cut = if eof {
            buf.len()
        } else {
            match text::last_record_end(&buf) {
                Some(end) => end,
                None => continue,
            }
        };
        if cut == 0 && offset > 0 {
            break;
        }
        let mut bytes = header.clone().unwrap_or_default();
        let (body, _) = csv.prepare(&buf[..cut]).map_err(|b| bad_text(path, b))?;
        bytes.extend_from_slice(&body);
        drop(body);
        buf.drain(..cut);
        let df = parse(bytes)?;
        let height = df.height();
        if !f(df, offset, &csv.lines)? {
            break;
        }
        offset += height;
    }
    Ok(TextInfo {
        lines: csv.lines,
        recoded: csv.recoded,
    })
}

/// A Parquet column as the text the loader reads.
pub(crate) fn text_column(c: &polars::prelude::Column) -> PolarsResult<polars::prelude::Column> {
    match c.dtype() {
        // A zoned timestamp (Arrow `timestamp[unit, tz=...]`) holds UTC instants: drop
        // the zone, keeping the instants, and write them as UTC text, which the loader
        // reads as it reads any timestamp.
        DataType::Datetime(unit, Some(_)) => c
            .cast(&DataType::Datetime(*unit, None))?
            .cast(&DataType::String),
        // Dates written as `YYYY-MM-DD` directly: polars' cast goes through chrono's
        // format interpreter for every cell.
        DataType::Date => date_text(c),
        _ => c.cast(&DataType::String),
    }
}

/// A Date column as `YYYY-MM-DD` text (years outside 0..=9999 as chrono writes them).
fn date_text(c: &polars::prelude::Column) -> PolarsResult<polars::prelude::Column> {
    let days = c.cast(&DataType::Int32)?;
    let mut buf = String::new();
    let text: StringChunked = days
        .i32()?
        .iter()
        .map(|d| {
            d.map(|d| {
                let date = crate::common::dates::from_days(d);
                buf.clear();
                let (y, m, day) = (
                    chrono::Datelike::year(&date),
                    chrono::Datelike::month(&date),
                    chrono::Datelike::day(&date),
                );
                if (0..=9999).contains(&y) {
                    let _ = std::fmt::Write::write_fmt(
                        &mut buf,
                        format_args!("{y:04}-{m:02}-{day:02}"),
                    );
                } else {
                    buf.push_str(&date.to_string());
                }
                buf.clone()
            })
        })
        .collect();
    Ok(text.with_name(c.name().clone()).into_column())
}

/// Reads a whole CSV or Parquet file as named text columns (None for empty cells), in
/// file order, for callers that work without polars (the flat modelling mode).
/// Column names and their text cells.
pub(crate) type TextColumns = (Vec<String>, Vec<Vec<Option<String>>>);

pub fn read_text_columns(path: &Path) -> Result<TextColumns> {
    let t = TextFrame::read(path)?;
    let names = t.names();
    let cols = names
        .iter()
        .map(|n| {
            let c = t.column(n);
            (0..t.height())
                .map(|i| c.get(i).map(str::to_string))
                .collect()
        })
        .collect();
    Ok((names, cols))
}

/// A text file's cells, read once and borrowed where they lie: a reader takes the
/// columns it needs, a row at a time, without a copy of every cell.
pub struct TextFrame {
    df: DataFrame,
}

/// One column of a [`TextFrame`] (empty when the file has no such column).
pub struct TextColumn<'a>(Option<&'a StringChunked>);

impl TextFrame {
    pub fn read(path: &Path) -> Result<TextFrame> {
        Ok(TextFrame {
            df: read_text_frame(path)?,
        })
    }

    pub fn height(&self) -> usize {
        self.df.height()
    }

    pub fn names(&self) -> Vec<String> {
        self.df
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect()
    }

    pub fn has(&self, name: &str) -> bool {
        self.df.column(name).is_ok()
    }

    pub fn column(&self, name: &str) -> TextColumn<'_> {
        TextColumn(self.df.column(name).ok().and_then(|c| c.str().ok()))
    }
}

impl TextColumn<'_> {
    /// Row `i`, trimmed; None when blank or missing.
    pub fn get(&self, i: usize) -> Option<&str> {
        self.0?.get(i).map(str::trim).filter(|v| !v.is_empty())
    }
}

/// Converts a [`Table`] into a polars frame with matching types.
pub(crate) fn to_frame(t: &Table) -> PolarsResult<DataFrame> {
    let cols = t
        .names
        .iter()
        .zip(&t.columns)
        .map(|(name, c)| to_series(name, c).map(|s| s.into_column()))
        .collect::<PolarsResult<Vec<_>>>()?;
    DataFrame::new(t.height(), cols)
}

fn to_series(name: &str, c: &table::Column) -> PolarsResult<Series> {
    let name = PlSmallStr::from(name);
    Ok(match c {
        table::Column::Str(v) => Series::new(name, v),
        table::Column::Date(v) => Series::new(name, v).cast(&DataType::Date)?,
        table::Column::Timestamp(v) => Series::new(name, v).cast(&DataType::Datetime(
            TimeUnit::Milliseconds,
            Some(TimeZone::UTC),
        ))?,
        table::Column::Int(v) => Series::new(name, v),
        table::Column::Float(v) => Series::new(name, v),
        table::Column::Bool(v) => Series::new(name, v),
    })
}

/// The temporary sibling of `path` a writer fills before renaming it into place.
fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    path.with_file_name(format!(".{name}.tmp{}", std::process::id()))
}

/// Writes `bytes` to `path` atomically (temporary file, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |tmp| {
        fs::write(tmp, bytes).map_err(|e| Error::io(path, e))
    })
}

/// Has `write` fill a temporary file beside `path`, then renames it into place; on an
/// error the temporary file is removed and nothing appears at `path`.
pub fn write_atomic_with(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let tmp = temp_path(path);
    let res = write(&tmp).and_then(|_| fs::rename(&tmp, path).map_err(|e| Error::io(path, e)));
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res
}

/// Writes a whole table as CSV or Parquet, atomically.
pub fn write_table(path: &Path, t: &Table, format: Format) -> Result<()> {
    let mut w = TableWriter::create(path, format)?;
    w.write(t)?;
    w.finish()
}

/// Rows per part of [`write_by_parts`] (one Parquet row group each).
pub const WRITE_PART_ROWS: usize = 1 << 17;

/// Writes a table of `rows` rows as `<stem>.<extension>` in each of `formats`, part by
/// part: `part(range)` builds the rows of `range`, and only one part is held as a
/// [`Table`] (and as a polars frame) at a time. Each part is written to every file side
/// by side. Returns the paths; each file appears only when it is complete.
pub fn write_by_parts(
    stem: &Path,
    rows: usize,
    formats: &[Format],
    part: impl Fn(std::ops::Range<usize>) -> Table + Sync,
) -> Result<Vec<PathBuf>> {
    let paths: Vec<PathBuf> = formats
        .iter()
        .map(|f| stem.with_extension(f.extension()))
        .collect();
    let mut writers = paths
        .iter()
        .zip(formats)
        .map(|(p, &f)| TableWriter::create(p, f))
        .collect::<Result<Vec<_>>>()?;
    // Each part is built while the one before it is written (a pipeline of two).
    let range = |start: usize| start..(start + WRITE_PART_ROWS).min(rows);
    let write = |writers: &mut Vec<TableWriter>, t: &Table| {
        writers
            .par_iter_mut()
            .map(|w| w.write(t))
            .collect::<Result<Vec<()>>>()
    };
    let mut t = part(range(0));
    let mut end = range(0).end;
    while end < rows {
        let (written, next) = rayon::join(|| write(&mut writers, &t), || part(range(end)));
        written?;
        t = next;
        end = range(end).end;
    }
    write(&mut writers, &t)?;
    for w in writers {
        w.finish()?;
    }
    Ok(paths)
}

/// Writes a table as `<stem>.parquet` and `<stem>.csv` (any extension of `stem` is
/// replaced); returns the two paths.
pub fn write_parquet_and_csv(stem: &Path, t: &Table) -> Result<[PathBuf; 2]> {
    let paths = [Format::Parquet, Format::Csv].map(|f| stem.with_extension(f.extension()));
    // Side by side: each is a pass over the whole table.
    let timed = |path: &Path, format| {
        let start = std::time::Instant::now();
        let r = write_table(path, t, format);
        log::debug!(
            "{} written in {:.1}s",
            path.display(),
            start.elapsed().as_secs_f64()
        );
        r
    };
    let (parquet, csv) = rayon::join(
        || timed(&paths[0], Format::Parquet),
        || timed(&paths[1], Format::Csv),
    );
    parquet?;
    csv?;
    Ok(paths)
}

fn write_err(path: &Path, e: impl ToString) -> Error {
    Error::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

enum Sink {
    Csv(BufWriter<File>),
    Parquet(
        Option<Box<polars_io::parquet::write::BatchedWriter<File>>>,
        Option<File>,
    ),
}

/// A table written in chunks, so that a large table never has to be held in memory.
/// Nothing appears at `path` until [`TableWriter::finish`] succeeds.
pub struct TableWriter {
    path: PathBuf,
    tmp: PathBuf,
    sink: Option<Sink>,
    header_written: bool,
    rows: usize,
}

impl TableWriter {
    pub fn create(path: &Path, format: Format) -> Result<Self> {
        let tmp = temp_path(path);
        let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let sink = match format {
            Format::Csv => Sink::Csv(BufWriter::with_capacity(1 << 20, file)),
            Format::Parquet => Sink::Parquet(None, Some(file)),
        };
        Ok(TableWriter {
            path: path.to_path_buf(),
            tmp,
            sink: Some(sink),
            header_written: false,
            rows: 0,
        })
    }

    /// Appends the rows of `t` (the first call also fixes the header / schema).
    pub fn write(&mut self, t: &Table) -> Result<()> {
        self.rows += t.height();
        let first = !self.header_written;
        self.header_written = true;
        match &mut self.sink {
            None => Ok(()),
            Some(Sink::Csv(w)) => {
                let res = if first { t.write_csv_header(w) } else { Ok(()) }
                    .and_then(|_| t.write_csv_rows(w));
                res.map_err(|e| Error::io(&self.tmp, e))
            }
            Some(Sink::Parquet(writer, file)) => {
                let df = to_frame(t).map_err(|e| write_err(&self.path, e))?;
                if writer.is_none()
                    && let Some(f) = file.take()
                {
                    let bw = ParquetWriter::new(f)
                        .with_compression(ParquetCompression::Zstd(None))
                        .batched(df.schema())
                        .map_err(|e| write_err(&self.path, e))?;
                    *writer = Some(Box::new(bw));
                }
                match writer {
                    Some(bw) if df.height() > 0 => {
                        bw.write_batch(&df).map_err(|e| write_err(&self.path, e))
                    }
                    _ => Ok(()),
                }
            }
        }
    }

    /// Number of data rows written so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Completes the file and renames it into place.
    pub fn finish(mut self) -> Result<()> {
        let res = match self.sink.take() {
            None => Ok(()),
            Some(Sink::Csv(mut w)) => w.flush().map_err(|e| Error::io(&self.tmp, e)),
            Some(Sink::Parquet(Some(bw), _)) => bw
                .finish()
                .map(|_| ())
                .map_err(|e| write_err(&self.path, e)),
            Some(Sink::Parquet(None, _)) => Err(Error::Write {
                path: self.path.clone(),
                message: "no schema: nothing was written".into(),
            }),
        };
        let res = res
            .and_then(|_| fs::rename(&self.tmp, &self.path).map_err(|e| Error::io(&self.path, e)));
        if res.is_err() {
            let _ = fs::remove_file(&self.tmp);
        }
        res
    }
}

impl Drop for TableWriter {
    fn drop(&mut self) {
        // After a successful finish the temporary file is gone; otherwise clean it up.
        let _ = fs::remove_file(&self.tmp);
    }
}
