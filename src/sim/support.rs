//! Support tickets: a monthly rate that grows with the account's active users and is
//! multiplied by its support pain, plus a burst in a storm week; priorities, resolution
//! times (longer under pain), CSAT (following sentiment) and escalations.

use chrono::{Duration, NaiveDate};

use super::account::{Account, Month};
use super::rows::TicketRow;
use crate::common::dates::{self, to_days};

impl Account<'_> {
    /// The month's tickets opened in `mo.lo..=hi`.
    pub(super) fn tickets(&mut self, mo: &Month, hi: NaiveDate, storm: bool) {
        let (st, rng, lo) = (&self.st, &mut self.rng, mo.lo);
        let n_users = self.active_users_last;
        // Pain multiplies the account's usual ticket rate (which grows with its size),
        // so it shows as tickets per seat rather than as a raw count.
        let lambda = (0.25 + 0.035 * n_users.powf(0.75)) * (0.6 + 1.6 * st.pain);
        let mut spans: Vec<(u64, bool)> = vec![(rng.poisson(lambda), false)];
        if storm {
            spans.push((rng.poisson(4.0 + 2.0 * self.f.seg_size), true));
        }
        let span_days = ((hi - lo).num_days() + 1).max(1);
        let storm_start = rng.below(span_days as u64) as i64;
        let data_end_ms = to_days(self.f.data_end) as i64 * dates::MS_PER_DAY;
        for (count, is_storm) in spans {
            for _ in 0..count {
                let off = if is_storm {
                    (storm_start + rng.below(7) as i64).min(span_days - 1)
                } else {
                    rng.below(span_days as u64) as i64
                };
                let day = lo + Duration::days(off);
                let opened = to_days(day) as i64 * dates::MS_PER_DAY
                    + rng.range_i64(7 * 3600, 19 * 3600) * 1000;
                let weights: [f64; 4] = if is_storm {
                    [0.2, 0.35, 0.3, 0.15]
                } else {
                    [0.03, 0.12, 0.45, 0.40]
                };
                let pr = rng.weighted(&weights) as u8;
                let median_h = [20.0, 48.0, 96.0, 150.0][pr as usize];
                let hours = rng.lognormal(median_h, 0.9) * (1.0 + 0.5 * st.pain.min(3.0));
                let closed = opened + (hours * 3_600_000.0) as i64;
                let csat = if rng.bernoulli(0.35) && closed < data_end_ms {
                    let slow = f64::from(hours > 240.0);
                    Some(
                        (4.1 + 0.5 * st.sentiment - 0.6 * slow + rng.gauss(0.0, 0.7))
                            .round()
                            .clamp(1.0, 5.0) as u8,
                    )
                } else {
                    None
                };
                let esc_p = [0.35, 0.15, 0.03, 0.01][pr as usize] + 0.1 * st.pain.min(1.0);
                self.out.tickets.push(TicketRow {
                    opened,
                    closed: if closed < data_end_ms {
                        Some(closed)
                    } else {
                        None
                    },
                    priority: pr,
                    csat,
                    escalated: rng.bernoulli(esc_p),
                });
            }
        }
    }
}
