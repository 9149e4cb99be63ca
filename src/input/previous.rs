//! An earlier run's outputs, read back: the at-risk list (`scored_accounts.csv`) and its
//! drivers (`drivers.csv`). The report compares with them, and so does the list-stability
//! check after a retrain.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::input::io;

/// One account of the at-risk list, as `scored_accounts.csv` has it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Account {
    pub rank: usize,
    pub account_id: String,
    pub name: String,
    pub segment: String,
    pub csm: String,
    pub status: String,
    pub arr: Option<f64>,
    pub renewal_date: String,
    pub days_to_renewal: Option<f64>,
    pub renewal_state: String,
    pub probability: Option<f64>,
    pub tier: String,
    pub arr_at_risk: Option<f64>,
    pub health_score: Option<f64>,
    pub health_tier: String,
    pub drivers: Vec<String>,
    pub context_note: String,
    pub play: String,
    pub play_basis: String,
    pub not_scored: String,
    pub model_id: String,
}

/// Reads a `scored_accounts.csv`.
pub fn accounts(path: &Path) -> Result<Vec<Account>> {
    let (names, cols) = io::read_text_columns(path)?;
    let by_name: BTreeMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let Some(&id) = by_name.get("account_id") else {
        return Err(Error::Input(format!(
            "{}: no account_id column; expected a scored_accounts.csv written by churnlab",
            path.display()
        )));
    };
    let rows = cols.get(id).map_or(0, Vec::len);
    let s = |name: &str, i: usize| -> String {
        by_name
            .get(name)
            .and_then(|&c| cols[c][i].clone())
            .unwrap_or_default()
    };
    let f = |name: &str, i: usize| -> Option<f64> {
        by_name
            .get(name)
            .and_then(|&c| cols[c][i].as_deref())
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite())
    };
    Ok((0..rows)
        .map(|i| Account {
            rank: f("rank", i).map_or(i + 1, |r| r as usize),
            account_id: s("account_id", i),
            name: s("name", i),
            segment: s("segment", i),
            csm: s("csm", i),
            status: s("status", i),
            arr: f("arr", i),
            renewal_date: s("renewal_date", i),
            days_to_renewal: f("days_to_renewal", i),
            renewal_state: s("renewal_state", i),
            probability: f("churn_probability", i),
            tier: s("risk_tier", i),
            arr_at_risk: f("arr_at_risk", i),
            health_score: f("health_score", i),
            health_tier: s("health_tier", i),
            drivers: ["driver_1", "driver_2", "driver_3"]
                .iter()
                .map(|d| s(d, i))
                .filter(|d| !d.is_empty())
                .collect(),
            context_note: s("context_note", i),
            play: s("suggested_play", i),
            play_basis: s("play_basis", i),
            not_scored: s("not_scored_reason", i),
            model_id: s("model_id", i),
        })
        .collect())
}

/// One driver row of a `drivers.csv`: account, feature and its contribution in log-odds.
#[derive(Clone, Debug, PartialEq)]
pub struct DriverRow {
    pub account_id: String,
    pub feature: String,
    pub contribution: f64,
    pub sentence: String,
}

/// Reads a `drivers.csv`.
pub fn drivers(path: &Path) -> Result<Vec<DriverRow>> {
    let (names, cols) = io::read_text_columns(path)?;
    let col = |name: &str| names.iter().position(|n| n == name);
    let (Some(id), Some(f), Some(c)) = (
        col("account_id"),
        col("feature"),
        col("contribution_log_odds"),
    ) else {
        return Err(Error::Input(format!(
            "{}: expected a drivers.csv written by churnlab (account_id, feature, contribution_log_odds)",
            path.display()
        )));
    };
    let text = col("sentence");
    let rows = cols[id].len();
    Ok((0..rows)
        .filter_map(|i| {
            Some(DriverRow {
                account_id: cols[id][i].clone()?,
                feature: cols[f][i].clone()?,
                contribution: cols[c][i].as_deref()?.parse().ok()?,
                sentence: text.and_then(|t| cols[t][i].clone()).unwrap_or_default(),
            })
        })
        .collect())
}
