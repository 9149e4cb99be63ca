//! The CSMs' plays, assigned on what a CSM can see (so confounded with risk): onboarding
//! for new accounts, quarterly business reviews for high-touch accounts, and EBRs,
//! training, success plans and executive outreach for accounts in visible trouble, large
//! ones and those whose renewal is coming up.

use super::account::{Account, Month, weekday_in};
use super::rows::ActivityRow;
use crate::common::math::sigmoid;

impl Account<'_> {
    /// The month's plays.
    pub(super) fn run_plays(&mut self, mo: &Month) {
        let (seg, st) = (self.f.seg, &self.st);
        let trouble = 0.8 * f64::from(st.adoption < 0.35)
            + 1.0 * f64::from(mo.recent(st.last_storm, 60))
            + 0.8 * f64::from(st.last_nps.is_some_and(|s| s <= 6))
            + 1.0 * f64::from(mo.recent(st.sponsor_left, 90))
            + 0.5 * f64::from(st.late_invoice);
        let arr_now = self.terms.seats * self.terms.price;
        // CSMs work the accounts whose renewal is coming up.
        let renewal_soon = f64::from((self.terms.end - mo.start).num_days() <= 120);
        let sponsor_left = mo.recent(st.sponsor_left, 90);
        let low_adoption = st.adoption < 0.4;
        if mo.m == self.f.first_month && !self.f.initial && self.rng.bernoulli(seg.onboarding_prob)
        {
            self.play(mo, 0);
            self.st.unonboarded = Some((self.st.adoption, self.st.sentiment));
        }
        if seg.touch >= 0.5
            && (mo.m + self.idx as i32) % 3 == 0
            && self.rng.bernoulli(0.45 + 0.35 * seg.touch)
        {
            self.play(mo, 1);
        }
        if self.rng.bernoulli(sigmoid(
            -5.0 + 1.0 * seg.touch
                + 0.6 * (arr_now / 30_000.0).ln()
                + 0.9 * trouble
                + 1.0 * renewal_soon,
        )) {
            self.play(mo, 2);
        }
        if self.rng.bernoulli(sigmoid(
            -3.6 + 1.3 * f64::from(low_adoption) + 0.5 * seg.touch + 0.4 * trouble,
        )) {
            self.play(mo, 3);
        }
        if self.rng.bernoulli(sigmoid(
            -5.0 + 1.5 * trouble + 0.8 * seg.touch + 1.0 * renewal_soon,
        )) {
            self.play(mo, 4);
        }
        if self.rng.bernoulli(sigmoid(
            -4.5 + 2.6 * f64::from(sponsor_left)
                + 0.5 * trouble
                + 0.5 * seg.touch
                + 0.7 * renewal_soon,
        )) {
            self.play(mo, 5);
        }
    }

    /// Play `p` on a weekday of the month.
    fn play(&mut self, mo: &Month, p: usize) {
        let d = weekday_in(&mut self.rng, mo.lo, mo.end);
        self.out.activities.push(ActivityRow {
            date: d,
            play: p as u8,
        });
        self.st.plays.push((d, p));
    }
}
