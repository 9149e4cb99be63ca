//! A book as it was known on a past date: every row dated on or after the cut removed,
//! and what was still open then (a ticket's closing, a contact's departure, an invoice's
//! payment) blanked. The backtest scores such books, and a test checks that the snapshot
//! at the cut date does not change when the future is removed.

use chrono::NaiveDate;
use polars::prelude::*;

use super::load::{Book, Loaded};
use crate::common::dates;
use crate::error::{Error, Result};

/// A column recording a later event, and the date column that says when it happened:
/// blank when that date is on or after the cut.
type Later = (&'static str, &'static str);

/// Per table: the column whose date puts a row in the past or the future, and the
/// columns that record a later event. A ticket's CSAT arrives with its closing.
/// Accounts are kept whole: an account without a term before the cut is in no snapshot.
const RULES: [(&str, Option<&str>, &[Later]); 8] = [
    ("accounts", None, &[]),
    ("contracts", Some("start_date"), &[]),
    ("usage", Some("date"), &[]),
    (
        "tickets",
        Some("opened_at"),
        &[("closed_at", "closed_at"), ("csat", "closed_at")],
    ),
    ("nps", Some("date"), &[]),
    ("contacts", Some("start_date"), &[("end_date", "end_date")]),
    ("invoices", Some("due_date"), &[("paid_date", "paid_date")]),
    ("activities", Some("date"), &[]),
];

/// Whether a date or timestamp column holds an instant on or after `day` (days since the
/// epoch); false where it is null.
fn on_or_after(df: &DataFrame, name: &str, day: i32) -> Result<Option<Expr>> {
    let Ok(c) = df.column(name) else {
        return Ok(None);
    };
    Ok(Some(match c.dtype() {
        DataType::Datetime(..) => col(name)
            .cast(DataType::Int64)
            .gt_eq(lit(i64::from(day) * dates::MS_PER_DAY)),
        DataType::Date => col(name).cast(DataType::Int32).gt_eq(lit(day)),
        other => {
            return Err(Error::Internal(format!(
                "cutting the book: column {name} is {other}, not a date"
            )));
        }
    }))
}

/// The book as known on `at`: rows dated `at` or later removed, later events blanked.
pub fn cut(book: &Book, at: NaiveDate) -> Result<Book> {
    let day = dates::to_days(at);
    let pe = |e: PolarsError| Error::Internal(format!("cutting the book at {at}: {e}"));
    let mut out = book.clone();
    for (name, dated, later) in RULES {
        let Some(loaded) = out.tables.get_mut(name) else {
            continue;
        };
        let df = &loaded.frame;
        let mut plan = df.clone().lazy();
        if let Some(c) = dated
            && let Some(future) = on_or_after(df, c, day)?
        {
            plan = plan.filter(future.not().or(col(c).is_null()));
        }
        let mut blank = Vec::new();
        for (c, happened) in later {
            if let (Some(future), Ok(col_ref)) = (on_or_after(df, happened, day)?, df.column(c)) {
                let dtype = col_ref.dtype().clone();
                blank.push(
                    when(future)
                        .then(lit(NULL).cast(dtype))
                        .otherwise(col(*c))
                        .alias(*c),
                );
            }
        }
        if !blank.is_empty() {
            plan = plan.with_columns(blank);
        }
        *loaded = Loaded {
            path: loaded.path.clone(),
            frame: plan.collect().map_err(pe)?,
            lines: std::mem::take(&mut loaded.lines),
            codes: std::mem::take(&mut loaded.codes),
        };
    }
    Ok(out)
}
