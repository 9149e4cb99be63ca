//! One account's story, month by month: who it is, its contract, its latent state and
//! the rows it leaves. Each month runs the mechanisms in a fixed order (the account's
//! random stream is drawn in that order, so the same seed gives the same bytes): the
//! truth at the month start, the CSMs' plays, relationship and latent events, the latent
//! state's update, renewals, then the month's observations (invoices, usage, tickets,
//! NPS, contact turnover).

use chrono::{Datelike, Duration, NaiveDate, Weekday};

use super::config::SimConfig;
use super::latent::State;
use super::rows::AccountOut;
use super::rows::PlayTally;
use super::world::{INDUSTRIES, NAME_A, NAME_B, NAME_C, REGIONS, SEGMENTS, Segment, csm_name};
use crate::common::dates::{self, add_months};
use crate::common::rng::Rng;

/// What an account is and does not change: drawn once when it is created.
pub(super) struct Facts {
    pub(super) seg_i: usize,
    pub(super) seg: &'static Segment,
    /// Live at the start of the simulation (with contract history before it).
    pub(super) initial: bool,
    pub(super) created: NaiveDate,
    /// Product fit: the adoption it tends to, its ticket storms and its sentiment.
    pub(super) fit: f64,
    pub(super) csm_quality: f64,
    pub(super) monthly: bool,
    /// Term length in months.
    pub(super) tm: i32,
    /// The simulated month it starts in (0 for initial accounts).
    pub(super) first_month: i32,
    pub(super) data_end: NaiveDate,
    /// Size of its ticket storms.
    pub(super) seg_size: f64,
}

/// The account's contract as it stands: seats, price and plan of the current term.
pub(super) struct Terms {
    pub(super) seats: f64,
    pub(super) price: f64,
    pub(super) plan: &'static str,
    pub(super) start: NaiveDate,
    pub(super) end: NaiveDate,
    /// The next contract row's id.
    pub(super) next_id: u32,
    /// Terms still to be invoiced: issue date, amount, months.
    pub(super) to_invoice: Vec<(NaiveDate, f64, i32)>,
}

/// A simulated month: its first and last day, and the first day the account lived in it.
pub(super) struct Month {
    pub(super) m: i32,
    pub(super) start: NaiveDate,
    pub(super) end: NaiveDate,
    pub(super) lo: NaiveDate,
}

impl Month {
    /// Whether `d` lies within `days` before the month start.
    pub(super) fn recent(&self, d: Option<NaiveDate>, days: i64) -> bool {
        d.is_some_and(|d| (self.start - d).num_days() <= days)
    }
}

/// One account being simulated.
pub(super) struct Account<'c> {
    pub(super) cfg: &'c SimConfig,
    pub(super) idx: usize,
    pub(super) f: Facts,
    pub(super) terms: Terms,
    pub(super) st: State,
    pub(super) rng: Rng,
    pub(super) out: AccountOut,
    /// Contacts created so far (the next contact's id).
    pub(super) contacts: usize,
    /// Active users in the last month with usage (renewals size seats on them).
    pub(super) active_users_last: f64,
    /// Per truth month, its horizon's renewals and their logits then; every renewal
    /// decided, with its logit when decided (each as it was and as it would have been
    /// without onboarding).
    pub(super) pending: Vec<Vec<(NaiveDate, [f64; 2])>>,
    pub(super) decided: Vec<(NaiveDate, [f64; 2])>,
}

/// Simulates one account over the whole period.
pub(super) fn simulate_account(
    cfg: &SimConfig,
    idx: usize,
    n_initial: usize,
    csm_counts: &[usize; 3],
) -> AccountOut {
    let mut a = Account::open(cfg, idx, n_initial, csm_counts);
    let data_end = a.f.data_end;
    for m in a.f.first_month.max(0)..cfg.months as i32 {
        let start = add_months(cfg.start, m);
        let mo = Month {
            m,
            start,
            end: add_months(cfg.start, m + 1) - Duration::days(1),
            lo: a.f.created.max(start),
        };
        if a.f.created < mo.start {
            a.record_truth(&mo);
        }
        a.run_plays(&mo);
        a.relationship_events(&mo);
        let (storm, shock) = a.latent_events(&mo);
        a.update_latent(&mo, storm, shock);
        let end_of_life = a.renewals(&mo);
        let hi = end_of_life
            .unwrap_or(mo.end)
            .min(data_end - Duration::days(1));
        if mo.lo <= hi {
            a.invoices(hi);
            a.usage(&mo, hi);
            a.tickets(&mo, hi, storm);
            a.nps_wave(&mo, hi);
            a.contact_turnover(hi);
        }
        if end_of_life.is_some() {
            break;
        }
    }
    a.close()
}

impl<'c> Account<'c> {
    /// Draws who the account is, its first contract (and its history, for an account
    /// live at the start), its latent state and its first contacts.
    fn open(cfg: &'c SimConfig, idx: usize, n_initial: usize, csm_counts: &[usize; 3]) -> Self {
        let mut rng = Rng::stream(cfg.seed, idx as u64);
        let data_end = add_months(cfg.start, cfg.months as i32);
        let seg_i = rng.weighted(&SEGMENTS.iter().map(|s| s.share).collect::<Vec<_>>());
        let seg = &SEGMENTS[seg_i];
        let initial = idx < n_initial;
        let created = if initial {
            cfg.start - Duration::days(rng.range_i64(1, 48 * 30))
        } else {
            let m = rng.below(cfg.months as u64) as i32;
            let ms = add_months(cfg.start, m);
            ms + Duration::days(rng.below(dates::days_in_month(ms) as u64) as i64)
        };
        let fit = rng.normal();
        let industry = *rng.choose(&INDUSTRIES);
        let region = REGIONS[rng.weighted(&REGIONS.iter().map(|r| r.1).collect::<Vec<_>>())].0;
        let csm = if seg_i == 2 && rng.bernoulli(0.6) {
            "Digital CS (pooled)".to_string()
        } else {
            csm_name(seg_i, rng.below(csm_counts[seg_i] as u64) as usize)
        };
        let name = format!(
            "{}{} {}",
            rng.choose(&NAME_A),
            rng.choose(&NAME_B),
            rng.choose(&NAME_C)
        );
        let parent = if idx > 10 && rng.bernoulli(0.04) {
            Some(rng.below(idx as u64) as usize)
        } else {
            None
        };
        let out = AccountOut {
            idx,
            name,
            segment: seg_i,
            industry,
            region,
            csm,
            created,
            parent,
            fit,
            contracts: Vec::new(),
            usage: Vec::new(),
            tickets: Vec::new(),
            nps: Vec::new(),
            contacts: Vec::new(),
            invoices: Vec::new(),
            activities: Vec::new(),
            truth: Vec::new(),
            events: Vec::new(),
            churn: None,
            tally: PlayTally::default(),
            risk_sums: [(0.0, 0.0); 5],
        };
        let (terms, monthly, tm) = Terms::draw(seg_i, seg, created, &mut rng);
        let first_month = if initial {
            0
        } else {
            (created.year() - cfg.start.year()) * 12 + created.month0() as i32
                - cfg.start.month0() as i32
        };
        let mut a = Account {
            cfg,
            idx,
            f: Facts {
                seg_i,
                seg,
                initial,
                created,
                fit,
                csm_quality: 0.0,
                monthly,
                tm,
                first_month,
                data_end,
                seg_size: [3.0, 1.5, 0.6][seg_i],
            },
            terms,
            st: State::default(),
            rng,
            out,
            contacts: 0,
            active_users_last: 0.0,
            pending: Vec::new(),
            decided: Vec::new(),
        };
        a.contract_history();
        a.st = State::draw(a.f.initial, a.f.fit, a.terms.next_id, &mut a.rng);
        a.first_contacts();
        a.terms
            .to_invoice
            .push((a.terms.start, (a.terms.seats * a.terms.price).round(), tm));
        a
    }

    /// The account's rows, its truth settled.
    fn close(mut self) -> AccountOut {
        // Contacts that start after the data ends are not yet known.
        let data_end = self.f.data_end;
        self.out.contacts.retain(|c| c.start < data_end);
        self.settle_truth();
        self.out
    }
}

pub(super) fn workdays(lo: NaiveDate, hi: NaiveDate) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut d = lo;
    while d <= hi {
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            out.push(d);
        }
        d += Duration::days(1);
    }
    out
}

pub(super) fn weekday_in(rng: &mut Rng, lo: NaiveDate, hi: NaiveDate) -> NaiveDate {
    let w = workdays(lo, hi);
    if w.is_empty() { lo } else { *rng.choose(&w) }
}
