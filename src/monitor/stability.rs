//! List stability: how much the ranked list changed since the previous run's
//! `scored_accounts.csv`, and why. CS teams lose trust in a list that reshuffles for no
//! reason; these figures show whether it did.
//!
//! - the overlap of the top 50 and of the top 10% (by the list's rank);
//! - the Spearman rank correlation of the churn probabilities of the accounts scored in
//!   both runs (average ranks for ties);
//! - the accounts that entered or left the high tier, each with the driver whose
//!   contribution changed most (drivers beyond the top ones listed count as zero).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::explain::drivers::{Driver, Explanation};
use crate::input::previous::{Account, DriverRow};
use crate::input::table::{Column, Table};
use crate::score::{Scored, ScoredList};

/// An account that entered or left the high tier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Move {
    pub account_id: String,
    pub name: String,
    /// "entered" or "left".
    pub direction: String,
    pub rank_before: Option<usize>,
    pub rank_now: Option<usize>,
    pub probability_before: Option<f64>,
    pub probability_now: Option<f64>,
    pub arr: Option<f64>,
    /// The driver whose contribution changed most, and by how much (log-odds).
    pub driver: Option<String>,
    pub driver_change: Option<f64>,
    /// Its sentence now (or before, when it is no longer a driver), or why there is none.
    pub why: String,
}

/// How much the list changed since the previous run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stability {
    /// The previous list's file and the model that made it.
    pub previous: String,
    pub previous_model: String,
    pub accounts_before: usize,
    pub accounts_now: usize,
    /// Scored in both runs.
    pub accounts_in_both: usize,
    pub top_50: Overlap,
    pub top_10_percent: Overlap,
    pub rank_correlation: Option<f64>,
    pub entered_high: usize,
    pub left_high: usize,
    pub moves: Vec<Move>,
}

/// The overlap of the top `size` of both lists.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Overlap {
    pub size: usize,
    pub shared: usize,
    pub share: f64,
}

impl Stability {
    /// stability.csv: one row per account that entered or left the high tier.
    pub fn to_table(&self) -> Table {
        let m = &self.moves;
        let s = |g: &dyn Fn(&Move) -> Option<String>| Column::Str(m.iter().map(g).collect());
        let n = |g: &dyn Fn(&Move) -> Option<f64>| Column::Float(m.iter().map(g).collect());
        let i = |g: &dyn Fn(&Move) -> Option<usize>| {
            Column::Int(m.iter().map(|x| g(x).map(|v| v as i64)).collect())
        };
        Table::new()
            .with("direction", s(&|x| Some(x.direction.clone())))
            .with("account_id", s(&|x| Some(x.account_id.clone())))
            .with("name", s(&|x| Some(x.name.clone())))
            .with("rank_before", i(&|x| x.rank_before))
            .with("rank_now", i(&|x| x.rank_now))
            .with_rounded("probability_before", n(&|x| x.probability_before), 4)
            .with_rounded("probability_now", n(&|x| x.probability_now), 4)
            .with_rounded("arr", n(&|x| x.arr), 2)
            .with("driver_changed_most", s(&|x| x.driver.clone()))
            .with_rounded("driver_change_log_odds", n(&|x| x.driver_change), 4)
            .with("why", s(&|x| Some(x.why.clone())))
    }
}

/// Compares `now` with the previous list `before` (and its drivers, when read).
pub fn stability(
    now: &ScoredList,
    before: &[Account],
    before_drivers: &[DriverRow],
    previous: &str,
) -> Stability {
    let scored_now: Vec<&Scored> = now
        .rows
        .iter()
        .filter(|s| s.churn_probability.is_some())
        .collect();
    let mut scored_before: Vec<&Account> =
        before.iter().filter(|a| a.probability.is_some()).collect();
    scored_before.sort_by_key(|a| a.rank);
    let ids_now: Vec<&str> = scored_now.iter().map(|s| s.account_id.as_str()).collect();
    let ids_before: Vec<&str> = scored_before
        .iter()
        .map(|a| a.account_id.as_str())
        .collect();
    let overlap = |k: usize| {
        let size = k.min(ids_now.len()).min(ids_before.len());
        let top: HashSet<&str> = ids_before.iter().take(size).copied().collect();
        let shared = ids_now
            .iter()
            .take(size)
            .filter(|id| top.contains(*id))
            .count();
        Overlap {
            size,
            shared,
            share: if size > 0 {
                shared as f64 / size as f64
            } else {
                0.0
            },
        }
    };
    let tenth = ids_now.len().div_ceil(10);
    let prob_before: HashMap<&str, f64> = scored_before
        .iter()
        .filter_map(|a| Some((a.account_id.as_str(), a.probability?)))
        .collect();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for s in &scored_now {
        if let (Some(p0), Some(p1)) = (prob_before.get(s.account_id.as_str()), s.churn_probability)
        {
            x.push(*p0);
            y.push(p1);
        }
    }
    let moves = moves(now, before, before_drivers);
    Stability {
        previous: previous.to_string(),
        previous_model: before
            .first()
            .map(|a| a.model_id.clone())
            .unwrap_or_default(),
        accounts_before: scored_before.len(),
        accounts_now: scored_now.len(),
        accounts_in_both: x.len(),
        top_50: overlap(50),
        top_10_percent: overlap(tenth),
        rank_correlation: spearman(&x, &y),
        entered_high: moves.iter().filter(|m| m.direction == "entered").count(),
        left_high: moves.iter().filter(|m| m.direction == "left").count(),
        moves,
    }
}

fn moves(now: &ScoredList, before: &[Account], before_drivers: &[DriverRow]) -> Vec<Move> {
    let old: HashMap<&str, &Account> = before.iter().map(|a| (a.account_id.as_str(), a)).collect();
    let new: HashMap<&str, (usize, &Scored)> = now
        .rows
        .iter()
        .enumerate()
        .map(|(k, s)| (s.account_id.as_str(), (k + 1, s)))
        .collect();
    let mut old_drivers: HashMap<&str, Vec<&DriverRow>> = HashMap::new();
    for d in before_drivers {
        old_drivers
            .entry(d.account_id.as_str())
            .or_default()
            .push(d);
    }
    let tiers_now: Vec<(&str, &str)> = now
        .rows
        .iter()
        .map(|s| (s.account_id.as_str(), s.risk_tier.unwrap_or("")))
        .collect();
    let tiers_before: Vec<(&str, &str)> = before
        .iter()
        .map(|a| (a.account_id.as_str(), a.tier.as_str()))
        .collect();
    let (entered, left) = high_tier_moves(&tiers_now, &tiers_before);
    let mut out = Vec::new();
    let both = entered.iter().map(|id| (*id, "entered"));
    for (id, direction) in both.chain(left.iter().map(|id| (*id, "left"))) {
        let a = old.get(id);
        let n = new.get(id);
        let (driver, change, why) = changed_most(
            n.and_then(|(_, s)| s.explanation.as_ref()),
            old_drivers.get(id).map(Vec::as_slice).unwrap_or(&[]),
            a.is_some(),
            n.is_some(),
        );
        out.push(Move {
            account_id: id.to_string(),
            name: n
                .and_then(|(_, s)| s.name.clone())
                .or_else(|| a.map(|a| a.name.clone()))
                .unwrap_or_default(),
            direction: direction.to_string(),
            rank_before: a.map(|a| a.rank),
            rank_now: n.map(|(r, _)| *r),
            probability_before: a.and_then(|a| a.probability),
            probability_now: n.and_then(|(_, s)| s.churn_probability),
            arr: n.and_then(|(_, s)| s.arr).or_else(|| a.and_then(|a| a.arr)),
            driver,
            driver_change: change,
            why,
        });
    }
    // Entered first, then by the current rank (or the previous one for accounts gone).
    out.sort_by_key(|m| {
        (
            m.direction != "entered",
            m.rank_now.or(m.rank_before).unwrap_or(usize::MAX),
        )
    });
    out
}

/// The accounts that entered the high tier (in `now`'s order) and that left it (in
/// `before`'s order), from two lists of (account id, risk tier). An account new to the
/// list in the high tier entered it; one gone from the list left it.
pub fn high_tier_moves<'a>(
    now: &[(&'a str, &str)],
    before: &[(&'a str, &str)],
) -> (Vec<&'a str>, Vec<&'a str>) {
    let high = |list: &[(&'a str, &str)]| -> HashSet<&'a str> {
        list.iter().filter(|x| x.1 == "high").map(|x| x.0).collect()
    };
    let (high_now, high_before) = (high(now), high(before));
    let entered = now
        .iter()
        .filter(|x| x.1 == "high" && !high_before.contains(x.0))
        .map(|x| x.0)
        .collect();
    let left = before
        .iter()
        .filter(|x| x.1 == "high" && !high_now.contains(x.0))
        .map(|x| x.0)
        .collect();
    (entered, left)
}

/// The feature whose contribution changed most between the previous drivers and the
/// current explanation, its change, and a sentence.
fn changed_most(
    now: Option<&Explanation>,
    before: &[&DriverRow],
    was_listed: bool,
    is_listed: bool,
) -> (Option<String>, Option<f64>, String) {
    if !was_listed {
        return (
            None,
            None,
            "new to the list (not in the previous run)".into(),
        );
    }
    if !is_listed {
        return (
            None,
            None,
            "no longer on the list (churned, or no longer active)".into(),
        );
    }
    // Per feature: contribution before, now, and the sentence before and now.
    let mut c: BTreeMap<&str, (f64, f64, &str, Option<&Driver>)> = BTreeMap::new();
    for d in before {
        let slot = c.entry(d.feature.as_str()).or_insert((0.0, 0.0, "", None));
        slot.0 += d.contribution;
        slot.2 = d.sentence.as_str();
    }
    if let Some(e) = now {
        for d in e.risers.iter().chain(&e.protectors) {
            let slot = c.entry(&d.feature).or_insert((0.0, 0.0, "", None));
            slot.1 += d.contribution;
            slot.3 = Some(d);
        }
    }
    let best = c.iter().max_by(|a, b| {
        let (da, db) = ((a.1.1 - a.1.0).abs(), (b.1.1 - b.1.0).abs());
        da.total_cmp(&db).then_with(|| b.0.cmp(a.0))
    });
    match best {
        Some((f, (b, n, sb, dn))) => {
            let sentence = dn
                .map(Driver::sentence)
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| sb.to_string());
            (Some(f.to_string()), Some(n - b), sentence)
        }
        None => (
            None,
            None,
            "no drivers to compare (the previous run has no drivers.csv)".into(),
        ),
    }
}

/// Spearman's rank correlation (Pearson's on average ranks); None below 3 pairs or when
/// a side is constant.
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    if x.len() < 3 || x.len() != y.len() {
        return None;
    }
    let (rx, ry) = (ranks(x), ranks(y));
    let n = x.len() as f64;
    let (mx, my) = (rx.iter().sum::<f64>() / n, ry.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in rx.iter().zip(&ry) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

/// Ranks from 1, ties sharing their average rank.
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    /// scipy.stats.spearmanr([1, 2, 2, 4, 5], [2, 1, 3, 5, 4]) = 0.7181848464596079
    /// (ranks x: 1, 2.5, 2.5, 4, 5; y: 2, 1, 3, 5, 4; 7 / sqrt(9.5 * 10)).
    #[test]
    fn spearman_matches_scipy_with_ties() {
        let r = spearman(&[1.0, 2.0, 2.0, 4.0, 5.0], &[2.0, 1.0, 3.0, 5.0, 4.0]).unwrap();
        assert!((r - 0.718_184_846_459_607_9).abs() < 1e-12, "{r}");
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), Some(-1.0));
        assert_eq!(spearman(&[1.0, 1.0, 1.0], &[3.0, 2.0, 1.0]), None);
    }
}
