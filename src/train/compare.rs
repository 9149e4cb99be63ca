//! Challenger against champion: before a retrained model replaces the one in production,
//! both score the same out-of-time rows and the promotion rule decides.
//!
//! - The rows are the new run's test rows dated after the previous model's training
//!   window, when there are such rows. The new champion's chosen model is refitted on the
//!   labelled rows up to the end of that window, so both models learned from the same
//!   dates and neither saw these labels: the comparison measures the new method (family,
//!   parameters, features), not the extra months of data, which cannot be judged until
//!   newer labels exist.
//! - Otherwise (two runs on the same data) every test row is used, the challenger's side
//!   is its held-out test probabilities, and the comparison says the champion saw these
//!   labels, which favours it.
//! - The interval of the difference in ROC-AUC is a paired bootstrap over accounts: each
//!   draw resamples whole accounts with replacement and scores both models on the same
//!   draw, so the noise both share cancels.
//! - The rule ([`RULE`]): promote when the interval's lower bound is above
//!   [`MIN_AUC_DELTA`] and the calibration error has not worsened by more than
//!   [`MAX_CALIBRATION_WORSENING`].

use rayon::prelude::*;

use crate::common::rng::Rng;
use crate::common::stats::percentile_ci;
use crate::features::dataset::Dataset;
use crate::model::Family;
use crate::train::artifact::ModelDir;
pub use crate::train::comparison::{
    Comparison, DRAWS, MAX_CALIBRATION_WORSENING, MIN_AUC_DELTA, RULE, Side,
};
use crate::train::metrics::{self, Metrics};

/// Refits the challenger's chosen model on the labelled rows dated up to a day (days since
/// 1970-01-01) and scores the given rows.
pub type RefitUntil<'a> = &'a (dyn Fn(i32, &[usize]) -> crate::error::Result<Vec<f64>> + Sync);

/// What the challenger brings: its held-out probabilities on the test rows.
pub struct Challenger<'a> {
    pub run_id: &'a str,
    pub family: Family,
    pub horizon_days: i64,
    /// Every feature this run computed (a challenger trained on fewer features is still
    /// compared with a champion that uses more).
    pub ds: &'a Dataset,
    pub test_rows: &'a [usize],
    pub test_proba: &'a [f64],
    /// The challenger's chosen model refitted on the champion's dates.
    pub refit_until: RefitUntil<'a>,
}

/// Compares the challenger with the previous model `champion` and applies [`RULE`].
pub fn compare(ch: &Challenger<'_>, champion: &ModelDir, seed: u64) -> Comparison {
    let y_all = ch.ds.labels(ch.test_rows);
    let m_new_all = Metrics::compute(&y_all, ch.test_proba, ch.ds.arr_of(ch.test_rows).as_deref());
    let base = Comparison {
        champion_path: champion.path.display().to_string(),
        champion_run_id: champion.manifest.run_id.clone(),
        rows_basis: format!("the {} test rows of this run", ch.test_rows.len()),
        rows: ch.test_rows.len(),
        positives: m_new_all.positives,
        champion_in_sample: false,
        challenger: Side::new(ch.run_id, ch.family, &m_new_all),
        champion: None,
        auc_difference: None,
        auc_difference_interval: None,
        draws: 0,
        not_compared: None,
        promoted: true,
        rule: RULE.to_string(),
        decision: String::new(),
    };
    let replace = |why: String| Comparison {
        decision: format!(
            "promoted: the champion {} cannot score this data ({why}), so the challenger replaces it",
            champion.manifest.run_id
        ),
        not_compared: Some(why),
        ..base.clone()
    };
    if champion.manifest.horizon_days != ch.horizon_days {
        return replace(format!(
            "it predicts churn within {} days, this run within {}",
            champion.manifest.horizon_days, ch.horizon_days
        ));
    }
    let pipe = match champion.champion() {
        Ok(p) => p,
        Err(e) => return replace(e.to_string()),
    };
    if let Err(e) = pipe.prep.check_schema(ch.ds) {
        return replace(e.to_string());
    }
    let (pos, basis, in_sample, refit_at) = comparison_rows(ch, champion, &y_all);
    let rows: Vec<usize> = pos.iter().map(|&k| ch.test_rows[k]).collect();
    let y: Vec<f64> = pos.iter().map(|&k| y_all[k]).collect();
    let p_new: Vec<f64> = match refit_at {
        Some(end) => match (ch.refit_until)(end, &rows) {
            Ok(p) => p,
            Err(e) => {
                return Comparison {
                    promoted: false,
                    decision: format!(
                        "not promoted: the challenger could not be refitted on the champion's dates ({e}); {} stays in production",
                        champion.manifest.run_id
                    ),
                    not_compared: Some(e.to_string()),
                    ..base
                };
            }
        },
        None => pos.iter().map(|&k| ch.test_proba[k]).collect(),
    };
    let p_old = match pipe.predict(ch.ds, &rows) {
        Ok(p) => p,
        Err(e) => return replace(e.to_string()),
    };
    let arr = ch.ds.arr_of(&rows);
    let m_new = Metrics::compute(&y, &p_new, arr.as_deref());
    let m_old = Metrics::compute(&y, &p_old, arr.as_deref());
    let groups: Vec<u32> = rows.iter().map(|&i| ch.ds.group[i]).collect();
    let weights = group_draws(&groups, DRAWS, seed ^ 0xc0ba);
    let diffs = paired_auc_differences(&y, &p_new, &p_old, &weights);
    let interval = percentile_ci(diffs);
    let interval = (interval.0.is_finite()).then_some(interval);
    let difference = m_new.roc_auc.zip(m_old.roc_auc).map(|(a, b)| a - b);
    let (promoted, why) = decide(interval, m_new.calibration_error, m_old.calibration_error);
    let decision = if promoted {
        format!(
            "promoted: {} replaces {} ({why})",
            ch.run_id, champion.manifest.run_id
        )
    } else {
        format!(
            "not promoted: {} stays in production ({why})",
            champion.manifest.run_id
        )
    };
    Comparison {
        rows_basis: basis,
        rows: rows.len(),
        positives: m_new.positives,
        champion_in_sample: in_sample,
        challenger: Side::new(ch.run_id, ch.family, &m_new),
        champion: Some(Side::new(
            &champion.manifest.run_id,
            champion.manifest.champion,
            &m_old,
        )),
        auc_difference: difference,
        auc_difference_interval: interval,
        draws: DRAWS,
        promoted,
        decision,
        ..base
    }
}

/// The test rows (positions in `ch.test_rows`) the two models are compared on, in words,
/// whether the champion saw their labels, and the date to refit the challenger up to:
/// the rows after the champion's training window when they hold both classes (the
/// challenger then refitted on the rows up to its end), else every test row.
fn comparison_rows(
    ch: &Challenger<'_>,
    champion: &ModelDir,
    y_all: &[f64],
) -> (Vec<usize>, String, bool, Option<i32>) {
    // Rows after the champion's training window, when they hold both classes.
    let window_end = champion
        .manifest
        .data_window
        .as_ref()
        .and_then(|w| crate::common::dates::parse_date(&w.1))
        .map(crate::common::dates::to_days);
    let times = ch.ds.time.as_deref();
    let unseen: Vec<usize> = match (window_end, times) {
        (Some(end), Some(t)) => (0..ch.test_rows.len())
            .filter(|&k| t[ch.test_rows[k]] > end)
            .collect(),
        _ => Vec::new(),
    };
    let both_classes = |pos: &[usize]| {
        let k = pos.iter().filter(|&&k| y_all[k] > 0.5).count();
        k > 0 && k < pos.len()
    };
    let refit_at = window_end.filter(|_| both_classes(&unseen));
    let (pos, basis, in_sample) = match refit_at {
        Some(_) => {
            let end = champion
                .manifest
                .data_window
                .as_ref()
                .map(|w| w.1.as_str())
                .unwrap_or("");
            (
                unseen,
                format!(
                    "the test rows dated after the champion's training window (it ends {end}), with the challenger refitted on the rows up to {end}: both learned from the same dates and neither saw these labels"
                ),
                false,
            )
        }
        None => {
            let overlap = match (window_end, times) {
                (Some(end), Some(t)) => ch.test_rows.iter().any(|&i| t[i] <= end),
                // A champion without a recorded window may have seen anything.
                _ => true,
            };
            let basis = if overlap {
                "every test row of this run; the champion was trained on their labels, so its figures are optimistic and the comparison favours it".to_string()
            } else {
                format!("the {} test rows of this run", ch.test_rows.len())
            };
            ((0..ch.test_rows.len()).collect(), basis, overlap)
        }
    };
    (pos, basis, in_sample, refit_at)
}

/// [`RULE`] on a scored comparison: whether the challenger is promoted, and why. The
/// calibration margin allows for rounding (0.26 - 0.25 is 0.010000000000000009 in
/// floating point, and exactly 0.01 worse is allowed).
pub fn decide(interval: Option<(f64, f64)>, cal_new: f64, cal_old: f64) -> (bool, String) {
    let cal_worse = cal_new - cal_old;
    match interval {
        None => (
            false,
            "the compared rows do not give an interval (one class only)".to_string(),
        ),
        Some((lo, _)) if lo <= MIN_AUC_DELTA => (
            false,
            format!("the interval's lower bound {lo:+.4} is not above {MIN_AUC_DELTA}"),
        ),
        Some(_) if cal_worse > MAX_CALIBRATION_WORSENING + 1e-12 => (
            false,
            format!(
                "its calibration error is {cal_worse:.4} above the champion's (allowed {MAX_CALIBRATION_WORSENING})"
            ),
        ),
        Some((lo, hi)) => (
            true,
            format!(
                "AUC difference interval {lo:+.4} to {hi:+.4}, calibration error {cal_new:.4} vs {cal_old:.4}"
            ),
        ),
    }
}

/// `draws` bootstrap draws over groups: each draw picks as many groups as there are, with
/// replacement, and gives every row the number of times its group was picked. Draw `b`
/// uses its own seeded stream, so the draws do not depend on the thread count.
pub fn group_draws(groups: &[u32], draws: usize, seed: u64) -> Vec<Vec<u32>> {
    let mut ids: Vec<u32> = groups.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let slot = |g: u32| ids.binary_search(&g).unwrap_or(0);
    let row_slot: Vec<usize> = groups.iter().map(|&g| slot(g)).collect();
    (0..draws)
        .into_par_iter()
        .map(|b| {
            let mut rng = Rng::stream(seed, b as u64);
            let mut picked = vec![0u32; ids.len()];
            for _ in 0..ids.len() {
                picked[rng.below(ids.len() as u64) as usize] += 1;
            }
            row_slot.iter().map(|&s| picked[s]).collect()
        })
        .collect()
}

/// AUC(`p_new`) - AUC(`p_old`) on each draw of row multiplicities (draws where one class
/// is missing are skipped).
pub fn paired_auc_differences(
    y: &[f64],
    p_new: &[f64],
    p_old: &[f64],
    draws: &[Vec<u32>],
) -> Vec<f64> {
    let (o_new, o_old) = (metrics::order_desc(p_new), metrics::order_desc(p_old));
    draws
        .par_iter()
        .filter_map(|w| {
            let a = metrics::weighted_roc_auc(&o_new, y, p_new, w)?;
            let b = metrics::weighted_roc_auc(&o_old, y, p_old, w)?;
            Some(a - b)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand computation. Rows (label, challenger, champion):
    /// r0 (1, .9, .4), r1 (0, .2, .6) of account A; r2 (1, .7, .8), r3 (0, .3, .1) of B.
    ///
    /// Draw "A twice": rows r0, r1 twice each. Challenger: .9 > .2, AUC 1. Champion:
    /// .4 < .6, AUC 0. Difference 1.
    /// Draw "A and B once": challenger pairs (pos, neg) .9>.2 .9>.3 .7>.2 .7>.3: AUC 1.
    /// Champion: .4<.6, .4>.1, .8>.6, .8>.1: 3/4. Difference 0.25.
    /// Draw "B twice": challenger .7 > .3, champion .8 > .1: both 1, difference 0.
    #[test]
    fn the_promotion_rule_at_its_boundaries() {
        let ok = |lo: f64, cal_new: f64, cal_old: f64| decide(Some((lo, 0.05)), cal_new, cal_old).0;
        // The lower bound must be above -0.01: exactly -0.01 is not.
        assert!(!ok(-0.01, 0.02, 0.02));
        assert!(ok(-0.0099, 0.02, 0.02));
        assert!(!ok(-0.0101, 0.02, 0.02));
        // Calibration at most 0.01 worse: exactly 0.01 worse passes, a hair more does not.
        assert!(ok(0.0, 0.26, 0.25));
        assert!(ok(0.0, 0.035, 0.025));
        assert!(!ok(0.0, 0.2601, 0.25));
        // Better calibration never blocks.
        assert!(ok(0.0, 0.01, 0.25));
        // No interval (one class only): not promoted, and said so.
        let (p, why) = decide(None, 0.01, 0.02);
        assert!(!p && why.contains("one class only"), "{why}");
        let (_, why) = decide(Some((-0.02, 0.01)), 0.01, 0.02);
        assert!(why.contains("-0.0200 is not above -0.01"), "{why}");
    }

    #[test]
    fn paired_differences_match_a_hand_computation() {
        let y = [1.0, 0.0, 1.0, 0.0];
        let p_new = [0.9, 0.2, 0.7, 0.3];
        let p_old = [0.4, 0.6, 0.8, 0.1];
        let draws = vec![vec![2, 2, 0, 0], vec![1, 1, 1, 1], vec![0, 0, 2, 2]];
        assert_eq!(
            paired_auc_differences(&y, &p_new, &p_old, &draws),
            vec![1.0, 0.25, 0.0]
        );
        // A draw with one class only is skipped.
        assert!(paired_auc_differences(&y, &p_new, &p_old, &[vec![1, 0, 1, 0]]).is_empty());
    }

    /// Weighted AUC equals the plain AUC of the expanded sample (ties included).
    #[test]
    fn weighted_auc_equals_auc_of_the_repeated_rows() {
        let y = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0];
        let p = [0.5, 0.5, 0.3, 0.9, 0.8, 0.1];
        let w = [3u32, 1, 0, 2, 1, 4];
        let (mut ye, mut pe) = (Vec::new(), Vec::new());
        for i in 0..6 {
            for _ in 0..w[i] {
                ye.push(y[i]);
                pe.push(p[i]);
            }
        }
        let order = metrics::order_desc(&p);
        let a = metrics::weighted_roc_auc(&order, &y, &p, &w).unwrap();
        assert!((a - metrics::roc_auc(&ye, &pe).unwrap()).abs() < 1e-12);
    }

    /// Every draw picks as many accounts as there are; rows of one account share a count.
    #[test]
    fn group_draws_resample_whole_accounts() {
        let groups = [7, 7, 3, 9, 9, 9];
        let draws = group_draws(&groups, 50, 1);
        for w in &draws {
            assert_eq!(w[0], w[1]);
            assert_eq!(w[3], w[5]);
            assert_eq!(w[0] + w[2] + w[3], 3);
        }
        assert_eq!(draws, group_draws(&groups, 50, 1));
    }
}
