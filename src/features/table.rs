//! The snapshot table: one row per spine row (account and snapshot date) with its labels,
//! every catalog feature and the per-type usage family, and its writing as a table.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::columns as dataset;
use crate::book::snapshot::SpineRow;
use crate::common::catalog::{CATALOG, CATEGORICALS};
use crate::common::dates;
use crate::error::Result;
use crate::input::table::{Column as TCol, Table};

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
        // Parquet keeps every digit (the SQL equality test compares to 1e-9); the CSV,
        // for people, is rounded to 6 places.
        for (name, v) in self.numeric_columns() {
            t = t.with_rounded(
                name,
                TCol::Float(
                    v.raw()[range.clone()]
                        .iter()
                        .map(|&x| (!x.is_nan()).then_some(x))
                        .collect(),
                ),
                6,
            );
        }
        for ((name, _, _), v) in CATEGORICALS.iter().zip(&self.categorical) {
            t = t.with(name, TCol::Str(v[range.clone()].to_vec()));
        }
        t
    }
}
