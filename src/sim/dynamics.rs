//! How the latent state moves each month: ticket storms, usage collapses and payment
//! shocks; adoption ramping towards a target set by fit, onboarding and relationships;
//! pain decaying; sentiment as an AR(1) of them all; distress reverting to its base.

use super::account::{Account, Month};
use crate::common::dates::add_months;
use crate::common::math::sigmoid;

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
