//! Stages 4 and 5: the usage windows (`cl_f_usage`, as `features/usage.rs` computes them)
//! and the per-type family (`cl_f_per_type`, as `features/per_type.rs` does).

use super::Plan;
use crate::common::catalog::{self, PER_TYPE};
use crate::features::UsageGrain;

/// The usage rows every usage stage reads: rows of known accounts with a date and a
/// positive event count (a row with no events records no use).
fn usage_rows(p: &Plan) -> String {
    let d = p.dialect;
    format!(
        "usage_rows AS (
    SELECT x.account_id,
           CAST(x.date AS DATE) AS day,
           {feature} AS feature,
           {user} AS user_id,
           {events} AS events,
           {minutes} AS minutes
    FROM usage x
    JOIN cl_accounts a ON a.account_id = x.account_id
    WHERE x.date IS NOT NULL AND x.events > 0
)",
        user = if p.has("usage.user_id") {
            d.text("x.user_id")
        } else {
            "NULL".into()
        },
        events = d.float("x.events"),
        feature = super::normalized("x.feature"),
        minutes = if p.has("usage.minutes") {
            d.float("x.minutes")
        } else {
            "NULL".into()
        },
    )
}

fn in_list(p: &Plan, values: &[String]) -> String {
    values
        .iter()
        .map(|v| p.dialect.string(v))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `04_usage.sql`.
///
/// Written to run out of core: the usage rows are first reduced, each in its own table,
/// to what the windows count (sums per account and day; distinct account-day-feature and
/// account-day-user rows), and each window is its own statement, its distinct counts a
/// `SELECT DISTINCT` then a count (plain aggregates, which spill). The reduced rows join
/// the snapshot dates through the calendar tables (`calendar`) on the day, an equality,
/// and are grouped by account and snapshot date; the last day of use is a running
/// maximum over snapshot intervals (`running`). One statement that joined the raw rows
/// to the spine and counted distinct values there made DuckDB hold every joined row
/// (about 2.4 billion at 1,000,000 accounts of monthly usage): it spilled past 55 GB of
/// disk, then ran out of its 8 GB.
pub fn usage(p: &Plan) -> String {
    let d = p.dialect;
    let sticky = if p.sticky.is_empty() {
        "FALSE".to_string()
    } else {
        format!("feature IN ({})", in_list(p, &p.sticky))
    };
    let daily = p.grain == UsageGrain::Daily;
    let with_sticky = !p.sticky.is_empty();
    let rows = usage_rows(p);
    let mut stmts = vec![
        format!(
            "{create}
WITH {rows}
SELECT account_id, day, SUM(events) AS events, SUM(minutes) AS minutes
FROM usage_rows
GROUP BY account_id, day;",
            create = d.create("cl_usage_days")
        ),
        format!(
            "{create}
WITH {rows}
SELECT DISTINCT account_id, day, feature FROM usage_rows;",
            create = d.create("cl_usage_feature_days")
        ),
        format!(
            "{create}
WITH {rows}
SELECT DISTINCT account_id, day, user_id FROM usage_rows;",
            create = d.create("cl_usage_user_days")
        ),
    ];
    if with_sticky {
        stmts.push(format!(
            "{create}
WITH {rows}
SELECT DISTINCT account_id, day, user_id FROM usage_rows WHERE {sticky};",
            create = d.create("cl_usage_sticky_user_days")
        ));
    }
    stmts.push(calendar(p));
    // Rows `x` by the snapshot dates whose window holds their day: all of [t - 90, t),
    // its last 30 days (`band` 30) or the 30 before them (`band` 60).
    let window = |x: &str, band: Option<i64>| {
        let band = band.map_or(String::new(), |b| format!(" AND w.band = {b}"));
        format!("{x} x\n    JOIN cl_day_windows w ON w.day = x.day{band}")
    };
    stmts.push(format!(
        "{create}
SELECT x.account_id, w.t,
       SUM(CASE WHEN w.band = 30 THEN x.events ELSE 0 END) AS events_30d,
       SUM(CASE WHEN w.band = 60 THEN x.events ELSE 0 END) AS events_prev_30d,
       SUM(x.events) AS events_90d,
       SUM(CASE WHEN w.band = 30 AND x.minutes IS NOT NULL THEN x.minutes ELSE 0 END) AS minutes_30d,
       COUNT(CASE WHEN w.band = 30 THEN x.day END) AS days_30d
FROM {rows}
GROUP BY x.account_id, w.t;",
        create = d.create("cl_w_sums"),
        rows = window("cl_usage_days", None),
    ));
    // Distinct values per account and snapshot date over a window: distinct rows, then a
    // count.
    let mut count = |table: &str, rows: &str, what: &str, filter: &str, band: i64| {
        stmts.push(format!(
            "{create}
SELECT account_id, t, COUNT(*) AS n
FROM (
    SELECT DISTINCT x.account_id, w.t, {what} AS v
    FROM {rows}{filter}
) z
GROUP BY account_id, t;",
            create = d.create(table),
            rows = window(rows, Some(band)),
        ));
    };
    count(
        "cl_w_features",
        "cl_usage_feature_days",
        "x.feature",
        "\n    WHERE x.feature IS NOT NULL",
        30,
    );
    count(
        "cl_w_users",
        "cl_usage_user_days",
        "x.user_id",
        "\n    WHERE x.user_id IS NOT NULL",
        30,
    );
    count(
        "cl_w_users_prev",
        "cl_usage_user_days",
        "x.user_id",
        "\n    WHERE x.user_id IS NOT NULL",
        60,
    );
    if with_sticky {
        let only = format!("\n    WHERE x.{sticky}");
        count(
            "cl_w_sticky_features",
            "cl_usage_feature_days",
            "x.feature",
            &only,
            30,
        );
        let users = "\n    WHERE x.user_id IS NOT NULL";
        count(
            "cl_w_sticky_users",
            "cl_usage_sticky_user_days",
            "x.user_id",
            users,
            30,
        );
    }
    if daily {
        // Distinct (user, day) pairs, a missing user counting as one.
        let pair = format!("CONCAT(COALESCE(x.user_id, ''), '|', {})", d.text("x.day"));
        count("cl_w_user_days", "cl_usage_user_days", &pair, "", 30);
    }
    stmts.push(assemble(p, with_sticky, daily));
    format!(
        "-- Usage windows per spine row: [t - 90, t) and its last 30 and prior 30 days; the
-- last day of use before t; and the features offered (first used by any account) before
-- t, for breadth. Sticky features: {sticky_list}. Grain: {grain:?}{daily_note}.
-- The usage rows are reduced first (one table each), then each window is counted.
{stmts}
",
        sticky_list = if p.sticky.is_empty() {
            "none (the sticky features are unavailable)".to_string()
        } else {
            p.sticky.join(", ")
        },
        grain = p.grain,
        daily_note = if daily {
            ""
        } else {
            " (active days and DAU/MAU need daily rows: unavailable)"
        },
        stmts = stmts.join("\n\n"),
    )
}

/// The calendar of the usage stages, from the days with usage (a few hundred rows):
/// `cl_day_windows` says which snapshot dates hold a day in their last 90 days, and in
/// which band (30: the last 30 days, 60: the 30 before, 90: the rest);
/// `cl_day_buckets` gives the first snapshot date after the day, the first whose
/// counts to date include it. Usage rows join them on the day, an equality, so that no
/// statement joins a spine row to its account's whole history.
fn calendar(p: &Plan) -> String {
    let d = p.dialect;
    format!(
        "{create_windows}
SELECT x.day, dt.t,
       CASE WHEN x.day >= {t30} THEN 30 WHEN x.day >= {t60} THEN 60 ELSE 90 END AS band
FROM (SELECT DISTINCT day FROM cl_usage_days) x
JOIN cl_dates dt ON x.day >= {t90} AND x.day < dt.t;

{create_buckets}
SELECT x.day, MIN(dt.t) AS t
FROM (SELECT DISTINCT day FROM cl_usage_days) x
JOIN cl_dates dt ON dt.t > x.day
GROUP BY x.day;",
        create_windows = d.create("cl_day_windows"),
        create_buckets = d.create("cl_day_buckets"),
        t30 = d.minus_days("dt.t", 30),
        t60 = d.minus_days("dt.t", 60),
        t90 = d.minus_days("dt.t", 90),
    )
}

/// A running total to date per account and snapshot date: `per_interval` is a table of
/// sums per account and snapshot interval (`cl_day_buckets`' t); `columns` are the
/// window aggregates over it (`b` its rows, `{upto}` the frame). Its keys are the spine's
/// and the intervals' own, so that usage in a gap of an account's spine still counts.
fn running(p: &Plan, table: &str, per_interval: &str, columns: &str) -> String {
    format!(
        "{create}
WITH points AS (
    SELECT DISTINCT account_id, t FROM (
        SELECT account_id, t FROM cl_spine
        UNION ALL
        SELECT account_id, t FROM {per_interval}
    ) z
)
SELECT k.account_id, k.t,
{columns}
FROM points k
LEFT JOIN {per_interval} b ON b.account_id = k.account_id AND b.t = k.t;",
        create = p.dialect.create(table),
    )
}

/// The frame of `running`'s window aggregates.
const UPTO: &str = "OVER (PARTITION BY k.account_id ORDER BY k.t ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)";

/// The last statement of `04_usage.sql`: `cl_f_usage`, the window counts joined to the
/// spine, with the last day of use and the features offered.
fn assemble(p: &Plan, with_sticky: bool, daily: bool) -> String {
    let d = p.dialect;
    // Counts are NULL for a spine row without usage in [t - 90, t) (no `cl_w_sums` row),
    // as when they were counted over that window's rows; 0 when that window has rows but
    // the counted one has none. Counts no available feature needs are 0.
    let present = |v: &str| d.float(&format!("CASE WHEN w.account_id IS NOT NULL THEN {v} END"));
    let days = if daily { "w.days_30d" } else { "0" };
    let counts: [(&str, Option<&str>, &str); 7] = [
        ("features_30d", Some("cl_w_features"), ""),
        (
            "sticky_features_30d",
            with_sticky.then_some("cl_w_sticky_features"),
            "0",
        ),
        ("users_30d", Some("cl_w_users"), ""),
        ("users_prev_30d", Some("cl_w_users_prev"), ""),
        (
            "sticky_users_30d",
            with_sticky.then_some("cl_w_sticky_users"),
            "0",
        ),
        ("days_30d", None, days),
        ("user_days_30d", daily.then_some("cl_w_user_days"), "0"),
    ];
    let (mut joins, mut cols) = (Vec::new(), Vec::new());
    for (k, (col, table, otherwise)) in counts.into_iter().enumerate() {
        let value = match table {
            Some(t) => {
                joins.push(format!(
                    "LEFT JOIN {t} c{k} ON c{k}.account_id = s.account_id AND c{k}.t = s.t"
                ));
                format!("COALESCE(c{k}.n, 0)")
            }
            None => otherwise.to_string(),
        };
        cols.push(format!("       {} AS {col}", present(&value)));
    }
    format!(
        "{create_interval}
SELECT u.account_id, b.t, MAX(u.day) AS last_day
FROM cl_usage_days u
JOIN cl_day_buckets b ON b.day = u.day
GROUP BY u.account_id, b.t;

{last_use}

{create}
WITH first_use AS (
    SELECT feature, MIN(day) AS first_day FROM cl_usage_feature_days GROUP BY feature
),
offered AS (
    SELECT dt.t, COUNT(f.feature) AS offered
    FROM cl_dates dt
    LEFT JOIN first_use f ON f.first_day < dt.t
    GROUP BY dt.t
)
SELECT s.account_id, s.t,
       w.events_30d, w.events_prev_30d, w.events_90d, w.minutes_30d,
{cols},
       {since_last} AS days_since_last_activity,
       {offered} AS offered
FROM cl_spine s
LEFT JOIN cl_w_sums w ON w.account_id = s.account_id AND w.t = s.t
{joins}
LEFT JOIN cl_last_use l ON l.account_id = s.account_id AND l.t = s.t
LEFT JOIN offered o ON o.t = s.t;",
        create_interval = d.create("cl_last_use_interval"),
        last_use = running(
            p,
            "cl_last_use",
            "cl_last_use_interval",
            &format!("       MAX(b.last_day) {UPTO} AS last_day")
        ),
        create = d.create("cl_f_usage"),
        cols = cols.join(",\n"),
        joins = joins.join("\n"),
        since_last = d.days_between("s.t", "l.last_day"),
        offered = d.float("o.offered"),
    )
}

/// `05_per_type.sql`: the per-type family for the plan's event types.
///
/// Written to run out of core, like stage 4: the typed rows are summed per account, day
/// and type once, then join stage 4's calendar tables on the day. The windowed counts
/// are sums per account and snapshot date; the counts to date and the last day of each
/// type are sums per account and snapshot interval, run up each account's snapshots (a
/// window function over one row per account and interval, not one per usage row).
/// Joining each spine row to its account's history (the first version) held about a
/// dozen joined rows per usage row; running windows over every usage row (the second)
/// spilled 44 GB in two minutes at 1,000,000 accounts in DuckDB.
pub fn per_type(p: &Plan) -> String {
    let d = p.dialect;
    let (mut win, mut buckets, mut run, mut sums) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut metrics = Vec::new();
    for (k, ty) in p.usage_types.iter().enumerate() {
        let is = format!("y.feature = {}", d.string(ty));
        win.push(format!(
            "       SUM(CASE WHEN {is} THEN y.c30 ELSE 0 END) AS c30_{k},
       SUM(CASE WHEN {is} THEN y.c90 ELSE 0 END) AS c90_{k},
       SUM(CASE WHEN {is} THEN y.c90 - y.c30 ELSE 0 END) AS prior60_{k}"
        ));
        buckets.push(format!(
            "       SUM(CASE WHEN {is} THEN y.events ELSE 0 END) AS total_{k},
       MAX(CASE WHEN {is} THEN y.last_day END) AS last_{k}"
        ));
        run.push(format!(
            "       SUM(b.total_{k}) {UPTO} AS total_{k},
       MAX(b.last_{k}) {UPTO} AS last_{k}"
        ));
        sums.push(format!(
            "           COALESCE(w.c30_{k}, 0) AS c30_{k}, COALESCE(w.c90_{k}, 0) AS c90_{k},
           COALESCE(w.prior60_{k}, 0) AS prior60_{k},
           COALESCE(r.total_{k}, 0) AS total_{k}, r.last_{k} AS last_{k}"
        ));
        for m in PER_TYPE {
            if m.name == "per_user_30d" && !p.has("usage.user_id") {
                continue;
            }
            let expr = per_type_metric(p, m.name, k);
            metrics.push(format!(
                "       -- {}\n       {expr} AS {}",
                m.description.split(':').next().unwrap_or(m.description),
                d.column(&catalog::per_type_name(ty, m.name))
            ));
        }
    }
    for (a, b) in catalog::ratio_pairs(&p.usage_types, p.ratio_types) {
        metrics.push(format!(
            "       CASE WHEN s.tenure_days >= 7 AND c90_{b} > 0 THEN c90_{a} / c90_{b} END AS {}",
            d.column(&catalog::ratio_name(&p.usage_types[a], &p.usage_types[b]))
        ));
    }
    let types = if p.usage_types.is_empty() {
        "none".to_string()
    } else {
        p.usage_types.join(", ")
    };
    let (tables, sums) = if sums.is_empty() {
        (
            String::new(),
            "sums AS (
    SELECT s.account_id, s.t, 0 AS none_
    FROM cl_spine s
)"
            .to_string(),
        )
    } else {
        (
            typed_tables(p, &win.join(",\n"), &buckets.join(",\n"), &run.join(",\n")),
            format!(
                "sums AS (
    SELECT s.account_id, s.t,
{sums}
    FROM cl_spine s
    LEFT JOIN cl_typed_windows w ON w.account_id = s.account_id AND w.t = s.t
    LEFT JOIN cl_typed_running r ON r.account_id = s.account_id AND r.t = s.t
)",
                sums = sums.join(",\n"),
            ),
        )
    };
    let metrics = if metrics.is_empty() {
        String::new()
    } else {
        format!(",\n{}", metrics.join(",\n"))
    };
    format!(
        "-- The per-type family: for each event type ({types}), its events per 30 days of
-- exposure (an account younger than the window is scaled by the days it has lived, at
-- least 7), per active user, per seat, its share, its trend against the prior 60 days,
-- the days since its last event and its events to date.
{create_typed}
WITH {usage_rows}
SELECT account_id, day, feature, SUM(events) AS events
FROM usage_rows
WHERE feature IN ({in_types})
GROUP BY account_id, day, feature;
{tables}
{create}
WITH {sums},
rates AS (
    SELECT x.*, s.tenure_days, s.seats, u.users_30d, u.events_30d AS all_events_30d,
           CASE WHEN s.tenure_days < 30 THEN s.tenure_days ELSE 30 END AS exposure30,
           CASE WHEN s.tenure_days < 90 THEN s.tenure_days ELSE 90 END AS exposure90,
           CASE WHEN s.tenure_days - 30 < 60 THEN s.tenure_days - 30 ELSE 60 END AS exposure_prior
    FROM sums x
    JOIN cl_spine s ON s.account_id = x.account_id AND s.t = x.t
    LEFT JOIN cl_f_usage u ON u.account_id = x.account_id AND u.t = x.t
)
SELECT s.account_id, s.t{metrics}
FROM rates s;
",
        create = d.create("cl_f_per_type"),
        create_typed = d.create("cl_usage_typed"),
        usage_rows = usage_rows(p),
        in_types = if p.usage_types.is_empty() {
            "NULL".to_string()
        } else {
            in_list(p, &p.usage_types)
        },
    )
}

/// The sums of stage 5: windowed counts per account and snapshot date, counts per
/// account and snapshot interval, and their running totals. Each is summed per account,
/// date and type first (a narrow table), then pivoted to a column per type: grouping
/// the joined usage rows straight into a column per type (thirty sums per group) spilled
/// past 45 GB at 1,000,000 accounts in DuckDB, the narrow sums took 283 s.
fn typed_tables(p: &Plan, win: &str, buckets: &str, run: &str) -> String {
    let d = p.dialect;
    format!(
        "
{create_windows_long}
SELECT y.account_id, w.t, y.feature,
       SUM(CASE WHEN w.band = 30 THEN y.events ELSE 0 END) AS c30,
       SUM(y.events) AS c90
FROM cl_usage_typed y
JOIN cl_day_windows w ON w.day = y.day
GROUP BY y.account_id, w.t, y.feature;

{create_windows}
SELECT y.account_id, y.t,
{win}
FROM cl_typed_windows_long y
GROUP BY y.account_id, y.t;

{create_buckets_long}
SELECT y.account_id, b.t, y.feature, SUM(y.events) AS events, MAX(y.day) AS last_day
FROM cl_usage_typed y
JOIN cl_day_buckets b ON b.day = y.day
GROUP BY y.account_id, b.t, y.feature;

{create_buckets}
SELECT y.account_id, y.t,
{buckets}
FROM cl_typed_buckets_long y
GROUP BY y.account_id, y.t;

{running}
",
        create_windows_long = d.create("cl_typed_windows_long"),
        create_windows = d.create("cl_typed_windows"),
        create_buckets_long = d.create("cl_typed_buckets_long"),
        create_buckets = d.create("cl_typed_buckets"),
        running = running(p, "cl_typed_running", "cl_typed_buckets", run),
    )
}

/// Events of type k per 30 days over a window of `w` days.
fn rate(count: &str, exposure: &str) -> String {
    format!("CASE WHEN {exposure} >= 7 THEN {count} * 30.0 / {exposure} END")
}

/// One per-type metric of type `k`, from `rates`' columns.
fn per_type_metric(p: &Plan, metric: &str, k: usize) -> String {
    let r30 = rate(&format!("s.c30_{k}"), "s.exposure30");
    match metric {
        "events_30d" => r30,
        "events_90d" => rate(&format!("s.c90_{k}"), "s.exposure90"),
        "per_user_30d" => format!("CASE WHEN s.users_30d > 0 THEN ({r30}) / s.users_30d END"),
        "per_seat_30d" => format!("CASE WHEN s.seats > 0 THEN ({r30}) / s.seats END"),
        "share_30d" => {
            format!("CASE WHEN s.all_events_30d > 0 THEN s.c30_{k} / s.all_events_30d END")
        }
        "trend_30d" => format!(
            "CASE WHEN s.exposure_prior >= 15 AND ({r30}) IS NOT NULL
            THEN LN((({r30}) + 1) / (s.prior60_{k} * 30.0 / s.exposure_prior + 1)) END"
        ),
        "days_since" => p.dialect.days_between("s.t", &format!("s.last_{k}")),
        "events_total" => format!("s.total_{k}"),
        other => format!("NULL /* {other}: no SQL */"),
    }
}

/// The per-type metrics this module writes SQL for (a test ties them to the catalog).
#[cfg(test)]
pub fn has_per_type_sql(metric: &str) -> bool {
    !per_type_metric(&Plan::for_test(super::Dialect::DuckDb), metric, 0).contains("no SQL")
}
