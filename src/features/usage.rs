//! Adoption features from the product-usage table: activity, seats, breadth, sticky
//! features and trends, at whatever grain the table has (daily, weekly, monthly).

use std::borrow::Cow;

use rayon::prelude::*;

use super::*;

/// The grain of the usage table: the median gap between consecutive distinct dates of the
/// same account, user and feature, over a sample of accounts.
fn detect_grain(u: &UsageRows) -> UsageGrain {
    let mut sample: Vec<(u32, u32, u32, i32)> = (0..u.len())
        .filter(|&i| u.account[i] < 400 && u.kept(i))
        .map(|i| (u.account[i], u.feature[i], u.user_of(i), u.day[i]))
        .collect();
    sample.sort_unstable();
    sample.dedup();
    let mut gaps: Vec<i32> = sample
        .windows(2)
        .filter(|w| w[0].0 == w[1].0 && w[0].1 == w[1].1 && w[0].2 == w[1].2)
        .map(|w| w[1].3 - w[0].3)
        .collect();
    if gaps.is_empty() {
        return UsageGrain::Daily;
    }
    gaps.sort_unstable();
    let median = gaps[gaps.len() / 2];
    if median <= 3 {
        UsageGrain::Daily
    } else if median <= 10 {
        UsageGrain::Weekly
    } else {
        UsageGrain::Monthly
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn usage_features(
    usage: &Loaded,
    rows: &[SpineRow],
    snapshot_dates: &[NaiveDate],
    index: &Index,
    feat: &FeatureConfig,
    values: &mut Values,
    unavailable: &mut BTreeMap<String, String>,
) -> Result<(Vec<String>, UsageGrain)> {
    ensure_scratch(values, rows.len());
    // The frame's own columns, read in place: no copy of a table that can hold most of
    // a large book's memory.
    let mut rows_of = UsageRows::of(usage)?;
    let (has_users, has_minutes) = (rows_of.user.is_some(), rows_of.minutes.is_some());
    let grain = detect_grain(&rows_of);
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

    // Every window below reads the rows through one index by day: no plan per snapshot.
    let by_day = DayIndex::of_days(&rows_of.day, |i| rows_of.kept(i));
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
    let history = UsageHistory::of(&rows_of, &by_day);
    let daily = grain == UsageGrain::Daily;
    // The snapshots' window sums, as many at once as there are threads (each is computed
    // alone, so the result does not depend on the thread count; a batch at a time keeps
    // only that many snapshots' sums in memory).
    let batch = rayon::current_num_threads().max(1);
    for (b, ts) in snapshot_dates.chunks(batch).enumerate() {
        let sums: Vec<Vec<(u32, WindowSums)>> = ts
            .par_iter()
            .map(|t| rows_of.window_sums(&by_day, dates::to_days(*t) as i64, daily))
            .collect();
        for (k, (t, sums)) in ts.iter().zip(&sums).enumerate() {
            let s = b * batch + k;
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
                    if has_users {
                        values.set("user_days_30d", row, Some(w.user_days_30d as f64));
                    }
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
    }
    Ok((sticky, grain))
}

/// The usage rows ordered by day, to cut a window of days out of them without a pass over
/// the whole table: one sort instead of one filter per snapshot.
struct DayIndex {
    /// Row positions, by (day, position).
    order: Vec<u32>,
    /// Each distinct day, ascending, with the index in `order` of its first row.
    starts: Vec<(i32, usize)>,
}

impl DayIndex {
    /// An index of the rows `keep` accepts, by their days (`days[i]` is row i's day).
    fn of_days(days: &[i32], keep: impl Fn(usize) -> bool) -> Self {
        let mut order: Vec<u32> = (0..days.len() as u32)
            .filter(|&i| keep(i as usize))
            .collect();
        order.sort_by_key(|&i| (days[i as usize], i));
        let mut starts: Vec<(i32, usize)> = Vec::new();
        for (k, &i) in order.iter().enumerate() {
            let d = days[i as usize];
            if starts.last().is_none_or(|&(last, _)| last != d) {
                starts.push((d, k));
            }
        }
        DayIndex { order, starts }
    }

    /// Positions of the rows with `lo <= day < hi`, by day.
    fn rows_between(&self, lo: i64, hi: i64) -> Vec<u32> {
        let at = |t: i64| {
            let k = self.starts.partition_point(|&(d, _)| i64::from(d) < t);
            self.starts
                .get(k)
                .map_or(self.order.len(), |&(_, start)| start)
        };
        let (a, b) = (at(lo), at(hi));
        self.order[a..b.max(a)].to_vec()
    }
}

/// The user code of a row without a user (or of every row without a user_id column).
const NO_USER: u32 = u32::MAX;

/// The usage rows as the windows read them, borrowed from the validated frame where its
/// columns are contiguous and without gaps (copied with a stand-in for a gap otherwise):
/// accounts, days, feature and user codes, events and minutes. A row without events is
/// skipped by every reader ([`UsageRows::kept`]).
struct UsageRows<'a> {
    account: Cow<'a, [u32]>,
    day: Cow<'a, [i32]>,
    feature: Cow<'a, [u32]>,
    /// Feature names by code.
    feature_names: &'a [String],
    /// Whether each feature code is sticky (set by [`UsageRows::mark_sticky`]).
    sticky: Vec<bool>,
    events: Cow<'a, [f64]>,
    /// User codes ([`NO_USER`] on a row without one); None without a user_id column.
    user: Option<Cow<'a, [u32]>>,
    /// Minutes (NaN on a row without them); None without a minutes column.
    minutes: Option<Cow<'a, [f64]>>,
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
    /// Distinct (user, day) pairs: daily active users summed over the days.
    user_days_30d: usize,
}

/// Distinct values seen, counted at the end.
#[derive(Default)]
struct Seen {
    features: Vec<u32>,
    sticky_features: Vec<u32>,
    users: Vec<u32>,
    users_prev: Vec<u32>,
    sticky_users: Vec<u32>,
    days: Vec<i32>,
    user_days: Vec<(u32, i32)>,
}

fn distinct<T: Ord>(v: &mut Vec<T>) -> usize {
    v.sort_unstable();
    v.dedup();
    v.len()
}

/// A numeric column as a slice: borrowed when it is one chunk without nulls, else copied
/// with `none` standing in for each null.
fn slice<T: PolarsNumericType>(ca: &ChunkedArray<T>, none: T::Native) -> Cow<'_, [T::Native]> {
    match ca.cont_slice() {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(ca.iter().map(|v| v.unwrap_or(none)).collect()),
    }
}

impl<'a> UsageRows<'a> {
    fn of(usage: &'a Loaded) -> Result<Self> {
        let u = &usage.frame;
        let column = |name: &str| u.column(name).map_err(pe);
        let optional = |name: &str| u.column(name).ok();
        let date = column("date")?;
        let day = match date.dtype() {
            DataType::Date => slice(date.date().map_err(pe)?.physical(), i32::MIN),
            _ => Cow::Owned(
                date.cast(&DataType::Int32)
                    .map_err(pe)?
                    .i32()
                    .map_err(pe)?
                    .iter()
                    .map(|d| d.unwrap_or(i32::MIN))
                    .collect(),
            ),
        };
        let feature_names = usage.names("feature").ok_or_else(|| {
            Error::Internal("the usage table's feature column is not coded".into())
        })?;
        Ok(UsageRows {
            account: slice(column("account_idx")?.u32().map_err(pe)?, u32::MAX),
            day,
            feature: slice(column("feature")?.u32().map_err(pe)?, u32::MAX),
            feature_names,
            sticky: vec![false; feature_names.len()],
            events: slice(column("events")?.f64().map_err(pe)?, 0.0),
            user: optional("user_id")
                .map(|c| c.u32().map(|c| slice(c, NO_USER)))
                .transpose()
                .map_err(pe)?,
            minutes: optional("minutes")
                .map(|c| c.f64().map(|c| slice(c, f64::NAN)))
                .transpose()
                .map_err(pe)?,
        })
    }

    fn len(&self) -> usize {
        self.account.len()
    }

    /// Whether row `i` counts: it has events (a row of zero events is no use).
    fn kept(&self, i: usize) -> bool {
        self.events[i] > 0.0
    }

    fn user_of(&self, i: usize) -> u32 {
        self.user.as_ref().map_or(NO_USER, |u| u[i])
    }

    fn minutes_of(&self, i: usize) -> Option<f64> {
        self.minutes.as_ref().map(|m| m[i]).filter(|m| !m.is_nan())
    }

    fn is_sticky(&self, i: usize) -> bool {
        self.sticky
            .get(self.feature[i] as usize)
            .copied()
            .unwrap_or(false)
    }

    fn mark_sticky(&mut self, sticky: &[String]) {
        self.sticky = self
            .feature_names
            .iter()
            .map(|f| sticky.contains(f))
            .collect();
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
            let user = self.user_of(i);
            let sticky = self.is_sticky(i);
            w.events_90d += e;
            if i64::from(d) >= t - 30 {
                w.events_30d += e;
                if let Some(m) = self.minutes_of(i) {
                    w.minutes_30d += m;
                }
                seen.features.push(self.feature[i]);
                if sticky {
                    seen.sticky_features.push(self.feature[i]);
                }
                if user != NO_USER {
                    seen.users.push(user);
                    if sticky {
                        seen.sticky_users.push(user);
                    }
                }
                if daily {
                    seen.days.push(d);
                    seen.user_days.push((user, d));
                }
            } else if i64::from(d) >= t - 60 {
                w.events_prev_30d += e;
                if user != NO_USER {
                    seen.users_prev.push(user);
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
                w.user_days_30d = distinct(&mut seen.user_days);
                (a, w)
            })
            .collect()
    }
}

/// Per account its distinct usage days, and per feature its first day: what "the last
/// activity before t" and "the features offered before t" need, for every snapshot at once.
struct UsageHistory {
    days: Vec<Vec<i32>>,
    first_use: Vec<i32>,
}

impl UsageHistory {
    /// Read in day order, so each account's days arrive sorted and a repeat is dropped
    /// as it comes (no list of every row's day per account).
    fn of(u: &UsageRows, by_day: &DayIndex) -> Self {
        let mut days: Vec<Vec<i32>> = Vec::new();
        let mut first = vec![i32::MAX; u.feature_names.len()];
        for &i in &by_day.order {
            let i = i as usize;
            let (a, d, f) = (u.account[i], u.day[i], u.feature[i]);
            // Validated rows always have both; a missing one is skipped, not trusted.
            if a == u32::MAX || d == i32::MIN {
                continue;
            }
            let a = a as usize;
            if days.len() <= a {
                days.resize(a + 1, Vec::new());
            }
            if days[a].last() != Some(&d) {
                days[a].push(d);
            }
            if let Some(e) = first.get_mut(f as usize) {
                *e = (*e).min(d);
            }
        }
        first.sort_unstable();
        UsageHistory {
            days,
            first_use: first,
        }
    }

    fn features_before(&self, t: i64) -> usize {
        self.first_use.partition_point(|&d| i64::from(d) < t)
    }

    fn last_day_before(&self, account: usize, t: i64) -> Option<i64> {
        let d = self.days.get(account)?;
        d[..d.partition_point(|&x| i64::from(x) < t)]
            .last()
            .copied()
            .map(i64::from)
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
    let Some(usage) = book.tables.get("usage") else {
        return Ok(Vec::new());
    };
    // Read in place, one pass: no copy of the largest table.
    let u = UsageRows::of(usage)?;
    let within = |(lo, hi): (i32, i32), d: i32| lo <= d && d < hi;
    let mut sums: Vec<Option<(f64, f64)>> = vec![None; u.feature_names.len()];
    for i in 0..u.len() {
        let Some(s) = sums.get_mut(u.feature[i] as usize) else {
            continue;
        };
        let (sa, sb) = s.get_or_insert((0.0, 0.0));
        let (d, e) = (u.day[i], u.events[i]);
        if within(a, d) {
            *sa += e;
        }
        if within(b, d) {
            *sb += e;
        }
    }
    let mut out: Vec<(String, f64, f64)> = sums
        .into_iter()
        .zip(u.feature_names)
        .filter_map(|(s, name)| s.map(|(x, y)| (name.clone(), x, y)))
        .collect();
    out.sort_by(|x, y| x.0.cmp(&y.0));
    Ok(out)
}
