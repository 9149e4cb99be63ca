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
pub fn usage(p: &Plan) -> String {
    let d = p.dialect;
    let ago = |n: i64| d.minus_days("s.t", n);
    let sticky = if p.sticky.is_empty() {
        "FALSE".to_string()
    } else {
        format!("u.feature IN ({})", in_list(p, &p.sticky))
    };
    let daily = p.grain == UsageGrain::Daily;
    let user_day = format!("CONCAT(COALESCE(u.user_id, ''), '|', {})", d.text("u.day"));
    format!(
        "-- Usage windows per spine row: [t - 90, t) and its last 30 and prior 30 days; the
-- last day of use before t; and the features offered (first used by any account) before
-- t, for breadth. Sticky features: {sticky_list}. Grain: {grain:?}{daily_note}.
{create}
WITH {usage_rows},
windows AS (
    SELECT s.account_id, s.t,
           SUM(CASE WHEN u.day >= {t30} THEN u.events ELSE 0 END) AS events_30d,
           SUM(CASE WHEN u.day >= {t60} AND u.day < {t30} THEN u.events ELSE 0 END) AS events_prev_30d,
           SUM(u.events) AS events_90d,
           SUM(CASE WHEN u.day >= {t30} AND u.minutes IS NOT NULL THEN u.minutes ELSE 0 END) AS minutes_30d,
           COUNT(DISTINCT CASE WHEN u.day >= {t30} THEN u.feature END) AS features_30d,
           COUNT(DISTINCT CASE WHEN u.day >= {t30} AND {sticky} THEN u.feature END) AS sticky_features_30d,
           COUNT(DISTINCT CASE WHEN u.day >= {t30} THEN u.user_id END) AS users_30d,
           COUNT(DISTINCT CASE WHEN u.day >= {t60} AND u.day < {t30} THEN u.user_id END) AS users_prev_30d,
           COUNT(DISTINCT CASE WHEN u.day >= {t30} AND {sticky} THEN u.user_id END) AS sticky_users_30d,
           COUNT(DISTINCT CASE WHEN u.day >= {t30} THEN u.day END) AS days_30d,
           COUNT(DISTINCT CASE WHEN u.day >= {t30} THEN {user_day} END) AS user_days_30d
    FROM cl_spine s
    JOIN usage_rows u ON u.account_id = s.account_id AND u.day >= {t90} AND u.day < s.t
    GROUP BY s.account_id, s.t
),
use_days AS (
    SELECT DISTINCT account_id, day FROM usage_rows
),
last_use AS (
    SELECT s.account_id, s.t, MAX(u.day) AS last_day
    FROM cl_spine s
    JOIN use_days u ON u.account_id = s.account_id AND u.day < s.t
    GROUP BY s.account_id, s.t
),
first_use AS (
    SELECT feature, MIN(day) AS first_day FROM usage_rows GROUP BY feature
),
offered AS (
    SELECT dt.t, COUNT(f.feature) AS offered
    FROM cl_dates dt
    LEFT JOIN first_use f ON f.first_day < dt.t
    GROUP BY dt.t
)
SELECT s.account_id, s.t,
       w.events_30d, w.events_prev_30d, w.events_90d, w.minutes_30d,
{counts},
       {since_last} AS days_since_last_activity,
       {offered} AS offered
FROM cl_spine s
LEFT JOIN windows w ON w.account_id = s.account_id AND w.t = s.t
LEFT JOIN last_use l ON l.account_id = s.account_id AND l.t = s.t
LEFT JOIN offered o ON o.t = s.t;
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
        create = d.create("cl_f_usage"),
        usage_rows = usage_rows(p),
        t30 = ago(30),
        t60 = ago(60),
        t90 = ago(90),
        since_last = d.days_between("s.t", "l.last_day"),
        counts = [
            "features_30d",
            "sticky_features_30d",
            "users_30d",
            "users_prev_30d",
            "sticky_users_30d",
            "days_30d",
            "user_days_30d",
        ]
        .map(|c| format!("       {} AS {c}", d.float(&format!("w.{c}"))))
        .join(",\n"),
        offered = d.float("o.offered"),
    )
}

/// `05_per_type.sql`: the per-type family for the plan's event types.
pub fn per_type(p: &Plan) -> String {
    let d = p.dialect;
    let ago = |n: i64| d.minus_days("s.t", n);
    let mut sums = Vec::new();
    let mut metrics = Vec::new();
    for (k, ty) in p.usage_types.iter().enumerate() {
        let is = format!("y.feature = {}", d.string(ty));
        sums.push(format!(
            "           SUM(CASE WHEN {is} AND y.day >= {t30} THEN y.events ELSE 0 END) AS c30_{k},
           SUM(CASE WHEN {is} AND y.day >= {t90} THEN y.events ELSE 0 END) AS c90_{k},
           SUM(CASE WHEN {is} AND y.day >= {t90} AND y.day < {t30} THEN y.events ELSE 0 END) AS prior60_{k},
           SUM(CASE WHEN {is} THEN y.events ELSE 0 END) AS total_{k},
           MAX(CASE WHEN {is} THEN y.day END) AS last_{k}",
            t30 = ago(30),
            t90 = ago(90),
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
    let sums = if sums.is_empty() {
        "           0 AS none_".to_string()
    } else {
        sums.join(",\n")
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
{create}
WITH {usage_rows},
typed AS (
    SELECT account_id, day, feature, SUM(events) AS events
    FROM usage_rows
    WHERE feature IN ({in_types})
    GROUP BY account_id, day, feature
),
sums AS (
    SELECT s.account_id, s.t,
{sums}
    FROM cl_spine s
    LEFT JOIN typed y ON y.account_id = s.account_id AND y.day < s.t
    GROUP BY s.account_id, s.t
),
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
        usage_rows = usage_rows(p),
        in_types = if p.usage_types.is_empty() {
            "NULL".to_string()
        } else {
            in_list(p, &p.usage_types)
        },
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
