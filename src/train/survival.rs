//! Metrics for time to churn on right-censored data: accounts still customers at the end
//! of the data are censored, not "not churned". Each follows scikit-survival's definition
//! (`sksurv.metrics`, version 0.28), and `tests/survival.rs` checks them against values it
//! computed (tests/fixtures/survival_sksurv.py):
//!
//! - [`KaplanMeier`]: the survival function of churn, or of censoring (the weights below);
//! - [`uno_concordance`]: Uno's C, concordance weighted by the inverse probability of
//!   censoring (IPCW), optionally truncated at `tau`;
//! - [`cumulative_dynamic_auc`]: the time-dependent ROC-AUC at each horizon (cases churned
//!   by t, IPCW-weighted; controls still customers after t) and its mean over the horizons;
//! - [`brier_scores`] and [`integrated_brier_score`]: squared error of P(still a customer at
//!   t), IPCW-weighted, and its integral over the horizons.
//!
//! The censoring distribution comes from a training sample (`train`), as scikit-survival's
//! `survival_train`: it must be followed at least as long as the test sample.

/// Right-censored times: `event[i]` is true when `time[i]` is a churn, false when the
/// account was last seen, still a customer, at `time[i]`.
#[derive(Clone, Copy, Debug)]
pub struct Surv<'a> {
    pub event: &'a [bool],
    pub time: &'a [f64],
}

impl Surv<'_> {
    fn len(&self) -> usize {
        self.time.len().min(self.event.len())
    }
}

/// Why a survival metric has no value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SurvivalError {
    #[error("no comparable pairs (no churn before the last time, or every weight is zero)")]
    NoPairs,
    #[error(
        "time {0} is past the last time of the censoring sample, where its survival is unknown"
    )]
    PastFollowUp(f64),
    #[error("the censoring distribution is zero at time {0}: nobody was followed that long")]
    NoCensoringMass(f64),
    #[error("no cases or no controls at time {0}")]
    OneClass(f64),
    #[error("at least two horizons are needed, in increasing order")]
    Horizons,
}

/// A Kaplan–Meier step function: `prob[k]` from `times[k]` until the next time.
#[derive(Clone, Debug, PartialEq)]
pub struct KaplanMeier {
    times: Vec<f64>,
    prob: Vec<f64>,
}

impl KaplanMeier {
    /// The survival function of churn.
    pub fn churn(s: Surv<'_>) -> KaplanMeier {
        KaplanMeier::fit(s, false)
    }

    /// The survival function of censoring, G(t) = P(still followed after t): events at a
    /// time are taken to happen before censoring at that time. With no censored account,
    /// 1 everywhere.
    pub fn censoring(s: Surv<'_>) -> KaplanMeier {
        KaplanMeier::fit(s, true)
    }

    fn fit(s: Surv<'_>, reverse: bool) -> KaplanMeier {
        let n = s.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| s.time[a].total_cmp(&s.time[b]));
        let (mut times, mut prob) = (vec![f64::NEG_INFINITY], vec![1.0]);
        let all_events = s.event[..n].iter().all(|&e| e);
        let (mut at_risk, mut i, mut p) = (n, 0, 1.0);
        while i < n {
            let t = s.time[order[i]];
            let (mut events, mut censored) = (0usize, 0usize);
            while i < n && s.time[order[i]] == t {
                if s.event[order[i]] {
                    events += 1;
                } else {
                    censored += 1;
                }
                i += 1;
            }
            let (d, r) = match (reverse, all_events) {
                (false, _) => (events, at_risk),
                (true, true) => (0, at_risk),
                (true, false) => (censored, at_risk - events),
            };
            if d > 0 {
                p *= 1.0 - d as f64 / r as f64;
            }
            times.push(t);
            prob.push(p);
            at_risk -= events + censored;
        }
        KaplanMeier { times, prob }
    }

    /// The function at `t`: its value at the latest time at or before `t`. Past the last
    /// time it is 0 when it reached 0, and unknown (an error) otherwise.
    pub fn at(&self, t: f64) -> Result<f64, SurvivalError> {
        let last = self.times.len() - 1;
        if t > self.times[last] {
            return if self.prob[last] > 0.0 {
                Err(SurvivalError::PastFollowUp(t))
            } else {
                Ok(0.0)
            };
        }
        let k = self.times.partition_point(|&x| x <= t);
        Ok(self.prob[k.saturating_sub(1)])
    }

    /// Inverse probability of censoring weights of `s`: 1/G(time) for events, 0 for the
    /// censored (scikit-survival's `predict_ipcw`).
    fn ipcw(&self, s: Surv<'_>) -> Result<Vec<f64>, SurvivalError> {
        (0..s.len())
            .map(|i| {
                if !s.event[i] {
                    return Ok(0.0);
                }
                let g = self.at(s.time[i])?;
                if g == 0.0 {
                    return Err(SurvivalError::NoCensoringMass(s.time[i]));
                }
                Ok(1.0 / g)
            })
            .collect()
    }
}

/// Scores within this of each other are tied (scikit-survival's `tied_tol`).
const TIED_TOL: f64 = 1e-8;

/// Uno's concordance: over pairs where account i churned at `t_i` (before `tau`, when
/// given) and account j was still a customer after `t_i` (or censored at `t_i`), the share
/// in which i had the higher `risk`, ties counting one half, each pair weighted by
/// 1/G(t_i)². O(n log n): accounts enter a Fenwick tree of risk ranks as time runs back.
pub fn uno_concordance(
    train: Surv<'_>,
    test: Surv<'_>,
    risk: &[f64],
    tau: Option<f64>,
) -> Result<f64, SurvivalError> {
    let cens = KaplanMeier::censoring(train);
    let n = test.len().min(risk.len());
    // Each churn's weight 1/G(t)^2 (0 for the censored and for churns at or after tau).
    let w: Vec<f64> = (0..n)
        .map(|i| {
            let (e, t) = (test.event[i], test.time[i]);
            if !e || tau.is_some_and(|tau| t >= tau) {
                return Ok(0.0);
            }
            let g = cens.at(t)?;
            if g == 0.0 {
                return Err(SurvivalError::NoCensoringMass(t));
            }
            Ok(1.0 / (g * g))
        })
        .collect::<Result<_, _>>()?;
    let mut sorted: Vec<f64> = risk[..n].to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = |x: f64| sorted.partition_point(|&v| v < x);
    let mut tree = Fenwick::new(n);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| test.time[b].total_cmp(&test.time[a]));
    let (mut num, mut den, mut pairs) = (0.0, 0.0, 0usize);
    let mut i = 0;
    while i < n {
        let t = test.time[order[i]];
        let end = (i..n).find(|&k| test.time[order[k]] != t).unwrap_or(n);
        let group = &order[i..end];
        // Censored at t are comparable with the churns at t; churns at t with each other not.
        for &j in group.iter().filter(|&&j| !test.event[j]) {
            tree.add(rank(risk[j]));
        }
        for &j in group.iter().filter(|&&j| test.event[j]) {
            let (r, total) = (risk[j], tree.total());
            let below = tree.prefix(rank(r - TIED_TOL));
            let upto = tree.prefix(sorted.partition_point(|&v| v <= r + TIED_TOL));
            let ties = upto - below;
            num += w[j] * (below as f64 + 0.5 * ties as f64);
            den += w[j] * total as f64;
            pairs += total;
        }
        for &j in group.iter().filter(|&&j| test.event[j]) {
            tree.add(rank(risk[j]));
        }
        i = end;
    }
    if pairs == 0 || den == 0.0 {
        return Err(SurvivalError::NoPairs);
    }
    Ok(num / den)
}

/// Counts of ranks, with prefix sums.
struct Fenwick {
    tree: Vec<usize>,
    total: usize,
}

impl Fenwick {
    fn new(n: usize) -> Fenwick {
        Fenwick {
            tree: vec![0; n + 1],
            total: 0,
        }
    }
    fn add(&mut self, rank: usize) {
        let mut k = rank + 1;
        while k < self.tree.len() {
            self.tree[k] += 1;
            k += k & k.wrapping_neg();
        }
        self.total += 1;
    }
    /// How many added ranks are below `rank`.
    fn prefix(&self, rank: usize) -> usize {
        let (mut k, mut s) = (rank.min(self.tree.len() - 1), 0);
        while k > 0 {
            s += self.tree[k];
            k -= k & k.wrapping_neg();
        }
        s
    }
    fn total(&self) -> usize {
        self.total
    }
}

/// The cumulative/dynamic ROC-AUC at each horizon in `times`, with `risk[h]` the risk
/// scores for horizon h (the same slice for a time-fixed score), and the mean over the
/// horizons weighted by the test sample's Kaplan–Meier drop between them (scikit-survival's
/// `cumulative_dynamic_auc`).
pub fn cumulative_dynamic_auc(
    train: Surv<'_>,
    test: Surv<'_>,
    risk: &[&[f64]],
    times: &[f64],
) -> Result<(Vec<f64>, f64), SurvivalError> {
    let ipcw = KaplanMeier::censoring(train).ipcw(test)?;
    let n = test.len();
    let mut scores = Vec::with_capacity(times.len());
    for (&t, est) in times.iter().zip(risk) {
        let mut order: Vec<usize> = (0..n.min(est.len())).collect();
        order.sort_by(|&a, &b| est[b].total_cmp(&est[a]));
        let case = |i: usize| test.event[i] && test.time[i] <= t;
        let all_tp: f64 = order.iter().filter(|&&i| case(i)).map(|&i| ipcw[i]).sum();
        let all_fp = order.iter().filter(|&&i| test.time[i] > t).count() as f64;
        if all_tp == 0.0 || all_fp == 0.0 {
            return Err(SurvivalError::OneClass(t));
        }
        let (mut tp, mut fp, mut area) = (0.0, 0.0, 0.0);
        let (mut tp0, mut fp0) = (0.0, 0.0);
        for (k, &i) in order.iter().enumerate() {
            if case(i) {
                tp += ipcw[i];
            } else if test.time[i] > t {
                fp += 1.0;
            }
            // A point of the curve at the last score of each run of tied scores.
            let tied_next = order
                .get(k + 1)
                .is_some_and(|&j| (est[j] - est[i]).abs() <= TIED_TOL);
            if !tied_next {
                let (x, y) = (fp / all_fp, tp / all_tp);
                area += (x - fp0) * (y + tp0) / 2.0;
                (fp0, tp0) = (x, y);
            }
        }
        scores.push(area);
    }
    let mean = if scores.len() == 1 {
        scores[0]
    } else {
        let km = KaplanMeier::churn(test);
        let (mut prev, mut integral) = (1.0, 0.0);
        for (&t, &a) in times.iter().zip(&scores) {
            let s = km.at(t)?;
            integral += a * (prev - s);
            prev = s;
        }
        integral / (1.0 - prev)
    };
    Ok((scores, mean))
}

/// The Brier score at each horizon: `survival[h][i]` is account i's predicted probability
/// of still being a customer after `times[h]`. Churned by t counts (0 - S)² / G(t_i),
/// still a customer after t counts (1 - S)² / G(t), censored before t nothing (Graf et al.
/// 1999; scikit-survival's `brier_score`).
pub fn brier_scores(
    train: Surv<'_>,
    test: Surv<'_>,
    survival: &[&[f64]],
    times: &[f64],
) -> Result<Vec<f64>, SurvivalError> {
    let cens = KaplanMeier::censoring(train);
    let inv = |g: f64| if g == 0.0 { 0.0 } else { 1.0 / g };
    let g_obs: Vec<f64> = (0..test.len())
        .map(|i| cens.at(test.time[i]).map(inv))
        .collect::<Result<_, _>>()?;
    times
        .iter()
        .zip(survival)
        .map(|(&t, s)| {
            let g_t = inv(cens.at(t)?);
            let n = test.len().min(s.len());
            let sum: f64 = (0..n)
                .map(|i| {
                    if test.event[i] && test.time[i] <= t {
                        s[i] * s[i] * g_obs[i]
                    } else if test.time[i] > t {
                        (1.0 - s[i]) * (1.0 - s[i]) * g_t
                    } else {
                        0.0
                    }
                })
                .sum();
            Ok(sum / n as f64)
        })
        .collect()
}

/// The Brier scores' trapezoidal integral over the horizons, divided by their span
/// (scikit-survival's `integrated_brier_score`).
pub fn integrated_brier_score(
    train: Surv<'_>,
    test: Surv<'_>,
    survival: &[&[f64]],
    times: &[f64],
) -> Result<f64, SurvivalError> {
    if times.len() < 2 || times.windows(2).any(|w| w[1] <= w[0]) {
        return Err(SurvivalError::Horizons);
    }
    let b = brier_scores(train, test, survival, times)?;
    let area: f64 = times
        .windows(2)
        .zip(b.windows(2))
        .map(|(t, b)| (t[1] - t[0]) * (b[0] + b[1]) / 2.0)
        .sum();
    Ok(area / (times[times.len() - 1] - times[0]))
}
