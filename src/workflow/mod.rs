//! The pipeline as library calls, one file per job: [`run()`](run::run) (the whole
//! pipeline), [`train`](train::train), [`score`](score::score), [`health`](health::health),
//! [`analyze`](analyze::analyze), [`backtest`](backtest::backtest), and the inspections
//! [`validate`](inspect::validate),
//! [`retention`](inspect::retention) and [`features`](inspect::features).
//!
//! Every job takes a checked [`Config`] and returns a typed result; nothing here writes
//! to the terminal. The writers in [`crate::output`] turn results into files, and the CLI
//! prints them. A book is resolved once per job ([`BookContext`]): loaded and validated,
//! its as-of date fixed, and its contract histories computed a single time for every
//! stage that needs them.

pub mod analyze;
pub mod backtest;
pub mod bench;
pub mod health;
pub mod inspect;
pub mod previous;
pub mod run;
pub mod score;
pub mod train;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::book::retention::{self, History};
use crate::config::{Config, FeatureConfig, SnapshotConfig};
use crate::error::{Error, Result};
use crate::features::{self, SnapshotTable};
use crate::input::load::{self, AccountInfo, Book, Term};

pub use crate::train::Progress;

/// A progress sink for the jobs that train (the CLI draws a bar from it).
pub type OnProgress<'a> = &'a (dyn Fn(Progress<'_>) + Sync);

/// Ignores progress.
pub fn no_progress(_: Progress<'_>) {}

/// A loaded, validated book with its as-of date and contract histories, resolved once.
pub struct BookContext {
    pub(crate) dir: PathBuf,
    pub(crate) book: Book,
    pub(crate) accounts: Vec<AccountInfo>,
    pub(crate) terms: Vec<Term>,
    /// Each account's terms, spells and churn as of [`BookContext::as_of`].
    pub(crate) histories: Vec<History>,
    /// The date the data describes as "now".
    pub(crate) as_of: NaiveDate,
    pub(crate) grace_days: i64,
}

impl BookContext {
    /// The folder the book was read from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The validated tables.
    pub fn book(&self) -> &Book {
        &self.book
    }

    /// The accounts, in the accounts table's order.
    pub fn accounts(&self) -> &[AccountInfo] {
        &self.accounts
    }

    /// Every contract term.
    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// Each account's terms, spells and churn as of [`BookContext::as_of`].
    pub fn histories(&self) -> &[History] {
        &self.histories
    }

    /// The date the data describes as "now".
    pub fn as_of(&self) -> NaiveDate {
        self.as_of
    }

    /// The grace period after a term's end within which a renewal still counts.
    pub fn grace_days(&self) -> i64 {
        self.grace_days
    }

    /// Loads and validates the book in `dir`. The as-of date is `as_of` when given, else
    /// the day after the book's latest dated row; a book with no dated row is an error.
    pub fn open(dir: &Path, grace_days: i64, as_of: Option<NaiveDate>) -> Result<Self> {
        Self::open_with(dir, grace_days, as_of, load::Limits::default())
    }

    /// [`BookContext::open`] with the loader's options.
    pub fn open_with(
        dir: &Path,
        grace_days: i64,
        as_of: Option<NaiveDate>,
        limits: load::Limits,
    ) -> Result<Self> {
        log::info!("loading and validating {}", dir.display());
        let book = load::load_book_with(dir, limits)?;
        for w in &book.warnings {
            log::debug!("{w}");
        }
        Self::from_book(book, grace_days, as_of)
    }

    /// The context of a book already loaded (for example one cut at a past date).
    pub fn from_book(book: Book, grace_days: i64, as_of: Option<NaiveDate>) -> Result<Self> {
        let as_of = as_of.or_else(|| book.as_of()).ok_or_else(|| {
            Error::Input(format!(
                "{}: the data has no dated rows, so there is no as-of date",
                book.dir.display()
            ))
        })?;
        if let Some(span) = crate::input::span::contract_span(&book.tables) {
            let hi = crate::input::span::event_ceiling(span);
            let day = crate::common::dates::to_days(as_of);
            if day > hi || day < crate::input::span::floor(span) {
                return Err(Error::Input(format!(
                    "the as-of date {as_of} is outside the book's span of dates, {} to {} (from the contracts)",
                    crate::common::dates::from_days(crate::input::span::floor(span)),
                    crate::common::dates::from_days(hi)
                )));
            }
        }
        let accounts = book.accounts();
        let terms = book.terms();
        let histories = retention::histories(accounts.len(), &terms, grace_days, as_of);
        Ok(BookContext {
            dir: book.dir.clone(),
            book,
            accounts,
            terms,
            histories,
            as_of,
            grace_days,
        })
    }

    /// This book as it was known on `at` (see [`crate::input::cut`]), with `at` as its
    /// as-of date.
    pub fn cut(&self, at: NaiveDate) -> Result<Self> {
        Self::from_book(
            crate::input::cut::cut(&self.book, at)?,
            self.grace_days,
            Some(at),
        )
    }

    /// Opens the book for a job: the configuration's grace period, and the as-of date of
    /// the flag, else the configuration's `data.as_of`, else the data's.
    pub fn for_job(dir: &Path, as_of: Option<NaiveDate>, cfg: &Config) -> Result<Self> {
        Self::open_with(
            dir,
            cfg.data().grace_days,
            self::as_of(as_of, cfg),
            loader(cfg),
        )
    }

    /// The snapshot table: every active account at every snapshot date up to the as-of
    /// date, with labels and the feature catalog.
    pub fn snapshot_table(
        &self,
        snap: &SnapshotConfig,
        feat: &FeatureConfig,
    ) -> Result<SnapshotTable> {
        log::info!("computing point-in-time features");
        let t = features::build(
            &self.book,
            &self.accounts,
            &self.histories,
            snap,
            feat,
            self.grace_days,
            self.as_of,
        )?;
        for (f, why) in &t.unavailable {
            log::warn!("feature {f} unavailable: {why}");
        }
        log::info!(
            "snapshot table: {} account-snapshots over {} dates, {} labelled",
            t.rows.len(),
            t.snapshot_dates.len(),
            t.rows.iter().filter(|r| r.label.is_some()).count()
        );
        Ok(t)
    }
}

/// The loader's options a configuration asks for.
fn loader(cfg: &Config) -> load::Limits {
    load::Limits {
        skip_out_of_span_dates: cfg.data().skip_out_of_span_dates,
        ..load::Limits::default()
    }
}

/// The as-of date a job uses: the flag, else the configuration's `data.as_of`, else
/// (in [`BookContext::open`]) the day after the latest event.
fn as_of(flag: Option<NaiveDate>, cfg: &Config) -> Option<NaiveDate> {
    flag.or(cfg.data().as_of)
}
