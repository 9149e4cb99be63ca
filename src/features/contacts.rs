//! Relationship features from the contacts table: executive sponsor and champion
//! presence and changes.

use chrono::NaiveDate;
use polars::prelude::*;

use super::window::{Index, Values, day_col, fill_aggregates, in_window, pe};
use crate::common::dates;
use crate::error::Result;

pub(super) fn contact_features(
    contacts: &DataFrame,
    snapshot_dates: &[NaiveDate],
    index: &Index,
    values: &mut Values,
) -> Result<()> {
    let c = contacts
        .clone()
        .lazy()
        .select([
            col("account_idx"),
            col("role"),
            day_col("start_date").alias("start"),
            day_col("end_date").alias("end"),
        ])
        .collect()
        .map_err(pe)?;
    for (s, t) in snapshot_dates.iter().enumerate() {
        let t = dates::to_days(*t) as i64;
        let active = col("start")
            .is_null()
            .or(col("start").lt(lit(t)))
            .and(col("end").is_null().or(col("end").gt_eq(lit(t))));
        let sponsor = col("role").eq(lit("executive_sponsor"));
        let champion = col("role").eq(lit("champion"));
        let left = in_window("end", t - 90, t);
        let aggs = vec![
            col("role")
                .filter(active.clone().and(sponsor.clone()))
                .count()
                .gt(lit(0))
                .alias("sponsor_present"),
            col("role")
                .filter(active.clone().and(champion.clone()))
                .count()
                .gt(lit(0))
                .alias("champion_present"),
            col("role")
                .filter(left.clone().and(sponsor.clone()))
                .count()
                .gt(lit(0))
                .alias("sponsor_left_90d"),
            col("role")
                .filter(left.and(champion))
                .count()
                .gt(lit(0))
                .alias("champion_left_90d"),
            (lit(t) - col("end").filter(sponsor.and(col("end").lt(lit(t)))).max())
                .alias("days_since_sponsor_left"),
            col("role").filter(active).count().alias("active_contacts"),
        ];
        fill_aggregates(&c, None, aggs, s, index, values)?;
    }
    Ok(())
}
