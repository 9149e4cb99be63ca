//! The library runs the whole pipeline without the CLI: `workflow::run::run` on a small
//! simulated book, its files written by `output::run::write`, and `[models] refit =
//! false` keeping the very models that were tested.

use churnlab::config::RawConfig;
use churnlab::input::io::Format;
use churnlab::model::Family;
use churnlab::score::ListOptions;
use churnlab::sim::{self, SimConfig};
use churnlab::train::artifact;
use churnlab::train::metrics;
use churnlab::workflow::{self, run::RunOptions};

fn small_book(dir: &std::path::Path) {
    let sc = SimConfig {
        accounts: 200,
        months: 18,
        seed: 11,
        format: Format::Parquet,
        ..SimConfig::default()
    };
    sim::simulate(&sc, dir, &|_| {}).unwrap();
}

#[test]
fn the_whole_pipeline_from_rust() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("book");
    small_book(&data);
    let mut raw = RawConfig::default();
    raw.models.families = vec![Family::Logistic, Family::GradientBoosting];
    raw.models.refit = false;
    let cfg = raw.check().unwrap();
    let opts = RunOptions {
        data: data.clone(),
        models: tmp.path().join("models"),
        as_of: None,
        list: ListOptions::default(),
    };
    let r = workflow::run::run(&opts, &cfg, &workflow::no_progress).unwrap();
    let out = tmp.path().join("out");
    churnlab::output::run::write(&r, &out).unwrap();
    assert!(out.join("scored_accounts.csv").is_file());

    // Every listed account is active at the as-of date and has a probability or a reason.
    assert_eq!(
        r.list.as_of.as_deref(),
        Some(r.table.as_of.to_string().as_str())
    );
    assert!(
        r.list
            .rows
            .iter()
            .all(|s| s.churn_probability.is_some() != s.reason.is_some())
    );
    assert_eq!(
        r.list
            .rows
            .iter()
            .filter(|s| s.churn_probability.is_some())
            .count(),
        r.table.scoring_rows().len()
    );

    // refit = false: the saved champion is the model that was tested. Reloaded from its
    // folder and applied to the test rows, it gives the test ROC-AUC the report states.
    let m = artifact::load(&r.model_dir).unwrap();
    let report = &r.trained.report;
    let split = report.split.as_ref().unwrap();
    let p = m
        .champion()
        .unwrap()
        .predict(&r.dataset, &split.test)
        .unwrap();
    let y = r.dataset.labels(&split.test);
    let stated = report
        .families
        .iter()
        .find(|f| f.family == report.champion)
        .unwrap()
        .test
        .roc_auc
        .unwrap();
    let auc = metrics::roc_auc(&y, &p).unwrap();
    assert!((auc - stated).abs() < 1e-12, "{auc} vs {stated}");
}
