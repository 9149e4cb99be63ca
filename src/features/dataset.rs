//! The modelling input: a labelled feature table with row ids, groups (accounts) and,
//! for snapshot tables, the snapshot date of each row. It comes either from the feature
//! layer ([`Dataset::from_snapshots`]) or from a flat table a team exports from its own
//! warehouse ([`Dataset::from_flat`]).

use std::collections::HashMap;
use std::path::Path;

use super::table::SnapshotTable;
use crate::common::catalog::CATEGORICALS;
use crate::common::dates;
use crate::error::{Error, Location, Problem, Problems, Result};
use crate::input::io;
use crate::input::schema;

pub use super::columns::{Column, Numbers};

/// The column that dates the rows of a snapshot table.
pub const SNAPSHOT_DATE: &str = "snapshot_date";

#[derive(Clone, Debug, Default)]
pub struct Dataset {
    /// Row ids (account ids for snapshot tables).
    pub ids: Vec<String>,
    pub numeric_names: Vec<String>,
    /// Numeric features, one vector per feature.
    pub numeric: Vec<Numbers>,
    pub categorical_names: Vec<String>,
    pub categorical: Vec<Column<String>>,
    /// 1.0 churned, 0.0 retained, None unlabelled (rows to score).
    pub label: Vec<Option<f64>>,
    /// Rows of one group (an account) stay on one side of every split.
    pub group: Vec<u32>,
    /// Snapshot date (days since 1970-01-01) of each row, for out-of-time validation.
    pub time: Option<Vec<i32>>,
    /// ARR of each row, for churned-ARR capture.
    pub arr: Option<Vec<f64>>,
    /// Notes for the user about columns that were dropped or reinterpreted.
    pub notes: Vec<String>,
}

impl Dataset {
    pub fn rows(&self) -> usize {
        self.label.len()
    }

    /// Indices of labelled rows.
    pub fn labelled(&self) -> Vec<usize> {
        (0..self.rows())
            .filter(|&i| self.label[i].is_some())
            .collect()
    }

    pub fn labels(&self, rows: &[usize]) -> Vec<f64> {
        rows.iter().map(|&i| self.label[i].unwrap_or(0.0)).collect()
    }

    pub fn arr_of(&self, rows: &[usize]) -> Option<Vec<f64>> {
        self.arr
            .as_ref()
            .map(|a| rows.iter().map(|&i| a[i]).collect())
    }

    /// The rows `rows` of this dataset, in that order.
    pub fn subset(&self, rows: &[usize]) -> Dataset {
        let pick = |v: &[f64]| -> Numbers { rows.iter().map(|&i| Some(v[i])).collect() };
        Dataset {
            ids: rows.iter().map(|&i| self.ids[i].clone()).collect(),
            numeric_names: self.numeric_names.clone(),
            numeric: self.numeric.iter().map(|c| pick(c.raw())).collect(),
            categorical_names: self.categorical_names.clone(),
            categorical: self
                .categorical
                .iter()
                .map(|c| std::sync::Arc::new(rows.iter().map(|&i| c[i].clone()).collect()))
                .collect(),
            label: rows.iter().map(|&i| self.label[i]).collect(),
            group: rows.iter().map(|&i| self.group[i]).collect(),
            time: self
                .time
                .as_ref()
                .map(|t| rows.iter().map(|&i| t[i]).collect()),
            arr: self
                .arr
                .as_ref()
                .map(|a| rows.iter().map(|&i| a[i]).collect()),
            notes: self.notes.clone(),
        }
    }

    /// The rows of the latest snapshot date, for a dataset with dates (None without).
    pub fn latest_snapshot(&self) -> Option<(i32, Vec<usize>)> {
        let time = self.time.as_ref()?;
        let last = *time.iter().max()?;
        Some((
            last,
            (0..self.rows()).filter(|&i| time[i] == last).collect(),
        ))
    }

    /// A numeric feature's values by name.
    pub fn numeric_col(&self, name: &str) -> Option<&Numbers> {
        let k = self.numeric_names.iter().position(|n| n == name)?;
        Some(&self.numeric[k])
    }

    /// A categorical feature's values by name.
    pub fn categorical_col(&self, name: &str) -> Option<&[Option<String>]> {
        let k = self.categorical_names.iter().position(|n| n == name)?;
        Some(&self.categorical[k])
    }

    /// Removes feature columns by name (case-insensitive); returns the names not found.
    pub fn drop_columns(&mut self, names: &[String]) -> Vec<String> {
        let mut missing = Vec::new();
        for name in names {
            let hit = |n: &String| n.eq_ignore_ascii_case(name.trim());
            if let Some(k) = self.numeric_names.iter().position(hit) {
                self.numeric_names.remove(k);
                self.numeric.remove(k);
            } else if let Some(k) = self.categorical_names.iter().position(hit) {
                self.categorical_names.remove(k);
                self.categorical.remove(k);
            } else {
                missing.push(name.clone());
            }
        }
        missing
    }

    /// The snapshot table of the feature layer: every catalog feature that is available,
    /// and the four categoricals.
    pub fn from_snapshots(t: &SnapshotTable) -> Dataset {
        let mut numeric_names = Vec::new();
        let mut numeric = Vec::new();
        for (name, col) in t.numeric_columns() {
            if t.unavailable.contains_key(name) {
                continue;
            }
            numeric_names.push(name.to_string());
            numeric.push(col.clone());
        }
        let categorical_names = CATEGORICALS.iter().map(|c| c.0.to_string()).collect();
        Dataset {
            ids: t
                .rows
                .iter()
                .map(|r| t.account_ids[r.account as usize].clone())
                .collect(),
            numeric_names,
            numeric,
            categorical_names,
            categorical: t.categorical.clone(),
            label: t
                .rows
                .iter()
                .map(|r| r.label.map(|b| f64::from(u8::from(b))))
                .collect(),
            group: t.rows.iter().map(|r| r.account).collect(),
            time: Some(t.rows.iter().map(|r| dates::to_days(r.t)).collect()),
            arr: Some(t.rows.iter().map(|r| r.arr).collect()),
            notes: Vec::new(),
        }
    }

    /// A flat feature table: one row per example, a label column (0/1, yes/no,
    /// true/false), an optional id column; every other column is a feature. A column is
    /// numeric when every non-blank cell is a number (blanks and NA are missing), and
    /// categorical otherwise.
    pub fn from_flat(path: &Path, label: &str, id: Option<&str>) -> Result<Dataset> {
        Self::read_flat(path, Some(label), id)
    }

    /// A flat table to score: like [`Dataset::from_flat`] without a label (a label
    /// column, if present, is simply one more column the model does not use).
    pub fn from_flat_unlabelled(path: &Path, id: Option<&str>) -> Result<Dataset> {
        Self::read_flat(path, None, id)
    }

    fn read_flat(path: &Path, label: Option<&str>, id: Option<&str>) -> Result<Dataset> {
        let mut ds = Self::read_columns(path, label, id)?;
        ds.read_snapshot_columns(path)?;
        Ok(ds)
    }

    /// A snapshot table exported from a warehouse (`churnlab sql`'s `snapshot_table`, or
    /// `churnlab features`) is a flat table with the spine's columns. They are not
    /// features: `snapshot_date` becomes each row's time (so training validates out of
    /// time), `arr` stays a feature and also weighs churned-ARR capture, and `status`,
    /// `renewal_date`, `churn_date` and `label_next_renewal` (which look ahead) are
    /// dropped. Rows are grouped by `account_id` unless `--id` says otherwise. A table
    /// without `snapshot_date` is left as it is.
    fn read_snapshot_columns(&mut self, path: &Path) -> Result<()> {
        let Some(k) = self
            .categorical_names
            .iter()
            .position(|n| n.eq_ignore_ascii_case(SNAPSHOT_DATE))
        else {
            return Ok(());
        };
        let file = path.display().to_string();
        let days: Vec<i32> = self.categorical[k]
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_deref()
                    .and_then(|s| dates::parse_date(s.get(..10).unwrap_or(s)))
                    .map(dates::to_days)
                    .ok_or_else(|| {
                        Error::Input(format!(
                            "{file}: row {}: snapshot_date is {:?}; expected a date YYYY-MM-DD",
                            i + 1,
                            v.as_deref().unwrap_or("")
                        ))
                    })
            })
            .collect::<Result<_>>()?;
        self.categorical_names.remove(k);
        self.categorical.remove(k);
        self.time = Some(days);
        let dropped: Vec<String> = ["status", "renewal_date", "churn_date", "label_next_renewal"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let missing = self.drop_columns(&dropped);
        let gone: Vec<&String> = dropped.iter().filter(|d| !missing.contains(d)).collect();
        if !gone.is_empty() {
            self.notes.push(format!(
                "a snapshot table: rows are dated by snapshot_date (validation is out of time); not features: {}",
                gone.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        if let Some(arr) = self.numeric_col("arr") {
            self.arr = Some(
                arr.raw()
                    .iter()
                    .map(|v| if v.is_nan() { 0.0 } else { *v })
                    .collect(),
            );
        }
        Ok(())
    }

    fn read_columns(path: &Path, label: Option<&str>, id: Option<&str>) -> Result<Dataset> {
        // Cells are parsed where the file's frame holds them, a column at a time: a
        // million-row table is never also held as a string per cell.
        let t = io::TextFrame::read(path)?;
        let names = t.names();
        let file = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("table")
            .to_string();
        let line_of = |i: usize| {
            if file.to_ascii_lowercase().ends_with(".parquet") {
                i + 1
            } else {
                i + 2
            }
        };
        let find = |want: &str| {
            names
                .iter()
                .position(|n| n.trim().eq_ignore_ascii_case(want.trim()))
        };
        let li = match label {
            Some(label) => Some(find(label).ok_or_else(|| {
                Error::Input(format!(
                    "{file}: no label column '{label}'; the header has: {}",
                    names.join(", ")
                ))
            })?),
            None => None,
        };
        let ii = match id {
            Some(id) => Some(find(id).ok_or_else(|| {
                Error::Input(format!(
                    "{file}: no id column '{id}'; the header has: {}",
                    names.join(", ")
                ))
            })?),
            // A snapshot table's rows are accounts' snapshots: grouped by account.
            None if find(SNAPSHOT_DATE).is_some() => find("account_id"),
            None => None,
        };
        let n = t.height();
        if n == 0 {
            return Err(Error::Input(format!("{file}: the table has no rows")));
        }
        let mut problems = Problems::default();
        let mut labels = Vec::with_capacity(n);
        let Some(li) = li else {
            return Self::features_of(&t, names, None, ii, vec![None; n], &line_of);
        };
        let mut blank = 0usize;
        let label_col = t.column(&names[li]);
        for i in 0..n {
            let cell = label_col.get(i);
            let v = cell.and_then(schema::parse_bool);
            if cell.is_none() {
                blank += 1;
            } else if v.is_none() {
                if problems.items.len() < 10 {
                    problems.items.push(Problem {
                        at: Location {
                            file: file.clone(),
                            line: Some(line_of(i)),
                            column: Some(names[li].clone()),
                        },
                        message: format!(
                            "expected a label 0/1, yes/no or true/false, found {}",
                            cell.map(|s| format!("\"{s}\""))
                                .unwrap_or("an empty cell".into())
                        ),
                    });
                } else {
                    problems.suppressed += 1;
                }
            }
            labels.push(v.map(|b| f64::from(u8::from(b))));
        }
        if !problems.is_empty() {
            return Err(Error::Invalid(problems));
        }
        let positives = labels.iter().flatten().filter(|&&v| v > 0.5).count();
        let labelled = n - blank;
        if positives == 0 || positives == labelled {
            return Err(Error::Input(format!(
                "{file}: column '{}' has a single class ({} of {labelled} labelled rows are 1); a model needs churned and retained rows",
                names[li], positives
            )));
        }
        let mut ds = Self::features_of(&t, names, Some(li), ii, labels, &line_of)?;
        if blank > 0 {
            ds.notes.push(format!(
                "{blank} rows have an empty label and are not used for training"
            ));
        }
        Ok(ds)
    }

    fn features_of(
        t: &io::TextFrame,
        names: Vec<String>,
        li: Option<usize>,
        ii: Option<usize>,
        labels: Vec<Option<f64>>,
        line_of: &dyn Fn(usize) -> usize,
    ) -> Result<Dataset> {
        let n = labels.len();
        let ids: Vec<String> = match ii {
            Some(k) => {
                let c = t.column(&names[k]);
                (0..n)
                    .map(|i| {
                        c.get(i)
                            .map_or_else(|| format!("row{}", line_of(i)), str::to_string)
                    })
                    .collect()
            }
            None => (0..n).map(|i| format!("row{}", line_of(i))).collect(),
        };
        // Rows sharing an id are one group (e.g. several snapshots of one account).
        let mut group_of: HashMap<&str, u32> = HashMap::new();
        let group = ids
            .iter()
            .map(|s| {
                let next = group_of.len() as u32;
                *group_of.entry(s.as_str()).or_insert(next)
            })
            .collect();
        let mut ds = Dataset {
            label: labels,
            group,
            ..Dataset::default()
        };
        for (k, name) in names.iter().enumerate() {
            if Some(k) == li || Some(k) == ii {
                continue;
            }
            let is_missing = |s: &str| {
                matches!(
                    s.to_ascii_lowercase().as_str(),
                    "na" | "n/a" | "nan" | "null" | "none" | "-"
                )
            };
            let c = t.column(name);
            let cell = |i: usize| c.get(i).filter(|s| !is_missing(s));
            // Parsed once: a column is numeric when every present cell is a finite number.
            let mut present = false;
            let mut numeric = true;
            let mut values: Vec<Option<f64>> = Vec::with_capacity(n);
            for i in 0..n {
                let v = cell(i).map(|s| {
                    present = true;
                    s.parse::<f64>().ok().filter(|v| v.is_finite())
                });
                if v == Some(None) {
                    numeric = false;
                    break;
                }
                values.push(v.flatten());
            }
            if !present && numeric {
                ds.notes
                    .push(format!("column '{name}' is empty in every row; ignored"));
                continue;
            }
            if numeric {
                ds.numeric_names.push(name.clone());
                ds.numeric.push(values.into());
            } else {
                ds.categorical_names.push(name.clone());
                ds.categorical.push(
                    (0..n)
                        .map(|i| cell(i).map(str::to_string))
                        .collect::<Vec<_>>()
                        .into(),
                );
            }
        }
        ds.ids = ids;
        Ok(ds)
    }
}
