//! Loading and validating an input folder: tables -> validated, typed polars frames.
//!
//! Every table is read as text first so each bad cell can be reported with its file,
//! line and column; all problems of one pass are reported together (up to a limit per
//! file and per column), never one per run.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use polars::prelude::*;
use rayon::prelude::*;

use crate::common::{dates, memory};
use crate::error::{Error, Location, Problem, Problems, Result};
use crate::input::io;
use crate::input::loaded::is_parquet;
pub use crate::input::loaded::{Limits, Loaded};
use crate::input::schema::{self, Kind, TableSpec};
use crate::input::text::LineMap;

/// A validated input folder.
#[derive(Clone, Debug)]
pub struct Book {
    pub dir: PathBuf,
    pub tables: BTreeMap<&'static str, Loaded>,
    /// Things worth telling the user that are not errors.
    pub warnings: Vec<String>,
}

/// Collects problems with per-file and per-column limits.
struct Sink<'a> {
    file: String,
    parquet: bool,
    limits: Limits,
    out: &'a mut Problems,
    kept: usize,
    per_column: HashMap<String, usize>,
    /// Index of the first data row of the chunk being parsed.
    offset: usize,
    /// CSV: the lines of the records read so far.
    lines: LineMap,
}

impl<'a> Sink<'a> {
    fn new(file: String, limits: Limits, out: &'a mut Problems) -> Self {
        let parquet = is_parquet(&file);
        Sink {
            file,
            parquet,
            limits,
            out,
            kept: 0,
            per_column: HashMap::new(),
            offset: 0,
            lines: LineMap::default(),
        }
    }

    /// The line (CSV, header is line 1) or row (Parquet, 1-based) of data row `i` of the
    /// whole file.
    fn line(&self, i: usize) -> usize {
        if self.parquet {
            i + 1
        } else {
            self.lines.line(i)
        }
    }

    fn push(&mut self, row: Option<usize>, column: Option<&str>, message: String) {
        let col_count = self
            .per_column
            .entry(column.unwrap_or("").to_string())
            .or_insert(0);
        *col_count += 1;
        if self.kept >= self.limits.per_file
            || (column.is_some() && *col_count > self.limits.per_column)
        {
            self.out.suppressed += 1;
            return;
        }
        self.kept += 1;
        let line = row.map(|i| self.line(self.offset + i));
        self.out.items.push(Problem {
            at: Location {
                file: self.file.clone(),
                line,
                column: column.map(str::to_string),
            },
            message,
        });
    }

    /// Counts `n` more problems of `column` without listing them.
    fn suppress(&mut self, column: &str, n: usize) {
        if n == 0 {
            return;
        }
        *self.per_column.entry(column.to_string()).or_insert(0) += n;
        self.out.suppressed += n;
    }

    fn file_level(&mut self, message: String) {
        self.kept += 1;
        self.out.items.push(Problem {
            at: Location {
                file: self.file.clone(),
                line: None,
                column: None,
            },
            message,
        });
    }
}

fn shown(s: &str) -> String {
    let mut t: String = s.chars().take(40).collect();
    if t.len() < s.len() {
        t.push('…');
    }
    format!("\"{t}\"")
}

/// Finds `<name>.csv` or `<name>.parquet` in `dir`.
fn locate(dir: &Path, spec: &TableSpec, problems: &mut Problems) -> Option<PathBuf> {
    let found: Vec<PathBuf> = ["csv", "parquet"]
        .iter()
        .map(|ext| dir.join(format!("{}.{ext}", spec.name)))
        .filter(|p| p.is_file())
        .collect();
    match found.len() {
        0 => {
            if spec.required {
                problems.items.push(Problem {
                    at: Location {
                        file: format!("{}.csv", spec.name),
                        line: None,
                        column: None,
                    },
                    message: format!(
                        "required table '{}' is missing from {} (expected {}.csv or {}.parquet)",
                        spec.name,
                        dir.display(),
                        spec.name,
                        spec.name
                    ),
                });
            }
            None
        }
        1 => found.into_iter().next(),
        _ => {
            problems.items.push(Problem {
                at: Location { file: format!("{}.csv", spec.name), line: None, column: None },
                message: format!(
                    "both {0}.csv and {0}.parquet are in {1}; keep one so it is clear which to read",
                    spec.name,
                    dir.display()
                ),
            });
            None
        }
    }
}

/// Loads and validates every table of the contract found in `dir`.
pub fn load_book(dir: &Path) -> Result<Book> {
    load_book_with(dir, Limits::default())
}

pub fn load_book_with(dir: &Path, limits: Limits) -> Result<Book> {
    if !dir.is_dir() {
        return Err(Error::Input(format!(
            "{}: no such folder (expected a folder of tables)",
            dir.display()
        )));
    }
    let mut problems = Problems::default();
    let mut warnings = Vec::new();
    let paths: Vec<(TableSpec, Option<PathBuf>)> = schema::TABLES
        .iter()
        .map(|s| (*s, locate(dir, s, &mut problems)))
        .collect();

    let mut tables = BTreeMap::new();
    // Accounts come first: every other table's account_id is checked against them.
    let mut ids: Option<PlHashMap<String, u32>> = None;
    for (spec, path) in &paths {
        let Some(path) = path else { continue };
        let file = io::file_label(path);
        let mut sink = Sink::new(file, limits, &mut problems);
        let mut parser: Option<TableParser> = None;
        let chunk_rows = (limits.chunk_bytes / 64).max(1);
        let read = io::for_each_text_chunk_sized(
            path,
            limits.chunk_bytes,
            chunk_rows,
            true,
            &mut |chunk, offset, lines| {
                let p = match &mut parser {
                    Some(p) => p,
                    None => parser.insert(TableParser::new(spec, &chunk, &mut sink)),
                };
                if !p.header_ok {
                    return Ok(false);
                }
                sink.offset = offset;
                sink.lines.clone_from(lines);
                p.push(&chunk, ids.as_ref(), &mut sink);
                Ok(true)
            },
        );
        let info = match read {
            Ok(info) => info,
            Err(Error::Invalid(p)) => {
                sink.out.items.extend(p.items);
                continue;
            }
            Err(e) => {
                sink.file_level(format!("could not be read: {e}"));
                continue;
            }
        };
        if let Some((line, column)) = &info.recoded.first {
            warnings.push(format!(
                "{}: {} line(s) are not UTF-8 (the first on line {line}, column '{column}'); \
                 read them as Windows-1252, the encoding of Excel's \"CSV (Comma delimited)\". \
                 Save as \"CSV UTF-8\" to be sure of accented names",
                sink.file, info.recoded.records
            ));
        }
        let table = parser.and_then(|p| p.finish(&mut sink, &mut warnings));
        if let Some(Table { frame, codes }) = table {
            if spec.name == "accounts" {
                ids = Some(account_index(&frame));
            }
            tables.insert(
                spec.name,
                Loaded {
                    path: path.clone(),
                    frame,
                    lines: info.lines,
                    codes,
                },
            );
        }
    }
    if problems.is_empty() {
        crate::input::span::check(&mut tables, &limits, &mut problems, &mut warnings);
    }
    if !problems.is_empty() {
        return Err(Error::Invalid(problems));
    }
    if let (Some(a), Some(c)) = (tables.get("accounts"), tables.get("contracts")) {
        let file = io::file_label(&a.path);
        warnings.extend(accounts_without_contracts(&file, &a.frame, &c.frame));
    }
    Ok(Book {
        dir: dir.to_path_buf(),
        tables,
        warnings,
    })
}

/// A warning when some accounts have no contract at all: they are never active, so they
/// are neither scored nor counted in retention (an export cut short, or a prospect).
fn accounts_without_contracts(
    file: &str,
    accounts: &DataFrame,
    contracts: &DataFrame,
) -> Option<String> {
    let mut has = vec![false; accounts.height()];
    for i in idx_col(contracts).into_iter().flatten() {
        if let Some(h) = has.get_mut(i as usize) {
            *h = true;
        }
    }
    let ids = accounts.column("account_id").ok()?.str().ok()?;
    let without: Vec<&str> = ids
        .iter()
        .zip(&has)
        .filter(|(_, h)| !**h)
        .filter_map(|(id, _)| id)
        .collect();
    let first = without.first()?;
    Some(format!(
        "{file}: {} account{} no contract in the contracts table (for example {first}); {} never active, so neither scored nor counted in retention",
        without.len(),
        if without.len() == 1 { " has" } else { "s have" },
        if without.len() == 1 {
            "it is"
        } else {
            "they are"
        }
    ))
}

fn account_index(accounts: &DataFrame) -> PlHashMap<String, u32> {
    let mut map = PlHashMap::new();
    if let Ok(c) = accounts.column("account_id").and_then(|c| c.str().cloned()) {
        for (i, v) in c.iter().enumerate() {
            if let Some(v) = v {
                map.entry(v.to_string()).or_insert(i as u32);
            }
        }
    }
    map
}

/// Parsed values of one column, in the representation the frame will hold.
enum Parsed {
    Text(StringChunked),
    Days(Vec<Option<i32>>),
    Millis(Vec<Option<i64>>),
    Num(Vec<Option<f64>>),
    Flag(Vec<Option<bool>>),
    /// A coded column's codes ([`schema::ColumnSpec::coded`]).
    Codes(UInt32Chunked),
}

impl Parsed {
    /// Comparable value of row i for ordering checks (dates as ms).
    fn instant(&self, i: usize) -> Option<i64> {
        match self {
            Parsed::Days(v) => v[i].map(|d| d as i64 * dates::MS_PER_DAY),
            Parsed::Millis(v) => v[i],
            _ => None,
        }
    }

    fn into_series(self, name: &str) -> PolarsResult<Series> {
        let name = PlSmallStr::from(name);
        Ok(match self {
            Parsed::Text(v) => v.with_name(name).into_series(),
            Parsed::Days(v) => Series::new(name, v).cast(&DataType::Date)?,
            Parsed::Millis(v) => Series::new(name, v).cast(&DataType::Datetime(
                TimeUnit::Milliseconds,
                Some(TimeZone::UTC),
            ))?,
            Parsed::Num(v) => Series::new(name, v),
            Parsed::Flag(v) => Series::new(name, v),
            Parsed::Codes(v) => v.with_name(name).into_series(),
        })
    }
}

/// The problems of one column of one chunk, kept apart so that columns can be parsed in
/// parallel, then handed to the [`Sink`] in column order (the order a sequential parse
/// reports them in). Only the first `keep` are kept; the rest are counted.
struct ColumnProblems {
    keep: usize,
    items: Vec<(usize, String)>,
    more: usize,
}

impl ColumnProblems {
    fn new(keep: usize) -> Self {
        ColumnProblems {
            keep,
            items: Vec::new(),
            more: 0,
        }
    }

    fn push(&mut self, row: usize, message: String) {
        if self.items.len() < self.keep {
            self.items.push((row, message));
        } else {
            self.more += 1;
        }
    }

    fn report(self, column: &str, sink: &mut Sink) {
        for (i, m) in self.items {
            sink.push(Some(i), Some(column), m);
        }
        sink.suppress(column, self.more);
    }
}

/// The names behind a coded column's codes, growing chunk by chunk (new names get the
/// next code). `raw` remembers the code of each cell as written (before a category is
/// normalised), so that a repeated value costs one lookup.
#[derive(Default)]
struct Dictionary {
    ids: PlHashMap<String, u32>,
    names: Vec<String>,
    raw: PlHashMap<String, u32>,
}

impl Dictionary {
    fn code(&mut self, name: &str) -> u32 {
        if let Some(&k) = self.ids.get(name) {
            return k;
        }
        let k = self.names.len() as u32;
        self.ids.insert(name.to_string(), k);
        self.names.push(name.to_string());
        k
    }

    /// The code of a category cell as written: normalised once per distinct spelling.
    fn category_code(&mut self, cell: &str) -> u32 {
        if let Some(&k) = self.raw.get(cell) {
            return k;
        }
        let k = self.code(&schema::normalize_category(cell));
        self.raw.insert(cell.to_string(), k);
        k
    }
}

/// A chunk's column as text, unless the file typed it as the contract does (Parquet
/// dates and numbers): those are read as they are, without a round trip through text.
enum Cells<'a> {
    Text(std::borrow::Cow<'a, StringChunked>),
    Days(Int32Chunked),
    Numbers(Float64Chunked),
}

fn cells<'a>(spec: &schema::ColumnSpec, c: &'a polars::prelude::Column) -> PolarsResult<Cells<'a>> {
    let dtype = c.dtype();
    Ok(match (spec.kind, dtype) {
        (_, DataType::String) => Cells::Text(std::borrow::Cow::Borrowed(c.str()?)),
        (Kind::Date, DataType::Date) => Cells::Days(c.cast(&DataType::Int32)?.i32()?.clone()),
        (Kind::Number { .. }, d) if d.is_primitive_numeric() => {
            Cells::Numbers(c.cast(&DataType::Float64)?.f64()?.clone())
        }
        _ => Cells::Text(std::borrow::Cow::Owned(io::text_column(c)?.str()?.clone())),
    })
}

/// A number checked against its column's range: the value, or the problem.
fn check_number(
    spec: &schema::ColumnSpec,
    x: f64,
    shown_as: &dyn Fn() -> String,
) -> std::result::Result<f64, String> {
    let Kind::Number { min, max } = spec.kind else {
        return Err(format!("expected {}", spec.kind.expected()));
    };
    if !x.is_finite() {
        return Err(format!(
            "expected {}, found {}",
            spec.kind.expected(),
            shown(&shown_as())
        ));
    }
    if x >= min && x <= max {
        return Ok(x);
    }
    let what = if x < min { "below" } else { "above" };
    let limit = if x < min { min } else { max };
    Err(format!(
        "{} is {what} the allowed {}; expected {}",
        shown_as(),
        schema::show(limit),
        spec.kind.expected()
    ))
}

/// Each text cell parsed by `parse`. An empty cell is missing (a problem when the column
/// is not nullable); a cell that `parse` refuses is a problem, with `parse`'s message or
/// else "expected ..., found ...".
fn each_cell<'a, T>(
    spec: &schema::ColumnSpec,
    cells: impl Iterator<Item = Option<&'a str>>,
    problems: &mut ColumnProblems,
    parse: impl Fn(&str) -> std::result::Result<T, Option<String>>,
) -> Vec<Option<T>> {
    cells
        .enumerate()
        .map(|(i, cell)| {
            let Some(s) = cell else {
                if !spec.nullable {
                    problems.push(i, format!("is empty; expected {}", spec.kind.expected()));
                }
                return None;
            };
            match parse(s) {
                Ok(v) => Some(v),
                Err(m) => {
                    let m = m.unwrap_or_else(|| {
                        format!("expected {}, found {}", spec.kind.expected(), shown(s))
                    });
                    problems.push(i, m);
                    None
                }
            }
        })
        .collect()
}

fn parse_column(
    spec: &schema::ColumnSpec,
    column: &polars::prelude::Column,
    dictionary: Option<&mut Dictionary>,
    problems: &mut ColumnProblems,
    unknown_roles: &mut usize,
) -> PolarsResult<Parsed> {
    let bad = |i: usize, raw: &str, problems: &mut ColumnProblems| {
        problems.push(
            i,
            format!("expected {}, found {}", spec.kind.expected(), shown(raw)),
        );
    };
    let missing = |i: usize, problems: &mut ColumnProblems| {
        if !spec.nullable {
            problems.push(i, format!("is empty; expected {}", spec.kind.expected()));
        }
    };
    let values = match cells(spec, column)? {
        Cells::Days(v) => {
            return Ok(Parsed::Days(
                v.iter()
                    .enumerate()
                    .map(|(i, d)| {
                        if d.is_none() {
                            missing(i, problems);
                        }
                        d
                    })
                    .collect(),
            ));
        }
        Cells::Numbers(v) => {
            return Ok(Parsed::Num(
                v.iter()
                    .enumerate()
                    .map(|(i, x)| {
                        let Some(x) = x else {
                            missing(i, problems);
                            return None;
                        };
                        check_number(spec, x, &|| x.to_string())
                            .map_err(|m| problems.push(i, m))
                            .ok()
                    })
                    .collect(),
            ));
        }
        Cells::Text(v) => v,
    };
    let cells = values
        .iter()
        .map(|v| v.map(str::trim).filter(|s| !s.is_empty()));
    if let Some(dict) = dictionary {
        let category = matches!(spec.kind, Kind::Category);
        let codes: UInt32Chunked = cells
            .enumerate()
            .map(|(i, cell)| {
                let Some(s) = cell else {
                    missing(i, problems);
                    return None;
                };
                Some(if category {
                    dict.category_code(s)
                } else {
                    dict.code(s)
                })
            })
            .collect();
        return Ok(Parsed::Codes(codes));
    }
    Ok(match spec.kind {
        Kind::Id | Kind::Text | Kind::Category | Kind::Priority | Kind::Role => {
            let out: StringChunked = cells
                .enumerate()
                .map(|(i, cell)| -> Option<std::borrow::Cow<'_, str>> {
                    let Some(s) = cell else {
                        missing(i, problems);
                        return None;
                    };
                    match spec.kind {
                        Kind::Category => Some(schema::normalize_category(s).into()),
                        Kind::Priority => match schema::parse_priority(s) {
                            Some(p) => Some(p.into()),
                            None => {
                                bad(i, s, problems);
                                None
                            }
                        },
                        Kind::Role => Some(
                            schema::parse_role(s)
                                .unwrap_or_else(|| {
                                    *unknown_roles += 1;
                                    "other"
                                })
                                .into(),
                        ),
                        _ => Some(s.into()),
                    }
                })
                .collect();
            Parsed::Text(out)
        }
        Kind::Date => Parsed::Days(each_cell(spec, cells, problems, |s| {
            dates::parse_date(s).map(dates::to_days).ok_or(None)
        })),
        Kind::Timestamp => Parsed::Millis(each_cell(spec, cells, problems, |s| {
            dates::parse_timestamp_ms(s).ok_or(None)
        })),
        Kind::Number { .. } => Parsed::Num(each_cell(spec, cells, problems, |s| {
            match s.parse::<f64>() {
                Ok(x) => check_number(spec, x, &|| s.to_string()).map_err(Some),
                Err(_) => Err(None),
            }
        })),
        Kind::Bool => Parsed::Flag(each_cell(spec, cells, problems, |s| {
            schema::parse_bool(s).ok_or(None)
        })),
    })
}

/// Parses one table chunk by chunk into a typed frame. Chunks are parsed as they arrive
/// and only their typed columns are kept, so a large table is never held whole as text.
struct TableParser {
    spec: TableSpec,
    /// The contract columns the header has, with their names as written in the file.
    present: Vec<(&'static schema::ColumnSpec, String)>,
    /// False when the header lacks a required column (no row is parsed then).
    header_ok: bool,
    /// Typed chunks per present column, kept while the table has no problem.
    parts: Vec<Vec<Series>>,
    idx_parts: Vec<Series>,
    /// Per present column, its dictionary when it is coded.
    dictionaries: Vec<Option<Dictionary>>,
    /// First row of each key value, for the uniqueness check across chunks.
    keys: HashMap<String, usize>,
    rows: usize,
    clean: bool,
    unknown_roles: usize,
}

impl TableParser {
    fn new(spec: &TableSpec, first: &DataFrame, sink: &mut Sink) -> Self {
        // Column names: lower snake case by contract; accept any case and surrounding spaces.
        let mut by_name: HashMap<String, String> = HashMap::new();
        for c in first.columns() {
            let key = schema::normalize_category(c.name());
            // polars' CSV reader renames a repeated header name to NAME_duplicated_N.
            let repeated = key
                .rsplit_once("_duplicated_")
                .filter(|(_, n)| n.parse::<u32>().is_ok())
                .map(|(base, _)| base.to_string());
            if let Some(base) = repeated.filter(|b| by_name.contains_key(b)) {
                sink.file_level(format!(
                    "column '{base}' appears more than once in the header (line 1); keep one"
                ));
            } else if by_name.insert(key.clone(), c.name().to_string()).is_some() {
                sink.file_level(format!("column '{key}' appears twice in the header"));
            }
        }
        let mut header_ok = true;
        for c in spec.columns.iter().filter(|c| c.required) {
            if !by_name.contains_key(c.name) {
                let mut found: Vec<&str> =
                    first.columns().iter().map(|c| c.name().as_str()).collect();
                found.truncate(20);
                sink.file_level(format!(
                    "missing required column '{}' ({}); the header has: {}",
                    c.name,
                    c.kind.expected(),
                    found.join(", ")
                ));
                header_ok = false;
            }
        }
        let present: Vec<_> = spec
            .columns
            .iter()
            .filter_map(|cs| by_name.get(cs.name).map(|raw| (cs, raw.clone())))
            .collect();
        let dictionaries = present
            .iter()
            .map(|(cs, _)| cs.coded.then(Dictionary::default))
            .collect();
        TableParser {
            spec: *spec,
            parts: vec![Vec::new(); present.len()],
            present,
            header_ok,
            idx_parts: Vec::new(),
            dictionaries,
            keys: HashMap::new(),
            rows: 0,
            clean: header_ok,
            unknown_roles: 0,
        }
    }

    /// Parses and checks one chunk; `sink.offset` is the index of its first row.
    fn push(&mut self, raw: &DataFrame, ids: Option<&PlHashMap<String, u32>>, sink: &mut Sink) {
        let spec = self.spec;
        let offset = sink.offset;
        self.rows += raw.height();
        let before = sink.out.total();
        // Columns are parsed side by side; their problems reach the sink in column order.
        let keep = sink.limits.per_column.min(sink.limits.per_file);
        let results: Vec<_> = self
            .present
            .par_iter()
            .zip(self.dictionaries.par_iter_mut())
            .map(|((cs, raw_name), dict)| {
                let mut problems = ColumnProblems::new(keep);
                let mut roles = 0usize;
                let parsed = raw
                    .column(raw_name)
                    .and_then(|c| parse_column(cs, c, dict.as_mut(), &mut problems, &mut roles));
                (cs.name, parsed, problems, roles)
            })
            .collect();
        let mut parsed: Vec<(&'static str, Parsed)> = Vec::new();
        for (name, p, problems, roles) in results {
            self.unknown_roles += roles;
            problems.report(name, sink);
            match p {
                Ok(p) => parsed.push((name, p)),
                Err(e) => {
                    sink.file_level(format!("column '{name}' could not be read: {e}"));
                    self.clean = false;
                }
            }
        }
        let get = |name: &str| parsed.iter().find(|(n, _)| *n == name).map(|(_, p)| p);

        // Unique key, across chunks.
        if let Some(key) = spec.key
            && let Some(Parsed::Text(v)) = get(key)
        {
            for (i, id) in v.iter().enumerate() {
                let Some(id) = id else { continue };
                if let Some(&j) = self.keys.get(id) {
                    let msg = format!(
                        "duplicate {key} '{id}' (first seen on line {})",
                        sink.line(j)
                    );
                    sink.push(Some(i), Some(key), msg);
                } else {
                    self.keys.insert(id.to_string(), offset + i);
                }
            }
        }
        // Order of two dates.
        if let Some(o) = spec.ordered
            && let (Some(a), Some(b)) = (get(o.first), get(o.then))
        {
            for i in 0..raw.height() {
                if let (Some(x), Some(y)) = (a.instant(i), b.instant(i))
                    && y < x
                {
                    let msg = format!(
                        "{} is before {} (the {} must not come first)",
                        o.then, o.first, o.then
                    );
                    sink.push(Some(i), Some(o.then), msg);
                }
            }
        }
        // Referential integrity: every other table points into accounts by position.
        if spec.name != "accounts" {
            if let (Some(ids), Some(Parsed::Text(v))) = (ids, get("account_id")) {
                // Event tables usually list an account's rows together: the last id
                // looked up is tried first.
                let mut last: Option<(&str, Option<u32>)> = None;
                let idx: UInt32Chunked = v
                    .iter()
                    .enumerate()
                    .map(|(i, id)| {
                        let idx = id.and_then(|id| match last {
                            Some((prev, idx)) if prev == id => idx,
                            _ => {
                                let idx = ids.get(id).copied();
                                last = Some((id, idx));
                                idx
                            }
                        });
                        if let (Some(id), None) = (id, idx) {
                            sink.push(
                                Some(i),
                                Some("account_id"),
                                format!("account '{id}' is not in the accounts table"),
                            );
                        }
                        idx
                    })
                    .collect();
                self.idx_parts
                    .push(idx.with_name("account_idx".into()).into_series());
            } else {
                self.clean = false;
            }
        }
        if sink.out.total() > before {
            self.clean = false;
        }
        if !self.clean {
            // Nothing will be built: free what was kept and only go on reporting.
            self.parts.iter_mut().for_each(Vec::clear);
            self.idx_parts.clear();
            return;
        }
        for (slot, (name, p)) in self.parts.iter_mut().zip(parsed) {
            // Other tables are joined to accounts by position; their ids are not kept.
            if name == "account_id" && spec.name != "accounts" {
                continue;
            }
            let built = p.into_series(name);
            match built {
                Ok(s) => slot.push(s),
                Err(e) => {
                    sink.file_level(format!("internal error building column '{name}': {e}"));
                    self.clean = false;
                }
            }
        }
    }

    fn finish(self, sink: &mut Sink, warnings: &mut Vec<String>) -> Option<Table> {
        if self.unknown_roles > 0 {
            warnings.push(format!(
                "{}: {} contact role(s) are not one of executive_sponsor, champion, admin, user; counted as 'other'",
                sink.file, self.unknown_roles
            ));
        }
        if self.header_ok && self.rows == 0 {
            sink.file_level(format!(
                "the table is empty (a header but no rows); remove the file if you have no {} data",
                self.spec.name
            ));
            return None;
        }
        if !self.clean {
            return None;
        }
        let concat = |parts: Vec<Series>| -> PolarsResult<Option<Series>> {
            let mut it = parts.into_iter();
            let Some(mut first) = it.next() else {
                return Ok(None);
            };
            for s in it {
                first.append_owned(s)?;
            }
            Ok(Some(first.rechunk()))
        };
        let mut columns: Vec<polars::prelude::Column> = Vec::new();
        let all = std::iter::once(self.idx_parts).chain(self.parts);
        for parts in all {
            match concat(parts) {
                Ok(Some(s)) => {
                    columns.push(s.into_column());
                    // The column's chunks are freed: give their pages back before the
                    // next column is joined (see common::memory).
                    memory::release_freed();
                }
                Ok(None) => {}
                Err(e) => {
                    sink.file_level(format!("internal error building the table: {e}"));
                    return None;
                }
            }
        }
        let codes = self
            .present
            .iter()
            .zip(self.dictionaries)
            .filter_map(|((cs, _), d)| d.map(|d| (cs.name, d.names)))
            .collect();
        match DataFrame::new(self.rows, columns) {
            Ok(frame) => Some(Table { frame, codes }),
            Err(e) => {
                sink.file_level(format!("internal error building the table: {e}"));
                None
            }
        }
    }
}

/// A parsed table: its frame and the names behind its coded columns.
struct Table {
    frame: DataFrame,
    codes: BTreeMap<&'static str, Vec<String>>,
}

/// One contract term, as retention and label logic use it.
#[derive(Clone, Debug, PartialEq)]
pub struct Term {
    pub account: u32,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub arr: f64,
    pub seats: f64,
}

/// The account attributes the reports need.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountInfo {
    pub id: String,
    pub name: String,
    pub segment: String,
    pub created: NaiveDate,
    pub csm: Option<String>,
}

fn str_col(df: &DataFrame, name: &str) -> Vec<Option<String>> {
    df.column(name)
        .ok()
        .and_then(|c| {
            c.str()
                .ok()
                .map(|s| s.iter().map(|v| v.map(str::to_string)).collect())
        })
        .unwrap_or_else(|| vec![None; df.height()])
}

fn day_col(df: &DataFrame, name: &str) -> Vec<Option<i32>> {
    df.column(name)
        .ok()
        .and_then(|c| c.cast(&DataType::Int32).ok())
        .and_then(|c| c.i32().ok().map(|s| s.iter().collect()))
        .unwrap_or_else(|| vec![None; df.height()])
}

/// The `account_idx` column every validated table other than `accounts` carries.
fn idx_col(df: &DataFrame) -> Vec<Option<u32>> {
    df.column("account_idx")
        .ok()
        .and_then(|c| c.u32().ok().map(|s| s.iter().collect()))
        .unwrap_or_default()
}

fn num_col(df: &DataFrame, name: &str) -> Vec<Option<f64>> {
    df.column(name)
        .ok()
        .and_then(|c| c.cast(&DataType::Float64).ok())
        .and_then(|c| c.f64().ok().map(|s| s.iter().collect()))
        .unwrap_or_else(|| vec![None; df.height()])
}

impl Book {
    /// Drops the frames of the tables that date events (usage, tickets, NPS, ...) once
    /// every feature and check that reads them has run; accounts and contracts stay.
    pub fn release_event_tables(&mut self) {
        self.tables
            .retain(|name, _| matches!(*name, "accounts" | "contracts"));
    }

    pub fn frame(&self, name: &str) -> Option<&DataFrame> {
        self.tables.get(name).map(|l| &l.frame)
    }

    pub fn rows(&self, name: &str) -> usize {
        self.frame(name).map(DataFrame::height).unwrap_or(0)
    }

    /// Optional tables that are absent, with the signal each one feeds.
    pub fn missing_signals(&self) -> Vec<(&'static str, &'static str)> {
        schema::TABLES
            .iter()
            .filter(|s| !s.required && !self.tables.contains_key(s.name))
            .map(|s| (s.name, s.signal))
            .collect()
    }

    pub fn accounts(&self) -> Vec<AccountInfo> {
        let Some(df) = self.frame("accounts") else {
            return Vec::new();
        };
        let ids = str_col(df, "account_id");
        let names = str_col(df, "name");
        let segs = str_col(df, "segment");
        let created = day_col(df, "created_date");
        let csm = str_col(df, "csm");
        (0..df.height())
            .map(|i| AccountInfo {
                id: ids[i].clone().unwrap_or_default(),
                name: names[i].clone().unwrap_or_default(),
                segment: segs[i].clone().unwrap_or_default(),
                created: dates::from_days(created[i].unwrap_or(0)),
                csm: csm[i].clone(),
            })
            .collect()
    }

    pub fn terms(&self) -> Vec<Term> {
        let Some(df) = self.frame("contracts") else {
            return Vec::new();
        };
        let idx = idx_col(df);
        let start = day_col(df, "start_date");
        let end = day_col(df, "end_date");
        let arr = num_col(df, "arr");
        let seats = num_col(df, "seats");
        (0..df.height())
            .filter_map(|i| {
                Some(Term {
                    account: idx.get(i).copied().flatten()?,
                    start: dates::from_days(start[i]?),
                    end: dates::from_days(end[i]?),
                    arr: arr[i]?,
                    seats: seats[i]?,
                })
            })
            .collect()
    }

    /// Each account's plans by term start date (accounts whose contracts carry a plan).
    pub fn plans(&self) -> HashMap<u32, Vec<(NaiveDate, String)>> {
        let mut out: HashMap<u32, Vec<(NaiveDate, String)>> = HashMap::new();
        let Some(df) = self.frame("contracts") else {
            return out;
        };
        let idx = idx_col(df);
        let start = day_col(df, "start_date");
        for (i, plan) in str_col(df, "plan").into_iter().enumerate() {
            if let (Some(a), Some(d), Some(p)) = (idx.get(i).copied().flatten(), start[i], plan) {
                out.entry(a).or_default().push((dates::from_days(d), p));
            }
        }
        out
    }

    /// The (min, max) of the dates that record observed events in table `name`.
    pub fn date_range(&self, name: &str) -> Option<(NaiveDate, NaiveDate)> {
        let mut range: Option<(i32, i32)> = None;
        self.for_each_event_day(name, |d| {
            range = Some(range.map_or((d, d), |(lo, hi)| (lo.min(d), hi.max(d))));
        })?;
        let (lo, hi) = range?;
        Some((dates::from_days(lo), dates::from_days(hi)))
    }

    /// Calls `f` with the event day (days since 1970-01-01, a timestamp floored to its
    /// day) of every row of table `name` that has one, read from the frame in place: a
    /// large usage table is not copied. None for a table that is absent or dates none.
    pub fn for_each_event_day(&self, name: &str, mut f: impl FnMut(i32)) -> Option<()> {
        let spec = schema::TABLES.iter().find(|s| s.name == name)?;
        crate::input::span::for_each_day(self.frame(name)?, spec.event_date?, |_, d| f(d))
    }

    /// Rows of table `name` dated in each `[lo, hi)` range of days, and the day of its
    /// last row before `before`; None for a table that is absent or dates no events.
    /// One pass over the dates, without copying them.
    pub fn rows_between(
        &self,
        name: &str,
        ranges: &[(i32, i32)],
        before: i32,
    ) -> Option<(Vec<usize>, Option<i32>)> {
        let mut counts = vec![0usize; ranges.len()];
        let mut last: Option<i32> = None;
        self.for_each_event_day(name, |d| {
            for (n, &(lo, hi)) in counts.iter_mut().zip(ranges) {
                *n += usize::from(lo <= d && d < hi);
            }
            if d < before && last.is_none_or(|l| d > l) {
                last = Some(d);
            }
        })?;
        Some((counts, last))
    }

    /// The day after the latest observed event in any table: the date the data describes
    /// "now". Contract end dates are not events (they lie in the future for live terms).
    pub fn as_of(&self) -> Option<NaiveDate> {
        let last = self
            .tables
            .keys()
            .filter_map(|t| self.date_range(t).map(|r| r.1))
            .max()?;
        last.succ_opt()
    }
}
