//! The renewal forecast's files: `forecast.json` and `forecast.csv`. The CSV has a row per
//! period and segment: the model's horizon first (`period` `next_90_days`, `all` first),
//! then each of the next four quarters (`Q1` .. `Q4`, when the run fitted the hazard),
//! with the columns that apply to it (the quarters' ARR up for renewal and GRR are blank
//! for the horizon's rows; the horizon's churned-account counts are blank for the
//! quarters).

use std::path::Path;

use chrono::Duration;

use super::names;
use crate::analysis::forecast::Forecast;
use crate::common::dates;
use crate::error::Result;
use crate::input::io::{self, Format};
use crate::input::table::{Column, Table};

/// Writes the forecast into `out`.
pub fn write(f: &Forecast, out: &Path) -> Result<()> {
    super::ensure_dir(out)?;
    super::write_json(&out.join(names::FORECAST_JSON), f)?;
    io::write_table(&out.join(names::FORECAST_CSV), &table(f), Format::Csv)
}

/// A row of `forecast.csv`: every column, blank where it does not apply.
#[derive(Default)]
struct Line {
    period: String,
    start: Option<String>,
    end: Option<String>,
    segment: String,
    accounts: usize,
    arr: f64,
    arr_up_for_renewal: Option<f64>,
    expected_arr_start: Option<f64>,
    expected_churned_accounts: Option<f64>,
    churned_accounts_low: Option<i64>,
    churned_accounts_high: Option<i64>,
    expected_churned_arr: f64,
    churned_arr_low: f64,
    churned_arr_high: f64,
    contraction_rate: Option<f64>,
    expected_downsold_arr: Option<f64>,
    expected_grr: Option<f64>,
    grr_low: Option<f64>,
    grr_high: Option<f64>,
}

fn lines(f: &Forecast) -> Vec<Line> {
    let t = f.as_of.as_deref().and_then(dates::parse_date);
    let horizon = f.rows.iter().map(|r| Line {
        period: format!("next_{}_days", f.horizon_days),
        start: t.map(|t| t.to_string()),
        end: t.map(|t| (t + Duration::days(f.horizon_days - 1)).to_string()),
        segment: r.segment.clone(),
        accounts: r.accounts,
        arr: r.arr,
        expected_churned_accounts: Some(r.expected_churned_accounts),
        churned_accounts_low: Some(r.churned_accounts_low as i64),
        churned_accounts_high: Some(r.churned_accounts_high as i64),
        expected_churned_arr: r.expected_churned_arr,
        churned_arr_low: r.churned_arr_low,
        churned_arr_high: r.churned_arr_high,
        contraction_rate: r.contraction_rate,
        expected_downsold_arr: r.expected_downsold_arr,
        ..Line::default()
    });
    let mut quarters: Vec<&crate::analysis::quarters::QuarterRow> = f.quarters.iter().collect();
    // Quarter by quarter, `all` first within each.
    quarters.sort_by_key(|q| (q.quarter, q.segment != "all"));
    let quarters = quarters.into_iter().map(|q| Line {
        period: format!("Q{}", q.quarter),
        start: Some(q.start.to_string()),
        end: Some(q.end.to_string()),
        segment: q.segment.clone(),
        accounts: q.accounts,
        arr: q.arr,
        arr_up_for_renewal: Some(q.arr_up_for_renewal),
        expected_arr_start: Some(q.expected_arr_start),
        expected_churned_arr: q.expected_churned_arr,
        churned_arr_low: q.churned_arr_low,
        churned_arr_high: q.churned_arr_high,
        contraction_rate: q.contraction_rate,
        expected_downsold_arr: q.expected_downsold_arr,
        expected_grr: Some(q.expected_grr),
        grr_low: Some(q.grr_low),
        grr_high: Some(q.grr_high),
        ..Line::default()
    });
    horizon.chain(quarters).collect()
}

fn table(f: &Forecast) -> Table {
    let r = lines(f);
    let s = |g: &dyn Fn(&Line) -> Option<String>| Column::Str(r.iter().map(g).collect());
    let n = |g: &dyn Fn(&Line) -> Option<f64>| Column::Float(r.iter().map(g).collect());
    let i = |g: &dyn Fn(&Line) -> Option<i64>| Column::Int(r.iter().map(g).collect());
    Table::new()
        .with("period", s(&|x| Some(x.period.clone())))
        .with("period_start", s(&|x| x.start.clone()))
        .with("period_end", s(&|x| x.end.clone()))
        .with("segment", s(&|x| Some(x.segment.clone())))
        .with("accounts", i(&|x| Some(x.accounts as i64)))
        .with_rounded("arr", n(&|x| Some(x.arr)), 2)
        .with_rounded("arr_up_for_renewal", n(&|x| x.arr_up_for_renewal), 2)
        .with_rounded("expected_arr_start", n(&|x| x.expected_arr_start), 2)
        .with_rounded(
            "expected_churned_accounts",
            n(&|x| x.expected_churned_accounts),
            2,
        )
        .with("churned_accounts_low", i(&|x| x.churned_accounts_low))
        .with("churned_accounts_high", i(&|x| x.churned_accounts_high))
        .with_rounded(
            "expected_churned_arr",
            n(&|x| Some(x.expected_churned_arr)),
            2,
        )
        .with_rounded("churned_arr_low", n(&|x| Some(x.churned_arr_low)), 2)
        .with_rounded("churned_arr_high", n(&|x| Some(x.churned_arr_high)), 2)
        .with_rounded("contraction_rate", n(&|x| x.contraction_rate), 5)
        .with_rounded("expected_downsold_arr", n(&|x| x.expected_downsold_arr), 2)
        .with_rounded("expected_grr", n(&|x| x.expected_grr), 4)
        .with_rounded("grr_low", n(&|x| x.grr_low), 4)
        .with_rounded("grr_high", n(&|x| x.grr_high), 4)
}
