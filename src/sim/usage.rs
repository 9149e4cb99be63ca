//! Product usage: each month a share of seats is active (as adoption says); each active
//! user uses each feature with a probability that grows with adoption (the sticky ones
//! only in well-adopted accounts), on a number of days and with a number of events that
//! grow with adoption too, written at the book's grain.

use chrono::{Datelike, NaiveDate};

use super::account::{Account, Month, workdays};
use super::config::Grain;
use super::rows::UsageRow;
use super::world::FEATURES;
use crate::common::rng::Rng;

impl Account<'_> {
    /// The month's usage rows for the days `mo.lo..=hi`.
    pub(super) fn usage(&mut self, mo: &Month, hi: NaiveDate) {
        let (st, rng) = (&self.st, &mut self.rng);
        let days = workdays(mo.lo, hi);
        let util = (0.08 + 0.85 * st.adoption + rng.gauss(0.0, 0.04)).clamp(0.02, 1.0);
        let n_users = rng.binomial(self.terms.seats as u64, util) as u32;
        self.active_users_last = n_users as f64;
        let q = (0.25 + 0.6 * st.adoption).min(0.95);
        for u in 0..n_users {
            for (f, (_, pop, sticky)) in FEATURES.iter().enumerate() {
                let p_use = if *sticky {
                    pop * (1.3 * st.adoption * st.adoption).min(1.0)
                } else {
                    pop * (0.15 + 0.6 * st.adoption).min(1.0)
                };
                if !rng.bernoulli(p_use) {
                    continue;
                }
                emit_usage(
                    &mut self.out.usage,
                    rng,
                    self.cfg.grain,
                    &days,
                    u,
                    f as u8,
                    q,
                    st.adoption,
                );
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn emit_usage(
    rows: &mut Vec<UsageRow>,
    rng: &mut Rng,
    grain: Grain,
    days: &[NaiveDate],
    user: u32,
    feature: u8,
    q: f64,
    adoption: f64,
) {
    let rate = 1.0 + 5.0 * adoption;
    let mut push = |rng: &mut Rng, date: NaiveDate, active_days: u64| {
        let events = active_days as u32 + rng.poisson(active_days as f64 * rate) as u32;
        let minutes = (events as f64 * rng.uniform(0.5, 3.0)).round().max(1.0);
        rows.push(UsageRow {
            date,
            feature,
            user,
            events,
            minutes,
        });
    };
    match grain {
        Grain::Daily => {
            for d in days {
                if rng.bernoulli(q * 0.8) {
                    push(rng, *d, 1);
                }
            }
        }
        Grain::Weekly | Grain::Monthly => {
            let mut chunks: Vec<&[NaiveDate]> = Vec::new();
            if grain == Grain::Monthly {
                chunks.push(days);
            } else {
                let mut startw = 0;
                for i in 1..=days.len() {
                    if i == days.len() || days[i].iso_week() != days[startw].iso_week() {
                        chunks.push(&days[startw..i]);
                        startw = i;
                    }
                }
            }
            for c in chunks {
                if c.is_empty() {
                    continue;
                }
                let k = rng.binomial(c.len() as u64, q * 0.8);
                if k == 0 {
                    continue;
                }
                // Dated on the last active day: somewhere in the last 1/k of the period.
                let tail = (c.len() as u64).div_ceil(k).max(1);
                let pos = c.len() - 1 - rng.below(tail) as usize;
                push(rng, c[pos], k);
            }
        }
    }
}
