//! One file per subcommand (xsv's shape): each runs its job through the library and
//! prints what came back.

pub mod analyze;
pub mod backtest;
pub mod bench_fit;
pub mod catalog;
pub mod evaluate;
pub mod features;
pub mod hazard;
pub mod health;
pub mod models;
pub mod report;
pub mod retention;
pub mod run;
pub mod score;
pub mod simulate;
pub mod sql;
pub mod train;
pub mod validate;
