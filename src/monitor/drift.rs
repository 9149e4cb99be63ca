//! Drift between the training window and the scoring date.
//!
//! - Per feature: the population stability index (PSI) of the scoring-date rows against
//!   the training snapshot date they resemble most (the lowest PSI over the training
//!   dates with at least 100 rows), beside the PSI against the whole training window, and
//!   each side's missing share. One scoring date sits at one phase of every calendar
//!   cycle: a Sunday when usage happens on workdays, one point of an NPS survey cycle. A
//!   recency feature compared with a window that mixes every phase drifts on any book;
//!   compared with the training date at the same phase it does not, while a shift that no
//!   training date resembles still shows. Numeric features are binned at the deciles of
//!   the training rows compared with, categorical ones by level; missing values are a bin
//!   of their own. PSI = sum over bins of (now - then) * ln(now / then), shares floored at
//!   0.0001. Below 0.1 is stable, 0.1 to 0.25 moderate, 0.25 or more shifted: the usual
//!   credit-risk reading.
//! - Signals that disappeared or appeared: a feature all-missing now that was not in
//!   training (or the reverse), a feature the previous model used that this data lacks,
//!   and per event table, rows per active account in the 90 days before the scoring date
//!   against the training window (a table that stopped, fell below half or more than
//!   doubled).
//! - For the champion's top features (by mean |contribution| on the scoring rows): the
//!   ROC-AUC of the feature alone on the earlier labelled rows and on the most recent
//!   labelled window (the test period). A change of 0.1 or more means its relation to
//!   churn has changed.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::common::dates;
use crate::features::catalog;
use crate::features::dataset::{Dataset, Numbers};
use crate::input::load::Book;
use crate::input::schema;
use crate::input::table::{Column, Table};
use crate::train::metrics;

/// PSI from which a feature counts as shifted.
pub const SHIFTED: f64 = 0.25;
/// PSI from which a feature counts as moderately shifted.
pub const MODERATE: f64 = 0.1;
/// How many of the champion's features count as its top features.
pub const TOP: usize = 10;
/// A change in a feature's own ROC-AUC of this much or more is a changed relation.
pub const RELATION_CHANGE: f64 = 0.1;
/// A product feature's events per active account changing by this factor (up or down)
/// against the training window is a signal.
const VOLUME_CHANGE: f64 = 1.75;
/// Days before the scoring date that make up "now" for the tables' row rates.
const RECENT_DAYS: i32 = 90;
/// Training rows beyond this are sampled (evenly) for the decile edges and shares.
const MAX_THEN_ROWS: usize = 200_000;
const FLOOR: f64 = 1e-4;

/// One feature's drift.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureDrift {
    pub feature: String,
    /// The table it is computed from.
    pub source: String,
    /// Its rank by the champion's mean |contribution| (1 = strongest); None: not used.
    pub importance_rank: Option<usize>,
    pub importance: Option<f64>,
    /// PSI against the closest training date (see the module documentation).
    pub psi: Option<f64>,
    /// PSI against the whole training window.
    #[serde(default)]
    pub psi_window: Option<f64>,
    /// The training date `psi` was measured against.
    #[serde(default)]
    pub closest_date: Option<String>,
    pub missing_then: f64,
    pub missing_now: f64,
    /// stable, moderate, shifted, disappeared (all missing now) or appeared.
    pub status: String,
    /// ROC-AUC of the feature alone, earlier labelled rows and the most recent labelled
    /// window (top features only).
    pub auc_then: Option<f64>,
    pub auc_recent: Option<f64>,
    pub relation_changed: bool,
}

/// A table or feature that stopped, appeared or changed its volume.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    pub table: String,
    /// stopped, fell, rose, missing (the previous model used it) or new.
    pub change: String,
    pub detail: String,
}

/// Drift between the training window and the scoring date.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    pub then: (String, String),
    pub now: String,
    pub rows_then: usize,
    pub rows_now: usize,
    pub features: Vec<FeatureDrift>,
    pub signals: Vec<Signal>,
    /// Top features that shifted (PSI >= 0.25) or disappeared: what `--fail-on-drift`
    /// looks at with its own threshold.
    pub flagged: Vec<String>,
}

impl Drift {
    /// Top features whose PSI exceeds `threshold`, or that disappeared.
    pub fn past(&self, threshold: f64) -> Vec<&FeatureDrift> {
        self.features
            .iter()
            .filter(|f| f.importance_rank.is_some_and(|r| r <= TOP))
            .filter(|f| f.status == "disappeared" || f.psi.is_some_and(|p| p > threshold))
            .collect()
    }

    /// drift.csv: one row per feature, strongest first.
    pub fn to_table(&self) -> Table {
        let f = &self.features;
        let s =
            |g: &dyn Fn(&FeatureDrift) -> Option<String>| Column::Str(f.iter().map(g).collect());
        let n = |g: &dyn Fn(&FeatureDrift) -> Option<f64>| Column::Float(f.iter().map(g).collect());
        Table::new()
            .with("feature", s(&|x| Some(x.feature.clone())))
            .with("source", s(&|x| Some(x.source.clone())))
            .with(
                "importance_rank",
                Column::Int(
                    f.iter()
                        .map(|x| x.importance_rank.map(|r| r as i64))
                        .collect(),
                ),
            )
            .with_rounded("importance", n(&|x| x.importance), 4)
            .with_rounded("psi", n(&|x| x.psi), 4)
            .with("closest_training_date", s(&|x| x.closest_date.clone()))
            .with_rounded("psi_window", n(&|x| x.psi_window), 4)
            .with("status", s(&|x| Some(x.status.clone())))
            .with_rounded("missing_then", n(&|x| Some(x.missing_then)), 4)
            .with_rounded("missing_now", n(&|x| Some(x.missing_now)), 4)
            .with_rounded("auc_then", n(&|x| x.auc_then), 4)
            .with_rounded("auc_recent", n(&|x| x.auc_recent), 4)
            .with(
                "relation_changed",
                Column::Bool(f.iter().map(|x| Some(x.relation_changed)).collect()),
            )
    }
}

/// What drift is measured on.
pub struct Inputs<'a> {
    pub ds: &'a Dataset,
    /// The labelled rows the model was trained on.
    pub then: &'a [usize],
    /// The most recent labelled window (the test period), part of `then`.
    pub recent: &'a [usize],
    /// The rows scored at the scoring date.
    pub now: &'a [usize],
    pub as_of: NaiveDate,
    /// The champion's features by mean |contribution| on the scoring rows.
    pub importance: &'a [(String, f64)],
    /// The tables' signals, measured by [`table_signals`] while the book was whole.
    pub table_signals: Vec<Signal>,
    /// The features of the previous model, when there is one.
    pub previous_features: Option<&'a [String]>,
}

/// Measures drift; see the module documentation.
pub fn drift(inp: &Inputs<'_>) -> Drift {
    let ds = inp.ds;
    let then = sample(inp.then, MAX_THEN_ROWS);
    let recent: std::collections::HashSet<usize> = inp.recent.iter().copied().collect();
    let earlier: Vec<usize> = inp
        .then
        .iter()
        .copied()
        .filter(|i| !recent.contains(i))
        .collect();
    let rank: BTreeMap<&str, (usize, f64)> = inp
        .importance
        .iter()
        .enumerate()
        .map(|(k, (f, v))| (f.as_str(), (k + 1, *v)))
        .collect();
    let dates = by_date(ds, &then);
    let numeric = (0..ds.numeric_names.len()).into_par_iter().map(|k| {
        let col = &ds.numeric[k];
        let psi = closest(&dates, numeric_psi(col, &then, inp.now), |rows| {
            numeric_psi(col, rows, inp.now)
        });
        (k, psi, missing(col, &then), missing(col, inp.now))
    });
    let mut features: Vec<FeatureDrift> = numeric
        .map(|(k, psi, m0, m1)| {
            let name = &ds.numeric_names[k];
            let top = rank.get(name.as_str()).filter(|r| r.0 <= TOP);
            let (a0, a1) = match top {
                Some(_) => (
                    feature_auc(ds, &ds.numeric[k], &earlier),
                    feature_auc(ds, &ds.numeric[k], inp.recent),
                ),
                None => (None, None),
            };
            feature(name, rank.get(name.as_str()), psi, m0, m1, a0, a1)
        })
        .collect();
    for (k, name) in ds.categorical_names.iter().enumerate() {
        let col = &ds.categorical[k];
        let psi = closest(&dates, categorical_psi(col, &then, inp.now), |rows| {
            categorical_psi(col, rows, inp.now)
        });
        let m = |rows: &[usize]| share(rows, |i| col[i].is_none());
        features.push(feature(
            name,
            rank.get(name.as_str()),
            psi,
            m(&then),
            m(inp.now),
            None,
            None,
        ));
    }
    features.sort_by(|a, b| {
        let r = |f: &FeatureDrift| f.importance_rank.unwrap_or(usize::MAX);
        r(a).cmp(&r(b)).then_with(|| a.feature.cmp(&b.feature))
    });
    let mut signals = inp.table_signals.clone();
    if let Some(prev) = inp.previous_features {
        let have = |f: &String| ds.numeric_names.contains(f) || ds.categorical_names.contains(f);
        let gone: Vec<&String> = prev.iter().filter(|f| !have(f)).collect();
        let mut by_table: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for f in gone {
            by_table
                .entry(catalog::source_of(f).unwrap_or("(unknown)"))
                .or_default()
                .push(f.as_str());
        }
        for (t, fs) in by_table {
            signals.push(Signal {
                table: t.to_string(),
                change: "missing".into(),
                detail: format!(
                    "the previous model used {} feature{} from {t} that this data lacks: {}",
                    fs.len(),
                    if fs.len() == 1 { "" } else { "s" },
                    fs.join(", ")
                ),
            });
        }
    }
    let window = |rows: &[usize]| -> (String, String) {
        let t = ds.time.as_deref();
        let days: Vec<i32> = t
            .map(|t| rows.iter().map(|&i| t[i]).collect())
            .unwrap_or_default();
        match (days.iter().min(), days.iter().max()) {
            (Some(&a), Some(&b)) => (
                dates::from_days(a).to_string(),
                dates::from_days(b).to_string(),
            ),
            _ => (String::new(), String::new()),
        }
    };
    let mut d = Drift {
        then: window(inp.then),
        now: inp.as_of.to_string(),
        rows_then: inp.then.len(),
        rows_now: inp.now.len(),
        features,
        signals,
        flagged: Vec::new(),
    };
    d.flagged = d
        .past(SHIFTED - 1e-12)
        .iter()
        .map(|f| f.feature.clone())
        .collect();
    d
}

/// A feature's own ROC-AUC as a CS reader takes it: its strength (the AUC of whichever
/// direction ranks churners first, 0.5 to 1) and that direction. An AUC of 0.21 reads
/// "0.79, low = risk", not a weak 0.21.
pub fn auc_reading(auc: Option<f64>) -> String {
    match auc {
        None => "-".into(),
        Some(a) if (a - 0.5).abs() < 0.005 => format!("{a:.2}, none"),
        Some(a) if a < 0.5 => format!("{:.2}, low = risk", 1.0 - a),
        Some(a) => format!("{a:.2}, high = risk"),
    }
}

/// A PSI against the whole training window and against its closest date.
#[derive(Clone, Default)]
struct Psi {
    window: Option<f64>,
    closest: Option<(f64, String)>,
}

/// Training dates with at least this many rows are compared one by one.
const MIN_DATE_ROWS: usize = 100;

/// The training rows by snapshot date (dates with at least [`MIN_DATE_ROWS`]), in date order.
fn by_date(ds: &Dataset, then: &[usize]) -> Vec<(String, Vec<usize>)> {
    let Some(t) = ds.time.as_deref() else {
        return Vec::new();
    };
    let mut m: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
    for &i in then {
        m.entry(t[i]).or_default().push(i);
    }
    m.into_iter()
        .filter(|(_, rows)| rows.len() >= MIN_DATE_ROWS)
        .map(|(d, rows)| (dates::from_days(d).to_string(), rows))
        .collect()
}

/// `window`, and the lowest of `per_date` over `dates` (the earliest date on a tie).
fn closest(
    dates: &[(String, Vec<usize>)],
    window: Option<f64>,
    per_date: impl Fn(&[usize]) -> Option<f64>,
) -> Psi {
    let mut best: Option<(f64, String)> = None;
    for (d, rows) in dates {
        if let Some(p) = per_date(rows)
            && best.as_ref().is_none_or(|(b, _)| p < *b)
        {
            best = Some((p, d.clone()));
        }
    }
    Psi {
        window,
        closest: best,
    }
}

fn feature(
    name: &str,
    rank: Option<&(usize, f64)>,
    psi: Psi,
    m0: f64,
    m1: f64,
    a0: Option<f64>,
    a1: Option<f64>,
) -> FeatureDrift {
    let psi_window = psi.window;
    let (psi, closest_date) = match psi.closest {
        Some((p, d)) => (Some(p), Some(d)),
        None => (psi_window, None),
    };
    let status = if m1 >= 1.0 && m0 < 1.0 {
        "disappeared"
    } else if m0 >= 1.0 && m1 < 1.0 {
        "appeared"
    } else {
        match psi {
            Some(p) if p >= SHIFTED => "shifted",
            Some(p) if p >= MODERATE => "moderate",
            _ => "stable",
        }
    };
    FeatureDrift {
        feature: name.to_string(),
        source: catalog::source_of(name).unwrap_or("").to_string(),
        importance_rank: rank.map(|r| r.0),
        importance: rank.map(|r| r.1),
        psi,
        psi_window,
        closest_date,
        missing_then: m0,
        missing_now: m1,
        status: status.to_string(),
        auc_then: a0,
        auc_recent: a1,
        relation_changed: matches!((a0, a1), (Some(a), Some(b)) if (a - b).abs() >= RELATION_CHANGE),
    }
}

/// Every `k`-th row so that at most `max` remain (all when fewer).
fn sample(rows: &[usize], max: usize) -> Vec<usize> {
    if rows.len() <= max {
        return rows.to_vec();
    }
    let step = rows.len().div_ceil(max);
    rows.iter().step_by(step).copied().collect()
}

fn share(rows: &[usize], f: impl Fn(usize) -> bool) -> f64 {
    if rows.is_empty() {
        return 0.0;
    }
    rows.iter().filter(|&&i| f(i)).count() as f64 / rows.len() as f64
}

fn missing(col: &Numbers, rows: &[usize]) -> f64 {
    share(rows, |i| col.get(i).is_none())
}

/// PSI of two bin counts (shares floored at [`FLOOR`]); None when a side is empty.
pub fn psi(then: &[usize], now: &[usize]) -> Option<f64> {
    let (a, b) = (then.iter().sum::<usize>(), now.iter().sum::<usize>());
    if a == 0 || b == 0 {
        return None;
    }
    Some(
        then.iter()
            .zip(now)
            .map(|(&e, &o)| {
                let e = (e as f64 / a as f64).max(FLOOR);
                let o = (o as f64 / b as f64).max(FLOOR);
                (o - e) * (o / e).ln()
            })
            .sum(),
    )
}

/// Decile edges of `then`'s finite values (deduplicated); a value goes to the first bin
/// whose upper edge it does not exceed; missing values to a last bin.
fn numeric_psi(col: &Numbers, then: &[usize], now: &[usize]) -> Option<f64> {
    let mut v: Vec<f64> = then.iter().filter_map(|&i| col.get(i)).collect();
    v.sort_by(f64::total_cmp);
    let mut edges: Vec<f64> = (1..10)
        .filter_map(|q| v.get((q * v.len()) / 10).copied())
        .collect();
    edges.dedup();
    let bins = edges.len() + 2;
    let count = |rows: &[usize]| {
        let mut c = vec![0usize; bins];
        for &i in rows {
            match col.get(i) {
                Some(x) => c[edges.partition_point(|&e| e < x)] += 1,
                None => c[bins - 1] += 1,
            }
        }
        c
    };
    psi(&count(then), &count(now))
}

/// Levels of the training rows (the 20 most frequent; the rest pooled), missing apart.
fn categorical_psi(col: &[Option<String>], then: &[usize], now: &[usize]) -> Option<f64> {
    let mut freq: BTreeMap<&str, usize> = BTreeMap::new();
    for &i in then {
        if let Some(s) = &col[i] {
            *freq.entry(s.as_str()).or_default() += 1;
        }
    }
    let mut levels: Vec<(&str, usize)> = freq.into_iter().collect();
    levels.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    levels.truncate(20);
    let slot: BTreeMap<&str, usize> = levels.iter().enumerate().map(|(k, l)| (l.0, k)).collect();
    let bins = levels.len() + 2;
    let count = |rows: &[usize]| {
        let mut c = vec![0usize; bins];
        for &i in rows {
            match &col[i] {
                Some(s) => c[slot.get(s.as_str()).copied().unwrap_or(bins - 2)] += 1,
                None => c[bins - 1] += 1,
            }
        }
        c
    };
    psi(&count(then), &count(now))
}

/// ROC-AUC of a feature's own values against the label, on rows where it is known; None
/// with fewer than 20 churned or 20 retained such rows.
fn feature_auc(ds: &Dataset, col: &Numbers, rows: &[usize]) -> Option<f64> {
    let (mut y, mut x) = (Vec::new(), Vec::new());
    for &i in rows {
        if let (Some(v), Some(l)) = (col.get(i), ds.label[i]) {
            y.push(l);
            x.push(v);
        }
    }
    let pos = y.iter().filter(|&&l| l > 0.5).count();
    if pos < 20 || y.len() - pos < 20 {
        return None;
    }
    metrics::roc_auc(&y, &x)
}

/// Rows per active account and 30 days, per event table, and events per active account,
/// per product feature of the usage table: the training window (the dates of the
/// labelled rows `then` of `ds`) against the 90 days before the scoring date (`now`: the
/// rows scored then). Measured before the book's large tables are let go.
/// Event types the scoring data uses widely that the model's per-type family does not
/// have (see [`crate::features::SnapshotTable::unmodelled_usage_types`]): one `new` signal
/// each, so a new vocabulary of events is seen rather than silently dropped.
pub fn new_usage_types(types: &[(String, f64)]) -> Vec<Signal> {
    types
        .iter()
        .map(|(t, share)| Signal {
            table: "usage".into(),
            change: "new".into(),
            detail: format!(
                "event type '{t}' is used by {:.0}% of accounts but the model has no per-type metrics for it; retrain to use it",
                100.0 * share
            ),
        })
        .collect()
}

pub fn table_signals(
    book: &Book,
    ds: &Dataset,
    then: &[usize],
    now_rows: &[usize],
    as_of: NaiveDate,
) -> Vec<Signal> {
    let Some(t) = ds.time.as_deref() else {
        return Vec::new();
    };
    let then_days: Vec<i32> = then.iter().map(|&i| t[i]).collect();
    let (Some(&lo), Some(&hi)) = (then_days.iter().min(), then_days.iter().max()) else {
        return Vec::new();
    };
    let dates_then: std::collections::BTreeSet<i32> = then_days.iter().copied().collect();
    // Active accounts: the mean per snapshot date then, the scoring rows now.
    let active_then = then.len() as f64 / dates_then.len().max(1) as f64;
    let active_now = now_rows.len().max(1) as f64;
    let now = dates::to_days(as_of);
    let months_then = f64::from((hi - lo).max(30)) / 30.0;
    let mut out = Vec::new();
    for spec in schema::TABLES.iter().filter(|s| s.event_date.is_some()) {
        let Some((n, last)) =
            book.rows_between(spec.name, &[(lo, hi), (now - RECENT_DAYS, now)], now)
        else {
            continue;
        };
        let (n_then, n_now) = (n[0] as f64, n[1] as f64);
        let rate_then = n_then / months_then / active_then.max(1.0);
        let rate_now = n_now / (f64::from(RECENT_DAYS) / 30.0) / active_now;
        let last = last.map(dates::from_days);
        let per = |r: f64| format!("{r:.2} rows per active account and 30 days");
        let signal = |change: &str, detail: String| Signal {
            table: spec.name.to_string(),
            change: change.to_string(),
            detail,
        };
        if n_then > 0.0 && n_now == 0.0 {
            out.push(signal(
                "stopped",
                format!(
                    "no rows in the {RECENT_DAYS} days before {}{}; the training window had {}",
                    as_of,
                    last.map(|d| format!(" (the last is dated {d})"))
                        .unwrap_or_default(),
                    per(rate_then)
                ),
            ));
        } else if n_then == 0.0 && n_now > 0.0 {
            out.push(signal(
                "new",
                format!(
                    "rows now ({}) but none in the training window",
                    per(rate_now)
                ),
            ));
        } else if n_then > 0.0 && rate_now < 0.5 * rate_then {
            out.push(signal(
                "fell",
                format!(
                    "{} in the last {RECENT_DAYS} days against {} in the training window",
                    per(rate_now),
                    per(rate_then)
                ),
            ));
        } else if n_then > 0.0 && rate_now > 2.0 * rate_then {
            out.push(signal(
                "rose",
                format!(
                    "{} in the last {RECENT_DAYS} days against {} in the training window",
                    per(rate_now),
                    per(rate_then)
                ),
            ));
        }
    }
    // Per product feature of the usage table: its events per active account.
    let volumes = crate::features::events_by_feature(book, (lo, hi), (now - RECENT_DAYS, now))
        .unwrap_or_else(|e| {
            log::warn!("drift: usage volumes by product feature not measured: {e}");
            Vec::new()
        });
    let total: f64 = volumes.iter().map(|v| v.1).sum();
    for (feature, then, recent) in volumes {
        // Features with under 1% of the events are too noisy to judge.
        if then < 0.01 * total {
            continue;
        }
        let rate_then = then / months_then / active_then.max(1.0);
        let rate_now = recent / (f64::from(RECENT_DAYS) / 30.0) / active_now;
        let ratio = rate_now / rate_then;
        let change = if ratio >= VOLUME_CHANGE {
            "rose"
        } else if ratio <= 1.0 / VOLUME_CHANGE {
            "fell"
        } else {
            continue;
        };
        out.push(Signal {
            table: "usage".into(),
            change: change.into(),
            detail: format!(
                "events of product feature '{feature}' per active account: {ratio:.2}x the training window's ({rate_now:.1} against {rate_then:.1} per 30 days); an instrumentation change, or a real shift in use"
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand computation: shares then (0.5, 0.5), now (0.25, 0.75).
    /// (0.25 - 0.5) ln(0.5) + (0.75 - 0.5) ln(1.5) = 0.25 (ln 2 + ln 1.5) = 0.25 ln 3.
    #[test]
    fn an_own_auc_reads_as_strength_and_direction() {
        assert_eq!(auc_reading(Some(0.21)), "0.79, low = risk");
        assert_eq!(auc_reading(Some(0.8)), "0.80, high = risk");
        assert_eq!(auc_reading(Some(0.5)), "0.50, none");
        assert_eq!(auc_reading(None), "-");
    }

    #[test]
    fn psi_matches_a_hand_computation() {
        let p = psi(&[50, 50], &[25, 75]).unwrap();
        assert!((p - 0.25 * 3f64.ln()).abs() < 1e-12, "{p}");
        assert_eq!(psi(&[10, 10], &[1, 1]), Some(0.0));
        assert_eq!(psi(&[0, 0], &[1, 1]), None);
    }

    /// Values 0..=99 then, with decile edges 10, 20, ..., 90 (a value equal to an edge
    /// goes to the lower bin): bins hold 11, 10 x 8 and 9 values. Now every value is 1000,
    /// all in the last value bin.
    #[test]
    fn numeric_bins_are_the_training_deciles() {
        let mut col: Vec<Option<f64>> = (0..100).map(|v| Some(f64::from(v))).collect();
        col.extend(std::iter::repeat_n(Some(1000.0), 10));
        let col = Numbers::from(col);
        let then: Vec<usize> = (0..100).collect();
        let now: Vec<usize> = (100..110).collect();
        let p = numeric_psi(&col, &then, &now).unwrap();
        let term = |e: f64, o: f64| (o - e) * (o / e).ln();
        let want = term(0.11, 1e-4) + 8.0 * term(0.10, 1e-4) + term(0.09, 1.0);
        assert!((p - want).abs() < 1e-9, "{p} vs {want}");
        assert!(numeric_psi(&col, &then, &then).unwrap().abs() < 1e-12);
    }
}
