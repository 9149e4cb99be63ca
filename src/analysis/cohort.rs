//! Cohort analysis: retention curves by signup cohort and segment, and metric cohorts
//! (churn rate by decile or level of each feature).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::book::retention::{Ending, History};
use crate::common::dates::{add_months, quarter_start};
use crate::features::dataset::Dataset;
use crate::input::load::AccountInfo;
use crate::input::table::{Column, Table};
use crate::train::metrics::wilson;

/// Ages (months since the first contract start) at which retention is read.
pub const AGES: [i32; 5] = [3, 6, 12, 18, 24];

/// One point of a retention curve.
#[derive(Clone, Debug, Serialize, PartialEq, Deserialize)]
pub struct CurvePoint {
    /// "2025Q1", or "all".
    pub cohort: String,
    /// A segment, or "all".
    pub segment: String,
    pub age_months: i32,
    /// Accounts of the cohort old enough at the as-of date to be observed at this age.
    pub accounts: usize,
    #[serde(default)]
    pub retained: usize,
    #[serde(deserialize_with = "crate::common::nan::f64")]
    pub logo_retention: f64,
    /// Sum over accounts of min(ARR at age, starting ARR) / starting ARR.
    pub grr: Option<f64>,
    /// ARR at age (expansion included) / starting ARR.
    #[serde(default)]
    pub nrr: Option<f64>,
    /// The cohort began before the first churn the data shows: accounts of it that
    /// churned earlier are missing, so its curve holds survivors only. Such cohorts are
    /// left out of the "all" cohort.
    #[serde(default)]
    pub survivors_only: bool,
}

fn quarter_name(d: NaiveDate) -> String {
    let q = quarter_start(d);
    format!(
        "{}Q{}",
        chrono::Datelike::year(&q),
        chrono::Datelike::month(&q).div_ceil(3)
    )
}

/// Retention curves: every (cohort, segment) pair, each cohort over all segments, each
/// segment over all cohorts, and the whole book. An account enters at the start of its
/// first contract; it is observed at age `a` only when that date is on or before `as_of`.
/// Cohorts that began before the earliest churn in the data are flagged
/// `survivors_only` (a book usually starts with the customers live at its start).
pub fn retention_curves(
    accounts: &[AccountInfo],
    histories: &[History],
    as_of: NaiveDate,
) -> Vec<CurvePoint> {
    // (cohort, segment) -> per age: accounts, retained, start ARR, min ARR, ARR.
    type Acc = [(usize, usize, f64, f64, f64); AGES.len()];
    let mut acc: BTreeMap<(String, String), Acc> = BTreeMap::new();
    let first_churn = histories
        .iter()
        .flat_map(|h| h.spells.iter())
        .filter(|s| s.ending == Ending::Churned)
        .map(|s| s.end)
        .min();
    let truncated = |start: NaiveDate| first_churn.is_none_or(|c| start < c);
    let mut truncated_cohorts = std::collections::BTreeSet::new();
    for (k, h) in histories.iter().enumerate() {
        let Some(start) = h.terms.iter().map(|t| t.start).min() else {
            continue;
        };
        let survivors = truncated(quarter_start(start));
        if survivors {
            truncated_cohorts.insert(quarter_name(start));
        }
        let seg = accounts
            .get(k)
            .map(|a| a.segment.clone())
            .unwrap_or_default();
        let cohort = quarter_name(start);
        let arr0 = h.arr_seats_at(start).0;
        let mut keys = vec![
            (cohort.clone(), seg.clone()),
            (cohort.clone(), "all".to_string()),
        ];
        if !survivors {
            keys.push(("all".to_string(), seg.clone()));
            keys.push(("all".to_string(), "all".to_string()));
        }
        // The account at each age it is observed at: (alive, ARR), read once.
        let seen: Vec<Option<(bool, f64)>> = AGES
            .iter()
            .map(|&age| {
                let d = add_months(start, age);
                (d <= as_of).then(|| {
                    let alive = h.spell_at(d).is_some();
                    (alive, if alive { h.arr_seats_at(d).0 } else { 0.0 })
                })
            })
            .collect();
        for key in keys {
            let slot = acc
                .entry(key)
                .or_insert([(0, 0, 0.0, 0.0, 0.0); AGES.len()]);
            for (s, seen) in slot.iter_mut().zip(&seen) {
                let Some((alive, arr)) = *seen else {
                    continue;
                };
                s.0 += 1;
                s.1 += usize::from(alive);
                s.2 += arr0;
                s.3 += arr.min(arr0);
                s.4 += arr;
            }
        }
    }
    let mut out = Vec::new();
    for ((cohort, segment), ages) in acc {
        for (j, &age) in AGES.iter().enumerate() {
            let (n, r, a0, amin, a) = ages[j];
            if n == 0 {
                continue;
            }
            out.push(CurvePoint {
                cohort: cohort.clone(),
                segment: segment.clone(),
                age_months: age,
                accounts: n,
                retained: r,
                logo_retention: r as f64 / n as f64,
                grr: (a0 > 0.0).then(|| amin / a0),
                nrr: (a0 > 0.0).then(|| a / a0),
                survivors_only: truncated_cohorts.contains(&cohort),
            });
        }
    }
    out
}

/// Churn within the horizon for one bin of one feature.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct MetricBin {
    pub feature: String,
    pub component: String,
    /// 1-10 for deciles; the level's position for categories; 0 for "missing".
    pub bin: usize,
    /// "[0.12, 0.34]" for deciles, the level for categories, "missing".
    pub range: String,
    pub rows: usize,
    pub accounts: usize,
    pub churned: usize,
    pub churn_rate: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// For each feature, churn rate by decile (numeric; equal-count bins over the labelled
/// snapshots, ties kept together) or by level (categorical), plus a "missing" bin.
pub fn metric_cohorts(ds: &Dataset) -> Vec<MetricBin> {
    let rows = ds.labelled();
    let mut out = Vec::new();
    let mk = |feature: &str, bin: usize, range: String, members: &[usize]| {
        let churned = members
            .iter()
            .filter(|&&i| ds.label[i].is_some_and(|l| l > 0.5))
            .count();
        let mut accts: Vec<u32> = members.iter().map(|&i| ds.group[i]).collect();
        accts.sort_unstable();
        accts.dedup();
        let (lo, hi) = wilson(churned, members.len());
        MetricBin {
            feature: feature.to_string(),
            component: crate::explain::drivers::component_of(feature).to_string(),
            bin,
            range,
            rows: members.len(),
            accounts: accts.len(),
            churned,
            churn_rate: churned as f64 / members.len().max(1) as f64,
            ci_low: lo,
            ci_high: hi,
        }
    };
    // Each numeric column's bins on its own (in parallel, kept in column order): a sort
    // of every labelled row per column, 28 s at 100,000 accounts one after another.
    let numeric: Vec<Vec<MetricBin>> = ds
        .numeric_names
        .par_iter()
        .zip(ds.numeric.par_iter())
        .map(|(name, col)| {
            let mut out = Vec::new();
            let mut present: Vec<(f64, usize)> = rows
                .iter()
                .filter_map(|&i| col.get(i).map(|v| (v, i)))
                .collect();
            let missing: Vec<usize> = rows
                .iter()
                .copied()
                .filter(|&i| col.get(i).is_none())
                .collect();
            // (value, row) is a total order: the unstable sort gives the stable one's.
            present.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            for (bin, span) in decile_bins(&present).into_iter().enumerate() {
                let members: Vec<usize> = present[span.clone()].iter().map(|p| p.1).collect();
                let range = format!(
                    "[{}, {}]",
                    fmt(present[span.start].0),
                    fmt(present[span.end - 1].0)
                );
                out.push(mk(name, bin + 1, range, &members));
            }
            if !missing.is_empty() {
                out.push(mk(name, 0, "missing".into(), &missing));
            }
            out
        })
        .collect();
    out.extend(numeric.into_iter().flatten());
    for (name, col) in ds.categorical_names.iter().zip(&ds.categorical) {
        let mut levels: BTreeMap<Option<&str>, Vec<usize>> = BTreeMap::new();
        for &i in &rows {
            levels.entry(col[i].as_deref()).or_default().push(i);
        }
        for (k, (level, members)) in levels.into_iter().enumerate() {
            let (bin, range) = match level {
                Some(l) => (k + 1, l.to_string()),
                None => (0, "missing".to_string()),
            };
            out.push(mk(name, bin, range, &members));
        }
    }
    out
}

/// The spans of `sorted` (values in ascending order) that make its decile bins: each ends
/// at the first decile boundary past its start, extended over ties (a tie spanning
/// boundaries makes one bin, so there may be fewer than ten).
fn decile_bins(sorted: &[(f64, usize)]) -> Vec<std::ops::Range<usize>> {
    let n = sorted.len();
    let mut spans = Vec::new();
    let mut start = 0;
    while start < n {
        let mut b = 1;
        while b < 10 && b * n / 10 <= start {
            b += 1;
        }
        let mut end = (b * n / 10).clamp(start + 1, n);
        while end < n && sorted[end].0 == sorted[end - 1].0 {
            end += 1;
        }
        spans.push(start..end);
        start = end;
    }
    spans
}

fn fmt(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e12 {
        format!("{x:.0}")
    } else {
        format!("{:.4}", x)
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

pub fn curves_table(c: &[CurvePoint]) -> Table {
    Table::new()
        .with(
            "cohort",
            Column::Str(c.iter().map(|p| Some(p.cohort.clone())).collect()),
        )
        .with(
            "segment",
            Column::Str(c.iter().map(|p| Some(p.segment.clone())).collect()),
        )
        .with(
            "age_months",
            Column::Int(c.iter().map(|p| Some(i64::from(p.age_months))).collect()),
        )
        .with(
            "accounts",
            Column::Int(c.iter().map(|p| Some(p.accounts as i64)).collect()),
        )
        .with(
            "retained",
            Column::Int(c.iter().map(|p| Some(p.retained as i64)).collect()),
        )
        .with(
            "logo_retention",
            Column::Float(c.iter().map(|p| Some(p.logo_retention)).collect()),
        )
        .with("grr", Column::Float(c.iter().map(|p| p.grr).collect()))
        .with("nrr", Column::Float(c.iter().map(|p| p.nrr).collect()))
        .with(
            "survivors_only",
            Column::Bool(c.iter().map(|p| Some(p.survivors_only)).collect()),
        )
}

pub fn bins_table(b: &[MetricBin]) -> Table {
    Table::new()
        .with(
            "feature",
            Column::Str(b.iter().map(|x| Some(x.feature.clone())).collect()),
        )
        .with(
            "component",
            Column::Str(b.iter().map(|x| Some(x.component.clone())).collect()),
        )
        .with(
            "bin",
            Column::Int(b.iter().map(|x| Some(x.bin as i64)).collect()),
        )
        .with(
            "range",
            Column::Str(b.iter().map(|x| Some(x.range.clone())).collect()),
        )
        .with(
            "rows",
            Column::Int(b.iter().map(|x| Some(x.rows as i64)).collect()),
        )
        .with(
            "accounts",
            Column::Int(b.iter().map(|x| Some(x.accounts as i64)).collect()),
        )
        .with(
            "churned",
            Column::Int(b.iter().map(|x| Some(x.churned as i64)).collect()),
        )
        .with(
            "churn_rate",
            Column::Float(b.iter().map(|x| Some(x.churn_rate)).collect()),
        )
        .with(
            "ci_low",
            Column::Float(b.iter().map(|x| Some(x.ci_low)).collect()),
        )
        .with(
            "ci_high",
            Column::Float(b.iter().map(|x| Some(x.ci_high)).collect()),
        )
}
