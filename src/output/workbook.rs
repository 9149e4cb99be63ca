//! `at_risk.xlsx`, the workbook CS leaders open: the ranked list (currency and percentage
//! formats, a frozen header, an autofilter, fitted column widths), one sheet per CSM with
//! their accounts, and the drivers sheet. Written with rust_xlsxwriter into memory, then
//! atomically into place.

use std::collections::BTreeMap;
use std::path::Path;

use rust_xlsxwriter::{
    DocProperties, ExcelDateTime, Format, FormatAlign, Workbook, Worksheet, XlsxError,
};

use crate::error::{Error, Result};
use crate::input::io;
use crate::score::{Scored, ScoredList};

/// The list's columns: header, width cap, how a row fills it.
enum Cell {
    Text(Option<String>),
    Money(Option<f64>),
    Share(Option<f64>),
    Number(Option<f64>, u8),
}

const HEADERS: [&str; 20] = [
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
    "Health score",
    "Health tier",
    "Reason 1",
    "Reason 2",
    "Reason 3",
    "Suggested play",
    "Not scored because",
];

fn cells(rank: usize, s: &Scored) -> [Cell; 20] {
    let driver = |k: usize| {
        s.explanation
            .as_ref()
            .and_then(|e| e.top(3).get(k).map(|d| d.sentence.clone()))
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
        Cell::Text(s.play.as_ref().map(|p| p.play.clone())),
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

/// Fills `ws` with the header and `rows`, freezes the header, adds an autofilter and
/// fits the column widths (capped so the reasons stay readable). Past Excel's row limit
/// the sheet ends with a line saying where the rest is.
fn list_sheet(
    ws: &mut Worksheet,
    rows: &[(usize, &Scored)],
    f: &Formats,
) -> std::result::Result<(), XlsxError> {
    for (c, h) in HEADERS.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &f.header)?;
    }
    let fit = rows.len().min(EXCEL_ROWS - 2);
    if fit < rows.len() {
        ws.write_string(
            fit as u32 + 1,
            0,
            format!(
                "... and {} more accounts (past Excel's row limit): the whole list is in scored_accounts.csv",
                rows.len() - fit
            ),
        )?;
    }
    let rows = &rows[..fit];
    for (r, (rank, s)) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in cells(*rank, s).into_iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Text(Some(t)) => {
                    ws.write_string(r, c, clip(&t))?;
                }
                Cell::Money(Some(v)) if v.is_finite() => {
                    ws.write_number_with_format(r, c, v, &f.money)?;
                }
                Cell::Share(Some(v)) if v.is_finite() => {
                    ws.write_number_with_format(r, c, v, &f.share)?;
                }
                Cell::Number(Some(v), d) if v.is_finite() => {
                    ws.write_number_with_format(r, c, v, if d == 0 { &f.whole } else { &f.tenth })?;
                }
                _ => {}
            }
        }
    }
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, rows.len() as u32, HEADERS.len() as u16 - 1)?;
    ws.set_autofit_max_row(2000);
    ws.set_autofit_max_width(420);
    ws.autofit();
    ws.set_row_height(0, 30)?;
    Ok(())
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

fn build(list: &ScoredList) -> std::result::Result<Vec<u8>, XlsxError> {
    let f = Formats::new();
    let mut wb = Workbook::new();
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
    let mut used = vec!["At-risk list".to_string(), "Drivers".to_string()];
    {
        let ws = wb.add_worksheet();
        ws.set_name("At-risk list")?;
        list_sheet(ws, &all, &f)?;
    }
    let mut by_csm: BTreeMap<&str, Vec<(usize, &Scored)>> = BTreeMap::new();
    for (rank, s) in &all {
        by_csm
            .entry(s.csm.as_deref().unwrap_or("No CSM"))
            .or_default()
            .push((*rank, *s));
    }
    for (csm, rows) in &by_csm {
        let name = sheet_name(csm, &mut used);
        let ws = wb.add_worksheet();
        ws.set_name(name)?;
        list_sheet(ws, rows, &f)?;
    }
    let ws = wb.add_worksheet();
    ws.set_name("Drivers")?;
    let heads = [
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
    for (c, h) in heads.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &f.header)?;
    }
    let mut r = 1u32;
    for (rank, s) in &all {
        let Some(e) = &s.explanation else { continue };
        if r as usize + e.risers.len() + e.protectors.len() >= EXCEL_ROWS - 1 {
            ws.write_string(
                r,
                0,
                "... the drivers of the remaining accounts (past Excel's row limit) are in drivers.csv",
            )?;
            break;
        }
        for (what, ds) in [("raises risk", &e.risers), ("lowers risk", &e.protectors)] {
            for d in ds {
                ws.write_number_with_format(r, 0, *rank as f64, &f.whole)?;
                ws.write_string(r, 1, clip(&s.account_id))?;
                ws.write_string(r, 2, what)?;
                ws.write_string(r, 3, clip(&d.component))?;
                ws.write_string(r, 4, clip(&d.feature))?;
                match (d.value, &d.level) {
                    (Some(v), _) if v.is_finite() => {
                        ws.write_number(r, 5, v)?;
                    }
                    (_, Some(l)) => {
                        ws.write_string(r, 5, clip(l))?;
                    }
                    _ => {}
                }
                if let Some(t) = d.typical.filter(|t| t.is_finite()) {
                    ws.write_number(r, 6, t)?;
                }
                if d.contribution.is_finite() {
                    ws.write_number(r, 7, d.contribution)?;
                }
                ws.write_string(r, 8, clip(&d.sentence))?;
                r += 1;
            }
        }
    }
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, r.saturating_sub(1).max(1), heads.len() as u16 - 1)?;
    ws.set_autofit_max_row(2000);
    ws.set_autofit_max_width(480);
    ws.autofit();
    wb.save_to_buffer()
}

/// Writes `at_risk.xlsx` for `list` at `path`, atomically.
pub fn write(list: &ScoredList, path: &Path) -> Result<()> {
    let bytes = build(list).map_err(|e| Error::Write {
        path: path.to_path_buf(),
        message: format!("building the workbook: {e}"),
    })?;
    io::write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::sheet_name;

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
