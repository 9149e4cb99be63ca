//! Retention metrics from contracts, with the definitions of the CS domain notes:
//! logo churn, revenue churn split into cancellation, seat (quantity) downsell and price
//! downsell, expansion, GRR and NRR; by month, quarter and trailing twelve months,
//! overall and per segment.

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::common::dates;
use crate::input::load::{AccountInfo, Term};
use crate::input::table::{Column, Table};

/// Annualises a rate `p` observed over `days` days: 1 - (1 - p)^(365 / days).
pub(crate) fn annualise(p: f64, days: f64) -> f64 {
    if days <= 0.0 {
        return f64::NAN;
    }
    1.0 - (1.0 - p).max(0.0).powf(365.0 / days)
}

/// Whether a coverage interval ended in a churn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Still covered at the as-of date.
    Active,
    /// Ended, and no term started within the grace period: churned at `end`.
    Churned,
    /// Ended less than `grace_days` before the as-of date: a renewal may still arrive.
    Pending,
}

/// A stretch of time an account was a customer: consecutive terms with gaps of at most
/// `grace_days` merged into one.
#[derive(Clone, Debug, PartialEq)]
pub struct Spell {
    pub start: NaiveDate,
    /// Last covered day.
    pub end: NaiveDate,
    pub ending: Ending,
}

/// One account's contract history.
#[derive(Clone, Debug, Default)]
pub struct History {
    pub terms: Vec<Term>,
    pub spells: Vec<Spell>,
}

impl History {
    pub fn new(mut terms: Vec<Term>, grace_days: i64, as_of: NaiveDate) -> Self {
        terms.sort_by_key(|t| (t.start, t.end));
        let mut spells: Vec<Spell> = Vec::new();
        for t in &terms {
            match spells.last_mut() {
                Some(s) if t.start <= s.end + Duration::days(grace_days) => {
                    s.end = s.end.max(t.end)
                }
                _ => spells.push(Spell {
                    start: t.start,
                    end: t.end,
                    ending: Ending::Active,
                }),
            }
        }
        for s in &mut spells {
            s.ending = if s.end >= as_of {
                Ending::Active
            } else if s.end + Duration::days(grace_days) < as_of {
                Ending::Churned
            } else {
                Ending::Pending
            };
        }
        History { terms, spells }
    }

    pub fn spell_at(&self, d: NaiveDate) -> Option<&Spell> {
        self.spells.iter().find(|s| s.start <= d && d <= s.end)
    }

    /// (ARR, seats) on day `d`: the sum over terms covering `d`; inside a bridged gap
    /// between terms, the values of the last covered day before it.
    pub fn arr_seats_at(&self, d: NaiveDate) -> (f64, f64) {
        let Some(spell) = self.spell_at(d) else {
            return (0.0, 0.0);
        };
        let sum = |day: NaiveDate| {
            self.terms
                .iter()
                .filter(|t| t.start <= day && day <= t.end)
                .fold((0.0, 0.0, 0), |acc, t| {
                    (acc.0 + t.arr, acc.1 + t.seats, acc.2 + 1)
                })
        };
        let (arr, seats, n) = sum(d);
        if n > 0 {
            return (arr, seats);
        }
        let last = self
            .terms
            .iter()
            .filter(|t| t.end < d && t.end >= spell.start)
            .map(|t| t.end)
            .max();
        match last {
            Some(day) => {
                let (a, s, _) = sum(day);
                (a, s)
            }
            None => (0.0, 0.0),
        }
    }
}

/// Builds each account's history (index = account index).
pub fn histories(
    n_accounts: usize,
    terms: &[Term],
    grace_days: i64,
    as_of: NaiveDate,
) -> Vec<History> {
    let mut by_account: Vec<Vec<Term>> = vec![Vec::new(); n_accounts];
    for t in terms {
        if let Some(v) = by_account.get_mut(t.account as usize) {
            v.push(t.clone());
        }
    }
    by_account
        .into_iter()
        .map(|ts| History::new(ts, grace_days, as_of))
        .collect()
}

/// Retention of the accounts active at `start`, measured at `end`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub period: String,
    pub start: NaiveDate,
    /// Exclusive.
    pub end: NaiveDate,
    pub segment: String,
    pub accounts_start: usize,
    pub churned: usize,
    #[serde(
        default = "crate::common::nan::missing",
        deserialize_with = "crate::common::nan::f64"
    )]
    pub logo_churn: f64,
    #[serde(
        default = "crate::common::nan::missing",
        deserialize_with = "crate::common::nan::f64"
    )]
    pub logo_churn_annualised: f64,
    pub new_accounts: usize,
    #[serde(
        default = "crate::common::nan::missing",
        deserialize_with = "crate::common::nan::f64"
    )]
    pub new_arr: f64,
    #[serde(
        default = "crate::common::nan::missing",
        deserialize_with = "crate::common::nan::f64"
    )]
    pub arr_start: f64,
    #[serde(
        default = "crate::common::nan::missing",
        deserialize_with = "crate::common::nan::f64"
    )]
    pub arr_end: f64,
    #[serde(
        default = "crate::common::nan::missing",
        deserialize_with = "crate::common::nan::f64"
    )]
    pub cancelled_arr: f64,
    #[serde(
        default = "crate::common::nan::missing",
        deserialize_with = "crate::common::nan::f64"
    )]
    pub seat_downsell_arr: f64,
    #[serde(
        default = "crate::common::nan::missing",
        deserialize_with = "crate::common::nan::f64"
    )]
    pub price_downsell_arr: f64,
    #[serde(
        default = "crate::common::nan::missing",
        deserialize_with = "crate::common::nan::f64"
    )]
    pub expansion_arr: f64,
    #[serde(
        default = "crate::common::nan::missing",
        deserialize_with = "crate::common::nan::f64"
    )]
    pub revenue_churn: f64,
    #[serde(
        default = "crate::common::nan::missing",
        deserialize_with = "crate::common::nan::f64"
    )]
    pub grr: f64,
    #[serde(
        default = "crate::common::nan::missing",
        deserialize_with = "crate::common::nan::f64"
    )]
    pub nrr: f64,
}

/// Splits a contraction of `a0 - a1 > 0` into (seat part, price part) by the negative
/// parts of the quantity effect (s1 - s0) * p0 and the price effect s1 * (p1 - p0).
fn split_contraction(a0: f64, s0: f64, a1: f64, s1: f64) -> (f64, f64) {
    let contraction = a0 - a1;
    if contraction <= 0.0 {
        return (0.0, 0.0);
    }
    if s0 <= 0.0 || s1 <= 0.0 {
        return if s1 < s0 {
            (contraction, 0.0)
        } else {
            (0.0, contraction)
        };
    }
    let (p0, p1) = (a0 / s0, a1 / s1);
    let neg_q = (-(s1 - s0) * p0).max(0.0);
    let neg_p = (-s1 * (p1 - p0)).max(0.0);
    if neg_q + neg_p <= 0.0 {
        return (0.0, contraction);
    }
    let seat = contraction * neg_q / (neg_q + neg_p);
    (seat, contraction - seat)
}

/// Retention over [start, end) for the accounts selected by `include`.
pub fn window(
    period: &str,
    segment: &str,
    start: NaiveDate,
    end: NaiveDate,
    histories: &[History],
    include: &dyn Fn(usize) -> bool,
) -> Window {
    let mut w = Window {
        period: period.to_string(),
        start,
        end,
        segment: segment.to_string(),
        ..Default::default()
    };
    for (i, h) in histories.iter().enumerate() {
        if !include(i) {
            continue;
        }
        if let Some(first) = h.spells.first()
            && first.start >= start
            && first.start < end
        {
            w.new_accounts += 1;
            w.new_arr += h.arr_seats_at(first.start).0;
        }
        let Some(spell) = h.spell_at(start) else {
            continue;
        };
        let (a0, s0) = h.arr_seats_at(start);
        w.accounts_start += 1;
        w.arr_start += a0;
        if spell.end < end && spell.ending != Ending::Active {
            // Ended inside the window (pending endings are treated as churn here; callers
            // only ask for windows whose endings are all settled).
            w.churned += 1;
            w.cancelled_arr += a0;
            continue;
        }
        let (a1, s1) = h.arr_seats_at(end);
        w.arr_end += a1;
        if a1 > a0 {
            w.expansion_arr += a1 - a0;
        } else {
            let (seat, price) = split_contraction(a0, s0, a1, s1);
            w.seat_downsell_arr += seat;
            w.price_downsell_arr += price;
        }
    }
    let days = (end - start).num_days() as f64;
    if w.accounts_start > 0 {
        w.logo_churn = w.churned as f64 / w.accounts_start as f64;
        w.logo_churn_annualised = annualise(w.logo_churn, days);
    } else {
        w.logo_churn = f64::NAN;
        w.logo_churn_annualised = f64::NAN;
    }
    if w.arr_start > 0.0 {
        let lost = w.cancelled_arr + w.seat_downsell_arr + w.price_downsell_arr;
        w.revenue_churn = lost / w.arr_start;
        w.grr = 1.0 - w.revenue_churn;
        w.nrr = w.arr_end / w.arr_start;
    } else {
        w.revenue_churn = f64::NAN;
        w.grr = f64::NAN;
        w.nrr = f64::NAN;
    }
    w
}

/// The full retention report.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub as_of: NaiveDate,
    #[serde(default)]
    pub grace_days: i64,
    /// Periods ending after this date are left out: renewals may still arrive in grace.
    pub settled_until: NaiveDate,
    pub rows: Vec<Window>,
}

impl Report {
    pub fn trailing(&self, segment: &str) -> Option<&Window> {
        self.rows
            .iter()
            .find(|w| w.period == "trailing_12m" && w.segment == segment)
    }

    pub fn to_table(&self) -> Table {
        let rows = &self.rows;
        let f = |g: &dyn Fn(&Window) -> f64| {
            Column::Float(
                rows.iter()
                    .map(|w| Some(g(w)).filter(|x| x.is_finite()))
                    .collect(),
            )
        };
        let i = |g: &dyn Fn(&Window) -> usize| {
            Column::Int(rows.iter().map(|w| Some(g(w) as i64)).collect())
        };
        Table::new()
            .with(
                "period",
                Column::Str(rows.iter().map(|w| Some(w.period.clone())).collect()),
            )
            .with(
                "start",
                Column::Date(rows.iter().map(|w| Some(dates::to_days(w.start))).collect()),
            )
            .with(
                "end",
                Column::Date(rows.iter().map(|w| Some(dates::to_days(w.end))).collect()),
            )
            .with(
                "segment",
                Column::Str(rows.iter().map(|w| Some(w.segment.clone())).collect()),
            )
            .with("accounts_start", i(&|w| w.accounts_start))
            .with("churned", i(&|w| w.churned))
            .with("logo_churn", f(&|w| w.logo_churn))
            .with("logo_churn_annualised", f(&|w| w.logo_churn_annualised))
            .with("new_accounts", i(&|w| w.new_accounts))
            .with("new_arr", f(&|w| w.new_arr))
            .with("arr_start", f(&|w| w.arr_start))
            .with("arr_end", f(&|w| w.arr_end))
            .with("cancelled_arr", f(&|w| w.cancelled_arr))
            .with("seat_downsell_arr", f(&|w| w.seat_downsell_arr))
            .with("price_downsell_arr", f(&|w| w.price_downsell_arr))
            .with("expansion_arr", f(&|w| w.expansion_arr))
            .with("revenue_churn", f(&|w| w.revenue_churn))
            .with("grr", f(&|w| w.grr))
            .with("nrr", f(&|w| w.nrr))
    }
}

/// Monthly, quarterly and trailing-12-month retention, overall and per segment, for every
/// period from the first contract to the last one whose churn outcomes are settled
/// (period end + grace_days <= as_of).
pub fn report(
    accounts: &[AccountInfo],
    terms: &[Term],
    hist: &[History],
    grace_days: i64,
    as_of: NaiveDate,
) -> Report {
    let settled_until = as_of - Duration::days(grace_days);
    let mut segments: Vec<String> = accounts.iter().map(|a| a.segment.clone()).collect();
    segments.sort();
    segments.dedup();
    let first = terms.iter().map(|t| t.start).min().unwrap_or(as_of);
    let mut rows = Vec::new();
    let emit = |period: &str, a: NaiveDate, b: NaiveDate, rows: &mut Vec<Window>| {
        rows.push(window(period, "all", a, b, hist, &|_| true));
        for seg in &segments {
            let w = window(period, seg, a, b, hist, &|i| accounts[i].segment == *seg);
            rows.push(w);
        }
    };
    // Months and quarters.
    for (period, step) in [("month", 1), ("quarter", 3)] {
        let mut a = if step == 1 {
            dates::month_start(first)
        } else {
            dates::quarter_start(first)
        };
        loop {
            let b = dates::add_months(a, step);
            if b > settled_until {
                break;
            }
            emit(period, a, b, &mut rows);
            a = b;
        }
    }
    // Trailing twelve settled months.
    let b = dates::month_start(settled_until);
    let a = dates::add_months(b, -12);
    if a >= dates::month_start(first) {
        emit("trailing_12m", a, b, &mut rows);
    }
    rows.retain(|w| w.accounts_start > 0 || w.new_accounts > 0);
    Report {
        as_of,
        grace_days,
        settled_until,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        dates::parse_date(s).unwrap()
    }
    fn term(account: u32, start: &str, end: &str, arr: f64, seats: f64) -> Term {
        Term {
            account,
            start: d(start),
            end: d(end),
            arr,
            seats,
        }
    }

    #[test]
    fn annualising_follows_the_domain_definition() {
        // 1% a month is 11.4% a year; 8% a month is 63%, not 96% (docs/domain.md).
        assert!((annualise(0.01, 365.0 / 12.0) - 0.1136).abs() < 1e-4);
        assert!((annualise(0.08, 365.0 / 12.0) - 0.6323).abs() < 1e-4);
        // A quarterly 5% is 1 - 0.95^(365/91) = 18.6% a year.
        assert!((annualise(0.05, 91.0) - 0.1860).abs() < 1e-3);
    }

    #[test]
    fn grace_period_merges_late_renewals_and_settles_churn() {
        let as_of = d("2025-06-01");
        let h = History::new(
            vec![
                term(0, "2024-01-01", "2024-12-31", 100.0, 10.0),
                term(0, "2025-01-20", "2025-12-31", 120.0, 10.0),
            ],
            30,
            as_of,
        );
        assert_eq!(
            h.spells.len(),
            1,
            "a renewal 20 days late is inside the grace period"
        );
        assert_eq!(
            h.arr_seats_at(d("2025-01-10")),
            (100.0, 10.0),
            "the gap carries the last ARR"
        );
        let churned = History::new(
            vec![term(0, "2024-01-01", "2025-04-30", 100.0, 10.0)],
            30,
            as_of,
        );
        assert_eq!(churned.spells[0].ending, Ending::Churned);
        let pending = History::new(
            vec![term(0, "2024-01-01", "2025-05-15", 100.0, 10.0)],
            30,
            as_of,
        );
        assert_eq!(pending.spells[0].ending, Ending::Pending);
    }

    /// Four accounts over Q1 2025, computed by hand:
    /// A: 100 ARR, churns (ends 2025-02-28).            cancelled 100
    /// B: 200 ARR, 10 seats -> renews at 150, 5 seats.  seats fall 10->5 at price 20/seat:
    ///    quantity effect -100, price effect 5*(30-20)=+50, contraction 50 all seat downsell
    /// C: 300 ARR, 10 seats -> renews 10 seats at 240.  price downsell 60
    /// D: 400 ARR -> renews at 500.                     expansion 100
    /// Start 1000; capped end 0 + 150 + 240 + 400 = 790 -> GRR 79%;
    /// end 0 + 150 + 240 + 500 = 890 -> NRR 89%; logo churn 1/4.
    #[test]
    fn quarter_window_matches_hand_computation() {
        let terms = vec![
            term(0, "2024-03-01", "2025-02-28", 100.0, 5.0),
            term(1, "2024-03-01", "2025-02-28", 200.0, 10.0),
            term(1, "2025-03-01", "2026-02-28", 150.0, 5.0),
            term(2, "2024-02-01", "2025-01-31", 300.0, 10.0),
            term(2, "2025-02-01", "2026-01-31", 240.0, 10.0),
            term(3, "2024-03-15", "2025-03-14", 400.0, 20.0),
            term(3, "2025-03-15", "2026-03-14", 500.0, 25.0),
            term(4, "2025-02-10", "2026-02-09", 50.0, 2.0),
        ];
        let hist = histories(5, &terms, 30, d("2025-09-01"));
        let w = window(
            "quarter",
            "all",
            d("2025-01-01"),
            d("2025-04-01"),
            &hist,
            &|_| true,
        );
        assert_eq!(w.accounts_start, 4);
        assert_eq!(w.churned, 1);
        assert_eq!(w.new_accounts, 1);
        assert!((w.new_arr - 50.0).abs() < 1e-9);
        assert!((w.arr_start - 1000.0).abs() < 1e-9);
        assert!((w.cancelled_arr - 100.0).abs() < 1e-9);
        assert!((w.seat_downsell_arr - 50.0).abs() < 1e-9);
        assert!((w.price_downsell_arr - 60.0).abs() < 1e-9);
        assert!((w.expansion_arr - 100.0).abs() < 1e-9);
        assert!((w.grr - 0.79).abs() < 1e-12);
        assert!((w.nrr - 0.89).abs() < 1e-12);
        assert!((w.logo_churn - 0.25).abs() < 1e-12);
        assert!(w.grr <= 1.0 && w.nrr >= w.grr);
        // New account D's expansion can push NRR over 100% while GRR stays capped.
        let only_d = window(
            "quarter",
            "d",
            d("2025-01-01"),
            d("2025-04-01"),
            &hist,
            &|i| i == 3,
        );
        assert!((only_d.nrr - 1.25).abs() < 1e-12 && (only_d.grr - 1.0).abs() < 1e-12);
    }

    #[test]
    fn mixed_quantity_and_price_contraction_is_split_proportionally() {
        // 10 seats at 10 -> 8 seats at 9: quantity -20, price -8; contraction 28.
        let (seat, price) = split_contraction(100.0, 10.0, 72.0, 8.0);
        assert!((seat - 20.0).abs() < 1e-9 && (price - 8.0).abs() < 1e-9);
    }
}
