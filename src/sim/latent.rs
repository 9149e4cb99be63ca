//! The latent state behind the tables: adoption, support pain, sentiment, relationship
//! and commercial distress, the plays run so far, and the five risk drivers read from it.

use chrono::NaiveDate;

use super::odds::play_effect;
use crate::common::math::sigmoid;
use crate::common::rng::Rng;

#[derive(Default)]
pub(super) struct State {
    pub(super) adoption: f64,
    pub(super) pain: f64,
    pub(super) sentiment: f64,
    pub(super) distress: f64,
    pub(super) distress_base: f64,
    pub(super) sponsor: Option<usize>,
    pub(super) champion: Option<usize>,
    pub(super) sponsor_left: Option<NaiveDate>,
    pub(super) champion_left: Option<NaiveDate>,
    pub(super) had_sponsor: bool,
    pub(super) collapse_until: Option<NaiveDate>,
    pub(super) last_storm: Option<NaiveDate>,
    pub(super) last_nps: Option<u8>,
    pub(super) late_invoice: bool,
    pub(super) plays: Vec<(NaiveDate, usize)>,
    pub(super) renewals: u32,
    /// For an onboarded account, its adoption and sentiment had it not been onboarded
    /// (the same noise, the slower ramp and lower target): the truth's counterfactual
    /// of onboarding's effect through adoption.
    pub(super) unonboarded: Option<(f64, f64)>,
}

impl State {
    pub(super) fn relationship(&self, t: NaiveDate) -> f64 {
        let decay = |d: Option<NaiveDate>, scale: f64| {
            d.map(|d| {
                let months = (t - d).num_days() as f64 / 30.4;
                if months < 0.0 {
                    0.0
                } else {
                    scale * (-months / 5.0).exp()
                }
            })
            .unwrap_or(0.0)
        };
        let no_sponsor = if self.sponsor.is_none() { 0.6 } else { 0.0 };
        decay(self.sponsor_left, 1.6) + decay(self.champion_left, 1.0) + no_sponsor
    }

    /// The five standardised risk drivers at day `t`, in DRIVER_WEIGHTS order.
    pub(super) fn risks(&self, t: NaiveDate) -> [f64; 5] {
        self.risks_with(t, self.adoption, self.sentiment)
    }

    /// The risks had the account not been onboarded (the same as `risks` for one that
    /// was not).
    pub(super) fn risks_unonboarded(&self, t: NaiveDate) -> [f64; 5] {
        let (a, s) = self.unonboarded.unwrap_or((self.adoption, self.sentiment));
        self.risks_with(t, a, s)
    }

    fn risks_with(&self, t: NaiveDate, adoption: f64, sentiment: f64) -> [f64; 5] {
        [
            (0.59 - adoption) / 0.22,
            (self.relationship(t) - 0.36) / 0.45,
            (self.pain - 0.30) / 0.45,
            -(sentiment + 0.07) / 1.16,
            (self.distress - 0.23) / 0.315,
        ]
    }

    /// Sum of play effects active for a renewal on day `e` (plays of one kind do not
    /// add up), leaving out the plays `skip` says (by date and kind).
    pub(super) fn play_effect(
        &self,
        e: NaiveDate,
        known_by: NaiveDate,
        skip: impl Fn(NaiveDate, usize) -> bool,
    ) -> f64 {
        play_effect(&self.plays, e, known_by, skip)
    }
}

impl State {
    /// The state of a new account (or of one live at the start: already adopted as its
    /// fit says), with `contracts` terms behind it.
    pub(super) fn draw(initial: bool, fit: f64, contracts: u32, rng: &mut Rng) -> State {
        let mut st = State {
            adoption: if initial {
                (sigmoid(0.6 + 1.1 * fit) + rng.gauss(0.0, 0.08)).clamp(0.03, 0.97)
            } else {
                0.08
            },
            pain: 0.15,
            sentiment: 0.0,
            distress: 0.0,
            distress_base: (rng.lognormal(0.15, 0.9) - 0.05).max(0.0),
            renewals: if initial { contracts } else { 0 },
            ..State::default()
        };
        st.distress = st.distress_base;
        st.sentiment = 0.7 * fit + 2.0 * (st.adoption - 0.55) + rng.gauss(0.0, 0.4);
        st
    }
}
