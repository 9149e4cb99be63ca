//! The built binary, driven as a user would: simulate a small book, run the whole
//! pipeline, score it again with the saved model, validate it; and the cases that must
//! fail before any work (a bad `--rank-by`, a bad configuration) or must not fail
//! (`[models] refit = false`).

mod common;

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
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

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
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

    // The list holds exactly the accounts in the book at the as-of date, read here
    // straight from contracts.csv: a term covering the day before (active or new), or a
    // last term that ended at most 30 days (the grace period) before it (lapsed).
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap();
    let as_of = d(summary["summary"]["as_of"].as_str().unwrap());
    let day_before = as_of.pred_opt().unwrap();
    let mut last_end: HashMap<String, (NaiveDate, bool)> = HashMap::new();
    for r in read_rows(&data.join("contracts.csv")) {
        let (start, end) = (d(&r["start_date"][..10]), d(&r["end_date"][..10]));
        let e = last_end
            .entry(r["account_id"].clone())
            .or_insert((end, false));
        e.0 = e.0.max(end);
        e.1 |= start <= day_before && day_before <= end;
    }
    let mut live: Vec<String> = last_end
        .iter()
        .filter(|(_, (end, covers))| *covers || (as_of - *end).num_days() <= 30)
        .map(|(id, _)| id.clone())
        .collect();
    live.sort();
    let listed = read_rows(&out.join("scored_accounts.csv"));
    let mut ids: Vec<String> = listed.iter().map(|r| r["account_id"].clone()).collect();
    ids.sort();
    assert_eq!(ids, live);
    let lapsed: Vec<&HashMap<String, String>> =
        listed.iter().filter(|r| r["status"] == "lapsed").collect();
    assert!(
        !lapsed.is_empty(),
        "this book has lapsed accounts at its as-of date"
    );
    assert!(
        lapsed
            .iter()
            .all(|r| r["renewal_state"].contains("no renewal booked"))
    );
    // Every account has a probability strictly between 0 and 1, or a reason.
    for r in &listed {
        match r.get("churn_probability") {
            Some(p) => {
                let p: f64 = p.parse().unwrap();
                assert!(p > 0.0 && p < 1.0, "{p}");
            }
            None => assert!(r.contains_key("not_scored_reason")),
        }
    }
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
        // The CSV holds probabilities to 4 decimals and money to cents.
        assert!(
            (p * arr - at_risk).abs() <= 5e-5 * arr + 0.01,
            "{p} x {arr} vs {at_risk}"
        );
        let decimals = |x: &str| x.split_once('.').map_or(0, |(_, f)| f.len());
        assert!(decimals(&r["churn_probability"]) <= 4 && decimals(&r["arr_at_risk"]) <= 2);
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
    // Byte for byte, the next best play included: the run saved its effect models in the
    // model folder (plays.json), and `score` offers the plays from them.
    assert!(model.join("plays.json").is_file());
    assert!(
        fs::read_to_string(out.join("scored_accounts.csv"))
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .contains("best_play_expected_arr_saved")
    );
    assert_eq!(
        fs::read(out.join("scored_accounts.csv")).unwrap(),
        fs::read(again.join("scored_accounts.csv")).unwrap(),
        "scored_accounts.csv differs between run and score"
    );
    assert_eq!(
        fs::read(out.join("drivers.csv")).unwrap(),
        fs::read(again.join("drivers.csv")).unwrap(),
        "drivers.csv differs between run and score"
    );

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

/// A validation error reaches the terminal once, with its file, line and column (anyhow's
/// chain used to print it a second time as its own cause).
#[test]
fn a_bad_date_is_reported_once_with_its_place() {
    let tmp = tempfile::tempdir().unwrap();
    let b = tmp.path();
    fs::write(
        b.join("accounts.csv"),
        "account_id,name,segment,created_date\nA1,Acme,smb,notadate\n",
    )
    .unwrap();
    fs::write(
        b.join("contracts.csv"),
        "account_id,contract_id,start_date,end_date,arr,seats\nA1,C1,2025-01-01,2025-12-31,100,1\n",
    )
    .unwrap();
    let o = churnlab(&["validate", "--data", s(b)]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    let line = "accounts.csv, line 2, column 'created_date': expected an ISO-8601 date such as 2025-03-31, found \"notadate\"";
    assert_eq!(err.matches(line).count(), 1, "{err}");
    assert_eq!(err.matches("the input has 1 problem").count(), 1, "{err}");
}

/// Every file of an output folder, by name.
fn files(out: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let Ok(entries) = fs::read_dir(out) else {
        return Default::default();
    };
    entries
        .map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            (name, fs::read(&p).unwrap())
        })
        .collect()
}

/// Entries beside `out` that a run leaves while it works (`.out.staging-PID`, `.out.old-PID`).
fn leftovers(out: &Path) -> Vec<String> {
    fs::read_dir(out.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(".out."))
        .collect()
}

/// A run killed (SIGKILL) at points spread over its length leaves OUT holding the previous
/// complete run or the new complete run, byte for byte, never a mixture, and no temporary
/// file inside it; the next run sweeps what the killed ones left beside it.
#[test]
fn a_killed_run_leaves_the_previous_or_the_new_output_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let data = book(tmp.path());
    let out = tmp.path().join("out");
    let models = tmp.path().join("models");
    let args = |as_of: &'static str| {
        vec![
            "-q".to_string(),
            "run".into(),
            "--data".into(),
            s(&data).into(),
            "--out".into(),
            s(&out).into(),
            "--models".into(),
            s(&models).into(),
            "--as-of".into(),
            as_of.into(),
        ]
    };
    let (early, late) = ("2025-12-01", "2026-04-01");
    let t0 = std::time::Instant::now();
    let run = |as_of| {
        let a = args(as_of);
        ok(&a.iter().map(String::as_str).collect::<Vec<_>>());
        files(&out)
    };
    let a = run(early);
    let seconds = t0.elapsed().as_secs_f64();
    let b = run(late);
    // Same inputs, same bytes (the states below are compared whole).
    assert_eq!(run(early), a, "a rerun changed the output");
    assert_ne!(a, b);
    // Kills spread over a run's length, and two after it (a run that finished first):
    // both outcomes, the previous output kept and the new one in place, must occur.
    let (mut kept, mut replaced) = (0, 0);
    for share in [0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9, 0.97, 2.0, 3.0] {
        let before = files(&out);
        // Always the other output than OUT holds, so the two outcomes differ.
        let target = if before == a { late } else { early };
        let mut child = Command::new(env!("CARGO_BIN_EXE_churnlab"))
            .args(args(target))
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_secs_f64(seconds * share));
        let _ = child.kill();
        let _ = child.wait();
        if !out.exists() {
            // Killed between the two renames of the swap: the previous run waits beside
            // OUT, and the next run puts it back.
            assert!(leftovers(&out).iter().any(|n| n.starts_with(".out.old-")));
            continue;
        }
        let now = files(&out);
        assert!(
            now.keys().all(|n| !n.contains(".tmp")),
            "a temporary file inside OUT: {:?}",
            now.keys().collect::<Vec<_>>()
        );
        let new = if target == late { &b } else { &a };
        if now == before {
            kept += 1;
        } else if now == *new {
            replaced += 1;
        } else {
            panic!(
                "a mixture after a kill at {:.0}% of a run (previous was {})",
                100.0 * share,
                if before == a { "early" } else { "late" }
            );
        }
    }
    // The next run restores or sweeps whatever the killed runs left.
    assert_eq!(run(early), a);
    assert!(leftovers(&out).is_empty(), "{:?}", leftovers(&out));
    assert!(
        kept > 0 && replaced > 0,
        "after 10 kills: {kept} kept the previous output, {replaced} the new one"
    );
}

/// A run that fails after validation (here: no account ever churns, so the label has a
/// single class) leaves OUT exactly as the previous run left it, and nothing beside it.
#[test]
fn a_failed_run_leaves_the_previous_output_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let b = tmp.path().join("book");
    fs::create_dir_all(&b).unwrap();
    fs::write(
        b.join("accounts.csv"),
        "account_id,name,segment,created_date\nA1,Acme,smb,2024-01-01\nA2,Beta,smb,2024-01-01\n",
    )
    .unwrap();
    fs::write(
        b.join("contracts.csv"),
        "account_id,contract_id,start_date,end_date,arr,seats\n\
         A1,C1,2024-01-01,2024-12-31,100,1\nA1,C2,2025-01-01,2025-12-31,100,1\n\
         A2,C3,2024-01-01,2024-12-31,100,1\nA2,C4,2025-01-01,2025-12-31,100,1\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    fs::create_dir_all(&out).unwrap();
    fs::write(out.join("previous.txt"), "the previous run").unwrap();
    let before = files(&out);
    let models = tmp.path().join("models");
    let o = churnlab(&[
        "run",
        "--data",
        s(&b),
        "--out",
        s(&out),
        "--models",
        s(&models),
    ]);
    assert_ne!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("single class"), "{err}");
    assert_eq!(files(&out), before);
    assert!(leftovers(&out).is_empty(), "{:?}", leftovers(&out));
}

/// `models list` marks the promoted model; `--fail-on-drift` exits with status 3 after
/// writing everything when a top feature passes the threshold, and 0 when none does;
/// `--previous` that names nothing is refused before any work.
#[test]
fn models_list_and_fail_on_drift_for_schedulers() {
    let tmp = tempfile::tempdir().unwrap();
    let data = book(tmp.path());
    let (out, models) = (tmp.path().join("out"), tmp.path().join("models"));
    let run = |extra: &[&str]| {
        let mut a = vec![
            "-q",
            "run",
            "--data",
            s(&data),
            "--out",
            s(&out),
            "--models",
            s(&models),
        ];
        a.extend_from_slice(extra);
        churnlab(&a)
    };
    // A threshold no feature stays under: status 3, and the outputs are all there.
    let o = run(&["--fail-on-drift", "0.000001"]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("of the model's top features drifted past PSI 0.000001"),
        "{err}"
    );
    for f in [
        "scored_accounts.csv",
        "drift.csv",
        "report.html",
        "metrics.json",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    // One no feature reaches: status 0. Same inputs, same model: one entry, promoted.
    let o = run(&["--fail-on-drift", "1000"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let list = ok(&["models", "list", "--models", s(&models)]);
    let id = model_folder(&models)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    assert!(
        list.lines().any(|l| l.starts_with('*') && l.contains(&id)),
        "{list}"
    );
    assert!(
        list.contains("promoted: no model in this folder was promoted yet"),
        "{list}"
    );
    // Compared with itself (same data, config, seed): nothing to compare, it stays promoted.
    let o = run(&["--previous", "champion"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!String::from_utf8_lossy(&o.stdout).contains("Against the previous model"));
    assert!(out.join("stability.csv").is_file());
    let report = || fs::read_to_string(out.join("report.html")).unwrap();
    assert!(report().contains("the top 50 share"));
    // A plain run after it: the comparison's files are gone and the report no longer
    // shows it; a file churnlab never writes is kept. Twice, the same file set.
    fs::write(out.join("notes.txt"), "mine").unwrap();
    let after_previous: Vec<String> = files(&out).into_keys().collect();
    let mut sets = Vec::new();
    for _ in 0..2 {
        let o = run(&[]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        for f in ["stability.csv", "stability.json"] {
            assert!(!out.join(f).exists(), "{f} left from the --previous run");
        }
        let html = report();
        assert!(!html.contains("the top 50 share"));
        assert!(html.contains("No previous list to compare with"));
        assert_eq!(fs::read_to_string(out.join("notes.txt")).unwrap(), "mine");
        sets.push(files(&out).into_keys().collect::<Vec<_>>());
    }
    assert_eq!(sets[0], sets[1]);
    let gone: Vec<&String> = after_previous
        .iter()
        .filter(|f| !sets[0].contains(f))
        .collect();
    assert_eq!(gone, ["stability.csv", "stability.json"]);
    // The same for files that depend on the configuration: the health-score validation.
    let with_health = run(&["--config", "data/churnlab.toml"]);
    assert!(
        with_health.status.success(),
        "{}",
        String::from_utf8_lossy(&with_health.stderr)
    );
    assert!(
        out.join("health_report.json").is_file() && out.join("recommended_health.toml").is_file()
    );
    let o = run(&[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let left: Vec<String> = files(&out)
        .into_keys()
        .filter(|f| f.starts_with("health_") || f == "recommended_health.toml")
        .collect();
    assert!(
        left.is_empty(),
        "left from the run with a health score: {left:?}"
    );
    assert_eq!(files(&out).into_keys().collect::<Vec<_>>(), sets[0]);
    let o = run(&["--previous", "champion"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let list = ok(&["models", "list", "--models", s(&models)]);
    assert_eq!(
        list.lines().filter(|l| l.starts_with("* ")).count(),
        2,
        "{list}"
    );
    // Another configuration on the same data: a different model, compared on every test
    // row, with the champion in sample (its figures favour it).
    let cfg = tmp.path().join("logistic.toml");
    fs::write(&cfg, "[models]\nfamilies = [\"logistic\"]\n").unwrap();
    let o = run(&["--previous", "champion", "--config", s(&cfg)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("the champion was trained on their labels"),
        "{stdout}"
    );
    assert!(stdout.contains("  decision: "), "{stdout}");
    // Names that are not models fail before any work, saying what is expected.
    let o = run(&["--previous", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--previous nope: not a model folder"), "{err}");
    let o = run(&["--fail-on-drift=-1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("expected a PSI above 0"));
}

/// One configuration rule for every command that reads a data folder: without `--config`,
/// `DATA/churnlab.toml` is the configuration. A bad one there stops each of them before
/// any work, naming the file; `--config` replaces it.
#[test]
fn every_command_that_reads_a_data_folder_reads_its_churnlab_toml() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    fs::create_dir_all(&data).unwrap();
    let toml = data.join("churnlab.toml");
    fs::write(&toml, "[models]\ntest_share = 0.7\n").unwrap();
    let out = tmp.path().join("out");
    let (d, o) = (s(&data), s(&out));
    let commands: [&[&str]; 9] = [
        &["run", "--data", d, "--out", o, "--models", o],
        &["health", "--data", d],
        &["analyze", "--data", d],
        &["features", "--data", d, "--out", o],
        &["retention", "--data", d],
        &["validate", "--data", d],
        &["backtest", "--data", d],
        &["train", "--data", d, "--models", o],
        &["score", "--data", d, "--model", o],
    ];
    for args in commands {
        let r = churnlab(args);
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("churnlab.toml") && err.contains("test_share"),
            "{args:?} did not read DATA/churnlab.toml: {err}"
        );
        assert!(!out.exists(), "{args:?} wrote output");
    }
    // --config wins over the folder's file (validate then judges the empty folder).
    let good = tmp.path().join("good.toml");
    fs::write(&good, "seed = 1\n").unwrap();
    let r = churnlab(&["--config", s(&good), "validate", "--data", d]);
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(!err.contains("test_share"), "{err}");
}
