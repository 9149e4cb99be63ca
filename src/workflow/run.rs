//! `churnlab run`: the whole pipeline on a folder of tables. Validation, retention,
//! snapshots and features; training with the cohort, cluster and propensity analyses
//! running beside it; the model folder (compared with the previous model under
//! `--previous`); scoring and explaining the accounts active at the as-of date with the
//! model as saved; the health-score validation when one is configured; drift since
//! training, and the list's stability against the previous list under `--previous`.

use std::path::PathBuf;
use std::time::Instant;

use chrono::NaiveDate;

use super::previous::Previous;
use super::{BookContext, OnProgress};
use crate::analysis::forecast::{self, Forecast};
use crate::analysis::{self, Analyses, targeting};
use crate::book::retention;
use crate::book::summary::{self, Summary};
use crate::common::memory;
use crate::config::Config;
use crate::error::Result;
use crate::features::dataset::Dataset;
use crate::features::{self, SnapshotTable};
use crate::health::validate::{self, Validation};
use crate::monitor::drift::{self, Drift};
use crate::monitor::stability::{self, Stability};
use crate::score::{self, ListOptions, ScoredList};
use crate::train::Trained;
use crate::train::artifact::{self, Manifest};
use crate::train::registry::Entry;

/// Where `run` reads and saves, and how it lists.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The folder of account tables.
    pub data: PathBuf,
    /// Where the model folder goes (`models/<run-id>`).
    pub models: PathBuf,
    /// The date the data describes as "now" (default: the config's, else the day after
    /// the latest event).
    pub as_of: Option<NaiveDate>,
    pub list: ListOptions,
    /// The previous model and list to compare with (see [`Previous::resolve`]).
    pub previous: Previous,
}

/// Seconds each stage took (logged and printed, never written to the outputs).
#[derive(Clone, Copy, Debug, Default)]
pub struct Timings {
    /// Loading and validating the book, with its contract histories.
    pub load: f64,
    /// From the start to the finished snapshot table.
    pub features: f64,
    pub training: f64,
    /// The account-month hazard, evaluated and fitted (concurrently with training).
    pub hazard: f64,
    /// Cohorts, clusters, propensity (concurrently with training).
    pub analyses: [f64; 3],
    /// Saving the model folder, loading it back, scoring and explaining the list.
    pub save_and_score: f64,
    pub total: f64,
}

impl Timings {
    fn log(&self) {
        log::info!(
            "stage seconds: load {:.1}, features {:.1}, training {:.1} (hazard {:.1}, cohorts {:.1}, clusters {:.1}, propensity {:.1} beside it), save and score {:.1}, total {:.1}",
            self.load,
            self.features - self.load,
            self.training,
            self.hazard,
            self.analyses[0],
            self.analyses[1],
            self.analyses[2],
            self.save_and_score,
            self.total
        );
    }
}

/// Everything one run produced; [`crate::output::run::write`] writes it.
pub struct RunResult {
    pub summary: Summary,
    pub retention: retention::Report,
    pub table: SnapshotTable,
    pub dataset: Dataset,
    pub trained: Trained,
    pub analyses: Analyses,
    pub model_dir: PathBuf,
    pub manifest: Manifest,
    /// The model's line in `MODELS/index.json` (promoted or not, and why).
    pub entry: Entry,
    /// Drift between the training window and the scoring date.
    pub drift: Drift,
    /// How much the list changed since the previous run's, when there was one.
    pub stability: Option<Stability>,
    /// The health-score validation, when `[health]` is configured.
    pub health: Option<Validation>,
    /// The ranked at-risk list, scored with the model as saved.
    pub list: ScoredList,
    /// Expected churned and downsold ARR over the horizon, by segment.
    pub forecast: Forecast,
    /// Per play with a supported effect, a window's worth of it aimed two ways.
    pub budget: Vec<targeting::BudgetRow>,
    /// Every scored account's estimated effect of every play with an effect model.
    pub play_effects: Vec<targeting::PlayEffect>,
    /// The account-month hazard's out-of-time figures, when it was fitted and the data
    /// follows a snapshot for twelve months.
    pub hazard: Option<crate::hazard::HazardEvaluation>,
    pub seconds: Timings,
}

/// Runs the whole pipeline on `opts.data`.
pub fn run(opts: &RunOptions, cfg: &Config, progress: OnProgress<'_>) -> Result<RunResult> {
    let t0 = Instant::now();
    let previous = opts.previous.load()?;
    let mut ctx = BookContext::for_job(&opts.data, opts.as_of, cfg)?;
    let t_load = t0.elapsed().as_secs_f64();
    let summary = summary::summarize(&ctx.book, &ctx.accounts, &ctx.histories, ctx.as_of);
    let retention = retention::report(
        &ctx.accounts,
        &ctx.terms,
        &ctx.histories,
        ctx.grace_days,
        ctx.as_of,
    );
    let table = ctx.snapshot_table(cfg.snapshots(), cfg.features())?;
    let dataset = Dataset::from_snapshots(&table);
    let plays = features::play_flags(&ctx.book, &table)?;
    let scoring_rows = table.scoring_rows();
    let labelled = dataset.labelled();
    let mut table_signals =
        drift::table_signals(&ctx.book, &dataset, &labelled, &scoring_rows, table.as_of);
    table_signals.extend(drift::new_usage_types(&table.unmodelled_usage_types));
    // Nothing reads the raw tables after this point: let the largest go before training
    // (the usage frame is about half of a large book's memory).
    ctx.book.release_event_tables();
    memory::release_freed();
    let inputs = analysis::Inputs {
        ds: &dataset,
        accounts: &ctx.accounts,
        histories: &ctx.histories,
        as_of: table.as_of,
        plays: &plays,
        seed: cfg.seed(),
    };
    log::info!("training the models while the cohort, cluster and propensity analyses run");
    let t_features = t0.elapsed().as_secs_f64();
    let (((trained, t_train), (hazard, t_hazard)), analyses) = rayon::join(
        || {
            rayon::join(
                || {
                    let t = Instant::now();
                    let scheme = super::train::scheme_for(&dataset, cfg);
                    let r = super::train::train_dataset(&dataset, scheme, cfg, progress);
                    (r, t.elapsed().as_secs_f64())
                },
                || {
                    let t = Instant::now();
                    let h = super::train::book_hazard(&table, &dataset, cfg);
                    (h, t.elapsed().as_secs_f64())
                },
            )
        },
        || analysis::run_all(&inputs),
    );
    let mut trained = trained?;
    // The design matrices of training are gone; so should their pages be.
    memory::release_freed();
    log::info!(
        "up to the snapshot table {t_features:.1}s; then concurrently: training {t_train:.1}s, cohorts {:.1}s, clusters {:.1}s, propensity {:.1}s; wall {:.1}s since the start",
        analyses.seconds[0],
        analyses.seconds[1],
        analyses.seconds[2],
        t0.elapsed().as_secs_f64()
    );
    let t_save = Instant::now();
    let base = super::train::ManifestBase::book(&opts.data, &table);
    // The next best play's models go into the model folder, for `churnlab score`.
    let mut extra = match &analyses.propensity {
        Ok(p) => vec![(targeting::PLAYS_FILE, p.play_models.to_json()?)],
        Err(_) => Vec::new(),
    };
    extra.extend(super::train::hazard_file(hazard.as_ref())?);
    let (model_dir, entry) = super::train::save(
        &opts.models,
        &base,
        &mut trained,
        &dataset,
        previous.model.as_ref(),
        cfg,
        &extra,
    )?;
    // Score with the model as saved, exactly as `churnlab score` would.
    let m = artifact::load(&model_dir)?;
    let book = Book {
        ctx: &ctx,
        table: &table,
        dataset: &dataset,
        scoring_rows: &scoring_rows,
    };
    let scored = score_the_book(&m, &book, &trained, &analyses, &opts.list, cfg)?;
    let list = scored.list;
    log::info!(
        "measuring drift between the training window and {}",
        table.as_of
    );
    let drift = drift::drift(&drift::Inputs {
        ds: &dataset,
        then: &dataset.labelled(),
        recent: &trained.test_rows,
        now: &scoring_rows,
        as_of: table.as_of,
        importance: &crate::explain::importance(m.champion()?, &dataset, &scoring_rows)?,
        table_signals,
        previous_features: previous.model_features().as_deref(),
    });
    for s in &drift.signals {
        log::warn!("drift: {} {}: {}", s.table, s.change, s.detail);
    }
    let stability = previous.list.as_ref().map(|p| {
        stability::stability(
            &list,
            &p.accounts,
            &p.drivers,
            &p.path.display().to_string(),
        )
    });
    let forecast = forecast::of_list(
        &list,
        &forecast::contraction_rates(&retention, table.horizon_days),
        table.horizon_days,
        cfg.seed(),
    );
    let seconds = Timings {
        load: t_load,
        features: t_features,
        training: t_train,
        hazard: t_hazard,
        analyses: analyses.seconds,
        save_and_score: t_save.elapsed().as_secs_f64(),
        total: t0.elapsed().as_secs_f64(),
    };
    seconds.log();
    Ok(RunResult {
        summary,
        retention,
        table,
        dataset,
        trained,
        analyses,
        model_dir,
        manifest: m.manifest,
        entry,
        drift,
        stability,
        health: scored.health,
        list,
        forecast,
        budget: scored.budget,
        play_effects: scored.play_effects,
        hazard: hazard.and_then(|h| h.evaluation),
        seconds,
    })
}

/// The ranked list of the book's accounts, scored with the saved model `m`, with the
/// health score (when configured) and each account's next best play; and what the plays
/// are worth aimed at it.
struct Scored {
    list: ScoredList,
    health: Option<Validation>,
    budget: Vec<targeting::BudgetRow>,
    play_effects: Vec<targeting::PlayEffect>,
}

/// The book as the scoring step reads it: its tables, snapshot table and design, and the
/// rows that are scored (one per account at the as-of date).
struct Book<'a> {
    ctx: &'a BookContext,
    table: &'a SnapshotTable,
    dataset: &'a Dataset,
    scoring_rows: &'a [usize],
}

fn score_the_book(
    m: &artifact::ModelDir,
    book: &Book,
    trained: &Trained,
    analyses: &Analyses,
    list_options: &ListOptions,
    cfg: &Config,
) -> Result<Scored> {
    let Book {
        ctx,
        table,
        dataset,
        scoring_rows,
    } = *book;
    log::info!(
        "scoring and explaining every account in the book on {}",
        table.as_of
    );
    let mut list = score::score_snapshot(m, table, &ctx.accounts, &ctx.histories, cfg.scoring())?;
    let health = match cfg.health() {
        Some(h) => {
            log::info!("validating the health score");
            let v = validate::validate(h, dataset, &trained.scheme, Some(trained))?;
            list.attach_health(h, dataset, scoring_rows);
            Some(v)
        }
        None => None,
    };
    if let Ok(p) = &analyses.propensity {
        targeting::attach_best_plays(&mut list, &p.play_models, dataset, scoring_rows)?;
    }
    list.arrange(list_options);
    let (budget, play_effects) = match &analyses.propensity {
        Ok(p) => (
            targeting::play_budget(&list, p, dataset),
            targeting::play_effects(&list, p, dataset),
        ),
        Err(_) => (Vec::new(), Vec::new()),
    };
    Ok(Scored {
        list,
        health,
        budget,
        play_effects,
    })
}
