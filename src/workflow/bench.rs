//! `churnlab bench-fit` (hidden): fit each model family once on a flat table with fixed
//! parameters, timing each fit, and export the design matrix for
//! `benches/compare_fit.py`.

use std::path::Path;
use std::time::Instant;

use super::train::{FlatTable, flat_dataset};
use crate::config::Config;
use crate::error::Result;
use crate::input::io::{self, Format};
use crate::input::table::{Column, Table};
use crate::model::prep::Preprocessor;
use crate::model::{self, Family, Params};
use crate::train::metrics;

/// Fits the benchmark parameters once each (or only family `only`); writes the matrix
/// to `matrix` when given and returns the timings as JSON.
pub fn bench_fit(
    flat: &FlatTable,
    matrix: Option<&Path>,
    only: Option<Family>,
    cfg: &Config,
) -> Result<serde_json::Value> {
    let params: Vec<Params> = Params::benchmark()
        .into_iter()
        .filter(|p| only.is_none_or(|o| p.family() == o))
        .collect();
    let t0 = Instant::now();
    let ds = flat_dataset(flat)?;
    let read_s = t0.elapsed().as_secs_f64();
    let rows = ds.labelled();
    let y = ds.labels(&rows);
    let t1 = Instant::now();
    let (prep, x) = Preprocessor::fit_transform(&ds, &rows)?;
    let prep_s = t1.elapsed().as_secs_f64();
    log::info!(
        "design matrix {} x {} in {prep_s:.1}s",
        x.nrows(),
        x.ncols()
    );
    if let Some(path) = matrix {
        let mut t = Table::new();
        for (j, c) in prep.columns.iter().enumerate() {
            t = t.with(
                &format!("x{j}_{}", c.name),
                Column::Float(x.column(j).iter().map(|v| Some(*v)).collect()),
            );
        }
        t = t.with("label", Column::Float(y.iter().map(|v| Some(*v)).collect()));
        io::write_table(path, &t, Format::Parquet)?;
        log::info!("wrote {}", path.display());
    }
    let mut fits = Vec::new();
    for params in params {
        let t = Instant::now();
        let m = model::fit(&params, x.view(), &y, None, None, cfg.seed());
        let secs = t.elapsed().as_secs_f64();
        let p = m.proba(x.view());
        let auc = metrics::roc_auc(&y, &p);
        log::info!(
            "{}: {secs:.1}s (training ROC-AUC {:.4})",
            params.describe(),
            auc.unwrap_or(f64::NAN)
        );
        fits.push(serde_json::json!({
            "family": params.family().name(),
            "params": params,
            "seconds": secs,
            "train_roc_auc": auc,
        }));
    }
    Ok(serde_json::json!({
        "rows": x.nrows(),
        "columns": x.ncols(),
        "threads": rayon::current_num_threads(),
        "read_seconds": read_s,
        "prep_seconds": prep_s,
        "fits": fits,
    }))
}
