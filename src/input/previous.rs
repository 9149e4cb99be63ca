//! An earlier run's outputs, read back: the at-risk list (`scored_accounts.csv`) and its
//! drivers (`drivers.csv`). The report compares with them, and so does the list-stability
//! check after a retrain.

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
    /// The twelve-month outlook (when the model has the hazard): P(churn within 12
    /// months) and P(the next renewal fails).
    pub p_churn_12m: Option<f64>,
    pub p_next_renewal_fails: Option<f64>,
    pub health_score: Option<f64>,
    pub health_tier: String,
    pub drivers: Vec<String>,
    pub context_note: String,
    pub play: String,
    pub play_basis: String,
    /// The estimated next best play and the ARR it would save (empty / None without).
    pub best_play: String,
    pub best_play_arr_saved: Option<f64>,
    pub not_scored: String,
    pub model_id: String,
}

/// Reads a `scored_accounts.csv`. Cells are read where the file's frame holds them, a
/// row at a time: a million-row list is not first copied into a string per cell.
pub fn accounts(path: &Path) -> Result<Vec<Account>> {
    let t = io::TextFrame::read(path)?;
    if !t.has("account_id") {
        return Err(Error::Input(format!(
            "{}: no account_id column; expected a scored_accounts.csv written by churnlab",
            path.display()
        )));
    }
    let text = |name: &str| {
        let c = t.column(name);
        move |i: usize| c.get(i).unwrap_or_default().to_string()
    };
    let number = |name: &str| {
        let c = t.column(name);
        move |i: usize| {
            c.get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| v.is_finite())
        }
    };
    let rank = number("rank");
    let account_id = text("account_id");
    let name = text("name");
    let segment = text("segment");
    let csm = text("csm");
    let status = text("status");
    let arr = number("arr");
    let renewal_date = text("renewal_date");
    let days_to_renewal = number("days_to_renewal");
    let renewal_state = text("renewal_state");
    let probability = number("churn_probability");
    let tier = text("risk_tier");
    let arr_at_risk = number("arr_at_risk");
    let p_churn_12m = number("p_churn_12m");
    let p_next_renewal_fails = number("p_next_renewal_fails");
    let health_score = number("health_score");
    let health_tier = text("health_tier");
    let drivers = ["driver_1", "driver_2", "driver_3"].map(text);
    let context_note = text("context_note");
    let play = text("suggested_play");
    let play_basis = text("play_basis");
    let best_play = text("best_play");
    let best_play_arr_saved = number("best_play_expected_arr_saved");
    let not_scored = text("not_scored_reason");
    let model_id = text("model_id");
    Ok((0..t.height())
        .map(|i| Account {
            rank: rank(i).map_or(i + 1, |r| r as usize),
            account_id: account_id(i),
            name: name(i),
            segment: segment(i),
            csm: csm(i),
            status: status(i),
            arr: arr(i),
            renewal_date: renewal_date(i),
            days_to_renewal: days_to_renewal(i),
            renewal_state: renewal_state(i),
            probability: probability(i),
            tier: tier(i),
            arr_at_risk: arr_at_risk(i),
            p_churn_12m: p_churn_12m(i),
            p_next_renewal_fails: p_next_renewal_fails(i),
            health_score: health_score(i),
            health_tier: health_tier(i),
            drivers: drivers
                .iter()
                .map(|d| d(i))
                .filter(|d| !d.is_empty())
                .collect(),
            context_note: context_note(i),
            play: play(i),
            play_basis: play_basis(i),
            best_play: best_play(i),
            best_play_arr_saved: best_play_arr_saved(i),
            not_scored: not_scored(i),
            model_id: model_id(i),
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
    // Read in place, as `accounts` is: six rows an account make this the larger file.
    let t = io::TextFrame::read(path)?;
    if !["account_id", "feature", "contribution_log_odds"]
        .iter()
        .all(|c| t.has(c))
    {
        return Err(Error::Input(format!(
            "{}: expected a drivers.csv written by churnlab (account_id, feature, contribution_log_odds)",
            path.display()
        )));
    }
    let (id, feature, contribution, sentence) = (
        t.column("account_id"),
        t.column("feature"),
        t.column("contribution_log_odds"),
        t.column("sentence"),
    );
    Ok((0..t.height())
        .filter_map(|i| {
            Some(DriverRow {
                account_id: id.get(i)?.to_string(),
                feature: feature.get(i)?.to_string(),
                contribution: contribution.get(i)?.parse().ok()?,
                sentence: sentence.get(i).unwrap_or_default().to_string(),
            })
        })
        .collect())
}
