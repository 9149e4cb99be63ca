//! The renewal forecast for Finance: expected churned and downsold ARR over the model's
//! horizon (a quarter by default), by segment, from the calibrated probabilities of the
//! scored list.
//!
//! Each account churns or not independently with its own probability, so the number of
//! churned accounts is Poisson-binomial; its interval comes from the exact distribution
//! ([`poisson_binomial`]). Churned ARR is the same draws weighted by each account's ARR
//! (a weighted Poisson-binomial with no closed form); its interval comes from seeded
//! simulation of those draws. Downsold ARR applies the segment's historical contraction
//! rate (seat and price downsell over starting ARR, trailing 12 months) to the ARR
//! expected to stay.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::book::retention;
use crate::common::rng::Rng;

/// One account as the forecast sees it.
#[derive(Clone, Debug)]
pub struct Item<'a> {
    pub segment: &'a str,
    pub arr: f64,
    pub probability: f64,
}

/// The forecast for one segment (or `all`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub segment: String,
    pub accounts: usize,
    pub arr: f64,
    pub expected_churned_accounts: f64,
    pub churned_accounts_low: usize,
    pub churned_accounts_high: usize,
    pub expected_churned_arr: f64,
    pub churned_arr_low: f64,
    pub churned_arr_high: f64,
    /// Contraction over the horizon as a share of starting ARR (history), when known.
    pub contraction_rate: Option<f64>,
    pub expected_downsold_arr: Option<f64>,
}

/// The forecast by segment, `all` first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    /// The date the probabilities were scored at, when known.
    #[serde(default)]
    pub as_of: Option<String>,
    pub horizon_days: i64,
    /// Coverage of the intervals (0.9: the 5th to the 95th percentile).
    pub level: f64,
    pub draws: usize,
    pub method: String,
    pub rows: Vec<Row>,
    /// The next four quarters, by segment, when the list has each account's twelve-month
    /// outlook (the account-month hazard); see [`super::quarters`].
    #[serde(default)]
    pub quarters: Vec<super::quarters::QuarterRow>,
}

/// Simulated draws of the weighted sum (in blocks, each seeded from the block index, so
/// the result does not depend on the thread count).
pub(super) const DRAWS: usize = 4000;
pub(super) const BLOCK: usize = 250;

/// Tail entries of the Poisson-binomial below this are dropped as the recursion goes: the
/// mass lost is at most this times the number of trials (1e-14 for a million accounts),
/// far below what moves a 5% or 95% quantile, and the bulk left is about a fifth as wide
/// as with a floor of 1e-300, so the recursion is five times faster.
const PMF_FLOOR: f64 = 1e-20;

/// The probability mass function of the number of successes among independent Bernoulli
/// trials with probabilities `p` (exact recursion; entries below [`PMF_FLOOR`] at either
/// tail are dropped as it goes, so the cost is the number of trials times the width of
/// the bulk). Returns `(offset, pmf)`: `pmf[k]` is P(successes = offset + k).
pub fn poisson_binomial(p: &[f64]) -> (usize, Vec<f64>) {
    let mut pmf = vec![1.0];
    let mut offset = 0usize;
    for &q in p {
        let q = q.clamp(0.0, 1.0);
        // In place, from the top: P(k) = P(k - 1) q + P(k) (1 - q).
        pmf.push(0.0);
        for k in (1..pmf.len()).rev() {
            pmf[k] = pmf[k - 1] * q + pmf[k] * (1.0 - q);
        }
        pmf[0] *= 1.0 - q;
        let lead = pmf.iter().take_while(|&&m| m < PMF_FLOOR).count();
        let lead = lead.min(pmf.len() - 1);
        let tail = pmf.iter().rev().take_while(|&&m| m < PMF_FLOOR).count();
        let tail = tail.min(pmf.len() - 1 - lead);
        pmf.truncate(pmf.len() - tail);
        if lead > 0 {
            pmf.drain(..lead);
            offset += lead;
        }
    }
    (offset, pmf)
}

/// The integer a draw's 53 random bits must be below for an account of churn probability
/// `p` to churn: `u < p` for `u = k / 2^53` exactly when `k < ceil(p 2^53)` (scaling by a
/// power of two is exact). 0 for a probability of 0 or NaN; every `k` for 1.
fn churn_threshold(p: f64) -> u64 {
    if p > 0.0 {
        (p.min(1.0) * (1u64 << 53) as f64).ceil() as u64
    } else {
        0
    }
}

/// The smallest count whose cumulative probability reaches `q`.
pub fn pmf_quantile(offset: usize, pmf: &[f64], q: f64) -> usize {
    let mut c = 0.0;
    for (k, &m) in pmf.iter().enumerate() {
        c += m;
        if c >= q - 1e-12 {
            return offset + k;
        }
    }
    offset + pmf.len().saturating_sub(1)
}

/// The `q` quantile of sorted values (the lower order statistic: no interpolation).
pub(super) fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let k = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[k - 1]
}

/// Contraction (seat and price downsell) over `horizon_days` as a share of starting ARR,
/// by segment and for `all`, from the trailing 12 months of the retention report.
pub fn contraction_rates(r: &retention::Report, horizon_days: i64) -> BTreeMap<String, f64> {
    r.rows
        .iter()
        .filter(|w| w.period == "trailing_12m" && w.arr_start > 0.0)
        .map(|w| {
            let yearly = (w.seat_downsell_arr + w.price_downsell_arr) / w.arr_start;
            (w.segment.clone(), yearly * horizon_days as f64 / 365.0)
        })
        .collect()
}

/// The forecast of `items` over `horizon_days`, seeded by `seed`.
pub fn forecast(
    items: &[Item],
    rates: &BTreeMap<String, f64>,
    horizon_days: i64,
    seed: u64,
) -> Forecast {
    let level = 0.9;
    let mut segments: Vec<&str> = items.iter().map(|i| i.segment).collect();
    segments.sort_unstable();
    segments.dedup();
    segments.retain(|s| *s != "all");
    let mut groups: Vec<(&str, Vec<&Item>)> = vec![("all", items.iter().collect())];
    for s in segments {
        groups.push((s, items.iter().filter(|i| i.segment == s).collect()));
    }
    let group_of: Vec<Option<usize>> = items
        .iter()
        .map(|i| {
            groups
                .iter()
                .skip(1)
                .position(|(s, _)| *s == i.segment)
                .map(|g| g + 1)
        })
        .collect();
    // One set of draws for every account, shared by every segment, so the segments' draws
    // add up to the book's.
    //
    // An account churns in a draw when the draw's uniform `k / 2^53` is below its
    // probability, that is when `k` is below `ceil(p 2^53)`: the same events as comparing
    // the uniform itself, decided on integers. Its ARR is added to the book's slot and to
    // its segment's (a spare last slot for accounts of no segment); an account that does
    // not churn adds zero, which leaves every sum as it was, so the loop has no branch.
    let stride = groups.len() + 1;
    let slots: Vec<usize> = group_of.iter().map(|g| g.unwrap_or(groups.len())).collect();
    let thresholds: Vec<u64> = items
        .iter()
        .map(|i| churn_threshold(i.probability))
        .collect();
    let draws: Vec<Vec<f64>> = (0..DRAWS.div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let mut rng = Rng::stream(seed, 0xF0CA_0000 + b as u64);
            let n = BLOCK.min(DRAWS - b * BLOCK);
            let mut out = vec![0.0; n * stride];
            for d in 0..n {
                let row = &mut out[d * stride..(d + 1) * stride];
                // The book's sum in a register: the same additions in the same order.
                let mut book = 0.0;
                for ((it, &slot), &t) in items.iter().zip(&slots).zip(&thresholds) {
                    let churned = if rng.next_u64() >> 11 < t {
                        it.arr
                    } else {
                        0.0
                    };
                    book += churned;
                    row[slot] += churned;
                }
                row[0] = book;
            }
            out
        })
        .collect();
    let rows = groups
        .par_iter()
        .enumerate()
        .map(|(g, (seg, members))| {
            let p: Vec<f64> = members.iter().map(|i| i.probability).collect();
            let (off, pmf) = poisson_binomial(&p);
            let mut sims: Vec<f64> = draws
                .iter()
                .flat_map(|b| b.chunks(stride).map(move |r| r[g]))
                .collect();
            sims.sort_by(f64::total_cmp);
            let arr: f64 = members.iter().map(|i| i.arr).sum();
            let churned_arr: f64 = members.iter().map(|i| i.arr * i.probability).sum();
            let rate = rates.get(*seg).copied();
            Row {
                segment: seg.to_string(),
                accounts: members.len(),
                arr,
                expected_churned_accounts: p.iter().sum(),
                churned_accounts_low: pmf_quantile(off, &pmf, (1.0 - level) / 2.0),
                churned_accounts_high: pmf_quantile(off, &pmf, (1.0 + level) / 2.0),
                expected_churned_arr: churned_arr,
                churned_arr_low: quantile(&sims, (1.0 - level) / 2.0),
                churned_arr_high: quantile(&sims, (1.0 + level) / 2.0),
                contraction_rate: rate,
                expected_downsold_arr: rate.map(|r| r * (arr - churned_arr)),
            }
        })
        .collect();
    Forecast {
        as_of: None,
        horizon_days,
        level,
        draws: DRAWS,
        method: format!(
            "churned accounts: exact Poisson-binomial of the calibrated probabilities; churned ARR: {DRAWS} seeded draws of the same independent churn events weighted by ARR; downsold ARR: the segment's trailing-12-month contraction rate, scaled to the horizon, on the ARR expected to stay"
        ),
        rows,
        quarters: Vec::new(),
    }
}

/// The `level` interval of the churned ARR (the weighted Poisson-binomial) for one set of
/// accounts, by seeded simulation; used by the backtest to check past forecasts.
pub fn churned_arr_interval(arr: &[f64], p: &[f64], seed: u64) -> (f64, f64) {
    let items: Vec<Item> = arr
        .iter()
        .zip(p)
        .map(|(&a, &q)| Item {
            segment: "all",
            arr: a,
            probability: q,
        })
        .collect();
    let f = forecast(&items, &BTreeMap::new(), 0, seed);
    (f.rows[0].churned_arr_low, f.rows[0].churned_arr_high)
}

/// The forecast of every scored account of `list` (unscored ones and rows without ARR
/// are left out).
pub fn of_list(
    list: &crate::score::ScoredList,
    rates: &BTreeMap<String, f64>,
    horizon_days: i64,
    seed: u64,
) -> Forecast {
    let items: Vec<Item> = list
        .rows
        .iter()
        .filter_map(|s| {
            Some(Item {
                segment: s.segment.as_deref().unwrap_or("(none)"),
                arr: s.arr.filter(|a| a.is_finite())?,
                probability: s.churn_probability?,
            })
        })
        .collect();
    // The quarters: accounts with an outlook; contraction scaled to a quarter.
    let t = list
        .as_of
        .as_deref()
        .and_then(crate::common::dates::parse_date);
    let ahead: Vec<super::quarters::Item> = list
        .rows
        .iter()
        .filter_map(|s| {
            Some(super::quarters::Item {
                segment: s.segment.as_deref().unwrap_or("(none)"),
                arr: s.arr.filter(|a| a.is_finite())?,
                outlook: s.outlook.as_ref()?,
            })
        })
        .collect();
    let quarter_rates: BTreeMap<String, f64> = rates
        .iter()
        .map(|(k, r)| (k.clone(), r * 365.25 / 4.0 / horizon_days.max(1) as f64))
        .collect();
    let quarters = match t {
        Some(t) if !ahead.is_empty() => {
            super::quarters::quarters(&ahead, t, &quarter_rates, seed ^ 0x9a47)
        }
        _ => Vec::new(),
    };
    Forecast {
        as_of: list.as_of.clone(),
        quarters,
        ..forecast(&items, rates, horizon_days, seed)
    }
}
