//! churnlab: a batch pipeline for B2B SaaS Customer Success teams that predicts which
//! accounts will churn and says why.
//!
//! Data flows one way, one module per stage:
//! tables ([`load`], contract in [`schema`]) -> snapshots and labels ([`snapshot`]) ->
//! feature matrix ([`features`]) -> ...; retention metrics ([`retention`]) from contracts.
//! The simulator ([`sim`]) writes books whose hidden truth is known, for tests.

pub mod analysis;
pub mod artifact;
pub mod config;
pub mod dataset;
pub mod dates;
pub mod drivers;
pub mod error;
pub mod explain;
pub mod features;
pub mod health;
pub mod io;
pub mod load;
pub mod metrics;
pub mod model;
pub mod prep;
pub mod retention;
pub mod rng;
pub mod schema;
pub mod score;
pub mod sim;
pub mod snapshot;
pub mod split;
pub mod summary;
pub mod table;
pub mod train;

pub use error::{Error, Result};
