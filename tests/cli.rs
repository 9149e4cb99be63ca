//! The built binary, driven as a user would: simulate a small book, run the whole
//! pipeline, score it again with the saved model, validate it; and the cases that must
//! fail before any work (a bad `--rank-by`, a bad configuration) or must not fail
//! (`[models] refit = false`).

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::read_rows;

fn churnlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_churnlab"))
        .args(args)
        .output()
        .expect("the churnlab binary runs")
}

fn ok(args: &[&str]) -> String {
    let o = churnlab(args);
    assert!(
        o.status.success(),
        "churnlab {args:?} failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A small simulated book in CSV (200 accounts, 18 months).
fn book(root: &Path) -> PathBuf {
    let d = root.join("book");
    let s = d.to_str().unwrap();
    ok(&[
        "-q",
        "simulate",
        "--accounts",
        "200",
        "--months",
        "18",
        "--seed",
        "5",
        "--out",
        s,
    ]);
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The only model folder under `models`.
fn model_folder(models: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = fs::read_dir(models)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

#[test]
fn run_then_score_then_validate() {
    let tmp = tempfile::tempdir().unwrap();
    let data = book(tmp.path());
    let (out, models) = (tmp.path().join("out"), tmp.path().join("models"));
    let stdout = ok(&[
        "-q",
        "run",
        "--data",
        s(&data),
        "--out",
        s(&out),
        "--models",
        s(&models),
    ]);
    assert!(stdout.contains("At-risk accounts on"), "{stdout}");
    for f in [
        "retention.csv",
        "summary.json",
        "snapshots.parquet",
        "snapshots.csv",
        "metrics.json",
        "cohorts.json",
        "clusters.json",
        "propensity.json",
        "scored_accounts.csv",
        "scored_accounts.parquet",
        "drivers.csv",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let model = model_folder(&models);

    // The list holds exactly the accounts whose contract covers the as-of date, read
    // here straight from contracts.csv.
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap();
    let as_of = summary["summary"]["as_of"].as_str().unwrap().to_string();
    let mut live: Vec<String> = read_rows(&data.join("contracts.csv"))
        .into_iter()
        .filter(|r| r["start_date"][..10] <= *as_of && *as_of <= r["end_date"][..10])
        .map(|r| r["account_id"].clone())
        .collect();
    live.sort();
    live.dedup();
    let listed = read_rows(&out.join("scored_accounts.csv"));
    let mut ids: Vec<String> = listed.iter().map(|r| r["account_id"].clone()).collect();
    ids.sort();
    assert_eq!(ids, live);
    // Ranked by ARR at risk, and ARR at risk is probability x ARR.
    let risk: Vec<f64> = listed
        .iter()
        .filter_map(|r| r.get("arr_at_risk")?.parse().ok())
        .collect();
    assert!(
        risk.windows(2).all(|w| w[0] >= w[1]),
        "not ranked by ARR at risk"
    );
    for r in listed
        .iter()
        .filter(|r| r.contains_key("churn_probability"))
    {
        let p: f64 = r["churn_probability"].parse().unwrap();
        let arr: f64 = r["arr"].parse().unwrap();
        let at_risk: f64 = r["arr_at_risk"].parse().unwrap();
        assert!((p * arr - at_risk).abs() <= 1e-6 * arr.max(1.0));
        assert_eq!(r["model_id"], model.file_name().unwrap().to_str().unwrap());
    }

    // `score` with the saved model reproduces the run's list byte for byte.
    let again = tmp.path().join("again");
    ok(&[
        "-q",
        "score",
        "--model",
        s(&model),
        "--data",
        s(&data),
        "--out",
        s(&again),
    ]);
    for f in ["scored_accounts.csv", "drivers.csv"] {
        assert_eq!(
            fs::read(out.join(f)).unwrap(),
            fs::read(again.join(f)).unwrap(),
            "{f} differs between run and score"
        );
    }

    // `validate` counts the accounts in accounts.csv.
    let n = read_rows(&data.join("accounts.csv")).len();
    let v = ok(&["validate", "--data", s(&data)]);
    assert!(v.contains(": valid"), "{v}");
    assert!(v.contains(&format!("accounts: {n} in total")), "{v}");
}

#[test]
fn refit_false_keeps_the_validation_models() {
    let tmp = tempfile::tempdir().unwrap();
    let data = book(tmp.path());
    let cfg = tmp.path().join("c.toml");
    fs::write(
        &cfg,
        "[models]\nrefit = false\nfamilies = [\"logistic\", \"decision_tree\"]\n",
    )
    .unwrap();
    let (out, models) = (tmp.path().join("out"), tmp.path().join("models"));
    ok(&[
        "-q",
        "--config",
        s(&cfg),
        "run",
        "--data",
        s(&data),
        "--out",
        s(&out),
        "--models",
        s(&models),
    ]);
    let model = model_folder(&models);
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(model.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["families"],
        serde_json::json!(["logistic", "decision_tree"])
    );
    let listed = read_rows(&out.join("scored_accounts.csv"));
    assert!(listed.iter().any(|r| r.contains_key("churn_probability")));
}

#[test]
fn bad_flags_and_config_fail_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let data = book(tmp.path());
    let (out, models) = (tmp.path().join("out"), tmp.path().join("models"));
    let o = churnlab(&[
        "run",
        "--data",
        s(&data),
        "--out",
        s(&out),
        "--models",
        s(&models),
        "--rank-by",
        "foo",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("invalid value 'foo'") && err.contains("probability"),
        "{err}"
    );
    assert!(
        !models.exists() && !out.exists(),
        "a model or output was written"
    );

    let cfg = tmp.path().join("c.toml");
    fs::write(&cfg, "seed = 3\n\n[models]\ntest_share = 0.7\n").unwrap();
    let o = churnlab(&[
        "--config",
        s(&cfg),
        "run",
        "--data",
        s(&data),
        "--out",
        s(&out),
        "--models",
        s(&models),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("c.toml") && err.contains("line 4") && err.contains("models.test_share"),
        "{err}"
    );
    assert!(
        !models.exists() && !out.exists(),
        "a model or output was written"
    );

    // --rank-by probability orders by probability.
    ok(&[
        "-q",
        "run",
        "--data",
        s(&data),
        "--out",
        s(&out),
        "--models",
        s(&models),
        "--rank-by",
        "probability",
    ]);
    let p: Vec<f64> = read_rows(&out.join("scored_accounts.csv"))
        .iter()
        .filter_map(|r| r.get("churn_probability")?.parse().ok())
        .collect();
    assert!(p.windows(2).all(|w| w[0] >= w[1]));
}
