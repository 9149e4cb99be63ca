//! The snapshot table as SQL: `churnlab sql` writes, for DuckDB, Spark, BigQuery or
//! Snowflake, the statements that build the same table as `churnlab features` from the
//! contract's tables where the data lives: the spine (active, new and lapsed, with the
//! grace rule), the labels, every catalog feature and the per-type family.
//!
//! One file per stage, each creating one table the later stages read:
//!
//! ```text
//! 01_usage_rollup.sql    usage_events -> usage          (only for raw events)
//! 02_book.sql            cl_accounts, cl_terms, cl_params, cl_dates, cl_spells
//! 03_spine.sql           cl_spine: membership, labels, contract facts
//! 04_usage.sql           cl_f_usage: the usage windows
//! 05_per_type.sql        cl_f_per_type: the per-type family
//! 06_tickets.sql ... 10_invoices.sql: the smaller tables' windows
//! 11_snapshot_table.sql  snapshot_table: the catalog's columns
//! ```
//!
//! The feature columns are derived from the catalog ([`columns`]): a catalog feature
//! without SQL fails a test. Equality with `churnlab features` is tested on DuckDB and
//! Spark (`tests/sql.rs`, `benches/sql_equal.py`).

mod book;
pub mod columns;
mod dialect;
mod spine;
mod tables;
mod usage;

use std::path::Path;

use chrono::NaiveDate;

pub use dialect::Dialect;

use crate::config::{Config, SnapshotConfig};
use crate::error::Result;
use crate::features::UsageGrain;
use crate::output::{self, Written};

/// What the SQL is written for: the dialect, the snapshot rules, the usage grain and the
/// feature choices that churnlab makes from the data or a model (sticky features, the
/// per-type family's event types).
#[derive(Clone, Debug)]
pub struct Plan {
    pub dialect: Dialect,
    pub snap: SnapshotConfig,
    pub grace_days: i64,
    /// The as-of date; None: the day after the latest observed event, as churnlab
    /// finds it.
    pub as_of: Option<NaiveDate>,
    pub sticky: Vec<String>,
    /// The per-type family's event types, in column order (a model folder's list, or
    /// `[features] usage_types`). Empty: no per-type columns.
    pub usage_types: Vec<String>,
    pub ratio_types: usize,
    /// The usage table's grain (churnlab detects it; the SQL is told).
    pub grain: UsageGrain,
    /// Tables (`contacts`) and optional columns (`usage.minutes`) the warehouse does not
    /// have: their features are NULL in every row, as churnlab reports them unavailable.
    pub without: Vec<String>,
}

impl Plan {
    /// The plan a checked configuration gives: its snapshot rules, grace period, sticky
    /// features, per-type types and ratio pairs.
    pub fn new(dialect: Dialect, cfg: &Config, grain: UsageGrain) -> Plan {
        Plan {
            dialect,
            snap: cfg.snapshots().clone(),
            grace_days: cfg.data().grace_days,
            as_of: cfg.data().as_of,
            sticky: cfg.features().sticky_features.clone(),
            usage_types: cfg.features().usage_types.clone(),
            ratio_types: cfg.features().usage_ratio_types,
            grain,
            without: Vec::new(),
        }
    }

    /// Whether the warehouse has a table (`tickets`) or a table's column (`usage.minutes`).
    pub fn has(&self, what: &str) -> bool {
        let table = what.split('.').next().unwrap_or(what);
        !self.without.iter().any(|w| w == what || w == table)
    }

    /// The tables and optional columns `without` may name.
    pub const OPTIONAL: [&'static str; 13] = [
        "usage",
        "tickets",
        "nps",
        "contacts",
        "activities",
        "invoices",
        "usage.user_id",
        "usage.minutes",
        "tickets.csat",
        "tickets.escalated",
        "accounts.industry",
        "accounts.region",
        "contracts.plan",
    ];

    #[cfg(test)]
    pub(crate) fn for_test(dialect: Dialect) -> Plan {
        Plan::new(dialect, &Config::default(), UsageGrain::Weekly)
    }

    /// Every stage's file name and SQL, in the order they run.
    pub fn files(&self) -> Vec<(String, String)> {
        let header = format!(
            "-- Written by `churnlab sql --dialect {}` (churnlab {}). Stages run in file order.\n",
            self.dialect,
            env!("CARGO_PKG_VERSION")
        );
        type Stage = (&'static str, &'static str, fn(&Plan) -> String);
        let stages: [Stage; 11] = [
            ("01_usage_rollup", "usage", book::usage_rollup),
            ("02_book", "", book::book),
            ("03_spine", "", spine::spine),
            ("04_usage", "usage", usage::usage),
            ("05_per_type", "usage", usage::per_type),
            ("06_tickets", "tickets", tables::tickets),
            ("07_nps", "nps", tables::nps),
            ("08_contacts", "contacts", tables::contacts),
            ("09_activities", "activities", tables::activities),
            ("10_invoices", "invoices", tables::invoices),
            ("11_snapshot_table", "", columns::snapshot_table),
        ];
        stages
            .iter()
            .map(|&(name, table, stage)| {
                let body = if table.is_empty() || self.has(table) {
                    stage(self)
                } else {
                    format!("-- No {table} table: its features are NULL in the snapshot table.\n")
                };
                (format!("{name}.sql"), format!("{header}{body}"))
            })
            .collect()
    }
}

/// A category as churnlab's loader reads it (`input::schema::normalize_category`):
/// trimmed, lower case, with spaces, dashes and slashes as underscores.
pub(crate) fn normalized(e: &str) -> String {
    format!("REPLACE(REPLACE(REPLACE(LOWER(TRIM({e})), ' ', '_'), '-', '_'), '/', '_')")
}

/// A vocabulary's canonical word for a category column, as the loader maps it (NULL for
/// a word it does not know).
pub(crate) fn canonical(d: Dialect, e: &str, vocabulary: &[(&str, &[&str])]) -> String {
    let n = normalized(e);
    let arms: Vec<String> = vocabulary
        .iter()
        .map(|(word, words)| {
            let list: Vec<String> = words.iter().map(|w| d.string(w)).collect();
            format!("WHEN {n} IN ({}) THEN {}", list.join(", "), d.string(word))
        })
        .collect();
    format!("CASE {} END", arms.join(" "))
}

/// Writes the plan's stage files into `out` (whole or not at all).
pub fn write(plan: &Plan, out: &Path) -> Result<Written> {
    let files = plan.files();
    output::staged(out, "sql", |dir| {
        for (name, text) in &files {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|e| crate::Error::io(&path, e))?;
        }
        Ok(())
    })
}
