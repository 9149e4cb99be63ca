//! CSV bytes before polars parses them: the physical line of every record, blank lines
//! dropped, and text that is not UTF-8 either read as Windows-1252 or located.
//!
//! polars reports neither lines nor encodings, so each chunk of a CSV file passes
//! through [`CsvText::prepare`] first:
//! - a record's line is the line a text editor shows, counting newlines inside quoted
//!   fields ([`LineMap`] keeps only the records where "one line per record" stops
//!   holding, so it stays small);
//! - records that hold nothing but whitespace are dropped (a trailing blank line is
//!   common in hand-edited exports), and the lines after them keep their numbers;
//! - a record that is not valid UTF-8 but has no UTF-8 multi-byte character either is
//!   read as Windows-1252 (what Excel's "CSV (Comma delimited)" writes on Windows, a
//!   superset of Latin-1), and the file gets a warning naming the first such line and
//!   column. A record that mixes valid UTF-8 characters with invalid bytes is damaged,
//!   not Windows-1252: it is a located error.

/// The physical line of each data record of a CSV file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LineMap {
    /// (record, line) where a record does not start on the line after the previous one;
    /// the first record is on line 2 unless listed.
    breaks: Vec<(usize, usize)>,
}

impl LineMap {
    /// The 1-based line on which data record `row` (0-based) starts.
    pub fn line(&self, row: usize) -> usize {
        match self.breaks.partition_point(|b| b.0 <= row) {
            0 => row + 2,
            k => {
                let (r, l) = self.breaks[k - 1];
                l + (row - r)
            }
        }
    }
}

/// Records read as Windows-1252: how many, and where the first one is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recoded {
    pub records: usize,
    pub first: Option<(usize, String)>,
}

/// A record that cannot be read as CSV text: where, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadText {
    pub line: usize,
    pub column: Option<String>,
    pub message: String,
}

/// The state of one CSV file's reading: where the next record starts.
#[derive(Debug, Default)]
pub struct CsvText {
    pub lines: LineMap,
    pub recoded: Recoded,
    /// Header field names (for messages).
    columns: Vec<String>,
    /// Physical line of the next record, and data records kept so far.
    next_line: usize,
    rows: usize,
}

/// A record's extent in a buffer.
struct Record {
    /// One past its newline (outside quotes), or the buffer's end.
    end: usize,
    /// Newlines inside quoted fields.
    inner: usize,
    /// Fields (commas outside quotes, plus one).
    fields: usize,
    /// A quoted field still open at the buffer's end.
    open: bool,
    /// The first misplaced quote (RFC 4180: a quote opens a field, closes it, or is
    /// doubled inside it): its field, the newlines before it, and what is wrong.
    stray: Option<(usize, usize, &'static str)>,
}

/// Where a record's scan is.
#[derive(Clone, Copy, PartialEq)]
enum At {
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: the field's end, or the first of a doubled quote.
    QuoteInQuoted,
}

fn record_at(buf: &[u8], from: usize) -> Record {
    let mut at = At::FieldStart;
    let (mut inner, mut fields) = (0, 1);
    let mut stray = None;
    for (i, &b) in buf.iter().enumerate().skip(from) {
        at = match (at, b) {
            (At::Quoted, b'"') => At::QuoteInQuoted,
            (At::Quoted, b'\n') => {
                inner += 1;
                At::Quoted
            }
            (At::Quoted, _) => At::Quoted,
            (_, b'\n') => {
                return Record {
                    end: i + 1,
                    inner,
                    fields,
                    open: false,
                    stray,
                };
            }
            (_, b',') => {
                fields += 1;
                At::FieldStart
            }
            (At::FieldStart, b'"') | (At::QuoteInQuoted, b'"') => At::Quoted,
            (At::FieldStart, _) | (At::Unquoted, b'\r') => At::Unquoted,
            (At::QuoteInQuoted, b'\r') => At::QuoteInQuoted,
            (At::Unquoted, b'"') => {
                stray.get_or_insert((fields - 1, inner, "a '\"' inside a value that does not start with one; quote the whole value and double the quote (\"\")"));
                At::Unquoted
            }
            (At::QuoteInQuoted, _) => {
                stray.get_or_insert((fields - 1, inner, "text after a quoted value's closing '\"'; double a quote inside a quoted value (\"\")"));
                At::Unquoted
            }
            (At::Unquoted, _) => At::Unquoted,
        };
    }
    Record {
        end: buf.len(),
        inner,
        fields,
        open: at == At::Quoted,
        stray,
    }
}

/// The end (one past its newline) of `buf`'s first whole record, when it holds one.
pub(crate) fn first_record_end(buf: &[u8]) -> Option<usize> {
    let r = record_at(buf, 0);
    complete(buf, &r).then_some(r.end)
}

/// The end of `buf`'s last whole record (`buf` starts at a record's start), when it holds
/// one: where a chunk can be cut.
pub(crate) fn last_record_end(buf: &[u8]) -> Option<usize> {
    let (mut from, mut last) = (0, None);
    while from < buf.len() {
        let r = record_at(buf, from);
        if !complete(buf, &r) {
            break;
        }
        last = Some(r.end);
        from = r.end;
    }
    last
}

/// The record ended at a newline outside quotes (not at the buffer's end).
fn complete(buf: &[u8], r: &Record) -> bool {
    !r.open && r.end > 0 && buf[r.end - 1] == b'\n'
}

/// The field (0-based) and line offset of byte `at` of `record`.
fn field_at(record: &[u8], at: usize) -> (usize, usize) {
    let mut quoted = false;
    let (mut field, mut lines) = (0, 0);
    for &b in &record[..at.min(record.len())] {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => field += 1,
            b'\n' => lines += 1,
            _ => {}
        }
    }
    (field, lines)
}

/// Windows-1252's characters for bytes 0x80..=0x9F (the five undefined bytes map to the
/// C1 controls of the same value, as browsers do); 0xA0..=0xFF are Latin-1.
const CP1252_80: [char; 32] = [
    '\u{20AC}', '\u{81}', '\u{201A}', '\u{192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{2C6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8D}', '\u{17D}', '\u{8F}',
    '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{2DC}', '\u{2122}', '\u{161}', '\u{203A}', '\u{153}', '\u{9D}', '\u{17E}', '\u{178}',
];

fn from_cp1252(bytes: &[u8], out: &mut Vec<u8>) {
    let mut s = String::with_capacity(bytes.len() + 8);
    for &b in bytes {
        s.push(match b {
            0x80..=0x9F => CP1252_80[usize::from(b - 0x80)],
            _ => char::from(b),
        });
    }
    out.extend_from_slice(s.as_bytes());
}

/// Whether `bytes` hold a valid UTF-8 character outside ASCII.
fn has_utf8_multibyte(bytes: &[u8]) -> bool {
    bytes.utf8_chunks().any(|c| !c.valid().is_ascii())
}

impl CsvText {
    /// Starts a file with its header record (the bytes up to and including its newline);
    /// returns the header as UTF-8.
    pub fn start(&mut self, header: &[u8]) -> std::result::Result<Vec<u8>, BadText> {
        // Excel's "CSV UTF-8" starts with a byte-order mark, often before a quoted name:
        // it goes before the record checks, which would take it for text before a quote.
        let header = header.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(header);
        let mut out = Vec::with_capacity(header.len());
        // The header gets the record checks too (found by the fuzzer: a quote inserted
        // into it reached polars, which refused the file without a line).
        let h = record_at(header, 0);
        if h.open {
            return Err(BadText {
                line: 1,
                column: None,
                message: "the header has a quoted name that is never closed (a stray '\"'?)".into(),
            });
        }
        if let Some((field, lines, what)) = h.stray {
            return Err(BadText {
                line: 1 + lines,
                column: Some(format!("header field {}", field + 1)),
                message: what.into(),
            });
        }
        self.push_text(header, 1, &mut out, true)?;
        let text = String::from_utf8_lossy(&out);
        self.columns = split_fields(text.trim_end_matches(['\r', '\n']));
        self.next_line = 1 + header.iter().filter(|&&b| b == b'\n').count().max(1);
        Ok(out)
    }

    /// The data records of `chunk` (whole records), as UTF-8 without blank records, with
    /// their lines recorded.
    pub fn prepare(&mut self, chunk: &[u8]) -> std::result::Result<(Vec<u8>, usize), BadText> {
        let mut out = Vec::with_capacity(chunk.len());
        let mut pos = 0;
        let mut kept = 0;
        while pos < chunk.len() {
            let Record {
                end,
                inner,
                fields,
                open,
                stray,
            } = record_at(chunk, pos);
            let record = &chunk[pos..end];
            pos = end;
            let line = self.next_line;
            self.next_line += 1 + inner;
            if record.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            if open {
                return Err(BadText {
                    line,
                    column: None,
                    message: "a quoted field opened on this line is never closed (a stray '\"'?)"
                        .into(),
                });
            }
            if let Some((field, lines, what)) = stray {
                return Err(BadText {
                    line: line + lines,
                    column: Some(self.column_name(field)),
                    message: what.into(),
                });
            }
            if fields > self.columns.len() {
                return Err(BadText {
                    line,
                    column: None,
                    message: format!(
                        "has {fields} fields but the header has {} (an unquoted comma in a value?)",
                        self.columns.len()
                    ),
                });
            }
            if self.lines.line(self.rows) != line {
                self.lines.breaks.push((self.rows, line));
            }
            self.push_text(record, line, &mut out, false)?;
            self.rows += 1;
            kept += 1;
        }
        Ok((out, kept))
    }

    fn column_name(&self, field: usize) -> String {
        self.columns
            .get(field)
            .cloned()
            .unwrap_or_else(|| format!("field {}", field + 1))
    }

    /// Appends `record` (starting on line `start`) to `out` as UTF-8.
    fn push_text(
        &mut self,
        record: &[u8],
        start: usize,
        out: &mut Vec<u8>,
        header: bool,
    ) -> std::result::Result<(), BadText> {
        if record.is_ascii() {
            out.extend_from_slice(record);
            return Ok(());
        }
        let Err(e) = std::str::from_utf8(record) else {
            out.extend_from_slice(record);
            return Ok(());
        };
        let at = e.valid_up_to();
        let (field, lines) = field_at(record, at);
        let line = start + lines;
        let column = if header {
            format!("header field {}", field + 1)
        } else {
            self.column_name(field)
        };
        if has_utf8_multibyte(record) {
            return Err(BadText {
                line,
                column: Some(column),
                message: format!(
                    "byte 0x{:02X} is not UTF-8 text, in a line that also holds UTF-8 characters \
                     (so it is not a Windows-1252 export either); re-save the file as UTF-8",
                    record[at]
                ),
            });
        }
        from_cp1252(record, out);
        self.recoded.records += 1;
        if self.recoded.first.is_none() {
            self.recoded.first = Some((line, column));
        }
        Ok(())
    }
}

/// A CSV record's fields, unquoted (for naming columns in messages).
fn split_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    for ch in line.chars() {
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(String::new()),
            c => {
                if let Some(f) = fields.last_mut() {
                    f.push(c);
                }
            }
        }
    }
    fields.iter().map(|f| f.trim().to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(header: &str, body: &[u8]) -> (CsvText, Vec<u8>, usize) {
        let mut t = CsvText::default();
        t.start(header.as_bytes()).unwrap();
        let (out, n) = t.prepare(body).unwrap();
        (t, out, n)
    }

    #[test]
    fn lines_count_quoted_newlines_and_skip_blank_records() {
        // Line 1 header; 2 a; 3-4 b (quoted newline); 5 blank; 6 c; 7 blank at the end.
        let (t, out, n) = run("id,note\n", b"a,x\nb,\"two\nlines\"\n\nc,y\n\r\n");
        assert_eq!(n, 3);
        assert_eq!(out, b"a,x\nb,\"two\nlines\"\nc,y\n");
        assert_eq!(
            (t.lines.line(0), t.lines.line(1), t.lines.line(2)),
            (2, 3, 6)
        );
    }

    #[test]
    fn windows_1252_is_read_and_damaged_utf8_is_located() {
        // 0xE9 is 'é' in Windows-1252; 0x80 the euro sign.
        let (t, out, _) = run("id,name\n", b"a,ok\nb,Caf\xE9 \x80\n");
        assert_eq!(String::from_utf8(out).unwrap(), "a,ok\nb,Café €\n");
        assert_eq!(t.recoded.records, 1);
        assert_eq!(t.recoded.first, Some((3, "name".to_string())));
        // Valid UTF-8 'é' (C3 A9) next to a stray byte: damage, located.
        let mut t = CsvText::default();
        t.start(b"id,name,city\n").unwrap();
        let e = t.prepare(b"a,x,y\nb,Caf\xC3\xA9,\xFFx\n").unwrap_err();
        assert_eq!((e.line, e.column.as_deref()), (3, Some("city")));
        assert!(
            e.message.starts_with("byte 0xFF is not UTF-8"),
            "{}",
            e.message
        );
    }

    #[test]
    fn extra_fields_and_unclosed_quotes_are_located() {
        let mut t = CsvText::default();
        t.start(b"id,name\n").unwrap();
        let e = t.prepare(b"a,x\nb,y,z\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, None));
        assert_eq!(
            e.message,
            "has 3 fields but the header has 2 (an unquoted comma in a value?)"
        );
        let mut t = CsvText::default();
        t.start(b"id,name\n").unwrap();
        let e = t.prepare(b"a,x\n\nb,\"y\nc,z\n").unwrap_err();
        assert_eq!(e.line, 4);
        assert!(e.message.starts_with("a quoted field opened on this line"));
        // A quote in the middle of a value, and text after a closing quote.
        let mut t = CsvText::default();
        t.start(b"id,name\n").unwrap();
        let e = t.prepare(b"a,5\" screen\n").unwrap_err();
        assert_eq!((e.line, e.column.as_deref()), (2, Some("name")));
        let mut t = CsvText::default();
        t.start(b"id,name\n").unwrap();
        let e = t.prepare(b"a,\"x\"\"y\"\nb,\"a\nb\"c\n").unwrap_err();
        assert_eq!((e.line, e.column.as_deref()), (4, Some("name")));
        assert!(e.message.starts_with("text after a quoted value's closing"));
        // The same in the header.
        let mut t = CsvText::default();
        let e = t.start(b"id,sta\"a\nb\"rt\n").unwrap_err();
        assert_eq!((e.line, e.column.as_deref()), (1, Some("header field 2")));
    }
}
