//! Contracts and money: the first term and its history, renewals (decided by the truth's
//! logistic function; seats follow utilisation, price follows sentiment and distress,
//! a plan upgrade for well-adopted accounts) and the invoices of each term.

use chrono::{Duration, NaiveDate};

use super::account::{Account, Terms};
use super::odds::{DRIVER_WEIGHTS, renewal_logit};
use super::rows::{ContractRow, InvoiceRow};
use super::world::Segment;
use crate::common::dates::add_months;
use crate::common::math::sigmoid;
use crate::common::rng::Rng;

fn term_months(monthly: bool, two_year: bool) -> i32 {
    if monthly {
        1
    } else if two_year {
        24
    } else {
        12
    }
}

fn plan_of(seg: usize, rng: &mut Rng) -> &'static str {
    match seg {
        0 => "enterprise",
        1 => {
            if rng.bernoulli(0.6) {
                "professional"
            } else {
                "growth"
            }
        }
        _ => {
            if rng.bernoulli(0.7) {
                "starter"
            } else {
                "growth"
            }
        }
    }
}

impl Terms {
    /// The first term's seats, price, length and plan; with whether it is monthly and
    /// its length in months.
    pub(super) fn draw(
        seg_i: usize,
        seg: &Segment,
        created: NaiveDate,
        rng: &mut Rng,
    ) -> (Terms, bool, i32) {
        let seats = rng
            .lognormal(seg.seats_median, seg.seats_sigma)
            .round()
            .max(2.0);
        let discount0 = rng.uniform(0.0, seg.max_discount);
        let price = seg.list_price * (1.0 - discount0);
        let monthly = rng.bernoulli(seg.monthly_share);
        let two_year = !monthly && rng.bernoulli(seg.two_year_share);
        let plan = plan_of(seg_i, rng);
        let tm = term_months(monthly, two_year);
        let terms = Terms {
            seats,
            price,
            plan,
            start: created,
            end: add_months(created, tm) - Duration::days(1),
            next_id: 0,
            to_invoice: Vec::new(),
        };
        (terms, monthly, tm)
    }
}

impl Account<'_> {
    /// The terms before the start (an account live at the start: at slightly lower seat
    /// counts) and the current one.
    pub(super) fn contract_history(&mut self) {
        let (seg, tm) = (self.f.seg, self.f.tm);
        if self.f.initial {
            let mut k = 0;
            while self.terms.end < self.cfg.start {
                let t = &mut self.terms;
                let s = (t.seats * 0.97f64.powi(3 - k.min(3))).round().max(1.0);
                self.out.contracts.push(ContractRow {
                    id: t.next_id,
                    start: t.start,
                    end: t.end,
                    arr: (s * t.price).round(),
                    seats: s as u32,
                    plan: t.plan,
                    discount: 1.0 - t.price / seg.list_price,
                });
                t.next_id += 1;
                k += 1;
                t.start = t.end + Duration::days(1);
                t.end = add_months(t.start, tm) - Duration::days(1);
            }
        }
        self.push_term();
    }

    /// The current term as a contract row.
    fn push_term(&mut self) {
        let t = &mut self.terms;
        self.out.contracts.push(ContractRow {
            id: t.next_id,
            start: t.start,
            end: t.end,
            arr: (t.seats * t.price).round(),
            seats: t.seats as u32,
            plan: t.plan,
            discount: (1.0 - t.price / self.f.seg.list_price).max(0.0),
        });
        t.next_id += 1;
    }

    /// Decides the terms ending this month (only where the next term would start inside
    /// the data); returns the churn date when the account leaves.
    pub(super) fn renewals(&mut self, mo: &super::account::Month) -> Option<NaiveDate> {
        let (seg, monthly, tm, data_end) = (self.f.seg, self.f.monthly, self.f.tm, self.f.data_end);
        while self.terms.end <= mo.end && self.terms.end + Duration::days(1) < data_end {
            let term_end = self.terms.end;
            let first_renewal = self.st.renewals == 0;
            let risks = self.st.risks(term_end);
            let z0 = renewal_logit(seg, monthly, &risks, first_renewal);
            let z0_unonboarded = renewal_logit(
                seg,
                monthly,
                &self.st.risks_unonboarded(term_end),
                first_renewal,
            );
            self.decided.push((term_end, [z0, z0_unonboarded]));
            let z = z0 + self.st.play_effect(term_end, term_end, |_, _| false);
            if self.rng.bernoulli(sigmoid(z)) {
                let reason = DRIVER_WEIGHTS
                    .iter()
                    .zip(risks.iter())
                    .map(|((n, w, _), r)| (*n, w * r))
                    .fold(("adoption", f64::MIN), |a, b| if b.1 > a.1 { b } else { a })
                    .0;
                self.out.churn = Some((term_end, reason));
                return Some(term_end);
            }
            self.st.renewals += 1;
            self.renegotiate();
            let rng = &mut self.rng;
            let late = if rng.bernoulli(0.06) {
                rng.range_i64(3, 20)
            } else {
                0
            };
            self.terms.start = term_end + Duration::days(1 + late);
            self.terms.end = add_months(self.terms.start, tm) - Duration::days(1);
            if self.terms.start < data_end {
                self.push_term();
                let t = &mut self.terms;
                t.to_invoice
                    .push((t.start, (t.seats * t.price).round(), tm));
            }
        }
        None
    }

    /// A renewal's new seats (following utilisation), price (following sentiment and
    /// distress) and plan.
    fn renegotiate(&mut self) {
        let (st, t, rng) = (&self.st, &mut self.terms, &mut self.rng);
        let scale = if self.f.monthly { 1.0 / 6.0 } else { 1.0 };
        let util = self.active_users_last / t.seats.max(1.0);
        if util > 0.7 && rng.bernoulli(0.7 * scale) {
            // Licences nearly all used: the customer buys more.
            t.seats = (t.seats * (1.0 + rng.uniform(0.15, 0.5))).round();
        } else if st.adoption > 0.55 && rng.bernoulli(0.35 * scale) {
            // Value realised: new teams come on board.
            t.seats = (t.seats * (1.0 + rng.uniform(0.1, 0.3))).round();
        } else if util < 0.45 && rng.bernoulli(0.45 * scale) {
            t.seats = (t.seats * (1.0 - rng.uniform(0.1, 0.35))).round().max(1.0);
        }
        if (st.sentiment < -0.6 || st.distress > 1.0) && rng.bernoulli(0.35 * scale) {
            t.price *= 1.0 - rng.uniform(0.05, 0.15);
        } else if st.sentiment > 0.0 && rng.bernoulli(0.4 * scale) {
            t.price *= 1.0 + rng.uniform(0.03, 0.08);
        }
        if st.adoption > 0.65 && t.plan != "enterprise" && rng.bernoulli(0.08 * scale) {
            t.price *= 1.2;
            t.plan = if self.f.seg_i == 2 {
                "growth"
            } else {
                "professional"
            };
        }
    }

    /// The invoices of the terms issued by `hi` (enterprise terms of a year or more in
    /// quarterly parts); late payment follows financial distress.
    pub(super) fn invoices(&mut self, hi: NaiveDate) {
        let (st, rng, out) = (&mut self.st, &mut self.rng, &mut self.out);
        let (seg_i, data_end) = (self.f.seg_i, self.f.data_end);
        self.terms.to_invoice.retain(|(issue, amount, months)| {
            if *issue > hi {
                return true;
            }
            let parts = if seg_i == 0 && *months >= 12 { 4 } else { 1 };
            for k in 0..parts {
                let issued = add_months(*issue, k * (*months / parts));
                if issued >= data_end {
                    continue;
                }
                let due = issued + Duration::days(30);
                let p_late = sigmoid(-2.6 + 1.6 * st.distress);
                let days_late = if rng.bernoulli(p_late) {
                    rng.range_i64(31, 110)
                } else {
                    rng.gauss(-4.0, 6.0).round().clamp(-25.0, 20.0) as i64
                };
                let paid = due + Duration::days(days_late);
                out.invoices.push(InvoiceRow {
                    due,
                    amount: (amount * (*months).min(12) as f64 / 12.0 / parts as f64 * 100.0)
                        .round()
                        / 100.0,
                    paid: if paid < data_end { Some(paid) } else { None },
                });
                st.late_invoice = days_late > 30;
            }
            false
        });
    }
}
