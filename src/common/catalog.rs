//! The feature catalog: every numeric feature churnlab computes, with the health
//! component it belongs to, its source table, window, unit and meaning, and the
//! categorical features. `docs/features.md` is generated from it (`churnlab catalog`).

use crate::common::vocab::Component;

/// What an account with no rows in a present table gets for a feature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Absent {
    /// A count: no rows means zero.
    Zero,
    /// A level, a mean or a recency: no rows means unknown.
    Missing,
}

#[derive(Clone, Copy, Debug)]
pub struct FeatureSpec {
    pub name: &'static str,
    pub component: Component,
    pub source: &'static str,
    pub window: &'static str,
    pub unit: &'static str,
    pub absent: Absent,
    pub description: &'static str,
}

const fn f(
    name: &'static str,
    component: Component,
    source: &'static str,
    window: &'static str,
    unit: &'static str,
    absent: Absent,
    description: &'static str,
) -> FeatureSpec {
    FeatureSpec {
        name,
        component,
        source,
        window,
        unit,
        absent,
        description,
    }
}

use Absent::{Missing, Zero};
use Component::{Adoption, Commercial, Relationship, Sentiment, Support};

/// Every numeric feature, in output order.
pub const CATALOG: &[FeatureSpec] = &[
    // Adoption (usage)
    f(
        "events_30d",
        Adoption,
        "usage",
        "30d",
        "events",
        Zero,
        "Product events in the 30 days before t.",
    ),
    f(
        "events_90d",
        Adoption,
        "usage",
        "90d",
        "events",
        Zero,
        "Product events in the 90 days before t.",
    ),
    f(
        "events_change_30d",
        Adoption,
        "usage",
        "30d vs prior 30d",
        "log ratio",
        Missing,
        "ln((events in last 30d + 1) / (events in the 30d before that + 1)); -0.29 is a 25% drop.",
    ),
    f(
        "active_users_30d",
        Adoption,
        "usage (user_id)",
        "30d",
        "users",
        Zero,
        "Distinct users with any event in the 30 days before t.",
    ),
    f(
        "active_users_change_30d",
        Adoption,
        "usage (user_id)",
        "30d vs prior 30d",
        "log ratio",
        Missing,
        "ln((active users last 30d + 1) / (active users in the 30d before + 1)).",
    ),
    f(
        "seat_utilisation_30d",
        Adoption,
        "usage (user_id), contracts",
        "30d",
        "share",
        Missing,
        "Active users in the last 30 days / seats under contract at t.",
    ),
    f(
        "feature_breadth_30d",
        Adoption,
        "usage",
        "30d",
        "share",
        Zero,
        "Distinct features used in the last 30 days / distinct features seen in the book before t.",
    ),
    f(
        "sticky_features_used_30d",
        Adoption,
        "usage",
        "30d",
        "features",
        Zero,
        "Distinct sticky features used in the last 30 days (configured, or the features most associated with retention in the earliest labelled snapshots).",
    ),
    f(
        "sticky_user_share_30d",
        Adoption,
        "usage (user_id)",
        "30d",
        "share",
        Missing,
        "Share of active users who used a sticky feature in the last 30 days.",
    ),
    f(
        "events_per_active_user_30d",
        Adoption,
        "usage (user_id)",
        "30d",
        "events/user",
        Missing,
        "Events in the last 30 days / active users.",
    ),
    f(
        "minutes_30d",
        Adoption,
        "usage (minutes)",
        "30d",
        "minutes",
        Zero,
        "Minutes of use in the last 30 days.",
    ),
    f(
        "active_days_30d",
        Adoption,
        "usage (daily grain)",
        "30d",
        "days",
        Zero,
        "Distinct days with any event in the last 30 days (daily or finer usage only).",
    ),
    f(
        "dau_mau_30d",
        Adoption,
        "usage (daily grain, user_id)",
        "30d",
        "ratio",
        Missing,
        "Average daily active users over the last 30 days / active users in them (daily or finer usage only).",
    ),
    f(
        "days_since_last_activity",
        Adoption,
        "usage",
        "all before t",
        "days",
        Missing,
        "Days from the last dated usage row to t (missing if the account never used the product).",
    ),
    // Support (tickets)
    f(
        "tickets_30d",
        Support,
        "tickets",
        "30d",
        "tickets",
        Zero,
        "Tickets opened in the 30 days before t.",
    ),
    f(
        "tickets_90d",
        Support,
        "tickets",
        "90d",
        "tickets",
        Zero,
        "Tickets opened in the 90 days before t.",
    ),
    f(
        "tickets_per_10_seats_90d",
        Support,
        "tickets, contracts",
        "90d",
        "tickets",
        Missing,
        "Tickets opened in the 90 days before t per 10 contracted seats (missing without seats): the ticket load relative to the account's size.",
    ),
    f(
        "tickets_change_30d",
        Support,
        "tickets",
        "30d vs prior 30d",
        "tickets",
        Zero,
        "Tickets opened in the last 30 days minus those opened in the 30 days before.",
    ),
    f(
        "high_priority_tickets_30d",
        Support,
        "tickets",
        "30d",
        "tickets",
        Zero,
        "P1/P2 tickets opened in the last 30 days.",
    ),
    f(
        "open_tickets",
        Support,
        "tickets",
        "at t",
        "tickets",
        Zero,
        "Tickets opened before t and not closed by t.",
    ),
    f(
        "p1p2_open_over_10d",
        Support,
        "tickets",
        "at t",
        "tickets",
        Zero,
        "P1/P2 tickets open at t that were opened more than 10 days earlier.",
    ),
    f(
        "max_tickets_7d_90d",
        Support,
        "tickets",
        "90d",
        "tickets",
        Zero,
        "Most tickets opened in any 7-day span within the last 90 days (a spike: 3+ in a week).",
    ),
    f(
        "avg_resolution_hours_90d",
        Support,
        "tickets",
        "90d",
        "hours",
        Missing,
        "Mean hours from open to close of tickets closed in the last 90 days.",
    ),
    f(
        "escalations_90d",
        Support,
        "tickets (escalated)",
        "90d",
        "tickets",
        Zero,
        "Escalated tickets opened in the last 90 days.",
    ),
    f(
        "csat_avg_90d",
        Support,
        "tickets (csat)",
        "90d",
        "score 1-5",
        Missing,
        "Mean CSAT of tickets closed in the last 90 days.",
    ),
    // Sentiment (NPS)
    f(
        "nps_last",
        Sentiment,
        "nps",
        "last before t",
        "score 0-10",
        Missing,
        "The latest NPS response before t.",
    ),
    f(
        "nps_change",
        Sentiment,
        "nps",
        "last two before t",
        "points",
        Missing,
        "Latest NPS response minus the one before it.",
    ),
    f(
        "nps_detractor",
        Sentiment,
        "nps",
        "last before t",
        "flag",
        Missing,
        "1 when the latest response is 0-6 (a detractor).",
    ),
    f(
        "days_since_nps",
        Sentiment,
        "nps",
        "all before t",
        "days",
        Missing,
        "Days since the latest NPS response.",
    ),
    f(
        "nps_score_180d",
        Sentiment,
        "nps",
        "180d",
        "NPS -100..100",
        Missing,
        "% promoters (9-10) minus % detractors (0-6) among responses in the last 180 days.",
    ),
    f(
        "nps_responses_180d",
        Sentiment,
        "nps",
        "180d",
        "responses",
        Zero,
        "NPS responses in the last 180 days.",
    ),
    // Relationship (contacts, activities)
    f(
        "sponsor_present",
        Relationship,
        "contacts",
        "at t",
        "flag",
        Zero,
        "1 when an executive sponsor is in role at t.",
    ),
    f(
        "champion_present",
        Relationship,
        "contacts",
        "at t",
        "flag",
        Zero,
        "1 when a champion is in role at t.",
    ),
    f(
        "sponsor_left_90d",
        Relationship,
        "contacts",
        "90d",
        "flag",
        Zero,
        "1 when an executive sponsor's role ended in the last 90 days.",
    ),
    f(
        "champion_left_90d",
        Relationship,
        "contacts",
        "90d",
        "flag",
        Zero,
        "1 when a champion's role ended in the last 90 days.",
    ),
    f(
        "days_since_sponsor_left",
        Relationship,
        "contacts",
        "all before t",
        "days",
        Missing,
        "Days since an executive sponsor last left (missing if none ever did).",
    ),
    f(
        "active_contacts",
        Relationship,
        "contacts",
        "at t",
        "contacts",
        Zero,
        "Contacts in role at t.",
    ),
    f(
        "days_since_cs_touch",
        Relationship,
        "activities",
        "all before t",
        "days",
        Missing,
        "Days since the last CS activity of any type.",
    ),
    f(
        "days_since_exec_touch",
        Relationship,
        "activities",
        "all before t",
        "days",
        Missing,
        "Days since the last EBR or executive outreach.",
    ),
    f(
        "cs_touches_90d",
        Relationship,
        "activities",
        "90d",
        "activities",
        Zero,
        "CS activities in the last 90 days.",
    ),
    // Commercial (contracts, invoices)
    f(
        "arr",
        Commercial,
        "contracts",
        "at t",
        "currency",
        Missing,
        "Annual recurring revenue under contract at t.",
    ),
    f(
        "seats",
        Commercial,
        "contracts",
        "at t",
        "seats",
        Missing,
        "Seats under contract at t.",
    ),
    f(
        "arr_per_seat",
        Commercial,
        "contracts",
        "at t",
        "currency/seat",
        Missing,
        "ARR / seats at t.",
    ),
    f(
        "tenure_days",
        Commercial,
        "accounts, contracts",
        "at t",
        "days",
        Missing,
        "Days since the account became a customer.",
    ),
    f(
        "days_to_renewal",
        Commercial,
        "contracts",
        "at t",
        "days",
        Missing,
        "Days from t to the end of the current term.",
    ),
    f(
        "days_lapsed",
        Commercial,
        "contracts",
        "at t",
        "days",
        Missing,
        "Days since the last term ended with no renewal known before t (0 while a term is in force).",
    ),
    f(
        "first_renewal_ahead",
        Commercial,
        "contracts",
        "at t",
        "flag",
        Missing,
        "1 when the account has not yet renewed (the first renewal is the riskiest).",
    ),
    f(
        "arr_change_last_renewal",
        Commercial,
        "contracts",
        "last renewal",
        "ratio",
        Missing,
        "Relative ARR change at the latest renewal before t (missing before the first renewal).",
    ),
    f(
        "monthly_term",
        Commercial,
        "contracts",
        "at t",
        "flag",
        Missing,
        "1 when the current term is shorter than two months.",
    ),
    f(
        "overdue_invoices_30d",
        Commercial,
        "invoices",
        "at t",
        "invoices",
        Zero,
        "Invoices more than 30 days past due and unpaid at t.",
    ),
    f(
        "overdue_amount_30d",
        Commercial,
        "invoices",
        "at t",
        "currency",
        Zero,
        "Amount of invoices more than 30 days past due and unpaid at t.",
    ),
    f(
        "avg_days_late_365d",
        Commercial,
        "invoices",
        "365d",
        "days",
        Missing,
        "Mean days between due date and payment (or t, if unpaid) for invoices due in the last 365 days.",
    ),
];

/// Categorical features (kept as text; the model layer encodes them).
pub const CATEGORICALS: [(&str, Component, &str); 4] = [
    ("segment", Commercial, "accounts"),
    ("industry", Commercial, "accounts"),
    ("region", Commercial, "accounts"),
    ("plan", Commercial, "contracts"),
];

/// The features (numeric and categorical) a name stands for: the feature of that name, or
/// every feature computed from the table of that name. Empty when it names neither.
pub fn matching(name: &str) -> Vec<&'static str> {
    let name = name.trim();
    let numeric = CATALOG
        .iter()
        .filter(|s| s.name.eq_ignore_ascii_case(name) || table(s.source).eq_ignore_ascii_case(name))
        .map(|s| s.name);
    let categorical = CATEGORICALS
        .iter()
        .filter(|c| c.0.eq_ignore_ascii_case(name) || c.2.eq_ignore_ascii_case(name))
        .map(|c| c.0);
    numeric.chain(categorical).collect()
}

/// Whether `[features] exclude = [pattern]` leaves the column `name` out: a catalog feature
/// or a table's features ([`matching`]), a per-type column by its name, or all of them by
/// `usage`.
pub fn excludes(pattern: &str, name: &str) -> bool {
    let p = pattern.trim();
    if matching(p).contains(&name) {
        return true;
    }
    per_type(name).is_some() && (p.eq_ignore_ascii_case("usage") || p == name)
}

/// The table a `source` names first: `usage` of "usage (user_id), contracts".
fn table(source: &str) -> &str {
    source.split([' ', ',']).next().unwrap_or(source)
}

/// The table a feature (numeric or categorical) is computed from (the first, when it
/// combines several).
pub fn source_of(feature: &str) -> Option<&'static str> {
    CATALOG
        .iter()
        .find(|s| s.name == feature)
        .map(|s| table(s.source))
        .or_else(|| CATEGORICALS.iter().find(|c| c.0 == feature).map(|c| c.2))
        .or_else(|| per_type(feature).map(|_| "usage"))
}

impl FeatureSpec {
    /// Days of customer history the feature needs before it means anything: the window
    /// of a count (no rows means 0), or both windows of a change against a prior window.
    /// A younger account gets a missing value. `None` for levels, averages and recencies,
    /// which describe what exists.
    pub fn observed_days(&self) -> Option<i64> {
        let days = |w: &str| w.strip_suffix('d')?.parse::<i64>().ok();
        if let Some((a, b)) = self.window.split_once(" vs prior ") {
            return Some(days(a)? + days(b)?);
        }
        match self.absent {
            Absent::Zero => days(self.window),
            Absent::Missing => None,
        }
    }
}

/// The catalog as the Markdown of `docs/features.md` (a test keeps the two equal).
pub fn catalog_markdown() -> String {
    let mut out = String::from(
        "# Feature catalog\n\n\
Generated from `src/common/catalog.rs` by `churnlab catalog`; a test keeps this file equal to it.\n\n\
Every feature of the snapshot table at snapshot date t uses only rows dated before t\n\
(contract facts are read as of the day before t). Windows are trailing: \"30d\" is\n\
[t - 30 days, t). A feature whose source table (or column) is missing is missing for every\n\
account, never zero, and the run lists it as unavailable; within a present table an account\n\
with no rows gets 0 for counts and a missing value for levels, averages and recencies.\n\n\
Usage at any grain: counts, users, breadth and recency work for raw, daily, weekly or\n\
monthly rows; `active_days_30d` and `dau_mau_30d` need daily (or finer) rows and are\n\
reported unavailable otherwise. The grain is detected from the median gap between\n\
consecutive dates of the same account, user and feature.\n\n\
New accounts: a count whose window reaches back before the account became a customer (and\n\
a change against a prior window it did not live through) is missing, not zero.\n\n\
Context, not reasons: the features in *italics* say when and for whom risk is high (timing,\n\
size, term, tenure, segment). They stay in the model, but the at-risk list sums them into a\n\
`risk_context` column and shows them as facts; the drivers are the behavioural features.\n\n",
    );
    for c in Component::ALL {
        out.push_str(&format!("## {}\n\n| feature | source | window | unit | no rows means | definition |\n|---|---|---|---|---|---|\n", c.name()));
        for s in CATALOG.iter().filter(|s| s.component == c) {
            let absent = match s.absent {
                Absent::Zero => "0",
                Absent::Missing => "missing",
            };
            let name = if is_context(s.name) {
                format!("*`{}`*", s.name)
            } else {
                format!("`{}`", s.name)
            };
            out.push_str(&format!(
                "| {name} | {} | {} | {} | {} | {} |\n",
                s.source, s.window, s.unit, absent, s.description
            ));
        }
        out.push('\n');
    }
    out.push_str(
        "## adoption, per event type\n\n\
Generated from the data: one column per event type (a value of `usage.feature`) and metric,\n\
named `usage[TYPE].METRIC`, for example `usage[dislike].events_30d`. A type enters when at\n\
least `usage_type_min_share` (default 2%) of the accounts with usage used it before the\n\
training cut (the last snapshot whose label can be settled), the `usage_type_max` (default\n\
50) most widely used first; `usage_types` in `[features]` fixes the list instead. The\n\
choice reads no label. The list is saved with the model, so `score` computes the same\n\
columns, and a widely used type the model has never seen is reported in the drift output.\n\n\
| metric | source | window | unit | no rows means | definition |\n|---|---|---|---|---|---|\n",
    );
    for s in PER_TYPE {
        let absent = match s.absent {
            Absent::Zero => "0",
            Absent::Missing => "missing",
        };
        out.push_str(&format!(
            "| `usage[TYPE].{}` | {} | {} | {} | {} | {} |\n",
            s.name, s.source, s.window, s.unit, absent, s.description
        ));
    }
    let r = &PER_TYPE_RATIO;
    out.push_str(&format!(
        "| `usage[A/B].{}` | {} | {} | {} | missing | {} |\n",
        r.name, r.source, r.window, r.unit, r.description
    ));
    out.push('\n');
    out.push_str("## Categorical\n\n| feature | component | source |\n|---|---|---|\n");
    for (name, c, source) in CATEGORICALS {
        out.push_str(&format!("| *`{name}`* | {} | {source} |\n", c.name()));
    }
    out.push_str(
        "\n## Labels\n\n\
- `label`: 1 when the account churns (its last covered day, with no new term within\n  \
`grace_days`) by t + horizon (for a lapsed account: its grace runs out with no renewal); 0\n  \
when it is still a customer after the horizon; empty when t + horizon reaches past the as-of\n  \
date or the churn is still inside its grace period.\n\
- `label_next_renewal`: 1 when the account churns at the end of the first term in force on\n  \
t, 0 when that term is followed by another, empty while undecided.\n\
- Snapshots: the first of every month from `warmup_days` (90) after the first behavioural\n  \
event to the as-of date, plus the as-of date itself. An account is in snapshot t, judged\n  \
from what was known before t, when a term covers t - 1 (`status` active, or new in its\n  \
first 90 days) or when its last term ended within `grace_days` with no renewal known\n  \
(lapsed). `min_tenure_days` (default 0) can leave the youngest out.\n",
    );
    out
}

/// Context features: timing, size, term, tenure and firmographics. They say when and for
/// whom risk is high, not why; the at-risk list shows them as facts and sums their
/// contributions into one context column instead of giving them as reasons.
pub const CONTEXT: [&str; 12] = [
    "arr",
    "seats",
    "arr_per_seat",
    "tenure_days",
    "days_to_renewal",
    "days_lapsed",
    "first_renewal_ahead",
    "monthly_term",
    "segment",
    "industry",
    "region",
    "plan",
];

/// Whether `feature` is context rather than a behavioural reason.
pub fn is_context(feature: &str) -> bool {
    CONTEXT.contains(&feature)
}

/// A catalog feature by name, or the family metric a generated name stands for
/// (`usage[dislike].events_30d` is the `events_30d` metric of the per-type family).
pub fn spec(name: &str) -> Option<&'static FeatureSpec> {
    CATALOG
        .iter()
        .find(|s| s.name == name)
        .or_else(|| per_type(name).map(|(_, s)| s))
}

/// The per-type usage family: one column per event type (a value of `usage.feature`) and
/// metric, named `usage[TYPE].METRIC`. Which types enter is a fitted choice
/// ([`crate::config::FeatureConfig::usage_types`]); the metrics are these.
pub const PER_TYPE: &[FeatureSpec] = &[
    f(
        "events_30d",
        Adoption,
        "usage",
        "30d",
        "events/30 days",
        Zero,
        "Events of the type in the 30 days before t, per 30 days of exposure: an account younger than the window is scaled by the days it has lived (at least 7), never given a false zero.",
    ),
    f(
        "events_90d",
        Adoption,
        "usage",
        "90d",
        "events/30 days",
        Zero,
        "Events of the type in the 90 days before t, per 30 days of exposure (scaled like `events_30d`).",
    ),
    f(
        "per_user_30d",
        Adoption,
        "usage (user_id)",
        "30d",
        "events/user",
        Missing,
        "The type's events per 30 days / the account's active users in the last 30 days.",
    ),
    f(
        "per_seat_30d",
        Adoption,
        "usage, contracts",
        "30d",
        "events/seat",
        Missing,
        "The type's events per 30 days / seats under contract at t.",
    ),
    f(
        "share_30d",
        Adoption,
        "usage",
        "30d",
        "share",
        Missing,
        "The type's share of the account's events in the last 30 days (missing without events).",
    ),
    f(
        "trend_30d",
        Adoption,
        "usage",
        "30d vs prior 60d",
        "log ratio",
        Missing,
        "ln((events per 30 days in the last 30 + 1) / (events per 30 days in the 60 before + 1)); missing when the account has lived fewer than 15 days of the prior window.",
    ),
    f(
        "days_since",
        Adoption,
        "usage",
        "all before t",
        "days",
        Missing,
        "Days from the type's last event to t (missing if the account never had one).",
    ),
    f(
        "events_total",
        Adoption,
        "usage",
        "all before t",
        "events",
        Zero,
        "Events of the type since the account began.",
    ),
];

/// The ratio between two event types of the family: `usage[A/B].ratio_90d`, for each pair
/// among the [`crate::config::FeatureConfig::usage_ratio_types`] most widely used types
/// (A the less widely used; off by default). A choice made from coverage, like the types.
pub const PER_TYPE_RATIO: FeatureSpec = f(
    "ratio_90d",
    Adoption,
    "usage",
    "90d",
    "ratio",
    Missing,
    "Events of type A / events of type B in the 90 days before t, for each pair among the `usage_ratio_types` most widely used types (default 0: off), A the less widely used; missing when B has none or the account has lived fewer than 7 days. A balance (dislikes per like, errors per run) that neither count carries alone.",
);

/// The name of a ratio column: `usage[A/B].ratio_90d`.
pub fn ratio_name(a: &str, b: &str) -> String {
    format!("usage[{a}/{b}].{}", PER_TYPE_RATIO.name)
}

/// The ratio pairs `(A, B)` by position in `chosen`: every pair among the first `n` types
/// whose names can carry a `/`, A the later (less widely used) one.
pub fn ratio_pairs(chosen: &[String], n: usize) -> Vec<(usize, usize)> {
    let usable: Vec<usize> = (0..chosen.len())
        .filter(|&i| !chosen[i].contains('/'))
        .take(n)
        .collect();
    let mut pairs = Vec::new();
    for (x, &b) in usable.iter().enumerate() {
        for &a in &usable[x + 1..] {
            pairs.push((a, b));
        }
    }
    pairs
}

/// The name of a per-type column: `usage[TYPE].METRIC`.
pub fn per_type_name(kind: &str, metric: &str) -> String {
    format!("usage[{kind}].{metric}")
}

/// The event type and the family metric of a per-type column name.
pub fn per_type(name: &str) -> Option<(&str, &'static FeatureSpec)> {
    let rest = name.strip_prefix("usage[")?;
    let (kind, metric) = rest.rsplit_once("].")?;
    PER_TYPE
        .iter()
        .chain(std::iter::once(&PER_TYPE_RATIO))
        .find(|s| s.name == metric)
        .map(|s| (kind, s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_name_stands_for_every_feature_computed_from_it() {
        let usage = matching("usage");
        assert_eq!(
            usage.len(),
            CATALOG
                .iter()
                .filter(|s| s.source.starts_with("usage"))
                .count()
        );
        assert!(usage.contains(&"seat_utilisation_30d") && usage.contains(&"events_30d"));
        assert_eq!(matching("Segment"), ["segment"]);
        assert_eq!(matching("events_30d"), ["events_30d"]);
        assert!(matching("nope").is_empty());
        assert_eq!(source_of("seat_utilisation_30d"), Some("usage"));
        assert_eq!(source_of("plan"), Some("contracts"));
    }
}
