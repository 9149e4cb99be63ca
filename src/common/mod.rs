//! Vocabulary every stage shares: dates as day numbers, the seeded random streams, the
//! health components and model families, the logit, bootstrap intervals, and number formats for people.

pub mod catalog;
pub mod dates;
pub mod fmt;
pub mod math;
pub(crate) mod memory;
pub mod nan;
pub(crate) mod process;
pub mod rng;
pub(crate) mod stats;
pub mod vocab;
