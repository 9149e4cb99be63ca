//! How rows are split for honest validation: out of time for snapshot tables (train on
//! earlier snapshots, a gap of one horizon, then later ones), and stratified folds that
//! keep every group (account) on one side for flat tables.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::common::dates;
use crate::common::rng::Rng;
use crate::features::dataset::Dataset;

/// Fold number per row for `k` folds, stratified by label and grouped: all rows of one
/// group share a fold, and groups with a churned row are spread evenly across folds.
/// Only labelled rows get a fold (`None` otherwise).
pub(crate) fn stratified_group_folds(ds: &Dataset, k: usize, seed: u64) -> Vec<Option<usize>> {
    let k = k.max(2);
    // Group label: churned if any row of the group churned.
    let mut groups: BTreeMap<u32, bool> = BTreeMap::new();
    for i in 0..ds.rows() {
        if let Some(y) = ds.label[i] {
            let e = groups.entry(ds.group[i]).or_insert(false);
            *e |= y > 0.5;
        }
    }
    let mut rng = Rng::stream(seed, 31);
    let mut fold_of: BTreeMap<u32, usize> = BTreeMap::new();
    for class in [true, false] {
        let mut ids: Vec<u32> = groups
            .iter()
            .filter(|&(_, &c)| c == class)
            .map(|(&g, _)| g)
            .collect();
        // Fisher-Yates with the seeded generator.
        for i in (1..ids.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            ids.swap(i, j);
        }
        for (n, g) in ids.into_iter().enumerate() {
            fold_of.insert(g, n % k);
        }
    }
    (0..ds.rows())
        .map(|i| {
            ds.label[i]?;
            fold_of.get(&ds.group[i]).copied()
        })
        .collect()
}

/// How a training job validates, chosen once by the job ([`Scheme::for_dataset`]) and
/// handed to training and to the health-score validation alike.
#[derive(Clone, Debug)]
pub enum Scheme {
    /// Snapshot tables: fit | gap | validation | gap | test by date.
    OutOfTime(Box<OutOfTime>),
    /// Flat tables, or too few snapshot dates: `folds` grouped, stratified folds over
    /// every labelled row.
    CrossValidation { folds: usize },
}

/// A scheme's name as reports write it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemeName {
    OutOfTime,
    CrossValidation,
}

impl SchemeName {
    pub fn as_str(self) -> &'static str {
        match self {
            SchemeName::OutOfTime => "out_of_time",
            SchemeName::CrossValidation => "cross_validation",
        }
    }
}

impl std::fmt::Display for SchemeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Scheme {
    /// Out of time when `ds` has snapshot dates and enough of them (a gap of
    /// `horizon_days` between periods, the latest `test_share` of dates for test), else
    /// `folds`-fold cross-validation.
    pub fn for_dataset(ds: &Dataset, horizon_days: i64, test_share: f64, folds: usize) -> Self {
        ds.time
            .as_ref()
            .and_then(|_| out_of_time(ds, horizon_days, test_share))
            .map_or(Scheme::CrossValidation { folds }, |s| {
                Scheme::OutOfTime(Box::new(s))
            })
    }

    pub fn name(&self) -> SchemeName {
        match self {
            Scheme::OutOfTime(_) => SchemeName::OutOfTime,
            Scheme::CrossValidation { .. } => SchemeName::CrossValidation,
        }
    }

    /// The out-of-time split, if this is one.
    pub fn split(&self) -> Option<&OutOfTime> {
        match self {
            Scheme::OutOfTime(s) => Some(s.as_ref()),
            Scheme::CrossValidation { .. } => None,
        }
    }
}

/// An out-of-time split of the labelled rows of a snapshot table.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OutOfTime {
    /// Rows the candidates are fitted on.
    #[serde(skip)]
    pub fit: Vec<usize>,
    /// Rows used to choose hyper-parameters, calibrate and pick the champion.
    #[serde(skip)]
    pub valid: Vec<usize>,
    /// Rows only used to report metrics.
    #[serde(skip)]
    pub test: Vec<usize>,
    pub fit_rows: usize,
    pub valid_rows: usize,
    pub test_rows: usize,
    pub fit_dates: (String, String),
    pub valid_dates: (String, String),
    pub test_dates: (String, String),
    pub gap_days: i64,
}

/// Splits labelled snapshot dates into fit | gap | validation | gap | test. The test
/// period is the latest `test_share` of labelled snapshot dates, validation the same
/// share before it; each gap drops the snapshots whose label window (`horizon_days`)
/// would reach into the next period. `None` when there are too few snapshot dates.
pub fn out_of_time(ds: &Dataset, horizon_days: i64, test_share: f64) -> Option<OutOfTime> {
    let time = ds.time.as_ref()?;
    let mut dates: Vec<i32> = ds
        .labelled()
        .iter()
        .map(|&i| time[i])
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    dates.sort();
    let n = dates.len();
    let per = ((n as f64 * test_share).round() as usize).max(1);
    if n < 2 * per + 2 {
        return None;
    }
    let test_start = dates[n - per];
    let valid_dates: Vec<i32> = dates
        .iter()
        .copied()
        .filter(|&d| i64::from(d) + horizon_days < i64::from(test_start))
        .collect();
    let valid_start = *valid_dates.get(valid_dates.len().checked_sub(per)?)?;
    let fit_end_excl = valid_start;
    let mut s = OutOfTime {
        fit: Vec::new(),
        valid: Vec::new(),
        test: Vec::new(),
        fit_rows: 0,
        valid_rows: 0,
        test_rows: 0,
        fit_dates: (String::new(), String::new()),
        valid_dates: (String::new(), String::new()),
        test_dates: (String::new(), String::new()),
        gap_days: horizon_days,
    };
    let (mut fr, mut vr, mut tr) = (
        (i32::MAX, i32::MIN),
        (i32::MAX, i32::MIN),
        (i32::MAX, i32::MIN),
    );
    let widen = |r: &mut (i32, i32), d: i32| {
        r.0 = r.0.min(d);
        r.1 = r.1.max(d);
    };
    for i in ds.labelled() {
        let d = time[i];
        if d >= test_start {
            s.test.push(i);
            widen(&mut tr, d);
        } else if d >= valid_start && i64::from(d) + horizon_days < i64::from(test_start) {
            s.valid.push(i);
            widen(&mut vr, d);
        } else if i64::from(d) + horizon_days < i64::from(fit_end_excl) {
            s.fit.push(i);
            widen(&mut fr, d);
        }
    }
    if s.fit.is_empty() || s.valid.is_empty() || s.test.is_empty() {
        return None;
    }
    (s.fit_rows, s.valid_rows, s.test_rows) = (s.fit.len(), s.valid.len(), s.test.len());
    let show = |r: (i32, i32)| {
        (
            dates::from_days(r.0).to_string(),
            dates::from_days(r.1).to_string(),
        )
    };
    s.fit_dates = show(fr);
    s.valid_dates = show(vr);
    s.test_dates = show(tr);
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_time_leaves_a_horizon_between_periods() {
        // 20 monthly snapshot dates (every 30 days), 3 accounts each.
        let mut ds = Dataset::default();
        let mut time = Vec::new();
        for m in 0..20 {
            for a in 0..3u32 {
                time.push(m * 30);
                ds.group.push(a);
                ds.label.push(Some(f64::from(u8::from(a == 0))));
            }
        }
        ds.time = Some(time);
        let s = out_of_time(&ds, 90, 0.2).unwrap();
        let t = ds.time.as_ref().unwrap();
        let max = |v: &[usize]| v.iter().map(|&i| t[i]).max().unwrap();
        let min = |v: &[usize]| v.iter().map(|&i| t[i]).min().unwrap();
        // Test: the last 4 dates (480..570). Validation: 4 dates ending before 480 - 90.
        assert_eq!(min(&s.test), 480);
        assert_eq!((min(&s.valid), max(&s.valid)), (270, 360));
        assert!(max(&s.valid) + 90 < min(&s.test));
        assert!(max(&s.fit) + 90 < min(&s.valid));
        assert_eq!(max(&s.fit), 150);
    }

    #[test]
    fn folds_keep_groups_together_and_spread_churners() {
        let mut ds = Dataset::default();
        for g in 0..50u32 {
            for _ in 0..3 {
                ds.group.push(g);
                ds.label.push(Some(f64::from(u8::from(g % 5 == 0))));
            }
        }
        let f = stratified_group_folds(&ds, 5, 1);
        for g in 0..50usize {
            assert!(f[g * 3] == f[g * 3 + 1] && f[g * 3] == f[g * 3 + 2]);
        }
        for k in 0..5 {
            let churners = (0..150)
                .filter(|&i| f[i] == Some(k) && ds.label[i] == Some(1.0))
                .count();
            assert_eq!(churners, 6, "fold {k}: 2 churning groups x 3 rows");
        }
    }
}
