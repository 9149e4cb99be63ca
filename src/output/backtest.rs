//! The backtest's files: `backtest.json` (everything, with each cut's reliability table),
//! `backtest.csv` (one row per cut date) and `backtest_scores.csv` (every account scored
//! at every cut date, with what became of it).

use std::path::Path;

use super::{Written, names};
use crate::error::Result;
use crate::input::io::{self, Format};
use crate::input::table::{Column, Table};
use crate::workflow::backtest::Backtest;

/// Writes `backtest.json`, `backtest.csv` and `backtest_scores.csv` into `out`,
/// replacing the folder whole.
pub fn write(b: &Backtest, out: &Path) -> Result<Written> {
    super::staged(out, "backtest", |dir| write_files(b, dir))
}

fn write_files(b: &Backtest, out: &Path) -> Result<()> {
    super::write_json(&out.join(names::BACKTEST_JSON), b)?;
    let c = &b.cuts;
    let f = |g: &dyn Fn(&crate::workflow::backtest::CutResult) -> Option<f64>| {
        Column::Float(c.iter().map(g).collect())
    };
    let i = |g: &dyn Fn(&crate::workflow::backtest::CutResult) -> usize| {
        Column::Int(c.iter().map(|x| Some(g(x) as i64)).collect())
    };
    let t = Table::new()
        .with(
            "cut_date",
            Column::Str(c.iter().map(|x| Some(x.at.to_string())).collect()),
        )
        .with(
            "horizon_end",
            Column::Str(c.iter().map(|x| Some(x.horizon_end.to_string())).collect()),
        )
        .with("accounts", i(&|x| x.accounts))
        .with("resolved", i(&|x| x.resolved))
        .with("churned", i(&|x| x.churned))
        .with(
            "champion",
            Column::Str(
                c.iter()
                    .map(|x| Some(x.champion.name().to_string()))
                    .collect(),
            ),
        )
        .with_rounded("test_roc_auc", f(&|x| x.test_roc_auc), 4)
        .with_rounded("roc_auc", f(&|x| x.outcome.roc_auc), 4)
        .with_rounded("pr_auc", f(&|x| x.outcome.pr_auc), 4)
        .with_rounded("brier", f(&|x| Some(x.outcome.brier)), 4)
        .with_rounded(
            "calibration_error",
            f(&|x| Some(x.outcome.calibration_error)),
            4,
        )
        .with_rounded(
            "churn_capture_top10",
            f(&|x| Some(x.outcome.top_10.churn_capture)),
            4,
        )
        .with_rounded(
            "churn_capture_top20",
            f(&|x| Some(x.outcome.top_20.churn_capture)),
            4,
        )
        .with_rounded(
            "arr_capture_top10_by_arr_at_risk",
            f(&|x| x.arr_capture_top10_by_arr_at_risk),
            4,
        )
        .with_rounded(
            "arr_capture_top20_by_arr_at_risk",
            f(&|x| x.arr_capture_top20_by_arr_at_risk),
            4,
        )
        .with_rounded(
            "predicted_churned_arr",
            f(&|x| Some(x.predicted_churned_arr)),
            2,
        )
        .with_rounded(
            "predicted_churned_arr_low",
            f(&|x| Some(x.predicted_churned_arr_interval.0)),
            2,
        )
        .with_rounded(
            "predicted_churned_arr_high",
            f(&|x| Some(x.predicted_churned_arr_interval.1)),
            2,
        )
        .with_rounded("actual_churned_arr", f(&|x| Some(x.actual_churned_arr)), 2);
    io::write_table(&out.join(names::BACKTEST_CSV), &t, Format::Csv)?;
    let all: Vec<(
        &crate::workflow::backtest::CutResult,
        &crate::workflow::backtest::BacktestScore,
    )> = c
        .iter()
        .flat_map(|x| x.scores.iter().map(move |s| (x, s)))
        .collect();
    let scores = Table::new()
        .with(
            "cut_date",
            Column::Str(all.iter().map(|(x, _)| Some(x.at.to_string())).collect()),
        )
        .with(
            "account_id",
            Column::Str(
                all.iter()
                    .map(|(_, s)| Some(s.account_id.clone()))
                    .collect(),
            ),
        )
        .with(
            "status",
            Column::Str(
                all.iter()
                    .map(|(_, s)| Some(s.status.to_string()))
                    .collect(),
            ),
        )
        .with_rounded(
            "arr",
            Column::Float(all.iter().map(|(_, s)| Some(s.arr)).collect()),
            2,
        )
        .with_rounded(
            "churn_probability",
            Column::Float(all.iter().map(|(_, s)| Some(s.churn_probability)).collect()),
            4,
        )
        .with(
            "churned",
            Column::Int(all.iter().map(|(_, s)| s.churned.map(i64::from)).collect()),
        );
    io::write_table(&out.join(names::BACKTEST_SCORES_CSV), &scores, Format::Csv)
}
