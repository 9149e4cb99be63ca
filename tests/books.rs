//! A book churnlab was not designed for: `benches/books.py --kind one-type`, where churn is
//! driven by the rate of one event type (`error_shown`) while each account's total volume
//! of events does not move. Summed usage features cannot see the risk; the per-type family
//! must. Needs python3 with numpy and pandas (`.ci/run` installs them).
//!
//! The bound comes from the book's truth: the oracle's out-of-time ROC-AUC (the true
//! 90-day churn probability at each snapshot, `truth/account_months.csv`) sets how much a
//! model could gain over one without the signal, and the per-type family must recover at
//! least a third of that gap. At this size the gap is about 0.1 and the bootstrap standard
//! error of a paired AUC difference about 0.015, so a model that recovered nothing would
//! fail by several standard errors.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use churnlab::config::RawConfig;
use churnlab::features::dataset::Dataset;
use churnlab::model::Family;
use churnlab::score::ListOptions;
use churnlab::train::metrics;
use churnlab::workflow::{self, BookContext, run::RunOptions};

fn generate(dir: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/books.py");
    let out = Command::new("python3")
        .arg(&script)
        .args([
            "--kind",
            "one-type",
            "--accounts",
            "1500",
            "--seed",
            "11",
            "--out",
        ])
        .arg(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("python3 could not be started ({e}); install python3 with numpy and pandas")
        });
    assert!(
        out.status.success(),
        "benches/books.py failed (it needs numpy and pandas: pip install numpy pandas): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The oracle's 90-day churn probability by (account, snapshot date).
fn oracle(dir: &Path) -> HashMap<(String, String), f64> {
    let text = std::fs::read_to_string(dir.join("truth/account_months.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            ((f[0].to_string(), f[1].to_string()), f[3].parse().unwrap())
        })
        .collect()
}

fn date_of(ds: &Dataset, i: usize) -> String {
    let days = ds.time.as_ref().unwrap()[i];
    chrono::NaiveDate::from_num_days_from_ce_opt(days + 719_163)
        .unwrap()
        .to_string()
}

fn test_auc(t: &churnlab::train::Trained) -> f64 {
    let r = &t.report;
    r.families
        .iter()
        .find(|f| f.family == r.champion)
        .unwrap()
        .test
        .roc_auc
        .unwrap()
}

#[test]
fn the_per_type_family_finds_churn_that_sums_of_events_hide() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("book");
    generate(&data);
    let mut raw = RawConfig::default();
    raw.models.families = vec![Family::GradientBoosting];
    let cfg = raw.clone().check().unwrap();
    let opts = RunOptions {
        data: data.clone(),
        models: tmp.path().join("models"),
        as_of: None,
        list: ListOptions::default(),
        previous: Default::default(),
    };
    let on = workflow::run::run(&opts, &cfg, &workflow::no_progress).unwrap();
    assert!(on.table.usage_types.iter().any(|t| t == "error_shown"));

    // The same book and split without the family.
    raw.features.usage_type_max = 0;
    let cfg_off = raw.check().unwrap();
    let ctx = BookContext::for_job(&data, None, &cfg_off).unwrap();
    let t_off = ctx
        .snapshot_table(cfg_off.snapshots(), cfg_off.features())
        .unwrap();
    assert!(t_off.per_type_names.is_empty());
    let ds_off = Dataset::from_snapshots(&t_off);
    let off = workflow::train::train_dataset(
        &ds_off,
        workflow::train::scheme_for(&ds_off, &cfg_off),
        &cfg_off,
        &workflow::no_progress,
    )
    .unwrap();
    assert_eq!(off.test_rows, on.trained.test_rows, "the same test rows");

    // The oracle on the same test rows.
    let truth = oracle(&data);
    let rows = &on.trained.test_rows;
    let ds = &on.dataset;
    let p: Vec<f64> = rows
        .iter()
        // A lapsed account's churn was decided already: the truth stops at it.
        .map(|&i| {
            truth
                .get(&(ds.ids[i].clone(), date_of(ds, i)))
                .copied()
                .unwrap_or(1.0)
        })
        .collect();
    let y = ds.labels(rows);
    let best = metrics::roc_auc(&y, &p).unwrap();
    let (auc_on, auc_off) = (test_auc(&on.trained), test_auc(&off));
    println!(
        "out-of-time ROC-AUC on {} rows: oracle {best:.3}, with the per-type family {auc_on:.3}, without {auc_off:.3}",
        rows.len()
    );
    assert!(
        best - auc_off > 0.03,
        "the book must hide signal from sums: oracle {best:.3}, without {auc_off:.3}"
    );
    assert!(
        auc_on - auc_off >= (best - auc_off) / 3.0,
        "the family recovers too little: oracle {best:.3}, with {auc_on:.3}, without {auc_off:.3}"
    );

    // The riskiest accounts' reasons name the type in the customer's own words.
    let mut scored: Vec<_> = on
        .list
        .rows
        .iter()
        .filter(|s| s.churn_probability.is_some())
        .collect();
    scored.sort_by(|a, b| {
        let p = |s: &churnlab::score::Scored| s.churn_probability.unwrap_or(0.0);
        p(b).total_cmp(&p(a))
    });
    let top = &scored[..scored.len() / 10];
    let naming: Vec<String> = top
        .iter()
        .filter_map(|s| s.explanation.as_ref())
        .flat_map(|e| e.risers.iter())
        .filter(|d| d.feature.starts_with("usage[error_shown]"))
        .map(|d| d.sentence())
        .collect();
    let accounts = top
        .iter()
        .filter(|s| {
            s.explanation.as_ref().is_some_and(|e| {
                e.risers
                    .iter()
                    .any(|d| d.feature.starts_with("usage[error_shown]"))
            })
        })
        .count();
    println!(
        "{accounts} of the top {} name 'error_shown', e.g. {:?}",
        top.len(),
        naming.first()
    );
    assert!(
        2 * accounts >= top.len(),
        "{accounts} of {} top accounts name the type",
        top.len()
    );
    assert!(naming.iter().all(|s| s.contains("'error_shown'")));
}
