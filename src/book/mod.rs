//! Stage 2, validated frames -> contract histories, snapshots and labels: each account's
//! terms and churn ([`retention`], with GRR/NRR), the point-in-time spine with its labels
//! ([`snapshot`]) and the summary `validate` prints ([`summary`]).

pub mod retention;
pub mod snapshot;
pub(crate) mod summary;
