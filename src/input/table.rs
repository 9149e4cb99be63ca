//! Plain typed column buffers: what the simulator produces and what writers consume.
//! No polars here; `io` turns a [`Table`] into a polars frame when Parquet is wanted.

use std::io::Write;

use crate::common::dates;

#[derive(Clone, Debug, PartialEq)]
pub enum Column {
    Str(Vec<Option<String>>),
    /// Days since 1970-01-01.
    Date(Vec<Option<i32>>),
    /// Milliseconds since the epoch, UTC.
    Timestamp(Vec<Option<i64>>),
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Bool(Vec<Option<bool>>),
}

impl Column {
    pub fn len(&self) -> usize {
        match self {
            Column::Str(v) => v.len(),
            Column::Date(v) => v.len(),
            Column::Timestamp(v) => v.len(),
            Column::Int(v) => v.len(),
            Column::Float(v) => v.len(),
            Column::Bool(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends the CSV text of row `i` (escaped; nothing for a missing value); floats
    /// rounded to `decimals` places when given.
    pub(crate) fn push_cell(&self, i: usize, decimals: Option<u32>, out: &mut String) {
        use std::fmt::Write as _;
        match self {
            Column::Float(v) if decimals.is_some() => {
                if let Some(x) = v[i] {
                    let scale = 10f64.powi(decimals.unwrap_or(0) as i32);
                    out.push_str(&format_float((x * scale).round() / scale));
                }
            }
            Column::Str(v) => {
                if let Some(s) = &v[i] {
                    if s.contains([',', '"', '\n', '\r']) {
                        out.push_str(&csv_escape(s));
                    } else {
                        out.push_str(s);
                    }
                }
            }
            Column::Date(v) => {
                if let Some(d) = v[i] {
                    push_date(d, out);
                }
            }
            Column::Int(v) => {
                if let Some(x) = v[i] {
                    let _ = write!(out, "{x}");
                }
            }
            _ => out.push_str(&csv_escape(&self.cell(i))),
        }
    }

    /// The CSV text of row `i`, unescaped; empty for a missing value.
    pub fn cell(&self, i: usize) -> String {
        match self {
            Column::Str(v) => v[i].clone().unwrap_or_default(),
            Column::Date(v) => v[i]
                .map(|d| dates::from_days(d).to_string())
                .unwrap_or_default(),
            Column::Timestamp(v) => v[i].map(dates::format_timestamp_ms).unwrap_or_default(),
            Column::Int(v) => v[i].map(|x| x.to_string()).unwrap_or_default(),
            Column::Float(v) => v[i].map(format_float).unwrap_or_default(),
            Column::Bool(v) => v[i].map(|b| b.to_string()).unwrap_or_default(),
        }
    }
}

/// Appends an epoch-day date as YYYY-MM-DD without going through chrono's formatter.
fn push_date(days: i32, out: &mut String) {
    use chrono::Datelike;
    let d = dates::from_days(days);
    let (y, m, dd) = (d.year(), d.month(), d.day());
    if (0..=9999).contains(&y) {
        let y = y as u32;
        for digit in [y / 1000, y / 100 % 10, y / 10 % 10, y % 10] {
            out.push((b'0' + digit as u8) as char);
        }
        out.push('-');
        out.push((b'0' + (m / 10) as u8) as char);
        out.push((b'0' + (m % 10) as u8) as char);
        out.push('-');
        out.push((b'0' + (dd / 10) as u8) as char);
        out.push((b'0' + (dd % 10) as u8) as char);
    } else {
        out.push_str(&d.to_string());
    }
}

/// Shortest round-tripping text for a float, with integers written without a fraction.
pub(crate) fn format_float(x: f64) -> String {
    if x.is_finite() && x == x.trunc() && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// A named set of equally long columns.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    pub names: Vec<String>,
    pub columns: Vec<Column>,
    /// Decimal places of each float column in CSV (`None`: full precision). Parquet
    /// always keeps full precision.
    pub csv_decimals: Vec<Option<u32>>,
}

impl Table {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, name: &str, column: Column) -> Self {
        self.names.push(name.to_string());
        self.columns.push(column);
        self.csv_decimals.push(None);
        self
    }

    /// Adds a float column written to CSV with `decimals` places (full precision in
    /// Parquet): money in cents (2), probabilities (4), scores (1).
    pub fn with_rounded(mut self, name: &str, column: Column, decimals: u32) -> Self {
        self = self.with(name, column);
        if let Some(d) = self.csv_decimals.last_mut() {
            *d = Some(decimals);
        }
        self
    }

    pub fn height(&self) -> usize {
        self.columns.first().map(Column::len).unwrap_or(0)
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| &self.columns[i])
    }

    /// Writes the header line.
    pub(crate) fn write_csv_header<W: Write>(&self, w: &mut W) -> std::io::Result<()> {
        let header: Vec<String> = self.names.iter().map(|n| csv_escape(n)).collect();
        writeln!(w, "{}", header.join(","))
    }

    /// Writes every row (no header), formatting cells straight into one buffer.
    pub(crate) fn write_csv_rows<W: Write>(&self, w: &mut W) -> std::io::Result<()> {
        use rayon::prelude::*;
        // Blocks of rows are formatted in parallel, a wave at a time (so a wave's text is
        // all that is held), and written in order: the same bytes as one pass.
        const ROWS: usize = 2_048;
        const WAVE: usize = 16;
        let n = self.height();
        let blocks: Vec<usize> = (0..n.div_ceil(ROWS)).collect();
        for wave in blocks.chunks(WAVE) {
            let texts: Vec<String> = wave
                .par_iter()
                .map(|&b| {
                    let mut buf = String::with_capacity(1 << 16);
                    for i in b * ROWS..((b + 1) * ROWS).min(n) {
                        self.push_csv_row(i, &mut buf);
                    }
                    buf
                })
                .collect();
            for t in texts {
                w.write_all(t.as_bytes())?;
            }
        }
        Ok(())
    }

    fn push_csv_row(&self, i: usize, buf: &mut String) {
        for (j, c) in self.columns.iter().enumerate() {
            if j > 0 {
                buf.push(',');
            }
            c.push_cell(i, self.csv_decimals.get(j).copied().flatten(), buf);
        }
        buf.push('\n');
    }
}

pub(crate) fn csv_escape(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_text_is_escaped_and_typed() {
        let t = Table::new()
            .with("name", Column::Str(vec![Some("Acme, Inc".into()), None]))
            .with("d", Column::Date(vec![Some(1), None]))
            .with("x", Column::Float(vec![Some(2.0), Some(0.25)]))
            .with("b", Column::Bool(vec![Some(true), None]));
        let mut out = Vec::new();
        t.write_csv_header(&mut out).unwrap();
        t.write_csv_rows(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "name,d,x,b\n\"Acme, Inc\",1970-01-02,2,true\n,,0.25,\n"
        );
        let t = Table::new()
            .with_rounded(
                "arr",
                Column::Float(vec![Some(112686.85714285713), Some(5e4)]),
                2,
            )
            .with_rounded("p", Column::Float(vec![Some(0.123456789), None]), 4);
        let mut out = Vec::new();
        t.write_csv_rows(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "112686.86,0.1235\n50000,\n"
        );
    }
}
