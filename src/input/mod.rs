//! Stage 1, tables -> validated frames: the data contract ([`schema`]), reading CSV and
//! Parquet ([`io`]), validation and typed loading of a book ([`load`]), CSV lines and encodings
//! ([`text`]), the book's plausible span of dates ([`span`]), an earlier run's list read back
//! ([`previous`]), and the small
//! column table every writer uses ([`table`]).

pub(crate) mod cut;
pub mod io;
pub mod load;
pub(crate) mod loaded;
pub(crate) mod previous;
pub mod schema;
pub(crate) mod span;
pub mod table;
pub(crate) mod text;
