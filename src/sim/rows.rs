//! One account's simulated rows, table by table, before they are written.

use chrono::NaiveDate;

pub(super) struct ContractRow {
    pub(super) id: u32,
    pub(super) start: NaiveDate,
    pub(super) end: NaiveDate,
    pub(super) arr: f64,
    pub(super) seats: u32,
    pub(super) plan: &'static str,
    pub(super) discount: f64,
}
pub(super) struct UsageRow {
    pub(super) date: NaiveDate,
    pub(super) feature: u8,
    pub(super) user: u32,
    pub(super) events: u32,
    pub(super) minutes: f64,
}
pub(super) struct TicketRow {
    pub(super) opened: i64,
    pub(super) closed: Option<i64>,
    pub(super) priority: u8,
    pub(super) csat: Option<u8>,
    pub(super) escalated: bool,
}
pub(super) struct NpsRow {
    pub(super) date: NaiveDate,
    pub(super) score: u8,
    pub(super) contact: u32,
}
pub(super) struct ContactRow {
    pub(super) id: u32,
    pub(super) role: &'static str,
    pub(super) start: NaiveDate,
    pub(super) end: Option<NaiveDate>,
}
pub(super) struct InvoiceRow {
    pub(super) due: NaiveDate,
    pub(super) amount: f64,
    pub(super) paid: Option<NaiveDate>,
}
pub(super) struct ActivityRow {
    pub(super) date: NaiveDate,
    pub(super) play: u8,
}
pub(super) struct AccountOut {
    pub(super) idx: usize,
    pub(super) name: String,
    pub(super) segment: usize,
    pub(super) industry: &'static str,
    pub(super) region: &'static str,
    pub(super) csm: String,
    pub(super) created: NaiveDate,
    pub(super) parent: Option<usize>,
    pub(super) fit: f64,
    pub(super) contracts: Vec<ContractRow>,
    pub(super) usage: Vec<UsageRow>,
    pub(super) tickets: Vec<TicketRow>,
    pub(super) nps: Vec<NpsRow>,
    pub(super) contacts: Vec<ContactRow>,
    pub(super) invoices: Vec<InvoiceRow>,
    pub(super) activities: Vec<ActivityRow>,
    pub(super) truth: Vec<TruthMonth>,
    pub(super) events: Vec<(NaiveDate, &'static str)>,
    pub(super) churn: Option<(NaiveDate, &'static str)>,
    pub(super) tally: PlayTally,
    pub(super) risk_sums: [(f64, f64); 5],
}

pub(super) struct TruthMonth {
    pub(super) date: NaiveDate,
    pub(super) p90: f64,
    /// Per play: the change in `p90` had the play been run at `date` (0 when one of its
    /// kind is already in effect for every renewal of the horizon).
    pub(super) play_effect_90d: [f64; 6],
    /// Per play: the change in the probability of churning within the horizon that the
    /// plays of its kind run in the window before `date` caused, as it turned out
    /// (see `realised_effects`; 0 when there were none).
    pub(super) caused_90d: [f64; 6],
    pub(super) risks: [f64; 5],
    pub(super) renewal_in_horizon: bool,
}

#[derive(Default)]
pub(super) struct PlayTally {
    /// Account-months with the play in the month before.
    pub(super) treated: [u64; 6],
    /// Sums of `caused_90d` over them.
    pub(super) att_sum: [f64; 6],
}
