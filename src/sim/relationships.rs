//! People at the customer: the executive sponsor, the champion, admins and users; their
//! departures and replacements, the quarterly NPS waves they answer, and background
//! turnover.

use chrono::{Datelike, Duration, NaiveDate};

use super::account::{Account, Month, weekday_in};
use super::rows::{ContactRow, NpsRow};

impl Account<'_> {
    /// A new contact in `role` from `start`; returns its position in the contacts.
    fn add_contact(&mut self, role: &'static str, start: NaiveDate) -> usize {
        self.out.contacts.push(ContactRow {
            id: self.contacts as u32,
            role,
            start,
            end: None,
        });
        self.contacts += 1;
        self.out.contacts.len() - 1
    }

    /// The contacts an account starts with.
    pub(super) fn first_contacts(&mut self) {
        let (created, seg) = (self.f.created, self.f.seg);
        if self.rng.bernoulli(seg.sponsor_prob) {
            self.st.sponsor = Some(self.add_contact("executive_sponsor", created));
            self.st.had_sponsor = true;
        }
        if self.rng.bernoulli(0.85) {
            self.st.champion = Some(self.add_contact("champion", created));
        }
        for _ in 0..(1 + usize::from(self.f.seg_i == 0)) {
            self.add_contact("admin", created);
        }
        for _ in 0..self.rng.range_i64(0, 3) {
            self.add_contact("user", created);
        }
    }

    /// The sponsor or the champion leaves (more often when sentiment is low), or one
    /// is found again.
    pub(super) fn relationship_events(&mut self, mo: &Month) {
        let (lo, me) = (mo.lo, mo.end);
        if let Some(c) = self.st.sponsor {
            if self
                .rng
                .bernoulli(0.016 + 0.012 * f64::from(self.st.sentiment < -1.0))
            {
                let d =
                    lo + Duration::days(self.rng.below(((me - lo).num_days() + 1) as u64) as i64);
                self.out.contacts[c].end = Some(d);
                self.st.sponsor = None;
                self.st.sponsor_left = Some(d);
                self.out.events.push((d, "sponsor_left"));
            }
        } else if self.st.had_sponsor
            && !mo.recent(self.st.sponsor_left, 45)
            && self.rng.bernoulli(0.22)
        {
            let start = weekday_in(&mut self.rng, lo, me);
            self.st.sponsor = Some(self.add_contact("executive_sponsor", start));
        }
        if let Some(c) = self.st.champion {
            if self
                .rng
                .bernoulli(0.022 + 0.01 * f64::from(self.st.sentiment < -1.0))
            {
                let d =
                    lo + Duration::days(self.rng.below(((me - lo).num_days() + 1) as u64) as i64);
                self.out.contacts[c].end = Some(d);
                self.st.champion = None;
                self.st.champion_left = Some(d);
                self.out.events.push((d, "champion_left"));
            }
        } else if self.rng.bernoulli(0.25) {
            let start = weekday_in(&mut self.rng, lo, me);
            self.st.champion = Some(self.add_contact("champion", start));
        }
    }

    /// NPS survey waves in February, May, August and November: current contacts other
    /// than users answer (sponsors less often), scores following sentiment.
    pub(super) fn nps_wave(&mut self, mo: &Month, hi: NaiveDate) {
        if !matches!(mo.start.month(), 2 | 5 | 8 | 11) {
            return;
        }
        let lo = mo.lo;
        let current: Vec<(u32, &'static str)> = self
            .out
            .contacts
            .iter()
            .filter(|c| c.start <= hi && c.end.is_none_or(|e| e >= lo) && c.role != "user")
            .map(|c| (c.id, c.role))
            .collect();
        for (id, role) in current {
            let respond = if role == "executive_sponsor" {
                0.2
            } else {
                0.3
            };
            if self.rng.bernoulli(respond) {
                let adj = if role == "champion" { 0.5 } else { 0.0 };
                let score = (7.0 + 1.5 * self.st.sentiment + adj + self.rng.gauss(0.0, 1.2))
                    .round()
                    .clamp(0.0, 10.0) as u8;
                self.st.last_nps = Some(score);
                let date = weekday_in(&mut self.rng, lo, hi);
                self.out.nps.push(NpsRow {
                    date,
                    score,
                    contact: id,
                });
            }
        }
    }

    /// Background turnover: now and then an admin or a user is replaced.
    pub(super) fn contact_turnover(&mut self, hi: NaiveDate) {
        if !self.rng.bernoulli(0.015) {
            return;
        }
        let others: Vec<usize> = (0..self.out.contacts.len())
            .filter(|&i| {
                matches!(self.out.contacts[i].role, "admin" | "user")
                    && self.out.contacts[i].end.is_none()
            })
            .collect();
        if !others.is_empty() {
            let i = *self.rng.choose(&others);
            let role = self.out.contacts[i].role;
            self.out.contacts[i].end = Some(hi);
            self.add_contact(role, hi);
        }
    }
}
