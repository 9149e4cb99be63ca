//! Stage 11: the snapshot table (`snapshot_table`), one column per catalog feature.
//!
//! Each feature's value before the catalog's rules is [`raw`]: an expression over the
//! stages' tables. The rules that the feature layer applies to every feature are then
//! derived from the catalog entry itself, as `features::settle_absent` and
//! `features::mask_unobserved_windows` apply them: a count is 0 for an account without
//! rows, and a count whose window (or a change whose two windows) reaches back before the
//! account became a customer is missing. A catalog feature without a [`raw`] expression
//! fails a test, so a feature cannot exist in churnlab and not in the SQL.

use super::Plan;
use crate::common::catalog::{Absent, CATALOG, FeatureSpec, per_type_name, ratio_name};
use crate::features::UsageGrain;

/// A feature's SQL before the catalog's rules, over the aliases of [`snapshot_table`]:
/// `s` the spine, `u` usage, `k` tickets, `n` NPS, `c` contacts, `a` activities,
/// `i` invoices. None for a name this module does not know.
pub fn raw(name: &str) -> Option<&'static str> {
    Some(match name {
        // adoption
        "events_30d" => "u.events_30d",
        "events_90d" => "u.events_90d",
        "events_change_30d" => "LN((u.events_30d + 1) / (u.events_prev_30d + 1))",
        "active_users_30d" => "u.users_30d",
        "active_users_change_30d" => "LN((u.users_30d + 1.0) / (u.users_prev_30d + 1.0))",
        "seat_utilisation_30d" => {
            "CASE WHEN s.seats > 0 AND u.t IS NOT NULL THEN COALESCE(u.users_30d, 0) / s.seats END"
        }
        "feature_breadth_30d" => {
            "CASE WHEN u.offered > 0 THEN COALESCE(u.features_30d, 0) * 1.0 / u.offered END"
        }
        "sticky_features_used_30d" => "u.sticky_features_30d",
        "sticky_user_share_30d" => {
            "CASE WHEN u.users_30d > 0 THEN u.sticky_users_30d * 1.0 / u.users_30d END"
        }
        "events_per_active_user_30d" => {
            "CASE WHEN u.users_30d > 0 THEN u.events_30d / u.users_30d END"
        }
        "minutes_30d" => "u.minutes_30d",
        "active_days_30d" => "u.days_30d",
        "dau_mau_30d" => "CASE WHEN u.users_30d > 0 THEN u.user_days_30d / 30.0 / u.users_30d END",
        "days_since_last_activity" => "u.days_since_last_activity",
        // support
        "tickets_30d" => "k.tickets_30d",
        "tickets_90d" => "k.tickets_90d",
        "tickets_per_10_seats_90d" => {
            "CASE WHEN s.seats > 0 THEN 10 * COALESCE(k.tickets_90d, 0) / s.seats END"
        }
        "tickets_change_30d" => "COALESCE(k.tickets_30d, 0) - COALESCE(k.tickets_prev_30d, 0)",
        "high_priority_tickets_30d" => "k.high_priority_tickets_30d",
        "open_tickets" => "k.open_tickets",
        "p1p2_open_over_10d" => "k.p1p2_open_over_10d",
        "max_tickets_7d_90d" => "k.max_tickets_7d_90d",
        "avg_resolution_hours_90d" => "k.avg_resolution_hours_90d",
        "escalations_90d" => "k.escalations_90d",
        "csat_avg_90d" => "k.csat_avg_90d",
        // sentiment
        "nps_last" => "n.nps_last",
        "nps_change" => "n.nps_last - n.nps_prev",
        "nps_detractor" => {
            "CASE WHEN n.nps_last <= 6 THEN 1 WHEN n.nps_last IS NOT NULL THEN 0 END"
        }
        "days_since_nps" => "n.days_since_nps",
        "nps_score_180d" => {
            "CASE WHEN n.nps_responses_180d > 0 THEN 100.0 * (n.promoters_180d - n.detractors_180d) / n.nps_responses_180d END"
        }
        "nps_responses_180d" => "n.nps_responses_180d",
        // relationship
        "sponsor_present" => "c.sponsor_present",
        "champion_present" => "c.champion_present",
        "sponsor_left_90d" => "c.sponsor_left_90d",
        "champion_left_90d" => "c.champion_left_90d",
        "days_since_sponsor_left" => "c.days_since_sponsor_left",
        "active_contacts" => "c.active_contacts",
        "days_since_cs_touch" => "a.days_since_cs_touch",
        "days_since_exec_touch" => "a.days_since_exec_touch",
        "cs_touches_90d" => "a.cs_touches_90d",
        // commercial
        "arr" => "s.arr",
        "seats" => "s.seats",
        "arr_per_seat" => "CASE WHEN s.seats > 0 THEN s.arr / s.seats END",
        "tenure_days" => "s.tenure_days",
        "days_to_renewal" => "s.days_to_renewal",
        "days_lapsed" => "s.days_lapsed",
        "first_renewal_ahead" => "s.first_renewal_ahead",
        "arr_change_last_renewal" => "s.arr_change_last_renewal",
        "monthly_term" => {
            "CASE WHEN s.term_months IS NULL THEN NULL WHEN s.term_months < 2 THEN 1 ELSE 0 END"
        }
        "overdue_invoices_30d" => "i.overdue_invoices_30d",
        "overdue_amount_30d" => "i.overdue_amount_30d",
        "avg_days_late_365d" => "i.avg_days_late_365d",
        _ => return None,
    })
}

/// Why a feature is unavailable in this plan (then it is NULL in every row, as churnlab
/// reports it unavailable), or None.
pub fn unavailable(p: &Plan, spec: &FeatureSpec) -> Option<String> {
    let table = spec.source.split([' ', ',']).next().unwrap_or("");
    if !p.has(table) {
        return Some(format!("no {table} table"));
    }
    let daily = p.grain == UsageGrain::Daily;
    let why = match spec.name {
        "sticky_features_used_30d" | "sticky_user_share_30d" if p.sticky.is_empty() => {
            Some("no sticky features configured")
        }
        "active_days_30d" if !daily => Some("usage is not daily"),
        "dau_mau_30d" if !daily => Some("usage is not daily"),
        "active_users_30d"
        | "active_users_change_30d"
        | "seat_utilisation_30d"
        | "sticky_user_share_30d"
        | "events_per_active_user_30d"
        | "dau_mau_30d"
            if !p.has("usage.user_id") =>
        {
            Some("usage has no user_id column")
        }
        "minutes_30d" if !p.has("usage.minutes") => Some("usage has no minutes column"),
        "csat_avg_90d" if !p.has("tickets.csat") => Some("tickets has no csat column"),
        "escalations_90d" if !p.has("tickets.escalated") => Some("tickets has no escalated column"),
        _ => None,
    };
    why.map(str::to_string)
}

/// One catalog feature's column: its raw SQL with the catalog's rules applied.
pub fn feature_column(p: &Plan, spec: &FeatureSpec) -> String {
    let d = p.dialect;
    let name = d.column(spec.name);
    if let Some(why) = unavailable(p, spec) {
        return format!(
            "       -- unavailable: {why}\n       {} AS {name}",
            d.float("NULL")
        );
    }
    let mut e = raw(spec.name).unwrap_or("NULL").to_string();
    if spec.absent == Absent::Zero {
        e = format!("COALESCE({e}, 0)");
    }
    if let Some(days) = spec.observed_days() {
        e = format!("CASE WHEN s.tenure_days < {days} THEN NULL ELSE {e} END");
    }
    format!("       {} AS {name}", d.float(&e))
}

/// The plan of each spine row: the plan of the latest contract started by t.
const PLANS: &str = "WITH plans AS (
    SELECT s.account_id, s.t, x.plan,
           ROW_NUMBER() OVER (
               PARTITION BY s.account_id, s.t ORDER BY CAST(x.start_date AS DATE) DESC
           ) AS k
    FROM cl_spine s
    JOIN contracts x ON x.account_id = s.account_id
        AND CAST(x.start_date AS DATE) <= s.t AND x.plan IS NOT NULL
)
";

/// `11_snapshot_table.sql`: the spine, the labels, every catalog feature, the per-type
/// family and the categoricals, in `churnlab features`' column order.
pub fn snapshot_table(p: &Plan) -> String {
    let d = p.dialect;
    let mut cols: Vec<String> = CATALOG.iter().map(|s| feature_column(p, s)).collect();
    let types: &[String] = if p.has("usage") { &p.usage_types } else { &[] };
    for ty in types {
        for m in crate::common::catalog::PER_TYPE {
            if m.name == "per_user_30d" && !p.has("usage.user_id") {
                continue;
            }
            let n = d.column(&per_type_name(ty, m.name));
            cols.push(format!("       {} AS {n}", d.float(&format!("pt.{n}"))));
        }
    }
    for (a, b) in crate::common::catalog::ratio_pairs(types, p.ratio_types) {
        let n = d.column(&ratio_name(&p.usage_types[a], &p.usage_types[b]));
        cols.push(format!("       {} AS {n}", d.float(&format!("pt.{n}"))));
    }
    let joins: String = [
        ("usage", "cl_f_usage u"),
        ("usage", "cl_f_per_type pt"),
        ("tickets", "cl_f_tickets k"),
        ("nps", "cl_f_nps n"),
        ("contacts", "cl_f_contacts c"),
        ("activities", "cl_f_activities a"),
        ("invoices", "cl_f_invoices i"),
    ]
    .iter()
    .filter(|(table, _)| p.has(table))
    .map(|(_, t)| {
        let alias = t.rsplit(' ').next().unwrap_or("");
        format!("LEFT JOIN {t} ON {alias}.account_id = s.account_id AND {alias}.t = s.t\n")
    })
    .collect();
    let text = |c: &str| {
        if p.has(&format!("accounts.{c}")) {
            format!("{} AS {c}", super::normalized(&format!("acc.{c}")))
        } else {
            format!("{} AS {c}", d.text("NULL"))
        }
    };
    let with_plan = p.has("contracts.plan");
    let plans = if with_plan { PLANS } else { "" };
    let plan = if with_plan {
        format!("{} AS plan", super::normalized("pl.plan"))
    } else {
        format!("{} AS plan", d.text("NULL"))
    };
    let plan_join = if with_plan {
        "LEFT JOIN plans pl ON pl.account_id = s.account_id AND pl.t = s.t AND pl.k = 1"
    } else {
        ""
    };
    format!(
        "-- The snapshot table: the spine and labels, every feature of the catalog (a count is 0
-- for an account without rows; a count whose window reaches back before the account
-- became a customer is missing), the per-type family and the categoricals.
{create}
{plans}SELECT s.account_id,
       s.t AS snapshot_date,
       s.status,
       {label} AS label,
       {label_next} AS label_next_renewal,
       s.churn_date,
       s.renewal_date,
{cols},
       {segment},
       {industry},
       {region},
       {plan}
FROM cl_spine s
JOIN accounts acc ON acc.account_id = s.account_id
{joins}{plan_join};
",
        create = d.create("snapshot_table"),
        label = d.float("s.label"),
        label_next = d.float("s.label_next_renewal"),
        cols = cols.join(",\n"),
        segment = text("segment"),
        industry = text("industry"),
        region = text("region"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::catalog::PER_TYPE;

    /// A catalog feature without SQL fails here: the feature layer and the SQL cannot
    /// drift apart.
    #[test]
    fn every_catalog_feature_has_sql() {
        let missing: Vec<&str> = CATALOG
            .iter()
            .map(|s| s.name)
            .filter(|n| raw(n).is_none())
            .collect();
        assert!(
            missing.is_empty(),
            "catalog features without SQL: {missing:?}"
        );
        let missing: Vec<&str> = PER_TYPE
            .iter()
            .map(|s| s.name)
            .filter(|n| !super::super::usage::has_per_type_sql(n))
            .collect();
        assert!(
            missing.is_empty(),
            "per-type metrics without SQL: {missing:?}"
        );
    }

    #[test]
    fn the_catalog_rules_wrap_a_count() {
        let p = Plan::for_test(super::super::Dialect::DuckDb);
        let spec = CATALOG.iter().find(|s| s.name == "events_change_30d");
        let col = feature_column(&p, spec.expect("in the catalog"));
        // A change over 30 days against the 30 before: missing under 60 days of tenure.
        assert!(col.contains("s.tenure_days < 60 THEN NULL"), "{col}");
        let spec = CATALOG.iter().find(|s| s.name == "tickets_30d");
        let col = feature_column(&p, spec.expect("in the catalog"));
        assert!(col.contains("COALESCE(k.tickets_30d, 0)"), "{col}");
        assert!(col.contains("s.tenure_days < 30 THEN NULL"), "{col}");
    }
}
