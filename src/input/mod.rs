//! Stage 1, tables -> validated frames: the data contract ([`schema`]), reading CSV and
//! Parquet ([`io`]), validation and typed loading of a book ([`load`]), CSV lines and encodings
//! ([`text`]), the book's plausible span of dates ([`span`]), an earlier run's list read back
//! ([`previous`]), and the small
//! column table every writer uses ([`table`]).

pub mod cut;
pub mod io;
pub mod load;
pub mod loaded;
pub mod previous;
pub mod schema;
pub mod span;
pub mod table;
pub mod text;
