//! The hidden truth: what the oracle knew at each month start (the churn probability
//! and what each play would change), the realised effect of each month's plays, and the
//! files of `truth/` that are not tables. A renewal's odds themselves are in `odds`.

use std::path::Path;

use chrono::{Duration, NaiveDate};

use super::account::{Account, Month};
use super::config::SimConfig;
use super::odds::{
    DRIVER_WEIGHTS, FIRST_RENEWAL, HORIZON_DAYS, PLAY_EFFECT_DAYS, PLAY_EFFECTS, TREATMENT_MONTHS,
    play_effect, renewal_logit,
};
use super::rows::{PlayTally, TruthMonth};
use crate::common::dates::add_months;
use crate::common::math::sigmoid;
use crate::error::Result;
use crate::input::io::write_atomic;

/// Whether a play on day `d` treats the month starting `ms`: it falls in the month
/// before.
pub(super) fn treated_at(d: NaiveDate, ms: NaiveDate) -> bool {
    d < ms && d >= add_months(ms, -TREATMENT_MONTHS)
}

/// The realised effect of each month's window plays (`caused_90d`), per month start: the
/// change in the probability of churning at the horizon's renewals had the plays of a
/// kind run in the window before the month start not been run, every other play the
/// CSMs ran up to each renewal kept (a later play of the same kind covers the renewal
/// anyway), with the renewal's logit as it was when decided (the account's state moved
/// on after the month start) or, for a renewal never reached, as known at the month
/// start. Onboarding's counterfactual also takes away what it did to adoption and, through
/// adoption, to sentiment (`State::unonboarded`).
pub(super) fn realised_effects(
    plays: &[(NaiveDate, usize)],
    months: &[NaiveDate],
    pending: &[Vec<(NaiveDate, [f64; 2])>],
    decided: &[(NaiveDate, [f64; 2])],
) -> Vec<[f64; 6]> {
    months
        .iter()
        .zip(pending)
        .map(|(&ms, renewals)| {
            let in_window = |d: NaiveDate| treated_at(d, ms);
            let p_churn = |which: usize, skip: &dyn Fn(NaiveDate, usize) -> bool| {
                1.0 - renewals
                    .iter()
                    .map(|(e, z_then)| {
                        let z0 = decided
                            .iter()
                            .find(|(d, _)| d == e)
                            .map_or(z_then[which], |(_, z)| z[which]);
                        1.0 - sigmoid(z0 + play_effect(plays, *e, *e, skip))
                    })
                    .product::<f64>()
            };
            let with = p_churn(0, &|_, _| false);
            std::array::from_fn(|p| {
                if plays.iter().any(|(d, k)| *k == p && in_window(*d)) {
                    with - p_churn(usize::from(p == 0), &|d, k| k == p && in_window(d))
                } else {
                    0.0
                }
            })
        })
        .collect()
}

impl Account<'_> {
    /// The truth at the month start `mo.start` for an account live before it: the risk
    /// drivers, the oracle's probability of churning within the horizon, each play's
    /// effect had it been run then, and the horizon's renewals for
    /// [`Account::settle_truth`].
    pub(super) fn record_truth(&mut self, mo: &Month) {
        let (seg, monthly, tm, ms) = (self.f.seg, self.f.monthly, self.f.tm, mo.start);
        let st = &self.st;
        let risks = st.risks(ms);
        for (k, r) in risks.iter().enumerate() {
            self.out.risk_sums[k].0 += r;
            self.out.risk_sums[k].1 += r * r;
        }
        let horizon_end = ms + Duration::days(HORIZON_DAYS);
        let mut decisions = Vec::new();
        let mut e = self.terms.end;
        while e < horizon_end && e >= ms - Duration::days(1) {
            if e >= ms {
                decisions.push((e, st.renewals as usize + decisions.len() == 0));
            }
            let s = e + Duration::days(1);
            e = add_months(s, tm) - Duration::days(1);
        }
        let p_with = |skip: &dyn Fn(NaiveDate, usize) -> bool| {
            1.0 - decisions
                .iter()
                .map(|(e, first)| {
                    let z =
                        renewal_logit(seg, monthly, &risks, *first) + st.play_effect(*e, ms, skip);
                    1.0 - sigmoid(z)
                })
                .product::<f64>()
        };
        let p90 = p_with(&|_, _| false);
        // The same renewals with play `p` run at the month start as well.
        let p_added = |p: usize| {
            1.0 - decisions
                .iter()
                .map(|(e, first)| {
                    let on = st.play_effect(*e, ms, |_, _| false);
                    let active = st.plays.iter().any(|(d, k)| {
                        *k == p && *d <= ms && (*e - *d).num_days() <= PLAY_EFFECT_DAYS
                    });
                    let extra = if active { 0.0 } else { PLAY_EFFECTS[p].1 };
                    1.0 - sigmoid(renewal_logit(seg, monthly, &risks, *first) + on + extra)
                })
                .product::<f64>()
        };
        let play_effect_90d: [f64; 6] = std::array::from_fn(|p| p_added(p) - p90);
        // The renewals of the horizon with their logits as known at `ms`; the realised
        // effect of the window's plays is worked out once the account's story is told.
        let unonboarded = st.risks_unonboarded(ms);
        self.pending.push(
            decisions
                .iter()
                .map(|(e, first)| {
                    (
                        *e,
                        [
                            renewal_logit(seg, monthly, &risks, *first),
                            renewal_logit(seg, monthly, &unonboarded, *first),
                        ],
                    )
                })
                .collect(),
        );
        self.out.truth.push(TruthMonth {
            date: ms,
            p90,
            play_effect_90d,
            caused_90d: [0.0; 6],
            risks,
            renewal_in_horizon: !decisions.is_empty(),
        });
    }

    /// The realised effect of each truth month's window plays, and its tally.
    pub(super) fn settle_truth(&mut self) {
        let plays = &self.st.plays;
        let months: Vec<NaiveDate> = self.out.truth.iter().map(|m| m.date).collect();
        let caused = realised_effects(plays, &months, &self.pending, &self.decided);
        for (m, caused) in self.out.truth.iter_mut().zip(caused) {
            for (p, &c) in caused.iter().enumerate() {
                if plays.iter().any(|(d, k)| *k == p && treated_at(*d, m.date)) {
                    self.out.tally.treated[p] += 1;
                    self.out.tally.att_sum[p] += c;
                }
            }
            m.caused_90d = caused;
        }
    }
}

/// The truth's files that are not tables: `driver_weights.csv` (with each driver's spread
/// over the `risk_n` account-months, from `risk_sums`), `play_effects.csv`,
/// `simulation.json` and `README.md`.
pub(super) fn write_files(
    dir: &Path,
    cfg: &SimConfig,
    tally: &PlayTally,
    risk_sums: &[(f64, f64); 5],
    risk_n: usize,
    churned: usize,
) -> Result<()> {
    let n = risk_n.max(1) as f64;
    let mut drivers = String::from("component,weight,risk_mean,risk_std,importance,definition\n");
    for (k, (name, w, def)) in DRIVER_WEIGHTS.iter().enumerate() {
        let mean = risk_sums[k].0 / n;
        let sd = (risk_sums[k].1 / n - mean * mean).max(0.0).sqrt();
        drivers.push_str(&format!(
            "{name},{w},{mean:.4},{sd:.4},{:.4},\"{def}\"\n",
            w * sd
        ));
    }
    write_atomic(&dir.join("driver_weights.csv"), drivers.as_bytes())?;
    let mut plays =
        String::from("play,log_odds_effect,effect_days,treated_account_months,att_churn_90d\n");
    for (k, (name, eff)) in PLAY_EFFECTS.iter().enumerate() {
        let att = if tally.treated[k] > 0 {
            tally.att_sum[k] / tally.treated[k] as f64
        } else {
            f64::NAN
        };
        plays.push_str(&format!(
            "{name},{eff},{PLAY_EFFECT_DAYS},{},{att:.6}\n",
            tally.treated[k]
        ));
    }
    write_atomic(&dir.join("play_effects.csv"), plays.as_bytes())?;
    let meta = serde_json::json!({
        "accounts": cfg.accounts,
        "months": cfg.months,
        "start": cfg.start.to_string(),
        "data_end": add_months(cfg.start, cfg.months as i32).to_string(),
        "seed": cfg.seed,
        "grain": cfg.grain,
        "horizon_days": HORIZON_DAYS,
        "first_renewal_log_odds": FIRST_RENEWAL,
        "churned_accounts": churned,
        "generator": format!("churnlab {}", env!("CARGO_PKG_VERSION")),
    });
    let meta = serde_json::to_string_pretty(&meta).unwrap_or_default();
    write_atomic(&dir.join("simulation.json"), meta.as_bytes())?;
    write_atomic(&dir.join("README.md"), TRUTH_README.as_bytes())
}

const TRUTH_README: &str = "# Ground truth of a simulated book\n\n\
Written by `churnlab simulate`; never read by the pipeline. Tests use it to check what the\n\
pipeline recovers.\n\n\
- `driver_weights.csv`: the log-odds of churning at a renewal per unit of each latent risk\n  \
driver, how each driver is defined, and its spread over account-months (importance =\n  \
weight x std).\n\
- `play_effects.csv`: the true direct effect of each CS play on the renewal log-odds for\n  \
renewals within `effect_days` after it, and the realised ATT: over account-months with the\n  \
play in the month before the month start, the mean change in the probability of churning\n  \
within 90 days that those plays caused (negative = fewer churns), as things turned out: at\n  \
each renewal's logit when it was decided, with every later play kept; onboarding's\n  \
includes what it did to adoption and, through adoption, to sentiment.\n\
- `account_months`: per account and month start (snapshot date), the probability of churning\n  \
within the next 90 days implied by the latent state at that date (the oracle), whether a\n  \
renewal falls in that window, the change in that probability had each play been run on\n  \
that date (`effect_<play>_90d`, negative = fewer churns; 0 when one is in effect already),\n  \
the realised effect of the plays run in the month before (`caused_<play>_90d`, as in\n  \
`play_effects.csv`; 0 without one) and the five standardised risk drivers.\n\
- `accounts`: each account's latent fit, churn date and the driver that contributed most.\n\
- `events`: injected problems: sponsor_left, champion_left, usage_collapse, ticket_storm,\n  \
payment_distress.\n\
- `simulation.json`: the settings.\n";

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// A hand-built account: onboarding, an EBR and training in February, another EBR
    /// before the April renewal. The March truth: the window's EBR did nothing (the April
    /// EBR covers the renewal), training and onboarding did (onboarding through its
    /// worse logit without it, -0.5 against -1.0, and its own -0.40). June has no play in
    /// its window: nothing caused.
    #[test]
    fn realised_effects_by_hand() {
        let plays = vec![
            (day("2025-02-05"), 0),
            (day("2025-02-10"), 2),
            (day("2025-02-20"), 3),
            (day("2025-04-01"), 2),
        ];
        let months = [day("2025-03-01"), day("2025-06-01")];
        let renewal = day("2025-04-15");
        // Known at the month start: -3 (never used: the renewal was decided at -1.0).
        let pending = vec![vec![(renewal, [-3.0, -3.0])], vec![]];
        let decided = vec![(renewal, [-1.0, -0.5])];
        let got = realised_effects(&plays, &months, &pending, &decided);
        let with = sigmoid(-1.0 - 0.40 - 0.45 - 0.30);
        let want = [
            with - sigmoid(-0.5 - 0.45 - 0.30),
            0.0,
            0.0,
            with - sigmoid(-1.0 - 0.40 - 0.45),
            0.0,
            0.0,
        ];
        for p in 0..6 {
            assert!((got[0][p] - want[p]).abs() < 1e-12, "{p}: {:?}", got[0]);
        }
        assert_eq!(got[1], [0.0; 6]);
        assert!(treated_at(day("2025-02-01"), months[0]));
        assert!(!treated_at(day("2025-01-31"), months[0]));
        assert!(!treated_at(months[0], months[0]));
    }
}
