//! The latent state behind the tables: adoption, support pain, sentiment, relationship
//! and commercial distress, the five risk drivers read from it, and how it moves each
//! month (ticket storms, usage collapses, payment shocks; adoption ramps towards a target
//! set by fit, onboarding and relationships).

use chrono::NaiveDate;

use super::account::{Account, Facts, Month};
use super::add_months;
use super::truth::play_effect;
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
    pub(super) fn draw(f: &Facts, contracts: u32, rng: &mut Rng) -> State {
        let mut st = State {
            adoption: if f.initial {
                (sigmoid(0.6 + 1.1 * f.fit) + rng.gauss(0.0, 0.08)).clamp(0.03, 0.97)
            } else {
                0.08
            },
            pain: 0.15,
            sentiment: 0.0,
            distress: 0.0,
            distress_base: (rng.lognormal(0.15, 0.9) - 0.05).max(0.0),
            renewals: if f.initial { contracts } else { 0 },
            ..State::default()
        };
        st.distress = st.distress_base;
        st.sentiment = 0.7 * f.fit + 2.0 * (st.adoption - 0.55) + rng.gauss(0.0, 0.4);
        st
    }
}

impl Account<'_> {
    /// The month's latent events: a ticket storm, a usage collapse, a payment shock.
    /// Returns whether a storm began and the shock to distress.
    pub(super) fn latent_events(&mut self, mo: &Month) -> (bool, f64) {
        let (st, rng, out, lo) = (&mut self.st, &mut self.rng, &mut self.out, mo.lo);
        let storm = rng.bernoulli(0.022 + 0.02 * f64::from(self.f.fit < -1.0));
        if storm {
            st.last_storm = Some(lo);
            out.events.push((lo, "ticket_storm"));
        }
        if rng.bernoulli(0.006 + 0.01 * f64::from(st.sentiment < -1.0)) && st.adoption > 0.2 {
            st.adoption *= 0.45;
            st.collapse_until = Some(add_months(mo.start, 4));
            out.events.push((lo, "usage_collapse"));
        }
        let mut shock = 0.0;
        if rng.bernoulli(0.008) {
            shock = rng.uniform(1.0, 2.0);
            out.events.push((lo, "payment_distress"));
        }
        (storm, shock)
    }

    /// The month's update of adoption (towards its target), pain (decaying, up with a
    /// storm), sentiment (an AR(1) of fit, adoption, pain and relationship) and distress;
    /// and of the shadow state without onboarding, with the same noise.
    pub(super) fn update_latent(&mut self, mo: &Month, storm: bool, shock: f64) {
        let (st, rng, f) = (&mut self.st, &mut self.rng, &self.f);
        let onboarded = st.plays.iter().any(|(_, p)| *p == 0);
        let ramp = if f.initial || onboarded { 0.32 } else { 0.18 };
        let collapse = st.collapse_until.is_some_and(|u| mo.start < u);
        let sponsor_gone = mo.recent(st.sponsor_left, 120);
        let no_champion = st.champion.is_none();
        let target_of = |onboarded: bool| {
            (sigmoid(0.6 + 1.1 * f.fit + f.csm_quality)
                - 0.35 * f64::from(collapse)
                - 0.15 * f64::from(sponsor_gone)
                - 0.08 * f64::from(no_champion)
                - 0.08 * f64::from(!f.initial && !onboarded))
            .clamp(0.02, 0.98)
        };
        let target = target_of(onboarded);
        let adoption_noise = rng.gauss(0.0, 0.03);
        let adopt = |a: f64, ramp: f64, target: f64| {
            (a + ramp * (target - a) + adoption_noise).clamp(0.02, 0.98)
        };
        st.adoption = adopt(st.adoption, ramp, target);
        st.pain = (st.pain * 0.8
            + 0.03
            + if storm { rng.uniform(1.5, 2.5) } else { 0.0 }
            + rng.gauss(0.0, 0.03))
        .max(0.0);
        let rel = st.relationship(mo.end);
        let sentiment_noise = rng.gauss(0.0, 0.3);
        let pain = st.pain;
        let feel = |s: f64, a: f64| {
            0.75 * s
                + 0.25 * (0.7 * f.fit + 2.0 * (a - 0.55) - 0.5 * pain - 0.4 * rel)
                + sentiment_noise
        };
        st.sentiment = feel(st.sentiment, st.adoption);
        if let Some((a, s)) = st.unonboarded {
            let a = adopt(a, 0.18, target_of(false));
            st.unonboarded = Some((a, feel(s, a)));
        }
        st.distress =
            (0.85 * st.distress + 0.15 * st.distress_base + shock + rng.gauss(0.0, 0.04)).max(0.0);
    }
}
