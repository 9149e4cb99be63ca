//! `at_risk.xlsx`, the workbook CS leaders open: the ranked list (currency and percentage
//! formats, a frozen header, an autofilter, fitted column widths), one sheet per CSM with
//! their accounts, and the drivers sheet. Written with rust_xlsxwriter, each sheet
//! streamed row by row through a temporary file beside the output, then the workbook
//! atomically into place.

use std::collections::BTreeMap;
use std::path::Path;

use rust_xlsxwriter::utility::cell_autofit_width;
use rust_xlsxwriter::{
    DocProperties, ExcelDateTime, Format, FormatAlign, Workbook, Worksheet, XlsxError,
};

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::explain::drivers::Driver;
use crate::input::io;
use crate::score::{Scored, ScoredList};

/// The list's columns: header, width cap, how a row fills it.
enum Cell {
    Text(Option<String>),
    Money(Option<f64>),
    Share(Option<f64>),
    Number(Option<f64>, u8),
}

const HEADERS: [&str; 26] = [
    "Rank",
    "Account ID",
    "Account",
    "Segment",
    "CSM",
    "Status",
    "Risk tier",
    "Churn probability",
    "ARR",
    "ARR at risk",
    "Renewal date",
    "Days to renewal",
    "Renewal state",
    "Churn within 6 months",
    "Churn within 12 months",
    "Next renewal",
    "Next renewal fails",
    "Health score",
    "Health tier",
    "Reason 1",
    "Reason 2",
    "Reason 3",
    "Suggested play",
    "Best play (estimated)",
    "ARR it would save",
    "Not scored because",
];

fn cells(rank: usize, s: &Scored) -> [Cell; 26] {
    let driver = |k: usize| {
        s.explanation
            .as_ref()
            .and_then(|e| e.top(3).get(k).map(|d| d.sentence()))
    };
    [
        Cell::Number(Some(rank as f64), 0),
        Cell::Text(Some(s.account_id.clone())),
        Cell::Text(s.name.clone()),
        Cell::Text(s.segment.clone()),
        Cell::Text(s.csm.clone()),
        Cell::Text(s.status.map(str::to_string)),
        Cell::Text(s.risk_tier.map(str::to_string)),
        Cell::Share(s.churn_probability),
        Cell::Money(s.arr),
        Cell::Money(s.arr_at_risk),
        Cell::Text(s.renewal_date.clone()),
        Cell::Number(s.days_to_renewal, 0),
        Cell::Text(s.renewal_state.clone()),
        Cell::Share(s.outlook.as_ref().map(|o| o.within(6))),
        Cell::Share(s.outlook.as_ref().map(|o| o.within(12))),
        Cell::Text(s.outlook.as_ref().map(|o| o.next_renewal.to_string())),
        Cell::Share(s.outlook.as_ref().and_then(|o| o.p_next_renewal_fails)),
        Cell::Number(s.health.as_ref().and_then(|h| h.score), 1),
        Cell::Text(
            s.health
                .as_ref()
                .and_then(|h| h.tier)
                .map(|t| t.as_str().to_string()),
        ),
        Cell::Text(driver(0)),
        Cell::Text(driver(1)),
        Cell::Text(driver(2)),
        Cell::Text(s.play.as_ref().map(|p| p.play.to_string())),
        Cell::Text(s.best_play.as_ref().and_then(|b| b.play.clone())),
        Cell::Money(s.best_play.as_ref().and_then(|b| b.expected_arr_saved)),
        Cell::Text(s.reason.clone()),
    ]
}

struct Formats {
    header: Format,
    money: Format,
    share: Format,
    whole: Format,
    tenth: Format,
}

impl Formats {
    fn new() -> Self {
        Formats {
            header: Format::new()
                .set_bold()
                .set_background_color("#DCE6F1")
                .set_align(FormatAlign::Center)
                .set_text_wrap(),
            money: Format::new().set_num_format("$#,##0"),
            share: Format::new().set_num_format("0.0%"),
            whole: Format::new().set_num_format("0"),
            tenth: Format::new().set_num_format("0.0"),
        }
    }
}

/// Excel keeps at most 32,767 characters in a cell.
fn clip(s: &str) -> &str {
    match s.char_indices().nth(32_000) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Rows a worksheet holds (Excel's limit, header included).
const EXCEL_ROWS: usize = 1_048_576;

/// Column widths are fitted to the first rows only, as Excel's autofit would be.
const FIT_ROWS: u32 = 2000;

/// Above this many CSMs the per-CSM sheets are left out: a workbook of hundreds of tabs
/// is no use to open, and each sheet streams through a temporary file of its own, open
/// until the save (200 leaves room under macOS's default of 256 open files). The list's
/// CSM column has an autofilter.
const MAX_CSM_SHEETS: usize = 200;

/// A worksheet being written row by row. Every sheet is in rust_xlsxwriter's
/// constant-memory mode: a row goes to a temporary file once the next one starts, so a
/// million-row list never sits in memory. That mode cannot autofit (the rows are gone
/// by then), so the sheet measures its first [`FIT_ROWS`] rows as it writes them, the
/// way autofit would, and sets the widths at the end.
struct Sheet<'a> {
    ws: &'a mut Worksheet,
    widths: Vec<u32>,
    max_width: u32,
}

impl<'a> Sheet<'a> {
    fn new(
        wb: &'a mut Workbook,
        name: &str,
        headers: &[&str],
        max_width: u32,
        f: &Formats,
    ) -> std::result::Result<Self, XlsxError> {
        let ws = wb.add_worksheet_with_constant_memory()?;
        ws.set_name(name)?;
        ws.set_freeze_panes(1, 0)?;
        // Row options must come before the row is written in constant-memory mode.
        ws.set_row_height(0, 30)?;
        let mut sheet = Sheet {
            ws,
            widths: vec![0; headers.len()],
            max_width,
        };
        for (c, h) in headers.iter().enumerate() {
            sheet
                .ws
                .write_string_with_format(0, c as u16, *h, &f.header)?;
            // The autofilter's drop-down arrow takes 16 pixels of the header.
            sheet.fit(0, c as u16, cell_autofit_width(h) + 16);
        }
        Ok(sheet)
    }

    fn fit(&mut self, r: u32, c: u16, px: u32) {
        if r < FIT_ROWS
            && let Some(w) = self.widths.get_mut(c as usize)
        {
            *w = (*w).max(px.min(self.max_width));
        }
    }

    fn text(&mut self, r: u32, c: u16, s: &str) -> std::result::Result<(), XlsxError> {
        let s = clip(s);
        self.ws.write_string(r, c, s)?;
        if r < FIT_ROWS {
            self.fit(r, c, cell_autofit_width(s));
        }
        Ok(())
    }

    fn number(
        &mut self,
        r: u32,
        c: u16,
        v: f64,
        format: Option<&Format>,
    ) -> std::result::Result<(), XlsxError> {
        match format {
            Some(f) => self.ws.write_number_with_format(r, c, v, f)?,
            None => self.ws.write_number(r, c, v)?,
        };
        // Autofit's own rule for numbers: seven pixels a character of the shortest
        // representation, plus the cell's padding.
        if r < FIT_ROWS {
            self.fit(r, c, 7 * v.to_string().len() as u32 + 7);
        }
        Ok(())
    }

    /// Adds the autofilter over `rows` data rows and sets the fitted widths.
    fn finish(self, rows: u32) -> std::result::Result<(), XlsxError> {
        let last = self.widths.len() as u16 - 1;
        self.ws.autofilter(0, 0, rows.max(1), last)?;
        for (c, &w) in self.widths.iter().enumerate() {
            if w > 0 {
                self.ws.set_column_autofit_width(c as u16, w)?;
            }
        }
        Ok(())
    }
}

/// Rows prepared (cells formatted, sentences built) at a time, in parallel, before one
/// thread writes them into the sheet in order.
const PREPARE_BLOCK: usize = 4096;

/// Calls `write(k, make(&items[k]))` for every item in order, `make` running on blocks
/// of items in parallel: the text is built on every core while the sheet itself is one
/// thread's.
fn prepared<I: Sync, T: Send>(
    items: &[I],
    make: impl Fn(&I) -> T + Sync,
    mut write: impl FnMut(usize, T) -> std::result::Result<(), XlsxError>,
) -> std::result::Result<(), XlsxError> {
    for (b, block) in items.chunks(PREPARE_BLOCK).enumerate() {
        let made: Vec<T> = block.par_iter().map(&make).collect();
        for (k, t) in made.into_iter().enumerate() {
            write(b * PREPARE_BLOCK + k, t)?;
        }
    }
    Ok(())
}

/// Writes the header and `rows` into a new sheet. Past Excel's row limit the sheet ends
/// with a line saying where the rest is; `note` adds a last line of its own.
fn list_sheet(
    wb: &mut Workbook,
    name: &str,
    rows: &[(usize, &Scored)],
    note: Option<&str>,
    f: &Formats,
) -> std::result::Result<(), XlsxError> {
    let mut ws = Sheet::new(wb, name, &HEADERS, 420, f)?;
    let fit = rows.len().min(EXCEL_ROWS - 3);
    prepared(
        &rows[..fit],
        |(rank, s)| cells(*rank, s),
        |k, row| {
            let r = k as u32 + 1;
            for (c, cell) in row.into_iter().enumerate() {
                let c = c as u16;
                match cell {
                    Cell::Text(Some(t)) => ws.text(r, c, &t)?,
                    Cell::Money(Some(v)) if v.is_finite() => ws.number(r, c, v, Some(&f.money))?,
                    Cell::Share(Some(v)) if v.is_finite() => ws.number(r, c, v, Some(&f.share))?,
                    Cell::Number(Some(v), d) if v.is_finite() => {
                        ws.number(r, c, v, Some(if d == 0 { &f.whole } else { &f.tenth }))?
                    }
                    _ => {}
                }
            }
            Ok(())
        },
    )?;
    let mut next = fit as u32 + 1;
    if fit < rows.len() {
        ws.text(
            next,
            0,
            &format!(
                "... and {} more accounts (past Excel's row limit): the whole list is in scored_accounts.csv",
                rows.len() - fit
            ),
        )?;
        next += 1;
    }
    if let Some(n) = note {
        ws.text(next, 0, n)?;
    }
    ws.finish(fit as u32)
}

/// A valid, unique worksheet name for `csm` (Excel: at most 31 characters, none of
/// `[]:*?/\`, not blank, not starting or ending with an apostrophe, and unique ignoring
/// case).
fn sheet_name(csm: &str, used: &mut Vec<String>) -> String {
    let clean: String = csm
        .chars()
        .map(|c| {
            if "[]:*?/\\".contains(c) || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let clean = clean.trim().trim_matches('\'').to_string();
    let base: String = if clean.is_empty() || clean.eq_ignore_ascii_case("history") {
        format!("CSM {clean}").trim().to_string()
    } else {
        clean
    };
    let mut k = 1;
    loop {
        let suffix = if k == 1 {
            String::new()
        } else {
            format!(" ({k})")
        };
        let head: String = base.chars().take(31 - suffix.chars().count()).collect();
        let name = format!("{head}{suffix}");
        if !used.iter().any(|u| u.eq_ignore_ascii_case(&name)) {
            used.push(name.clone());
            return name;
        }
        k += 1;
    }
}

const DRIVER_HEADERS: [&str; 9] = [
    "Rank",
    "Account ID",
    "Direction",
    "Component",
    "Feature",
    "Value",
    "Typical",
    "Contribution (log-odds)",
    "In words",
];

fn drivers_sheet(
    wb: &mut Workbook,
    all: &[(usize, &Scored)],
    f: &Formats,
) -> std::result::Result<(), XlsxError> {
    let mut ws = Sheet::new(wb, "Drivers", &DRIVER_HEADERS, 480, f)?;
    // The accounts whose drivers fit under Excel's row limit.
    let mut rows = 1usize;
    let fit = all
        .iter()
        .take_while(|(_, s)| {
            let n = s
                .explanation
                .as_ref()
                .map_or(0, |e| e.risers.len() + e.protectors.len());
            rows += n;
            rows < EXCEL_ROWS - 1
        })
        .count();
    let mut r = 1u32;
    prepared(
        &all[..fit],
        |(_, s)| {
            s.explanation.as_ref().map(|e| {
                (e.risers.iter().chain(&e.protectors))
                    .map(Driver::sentence)
                    .collect::<Vec<String>>()
            })
        },
        |k, sentences| {
            let (rank, s) = all[k];
            let (Some(e), Some(sentences)) = (&s.explanation, sentences) else {
                return Ok(());
            };
            let kinds = std::iter::repeat_n("raises risk", e.risers.len())
                .chain(std::iter::repeat_n("lowers risk", e.protectors.len()));
            for ((what, d), sentence) in kinds
                .zip(e.risers.iter().chain(&e.protectors))
                .zip(sentences)
            {
                ws.number(r, 0, rank as f64, Some(&f.whole))?;
                ws.text(r, 1, &s.account_id)?;
                ws.text(r, 2, what)?;
                ws.text(r, 3, d.component)?;
                ws.text(r, 4, &d.feature)?;
                match (d.value, &d.level) {
                    (Some(v), _) if v.is_finite() => ws.number(r, 5, v, None)?,
                    (_, Some(l)) => ws.text(r, 5, l)?,
                    _ => {}
                }
                if let Some(t) = d.typical.filter(|t| t.is_finite()) {
                    ws.number(r, 6, t, None)?;
                }
                if d.contribution.is_finite() {
                    ws.number(r, 7, d.contribution, None)?;
                }
                ws.text(r, 8, &sentence)?;
                r += 1;
            }
            Ok(())
        },
    )?;
    if fit < all.len() {
        ws.text(
            r,
            0,
            "... the drivers of the remaining accounts (past Excel's row limit) are in drivers.csv",
        )?;
    }
    ws.finish(r.saturating_sub(1))
}

/// Builds the workbook; its sheets stream through temporary files in `tmp`.
fn build(list: &ScoredList, tmp: &Path) -> std::result::Result<Workbook, XlsxError> {
    let f = Formats::new();
    let mut wb = Workbook::new();
    wb.set_tempdir(tmp)?;
    // Dated on the list's as-of date, not the clock: the same inputs give the same bytes.
    let (y, m, d) = list
        .as_of
        .as_deref()
        .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .map_or((2000, 1, 1), |d| {
            use chrono::Datelike;
            (d.year() as u16, d.month() as u8, d.day() as u8)
        });
    let created = ExcelDateTime::from_ymd(y, m, d)?;
    wb.set_properties(&DocProperties::new().set_creation_datetime(&created));
    let all: Vec<(usize, &Scored)> = list
        .rows
        .iter()
        .enumerate()
        .map(|(i, s)| (i + 1, s))
        .collect();
    let mut by_csm: BTreeMap<&str, Vec<(usize, &Scored)>> = BTreeMap::new();
    for (rank, s) in &all {
        by_csm
            .entry(s.csm.as_deref().unwrap_or("No CSM"))
            .or_default()
            .push((*rank, *s));
    }
    let many = by_csm.len() > MAX_CSM_SHEETS;
    let note = many.then(|| {
        format!(
            "{} CSMs: too many for a sheet each (at most {MAX_CSM_SHEETS}); filter the CSM column instead",
            by_csm.len()
        )
    });
    list_sheet(&mut wb, "At-risk list", &all, note.as_deref(), &f)?;
    // No sheet per CSM when no account has one: it would repeat the list.
    let nobody = list.rows.iter().all(|s| s.csm.is_none());
    if !many && !nobody {
        let mut used = vec!["At-risk list".to_string(), "Drivers".to_string()];
        for (csm, rows) in &by_csm {
            let name = sheet_name(csm, &mut used);
            list_sheet(&mut wb, &name, rows, None, &f)?;
        }
    }
    drivers_sheet(&mut wb, &all, &f)?;
    Ok(wb)
}

/// Writes `at_risk.xlsx` for `list` at `path`, atomically.
pub fn write(list: &ScoredList, path: &Path) -> Result<()> {
    let err = |e: XlsxError| Error::Write {
        path: path.to_path_buf(),
        message: format!("building the workbook: {e}"),
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut wb = build(list, dir).map_err(err)?;
    // Saved straight to the file: the zipped workbook of a million accounts is hundreds
    // of megabytes, never held in memory.
    io::write_atomic_with(path, |tmp| wb.save(tmp).map_err(err))
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Data, Reader, Xlsx, open_workbook};

    fn list(csms: &[Option<String>]) -> ScoredList {
        ScoredList {
            model_id: "m".into(),
            as_of: Some("2026-11-01".into()),
            rows: csms
                .iter()
                .enumerate()
                .map(|(i, c)| Scored {
                    csm: c.clone(),
                    churn_probability: Some(0.5),
                    ..Scored::blank(format!("A{i}"))
                })
                .collect(),
            health_components: Vec::new(),
        }
    }

    fn sheets(l: &ScoredList) -> (Vec<String>, Vec<Vec<Data>>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("at_risk.xlsx");
        write(l, &path).unwrap();
        // Only the workbook is left: the sheets' temporary files are gone.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
        let names = wb.sheet_names();
        let list = wb.worksheet_range("At-risk list").unwrap();
        (names, list.rows().map(<[Data]>::to_vec).collect())
    }

    #[test]
    fn no_sheet_per_csm_when_nobody_has_one() {
        let (names, rows) = sheets(&list(&[None, None, None]));
        assert_eq!(names, ["At-risk list", "Drivers"]);
        // Header and three accounts, ranked, nothing after them.
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[3][0], Data::Float(3.0));
        assert_eq!(rows[3][1], Data::String("A2".into()));
    }

    #[test]
    fn past_200_csms_the_list_says_to_filter_instead() {
        let csms: Vec<Option<String>> = (0..201).map(|i| Some(format!("CSM {i}"))).collect();
        let (names, rows) = sheets(&list(&csms));
        assert_eq!(names, ["At-risk list", "Drivers"]);
        assert_eq!(rows.len(), 203);
        assert_eq!(
            rows[202][0],
            Data::String(
                "201 CSMs: too many for a sheet each (at most 200); filter the CSM column instead"
                    .into()
            )
        );
        // At the limit, every CSM gets a sheet.
        let (names, _) = sheets(&list(&csms[..200]));
        assert_eq!(names.len(), 202);
        assert_eq!(names[1], "CSM 0");
    }

    #[test]
    fn sheet_names_are_valid_and_unique() {
        let mut used = vec!["At-risk list".to_string()];
        assert_eq!(sheet_name("Ana Ruiz", &mut used), "Ana Ruiz");
        assert_eq!(sheet_name("ana ruiz", &mut used), "ana ruiz (2)");
        assert_eq!(sheet_name("a/b:c*?[x]", &mut used), "a_b_c___x_");
        assert_eq!(sheet_name("History", &mut used), "CSM History");
        assert_eq!(sheet_name("  ", &mut used), "CSM");
        let long = "x".repeat(40);
        assert_eq!(sheet_name(&long, &mut used).chars().count(), 31);
        assert_eq!(
            sheet_name(&long, &mut used),
            format!("{} (2)", "x".repeat(27))
        );
    }
}
