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
//!
//! The mechanisms live one to a file: `world` (segments, names), `account` (an account's
//! month loop), `contracts` (terms, renewals, invoices), `latent` (the latent drivers), `dynamics` (how they move),
//! `odds` (a renewal's churn odds),
//! `plays` (CSM plays), `relationships` (contacts, NPS), `usage`, `support` (tickets),
//! `truth` (what the pipeline must recover) and `tables` (rows to files).

mod account;
mod config;
mod contracts;
mod dynamics;
mod latent;
mod odds;
mod plays;
mod relationships;
mod rows;
mod support;
mod tables;
mod truth;
mod usage;
mod world;

use std::fs;
use std::path::Path;

use chrono::NaiveDate;
use rayon::prelude::*;
use serde::Serialize;

use crate::common::dates::add_months;
use crate::error::{Error, Result};
use crate::input::io::TableWriter;
pub use config::{Grain, SimConfig};
use odds::PLAY_EFFECTS;
use rows::AccountOut;
use rows::PlayTally;
pub use world::FEATURES;
use world::SEGMENTS;

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
            .map(|i| account::simulate_account(cfg, i, n_initial, &csm_counts))
            .collect()
    };
    // Simulate the next chunk while the current one is written.
    let mut next = Some(simulate_chunk(0));
    let mut lo = 0;
    while let Some(outs) = next.take() {
        let hi = (lo + chunk).min(cfg.accounts);
        let (following, written) = rayon::join(
            || (hi < cfg.accounts).then(|| simulate_chunk(hi)),
            || tables::write_chunk(&outs, &mut writers, &mut truth_writers),
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

    truth::write_files(&truth_dir, cfg, &tally, &risk_sums, risk_n, churned)?;
    let _ = done;
    Ok(SimSummary {
        accounts: cfg.accounts,
        rows,
        data_end: add_months(cfg.start, cfg.months as i32),
        churned_accounts: churned,
    })
}
