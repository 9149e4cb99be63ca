//! The book's plausible span of dates, and the rows outside it.
//!
//! A date far outside the book's contracts is almost always a typo (`0025-11-26`, a
//! two-digit year read as year 25, `2205` for `2025`), and left alone it stretches every
//! loop over dates: one such row made a two-second run take minutes and moved "now" by
//! centuries. The span comes from the contracts, robustly (their 1st percentile start to
//! their 99th percentile end, so one typo among them does not widen it), widened by
//! [`MARGIN_YEARS`] either way, or by [`EVENT_MARGIN_YEARS`] above the span for the
//! columns that date events (they define "now"), and never outside 1970..2100. An
//! account's `created_date` may predate its contracts by any amount after 1970.
//!
//! Rows outside the span are located errors; with `skip_out_of_span_dates` they are
//! dropped with a warning that counts them.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use polars::prelude::*;

use crate::common::dates;
use crate::error::{Location, Problem, Problems};
use crate::input::loaded::{Limits, Loaded};
use crate::input::schema::{self, Kind};

pub const MARGIN_YEARS: i32 = 10;
pub const EVENT_MARGIN_YEARS: i32 = 2;

/// The span of dates a book's rows may hold (days since the epoch, inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub lo: i32,
    pub hi: i32,
}

fn ymd(y: i32, m: u32, d: u32) -> i32 {
    NaiveDate::from_ymd_opt(y, m, d).map_or(0, dates::to_days)
}

fn shift_years(days: i32, years: i32) -> i32 {
    days.saturating_add(years.saturating_mul(365) + years / 4)
}

/// Calls `f(row, day)` for every non-empty cell of a date or timestamp column, the day
/// as days since 1970-01-01 (timestamps floored to their day), read in place: a large
/// table's dates are not copied. None when the column is absent or holds no dates.
pub(crate) fn for_each_day(
    frame: &DataFrame,
    name: &str,
    mut f: impl FnMut(usize, i32),
) -> Option<()> {
    let col = frame.column(name).ok()?;
    if matches!(col.dtype(), DataType::Datetime(..)) {
        let c = col.cast(&DataType::Int64).ok()?;
        for (i, ms) in c.i64().ok()?.iter().enumerate() {
            if let Some(ms) = ms {
                f(i, ms.div_euclid(dates::MS_PER_DAY) as i32);
            }
        }
    } else {
        let c = col.cast(&DataType::Int32).ok()?;
        for (i, d) in c.i32().ok()?.iter().enumerate() {
            if let Some(d) = d {
                f(i, d);
            }
        }
    }
    Some(())
}

/// The non-empty days of a date or timestamp column.
fn days_of(frame: &DataFrame, name: &str) -> Option<Vec<i32>> {
    let mut v = Vec::new();
    for_each_day(frame, name, |_, d| v.push(d))?;
    Some(v)
}

fn quantile(mut v: Vec<i32>, q: f64) -> Option<i32> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let k = ((v.len() - 1) as f64 * q).round() as usize;
    v.get(k).copied()
}

/// The core span of the contracts: 1st percentile start to 99th percentile end.
pub fn contract_span(tables: &BTreeMap<&'static str, Loaded>) -> Option<Span> {
    let c = &tables.get("contracts")?.frame;
    Some(Span {
        lo: quantile(days_of(c, "start_date")?, 0.01)?,
        hi: quantile(days_of(c, "end_date")?, 0.99)?,
    })
}

/// The latest date an event may carry: the span's end plus [`EVENT_MARGIN_YEARS`].
pub fn event_ceiling(s: Span) -> i32 {
    shift_years(s.hi, EVENT_MARGIN_YEARS).min(ymd(2099, 12, 31))
}

/// The earliest date a dated row (other than an account's creation) may carry.
pub fn floor(s: Span) -> i32 {
    shift_years(s.lo, -MARGIN_YEARS).max(ymd(1970, 1, 1))
}

fn show(d: i32) -> String {
    dates::from_days(d).to_string()
}

/// Checks every date of every table against the span; reports rows outside it, or with
/// `limits.skip_out_of_span_dates` drops them and warns.
pub fn check(
    tables: &mut BTreeMap<&'static str, Loaded>,
    limits: &Limits,
    problems: &mut Problems,
    warnings: &mut Vec<String>,
) {
    let (floor_day, ceiling) = (ymd(1970, 1, 1), ymd(2099, 12, 31));
    let core = contract_span(tables);
    for spec in schema::TABLES {
        let Some(loaded) = tables.get_mut(spec.name) else {
            continue;
        };
        let file = super::io::file_label(&loaded.path);
        let mut drop = vec![false; loaded.frame.height()];
        let mut dropped: Vec<(usize, &str, i32)> = Vec::new();
        for c in spec.columns {
            if !matches!(c.kind, Kind::Date | Kind::Timestamp) {
                continue;
            }
            let event = spec.event_date == Some(c.name);
            let (lo, hi) = match core {
                Some(s) if spec.name == "accounts" => (floor_day, event_ceiling(s)),
                Some(s) if event => (floor(s), event_ceiling(s)),
                Some(s) => (floor(s), shift_years(s.hi, MARGIN_YEARS).min(ceiling)),
                None => (floor_day, ceiling),
            };
            let mut listed = 0;
            let loaded = &*loaded;
            for_each_day(&loaded.frame, c.name, |i, d| {
                if (lo..=hi).contains(&d) {
                    return;
                }
                if limits.skip_out_of_span_dates {
                    if !drop[i] {
                        dropped.push((i, c.name, d));
                    }
                    drop[i] = true;
                    return;
                }
                if listed >= limits.per_column {
                    problems.suppressed += 1;
                    return;
                }
                listed += 1;
                problems.items.push(Problem {
                    at: Location {
                        file: file.clone(),
                        line: Some(loaded.line(i)),
                        column: Some(c.name.to_string()),
                    },
                    message: format!(
                        "{} is outside the book's span of dates, {} to {} (from the contracts' dates); \
                         a typo in the year? To drop such rows with a warning instead, set \
                         skip_out_of_span_dates = true under [data] in the config",
                        show(d),
                        show(lo),
                        show(hi)
                    ),
                });
            });
        }
        if let Some(&(i, col, d)) = dropped.first() {
            warnings.push(format!(
                "{file}: dropped {} row(s) with a date outside the book's span (skip_out_of_span_dates), \
                 for example line {} ({col} = {})",
                dropped.len(),
                loaded.line(i),
                show(d)
            ));
            let keep: BooleanChunked = drop.iter().map(|&d| !d).collect();
            match loaded.frame.filter(&keep) {
                Ok(f) => loaded.frame = f,
                Err(e) => problems.items.push(Problem {
                    at: Location {
                        file: file.clone(),
                        line: None,
                        column: None,
                    },
                    message: format!("internal error dropping out-of-span rows: {e}"),
                }),
            }
        }
    }
}
