//! Commercial features from the invoices table: late and unpaid invoices.

use chrono::NaiveDate;
use polars::prelude::*;

use super::window::{Index, Values, day_col, fill_aggregates, pe};
use crate::common::dates;
use crate::error::Result;

pub(super) fn invoice_features(
    inv: &DataFrame,
    snapshot_dates: &[NaiveDate],
    index: &Index,
    values: &mut Values,
) -> Result<()> {
    let v = inv
        .clone()
        .lazy()
        .select([
            col("account_idx"),
            day_col("due_date").alias("due"),
            col("amount"),
            day_col("paid_date").alias("paid"),
        ])
        .collect()
        .map_err(pe)?;
    for (s, t) in snapshot_dates.iter().enumerate() {
        let t = dates::to_days(*t) as i64;
        let unpaid_at_t = col("paid").is_null().or(col("paid").gt_eq(lit(t)));
        let overdue = col("due").lt(lit(t - 30)).and(unpaid_at_t.clone());
        let settled = when(unpaid_at_t)
            .then(lit(t))
            .otherwise(col("paid").cast(DataType::Int64));
        let aggs = vec![
            col("due")
                .filter(overdue.clone())
                .count()
                .alias("overdue_invoices_30d"),
            col("amount")
                .filter(overdue)
                .sum()
                .alias("overdue_amount_30d"),
            (settled - col("due").cast(DataType::Int64))
                .cast(DataType::Float64)
                .filter(col("due").gt_eq(lit(t - 365)))
                .mean()
                .alias("avg_days_late_365d"),
        ];
        fill_aggregates(&v, Some(col("due").lt(lit(t))), aggs, s, index, values)?;
    }
    Ok(())
}
