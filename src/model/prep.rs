//! Preprocessing, fitted on training rows only and saved whole with the model: median
//! imputation with a missing-value indicator the model can see, arcsinh for skewed
//! non-negative counts, standardisation, and one-hot levels for categoricals. Every design
//! column remembers the feature it came from, so coefficients and explanations fold back
//! to the original feature names.

use std::collections::HashMap;

use ndarray::{Array2, Axis};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::common::stats::median;
use crate::error::{Error, Result};
use crate::features::dataset::{Dataset, Numbers};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transform {
    Identity,
    Asinh,
}

impl Transform {
    fn apply(self, x: f64) -> f64 {
        match self {
            Transform::Identity => x,
            Transform::Asinh => x.asinh(),
        }
    }
    fn invert(self, x: f64) -> f64 {
        match self {
            Transform::Identity => x,
            Transform::Asinh => x.sinh(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NumericStep {
    pub name: String,
    pub median: f64,
    pub transform: Transform,
    pub mean: f64,
    pub std: f64,
    /// Whether the value column is kept (false when it is constant in training).
    pub value_column: bool,
    pub missing_indicator: bool,
    /// Every training value is 0 or 1 (a flag).
    #[serde(default)]
    pub binary: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CategoricalStep {
    pub name: String,
    /// Levels with their own column; any other level has all zeros.
    pub levels: Vec<String>,
    pub missing_indicator: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "level", rename_all = "lowercase")]
pub enum ColumnKind {
    /// The standardised value of a numeric feature.
    Value,
    /// 1 when the feature is missing.
    Missing,
    /// 1 when the categorical feature has this level.
    Level(String),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DesignColumn {
    pub name: String,
    pub source: String,
    pub kind: ColumnKind,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Preprocessor {
    pub numeric: Vec<NumericStep>,
    pub categorical: Vec<CategoricalStep>,
    pub columns: Vec<DesignColumn>,
    /// Mean of each design column over the training rows: the reference account of
    /// linear explanations.
    #[serde(default)]
    pub column_means: Vec<f64>,
}

/// Most levels a categorical keeps, and the fewest rows a level needs for its own column.
const MAX_LEVELS: usize = 30;
const MIN_LEVEL_ROWS: usize = 5;
/// Sample skewness above which a non-negative feature is arcsinh-transformed.
const SKEW_LIMIT: f64 = 2.0;

fn mean_std(v: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let (mut n, mut s) = (0.0, 0.0);
    for x in v.clone() {
        n += 1.0;
        s += x;
    }
    let m = s / f64::max(n, 1.0);
    let var = v.map(|x| (x - m).powi(2)).sum::<f64>() / f64::max(n, 1.0);
    (m, var.sqrt())
}

impl NumericStep {
    /// Learns one numeric column's imputation (median), transform (arcsinh when
    /// non-negative and skewed) and scaling from `rows`; `None` when no row has a value.
    pub fn fit(name: &str, col: &Numbers, rows: &[usize]) -> Option<NumericStep> {
        let mut present: Vec<f64> = rows.iter().filter_map(|&i| col.get(i)).collect();
        if present.is_empty() {
            return None;
        }
        let any_missing = present.len() < rows.len();
        let (m0, s0) = mean_std(present.iter().copied());
        let skew = if s0 > 0.0 {
            present.iter().map(|x| ((x - m0) / s0).powi(3)).sum::<f64>() / present.len() as f64
        } else {
            0.0
        };
        let min = present.iter().copied().fold(f64::INFINITY, f64::min);
        let binary = present.iter().all(|&v| v == 0.0 || v == 1.0);
        let transform = if min >= 0.0 && skew > SKEW_LIMIT {
            Transform::Asinh
        } else {
            Transform::Identity
        };
        // No training value at all: impute 0.
        let med = median(&mut present).unwrap_or(0.0);
        // Transformed once (arcsinh is most of this step's cost), then summed twice.
        let values: Vec<f64> = rows
            .iter()
            .map(|&i| transform.apply(col.get(i).unwrap_or(med)))
            .collect();
        let (mean, std) = mean_std(values.iter().copied());
        let value_column = std > 1e-12;
        Some(NumericStep {
            name: name.to_string(),
            median: med,
            transform,
            mean,
            std: if value_column { std } else { 1.0 },
            value_column,
            missing_indicator: any_missing,
            binary,
        })
    }

    /// The standardised value of `v` (a missing value at the median).
    pub fn standardise(&self, v: Option<f64>) -> f64 {
        (self.transform.apply(v.unwrap_or(self.median)) - self.mean) / self.std
    }
}

impl Preprocessor {
    /// Learns every step from the given rows of `ds`.
    pub fn fit(ds: &Dataset, rows: &[usize]) -> Preprocessor {
        let mut p = Self::fit_steps(ds, rows);
        if let Ok(x) = p.transform(ds, rows) {
            p.set_means(&x);
        }
        p
    }

    /// [`Preprocessor::fit`] that also returns the design matrix of the same rows, which
    /// fitting builds anyway (for the column means).
    pub fn fit_transform(ds: &Dataset, rows: &[usize]) -> Result<(Preprocessor, Array2<f64>)> {
        let mut p = Self::fit_steps(ds, rows);
        let x = p.transform(ds, rows)?;
        p.set_means(&x);
        Ok((p, x))
    }

    fn set_means(&mut self, x: &Array2<f64>) {
        // Column by column in parallel, each summed in row order as alone.
        self.column_means = (0..x.ncols())
            .into_par_iter()
            .map(|j| x.column(j).mean().unwrap_or(0.0))
            .collect();
    }

    fn fit_steps(ds: &Dataset, rows: &[usize]) -> Preprocessor {
        let mut numeric = Vec::new();
        let mut columns = Vec::new();
        let steps: Vec<Option<NumericStep>> = ds
            .numeric_names
            .par_iter()
            .zip(ds.numeric.par_iter())
            .map(|(name, col)| NumericStep::fit(name, col, rows))
            .collect();
        for (name, step) in ds.numeric_names.iter().zip(steps) {
            let Some(step) = step else {
                continue;
            };
            if step.value_column {
                columns.push(DesignColumn {
                    name: name.clone(),
                    source: name.clone(),
                    kind: ColumnKind::Value,
                });
            }
            if step.missing_indicator {
                columns.push(DesignColumn {
                    name: format!("{name} (missing)"),
                    source: name.clone(),
                    kind: ColumnKind::Missing,
                });
            }
            if step.value_column || step.missing_indicator {
                numeric.push(step);
            }
        }
        let mut categorical = Vec::new();
        for (name, col) in ds.categorical_names.iter().zip(&ds.categorical) {
            let mut counts: HashMap<&str, usize> = HashMap::new();
            let mut missing = 0usize;
            for &i in rows {
                match &col[i] {
                    Some(v) => *counts.entry(v.as_str()).or_insert(0) += 1,
                    None => missing += 1,
                }
            }
            let mut levels: Vec<(&str, usize)> = counts
                .into_iter()
                .filter(|&(_, c)| c >= MIN_LEVEL_ROWS && c < rows.len())
                .collect();
            levels.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            levels.truncate(MAX_LEVELS);
            let missing_indicator = missing > 0 && missing < rows.len();
            if levels.is_empty() && !missing_indicator {
                continue;
            }
            for (l, _) in &levels {
                columns.push(DesignColumn {
                    name: format!("{name}={l}"),
                    source: name.clone(),
                    kind: ColumnKind::Level(l.to_string()),
                });
            }
            if missing_indicator {
                columns.push(DesignColumn {
                    name: format!("{name} (missing)"),
                    source: name.clone(),
                    kind: ColumnKind::Missing,
                });
            }
            categorical.push(CategoricalStep {
                name: name.clone(),
                levels: levels.into_iter().map(|(l, _)| l.to_string()).collect(),
                missing_indicator,
            });
        }
        Preprocessor {
            numeric,
            categorical,
            columns,
            column_means: Vec::new(),
        }
    }

    /// Checks that `ds` has every feature the preprocessor was fitted on, with the same
    /// kind; the error lists every mismatch.
    pub fn check_schema(&self, ds: &Dataset) -> Result<()> {
        let mut wrong = Vec::new();
        for s in &self.numeric {
            if !ds.numeric_names.contains(&s.name) {
                if ds.categorical_names.contains(&s.name) {
                    wrong.push(format!(
                        "'{}' holds text; the model expects numbers",
                        s.name
                    ));
                } else {
                    wrong.push(format!("'{}' (numeric) is missing", s.name));
                }
            }
        }
        for s in &self.categorical {
            if !ds.categorical_names.contains(&s.name) && !ds.numeric_names.contains(&s.name) {
                wrong.push(format!("'{}' (categorical) is missing", s.name));
            }
        }
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(Error::Input(format!(
                "the data does not match the model's feature schema: {}",
                wrong.join("; ")
            )))
        }
    }

    /// The design matrix of the given rows (rows x columns), built by blocks of rows in
    /// parallel (each cell is computed as it would be alone).
    pub fn transform(&self, ds: &Dataset, rows: &[usize]) -> Result<Array2<f64>> {
        self.check_schema(ds)?;
        let mut x = Array2::<f64>::zeros((rows.len(), self.columns.len()));
        let numeric: Vec<(&NumericStep, Option<&Numbers>)> = self
            .numeric
            .iter()
            .map(|s| (s, ds.numeric_col(&s.name)))
            .collect();
        // Per categorical: its text (or numbers read back) and its levels' positions.
        type Levels<'a> = HashMap<&'a str, usize>;
        type Source<'a> = (
            &'a CategoricalStep,
            Option<&'a [Option<String>]>,
            Option<&'a Numbers>,
            Levels<'a>,
        );
        let categorical: Vec<Source> = self
            .categorical
            .iter()
            .map(|s| {
                let index: Levels = s
                    .levels
                    .iter()
                    .enumerate()
                    .map(|(k, l)| (l.as_str(), k))
                    .collect();
                (
                    s,
                    ds.categorical_col(&s.name),
                    ds.numeric_col(&s.name),
                    index,
                )
            })
            .collect();
        const BLOCK: usize = 4096;
        x.axis_chunks_iter_mut(Axis(0), BLOCK)
            .into_par_iter()
            .enumerate()
            .for_each(|(b, mut xb)| {
                let block = &rows[b * BLOCK..(b * BLOCK + xb.nrows())];
                for (r, &i) in block.iter().enumerate() {
                    let mut out = xb.row_mut(r);
                    let mut j = 0;
                    for (s, col) in &numeric {
                        let v = col.and_then(|c| c.get(i));
                        if s.value_column {
                            out[j] = s.standardise(v);
                        }
                        if s.missing_indicator {
                            out[j + usize::from(s.value_column)] = f64::from(u8::from(v.is_none()));
                        }
                        j += usize::from(s.value_column) + usize::from(s.missing_indicator);
                    }
                    for (s, text, nums, index) in &categorical {
                        // A categorical read back as numbers (e.g. all levels numeric in
                        // new data).
                        let number;
                        let v: Option<&str> = match (text, nums) {
                            (Some(c), _) => c[i].as_deref(),
                            (None, Some(c)) => match c.get(i) {
                                Some(x) => {
                                    number = format!("{x}");
                                    Some(number.as_str())
                                }
                                None => None,
                            },
                            _ => None,
                        };
                        match v {
                            Some(v) => {
                                if let Some(&k) = index.get(v) {
                                    out[j + k] = 1.0;
                                }
                            }
                            None if s.missing_indicator => out[j + s.levels.len()] = 1.0,
                            None => {}
                        }
                        j += s.levels.len() + usize::from(s.missing_indicator);
                    }
                }
            });
        Ok(x)
    }

    /// The value in the feature's own units of design value `z` in column `j`, for
    /// numeric value columns (used to print tree rules in original units).
    pub fn original_value(&self, j: usize, z: f64) -> Option<f64> {
        let c = self.columns.get(j)?;
        if c.kind != ColumnKind::Value {
            return None;
        }
        let s = self.numeric.iter().find(|s| s.name == c.source)?;
        Some(s.transform.invert(z * s.std + s.mean))
    }
}

impl Preprocessor {
    /// Whether design column `j` is the value of a 0/1 flag.
    pub fn is_flag(&self, j: usize) -> bool {
        self.columns.get(j).is_some_and(|c| {
            c.kind == ColumnKind::Value
                && self.numeric.iter().any(|s| s.name == c.source && s.binary)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imputes_flags_scales_and_one_hots() {
        let ds = Dataset {
            numeric_names: vec!["x".into(), "flat".into()],
            numeric: vec![
                vec![Some(1.0), None, Some(3.0), Some(5.0)].into(),
                vec![Some(2.0); 4].into(),
            ],
            categorical_names: vec!["seg".into()],
            categorical: vec![
                vec![Some("a".into()), Some("b".into()), Some("a".into()), None].into(),
            ],
            label: vec![Some(0.0); 4],
            ..Dataset::default()
        };
        let mut p = Preprocessor::fit(&ds, &[0, 1, 2, 3]);
        // Levels need 5 rows by default; this tiny fixture has 2 and 1.
        assert!(p.categorical[0].levels.is_empty());
        p = Preprocessor {
            categorical: vec![CategoricalStep {
                name: "seg".into(),
                levels: vec!["a".into()],
                missing_indicator: true,
            }],
            columns: p.columns[..2]
                .iter()
                .cloned()
                .chain([
                    DesignColumn {
                        name: "seg=a".into(),
                        source: "seg".into(),
                        kind: ColumnKind::Level("a".into()),
                    },
                    DesignColumn {
                        name: "seg (missing)".into(),
                        source: "seg".into(),
                        kind: ColumnKind::Missing,
                    },
                ])
                .collect(),
            ..p
        };
        // x: median of 1,3,5 is 3; imputed 1,3,3,5 has mean 3 and std sqrt(2).
        let s = &p.numeric[0];
        assert_eq!((s.median, s.mean), (3.0, 3.0));
        assert!((s.std - 2f64.sqrt()).abs() < 1e-12);
        // The constant column is dropped entirely.
        assert_eq!(p.numeric.len(), 1);
        let x = p.transform(&ds, &[0, 1, 3]).unwrap();
        let r2 = 2f64.sqrt();
        assert_eq!(x.shape(), &[3, 4]);
        assert!((x[[0, 0]] + 2.0 / r2).abs() < 1e-12);
        assert_eq!(x.row(1).to_vec(), vec![0.0, 1.0, 0.0, 0.0]);
        assert_eq!(x.row(2).to_vec()[1..], [0.0, 0.0, 1.0]);
        assert!((p.original_value(0, x[[0, 0]]).unwrap() - 1.0).abs() < 1e-12);
    }
}
