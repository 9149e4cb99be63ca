//! A simulator of a B2B SaaS customer book whose hidden truth is known.
//!
//! Each account carries latent state that evolves month by month: product adoption,
//! support pain, sentiment, relationship (executive sponsor and champion) and commercial
//! distress. Observable tables (usage, tickets, NPS, contacts, invoices, CS activities)
//! are drawn from that state, and each renewal is decided by a known logistic function
//! of the five latent drivers plus the true effects of recent CS plays. The truth is
//! written to `truth/` beside the tables and is never read by the pipeline.
//!
//! Every account has its own random stream derived from (seed, account number), so the
//! output is byte-identical whatever the number of threads. Accounts are simulated in
//! chunks in parallel and streamed to disk, so memory stays bounded for any book size.

use std::fs;
use std::path::Path;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use rayon::prelude::*;
use serde::Serialize;

use crate::common::dates::{self, add_months, to_days};
use crate::common::math::sigmoid;
use crate::common::rng::Rng;
use crate::error::{Error, Result};
use crate::input::io::{Format, TableWriter};
use crate::input::table::{Column, Table};

/// How finely product usage is aggregated in the `usage` table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Grain {
    Daily,
    Weekly,
    Monthly,
}

impl std::str::FromStr for Grain {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "daily" => Ok(Grain::Daily),
            "weekly" => Ok(Grain::Weekly),
            "monthly" => Ok(Grain::Monthly),
            o => Err(format!(
                "unknown grain '{o}': expected daily, weekly or monthly"
            )),
        }
    }
}

#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Accounts in the book: those live at the start plus those signing during it.
    pub accounts: usize,
    pub months: u32,
    /// First day of the simulated period (a month start).
    pub start: NaiveDate,
    pub seed: u64,
    pub grain: Grain,
    pub format: Format,
    /// Accounts simulated together before their rows are written.
    pub chunk: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            accounts: 2000,
            months: 24,
            start: NaiveDate::from_ymd_opt(2024, 11, 1).unwrap_or(NaiveDate::MIN),
            seed: 42,
            grain: Grain::Monthly,
            format: Format::Csv,
            chunk: 2000,
        }
    }
}

// ---------------------------------------------------------------------------------------
// The hidden truth.

/// Log-odds of churning at a renewal per unit of each standardised latent risk driver.
pub(crate) const DRIVER_WEIGHTS: [(&str, f64, &str); 5] = [
    (
        "adoption",
        1.20,
        "(0.59 - adoption) / 0.22; adoption is the latent share of value realised (0..1)",
    ),
    (
        "relationship",
        0.85,
        "(R - 0.36) / 0.45; R rises when the executive sponsor (1.6) or champion (1.0) leaves, decaying over ~5 months, plus 0.6 with no sponsor",
    ),
    (
        "support",
        0.70,
        "(pain - 0.30) / 0.45; pain jumps with incidents (ticket storms), decays 20% a month and multiplies the ticket rate",
    ),
    (
        "sentiment",
        0.45,
        "-(sentiment + 0.07) / 1.16; sentiment is an AR(1) of fit, adoption, pain and relationship",
    ),
    (
        "commercial",
        0.30,
        "(distress - 0.23) / 0.315; distress is the customer's financial stress",
    ),
];

/// Direct effect of a CS play on the renewal log-odds, for renewals within
/// [`PLAY_EFFECT_DAYS`] after the play.
pub(crate) const PLAY_EFFECTS: [(&str, f64); 6] = [
    ("onboarding", -0.40),
    ("qbr", -0.15),
    ("ebr", -0.45),
    ("training", -0.30),
    ("success_plan", -0.35),
    ("exec_outreach", -0.50),
];
pub(crate) const PLAY_EFFECT_DAYS: i64 = 180;
/// The truth's treatment: a play in the month before a month start (the pipeline's
/// plays analysis asks the same of each snapshot: a play since the one before).
pub(crate) const TREATMENT_MONTHS: i32 = 1;
/// Extra log-odds at an account's first renewal.
pub(crate) const FIRST_RENEWAL: f64 = 0.35;
/// The truth's churn horizon (days), as the pipeline's default.
pub(crate) const HORIZON_DAYS: i64 = 90;

pub const FEATURES: [(&str, f64, bool); 10] = [
    ("dashboards", 0.90, false),
    ("reports", 0.70, false),
    ("alerts", 0.50, false),
    ("exports", 0.45, false),
    ("collaboration", 0.40, false),
    ("mobile", 0.30, false),
    ("admin_console", 0.20, false),
    ("api", 0.30, true),
    ("workflows", 0.40, true),
    ("integrations", 0.35, true),
];

struct Segment {
    name: &'static str,
    share: f64,
    seats_median: f64,
    seats_sigma: f64,
    list_price: f64,
    max_discount: f64,
    monthly_share: f64,
    two_year_share: f64,
    base_annual: f64,
    base_monthly: f64,
    sponsor_prob: f64,
    touch: f64,
    onboarding_prob: f64,
    csm_per: usize,
}

const SEGMENTS: [Segment; 3] = [
    Segment {
        name: "enterprise",
        share: 0.12,
        seats_median: 90.0,
        seats_sigma: 0.55,
        list_price: 900.0,
        max_discount: 0.30,
        monthly_share: 0.0,
        two_year_share: 0.2,
        base_annual: -3.2,
        base_monthly: -6.0,
        sponsor_prob: 0.95,
        touch: 1.0,
        onboarding_prob: 0.95,
        csm_per: 25,
    },
    Segment {
        name: "mid_market",
        share: 0.33,
        seats_median: 28.0,
        seats_sigma: 0.5,
        list_price: 720.0,
        max_discount: 0.20,
        monthly_share: 0.15,
        two_year_share: 0.05,
        base_annual: -2.75,
        base_monthly: -5.2,
        sponsor_prob: 0.8,
        touch: 0.5,
        onboarding_prob: 0.85,
        csm_per: 70,
    },
    Segment {
        name: "smb",
        share: 0.55,
        seats_median: 6.0,
        seats_sigma: 0.5,
        list_price: 480.0,
        max_discount: 0.10,
        monthly_share: 0.55,
        two_year_share: 0.0,
        base_annual: -2.1,
        base_monthly: -4.65,
        sponsor_prob: 0.5,
        touch: 0.0,
        onboarding_prob: 0.6,
        csm_per: 300,
    },
];

const INDUSTRIES: [&str; 8] = [
    "software",
    "financial_services",
    "healthcare",
    "retail",
    "manufacturing",
    "education",
    "media",
    "logistics",
];
const REGIONS: [(&str, f64); 4] = [
    ("na", 0.45),
    ("emea", 0.32),
    ("apac", 0.15),
    ("latam", 0.08),
];
const NAME_A: [&str; 24] = [
    "North",
    "Blue",
    "Silver",
    "Bright",
    "Red",
    "Iron",
    "Clear",
    "Swift",
    "Green",
    "Summit",
    "Pioneer",
    "Harbor",
    "Cedar",
    "Atlas",
    "Nova",
    "Beacon",
    "Granite",
    "Maple",
    "Vertex",
    "Lumen",
    "Orbit",
    "Falcon",
    "Crescent",
    "Evergreen",
];
const NAME_B: [&str; 20] = [
    "wind", "stone", "field", "bridge", "point", "works", "path", "line", "gate", "wave", "light",
    "ridge", "forge", "peak", "river", "spring", "crest", "view", "port", "lake",
];
const NAME_C: [&str; 8] = [
    "Analytics",
    "Logistics",
    "Health",
    "Systems",
    "Retail",
    "Labs",
    "Partners",
    "Group",
];
const FIRST: [&str; 16] = [
    "Avery", "Jordan", "Priya", "Mateo", "Sofia", "Chen", "Amara", "Lukas", "Noor", "Diego",
    "Hana", "Tomas", "Zoe", "Kofi", "Elena", "Ravi",
];
const LAST: [&str; 16] = [
    "Chen", "Okafor", "Schmidt", "Garcia", "Patel", "Novak", "Kim", "Rossi", "Haddad", "Silva",
    "Larsen", "Mbeki", "Tanaka", "Dubois", "Walsh", "Ortiz",
];

fn csm_name(segment: usize, k: usize) -> String {
    let n = segment * 97 + k * 7;
    format!(
        "{} {}",
        FIRST[n % FIRST.len()],
        LAST[(n / FIRST.len() + k) % LAST.len()]
    )
}

// ---------------------------------------------------------------------------------------
// One account's output.

struct ContractRow {
    id: u32,
    start: NaiveDate,
    end: NaiveDate,
    arr: f64,
    seats: u32,
    plan: &'static str,
    discount: f64,
}
struct UsageRow {
    date: NaiveDate,
    feature: u8,
    user: u32,
    events: u32,
    minutes: f64,
}
struct TicketRow {
    opened: i64,
    closed: Option<i64>,
    priority: u8,
    csat: Option<u8>,
    escalated: bool,
}
struct NpsRow {
    date: NaiveDate,
    score: u8,
    contact: u32,
}
struct ContactRow {
    id: u32,
    role: &'static str,
    start: NaiveDate,
    end: Option<NaiveDate>,
}
struct InvoiceRow {
    due: NaiveDate,
    amount: f64,
    paid: Option<NaiveDate>,
}
struct ActivityRow {
    date: NaiveDate,
    play: u8,
}
struct TruthMonth {
    date: NaiveDate,
    p90: f64,
    /// Per play: the change in `p90` had the play been run at `date` (0 when one of its
    /// kind is already in effect for every renewal of the horizon).
    play_effect_90d: [f64; 6],
    /// Per play: the change in the probability of churning within the horizon that the
    /// plays of its kind run in the window before `date` caused, as it turned out
    /// (see `realised_effects`; 0 when there were none).
    caused_90d: [f64; 6],
    risks: [f64; 5],
    renewal_in_horizon: bool,
}

#[derive(Default)]
struct PlayTally {
    /// Account-months with the play in the month before.
    treated: [u64; 6],
    /// Sums of `caused_90d` over them.
    att_sum: [f64; 6],
}

struct AccountOut {
    idx: usize,
    name: String,
    segment: usize,
    industry: &'static str,
    region: &'static str,
    csm: String,
    created: NaiveDate,
    parent: Option<usize>,
    fit: f64,
    contracts: Vec<ContractRow>,
    usage: Vec<UsageRow>,
    tickets: Vec<TicketRow>,
    nps: Vec<NpsRow>,
    contacts: Vec<ContactRow>,
    invoices: Vec<InvoiceRow>,
    activities: Vec<ActivityRow>,
    truth: Vec<TruthMonth>,
    events: Vec<(NaiveDate, &'static str)>,
    churn: Option<(NaiveDate, &'static str)>,
    tally: PlayTally,
    risk_sums: [(f64, f64); 5],
}

// ---------------------------------------------------------------------------------------
// Latent state.

struct State {
    adoption: f64,
    pain: f64,
    sentiment: f64,
    distress: f64,
    distress_base: f64,
    sponsor: Option<usize>,
    champion: Option<usize>,
    sponsor_left: Option<NaiveDate>,
    champion_left: Option<NaiveDate>,
    had_sponsor: bool,
    collapse_until: Option<NaiveDate>,
    last_storm: Option<NaiveDate>,
    last_nps: Option<u8>,
    late_invoice: bool,
    plays: Vec<(NaiveDate, usize)>,
    renewals: u32,
    /// For an onboarded account, its adoption and sentiment had it not been onboarded
    /// (the same noise, the slower ramp and lower target): the truth's counterfactual
    /// of onboarding's effect through adoption.
    unonboarded: Option<(f64, f64)>,
}

impl State {
    fn relationship(&self, t: NaiveDate) -> f64 {
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
    fn risks(&self, t: NaiveDate) -> [f64; 5] {
        self.risks_with(t, self.adoption, self.sentiment)
    }

    /// The risks had the account not been onboarded (the same as `risks` for one that
    /// was not).
    fn risks_unonboarded(&self, t: NaiveDate) -> [f64; 5] {
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
    fn play_effect(
        &self,
        e: NaiveDate,
        known_by: NaiveDate,
        skip: impl Fn(NaiveDate, usize) -> bool,
    ) -> f64 {
        play_effect(&self.plays, e, known_by, skip)
    }
}

/// Sum of the effects of `plays` (date, kind) active for a renewal on day `e` and known
/// by `known_by` (plays of one kind do not add up), leaving out the plays `skip` says.
fn play_effect(
    plays: &[(NaiveDate, usize)],
    e: NaiveDate,
    known_by: NaiveDate,
    skip: impl Fn(NaiveDate, usize) -> bool,
) -> f64 {
    let mut active = [false; 6];
    for (d, p) in plays {
        if *d <= known_by && *d <= e && (e - *d).num_days() <= PLAY_EFFECT_DAYS && !skip(*d, *p) {
            active[*p] = true;
        }
    }
    (0..6)
        .filter(|p| active[*p])
        .map(|p| PLAY_EFFECTS[p].1)
        .sum()
}

fn renewal_logit(seg: &Segment, monthly: bool, risks: &[f64; 5], first_renewal: bool) -> f64 {
    let base = if monthly {
        seg.base_monthly
    } else {
        seg.base_annual
    };
    let drivers: f64 = DRIVER_WEIGHTS
        .iter()
        .zip(risks)
        .map(|((_, w, _), r)| w * r)
        .sum();
    base + drivers + if first_renewal { FIRST_RENEWAL } else { 0.0 }
}

fn workdays(lo: NaiveDate, hi: NaiveDate) -> Vec<NaiveDate> {
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

fn weekday_in(rng: &mut Rng, lo: NaiveDate, hi: NaiveDate) -> NaiveDate {
    let w = workdays(lo, hi);
    if w.is_empty() { lo } else { *rng.choose(&w) }
}

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

/// Simulates one account over the whole period.
fn simulate_account(
    cfg: &SimConfig,
    idx: usize,
    n_initial: usize,
    csm_counts: &[usize; 3],
) -> AccountOut {
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
    let csm_quality = 0.0;
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

    let mut seats = rng
        .lognormal(seg.seats_median, seg.seats_sigma)
        .round()
        .max(2.0);
    let discount0 = rng.uniform(0.0, seg.max_discount);
    let mut price = seg.list_price * (1.0 - discount0);
    let monthly = rng.bernoulli(seg.monthly_share);
    let two_year = !monthly && rng.bernoulli(seg.two_year_share);
    let mut plan = plan_of(seg_i, &mut rng);
    let tm = term_months(monthly, two_year);

    let mut out = AccountOut {
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

    // Contract history up to the start (initial accounts) or the first term.
    let mut contract_n = 0u32;
    let mut term_start = created;
    let mut term_end = add_months(term_start, tm) - Duration::days(1);
    if initial {
        // Earlier terms, at slightly lower seat counts.
        let mut k = 0;
        while term_end < cfg.start {
            let s = (seats * 0.97f64.powi(3 - k.min(3))).round().max(1.0);
            out.contracts.push(ContractRow {
                id: contract_n,
                start: term_start,
                end: term_end,
                arr: (s * price).round(),
                seats: s as u32,
                plan,
                discount: 1.0 - price / seg.list_price,
            });
            contract_n += 1;
            k += 1;
            term_start = term_end + Duration::days(1);
            term_end = add_months(term_start, tm) - Duration::days(1);
        }
    }
    let push_term = |out: &mut AccountOut,
                     n: &mut u32,
                     start: NaiveDate,
                     end: NaiveDate,
                     seats: f64,
                     price: f64,
                     plan| {
        out.contracts.push(ContractRow {
            id: *n,
            start,
            end,
            arr: (seats * price).round(),
            seats: seats as u32,
            plan,
            discount: (1.0 - price / seg.list_price).max(0.0),
        });
        *n += 1;
    };
    push_term(
        &mut out,
        &mut contract_n,
        term_start,
        term_end,
        seats,
        price,
        plan,
    );

    // Contacts.
    let mut contact_n = 0usize;
    let mut add_contact = |out: &mut AccountOut, role: &'static str, start: NaiveDate| {
        out.contacts.push(ContactRow {
            id: contact_n as u32,
            role,
            start,
            end: None,
        });
        contact_n += 1;
        out.contacts.len() - 1
    };
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
        sponsor: None,
        champion: None,
        sponsor_left: None,
        champion_left: None,
        had_sponsor: false,
        collapse_until: None,
        last_storm: None,
        last_nps: None,
        late_invoice: false,
        plays: Vec::new(),
        renewals: if initial { contract_n } else { 0 },
        unonboarded: None,
    };
    st.distress = st.distress_base;
    st.sentiment = 0.7 * fit + 2.0 * (st.adoption - 0.55) + rng.gauss(0.0, 0.4);
    if rng.bernoulli(seg.sponsor_prob) {
        st.sponsor = Some(add_contact(&mut out, "executive_sponsor", created));
        st.had_sponsor = true;
    }
    if rng.bernoulli(0.85) {
        st.champion = Some(add_contact(&mut out, "champion", created));
    }
    for _ in 0..(1 + usize::from(seg_i == 0)) {
        add_contact(&mut out, "admin", created);
    }
    for _ in 0..rng.range_i64(0, 3) {
        add_contact(&mut out, "user", created);
    }

    let mut ticket_n = 0u32;
    let mut alive_until: Option<NaiveDate> = None; // churn date (last covered day)
    // Per truth month, its horizon's renewals and their logits then; every renewal
    // decided, with its logit when decided (each as it was and as it would have been
    // without onboarding).
    let mut pending: Vec<Vec<(NaiveDate, [f64; 2])>> = Vec::new();
    let mut decided: Vec<(NaiveDate, [f64; 2])> = Vec::new();
    let first_month = if initial {
        0
    } else {
        (created.year() - cfg.start.year()) * 12 + created.month0() as i32
            - cfg.start.month0() as i32
    };
    let seg_size = [3.0, 1.5, 0.6][seg_i];
    let mut pending_invoices: Vec<(NaiveDate, f64, i32)> = Vec::new(); // issue date, amount, months
    pending_invoices.push((term_start, (seats * price).round(), tm));
    let mut active_users_last = 0.0f64;

    for m in first_month.max(0)..cfg.months as i32 {
        let ms = add_months(cfg.start, m);
        let me = add_months(cfg.start, m + 1) - Duration::days(1);
        if alive_until.is_some() {
            break;
        }
        // 1. Truth at the snapshot t = ms, for accounts live before t.
        if created < ms {
            let risks = st.risks(ms);
            for (k, r) in risks.iter().enumerate() {
                out.risk_sums[k].0 += r;
                out.risk_sums[k].1 += r * r;
            }
            let horizon_end = ms + Duration::days(HORIZON_DAYS);
            let mut decisions = Vec::new();
            let (mut s, mut e) = (term_start, term_end);
            while e < horizon_end && e >= ms - Duration::days(1) {
                if e >= ms {
                    decisions.push((e, st.renewals as usize + decisions.len() == 0));
                }
                s = e + Duration::days(1);
                e = add_months(s, tm) - Duration::days(1);
            }
            let _ = s;
            let p_with = |skip: &dyn Fn(NaiveDate, usize) -> bool| {
                1.0 - decisions
                    .iter()
                    .map(|(e, first)| {
                        let z = renewal_logit(seg, monthly, &risks, *first)
                            + st.play_effect(*e, ms, skip);
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
            // The renewals of the horizon with their logits as known at `ms`; the
            // realised effect of the window's plays is worked out once the account's
            // story is told (`realised_effects`).
            let unonboarded = st.risks_unonboarded(ms);
            pending.push(
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
            out.truth.push(TruthMonth {
                date: ms,
                p90,
                play_effect_90d,
                caused_90d: [0.0; 6],
                risks,
                renewal_in_horizon: !decisions.is_empty(),
            });
        }
        let lo = created.max(ms);
        let recent =
            |d: Option<NaiveDate>, days: i64| d.is_some_and(|d| (ms - d).num_days() <= days);

        // 2. Plays, assigned on what the CSM can see (confounded with risk).
        let trouble = 0.8 * f64::from(st.adoption < 0.35)
            + 1.0 * f64::from(recent(st.last_storm, 60))
            + 0.8 * f64::from(st.last_nps.is_some_and(|s| s <= 6))
            + 1.0 * f64::from(recent(st.sponsor_left, 90))
            + 0.5 * f64::from(st.late_invoice);
        let arr_now = seats * price;
        // CSMs work the accounts whose renewal is coming up.
        let renewal_soon = f64::from((term_end - ms).num_days() <= 120);
        let do_play = |out: &mut AccountOut, st: &mut State, rng: &mut Rng, p: usize| {
            let d = weekday_in(rng, lo, me);
            out.activities.push(ActivityRow {
                date: d,
                play: p as u8,
            });
            st.plays.push((d, p));
        };
        if m == first_month && !initial && rng.bernoulli(seg.onboarding_prob) {
            do_play(&mut out, &mut st, &mut rng, 0);
            st.unonboarded = Some((st.adoption, st.sentiment));
        }
        if seg.touch >= 0.5 && (m + idx as i32) % 3 == 0 && rng.bernoulli(0.45 + 0.35 * seg.touch) {
            do_play(&mut out, &mut st, &mut rng, 1);
        }
        if rng.bernoulli(sigmoid(
            -5.0 + 1.0 * seg.touch
                + 0.6 * (arr_now / 30_000.0).ln()
                + 0.9 * trouble
                + 1.0 * renewal_soon,
        )) {
            do_play(&mut out, &mut st, &mut rng, 2);
        }
        if rng.bernoulli(sigmoid(
            -3.6 + 1.3 * f64::from(st.adoption < 0.4) + 0.5 * seg.touch + 0.4 * trouble,
        )) {
            do_play(&mut out, &mut st, &mut rng, 3);
        }
        if rng.bernoulli(sigmoid(
            -5.0 + 1.5 * trouble + 0.8 * seg.touch + 1.0 * renewal_soon,
        )) {
            do_play(&mut out, &mut st, &mut rng, 4);
        }
        if rng.bernoulli(sigmoid(
            -4.5 + 2.6 * f64::from(recent(st.sponsor_left, 90))
                + 0.5 * trouble
                + 0.5 * seg.touch
                + 0.7 * renewal_soon,
        )) {
            do_play(&mut out, &mut st, &mut rng, 5);
        }

        // 3. Events.
        if let Some(c) = st.sponsor {
            if rng.bernoulli(0.016 + 0.012 * f64::from(st.sentiment < -1.0)) {
                let d = lo + Duration::days(rng.below(((me - lo).num_days() + 1) as u64) as i64);
                out.contacts[c].end = Some(d);
                st.sponsor = None;
                st.sponsor_left = Some(d);
                out.events.push((d, "sponsor_left"));
            }
        } else if st.had_sponsor && !recent(st.sponsor_left, 45) && rng.bernoulli(0.22) {
            st.sponsor = Some(add_contact(
                &mut out,
                "executive_sponsor",
                weekday_in(&mut rng, lo, me),
            ));
        }
        if let Some(c) = st.champion {
            if rng.bernoulli(0.022 + 0.01 * f64::from(st.sentiment < -1.0)) {
                let d = lo + Duration::days(rng.below(((me - lo).num_days() + 1) as u64) as i64);
                out.contacts[c].end = Some(d);
                st.champion = None;
                st.champion_left = Some(d);
                out.events.push((d, "champion_left"));
            }
        } else if rng.bernoulli(0.25) {
            st.champion = Some(add_contact(
                &mut out,
                "champion",
                weekday_in(&mut rng, lo, me),
            ));
        }
        let storm = rng.bernoulli(0.022 + 0.02 * f64::from(fit < -1.0));
        if storm {
            st.last_storm = Some(lo);
            out.events.push((lo, "ticket_storm"));
        }
        if rng.bernoulli(0.006 + 0.01 * f64::from(st.sentiment < -1.0)) && st.adoption > 0.2 {
            st.adoption *= 0.45;
            st.collapse_until = Some(add_months(ms, 4));
            out.events.push((lo, "usage_collapse"));
        }
        let mut shock = 0.0;
        if rng.bernoulli(0.008) {
            shock = rng.uniform(1.0, 2.0);
            out.events.push((lo, "payment_distress"));
        }

        // 4. Latent updates.
        let onboarded = st.plays.iter().any(|(_, p)| *p == 0);
        let ramp = if initial || onboarded { 0.32 } else { 0.18 };
        let collapse = st.collapse_until.is_some_and(|u| ms < u);
        let target_of = |onboarded: bool| {
            (sigmoid(0.6 + 1.1 * fit + csm_quality)
                - 0.35 * f64::from(collapse)
                - 0.15 * f64::from(recent(st.sponsor_left, 120))
                - 0.08 * f64::from(st.champion.is_none())
                - 0.08 * f64::from(!initial && !onboarded))
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
        let rel = st.relationship(me);
        let sentiment_noise = rng.gauss(0.0, 0.3);
        let feel = |s: f64, a: f64| {
            0.75 * s
                + 0.25 * (0.7 * fit + 2.0 * (a - 0.55) - 0.5 * st.pain - 0.4 * rel)
                + sentiment_noise
        };
        st.sentiment = feel(st.sentiment, st.adoption);
        if let Some((a, s)) = st.unonboarded {
            let a = adopt(a, 0.18, target_of(false));
            st.unonboarded = Some((a, feel(s, a)));
        }
        st.distress =
            (0.85 * st.distress + 0.15 * st.distress_base + shock + rng.gauss(0.0, 0.04)).max(0.0);

        // 5. Renewal decisions for terms ending this month (only where the next term
        //    would start inside the data).
        let mut end_of_life: Option<NaiveDate> = None;
        while term_end <= me && term_end + Duration::days(1) < data_end {
            let first_renewal = st.renewals == 0;
            let risks = st.risks(term_end);
            let z0 = renewal_logit(seg, monthly, &risks, first_renewal);
            let z0_unonboarded =
                renewal_logit(seg, monthly, &st.risks_unonboarded(term_end), first_renewal);
            decided.push((term_end, [z0, z0_unonboarded]));
            let z = z0 + st.play_effect(term_end, term_end, |_, _| false);
            if rng.bernoulli(sigmoid(z)) {
                let reason = DRIVER_WEIGHTS
                    .iter()
                    .zip(risks.iter())
                    .map(|((n, w, _), r)| (*n, w * r))
                    .fold(("adoption", f64::MIN), |a, b| if b.1 > a.1 { b } else { a })
                    .0;
                end_of_life = Some(term_end);
                out.churn = Some((term_end, reason));
                break;
            }
            st.renewals += 1;
            // Seats follow utilisation; price follows sentiment and distress.
            let scale = if monthly { 1.0 / 6.0 } else { 1.0 };
            let util = active_users_last / seats.max(1.0);
            if util > 0.7 && rng.bernoulli(0.7 * scale) {
                // Licences nearly all used: the customer buys more.
                seats = (seats * (1.0 + rng.uniform(0.15, 0.5))).round();
            } else if st.adoption > 0.55 && rng.bernoulli(0.35 * scale) {
                // Value realised: new teams come on board.
                seats = (seats * (1.0 + rng.uniform(0.1, 0.3))).round();
            } else if util < 0.45 && rng.bernoulli(0.45 * scale) {
                seats = (seats * (1.0 - rng.uniform(0.1, 0.35))).round().max(1.0);
            }
            if (st.sentiment < -0.6 || st.distress > 1.0) && rng.bernoulli(0.35 * scale) {
                price *= 1.0 - rng.uniform(0.05, 0.15);
            } else if st.sentiment > 0.0 && rng.bernoulli(0.4 * scale) {
                price *= 1.0 + rng.uniform(0.03, 0.08);
            }
            if st.adoption > 0.65 && plan != "enterprise" && rng.bernoulli(0.08 * scale) {
                price *= 1.2;
                plan = if seg_i == 2 { "growth" } else { "professional" };
            }
            let late = if rng.bernoulli(0.06) {
                rng.range_i64(3, 20)
            } else {
                0
            };
            term_start = term_end + Duration::days(1 + late);
            term_end = add_months(term_start, tm) - Duration::days(1);
            if term_start < data_end {
                push_term(
                    &mut out,
                    &mut contract_n,
                    term_start,
                    term_end,
                    seats,
                    price,
                    plan,
                );
                pending_invoices.push((term_start, (seats * price).round(), tm));
            }
        }
        let hi = end_of_life.unwrap_or(me).min(data_end - Duration::days(1));

        // 6. Observations for days lo..=hi.
        if lo <= hi {
            // Invoices issued in this month.
            pending_invoices.retain(|(issue, amount, months)| {
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

            // Usage.
            let days = workdays(lo, hi);
            let util = (0.08 + 0.85 * st.adoption + rng.gauss(0.0, 0.04)).clamp(0.02, 1.0);
            let n_users = rng.binomial(seats as u64, util) as u32;
            active_users_last = n_users as f64;
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
                        &mut out.usage,
                        &mut rng,
                        cfg.grain,
                        &days,
                        u,
                        f as u8,
                        q,
                        st.adoption,
                    );
                }
            }

            // Tickets.
            // Pain multiplies the account's usual ticket rate (which grows with its size),
            // so it shows as tickets per seat rather than as a raw count.
            let lambda = (0.25 + 0.035 * (n_users as f64).powf(0.75)) * (0.6 + 1.6 * st.pain);
            let mut spans: Vec<(u64, bool)> = vec![(rng.poisson(lambda), false)];
            if storm {
                spans.push((rng.poisson(4.0 + 2.0 * seg_size), true));
            }
            let span_days = ((hi - lo).num_days() + 1).max(1);
            let storm_start = rng.below(span_days as u64) as i64;
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
                    let data_end_ms = to_days(data_end) as i64 * dates::MS_PER_DAY;
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
                    out.tickets.push(TicketRow {
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
                    ticket_n += 1;
                }
            }

            // NPS survey waves in Feb, May, Aug and Nov.
            if matches!(ms.month(), 2 | 5 | 8 | 11) {
                let current: Vec<(u32, &'static str)> = out
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
                    if rng.bernoulli(respond) {
                        let adj = if role == "champion" { 0.5 } else { 0.0 };
                        let score = (7.0 + 1.5 * st.sentiment + adj + rng.gauss(0.0, 1.2))
                            .round()
                            .clamp(0.0, 10.0) as u8;
                        st.last_nps = Some(score);
                        out.nps.push(NpsRow {
                            date: weekday_in(&mut rng, lo, hi),
                            score,
                            contact: id,
                        });
                    }
                }
            }
            // Background contact turnover (admins and users).
            if rng.bernoulli(0.015) {
                let others: Vec<usize> = (0..out.contacts.len())
                    .filter(|&i| {
                        matches!(out.contacts[i].role, "admin" | "user")
                            && out.contacts[i].end.is_none()
                    })
                    .collect();
                if !others.is_empty() {
                    let i = *rng.choose(&others);
                    let role = out.contacts[i].role;
                    out.contacts[i].end = Some(hi);
                    add_contact(&mut out, role, hi);
                }
            }
        }
        alive_until = end_of_life;
    }
    let _ = ticket_n;
    // Contacts that start after the data ends are not yet known.
    out.contacts.retain(|c| c.start < data_end);
    let months: Vec<NaiveDate> = out.truth.iter().map(|m| m.date).collect();
    let caused = realised_effects(&st.plays, &months, &pending, &decided);
    for (m, caused) in out.truth.iter_mut().zip(caused) {
        for (p, &c) in caused.iter().enumerate() {
            if st
                .plays
                .iter()
                .any(|(d, k)| *k == p && treated_at(*d, m.date))
            {
                out.tally.treated[p] += 1;
                out.tally.att_sum[p] += c;
            }
        }
        m.caused_90d = caused;
    }
    out
}

/// Whether a play on day `d` treats the month starting `ms`: it falls in the month
/// before.
fn treated_at(d: NaiveDate, ms: NaiveDate) -> bool {
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
fn realised_effects(
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

// ---------------------------------------------------------------------------------------
// Writing.

const PRIORITIES: [&str; 4] = ["p1", "p2", "p3", "p4"];

fn account_id(idx: usize) -> String {
    format!("A{idx:06}")
}

fn s(v: impl Into<String>) -> Option<String> {
    Some(v.into())
}

fn day(d: NaiveDate) -> Option<i32> {
    Some(to_days(d))
}

struct Chunk<'a>(&'a [AccountOut]);

impl Chunk<'_> {
    fn accounts(&self) -> Table {
        let a = self.0;
        Table::new()
            .with(
                "account_id",
                Column::Str(a.iter().map(|x| s(account_id(x.idx))).collect()),
            )
            .with(
                "name",
                Column::Str(a.iter().map(|x| s(x.name.clone())).collect()),
            )
            .with(
                "segment",
                Column::Str(a.iter().map(|x| s(SEGMENTS[x.segment].name)).collect()),
            )
            .with(
                "industry",
                Column::Str(a.iter().map(|x| s(x.industry)).collect()),
            )
            .with(
                "region",
                Column::Str(a.iter().map(|x| s(x.region)).collect()),
            )
            .with(
                "csm",
                Column::Str(a.iter().map(|x| s(x.csm.clone())).collect()),
            )
            .with(
                "created_date",
                Column::Date(a.iter().map(|x| day(x.created)).collect()),
            )
            .with(
                "parent_id",
                Column::Str(a.iter().map(|x| x.parent.map(account_id)).collect()),
            )
    }

    fn rows<R>(&self, get: impl Fn(&AccountOut) -> &Vec<R>) -> Vec<(usize, &R)> {
        self.0
            .iter()
            .flat_map(|a| get(a).iter().map(move |r| (a.idx, r)))
            .collect()
    }

    /// Like [`Chunk::rows`], with each row's number within its account (for ids).
    fn numbered<R>(&self, get: impl Fn(&AccountOut) -> &Vec<R>) -> Vec<(usize, usize, &R)> {
        self.0
            .iter()
            .flat_map(|a| get(a).iter().enumerate().map(move |(k, r)| (a.idx, k, r)))
            .collect()
    }

    fn contracts(&self) -> Table {
        let r = self.rows(|a| &a.contracts);
        Table::new()
            .with(
                "account_id",
                Column::Str(r.iter().map(|(i, _)| s(account_id(*i))).collect()),
            )
            .with(
                "contract_id",
                Column::Str(
                    r.iter()
                        .map(|(i, c)| s(format!("C{i:06}-{:02}", c.id)))
                        .collect(),
                ),
            )
            .with(
                "start_date",
                Column::Date(r.iter().map(|(_, c)| day(c.start)).collect()),
            )
            .with(
                "end_date",
                Column::Date(r.iter().map(|(_, c)| day(c.end)).collect()),
            )
            .with(
                "arr",
                Column::Float(r.iter().map(|(_, c)| Some(c.arr)).collect()),
            )
            .with(
                "seats",
                Column::Int(r.iter().map(|(_, c)| Some(c.seats as i64)).collect()),
            )
            .with(
                "plan",
                Column::Str(r.iter().map(|(_, c)| s(c.plan)).collect()),
            )
            .with(
                "discount",
                Column::Float(
                    r.iter()
                        .map(|(_, c)| Some((c.discount * 1000.0).round() / 1000.0))
                        .collect(),
                ),
            )
    }

    fn usage(&self) -> Table {
        let r = self.rows(|a| &a.usage);
        Table::new()
            .with(
                "account_id",
                Column::Str(r.iter().map(|(i, _)| s(account_id(*i))).collect()),
            )
            .with(
                "date",
                Column::Date(r.iter().map(|(_, u)| day(u.date)).collect()),
            )
            .with(
                "feature",
                Column::Str(
                    r.iter()
                        .map(|(_, u)| s(FEATURES[u.feature as usize].0))
                        .collect(),
                ),
            )
            .with(
                "user_id",
                Column::Str(
                    r.iter()
                        .map(|(i, u)| s(format!("U{i:06}-{:04}", u.user)))
                        .collect(),
                ),
            )
            .with(
                "events",
                Column::Int(r.iter().map(|(_, u)| Some(u.events as i64)).collect()),
            )
            .with(
                "minutes",
                Column::Int(r.iter().map(|(_, u)| Some(u.minutes as i64)).collect()),
            )
    }

    fn tickets(&self) -> Table {
        let r = self.numbered(|a| &a.tickets);
        Table::new()
            .with(
                "account_id",
                Column::Str(r.iter().map(|(i, _, _)| s(account_id(*i))).collect()),
            )
            .with(
                "ticket_id",
                Column::Str(
                    r.iter()
                        .map(|(i, k, _)| s(format!("T{i:06}-{k:04}")))
                        .collect(),
                ),
            )
            .with(
                "opened_at",
                Column::Timestamp(r.iter().map(|(_, _, t)| Some(t.opened)).collect()),
            )
            .with(
                "closed_at",
                Column::Timestamp(r.iter().map(|(_, _, t)| t.closed).collect()),
            )
            .with(
                "priority",
                Column::Str(
                    r.iter()
                        .map(|(_, _, t)| s(PRIORITIES[t.priority as usize]))
                        .collect(),
                ),
            )
            .with(
                "csat",
                Column::Int(r.iter().map(|(_, _, t)| t.csat.map(i64::from)).collect()),
            )
            .with(
                "escalated",
                Column::Bool(r.iter().map(|(_, _, t)| Some(t.escalated)).collect()),
            )
    }

    fn nps(&self) -> Table {
        let r = self.rows(|a| &a.nps);
        Table::new()
            .with(
                "account_id",
                Column::Str(r.iter().map(|(i, _)| s(account_id(*i))).collect()),
            )
            .with(
                "date",
                Column::Date(r.iter().map(|(_, n)| day(n.date)).collect()),
            )
            .with(
                "score",
                Column::Int(r.iter().map(|(_, n)| Some(n.score as i64)).collect()),
            )
            .with(
                "contact_id",
                Column::Str(
                    r.iter()
                        .map(|(i, n)| s(format!("P{i:06}-{:03}", n.contact)))
                        .collect(),
                ),
            )
    }

    fn contacts(&self) -> Table {
        let r = self.rows(|a| &a.contacts);
        Table::new()
            .with(
                "account_id",
                Column::Str(r.iter().map(|(i, _)| s(account_id(*i))).collect()),
            )
            .with(
                "contact_id",
                Column::Str(
                    r.iter()
                        .map(|(i, c)| s(format!("P{i:06}-{:03}", c.id)))
                        .collect(),
                ),
            )
            .with(
                "role",
                Column::Str(r.iter().map(|(_, c)| s(c.role)).collect()),
            )
            .with(
                "start_date",
                Column::Date(r.iter().map(|(_, c)| day(c.start)).collect()),
            )
            .with(
                "end_date",
                Column::Date(r.iter().map(|(_, c)| c.end.map(to_days)).collect()),
            )
    }

    fn invoices(&self) -> Table {
        let r = self.numbered(|a| &a.invoices);
        Table::new()
            .with(
                "account_id",
                Column::Str(r.iter().map(|(i, _, _)| s(account_id(*i))).collect()),
            )
            .with(
                "invoice_id",
                Column::Str(
                    r.iter()
                        .map(|(i, k, _)| s(format!("I{i:06}-{k:03}")))
                        .collect(),
                ),
            )
            .with(
                "due_date",
                Column::Date(r.iter().map(|(_, _, v)| day(v.due)).collect()),
            )
            .with(
                "amount",
                Column::Float(r.iter().map(|(_, _, v)| Some(v.amount)).collect()),
            )
            .with(
                "paid_date",
                Column::Date(r.iter().map(|(_, _, v)| v.paid.map(to_days)).collect()),
            )
    }

    fn activities(&self) -> Table {
        let r = self.rows(|a| &a.activities);
        Table::new()
            .with(
                "account_id",
                Column::Str(r.iter().map(|(i, _)| s(account_id(*i))).collect()),
            )
            .with(
                "date",
                Column::Date(r.iter().map(|(_, a)| day(a.date)).collect()),
            )
            .with(
                "type",
                Column::Str(
                    r.iter()
                        .map(|(_, a)| s(PLAY_EFFECTS[a.play as usize].0))
                        .collect(),
                ),
            )
    }

    fn truth_months(&self) -> Table {
        let r = self.rows(|a| &a.truth);
        let mut t = Table::new()
            .with(
                "account_id",
                Column::Str(r.iter().map(|(i, _)| s(account_id(*i))).collect()),
            )
            .with(
                "snapshot_date",
                Column::Date(r.iter().map(|(_, m)| day(m.date)).collect()),
            )
            .with(
                "p_churn_90d",
                Column::Float(
                    r.iter()
                        .map(|(_, m)| Some((m.p90 * 1e6).round() / 1e6))
                        .collect(),
                ),
            )
            .with(
                "renewal_in_horizon",
                Column::Bool(r.iter().map(|(_, m)| Some(m.renewal_in_horizon)).collect()),
            );
        for (k, (name, _)) in PLAY_EFFECTS.iter().enumerate() {
            t = t.with(
                &format!("effect_{name}_90d"),
                Column::Float(
                    r.iter()
                        .map(|(_, m)| Some((m.play_effect_90d[k] * 1e6).round() / 1e6))
                        .collect(),
                ),
            );
        }
        for (k, (name, _)) in PLAY_EFFECTS.iter().enumerate() {
            t = t.with(
                &format!("caused_{name}_90d"),
                Column::Float(
                    r.iter()
                        .map(|(_, m)| Some((m.caused_90d[k] * 1e6).round() / 1e6))
                        .collect(),
                ),
            );
        }
        for (k, (name, _, _)) in DRIVER_WEIGHTS.iter().enumerate() {
            t = t.with(
                &format!("{name}_risk"),
                Column::Float(
                    r.iter()
                        .map(|(_, m)| Some((m.risks[k] * 1e4).round() / 1e4))
                        .collect(),
                ),
            );
        }
        t
    }

    fn truth_accounts(&self) -> Table {
        let a = self.0;
        Table::new()
            .with(
                "account_id",
                Column::Str(a.iter().map(|x| s(account_id(x.idx))).collect()),
            )
            .with(
                "fit",
                Column::Float(
                    a.iter()
                        .map(|x| Some((x.fit * 1e4).round() / 1e4))
                        .collect(),
                ),
            )
            .with(
                "churn_date",
                Column::Date(a.iter().map(|x| x.churn.map(|c| to_days(c.0))).collect()),
            )
            .with(
                "churn_driver",
                Column::Str(a.iter().map(|x| x.churn.map(|c| c.1.to_string())).collect()),
            )
    }

    fn truth_events(&self) -> Table {
        let r = self.rows(|a| &a.events);
        Table::new()
            .with(
                "account_id",
                Column::Str(r.iter().map(|(i, _)| s(account_id(*i))).collect()),
            )
            .with(
                "date",
                Column::Date(r.iter().map(|(_, e)| day(e.0)).collect()),
            )
            .with(
                "event",
                Column::Str(r.iter().map(|(_, e)| s(e.1)).collect()),
            )
    }
}

fn write_chunk(
    outs: &[AccountOut],
    writers: &mut [TableWriter],
    truth_writers: &mut [TableWriter],
) -> Result<()> {
    let c = Chunk(outs);
    let tables = [
        c.accounts(),
        c.contracts(),
        c.usage(),
        c.tickets(),
        c.nps(),
        c.contacts(),
        c.invoices(),
        c.activities(),
    ];
    for (w, t) in writers.iter_mut().zip(tables.iter()) {
        w.write(t)?;
    }
    let truth = [c.truth_months(), c.truth_accounts(), c.truth_events()];
    for (w, t) in truth_writers.iter_mut().zip(truth.iter()) {
        w.write(t)?;
    }
    Ok(())
}

/// Row counts and figures of a finished simulation.
#[derive(Clone, Debug, Serialize)]
pub struct SimSummary {
    pub accounts: usize,
    pub rows: Vec<(String, usize)>,
    pub data_end: NaiveDate,
    pub churned_accounts: usize,
}

impl SimSummary {
    pub fn total_rows(&self) -> usize {
        self.rows.iter().map(|r| r.1).sum()
    }
}

const TABLE_NAMES: [&str; 8] = [
    "accounts",
    "contracts",
    "usage",
    "tickets",
    "nps",
    "contacts",
    "invoices",
    "activities",
];
const TRUTH_NAMES: [&str; 3] = ["account_months", "accounts", "events"];

/// Simulates the book described by `cfg` into `out` (tables) and `out/truth`.
/// `progress` is called with the number of accounts done after each chunk.
pub fn simulate(
    cfg: &SimConfig,
    out: &Path,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<SimSummary> {
    if cfg.accounts == 0 || cfg.months == 0 {
        return Err(Error::Input(
            "simulate needs at least one account and one month".into(),
        ));
    }
    let truth_dir = out.join("truth");
    fs::create_dir_all(&truth_dir).map_err(|e| Error::io(&truth_dir, e))?;
    let ext = cfg.format.extension();
    let mut writers = TABLE_NAMES
        .iter()
        .map(|n| TableWriter::create(&out.join(format!("{n}.{ext}")), cfg.format))
        .collect::<Result<Vec<_>>>()?;
    let mut truth_writers = TRUTH_NAMES
        .iter()
        .map(|n| TableWriter::create(&truth_dir.join(format!("{n}.{ext}")), cfg.format))
        .collect::<Result<Vec<_>>>()?;

    let n_initial = (cfg.accounts as f64 * 0.62).round() as usize;
    let mut csm_counts = [1usize; 3];
    for (k, seg) in SEGMENTS.iter().enumerate() {
        csm_counts[k] = ((cfg.accounts as f64 * seg.share) as usize / seg.csm_per).max(2);
    }
    let mut tally = PlayTally::default();
    let mut risk_sums = [(0.0f64, 0.0f64); 5];
    let mut risk_n = 0usize;
    let mut churned = 0usize;
    let mut done = 0usize;
    let chunk = cfg.chunk.max(1);
    let simulate_chunk = |lo: usize| -> Vec<AccountOut> {
        let hi = (lo + chunk).min(cfg.accounts);
        (lo..hi)
            .into_par_iter()
            .map(|i| simulate_account(cfg, i, n_initial, &csm_counts))
            .collect()
    };
    // Simulate the next chunk while the current one is written.
    let mut next = Some(simulate_chunk(0));
    let mut lo = 0;
    while let Some(outs) = next.take() {
        let hi = (lo + chunk).min(cfg.accounts);
        let (following, written) = rayon::join(
            || (hi < cfg.accounts).then(|| simulate_chunk(hi)),
            || write_chunk(&outs, &mut writers, &mut truth_writers),
        );
        written?;
        next = following;
        lo = hi;
        for a in &outs {
            churned += usize::from(a.churn.is_some());
            risk_n += a.truth.len();
            for k in 0..PLAY_EFFECTS.len() {
                tally.treated[k] += a.tally.treated[k];
                tally.att_sum[k] += a.tally.att_sum[k];
            }
            for (sum, add) in risk_sums.iter_mut().zip(&a.risk_sums) {
                sum.0 += add.0;
                sum.1 += add.1;
            }
        }
        done = hi;
        progress(done);
    }
    let rows: Vec<(String, usize)> = TABLE_NAMES
        .iter()
        .zip(&writers)
        .map(|(n, w)| (n.to_string(), w.rows()))
        .collect();
    for w in writers.into_iter().chain(truth_writers) {
        w.finish()?;
    }

    // Driver weights with the spread of each driver over account-months.
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
    crate::input::io::write_atomic(&truth_dir.join("driver_weights.csv"), drivers.as_bytes())?;
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
    crate::input::io::write_atomic(&truth_dir.join("play_effects.csv"), plays.as_bytes())?;
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
    crate::input::io::write_atomic(&truth_dir.join("simulation.json"), meta.as_bytes())?;
    crate::input::io::write_atomic(&truth_dir.join("README.md"), TRUTH_README.as_bytes())?;
    let _ = done;
    Ok(SimSummary {
        accounts: cfg.accounts,
        rows,
        data_end: add_months(cfg.start, cfg.months as i32),
        churned_accounts: churned,
    })
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
