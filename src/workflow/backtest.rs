//! `churnlab backtest`: would last quarter's list have been right? For each date, the
//! book is cut at that date (everything dated on or after it removed, open items as they
//! were), the pipeline is trained on the cut book alone, and the accounts in the book on
//! that date are scored. The scores are then compared with what happened over the next
//! horizon in the full book. A leak anywhere in the pipeline shows as a gap between the
//! cut run's own out-of-time test and the backtest.

use std::path::Path;

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use super::{BookContext, OnProgress};
use crate::analysis::forecast;
use crate::analysis::quarters::{self, QuarterCheck};
use crate::book::snapshot;
use crate::common::dates;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::features::dataset::Dataset;
use crate::model::Family;
use crate::train::metrics::{Metrics, top_share};

/// One account scored at a cut date, and what became of it.
#[derive(Clone, Debug, Serialize)]
pub struct BacktestScore {
    pub account_id: String,
    pub status: &'static str,
    pub arr: f64,
    pub churn_probability: f64,
    /// Churned within the horizon; `None` while still undecided.
    pub churned: Option<bool>,
}

/// The backtest at one cut date.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CutResult {
    /// The cut date: the as-of date of the book as it was then.
    pub at: NaiveDate,
    /// The end of the horizon the outcomes are read over.
    pub horizon_end: NaiveDate,
    /// Accounts in the book on the cut date (active, new or lapsed), all scored.
    pub accounts: usize,
    /// Of them, those whose outcome is known by the full book's as-of date.
    pub resolved: usize,
    pub churned: usize,
    pub champion: Family,
    /// The cut run's own out-of-time test ROC-AUC of its champion.
    pub test_roc_auc: Option<f64>,
    /// The scores against what happened: ROC-AUC, PR-AUC, Brier, lift and capture of
    /// churners and churned ARR in the top 10% / 20% by probability, calibration.
    pub outcome: Metrics,
    /// Share of the churned ARR in the top 10% / 20% of the list ranked by ARR at risk
    /// (the default order of the at-risk list).
    pub arr_capture_top10_by_arr_at_risk: Option<f64>,
    pub arr_capture_top20_by_arr_at_risk: Option<f64>,
    /// Sum of probability x ARR over the resolved accounts, and the ARR that churned.
    #[serde(deserialize_with = "crate::common::nan::f64")]
    pub predicted_churned_arr: f64,
    /// The forecast's 90% interval of churned ARR (the weighted Poisson-binomial of the
    /// same probabilities), as the report's renewal forecast computes it.
    #[serde(default = "no_interval", deserialize_with = "crate::common::nan::pair")]
    pub predicted_churned_arr_interval: (f64, f64),
    #[serde(deserialize_with = "crate::common::nan::f64")]
    pub actual_churned_arr: f64,
    /// The quarter forecast made at the cut (the account-month hazard fitted on the cut
    /// book) against what churned, for each quarter that has played out.
    #[serde(default)]
    pub quarters: Vec<QuarterCheck>,
    /// Every account scored (in `backtest_scores.csv`, not in the json).
    #[serde(skip)]
    pub scores: Vec<BacktestScore>,
}

/// A cut written before the forecast had an interval reads back without one.
fn no_interval() -> (f64, f64) {
    (f64::NAN, f64::NAN)
}

impl CutResult {
    /// The forecast's 90% interval of churned ARR, when the file holds one.
    pub fn interval(&self) -> Option<(f64, f64)> {
        let (lo, hi) = self.predicted_churned_arr_interval;
        (lo.is_finite() && hi.is_finite()).then_some((lo, hi))
    }
}

/// The backtest over several dates.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Backtest {
    pub data: String,
    pub as_of: NaiveDate,
    pub horizon_days: i64,
    pub cuts: Vec<CutResult>,
}

/// The default cut dates: three month starts, a quarter apart, the latest whose horizon
/// (and the grace period after it) has fully passed by the as-of date.
pub fn default_dates(as_of: NaiveDate, horizon_days: i64, grace_days: i64) -> Vec<NaiveDate> {
    let latest = dates::month_start(as_of - Duration::days(horizon_days + grace_days + 1));
    (0..3)
        .rev()
        .map(|k| dates::add_months(latest, -3 * k))
        .collect()
}

/// Backtests the pipeline on the book in `data` at each date of `at` (the defaults when
/// empty).
pub fn backtest(
    data: &Path,
    at: &[NaiveDate],
    cfg: &Config,
    progress: OnProgress<'_>,
) -> Result<Backtest> {
    let full = BookContext::for_job(data, None, cfg)?;
    let snap = cfg.snapshots();
    let h = snap.horizon_days;
    let at: Vec<NaiveDate> = if at.is_empty() {
        default_dates(full.as_of, h, full.grace_days)
    } else {
        at.to_vec()
    };
    let mut cuts = Vec::new();
    for &d in &at {
        if d + Duration::days(h) >= full.as_of {
            return Err(Error::Input(format!(
                "backtest at {d}: the {h}-day horizon after it runs past the data (as of {}); choose a date before {}",
                full.as_of,
                full.as_of - Duration::days(h)
            )));
        }
        log::info!("backtest at {d}: cutting the book and rerunning the pipeline");
        let ctx = full.cut(d)?;
        let table = ctx.snapshot_table(snap, cfg.features())?;
        let ds = Dataset::from_snapshots(&table);
        let scheme = super::train::scheme_for(&ds, cfg);
        let trained = super::train::train_dataset(&ds, scheme, cfg, progress)?;
        let pipe = trained
            .pipelines
            .get(&trained.report.champion)
            .ok_or_else(|| Error::Input("the backtest needs [models] refit = true".into()))?;
        let rows = table.scoring_rows();
        let p = pipe.predict(&ds, &rows)?;
        // What happened: the full book's labels for the same accounts at the cut date.
        let outcome = snapshot::spine(
            &full.accounts,
            &full.histories,
            &[d],
            snap,
            full.grace_days,
            full.as_of,
        );
        let label_of: std::collections::HashMap<u32, Option<bool>> =
            outcome.iter().map(|r| (r.account, r.label)).collect();
        let (mut y, mut q, mut arr) = (Vec::new(), Vec::new(), Vec::new());
        let mut scores = Vec::with_capacity(rows.len());
        for (k, &i) in rows.iter().enumerate() {
            let r = &table.rows[i];
            let churned = label_of.get(&r.account).copied().flatten();
            if let Some(l) = churned {
                y.push(f64::from(u8::from(l)));
                q.push(p[k]);
                arr.push(r.arr);
            }
            scores.push(BacktestScore {
                account_id: table.account_ids[r.account as usize].clone(),
                status: r.status.as_str(),
                arr: r.arr,
                churn_probability: p[k],
                churned,
            });
        }
        let quarters = if cfg.models().hazard {
            quarter_checks(&table, &ds, &rows, &p, &outcome, full.as_of, cfg)?
        } else {
            Vec::new()
        };
        let at_risk: Vec<f64> = q.iter().zip(&arr).map(|(p, a)| p * a).collect();
        let champion = trained.report.champion;
        cuts.push(CutResult {
            at: d,
            horizon_end: d + Duration::days(h),
            accounts: rows.len(),
            resolved: y.len(),
            churned: y.iter().filter(|&&v| v > 0.5).count(),
            champion,
            test_roc_auc: trained
                .report
                .families
                .iter()
                .find(|f| f.family == champion)
                .and_then(|f| f.test.roc_auc),
            outcome: Metrics::compute(&y, &q, Some(&arr)),
            arr_capture_top10_by_arr_at_risk: top_share(&y, &at_risk, Some(&arr), 0.1).arr_capture,
            arr_capture_top20_by_arr_at_risk: top_share(&y, &at_risk, Some(&arr), 0.2).arr_capture,
            predicted_churned_arr: at_risk.iter().sum(),
            predicted_churned_arr_interval: forecast::churned_arr_interval(&arr, &q, cfg.seed()),
            actual_churned_arr: y.iter().zip(&arr).map(|(y, a)| y * a).sum(),
            quarters,
            scores,
        });
    }
    Ok(Backtest {
        data: data.display().to_string(),
        as_of: full.as_of,
        horizon_days: h,
        cuts,
    })
}

/// The quarter forecast at a cut: the hazard fitted on the cut book `table`, each scored
/// account's outlook (its 90-day probability `p` first, as the list has it), and what
/// churned in each quarter whose end, and the grace period after it, has passed by the
/// full book's `as_of` (`outcome`: the full book's spine at the cut).
fn quarter_checks(
    table: &crate::features::SnapshotTable,
    ds: &Dataset,
    rows: &[usize],
    p: &[f64],
    outcome: &[snapshot::SpineRow],
    as_of: NaiveDate,
    cfg: &Config,
) -> Result<Vec<QuarterCheck>> {
    use crate::hazard::{HazardModel, Outlook, churn_month, model};
    let at = table.as_of;
    let fit = model::fit_rows(table, ds, 0..table.rows.len(), at, cfg.seed());
    let hazard = HazardModel::fit(table, ds, &fit, at, cfg.seed())?;
    let curves = hazard.curves(table, ds, rows)?;
    let three_months = crate::hazard::splices(table.horizon_days);
    let outlooks: Vec<Outlook> = rows
        .iter()
        .zip(&curves)
        .zip(p)
        .map(|((&i, c), &p)| Outlook::new(c, &table.rows[i], three_months.then_some(p)))
        .collect();
    let items: Vec<quarters::Item> = rows
        .iter()
        .zip(&outlooks)
        .map(|(&i, o)| quarters::Item {
            segment: "all",
            arr: table.rows[i].arr,
            outlook: o,
        })
        .collect();
    let forecast = quarters::quarters(&items, at, &Default::default(), cfg.seed() ^ 0x9a47);
    let churned: std::collections::HashMap<u32, usize> = outcome
        .iter()
        .filter_map(|r| Some((r.account, churn_month(at, r.churn_date?))))
        .collect();
    let grace = Duration::days(cfg.data().grace_days);
    Ok(forecast
        .iter()
        .filter(|f| f.segment == "all" && f.end + grace < as_of)
        .map(|f| QuarterCheck {
            quarter: f.quarter,
            start: f.start,
            end: f.end,
            accounts: f.accounts,
            expected_churned_arr: f.expected_churned_arr,
            churned_arr_low: f.churned_arr_low,
            churned_arr_high: f.churned_arr_high,
            actual_churned_arr: rows
                .iter()
                .map(|&i| &table.rows[i])
                .filter(|r| {
                    churned
                        .get(&r.account)
                        .is_some_and(|&m| (m - 1) / 3 + 1 == f.quarter)
                })
                .map(|r| r.arr)
                .sum(),
        })
        .collect())
}
