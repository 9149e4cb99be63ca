//! The feature catalog: one row per (account, snapshot date), every feature computed only
//! from rows dated before the snapshot, each tagged with the health component it belongs
//! to. The usage windows are one pass over the usage table's own columns for every
//! snapshot (`usage.rs`); the smaller tables' windows run as polars lazy plans, one per
//! table and snapshot; the contract facts come from the snapshot spine.

mod accounts;
mod activities;
pub mod catalog;
mod contacts;
pub mod dataset;
pub use usage::events_by_feature;
mod invoices;
mod nps;
mod per_type;
mod tickets;
mod usage;

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDate};
use polars::prelude::*;
use serde::Serialize;

use crate::book::retention::History;
use crate::book::snapshot::{self, SpineRow};
use crate::common::dates::{self, MS_PER_DAY};
pub use crate::common::vocab::Component;
use crate::config::{FeatureConfig, SnapshotConfig};
use crate::error::{Error, Result};
use crate::input::load::{AccountInfo, Book, Loaded};
use crate::input::table::{Column as TCol, Table};
pub use activities::{PlayFlags, play_flags};
pub use catalog::{Absent, CATALOG, CATEGORICALS, FeatureSpec, catalog_markdown, spec};

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
    pub numeric: Vec<dataset::Numbers>,
    pub categorical: Vec<dataset::Column<String>>,
    /// Features that cannot be computed from this data, with the reason.
    pub unavailable: BTreeMap<String, String>,
    pub sticky_features: Vec<String>,
    pub usage_grain: Option<UsageGrain>,
    /// The event types of the per-type usage family, in column order.
    pub usage_types: Vec<String>,
    /// Widely used event types that the fixed list (a saved model's) leaves out, with the
    /// share of accounts using each: reported as drift, never silently dropped.
    pub unmodelled_usage_types: Vec<(String, f64)>,
    /// The per-type usage columns (`usage[TYPE].METRIC`), after the catalog's.
    pub per_type_names: Vec<String>,
    pub per_type: Vec<dataset::Numbers>,
}

impl SnapshotTable {
    /// Rows of the scoring snapshot: every account active on the as-of date.
    pub fn scoring_rows(&self) -> Vec<usize> {
        (0..self.rows.len())
            .filter(|&i| self.rows[i].t == self.as_of)
            .collect()
    }

    pub fn feature(&self, name: &str) -> Option<&dataset::Numbers> {
        CATALOG
            .iter()
            .position(|s| s.name == name)
            .map(|i| &self.numeric[i])
            .or_else(|| {
                self.per_type_names
                    .iter()
                    .position(|n| n == name)
                    .map(|i| &self.per_type[i])
            })
    }

    /// Every numeric column, the catalog's then the per-type family's, by name.
    pub fn numeric_columns(&self) -> impl Iterator<Item = (&str, &dataset::Numbers)> {
        CATALOG.iter().map(|s| s.name).zip(&self.numeric).chain(
            self.per_type_names
                .iter()
                .map(String::as_str)
                .zip(&self.per_type),
        )
    }

    /// Everything as a flat table: identifiers, labels, numeric and categorical features.
    pub fn to_table(&self) -> Table {
        self.rows_table(0..self.rows.len())
    }

    /// Writes [`SnapshotTable::to_table`] as `<stem>.<extension>` in each of `formats`, a
    /// part of the rows at a time (a 100,000-account book's table is about 3 GB as one
    /// [`Table`]).
    pub fn write(
        &self,
        stem: &std::path::Path,
        formats: &[crate::input::io::Format],
    ) -> Result<Vec<std::path::PathBuf>> {
        crate::input::io::write_by_parts(stem, self.rows.len(), formats, |range| {
            self.rows_table(range)
        })
    }

    /// The rows `range` of [`SnapshotTable::to_table`].
    pub fn rows_table(&self, range: std::ops::Range<usize>) -> Table {
        let r = &self.rows[range.clone()];
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
                "status",
                TCol::Str(
                    r.iter()
                        .map(|x| Some(x.status.as_str().to_string()))
                        .collect(),
                ),
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
        for (name, v) in self.numeric_columns() {
            t = t.with(
                name,
                TCol::Float(
                    v.raw()[range.clone()]
                        .iter()
                        .map(|&x| (!x.is_nan()).then(|| round6(x)))
                        .collect(),
                ),
            );
        }
        for ((name, _, _), v) in CATEGORICALS.iter().zip(&self.categorical) {
            t = t.with(name, TCol::Str(v[range.clone()].to_vec()));
        }
        t
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn pe(e: PolarsError) -> Error {
    Error::Internal(format!("feature computation failed: {e}"))
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

/// Feature values being filled, by catalog name. A value is finite or missing, so NaN
/// stands for missing: 8 bytes a cell instead of an `Option`'s 16 while the tables are
/// still in memory (1.5 M account-snapshots x 64 columns at 100,000 accounts).
struct Values {
    cols: HashMap<&'static str, Vec<f64>>,
}

const MISSING: f64 = f64::NAN;

impl Values {
    fn set(&mut self, name: &str, row: usize, v: Option<f64>) {
        if let Some(c) = self.cols.get_mut(name) {
            c[row] = v.filter(|x| x.is_finite()).unwrap_or(MISSING);
        }
    }
    fn get(&self, name: &str, row: usize) -> Option<f64> {
        self.cols.get(name).map(|c| c[row]).filter(|x| !x.is_nan())
    }
    /// A column taken out, as the snapshot table holds it.
    fn take(&mut self, name: &str) -> dataset::Numbers {
        self.cols.remove(name).unwrap_or_default().into()
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

/// The spine's commercial facts: ARR, seats, tenure, renewal timing, the last renewal's
/// change and the term.
fn commercial_facts(rows: &[SpineRow], values: &mut Values) {
    for (i, r) in rows.iter().enumerate() {
        values.set("arr", i, Some(r.arr));
        values.set("seats", i, Some(r.seats));
        values.set("arr_per_seat", i, (r.seats > 0.0).then(|| r.arr / r.seats));
        values.set("tenure_days", i, Some(r.tenure_days));
        values.set("days_to_renewal", i, Some(r.days_to_renewal));
        values.set("days_lapsed", i, Some(r.days_lapsed));
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
}

/// A feature whose table is absent is unavailable; a feature found unavailable is missing
/// everywhere; counts are zero, not missing, for accounts without rows in a present table.
fn settle_absent(
    present: &[&'static str],
    unavailable: &mut BTreeMap<String, String>,
    values: &mut Values,
) {
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
                c.iter_mut().for_each(|v| *v = MISSING);
            }
            continue;
        }
        if spec.absent == Absent::Zero
            && let Some(c) = values.cols.get_mut(spec.name)
        {
            c.iter_mut().filter(|v| v.is_nan()).for_each(|v| *v = 0.0);
        }
    }
}

/// Builds the snapshot table for a validated book.
///
/// `accounts` and `histories` are the book's (contract histories as of `as_of`, see
/// [`crate::book::retention::histories`]); the caller computes them once.
pub fn build(
    book: &Book,
    accounts: &[AccountInfo],
    histories: &[History],
    snap: &SnapshotConfig,
    feat: &FeatureConfig,
    grace_days: i64,
    as_of: NaiveDate,
) -> Result<SnapshotTable> {
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
    let rows = snapshot::spine(
        accounts,
        histories,
        &snapshot_dates,
        snap,
        grace_days,
        as_of,
    );
    log::debug!(
        "{} snapshots from {start} to {as_of}: {} account-snapshots",
        snapshot_dates.len(),
        rows.len()
    );
    let index = Index::new(&rows, snapshot_dates.len(), accounts.len());
    let mut values = Values {
        cols: CATALOG
            .iter()
            .map(|s| (s.name, vec![MISSING; rows.len()]))
            .collect(),
    };
    let mut unavailable: BTreeMap<String, String> = BTreeMap::new();
    let mut present: Vec<&'static str> = Vec::new();

    // Commercial facts from the spine.
    commercial_facts(&rows, &mut values);

    let mut sticky = Vec::new();
    let mut grain = None;
    let mut family = None;
    // The per-type family's types are chosen from the rows before the last snapshot whose
    // label can be settled (the training data's end), or before the as-of date when the
    // book is shorter than one horizon.
    let type_cut = {
        let cut = as_of - Duration::days(snap.horizon_days);
        dates::to_days(if cut > start { cut } else { as_of })
    };
    let clock = std::time::Instant::now();
    let lap = |what: &str| {
        log::debug!(
            "features: {what} done at {:.1}s",
            clock.elapsed().as_secs_f64()
        )
    };
    if let Some(usage) = book.tables.get("usage") {
        present.push("usage");
        let (s, g, f) = usage::usage_features(
            usage,
            &rows,
            &snapshot_dates,
            &index,
            feat,
            type_cut,
            &mut values,
            &mut unavailable,
        )?;
        sticky = s;
        grain = Some(g);
        family = Some(f);
        lap("usage");
    }
    if let Some(t) = book.frame("tickets") {
        present.push("tickets");
        tickets::ticket_features(
            t,
            &rows,
            &snapshot_dates,
            &index,
            &mut values,
            &mut unavailable,
        )?;
        lap("tickets");
    }
    if let Some(t) = book.frame("nps") {
        present.push("nps");
        nps::nps_features(t, &snapshot_dates, &index, &mut values)?;
        lap("nps");
    }
    if let Some(t) = book.frame("contacts") {
        present.push("contacts");
        contacts::contact_features(t, &snapshot_dates, &index, &mut values)?;
        lap("contacts");
    }
    if let Some(t) = book.frame("activities") {
        present.push("activities");
        activities::activity_features(t, &snapshot_dates, &index, &mut values)?;
        lap("activities");
    }
    if let Some(t) = book.frame("invoices") {
        present.push("invoices");
        invoices::invoice_features(t, &snapshot_dates, &index, &mut values)?;
        lap("invoices");
    }
    present.extend(["accounts", "contracts"]);

    settle_absent(&present, &mut unavailable, &mut values);
    derive_ratios(&rows, &mut values, &unavailable);
    mask_unobserved_windows(&rows, &mut values);

    let numeric = CATALOG.iter().map(|s| values.take(s.name)).collect();
    let categorical = accounts::categoricals(book, &rows)
        .into_iter()
        .map(Into::into)
        .collect();
    let (usage_types, unmodelled_usage_types, per_type_names, per_type) = match family {
        Some(f) => (
            f.types,
            f.unmodelled,
            f.names,
            f.columns.into_iter().map(Into::into).collect(),
        ),
        None => Default::default(),
    };
    Ok(SnapshotTable {
        as_of,
        horizon_days: snap.horizon_days,
        snapshot_dates,
        account_ids: accounts.iter().map(|a| a.id.clone()).collect(),
        rows,
        numeric,
        categorical,
        unavailable,
        sticky_features: sticky,
        usage_grain: grain,
        usage_types,
        unmodelled_usage_types,
        per_type_names,
        per_type,
    })
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
        values.cols.entry(s).or_insert_with(|| vec![MISSING; n]);
    }
}

/// A new account's windows reach back before it was a customer: a count over such a
/// window, or a change against a prior window, is unknown rather than low, so it is
/// missing. (Averages and levels over what exists are kept.)
fn mask_unobserved_windows(rows: &[SpineRow], v: &mut Values) {
    for spec in CATALOG {
        let Some(days) = spec.observed_days() else {
            continue;
        };
        let Some(col) = v.cols.get_mut(spec.name) else {
            continue;
        };
        for (i, r) in rows.iter().enumerate() {
            if r.tenure_days < days as f64 {
                col[i] = MISSING;
            }
        }
    }
}

/// Ratios and changes computed from already-filled counts.
fn derive_ratios(rows: &[SpineRow], v: &mut Values, unavailable: &BTreeMap<String, String>) {
    let ok = |n: &str| !unavailable.contains_key(n);
    for (i, r) in rows.iter().enumerate() {
        if ok("events_change_30d")
            && let (Some(a), Some(b)) = (v.get("events_30d", i), v.get("events_prev_30d", i))
        {
            v.set("events_change_30d", i, Some(((a + 1.0) / (b + 1.0)).ln()));
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
