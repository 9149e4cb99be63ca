//! Adoption features from the product-usage table: activity, seats, breadth, sticky
//! features and trends, at whatever grain the table has (daily, weekly, monthly).

use super::*;

/// The grain of the usage table: the median gap between consecutive distinct dates of the
/// same account, user and feature, over a sample of accounts.
pub(super) fn detect_grain(u: &DataFrame, has_users: bool) -> Result<UsageGrain> {
    let mut keys = vec![col("account_idx"), col("feature")];
    if has_users {
        keys.push(col("user_id"));
    }
    let sample = u
        .clone()
        .lazy()
        .filter(col("account_idx").lt(lit(400u32)))
        .select(
            [col("account_idx"), col("feature"), col("day")]
                .into_iter()
                .chain(has_users.then(|| col("user_id")))
                .collect::<Vec<_>>(),
        )
        .unique(None, UniqueKeepStrategy::First)
        .sort_by_exprs(
            keys.iter().cloned().chain([col("day")]).collect::<Vec<_>>(),
            SortMultipleOptions::default(),
        )
        .collect()
        .map_err(pe)?;
    let day: Vec<Option<i32>> = sample
        .column("day")
        .map_err(pe)?
        .i32()
        .map_err(pe)?
        .iter()
        .collect();
    let acc: Vec<Option<u32>> = sample
        .column("account_idx")
        .map_err(pe)?
        .u32()
        .map_err(pe)?
        .iter()
        .collect();
    let feat: Vec<Option<String>> = sample
        .column("feature")
        .map_err(pe)?
        .str()
        .map_err(pe)?
        .iter()
        .map(|x| x.map(str::to_string))
        .collect();
    let user: Vec<Option<String>> = if has_users {
        sample
            .column("user_id")
            .map_err(pe)?
            .str()
            .map_err(pe)?
            .iter()
            .map(|x| x.map(str::to_string))
            .collect()
    } else {
        vec![None; day.len()]
    };
    let mut gaps = Vec::new();
    for i in 1..day.len() {
        if acc[i] == acc[i - 1]
            && feat[i] == feat[i - 1]
            && user[i] == user[i - 1]
            && let (Some(a), Some(b)) = (day[i - 1], day[i])
        {
            gaps.push(b - a);
        }
    }
    if gaps.is_empty() {
        return Ok(UsageGrain::Daily);
    }
    gaps.sort_unstable();
    let median = gaps[gaps.len() / 2];
    Ok(if median <= 3 {
        UsageGrain::Daily
    } else if median <= 10 {
        UsageGrain::Weekly
    } else {
        UsageGrain::Monthly
    })
}

#[allow(clippy::too_many_arguments)]
pub(super) fn usage_features(
    usage: &DataFrame,
    rows: &[SpineRow],
    snapshot_dates: &[NaiveDate],
    index: &Index,
    feat: &FeatureConfig,
    values: &mut Values,
    unavailable: &mut BTreeMap<String, String>,
) -> Result<(Vec<String>, UsageGrain)> {
    ensure_scratch(values, rows.len());
    let names: Vec<&str> = usage
        .get_column_names()
        .iter()
        .map(|s| s.as_str())
        .collect();
    let has_users = names.contains(&"user_id");
    let has_minutes = names.contains(&"minutes");
    let mut select = vec![
        col("account_idx"),
        day_col("date").alias("day"),
        col("feature"),
        col("events"),
    ];
    if has_users {
        select.push(col("user_id"));
    }
    if has_minutes {
        select.push(col("minutes"));
    }
    let u = usage
        .clone()
        .lazy()
        .select(select)
        .filter(col("events").gt(lit(0.0)))
        .collect()
        .map_err(pe)?;
    let grain = detect_grain(&u, has_users)?;
    log::debug!("usage grain: {grain:?}");
    if !has_users {
        for n in [
            "active_users_30d",
            "active_users_change_30d",
            "seat_utilisation_30d",
            "sticky_user_share_30d",
            "events_per_active_user_30d",
            "dau_mau_30d",
        ] {
            unavailable.insert(n.into(), "usage has no user_id column".into());
        }
    }
    if !has_minutes {
        unavailable.insert("minutes_30d".into(), "usage has no minutes column".into());
    }
    if grain != UsageGrain::Daily {
        let why = format!("usage is dated at {grain:?} grain; active days need daily rows")
            .to_lowercase();
        unavailable.insert("active_days_30d".into(), why.clone());
        unavailable.insert("dau_mau_30d".into(), why);
    }

    let sticky = if feat.sticky_features.is_empty() {
        choose_sticky(&u, rows, snapshot_dates, index)?
    } else {
        feat.sticky_features.clone()
    };
    log::info!(
        "sticky features: {}",
        if sticky.is_empty() {
            "none found".to_string()
        } else {
            sticky.join(", ")
        }
    );
    let is_sticky = sticky.iter().fold(lit(false), |acc, s| {
        acc.or(col("feature").eq(lit(s.as_str())))
    });
    let u = u
        .lazy()
        .with_column(is_sticky.alias("sticky"))
        .collect()
        .map_err(pe)?;
    let user_days = if has_users && grain == UsageGrain::Daily {
        Some(
            u.clone()
                .lazy()
                .group_by([col("account_idx"), col("user_id"), col("day")])
                .agg([len()])
                .collect()
                .map_err(pe)?,
        )
    } else {
        None
    };

    // Each snapshot reads only its 90-day window of rows (and 30 days of user-days).
    let by_day = DayIndex::new(&u, "day")?;
    let ud_by_day = user_days
        .as_ref()
        .map(|ud| DayIndex::new(ud, "day"))
        .transpose()?;
    let history = UsageHistory::of(&u)?;
    for (s, t) in snapshot_dates.iter().enumerate() {
        let t = dates::to_days(*t) as i64;
        let last30 = col("day").gt_eq(lit(t - 30));
        let prev30 = in_window("day", t - 60, t - 30);
        let mut aggs = vec![
            col("events")
                .filter(last30.clone())
                .sum()
                .alias("events_30d"),
            col("events")
                .filter(prev30.clone())
                .sum()
                .alias("events_prev_30d"),
            col("events").sum().alias("events_90d"),
            col("feature")
                .filter(last30.clone())
                .n_unique()
                .alias("features_used_30d"),
            col("feature")
                .filter(last30.clone().and(col("sticky")))
                .n_unique()
                .alias("sticky_features_used_30d"),
        ];
        if has_users {
            let user = col("user_id").is_not_null();
            aggs.push(
                col("user_id")
                    .filter(last30.clone().and(user.clone()))
                    .n_unique()
                    .alias("active_users_30d"),
            );
            aggs.push(
                col("user_id")
                    .filter(prev30.clone().and(user.clone()))
                    .n_unique()
                    .alias("active_users_prev_30d"),
            );
            aggs.push(
                col("user_id")
                    .filter(last30.clone().and(user).and(col("sticky")))
                    .n_unique()
                    .alias("sticky_users_30d"),
            );
        }
        if has_minutes {
            aggs.push(
                col("minutes")
                    .filter(last30.clone())
                    .sum()
                    .alias("minutes_30d"),
            );
        }
        if grain == UsageGrain::Daily {
            aggs.push(
                col("day")
                    .filter(last30.clone())
                    .n_unique()
                    .alias("active_days_30d"),
            );
        }
        fill_aggregates(&by_day.window(&u, t - 90, t)?, None, aggs, s, index, values)?;
        // n_unique counts an empty filtered group as 0 only when present; the absent-zero
        // rule covers accounts without rows. Breadth needs the features seen before t.
        let offered = history.features_before(t) as f64;
        for (a, row) in index.row_of[s].iter().enumerate() {
            if let (Some(row), Some(last)) = (row, history.last_day_before(a, t)) {
                values.set("days_since_last_activity", *row, Some((t - last) as f64));
            }
        }
        if let (Some(ud), Some(by)) = (&user_days, &ud_by_day) {
            let aggs = vec![len().alias("user_days_30d")];
            fill_aggregates(&by.window(ud, t - 30, t)?, None, aggs, s, index, values)?;
        }
        for a in 0..index.row_of[s].len() {
            if let Some(row) = index.row_of[s][a] {
                let used = values.get("features_used_30d", row).unwrap_or(0.0);
                values.set(
                    "feature_breadth_30d",
                    row,
                    (offered > 0.0).then(|| used / offered),
                );
            }
        }
    }
    Ok((sticky, grain))
}

/// Per account its distinct usage days, and per feature its first day: what "the last
/// activity before t" and "the features offered before t" need, for every snapshot at once.
struct UsageHistory {
    days: Vec<Vec<i64>>,
    first_use: Vec<i64>,
}

impl UsageHistory {
    fn of(u: &DataFrame) -> Result<Self> {
        let acc = u.column("account_idx").map_err(pe)?.u32().map_err(pe)?;
        let day = u.column("day").map_err(pe)?.i32().map_err(pe)?;
        let feat = u.column("feature").map_err(pe)?.str().map_err(pe)?;
        let mut days: Vec<Vec<i64>> = Vec::new();
        let mut first: HashMap<&str, i64> = HashMap::new();
        for ((a, d), f) in acc.iter().zip(day.iter()).zip(feat.iter()) {
            let Some(d) = d.map(i64::from) else { continue };
            if let Some(a) = a.map(|a| a as usize) {
                if days.len() <= a {
                    days.resize(a + 1, Vec::new());
                }
                days[a].push(d);
            }
            if let Some(f) = f {
                let e = first.entry(f).or_insert(d);
                *e = (*e).min(d);
            }
        }
        for d in &mut days {
            d.sort_unstable();
            d.dedup();
        }
        let mut first_use: Vec<i64> = first.into_values().collect();
        first_use.sort_unstable();
        Ok(UsageHistory { days, first_use })
    }

    fn features_before(&self, t: i64) -> usize {
        self.first_use.partition_point(|&d| d < t)
    }

    fn last_day_before(&self, account: usize, t: i64) -> Option<i64> {
        let d = self.days.get(account)?;
        d[..d.partition_point(|&x| x < t)].last().copied()
    }
}

/// Data-driven sticky features: among the earliest half of the labelled snapshots (which
/// precede any out-of-time test period), the up-to-three features whose users churn least
/// relative to non-users, among features used by at least 5% of account-snapshots.
pub(super) fn choose_sticky(
    u: &DataFrame,
    rows: &[SpineRow],
    snapshot_dates: &[NaiveDate],
    index: &Index,
) -> Result<Vec<String>> {
    let mut labelled: Vec<usize> = (0..snapshot_dates.len())
        .filter(|s| rows.iter().any(|r| r.snapshot == *s && r.label.is_some()))
        .collect();
    labelled.truncate(labelled.len().div_ceil(2));
    let mut users: HashMap<String, Vec<usize>> = HashMap::new();
    let mut considered: Vec<usize> = Vec::new();
    let by_day = DayIndex::new(u, "day")?;
    for &s in &labelled {
        let t = dates::to_days(snapshot_dates[s]) as i64;
        let df = by_day
            .window(u, t - 30, t)?
            .lazy()
            .group_by([col("account_idx"), col("feature")])
            .agg([len()])
            .collect()
            .map_err(pe)?;
        let acc: Vec<Option<u32>> = df
            .column("account_idx")
            .map_err(pe)?
            .u32()
            .map_err(pe)?
            .iter()
            .collect();
        let feat = df.column("feature").map_err(pe)?.str().map_err(pe)?;
        for (a, f) in acc.iter().zip(feat.iter()) {
            if let (Some(a), Some(f)) = (a, f)
                && let Some(row) = index.row_of[s][*a as usize].filter(|r| rows[*r].label.is_some())
            {
                users.entry(f.to_string()).or_default().push(row);
            }
        }
        considered.extend(
            index.row_of[s]
                .iter()
                .flatten()
                .copied()
                .filter(|r| rows[*r].label.is_some()),
        );
    }
    let n = considered.len() as f64;
    let churners = considered
        .iter()
        .filter(|r| rows[**r].label == Some(true))
        .count() as f64;
    if n == 0.0 || churners < 10.0 {
        return Ok(Vec::new());
    }
    let mut scored: Vec<(f64, String)> = Vec::new();
    for (f, rs) in &users {
        let m = rs.len() as f64;
        if m < 0.05 * n || m >= n {
            continue;
        }
        let c_users = rs.iter().filter(|r| rows[**r].label == Some(true)).count() as f64;
        let rate_users = (c_users + 0.5) / (m + 1.0);
        let rate_non = (churners - c_users + 0.5) / (n - m + 1.0);
        scored.push((rate_non / rate_users, f.clone()));
    }
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    Ok(scored
        .into_iter()
        .filter(|(lift, _)| *lift > 1.0)
        .take(3)
        .map(|(_, f)| f)
        .collect())
}
