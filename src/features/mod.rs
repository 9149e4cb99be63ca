//! The feature catalog: one row per (account, snapshot date), every feature computed only
//! from rows dated before the snapshot, each tagged with the health component it belongs
//! to. The usage windows are one pass over the usage table's own columns for every
//! snapshot (`usage.rs`); the smaller tables' windows run as polars lazy plans, one per
//! table and snapshot; the contract facts come from the snapshot spine.

mod accounts;
mod activities;
mod columns;
pub use crate::common::catalog;
mod contacts;
pub mod dataset;
pub use usage::events_by_feature;
mod invoices;
mod nps;
mod per_type;
mod table;
mod tickets;
mod usage;
mod usage_rows;
mod window;

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};

use crate::book::retention::History;
use crate::book::snapshot::{self, SpineRow};
use crate::common::dates;
pub use crate::common::vocab::Component;
use crate::config::{FeatureConfig, SnapshotConfig};
use crate::error::Result;
use crate::input::load::{AccountInfo, Book};
pub use activities::{PlayFlags, play_flags};
pub use catalog::{Absent, CATALOG, CATEGORICALS, FeatureSpec, catalog_markdown, spec};
pub use table::{SnapshotTable, UsageGrain};
use window::{Index, MISSING, Values};

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
                // Unavailable without sticky features: missing, not a share of 0.
                if ok("sticky_user_share_30d") {
                    let share = v.get("sticky_users_30d", i).map(|s| s / u);
                    v.set(
                        "sticky_user_share_30d",
                        i,
                        if u > 0.0 { share } else { None },
                    );
                }
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
