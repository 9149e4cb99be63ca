//! Sentiment features from the NPS responses: the latest score, its change, detractors.

use chrono::NaiveDate;
use polars::prelude::*;

use super::window::{Index, Values, day_col, ensure_scratch, fill_aggregates, pe};
use crate::common::dates;
use crate::error::Result;

pub(super) fn nps_features(
    nps: &DataFrame,
    snapshot_dates: &[NaiveDate],
    index: &Index,
    values: &mut Values,
) -> Result<()> {
    ensure_scratch(
        values,
        index
            .row_of
            .first()
            .map(|_| values.cols["arr"].len())
            .unwrap_or(0),
    );
    let n = nps
        .clone()
        .lazy()
        .select([
            col("account_idx"),
            day_col("date").alias("day"),
            col("score"),
        ])
        .sort_by_exprs(
            [col("account_idx"), col("day"), col("score")],
            SortMultipleOptions::default(),
        )
        .collect()
        .map_err(pe)?;
    for (s, t) in snapshot_dates.iter().enumerate() {
        let t = dates::to_days(*t) as i64;
        let recent = col("day").gt_eq(lit(t - 180));
        let aggs = vec![
            col("score").last().alias("nps_last"),
            col("score").shift(lit(1)).last().alias("nps_prev"),
            (lit(t) - col("day").max()).alias("days_since_nps"),
            col("score")
                .filter(recent.clone())
                .count()
                .alias("nps_responses_180d"),
            col("score")
                .filter(recent.clone().and(col("score").gt_eq(lit(9.0))))
                .count()
                .alias("promoters_180d"),
            col("score")
                .filter(recent.and(col("score").lt_eq(lit(6.0))))
                .count()
                .alias("detractors_180d"),
        ];
        fill_aggregates(&n, Some(col("day").lt(lit(t))), aggs, s, index, values)?;
    }
    Ok(())
}
