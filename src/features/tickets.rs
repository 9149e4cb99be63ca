//! Support features from the tickets table: volume, severity, open backlog, resolution
//! and trends.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use polars::prelude::*;

use super::window::{Index, Values, ensure_scratch, fill_aggregates, in_window, pe};
use crate::book::snapshot::SpineRow;
use crate::common::dates::{self, MS_PER_DAY};
use crate::error::Result;

pub(super) fn ticket_features(
    tickets: &DataFrame,
    rows: &[SpineRow],
    snapshot_dates: &[NaiveDate],
    index: &Index,
    values: &mut Values,
    unavailable: &mut BTreeMap<String, String>,
) -> Result<()> {
    ensure_scratch(values, rows.len());
    let names: Vec<&str> = tickets
        .get_column_names()
        .iter()
        .map(|s| s.as_str())
        .collect();
    let has_csat = names.contains(&"csat");
    let has_esc = names.contains(&"escalated");
    if !has_csat {
        unavailable.insert("csat_avg_90d".into(), "tickets has no csat column".into());
    }
    if !has_esc {
        unavailable.insert(
            "escalations_90d".into(),
            "tickets has no escalated column".into(),
        );
    }
    let mut select = vec![
        col("account_idx"),
        col("opened_at").cast(DataType::Int64).alias("opened"),
        col("closed_at").cast(DataType::Int64).alias("closed"),
        col("priority")
            .eq(lit("p1"))
            .or(col("priority").eq(lit("p2")))
            .alias("high"),
    ];
    if has_csat {
        select.push(col("csat"));
    }
    if has_esc {
        select.push(col("escalated").cast(DataType::Float64).alias("escalated"));
    }
    let tk = tickets
        .clone()
        .lazy()
        .select(select)
        .collect()
        .map_err(pe)?;
    // Opening times per account, sorted, for the 7-day spike.
    let opened_by = opening_times(&tk)?;
    let day = MS_PER_DAY;
    for (s, t) in snapshot_dates.iter().enumerate() {
        let t = dates::to_days(*t) as i64 * day;
        let open_at_t = col("closed").is_null().or(col("closed").gt_eq(lit(t)));
        let mut aggs = vec![
            col("opened")
                .filter(col("opened").gt_eq(lit(t - 30 * day)))
                .count()
                .alias("tickets_30d"),
            col("opened")
                .filter(in_window("opened", t - 60 * day, t - 30 * day))
                .count()
                .alias("tickets_prev_30d"),
            col("opened")
                .filter(col("opened").gt_eq(lit(t - 90 * day)))
                .count()
                .alias("tickets_90d"),
            col("opened")
                .filter(col("opened").gt_eq(lit(t - 30 * day)).and(col("high")))
                .count()
                .alias("high_priority_tickets_30d"),
            col("opened")
                .filter(open_at_t.clone())
                .count()
                .alias("open_tickets"),
            col("opened")
                .filter(
                    open_at_t
                        .and(col("high"))
                        .and(col("opened").lt(lit(t - 10 * day))),
                )
                .count()
                .alias("p1p2_open_over_10d"),
            ((col("closed") - col("opened")).cast(DataType::Float64) / lit(3_600_000.0))
                .filter(in_window("closed", t - 90 * day, t))
                .mean()
                .alias("avg_resolution_hours_90d"),
        ];
        if has_esc {
            aggs.push(
                col("escalated")
                    .filter(col("opened").gt_eq(lit(t - 90 * day)))
                    .sum()
                    .alias("escalations_90d"),
            );
        }
        if has_csat {
            aggs.push(
                col("csat")
                    .filter(in_window("closed", t - 90 * day, t))
                    .mean()
                    .alias("csat_avg_90d"),
            );
        }
        fill_aggregates(&tk, Some(col("opened").lt(lit(t))), aggs, s, index, values)?;
        // Spike: most tickets opened in any 7-day span within the last 90 days.
        for (a, row) in index.row_of[s].iter().enumerate() {
            let Some(row) = row else { continue };
            let Some(times) = opened_by.get(&(a as u32)) else {
                continue;
            };
            let lo = times.partition_point(|x| *x < t - 90 * day);
            let hi = times.partition_point(|x| *x < t);
            let best = most_within(&times[lo..hi], 7 * day);
            values.set("max_tickets_7d_90d", *row, Some(best as f64));
        }
    }
    Ok(())
}

/// Each account's ticket opening times (ms), sorted.
fn opening_times(tk: &DataFrame) -> Result<HashMap<u32, Vec<i64>>> {
    let sorted = tk
        .clone()
        .lazy()
        .select([col("account_idx"), col("opened")])
        .sort_by_exprs(
            [col("account_idx"), col("opened")],
            SortMultipleOptions::default(),
        )
        .collect()
        .map_err(pe)?;
    let mut opened_by: HashMap<u32, Vec<i64>> = HashMap::new();
    let accs = sorted
        .column("account_idx")
        .map_err(pe)?
        .u32()
        .map_err(pe)?
        .clone();
    let opens = sorted
        .column("opened")
        .map_err(pe)?
        .i64()
        .map_err(pe)?
        .clone();
    for (a, o) in accs.iter().zip(opens.iter()) {
        if let (Some(a), Some(o)) = (a, o) {
            opened_by.entry(a).or_default().push(o);
        }
    }
    Ok(opened_by)
}

/// The most of the sorted `times` that fall within any span shorter than `span`.
fn most_within(times: &[i64], span: i64) -> usize {
    let mut best = 0usize;
    let mut j = 0usize;
    for i in 0..times.len() {
        while times[i] - times[j] >= span {
            j += 1;
        }
        best = best.max(i - j + 1);
    }
    best
}
