//! Who a play would help: each account's next best play (the DR-learner's per-account
//! effects times ARR) and the budget table (a window's worth of a play aimed by
//! estimated effect against aimed at the top of the ranked list).

use std::collections::HashMap;

use super::effects::Estimate;
pub use super::play_models::{PLAYS_FILE, PlayModel, PlayModels};
use super::propensity::PropensityReport;
use crate::error::Result;
use crate::features::dataset::Dataset;
use crate::input::table::{Column, Table};
use crate::score::{BestPlay, ScoredList};

/// One play's targeting for a budget of `accounts` plays.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BudgetRow {
    pub play: String,
    /// The budget: as many accounts as had the play in the last window.
    pub accounts: usize,
    /// Aimed at the accounts with the largest estimated ARR saved by this play.
    pub by_effect: Estimate,
    /// Aimed at the top of the ranked list (the rule a team follows today).
    pub by_list: Estimate,
}

/// Each account id's position among the report's scoring rows.
fn scoring_positions<'a>(report: &PropensityReport, ds: &'a Dataset) -> HashMap<&'a str, usize> {
    report
        .scoring_rows
        .iter()
        .enumerate()
        .map(|(k, &i)| (ds.ids[i].as_str(), k))
        .collect()
}

/// Each account's next best play from the per-account effects of `models` on rows
/// `rows` of `ds` (the scoring rows). A play counts only when its headline passed the
/// checks and its interval lies below zero; otherwise the rule's suggested play stands,
/// and the basis says so.
pub fn attach_best_plays(
    list: &mut ScoredList,
    models: &PlayModels,
    ds: &Dataset,
    rows: &[usize],
) -> Result<()> {
    let at: HashMap<&str, usize> = rows
        .iter()
        .enumerate()
        .map(|(k, &i)| (ds.ids[i].as_str(), k))
        .collect();
    let (_, effects) = models.effects(ds, rows)?;
    let usable: Vec<(&PlayModel, &Vec<f64>)> = models
        .plays
        .iter()
        .zip(&effects)
        .filter(|(p, _)| p.supported)
        .collect();
    for s in &mut list.rows {
        let (Some(&k), Some(arr)) = (at.get(s.account_id.as_str()), s.arr) else {
            continue;
        };
        let best = usable
            .iter()
            .map(|(p, e)| (p, (-e[k]).max(0.0)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        s.best_play = Some(match best {
                Some((p, cut)) if cut > 0.0 => BestPlay {
                    play: Some(p.play.clone()),
                    expected_arr_saved: Some(cut * arr),
                    basis: format!(
                        "estimated {:.1} pts less churn within the horizon (DR-learner on this account's features; the play's average effect {:+.1} pts) x ARR",
                        100.0 * cut,
                        100.0 * p.att_dr
                    ),
                },
                _ if usable.is_empty() => BestPlay {
                    play: None,
                    expected_arr_saved: None,
                    basis: "no play has an effect the data supports (see the verdicts in propensity.csv); follow the suggested play".into(),
                },
                _ => BestPlay {
                    play: None,
                    expected_arr_saved: Some(0.0),
                    basis: "no supported play is estimated to lower this account's churn; follow the suggested play".into(),
                },
            });
    }
    Ok(())
}

/// The budget table: for each play with a supported effect, the ARR expected to be
/// saved by that many plays aimed by estimated effect, and aimed at the top of the
/// list as ranked (call after [`crate::score::ScoredList::arrange`]). Intervals from the effect
/// model's covariance.
pub fn play_budget(list: &ScoredList, report: &PropensityReport, ds: &Dataset) -> Vec<BudgetRow> {
    let at = scoring_positions(report, ds);
    // (position in the scoring rows, ARR) in list order.
    let listed: Vec<(usize, f64)> = list
        .rows
        .iter()
        .filter(|s| s.churn_probability.is_some())
        .filter_map(|s| Some((*at.get(s.account_id.as_str())?, s.arr?)))
        .collect();
    let z = &report.scoring_z;
    let mut out = Vec::new();
    for e in &report.effects {
        let Some(model) = e.effect_model.as_ref() else {
            continue;
        };
        if !e.supported() || e.recent_treated == 0 {
            continue;
        }
        let n = e.recent_treated.min(listed.len());
        let saved = |k: usize, arr: f64| -e.scoring_effects[k] * arr;
        let mut by_effect = listed.clone();
        by_effect.sort_by(|a, b| saved(b.0, b.1).total_cmp(&saved(a.0, a.1)));
        // ARR saved = -(sum of ARR x effect): the effect model's weighted sum with
        // weights -ARR.
        let sum = |chosen: &[(usize, f64)]| {
            let rows: Vec<(f64, Vec<f64>)> = chosen
                .iter()
                .map(|&(k, arr)| (-arr, z.row(k).to_vec()))
                .collect();
            model.weighted_sum(rows.iter().map(|(a, r)| (*a, r.as_slice())))
        };
        out.push(BudgetRow {
            play: e.treatment.clone(),
            accounts: n,
            by_effect: sum(&by_effect[..n]),
            by_list: sum(&listed[..n]),
        });
    }
    out
}

/// One account's estimated effect of one play (for `play_effects.csv`).
#[derive(Clone, Debug, serde::Serialize)]
pub struct PlayEffect {
    pub account_id: String,
    pub play: String,
    /// The estimated change in the probability of churning within the horizon had the
    /// play been run at the scoring date (negative: fewer churns).
    pub effect: f64,
    pub arr: Option<f64>,
    /// Whether the play's headline passed its checks with an interval below zero: only
    /// then is it offered as a best play.
    pub supported: bool,
}

/// Every scored account's estimated effect of every play with an effect model, in list
/// order (the data behind `best_play`, for uplift curves and the team's own targeting).
pub fn play_effects(list: &ScoredList, report: &PropensityReport, ds: &Dataset) -> Vec<PlayEffect> {
    let at = scoring_positions(report, ds);
    let mut out = Vec::new();
    for s in &list.rows {
        let Some(&k) = at.get(s.account_id.as_str()) else {
            continue;
        };
        for e in report
            .effects
            .iter()
            .filter(|e| !e.scoring_effects.is_empty())
        {
            out.push(PlayEffect {
                account_id: s.account_id.clone(),
                play: e.treatment.clone(),
                effect: e.scoring_effects[k],
                arr: s.arr,
                supported: e.supported(),
            });
        }
    }
    out
}

/// [`play_effects`] as `play_effects.csv`.
pub fn play_effects_table(rows: &[PlayEffect]) -> Table {
    let str_col =
        |g: &dyn Fn(&PlayEffect) -> String| Column::Str(rows.iter().map(|x| Some(g(x))).collect());
    Table::new()
        .with("account_id", str_col(&|x| x.account_id.clone()))
        .with("play", str_col(&|x| x.play.clone()))
        .with_rounded(
            "estimated_effect",
            Column::Float(rows.iter().map(|x| Some(x.effect)).collect()),
            6,
        )
        .with("arr", Column::Float(rows.iter().map(|x| x.arr).collect()))
        .with_rounded(
            "expected_arr_saved",
            Column::Float(rows.iter().map(|x| x.arr.map(|a| -x.effect * a)).collect()),
            2,
        )
        .with(
            "supported",
            Column::Bool(rows.iter().map(|x| Some(x.supported)).collect()),
        )
}

/// The budget table as `play_budget.csv`.
pub fn budget_table(b: &[BudgetRow]) -> Table {
    let f = |g: &dyn Fn(&BudgetRow) -> f64| Column::Float(b.iter().map(|x| Some(g(x))).collect());
    Table::new()
        .with(
            "play",
            Column::Str(b.iter().map(|x| Some(x.play.clone())).collect()),
        )
        .with(
            "accounts",
            Column::Int(b.iter().map(|x| Some(x.accounts as i64)).collect()),
        )
        .with_rounded("arr_saved_by_effect", f(&|x| x.by_effect.value), 0)
        .with_rounded("arr_saved_by_effect_ci_low", f(&|x| x.by_effect.ci.0), 0)
        .with_rounded("arr_saved_by_effect_ci_high", f(&|x| x.by_effect.ci.1), 0)
        .with_rounded("arr_saved_by_list", f(&|x| x.by_list.value), 0)
        .with_rounded("arr_saved_by_list_ci_low", f(&|x| x.by_list.ci.0), 0)
        .with_rounded("arr_saved_by_list_ci_high", f(&|x| x.by_list.ci.1), 0)
}
