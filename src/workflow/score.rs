//! `churnlab score`: score new data with a saved model folder, without retraining.

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::NaiveDate;

use super::BookContext;
use crate::analysis::forecast::{self, Forecast};
use crate::analysis::targeting::{PlayModels, attach_best_plays};
use crate::book::retention;
use crate::config::Config;
use crate::features::dataset::Dataset;
use crate::score::{self, ListOptions, ScoredList};
use crate::train::artifact::{self, ModelDir};

/// What to score.
#[derive(Clone, Debug)]
pub enum ScoreSource {
    /// A folder of account tables: every account active at the as-of date is scored.
    Book {
        dir: PathBuf,
        as_of: Option<NaiveDate>,
    },
    /// A flat feature table with the model's feature columns.
    Flat { path: PathBuf, id: Option<String> },
}

/// A scored list and its renewal forecast.
pub struct Scoring {
    pub list: ScoredList,
    pub forecast: Forecast,
}

/// Loads the model folder `model` and scores `source` with its champion: probability,
/// tier, ARR at risk, drivers and (when configured) the health score, ranked and filtered
/// as `list` says. Snapshots and features follow the model's own configuration; tiers and
/// the health score follow `cfg` (the model's health score when `cfg` has none).
pub fn score(
    model: &Path,
    source: &ScoreSource,
    cfg: &Config,
    list: &ListOptions,
) -> crate::Result<Scoring> {
    let m = artifact::load(model)?;
    let health = cfg.health().or(m.config.health());
    let horizon = m.config.snapshots().horizon_days;
    let mut rates = Default::default();
    let mut scored = match source {
        ScoreSource::Book { dir, as_of } => {
            let mcfg = &m.config;
            let ctx = BookContext::open_with(
                dir,
                mcfg.data().grace_days,
                super::as_of(*as_of, cfg),
                super::loader(cfg),
            )?;
            let t = ctx.snapshot_table(mcfg.snapshots(), mcfg.features())?;
            for s in crate::monitor::drift::new_usage_types(&t.unmodelled_usage_types) {
                log::warn!("drift: {} {}: {}", s.table, s.change, s.detail);
            }
            let r = retention::report(
                &ctx.accounts,
                &ctx.terms,
                &ctx.histories,
                ctx.grace_days,
                ctx.as_of,
            );
            rates = forecast::contraction_rates(&r, horizon);
            let mut s =
                score::score_snapshot(&m, &t, &ctx.accounts, &ctx.histories, cfg.scoring())?;
            let plays = PlayModels::load(model)?;
            if health.is_some() || plays.is_some() {
                let ds = Dataset::from_snapshots(&t);
                let rows = t.scoring_rows();
                if let Some(h) = health {
                    s.attach_health(h, &ds, &rows);
                }
                // The next best play, as the run that saved the model offered it.
                if let Some(p) = &plays {
                    attach_best_plays(&mut s, p, &ds, &rows)?;
                }
            }
            s
        }
        ScoreSource::Flat { path, id } => score_flat(&m, path, id.as_deref(), cfg)?,
    };
    // The scored table and its features are gone; give their pages back before the
    // writers start.
    crate::common::memory::release_freed();
    scored.arrange(list);
    let t = Instant::now();
    let forecast = forecast::of_list(&scored, &rates, horizon, cfg.seed());
    log::info!("forecast in {:.1}s", t.elapsed().as_secs_f64());
    Ok(Scoring {
        list: scored,
        forecast,
    })
}

fn score_flat(
    m: &ModelDir,
    path: &Path,
    id: Option<&str>,
    cfg: &Config,
) -> crate::Result<ScoredList> {
    let t = Instant::now();
    log::info!("reading {}", path.display());
    let mut ds = Dataset::from_flat_unlabelled(path, id)?;
    // A snapshot table holds every snapshot: the accounts of its latest date are scored.
    if let Some((day, rows)) = ds.latest_snapshot() {
        log::info!(
            "a snapshot table: scoring the {} rows of its latest snapshot, {}",
            rows.len(),
            crate::common::dates::from_days(day)
        );
        ds = ds.subset(&rows);
    }
    log::info!(
        "read {} rows in {:.1}s; scoring and explaining with {}",
        ds.rows(),
        t.elapsed().as_secs_f64(),
        m.manifest.run_id
    );
    let t = Instant::now();
    let mut s = score::score_flat(m, &ds, cfg.scoring())?;
    if let Some(h) = cfg.health().or(m.config.health()) {
        let rows: Vec<usize> = (0..ds.rows()).collect();
        s.attach_health(h, &ds, &rows);
    }
    log::info!("scored and explained in {:.1}s", t.elapsed().as_secs_f64());
    Ok(s)
}
