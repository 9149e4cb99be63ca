//! The fiscal-year forecast for Finance: the next four quarters, by segment, from each
//! account's twelve-month outlook (the account-month hazard).
//!
//! For each quarter: the ARR up for renewal (accounts with a booked or projected term end
//! in it), the expected ARR still a customer at its start, the expected churned ARR in it,
//! the expected gross revenue retention (GRR: ARR at the start, less churned and downsold
//! ARR, over ARR at the start) and the segment's trailing contraction rate for a quarter.
//!
//! Intervals are drawn as the 90-day forecast draws them: each draw gives every account a
//! churn month from its own curve (independently; a uniform below P(churn within m months)
//! churns it by month m), so churned ARR and the ARR at each start move together and the
//! draws of GRR are coherent. Draws are made in blocks, each seeded from its index, so the
//! result does not depend on the thread count.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::forecast::{BLOCK, DRAWS};
use crate::common::dates;
use crate::common::rng::Rng;
use crate::hazard::{Outlook, QUARTERS};

/// One account as the quarter forecast sees it.
#[derive(Clone, Debug)]
pub struct Item<'a> {
    pub segment: &'a str,
    pub arr: f64,
    pub outlook: &'a Outlook,
}

/// One quarter of one segment (or `all`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuarterRow {
    /// 1 to 4: months 1-3, 4-6, 7-9, 10-12 after the scoring date.
    pub quarter: usize,
    pub start: NaiveDate,
    /// The quarter's last day.
    pub end: NaiveDate,
    pub segment: String,
    /// Accounts scored at the scoring date, and their ARR then.
    pub accounts: usize,
    pub arr: f64,
    /// ARR of the accounts with a term ending in the quarter (an overdue renewal counts in
    /// the first).
    pub arr_up_for_renewal: f64,
    /// Expected ARR of the accounts still customers at the quarter's start.
    pub expected_arr_start: f64,
    pub expected_churned_arr: f64,
    pub churned_arr_low: f64,
    pub churned_arr_high: f64,
    /// Contraction over a quarter as a share of ARR (trailing 12 months), when known.
    pub contraction_rate: Option<f64>,
    pub expected_downsold_arr: Option<f64>,
    /// (ARR at the start - churned - downsold) / ARR at the start.
    pub expected_grr: f64,
    pub grr_low: f64,
    pub grr_high: f64,
}

/// A past quarter of the backtest: the forecast made at the cut date against the ARR that
/// churned in it (accounts in the book at the cut, at their ARR then).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuarterCheck {
    pub quarter: usize,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub accounts: usize,
    pub expected_churned_arr: f64,
    pub churned_arr_low: f64,
    pub churned_arr_high: f64,
    pub actual_churned_arr: f64,
}

impl QuarterCheck {
    /// Whether the 90% interval held what churned.
    pub fn covered(&self) -> bool {
        self.actual_churned_arr >= self.churned_arr_low
            && self.actual_churned_arr <= self.churned_arr_high
    }
}

/// Coverage of the intervals: the 5th to the 95th percentile.
pub const LEVEL: f64 = 0.9;

/// The `q` quantile of sorted draws; NaN when there are none (a GRR with no ARR at the
/// start).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        f64::NAN
    } else {
        super::forecast::quantile(sorted, q)
    }
}

/// The quarter of the churn month drawn for `o` with uniform `u`; `QUARTERS` when the
/// account stays past the twelve months.
fn drawn_quarter(o: &Outlook, u: f64) -> usize {
    o.within
        .iter()
        .position(|&c| u < c)
        .map_or(QUARTERS, |m| m / 3)
}

/// The next four quarters after `t` of `items`, `all` first then each segment, quarter
/// by quarter. `rates` are the yearly-scaled contraction rates per segment for a quarter
/// (see [`super::forecast::contraction_rates`]).
pub fn quarters(
    items: &[Item],
    t: NaiveDate,
    rates: &BTreeMap<String, f64>,
    seed: u64,
) -> Vec<QuarterRow> {
    let mut segments: Vec<&str> = items.iter().map(|i| i.segment).collect();
    segments.sort_unstable();
    segments.dedup();
    segments.retain(|s| *s != "all");
    let names: Vec<&str> = std::iter::once("all")
        .chain(segments.iter().copied())
        .collect();
    // Each item's group besides `all` (0): its segment's, or `all` again for an item
    // whose segment is named `all`, which then counts once.
    let slot: Vec<usize> = items
        .iter()
        .map(|i| segments.binary_search(&i.segment).map_or(0, |k| k + 1))
        .collect();
    // Per draw, per group and quarter: [ARR at the start, churned ARR].
    let width = names.len() * QUARTERS * 2;
    let at = |g: usize, q: usize, what: usize| (g * QUARTERS + q) * 2 + what;
    let draws: Vec<Vec<f64>> = (0..DRAWS.div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let mut rng = Rng::stream(seed, 0x0A7E_0000 + b as u64);
            let n = BLOCK.min(DRAWS - b * BLOCK);
            let mut out = vec![0.0; n * width];
            for d in 0..n {
                let row = &mut out[d * width..(d + 1) * width];
                for (it, &g) in items.iter().zip(&slot) {
                    let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                    let churned_in = drawn_quarter(it.outlook, u);
                    let groups: &[usize] = if g == 0 { &[0] } else { &[0, g] };
                    for &grp in groups {
                        for q in 0..QUARTERS.min(churned_in + 1) {
                            row[at(grp, q, 0)] += it.arr;
                        }
                        if churned_in < QUARTERS {
                            row[at(grp, churned_in, 1)] += it.arr;
                        }
                    }
                }
            }
            out
        })
        .collect();
    let mut rows = Vec::new();
    for (g, name) in names.iter().enumerate() {
        let members: Vec<&Item> = items
            .iter()
            .zip(&slot)
            .filter(|&(_, &s)| g == 0 || s == g)
            .map(|(i, _)| i)
            .collect();
        let rate = rates.get(*name).copied();
        for q in 0..QUARTERS {
            let column = |what: usize| -> Vec<f64> {
                draws
                    .iter()
                    .flat_map(|b| b.chunks(width).map(move |r| r[at(g, q, what)]))
                    .collect()
            };
            let (starts, churned) = (column(0), column(1));
            let keep = 1.0 - rate.unwrap_or(0.0);
            let mut grr: Vec<f64> = starts
                .iter()
                .zip(&churned)
                .filter(|(s, _)| **s > 0.0)
                .map(|(s, c)| keep * (1.0 - c / s))
                .collect();
            grr.sort_by(f64::total_cmp);
            let mut churned = churned;
            churned.sort_by(f64::total_cmp);
            let arr_start: f64 = members
                .iter()
                .map(|i| i.arr * (1.0 - if q == 0 { 0.0 } else { i.outlook.within(3 * q) }))
                .sum();
            let churned_arr: f64 = members
                .iter()
                .map(|i| i.arr * i.outlook.in_quarter(q))
                .sum();
            let start = dates::add_months(t, 3 * q as i32);
            rows.push(QuarterRow {
                quarter: q + 1,
                start,
                end: dates::add_months(t, 3 * (q as i32 + 1)) - chrono::Duration::days(1),
                segment: name.to_string(),
                accounts: members.len(),
                arr: members.iter().map(|i| i.arr).sum(),
                arr_up_for_renewal: members
                    .iter()
                    .filter(|i| i.outlook.renews_in_quarter[q])
                    .map(|i| i.arr)
                    .sum(),
                expected_arr_start: arr_start,
                expected_churned_arr: churned_arr,
                churned_arr_low: quantile(&churned, (1.0 - LEVEL) / 2.0),
                churned_arr_high: quantile(&churned, (1.0 + LEVEL) / 2.0),
                contraction_rate: rate,
                expected_downsold_arr: rate.map(|r| r * (arr_start - churned_arr)),
                expected_grr: if arr_start > 0.0 {
                    keep * (1.0 - churned_arr / arr_start)
                } else {
                    f64::NAN
                },
                grr_low: quantile(&grr, (1.0 - LEVEL) / 2.0),
                grr_high: quantile(&grr, (1.0 + LEVEL) / 2.0),
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hazard::{Curve, MONTHS};

    fn outlook(h: &[(usize, f64)], renews: [bool; 4]) -> Outlook {
        let mut hz = vec![0.0; MONTHS];
        for &(m, v) in h {
            hz[m - 1] = v;
        }
        Outlook {
            within: Curve::new(hz).cumulative,
            next_renewal: dates::parse_date("2026-03-31").unwrap(),
            p_next_renewal_fails: None,
            renews_in_quarter: renews,
        }
    }

    /// Two accounts by hand: A (ARR 100) churns in month 2 with probability 0.5; B (ARR
    /// 300) in month 5 with probability 0.2. Quarter 1: churned 50 expected of 400 at the
    /// start (GRR 0.875); quarter 2: ARR at the start 350, churned 60 (GRR 1 - 60/350).
    /// The draws' intervals hold the possible outcomes only: 0 or 100 in quarter 1.
    #[test]
    fn quarters_by_hand() {
        let a = outlook(&[(2, 0.5)], [true, false, false, false]);
        let b = outlook(&[(5, 0.2)], [false, true, false, true]);
        let items = [
            Item {
                segment: "smb",
                arr: 100.0,
                outlook: &a,
            },
            Item {
                segment: "ent",
                arr: 300.0,
                outlook: &b,
            },
        ];
        let t = dates::parse_date("2026-01-01").unwrap();
        let rows = quarters(&items, t, &BTreeMap::new(), 7);
        assert_eq!(rows.len(), 3 * 4);
        let all: Vec<&QuarterRow> = rows.iter().filter(|r| r.segment == "all").collect();
        assert_eq!(all[0].end, dates::parse_date("2026-03-31").unwrap());
        assert_eq!(all[3].start, dates::parse_date("2026-10-01").unwrap());
        assert!((all[0].expected_churned_arr - 50.0).abs() < 1e-12);
        assert!((all[0].expected_grr - 0.875).abs() < 1e-12);
        assert!((all[1].expected_arr_start - 350.0).abs() < 1e-12);
        assert!((all[1].expected_churned_arr - 60.0).abs() < 1e-12);
        assert!((all[1].expected_grr - (1.0 - 60.0 / 350.0)).abs() < 1e-12);
        assert_eq!(all[2].expected_churned_arr, 0.0);
        assert_eq!(
            (all[0].churned_arr_low, all[0].churned_arr_high),
            (0.0, 100.0)
        );
        // Quarter 2's churn is B's 300 with probability 0.2: the 95th percentile is 300,
        // the 5th 0; GRR then ranges over 1 - 300/300 and 1 - 300/400 .. 1.
        assert_eq!(
            (all[1].churned_arr_low, all[1].churned_arr_high),
            (0.0, 300.0)
        );
        assert_eq!(all[1].grr_high, 1.0);
        assert_eq!(all[0].arr_up_for_renewal, 100.0);
        assert_eq!(all[3].arr_up_for_renewal, 300.0);
        let smb = rows
            .iter()
            .find(|r| r.segment == "smb" && r.quarter == 1)
            .unwrap();
        assert!((smb.expected_churned_arr - 50.0).abs() < 1e-12);
        // The same seed gives the same draws.
        assert_eq!(rows, quarters(&items, t, &BTreeMap::new(), 7));
        // Items of no other segment than `all` count once.
        let one = [Item {
            segment: "all",
            arr: 100.0,
            outlook: &a,
        }];
        let rows = quarters(&one, t, &BTreeMap::new(), 7);
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].churned_arr_high, 100.0);
        assert_eq!(rows[1].expected_arr_start, 50.0);
    }
}
