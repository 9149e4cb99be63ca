//! The renewal forecast's files: `forecast.json` and `forecast.csv` (a row per segment,
//! `all` first).

use std::path::Path;

use super::names;
use crate::analysis::forecast::{Forecast, Row};
use crate::error::Result;
use crate::input::io::{self, Format};
use crate::input::table::{Column, Table};

/// Writes the forecast into `out`.
pub fn write(f: &Forecast, out: &Path) -> Result<()> {
    super::ensure_dir(out)?;
    super::write_json(&out.join(names::FORECAST_JSON), f)?;
    let r = &f.rows;
    let n = |g: &dyn Fn(&Row) -> Option<f64>| Column::Float(r.iter().map(g).collect());
    let i = |g: &dyn Fn(&Row) -> usize| Column::Int(r.iter().map(|x| Some(g(x) as i64)).collect());
    let t = Table::new()
        .with(
            "segment",
            Column::Str(r.iter().map(|x| Some(x.segment.clone())).collect()),
        )
        .with(
            "horizon_days",
            Column::Int(vec![Some(f.horizon_days); r.len()]),
        )
        .with("accounts", i(&|x| x.accounts))
        .with_rounded("arr", n(&|x| Some(x.arr)), 2)
        .with_rounded(
            "expected_churned_accounts",
            n(&|x| Some(x.expected_churned_accounts)),
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
        .with_rounded("expected_downsold_arr", n(&|x| x.expected_downsold_arr), 2);
    io::write_table(&out.join(names::FORECAST_CSV), &t, Format::Csv)
}
