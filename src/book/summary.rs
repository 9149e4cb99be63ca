//! The summary `churnlab validate` prints: tables, rows, dates, live accounts, gaps.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::book::retention::{Ending, History};
use crate::input::load::{AccountInfo, Book};
use crate::input::schema;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TableLine {
    pub table: String,
    #[serde(default)]
    pub file: String,
    pub rows: usize,
    #[serde(default)]
    pub first: Option<NaiveDate>,
    #[serde(default)]
    pub last: Option<NaiveDate>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Summary {
    #[serde(default)]
    pub dir: String,
    #[serde(default)]
    pub tables: Vec<TableLine>,
    pub as_of: NaiveDate,
    #[serde(default)]
    pub accounts: usize,
    #[serde(default)]
    pub active_accounts: usize,
    #[serde(default, deserialize_with = "crate::common::nan::f64")]
    pub active_arr: f64,
    #[serde(default)]
    pub churned_accounts: usize,
    #[serde(default)]
    pub pending_accounts: usize,
    #[serde(default)]
    pub segments: Vec<(String, usize)>,
    #[serde(default)]
    pub missing: Vec<(String, String)>,
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// What `validate` prints: the tables, the as-of date and the accounts' states then,
/// from the book's contract histories as of `as_of`.
pub fn summarize(
    book: &Book,
    accounts: &[AccountInfo],
    hist: &[History],
    as_of: NaiveDate,
) -> Summary {
    let mut active = 0;
    let mut arr = 0.0;
    let mut churned = 0;
    let mut pending = 0;
    let mut segs: std::collections::BTreeMap<String, usize> = Default::default();
    for (i, h) in hist.iter().enumerate() {
        match h.spells.last().map(|s| s.ending) {
            Some(Ending::Active) => {
                active += 1;
                arr += h.arr_seats_at(as_of).0;
                *segs.entry(accounts[i].segment.clone()).or_default() += 1;
            }
            Some(Ending::Churned) => churned += 1,
            Some(Ending::Pending) => pending += 1,
            None => {}
        }
    }
    let tables = schema::TABLES
        .iter()
        .filter_map(|s| {
            let l = book.tables.get(s.name)?;
            let r = book.date_range(s.name);
            Some(TableLine {
                table: s.name.to_string(),
                file: l
                    .path
                    .file_name()
                    .and_then(|f| f.to_str())
                    .unwrap_or("")
                    .to_string(),
                rows: l.frame.height(),
                first: r.map(|r| r.0),
                last: r.map(|r| r.1),
            })
        })
        .collect();
    Summary {
        dir: book.dir.display().to_string(),
        tables,
        as_of,
        accounts: accounts.len(),
        active_accounts: active,
        active_arr: arr,
        churned_accounts: churned,
        pending_accounts: pending,
        segments: segs.into_iter().collect(),
        missing: book
            .missing_signals()
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        warnings: book.warnings.clone(),
    }
}
