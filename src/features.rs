//! The feature catalog: one row per (account, snapshot date), every feature computed only
//! from rows dated before the snapshot, each tagged with the health component it belongs
//! to. Window aggregations run as polars lazy plans, one per table and snapshot; the
//! contract facts come from the snapshot spine.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDate};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::dates::{self, MS_PER_DAY};
use crate::error::{Error, Result};
use crate::load::Book;
use crate::retention;
use crate::snapshot::{self, SnapshotConfig, SpineRow};
use crate::table::{Column as TCol, Table};

/// The health components CS teams score, in the order reports show them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Component {
    Adoption,
    Support,
    Sentiment,
    Relationship,
    Commercial,
}

impl Component {
    pub const ALL: [Component; 5] = [
        Component::Adoption,
        Component::Support,
        Component::Sentiment,
        Component::Relationship,
        Component::Commercial,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Component::Adoption => "adoption",
            Component::Support => "support",
            Component::Sentiment => "sentiment",
            Component::Relationship => "relationship",
            Component::Commercial => "commercial",
        }
    }
}

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

/// The catalog as the Markdown of `docs/features.md` (a test keeps the two equal).
pub fn catalog_markdown() -> String {
    let mut out = String::from(
        "# Feature catalog\n\n\
Generated from `src/features.rs` by `churnlab catalog`; a test keeps this file equal to it.\n\n\
Every feature of the snapshot table at snapshot date t uses only rows dated before t\n\
(contract facts are read as of the day before t). Windows are trailing: \"30d\" is\n\
[t - 30 days, t). A feature whose source table (or column) is missing is missing for every\n\
account, never zero, and the run lists it as unavailable; within a present table an account\n\
with no rows gets 0 for counts and a missing value for levels, averages and recencies.\n\n\
Usage at any grain: counts, users, breadth and recency work for raw, daily, weekly or\n\
monthly rows; `active_days_30d` and `dau_mau_30d` need daily (or finer) rows and are\n\
reported unavailable otherwise. The grain is detected from the median gap between\n\
consecutive dates of the same account, user and feature.\n\n",
    );
    for c in Component::ALL {
        out.push_str(&format!("## {}\n\n| feature | source | window | unit | no rows means | definition |\n|---|---|---|---|---|---|\n", c.name()));
        for s in CATALOG.iter().filter(|s| s.component == c) {
            let absent = match s.absent {
                Absent::Zero => "0",
                Absent::Missing => "missing",
            };
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} | {} |\n",
                s.name, s.source, s.window, s.unit, absent, s.description
            ));
        }
        out.push('\n');
    }
    out.push_str("## Categorical\n\n| feature | component | source |\n|---|---|---|\n");
    for (name, c, source) in CATEGORICALS {
        out.push_str(&format!("| `{name}` | {} | {source} |\n", c.name()));
    }
    out.push_str(
        "\n## Labels\n\n\
- `label`: 1 when the account churns (its last covered day, with no new term within\n  \
`grace_days`) in [t, t + horizon]; 0 when it is still a customer after the horizon; empty\n  \
when t + horizon reaches past the as-of date or the churn is still inside its grace period.\n\
- `label_next_renewal`: 1 when the account churns at the end of the first term in force on\n  \
t, 0 when that term is followed by another, empty while undecided.\n\
- Snapshots: the first of every month from `warmup_days` (90) after the first behavioural\n  \
event to the as-of date, plus the as-of date itself; accounts active at t with at least\n  \
`min_tenure_days` (14) of tenure.\n",
    );
    out
}

pub fn spec(name: &str) -> Option<&'static FeatureSpec> {
    CATALOG.iter().find(|s| s.name == name)
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FeatureConfig {
    /// Sticky features by name; empty: chosen from the data (see `sticky_features`).
    pub sticky_features: Vec<String>,
}

/// How finely the usage table is dated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UsageGrain {
    Daily,
    Weekly,
    Monthly,
}

/// The snapshot table: one row per spine row, with labels, features and provenance.
#[derive(Clone, Debug)]
pub struct SnapshotTable {
    pub as_of: NaiveDate,
    pub horizon_days: i64,
    pub snapshot_dates: Vec<NaiveDate>,
    pub account_ids: Vec<String>,
    pub rows: Vec<SpineRow>,
    /// One vector per catalog feature, in catalog order.
    pub numeric: Vec<Vec<Option<f64>>>,
    pub categorical: Vec<Vec<Option<String>>>,
    /// Features that cannot be computed from this data, with the reason.
    pub unavailable: BTreeMap<String, String>,
    pub sticky_features: Vec<String>,
    pub usage_grain: Option<UsageGrain>,
}

impl SnapshotTable {
    /// Rows of the scoring snapshot: every account active on the as-of date.
    pub fn scoring_rows(&self) -> Vec<usize> {
        (0..self.rows.len())
            .filter(|&i| self.rows[i].t == self.as_of)
            .collect()
    }

    pub fn feature(&self, name: &str) -> Option<&[Option<f64>]> {
        CATALOG
            .iter()
            .position(|s| s.name == name)
            .map(|i| self.numeric[i].as_slice())
    }

    /// Everything as a flat table: identifiers, labels, numeric and categorical features.
    pub fn to_table(&self) -> Table {
        let r = &self.rows;
        let flag = |b: Option<bool>| b.map(i64::from);
        let mut t = Table::new()
            .with(
                "account_id",
                TCol::Str(
                    r.iter()
                        .map(|x| Some(self.account_ids[x.account as usize].clone()))
                        .collect(),
                ),
            )
            .with(
                "snapshot_date",
                TCol::Date(r.iter().map(|x| Some(dates::to_days(x.t))).collect()),
            )
            .with(
                "label",
                TCol::Int(r.iter().map(|x| flag(x.label)).collect()),
            )
            .with(
                "label_next_renewal",
                TCol::Int(r.iter().map(|x| flag(x.label_next_renewal)).collect()),
            )
            .with(
                "churn_date",
                TCol::Date(r.iter().map(|x| x.churn_date.map(dates::to_days)).collect()),
            )
            .with(
                "renewal_date",
                TCol::Date(
                    r.iter()
                        .map(|x| Some(dates::to_days(x.renewal_date)))
                        .collect(),
                ),
            );
        for (spec, v) in CATALOG.iter().zip(&self.numeric) {
            t = t.with(
                spec.name,
                TCol::Float(v.iter().map(|x| x.map(round6)).collect()),
            );
        }
        for ((name, _, _), v) in CATEGORICALS.iter().zip(&self.categorical) {
            t = t.with(name, TCol::Str(v.clone()));
        }
        t
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn pe(e: PolarsError) -> Error {
    Error::Input(format!("feature computation failed: {e}"))
}

/// Per-snapshot map from account index to spine row.
struct Index {
    row_of: Vec<Vec<Option<usize>>>,
}

impl Index {
    fn new(rows: &[SpineRow], n_snapshots: usize, n_accounts: usize) -> Self {
        let mut row_of = vec![vec![None; n_accounts]; n_snapshots];
        for (i, r) in rows.iter().enumerate() {
            row_of[r.snapshot][r.account as usize] = Some(i);
        }
        Index { row_of }
    }
}

/// Feature values being filled, by catalog name.
struct Values {
    cols: HashMap<&'static str, Vec<Option<f64>>>,
}

impl Values {
    fn set(&mut self, name: &str, row: usize, v: Option<f64>) {
        if let Some(c) = self.cols.get_mut(name) {
            c[row] = v.filter(|x| x.is_finite());
        }
    }
    fn get(&self, name: &str, row: usize) -> Option<f64> {
        self.cols.get(name).and_then(|c| c[row])
    }
}

/// Copies every non-key column of an aggregated frame into the spine rows of snapshot `s`.
fn fill(df: &DataFrame, s: usize, index: &Index, values: &mut Values) -> Result<()> {
    let acc = df
        .column("account_idx")
        .map_err(pe)?
        .u32()
        .map_err(pe)?
        .clone();
    let accs: Vec<Option<u32>> = acc.iter().collect();
    for c in df.columns() {
        let name = c.name().as_str();
        if name == "account_idx" {
            continue;
        }
        let v = c.cast(&DataType::Float64).map_err(pe)?;
        let v = v.f64().map_err(pe)?;
        for (a, x) in accs.iter().zip(v.iter()) {
            if let Some(row) = a.and_then(|a| index.row_of[s][a as usize]) {
                values.set(name, row, x);
            }
        }
    }
    Ok(())
}

/// Aggregates, per account, the rows of `frame` that pass `keep` and copies the results
/// into the spine rows of snapshot `s`: the step every windowed feature family shares.
fn fill_aggregates(
    frame: &DataFrame,
    keep: Option<Expr>,
    aggs: Vec<Expr>,
    s: usize,
    index: &Index,
    values: &mut Values,
) -> Result<()> {
    let mut lf = frame.clone().lazy();
    if let Some(keep) = keep {
        lf = lf.filter(keep);
    }
    let df = lf
        .group_by([col("account_idx")])
        .agg(aggs)
        .collect()
        .map_err(pe)?;
    fill(&df, s, index, values)
}

fn day_col(name: &str) -> Expr {
    col(name).cast(DataType::Int32)
}

fn in_window(c: &str, lo: i64, hi: i64) -> Expr {
    col(c).gt_eq(lit(lo)).and(col(c).lt(lit(hi)))
}

/// Builds the snapshot table for a validated book.
pub fn build(
    book: &Book,
    snap: &SnapshotConfig,
    feat: &FeatureConfig,
    grace_days: i64,
    as_of: Option<NaiveDate>,
) -> Result<SnapshotTable> {
    let as_of = as_of
        .or_else(|| book.as_of())
        .ok_or_else(|| Error::Input("the data has no dated rows".into()))?;
    let accounts = book.accounts();
    let histories = retention::histories(accounts.len(), &book.terms(), grace_days, as_of);
    let first_event = ["usage", "tickets", "nps", "activities"]
        .iter()
        .filter_map(|t| book.date_range(t).map(|r| r.0))
        .min()
        .or_else(|| book.date_range("contracts").map(|r| r.0))
        .unwrap_or(as_of);
    let start = snap
        .start
        .unwrap_or(first_event + Duration::days(snap.warmup_days));
    let snapshot_dates = snapshot::snapshot_dates(start, as_of, snap.cadence_months);
    let rows = snapshot::spine(&accounts, &histories, &snapshot_dates, snap, as_of);
    log::debug!(
        "{} snapshots from {start} to {as_of}: {} account-snapshots",
        snapshot_dates.len(),
        rows.len()
    );
    let index = Index::new(&rows, snapshot_dates.len(), accounts.len());
    let mut values = Values {
        cols: CATALOG
            .iter()
            .map(|s| (s.name, vec![None; rows.len()]))
            .collect(),
    };
    let mut unavailable: BTreeMap<String, String> = BTreeMap::new();
    let mut present: Vec<&'static str> = Vec::new();

    // Commercial facts from the spine.
    for (i, r) in rows.iter().enumerate() {
        values.set("arr", i, Some(r.arr));
        values.set("seats", i, Some(r.seats));
        values.set("arr_per_seat", i, (r.seats > 0.0).then(|| r.arr / r.seats));
        values.set("tenure_days", i, Some(r.tenure_days));
        values.set("days_to_renewal", i, Some(r.days_to_renewal));
        values.set(
            "first_renewal_ahead",
            i,
            Some(f64::from(u8::from(r.first_renewal_ahead))),
        );
        values.set("arr_change_last_renewal", i, r.arr_change_last_renewal);
        values.set(
            "monthly_term",
            i,
            r.term_months
                .is_finite()
                .then(|| f64::from(u8::from(r.term_months < 2.0))),
        );
    }

    let mut sticky = Vec::new();
    let mut grain = None;
    if let Some(usage) = book.frame("usage") {
        present.push("usage");
        let (s, g) = usage_features(
            usage,
            &rows,
            &snapshot_dates,
            &index,
            feat,
            &mut values,
            &mut unavailable,
        )?;
        sticky = s;
        grain = Some(g);
    }
    if let Some(t) = book.frame("tickets") {
        present.push("tickets");
        ticket_features(
            t,
            &rows,
            &snapshot_dates,
            &index,
            &mut values,
            &mut unavailable,
        )?;
    }
    if let Some(t) = book.frame("nps") {
        present.push("nps");
        nps_features(t, &snapshot_dates, &index, &mut values)?;
    }
    if let Some(t) = book.frame("contacts") {
        present.push("contacts");
        contact_features(t, &snapshot_dates, &index, &mut values)?;
    }
    if let Some(t) = book.frame("activities") {
        present.push("activities");
        activity_features(t, &snapshot_dates, &index, &mut values)?;
    }
    if let Some(t) = book.frame("invoices") {
        present.push("invoices");
        invoice_features(t, &snapshot_dates, &index, &mut values)?;
    }
    present.extend(["accounts", "contracts"]);

    // Counts are zero, not missing, for accounts without rows in a present table.
    for spec in CATALOG {
        let table = spec.source.split([' ', ',']).next().unwrap_or("");
        if !present.contains(&table) {
            unavailable
                .entry(spec.name.to_string())
                .or_insert_with(|| format!("no {table} table"));
            continue;
        }
        if unavailable.contains_key(spec.name) {
            if let Some(c) = values.cols.get_mut(spec.name) {
                c.iter_mut().for_each(|v| *v = None);
            }
            continue;
        }
        if spec.absent == Absent::Zero {
            if let Some(c) = values.cols.get_mut(spec.name) {
                c.iter_mut()
                    .filter(|v| v.is_none())
                    .for_each(|v| *v = Some(0.0));
            }
        }
    }
    derive_ratios(&rows, &mut values, &unavailable);

    let numeric = CATALOG
        .iter()
        .map(|s| values.cols.remove(s.name).unwrap_or_default())
        .collect();
    let categorical = categoricals(book, &rows);
    Ok(SnapshotTable {
        as_of,
        horizon_days: snap.horizon_days,
        snapshot_dates,
        account_ids: accounts.into_iter().map(|a| a.id).collect(),
        rows,
        numeric,
        categorical,
        unavailable,
        sticky_features: sticky,
        usage_grain: grain,
    })
}

/// Ratios and changes computed from already-filled counts.
fn derive_ratios(rows: &[SpineRow], v: &mut Values, unavailable: &BTreeMap<String, String>) {
    let ok = |n: &str| !unavailable.contains_key(n);
    for (i, r) in rows.iter().enumerate() {
        if ok("events_change_30d") {
            if let (Some(a), Some(b)) = (v.get("events_30d", i), v.get("events_prev_30d", i)) {
                v.set("events_change_30d", i, Some(((a + 1.0) / (b + 1.0)).ln()));
            }
        }
        if ok("active_users_30d") {
            let users = v.get("active_users_30d", i);
            if let (Some(a), Some(b)) = (users, v.get("active_users_prev_30d", i)) {
                v.set(
                    "active_users_change_30d",
                    i,
                    Some(((a + 1.0) / (b + 1.0)).ln()),
                );
            }
            if let Some(u) = users {
                v.set(
                    "seat_utilisation_30d",
                    i,
                    (r.seats > 0.0).then(|| u / r.seats),
                );
                let per = v.get("events_30d", i).map(|e| e / u);
                v.set(
                    "events_per_active_user_30d",
                    i,
                    if u > 0.0 { per } else { None },
                );
                let share = v.get("sticky_users_30d", i).map(|s| s / u);
                v.set(
                    "sticky_user_share_30d",
                    i,
                    if u > 0.0 { share } else { None },
                );
                let dau = v.get("user_days_30d", i).map(|d| d / 30.0 / u);
                if ok("dau_mau_30d") {
                    v.set("dau_mau_30d", i, if u > 0.0 { dau } else { None });
                }
            }
        }
        if let Some(n) = v.get("tickets_90d", i) {
            v.set(
                "tickets_per_10_seats_90d",
                i,
                (r.seats > 0.0).then(|| 10.0 * n / r.seats),
            );
        }
        if let (Some(a), Some(b)) = (v.get("tickets_30d", i), v.get("tickets_prev_30d", i)) {
            v.set("tickets_change_30d", i, Some(a - b));
        }
        if let (Some(a), Some(b)) = (v.get("nps_last", i), v.get("nps_prev", i)) {
            v.set("nps_change", i, Some(a - b));
        }
        if let Some(a) = v.get("nps_last", i) {
            v.set("nps_detractor", i, Some(f64::from(u8::from(a <= 6.0))));
        }
        if let (Some(n), Some(p), Some(d)) = (
            v.get("nps_responses_180d", i),
            v.get("promoters_180d", i),
            v.get("detractors_180d", i),
        ) {
            v.set(
                "nps_score_180d",
                i,
                if n > 0.0 {
                    Some(100.0 * (p - d) / n)
                } else {
                    None
                },
            );
        }
    }
}

/// Scratch columns used to derive catalog features; filled alongside them.
const SCRATCH: [&str; 9] = [
    "events_prev_30d",
    "features_used_30d",
    "active_users_prev_30d",
    "sticky_users_30d",
    "user_days_30d",
    "tickets_prev_30d",
    "nps_prev",
    "promoters_180d",
    "detractors_180d",
];

fn ensure_scratch(values: &mut Values, n: usize) {
    for s in SCRATCH {
        values.cols.entry(s).or_insert_with(|| vec![None; n]);
    }
}

/// The grain of the usage table: the median gap between consecutive distinct dates of the
/// same account, user and feature, over a sample of accounts.
fn detect_grain(u: &DataFrame, has_users: bool) -> Result<UsageGrain> {
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
        if acc[i] == acc[i - 1] && feat[i] == feat[i - 1] && user[i] == user[i - 1] {
            if let (Some(a), Some(b)) = (day[i - 1], day[i]) {
                gaps.push(b - a);
            }
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
fn usage_features(
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
        fill_aggregates(
            &u,
            Some(in_window("day", t - 90, t)),
            aggs,
            s,
            index,
            values,
        )?;
        // n_unique counts an empty filtered group as 0 only when present; the absent-zero
        // rule covers accounts without rows. Breadth needs the features seen before t.
        let offered = u
            .clone()
            .lazy()
            .filter(col("day").lt(lit(t)))
            .select([col("feature").n_unique().alias("n")])
            .collect()
            .map_err(pe)?;
        let offered = offered
            .column("n")
            .map_err(pe)?
            .cast(&DataType::Float64)
            .map_err(pe)?
            .f64()
            .map_err(pe)?
            .get(0)
            .unwrap_or(0.0);
        fill_aggregates(
            &u,
            Some(col("day").lt(lit(t))),
            vec![(lit(t) - col("day").max()).alias("days_since_last_activity")],
            s,
            index,
            values,
        )?;
        if let Some(ud) = &user_days {
            let keep = Some(in_window("day", t - 30, t));
            let aggs = vec![len().alias("user_days_30d")];
            fill_aggregates(ud, keep, aggs, s, index, values)?;
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

/// Data-driven sticky features: among the earliest half of the labelled snapshots (which
/// precede any out-of-time test period), the up-to-three features whose users churn least
/// relative to non-users, among features used by at least 5% of account-snapshots.
fn choose_sticky(
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
    for &s in &labelled {
        let t = dates::to_days(snapshot_dates[s]) as i64;
        let df = u
            .clone()
            .lazy()
            .filter(in_window("day", t - 30, t))
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
            if let (Some(a), Some(f)) = (a, f) {
                if let Some(row) = index.row_of[s][*a as usize].filter(|r| rows[*r].label.is_some())
                {
                    users.entry(f.to_string()).or_default().push(row);
                }
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

fn ticket_features(
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
            let w = &times[lo..hi];
            let mut best = 0usize;
            let mut j = 0usize;
            for i in 0..w.len() {
                while w[i] - w[j] >= 7 * day {
                    j += 1;
                }
                best = best.max(i - j + 1);
            }
            values.set("max_tickets_7d_90d", *row, Some(best as f64));
        }
    }
    Ok(())
}

fn nps_features(
    nps: &DataFrame,
    snapshot_dates: &[NaiveDate],
    index: &Index,
    values: &mut Values,
) -> Result<()> {
    ensure_scratch(
        values,
        index
            .row_of
            .first()
            .map(|_| values.cols["arr"].len())
            .unwrap_or(0),
    );
    let n = nps
        .clone()
        .lazy()
        .select([
            col("account_idx"),
            day_col("date").alias("day"),
            col("score"),
        ])
        .sort_by_exprs(
            [col("account_idx"), col("day"), col("score")],
            SortMultipleOptions::default(),
        )
        .collect()
        .map_err(pe)?;
    for (s, t) in snapshot_dates.iter().enumerate() {
        let t = dates::to_days(*t) as i64;
        let recent = col("day").gt_eq(lit(t - 180));
        let aggs = vec![
            col("score").last().alias("nps_last"),
            col("score").shift(lit(1)).last().alias("nps_prev"),
            (lit(t) - col("day").max()).alias("days_since_nps"),
            col("score")
                .filter(recent.clone())
                .count()
                .alias("nps_responses_180d"),
            col("score")
                .filter(recent.clone().and(col("score").gt_eq(lit(9.0))))
                .count()
                .alias("promoters_180d"),
            col("score")
                .filter(recent.and(col("score").lt_eq(lit(6.0))))
                .count()
                .alias("detractors_180d"),
        ];
        fill_aggregates(&n, Some(col("day").lt(lit(t))), aggs, s, index, values)?;
    }
    Ok(())
}

fn contact_features(
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

/// The activities table as (account_idx, day, type), days since the epoch.
fn activity_days(acts: &DataFrame) -> Result<DataFrame> {
    acts.clone()
        .lazy()
        .select([
            col("account_idx"),
            day_col("date").alias("day"),
            col("type"),
        ])
        .collect()
        .map_err(pe)
}

fn activity_features(
    acts: &DataFrame,
    snapshot_dates: &[NaiveDate],
    index: &Index,
    values: &mut Values,
) -> Result<()> {
    let a = activity_days(acts)?;
    for (s, t) in snapshot_dates.iter().enumerate() {
        let t = dates::to_days(*t) as i64;
        let exec = col("type")
            .eq(lit("ebr"))
            .or(col("type").eq(lit("exec_outreach")));
        let aggs = vec![
            (lit(t) - col("day").max()).alias("days_since_cs_touch"),
            (lit(t) - col("day").filter(exec).max()).alias("days_since_exec_touch"),
            col("day")
                .filter(col("day").gt_eq(lit(t - 90)))
                .count()
                .alias("cs_touches_90d"),
        ];
        fill_aggregates(&a, Some(col("day").lt(lit(t))), aggs, s, index, values)?;
    }
    Ok(())
}

fn invoice_features(
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

fn categoricals(book: &Book, rows: &[SpineRow]) -> Vec<Vec<Option<String>>> {
    let text = |name: &str| -> Vec<Option<String>> {
        book.frame("accounts")
            .and_then(|df| df.column(name).ok())
            .and_then(|c| {
                c.str()
                    .ok()
                    .map(|s| s.iter().map(|v| v.map(str::to_string)).collect())
            })
            .unwrap_or_default()
    };
    let cols: Vec<Vec<Option<String>>> = ["segment", "industry", "region"]
        .iter()
        .map(|n| text(n))
        .collect();
    let plans = book.plans();
    let mut out: Vec<Vec<Option<String>>> =
        (0..4).map(|_| Vec::with_capacity(rows.len())).collect();
    for r in rows {
        let a = r.account as usize;
        for k in 0..3 {
            out[k].push(cols[k].get(a).cloned().flatten());
        }
        let plan = plans
            .get(&r.account)
            .and_then(|ps| {
                ps.iter()
                    .filter(|(start, _)| *start <= r.t)
                    .max_by_key(|(start, _)| *start)
            })
            .map(|(_, p)| p.clone());
        out[3].push(plan);
    }
    out
}

/// CS plays as treatments: for each activity type, whether the account had one in the
/// `window_days` before each snapshot row's date (rows of `table`, in order).
#[derive(Clone, Debug)]
pub struct PlayFlags {
    pub types: Vec<String>,
    /// `treated[k][i]`: row `i` had a play of `types[k]` in the window.
    pub treated: Vec<Vec<bool>>,
    pub window_days: i64,
}

/// Reads the activities table (if any) into [`PlayFlags`].
pub fn play_flags(book: &Book, table: &SnapshotTable, window_days: i64) -> Result<PlayFlags> {
    let mut out = PlayFlags {
        types: Vec::new(),
        treated: Vec::new(),
        window_days,
    };
    let Some(acts) = book.frame("activities") else {
        return Ok(out);
    };
    let a = activity_days(acts)?;
    let acc = a
        .column("account_idx")
        .map_err(pe)?
        .u32()
        .map_err(pe)?
        .clone();
    let day = a.column("day").map_err(pe)?.i32().map_err(pe)?.clone();
    let ty = a.column("type").map_err(pe)?.str().map_err(pe)?.clone();
    let mut by_account: HashMap<u32, Vec<(i32, usize)>> = HashMap::new();
    for ((a, d), t) in acc.iter().zip(day.iter()).zip(ty.iter()) {
        let (Some(a), Some(d), Some(t)) = (a, d, t) else {
            continue;
        };
        let k = match out.types.iter().position(|x| x == t) {
            Some(k) => k,
            None => {
                out.types.push(t.to_string());
                out.types.len() - 1
            }
        };
        by_account.entry(a).or_default().push((d, k));
    }
    // Types in name order, so outputs do not depend on row order.
    let mut order: Vec<usize> = (0..out.types.len()).collect();
    order.sort_by(|&x, &y| out.types[x].cmp(&out.types[y]));
    let rank: Vec<usize> = {
        let mut r = vec![0; order.len()];
        for (pos, &k) in order.iter().enumerate() {
            r[k] = pos;
        }
        r
    };
    out.types = order.iter().map(|&k| out.types[k].clone()).collect();
    out.treated = vec![vec![false; table.rows.len()]; out.types.len()];
    for (i, r) in table.rows.iter().enumerate() {
        let t = dates::to_days(r.t);
        if let Some(v) = by_account.get(&r.account) {
            for &(d, k) in v {
                if d < t && i64::from(t - d) <= window_days {
                    out.treated[rank[k]][i] = true;
                }
            }
        }
    }
    Ok(out)
}
