//! churnlab: a batch pipeline for B2B SaaS Customer Success teams that predicts which
//! accounts will churn and says why.
//!
//! Data flows one way, one folder per stage:
//!
//! ```text
//! input     tables -> validated frames        (schema, io, load, span, table)
//! book      frames -> histories, snapshots     (retention, snapshot, summary)
//! features  snapshots -> feature matrix        (one file per table, table, window,
//!                                               dataset; the catalog is in common)
//! sql       the snapshot table as SQL for DuckDB, Spark, BigQuery, Snowflake
//!           (one file per stage, columns derived from the catalog)
//! model     matrix -> fitted models            (prep, logistic, tree/, calibrate)
//! train     models -> validated champion       (split: the Scheme, metrics, train,
//!                                               artifact, card, compare, registry;
//!                                               survival: metrics for time to churn)
//! hazard    snapshots -> account-months at risk -> P(churn within 1..12 months)
//! explain   models -> contributions, drivers   (treeshap, drivers)
//! score     champion -> ranked at-risk list
//! health    the CS team's health score, validated against churn
//! analysis  cohorts, clusters, propensity of CS plays, the renewal forecast
//! monitor   drift since training, list stability since the previous run
//! output    writers (csv, parquet, json, the at_risk.xlsx workbook), each returning
//!           what it wrote (`Written`); text renderings; file names (`names`)
//! report    report.html, rendered from an output folder's files
//! ```
//!
//! [`workflow`] runs these stages for each job (run, train, score, health, analyze, backtest,
//! retention, validate) from one [`config::Config`], checked once before any work.
//! [`common`] holds the vocabulary every stage shares, [`config`] the checked
//! configuration, [`error`] the error type; the simulator ([`sim`]) writes books whose
//! hidden truth is known, for tests.

pub mod common;
pub mod config;
pub mod error;

pub mod input;

pub mod book;

pub mod features;

pub mod sql;

pub mod model;

pub mod train;

pub mod hazard;

pub mod explain;

pub mod score;

pub mod health;

pub mod analysis;

pub mod monitor;

pub mod output;

pub mod report;

pub mod workflow;

pub mod sim;

pub use config::{Config, RawConfig};
pub use error::{Error, Result};

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
