//! `churnlab sql` on real engines: the SQL's snapshot table equals `churnlab features`
//! row for row and feature for feature (whole numbers exactly, others within 1e-9
//! relative), on DuckDB for the default book, a daily and a weekly simulated book and a
//! book of the second generator, and on Spark (local mode) for the default book. BigQuery
//! and Snowflake cannot run here: their files are parsed with sqlglot in that dialect.
//!
//! Needs python3 with duckdb, pandas, pyarrow, numpy, pyspark (and Java 17) and sqlglot;
//! `.ci/run` installs them. The tests install nothing and fail saying what is missing.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_churnlab")
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Python with `modules`, or a clear failure (no network in a test).
fn python_with(modules: &str) -> &'static str {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "this test needs python3 with {modules}: `python3 -m pip install {}` (.ci/run does)",
        modules.replace(',', "")
    );
    "python3"
}

/// Runs churnlab with `args`; panics with its output on failure.
fn churnlab(args: &[&str]) -> String {
    let out = Command::new(bin()).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "churnlab {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `churnlab features` for `data` into `dir/snap.*`; the per-type event types it chose,
/// in column order.
fn features(data: &Path, dir: &Path) -> (PathBuf, Vec<String>) {
    let stem = dir.join("snap");
    churnlab(&[
        "-q",
        "features",
        "--data",
        data.to_str().unwrap(),
        "--out",
        stem.to_str().unwrap(),
    ]);
    let csv = std::fs::read_to_string(stem.with_extension("csv")).unwrap();
    let header = csv.lines().next().unwrap_or_default();
    let mut types: Vec<String> = Vec::new();
    for col in header.split(',') {
        if let Some(rest) = col.strip_prefix("usage[")
            && let Some((ty, _)) = rest.split_once("].")
            && !types.iter().any(|t| t == ty)
        {
            types.push(ty.to_string());
        }
    }
    (stem.with_extension("parquet"), types)
}

/// `churnlab sql` for a book: the event types and grain given, absent tables and
/// columns named (as the equality script reads them off the folder).
fn write_sql(dialect: &str, data: &Path, types: &[String], grain: &str, out: &Path) {
    let without = Command::new(python_with("pandas, pyarrow"))
        .arg(repo().join("benches/sql_equal.py"))
        .args(["--print-without", "--data"])
        .arg(data)
        .output()
        .unwrap();
    assert!(without.status.success());
    let without = String::from_utf8_lossy(&without.stdout).trim().to_string();
    let types = types.join(",");
    let mut args = vec![
        "-q",
        "sql",
        "--dialect",
        dialect,
        "--usage-grain",
        grain,
        "--out",
        out.to_str().unwrap(),
    ];
    if !types.is_empty() {
        args.extend(["--types", &types]);
    }
    if !without.is_empty() {
        args.extend(["--without", &without]);
    }
    churnlab(&args);
}

/// Runs the SQL on `engine` and compares with churnlab's table: (equal, the report).
fn compare(engine: &str, sql: &Path, data: &Path, snap: &Path) -> (bool, String) {
    let modules = match engine {
        "spark" => "pyspark, pandas, pyarrow",
        _ => "duckdb, pandas, pyarrow",
    };
    let out = Command::new(python_with(modules))
        .arg(repo().join("benches/sql_equal.py"))
        .args(["--engine", engine, "--sql"])
        .arg(sql)
        .arg("--data")
        .arg(data)
        .arg("--features")
        .arg(snap)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let report = format!("{text}{}", String::from_utf8_lossy(&out.stderr));
    (out.status.success() && text.contains("EQUAL:"), report)
}

/// A simulated book in `dir`.
fn simulate(dir: &Path, accounts: &str, months: &str, seed: &str, grain: &str, format: &str) {
    churnlab(&[
        "-q",
        "simulate",
        "--accounts",
        accounts,
        "--months",
        months,
        "--seed",
        seed,
        "--grain",
        grain,
        "--format",
        format,
        "--out",
        dir.to_str().unwrap(),
    ]);
}

fn assert_equal_on(engine: &str, data: &Path, grain: &str, tmp: &Path) {
    let (snap, types) = features(data, tmp);
    let sql = tmp.join(format!("sql-{engine}"));
    write_sql(engine, data, &types, grain, &sql);
    let (equal, report) = compare(engine, &sql, data, &snap);
    assert!(equal, "{engine} on {}:\n{report}", data.display());
}

#[test]
fn duckdb_builds_the_same_table_on_the_default_book() {
    let tmp = tempfile::tempdir().unwrap();
    assert_equal_on("duckdb", &common::data_dir(), "weekly", tmp.path());
}

#[test]
fn duckdb_builds_the_same_table_on_a_daily_and_a_weekly_book() {
    let tmp = tempfile::tempdir().unwrap();
    let daily = tmp.path().join("daily");
    simulate(&daily, "350", "15", "21", "daily", "parquet");
    let f = tmp.path().join("f-daily");
    std::fs::create_dir_all(&f).unwrap();
    assert_equal_on("duckdb", &daily, "daily", &f);

    let weekly = tmp.path().join("weekly");
    simulate(&weekly, "500", "20", "8", "weekly", "csv");
    let f = tmp.path().join("f-weekly");
    std::fs::create_dir_all(&f).unwrap();
    assert_equal_on("duckdb", &weekly, "weekly", &f);
}

/// The second generator's books have other vocabularies (priorities as high/normal/low),
/// no contacts, NPS, invoices or activities, and no minutes.
#[test]
fn duckdb_builds_the_same_table_on_books_of_the_second_generator() {
    let tmp = tempfile::tempdir().unwrap();
    for (kind, grain) in [("self-serve", "daily"), ("many-types", "monthly")] {
        let data = tmp.path().join(kind);
        let out = Command::new(python_with("numpy, pandas"))
            .arg(repo().join("benches/books.py"))
            .args(["--kind", kind, "--accounts", "300", "--seed", "4", "--out"])
            .arg(&data)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let f = tmp.path().join(format!("f-{kind}"));
        std::fs::create_dir_all(&f).unwrap();
        assert_equal_on("duckdb", &data, grain, &f);
    }
}

/// The comparison is not blind: a one-point change in the promoter threshold of the NPS
/// stage is found.
#[test]
fn the_equality_check_finds_a_changed_feature() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("book");
    simulate(&data, "250", "15", "3", "weekly", "parquet");
    let (snap, types) = features(&data, tmp.path());
    let sql = tmp.path().join("sql");
    write_sql("duckdb", &data, &types, "weekly", &sql);
    let nps = sql.join("07_nps.sql");
    let text = std::fs::read_to_string(&nps).unwrap();
    assert!(text.contains("score >= 9"));
    std::fs::write(&nps, text.replace("score >= 9", "score >= 8")).unwrap();
    let (equal, report) = compare("duckdb", &sql, &data, &snap);
    assert!(!equal, "{report}");
    assert!(report.contains("nps_score_180d:"), "{report}");
}

#[test]
fn spark_builds_the_same_table_on_the_default_book() {
    let tmp = tempfile::tempdir().unwrap();
    assert_equal_on("spark", &common::data_dir(), "weekly", tmp.path());
}

/// BigQuery and Snowflake cannot run here: every statement of their files parses in
/// that dialect (sqlglot). A parse check, not a run.
#[test]
fn bigquery_and_snowflake_files_parse_in_their_dialects() {
    let tmp = tempfile::tempdir().unwrap();
    let types = vec!["api".to_string(), "dashboards".to_string()];
    for dialect in ["bigquery", "snowflake"] {
        let dir = tmp.path().join(dialect);
        write_sql(dialect, &common::data_dir(), &types, "daily", &dir);
        let script = r#"
import os, sys
import sqlglot
sys.path.insert(0, sys.argv[3])
from sql_equal import statements
d, folder = sys.argv[1], sys.argv[2]
n = 0
for f in sorted(x for x in os.listdir(folder) if x.endswith(".sql")):
    for s in statements(open(os.path.join(folder, f)).read()):
        sqlglot.parse_one(s, read=d, error_level=sqlglot.ErrorLevel.RAISE)
        n += 1
print(n)
"#;
        let out = Command::new(python_with("sqlglot"))
            .args(["-c", script, dialect])
            .arg(&dir)
            .arg(repo().join("benches"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{dialect}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let n: usize = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        assert!(n >= 15, "{dialect}: {n} statements");
        // BigQuery column names hold no brackets or dots.
        if dialect == "bigquery" {
            let last = std::fs::read_to_string(dir.join("11_snapshot_table.sql")).unwrap();
            assert!(last.contains("AS usage__api__events_30d"), "{last}");
            assert!(!last.contains("usage[api]"));
        }
    }
}

#[test]
fn bad_sql_arguments_are_refused_with_the_expected_values() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("x");
    let out = out_dir.to_str().unwrap();
    for (args, says) in [
        (
            vec!["sql", "--dialect", "postgres", "--out", out],
            "expected duckdb, spark, bigquery or snowflake",
        ),
        (
            vec![
                "sql",
                "--dialect",
                "duckdb",
                "--without",
                "crm",
                "--out",
                out,
            ],
            "not an optional table or column",
        ),
        (
            vec!["sql", "--dialect", "duckdb", "--types", "a]b", "--out", out],
            "is not an event type",
        ),
    ] {
        let o = Command::new(bin()).args(&args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!out_dir.exists(), "nothing written on a refused call");
    }
}
