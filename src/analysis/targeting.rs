//! Who a play would help: each account's next best play (the DR-learner's per-account
//! effects times ARR) and the budget table (a window's worth of a play aimed by
//! estimated effect against aimed at the top of the ranked list).

use std::collections::HashMap;

use super::effects::Estimate;
use super::propensity::PropensityReport;
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

/// A play whose headline passed the checks and whose interval lies below zero.
fn supported(e: &super::propensity::Effect) -> bool {
    e.trusted && e.att_dr_ci.1 < 0.0
}

/// Each account's next best play from the propensity analysis' per-account effects
/// (rows `report.scoring_rows` of `ds`). A play counts only when its headline passed
/// the checks and its interval lies below zero; otherwise the rule's suggested play
/// stands, and the basis says so.
pub fn attach_best_plays(list: &mut ScoredList, report: &PropensityReport, ds: &Dataset) {
    let at = scoring_positions(report, ds);
    let usable: Vec<_> = report
        .effects
        .iter()
        .filter(|e| supported(e) && !e.scoring_effects.is_empty())
        .collect();
    for s in &mut list.rows {
        let (Some(&k), Some(arr)) = (at.get(s.account_id.as_str()), s.arr) else {
            continue;
        };
        let best = usable
            .iter()
            .map(|e| (e, (-e.scoring_effects[k]).max(0.0)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        s.best_play = Some(match best {
                Some((e, cut)) if cut > 0.0 => BestPlay {
                    play: Some(e.treatment.clone()),
                    expected_arr_saved: Some(cut * arr),
                    basis: format!(
                        "estimated {:.1} pts less churn within the horizon (DR-learner on this account's features; the play's average effect {:+.1} pts) x ARR",
                        100.0 * cut,
                        100.0 * e.att_dr
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
        if !supported(e) || e.recent_treated == 0 {
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
