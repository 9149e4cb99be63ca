//! Adoption features from the product-usage table: activity, seats, breadth, sticky
//! features and trends, at whatever grain the table has (daily, weekly, monthly).

use rayon::prelude::*;

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

    // The rows as plain vectors (features and users numbered) and ordered by day: every
    // window below reads them directly, with no plan per snapshot.
    let by_day = DayIndex::new(&u, "day")?;
    let mut rows_of = UsageRows::of(&u, has_users, has_minutes)?;
    let sticky = if feat.sticky_features.is_empty() {
        choose_sticky(&rows_of, &by_day, rows, snapshot_dates, index)
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
    rows_of.mark_sticky(&sticky);
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
    let ud_by_day = user_days
        .as_ref()
        .map(|ud| DayIndex::new(ud, "day"))
        .transpose()?;
    let history = UsageHistory::of(&rows_of);
    let daily = grain == UsageGrain::Daily;
    // Every snapshot's window sums at once (in parallel; each is computed alone, so the
    // result does not depend on the thread count).
    let windows: Vec<Vec<(u32, WindowSums)>> = snapshot_dates
        .par_iter()
        .map(|t| rows_of.window_sums(&by_day, dates::to_days(*t) as i64, daily))
        .collect();
    for (s, (t, sums)) in snapshot_dates.iter().zip(&windows).enumerate() {
        let t = dates::to_days(*t) as i64;
        for (a, w) in sums {
            let Some(row) = index.row_of[s].get(*a as usize).copied().flatten() else {
                continue;
            };
            values.set("events_30d", row, Some(w.events_30d));
            values.set("events_prev_30d", row, Some(w.events_prev_30d));
            values.set("events_90d", row, Some(w.events_90d));
            values.set("features_used_30d", row, Some(w.features_30d as f64));
            values.set(
                "sticky_features_used_30d",
                row,
                Some(w.sticky_features_30d as f64),
            );
            if has_users {
                values.set("active_users_30d", row, Some(w.users_30d as f64));
                values.set("active_users_prev_30d", row, Some(w.users_prev_30d as f64));
                values.set("sticky_users_30d", row, Some(w.sticky_users_30d as f64));
            }
            if has_minutes {
                values.set("minutes_30d", row, Some(w.minutes_30d));
            }
            if daily {
                values.set("active_days_30d", row, Some(w.days_30d as f64));
            }
        }
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

/// The usage rows as plain vectors, with features and users numbered: what the window
/// sums read.
struct UsageRows {
    account: Vec<u32>,
    day: Vec<i64>,
    feature: Vec<u32>,
    /// Feature names by number.
    feature_names: Vec<String>,
    /// Whether each row's feature is sticky (set by [`UsageRows::mark_sticky`]).
    sticky: Vec<bool>,
    events: Vec<f64>,
    /// Numbered user ids (None: no user on the row, or no user_id column).
    user: Vec<Option<u32>>,
    minutes: Vec<Option<f64>>,
}

/// One account's sums over one snapshot's 90-day window: the usage features that count.
#[derive(Clone, Debug, Default)]
struct WindowSums {
    events_30d: f64,
    events_prev_30d: f64,
    events_90d: f64,
    minutes_30d: f64,
    features_30d: usize,
    sticky_features_30d: usize,
    users_30d: usize,
    users_prev_30d: usize,
    sticky_users_30d: usize,
    days_30d: usize,
}

/// Distinct values seen, counted at the end.
#[derive(Default)]
struct Seen {
    features: Vec<u32>,
    sticky_features: Vec<u32>,
    users: Vec<u32>,
    users_prev: Vec<u32>,
    sticky_users: Vec<u32>,
    days: Vec<i64>,
}

fn distinct<T: Ord>(v: &mut Vec<T>) -> usize {
    v.sort_unstable();
    v.dedup();
    v.len()
}

impl UsageRows {
    fn of(u: &DataFrame, has_users: bool, has_minutes: bool) -> Result<Self> {
        /// Numbers the values of a text column in order of first appearance.
        fn number(u: &DataFrame, name: &str) -> Result<(Vec<Option<u32>>, Vec<String>)> {
            let c = u.column(name).map_err(pe)?.str().map_err(pe)?;
            let mut ids: HashMap<&str, u32> = HashMap::new();
            let mut names = Vec::new();
            let v = c
                .iter()
                .map(|v| {
                    v.map(|v| {
                        *ids.entry(v).or_insert_with(|| {
                            names.push(v.to_string());
                            names.len() as u32 - 1
                        })
                    })
                })
                .collect();
            Ok((v, names))
        }
        let f64s = |name: &str| -> Result<Vec<Option<f64>>> {
            let c = u
                .column(name)
                .map_err(pe)?
                .cast(&DataType::Float64)
                .map_err(pe)?;
            Ok(c.f64().map_err(pe)?.iter().collect())
        };
        let n = u.height();
        let (feature, feature_names) = number(u, "feature")?;
        Ok(UsageRows {
            account: u
                .column("account_idx")
                .map_err(pe)?
                .u32()
                .map_err(pe)?
                .iter()
                .map(|a| a.unwrap_or(u32::MAX))
                .collect(),
            day: u
                .column("day")
                .map_err(pe)?
                .i32()
                .map_err(pe)?
                .iter()
                .map(|d| d.map_or(i64::MIN, i64::from))
                .collect(),
            feature: feature.into_iter().map(|f| f.unwrap_or(u32::MAX)).collect(),
            feature_names,
            sticky: vec![false; n],
            events: f64s("events")?
                .into_iter()
                .map(|e| e.unwrap_or(0.0))
                .collect(),
            user: if has_users {
                number(u, "user_id")?.0
            } else {
                vec![None; n]
            },
            minutes: if has_minutes {
                f64s("minutes")?
            } else {
                vec![None; n]
            },
        })
    }

    fn mark_sticky(&mut self, sticky: &[String]) {
        let flag: Vec<bool> = self
            .feature_names
            .iter()
            .map(|f| sticky.contains(f))
            .collect();
        for (s, f) in self.sticky.iter_mut().zip(&self.feature) {
            *s = flag.get(*f as usize).copied().unwrap_or(false);
        }
    }

    /// Per account with a row in `[t - 90, t)`, its sums; accounts in ascending order.
    /// Rows are read in table order, so each sum adds in the order a filter would.
    fn window_sums(&self, by_day: &DayIndex, t: i64, daily: bool) -> Vec<(u32, WindowSums)> {
        let mut rows = by_day.rows_between(t - 90, t);
        rows.sort_unstable();
        let mut acc: BTreeMap<u32, (WindowSums, Seen)> = BTreeMap::new();
        for i in rows {
            let i = i as usize;
            let (w, seen) = acc.entry(self.account[i]).or_default();
            let d = self.day[i];
            let e = self.events[i];
            w.events_90d += e;
            if d >= t - 30 {
                w.events_30d += e;
                if let Some(m) = self.minutes[i] {
                    w.minutes_30d += m;
                }
                seen.features.push(self.feature[i]);
                if self.sticky[i] {
                    seen.sticky_features.push(self.feature[i]);
                }
                if let Some(u) = self.user[i] {
                    seen.users.push(u);
                    if self.sticky[i] {
                        seen.sticky_users.push(u);
                    }
                }
                if daily {
                    seen.days.push(d);
                }
            } else if d >= t - 60 {
                w.events_prev_30d += e;
                if let Some(u) = self.user[i] {
                    seen.users_prev.push(u);
                }
            }
        }
        acc.into_iter()
            .map(|(a, (mut w, mut seen))| {
                w.features_30d = distinct(&mut seen.features);
                w.sticky_features_30d = distinct(&mut seen.sticky_features);
                w.users_30d = distinct(&mut seen.users);
                w.users_prev_30d = distinct(&mut seen.users_prev);
                w.sticky_users_30d = distinct(&mut seen.sticky_users);
                w.days_30d = distinct(&mut seen.days);
                (a, w)
            })
            .collect()
    }
}

/// Per account its distinct usage days, and per feature its first day: what "the last
/// activity before t" and "the features offered before t" need, for every snapshot at once.
struct UsageHistory {
    days: Vec<Vec<i64>>,
    first_use: Vec<i64>,
}

impl UsageHistory {
    fn of(u: &UsageRows) -> Self {
        let mut days: Vec<Vec<i64>> = Vec::new();
        let mut first = vec![i64::MAX; u.feature_names.len()];
        for ((&a, &d), &f) in u.account.iter().zip(&u.day).zip(&u.feature) {
            // Validated rows always have both; a missing one is skipped, not trusted.
            if a == u32::MAX || d == i64::MIN {
                continue;
            }
            let a = a as usize;
            if days.len() <= a {
                days.resize(a + 1, Vec::new());
            }
            days[a].push(d);
            if let Some(e) = first.get_mut(f as usize) {
                *e = (*e).min(d);
            }
        }
        for d in &mut days {
            d.sort_unstable();
            d.dedup();
        }
        first.sort_unstable();
        UsageHistory {
            days,
            first_use: first,
        }
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
fn choose_sticky(
    u: &UsageRows,
    by_day: &DayIndex,
    rows: &[SpineRow],
    snapshot_dates: &[NaiveDate],
    index: &Index,
) -> Vec<String> {
    let mut labelled: Vec<usize> = (0..snapshot_dates.len())
        .filter(|s| rows.iter().any(|r| r.snapshot == *s && r.label.is_some()))
        .collect();
    labelled.truncate(labelled.len().div_ceil(2));
    let mut users: HashMap<String, Vec<usize>> = HashMap::new();
    let mut considered: Vec<usize> = Vec::new();
    for &s in &labelled {
        let t = dates::to_days(snapshot_dates[s]) as i64;
        let mut pairs: Vec<(u32, u32)> = by_day
            .rows_between(t - 30, t)
            .into_iter()
            .map(|i| (u.account[i as usize], u.feature[i as usize]))
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        for (a, f) in pairs {
            if let (Some(row), Some(name)) = (
                index.row_of[s]
                    .get(a as usize)
                    .copied()
                    .flatten()
                    .filter(|r| rows[*r].label.is_some()),
                u.feature_names.get(f as usize),
            ) {
                users.entry(name.clone()).or_default().push(row);
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
        return Vec::new();
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
    scored
        .into_iter()
        .filter(|(lift, _)| *lift > 1.0)
        .take(3)
        .map(|(_, f)| f)
        .collect()
}

/// Events of each product feature (the usage table's `feature` column) in two ranges of
/// days, `[lo, hi)` each: `(feature, events in a, events in b)`, by feature name. Empty
/// without a usage table. For the drift check: an instrumentation change that doubles one
/// feature's events shows here before any account-level feature moves much.
pub fn events_by_feature(
    book: &Book,
    a: (i32, i32),
    b: (i32, i32),
) -> Result<Vec<(String, f64, f64)>> {
    let Some((u, day)) = book.event_day("usage") else {
        return Ok(Vec::new());
    };
    let within = |(lo, hi): (i32, i32)| col("day").gt_eq(lit(lo)).and(col("day").lt(lit(hi)));
    let sums = u
        .clone()
        .lazy()
        .select([
            day.alias("day"),
            col("feature"),
            col("events").cast(DataType::Float64),
        ])
        .group_by([col("feature")])
        .agg([
            col("events").filter(within(a)).sum().alias("a"),
            col("events").filter(within(b)).sum().alias("b"),
        ])
        .sort(["feature"], SortMultipleOptions::default())
        .collect()
        .map_err(pe)?;
    let name = sums
        .column("feature")
        .map_err(pe)?
        .str()
        .map_err(pe)?
        .clone();
    let sa = sums.column("a").map_err(pe)?.f64().map_err(pe)?.clone();
    let sb = sums.column("b").map_err(pe)?.f64().map_err(pe)?.clone();
    Ok(name
        .iter()
        .zip(sa.iter().zip(sb.iter()))
        .filter_map(|(n, (x, y))| Some((n?.to_string(), x.unwrap_or(0.0), y.unwrap_or(0.0))))
        .collect())
}
