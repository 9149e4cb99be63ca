//! The usage roll-up stage of `churnlab sql` (`01_usage_rollup.sql`, DuckDB dialect), run by DuckDB (through Python's `duckdb`, which `.ci/run`
//! installs; the test installs nothing and fails saying so when it is missing), on a simulated book's usage turned into raw, timestamped events:
//! - at day grain, churnlab's features from the rolled-up table equal its features from
//!   the raw events, byte for byte;
//! - at month grain, the rolled-up table equals an independent roll-up written here, and
//!   the features from both are byte-identical.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use churnlab::config::{Config, RawConfig};
use churnlab::features::UsageGrain;
use churnlab::input::io::{self, Format, read_text_columns};
use churnlab::sim::{self, Grain, SimConfig};
use churnlab::sql::{Dialect, Plan};
use churnlab::workflow;

/// Python with duckdb, or a clear failure (no network in a test).
fn python_with_duckdb() -> &'static str {
    let has = Command::new("python3")
        .args(["-c", "import duckdb"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        has,
        "this test runs churnlab sql's roll-up with DuckDB, which is not installed: \
         `python3 -m pip install duckdb` (.ci/run does)"
    );
    "python3"
}

/// Runs `script` (Python) with `args`; panics with its stderr on failure.
fn python(script: &str, args: &[&Path]) {
    let out = Command::new(python_with_duckdb())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Copies every table of `from` but usage into a new book folder `to`.
fn book_without_usage(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if p.is_file() && !name.starts_with("usage.") {
            fs::copy(&p, to.join(&name)).unwrap();
        }
    }
}

/// The snapshot table (every feature of every account and date) of a book, as CSV text.
fn features_csv(book: &Path, out: &Path) -> String {
    let cfg = RawConfig::default().check().unwrap();
    let t = workflow::inspect::features(book, None, &cfg).unwrap();
    io::write_table(out, &t.to_table(), Format::Csv).unwrap();
    fs::read_to_string(out).unwrap()
}

const SPLIT_INTO_EVENTS: &str = r#"
import sys, duckdb
src, dst = sys.argv[1], sys.argv[2]
# Each daily row becomes two timestamped rows (morning and afternoon), splitting its events
# and minutes: raw events at a finer grain than a day.
duckdb.sql(f"""
COPY (
  SELECT account_id, user_id, feature,
         CAST(date AS TIMESTAMP) + INTERVAL 9 HOUR AS event_time,
         events // 2 AS events, minutes / 2 AS minutes
  FROM read_csv_auto('{src}') WHERE events // 2 > 0
  UNION ALL
  SELECT account_id, user_id, feature,
         CAST(date AS TIMESTAMP) + INTERVAL 15 HOUR + INTERVAL 30 MINUTE AS event_time,
         events - events // 2 AS events,
         CASE WHEN events // 2 > 0 THEN minutes - minutes / 2 ELSE minutes END AS minutes
  FROM read_csv_auto('{src}')
  ORDER BY account_id, event_time, user_id, feature
) TO '{dst}' (HEADER, DELIMITER ',')
""")
"#;

const ROLL_UP: &str = r#"
import sys, duckdb
src, sql_path, dst = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(sql_path).read()
body = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("--"))
con = duckdb.connect()
con.execute(f"CREATE VIEW usage_events AS SELECT * FROM read_csv_auto('{src}', types={{'event_time': 'TIMESTAMP'}})")
for statement in body.split(";\n"):
    if statement.strip():
        con.execute(statement)
con.execute(f"COPY (SELECT * FROM usage ORDER BY account_id, user_id, feature, date) TO '{dst}' (HEADER, DELIMITER ',')")
"#;

/// The roll-up stage `churnlab sql --dialect duckdb --usage-grain GRAIN` writes.
fn rollup_sql(grain: UsageGrain, dir: &Path) -> std::path::PathBuf {
    let plan = Plan::new(Dialect::DuckDb, &Config::default(), grain);
    let (name, text) = plan.files().into_iter().next().unwrap();
    assert_eq!(name, "01_usage_rollup.sql");
    let path = dir.join(format!("rollup_{grain:?}.sql"));
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_rollup_sql_keeps_every_feature() {
    let tmp = tempfile::tempdir().unwrap();
    let sim_dir = tmp.path().join("sim");
    let sc = SimConfig {
        accounts: 60,
        months: 10,
        seed: 5,
        grain: Grain::Daily,
        format: Format::Csv,
        ..SimConfig::default()
    };
    sim::simulate(&sc, &sim_dir, &|_| {}).unwrap();

    // Raw events: every daily row split in two, timestamped.
    let raw = tmp.path().join("raw");
    book_without_usage(&sim_dir, &raw);
    let events = tmp.path().join("events.csv");
    python(SPLIT_INTO_EVENTS, &[&sim_dir.join("usage.csv"), &events]);
    // churnlab reads the raw events as its usage table (a timestamp in `date`).
    let text = fs::read_to_string(&events).unwrap();
    fs::write(
        raw.join("usage.csv"),
        text.replacen("event_time", "date", 1),
    )
    .unwrap();

    // Day grain: the roll-up merges the two halves of each day back.
    let daily = tmp.path().join("daily");
    book_without_usage(&sim_dir, &daily);
    let sql = rollup_sql(UsageGrain::Daily, tmp.path());
    python(ROLL_UP, &[&events, &sql, &daily.join("usage.csv")]);
    let (_, raw_cols) = read_text_columns(&raw.join("usage.csv")).unwrap();
    let (_, day_cols) = read_text_columns(&daily.join("usage.csv")).unwrap();
    assert!(
        raw_cols[0].len() > day_cols[0].len() * 3 / 2,
        "the raw table is finer"
    );
    let f_raw = features_csv(&raw, &tmp.path().join("f_raw.csv"));
    let f_day = features_csv(&daily, &tmp.path().join("f_day.csv"));
    assert!(f_raw.lines().count() > 100);
    // The usage features are there, not blank: the raw timestamps were read.
    let header: Vec<&str> = f_raw.lines().next().unwrap().split(',').collect();
    let k = header.iter().position(|h| *h == "events_30d").unwrap();
    let used = f_raw
        .lines()
        .skip(1)
        .filter(|l| {
            l.split(',')
                .nth(k)
                .and_then(|v| v.parse::<f64>().ok())
                .is_some_and(|v| v > 0.0)
        })
        .count();
    assert!(used > 100, "{used} rows with product events");
    assert!(
        f_raw == f_day,
        "features differ between raw events and their daily roll-up"
    );

    // Month grain: the SQL against a roll-up written here from the simulator's daily rows.
    let monthly = tmp.path().join("monthly");
    book_without_usage(&sim_dir, &monthly);
    let sql = rollup_sql(UsageGrain::Monthly, tmp.path());
    python(ROLL_UP, &[&events, &sql, &monthly.join("usage.csv")]);
    let (names, cols) = read_text_columns(&sim_dir.join("usage.csv")).unwrap();
    let col = |n: &str| &cols[names.iter().position(|x| x == n).unwrap()];
    type Key = (String, String, String, String);
    let mut want: BTreeMap<Key, (String, i64, f64)> = BTreeMap::new();
    for i in 0..col("date").len() {
        let date = col("date")[i].clone().unwrap();
        let key = (
            col("account_id")[i].clone().unwrap(),
            col("user_id")[i].clone().unwrap_or_default(),
            col("feature")[i].clone().unwrap(),
            date[..7].to_string(),
        );
        let e: i64 = col("events")[i].as_deref().unwrap().parse().unwrap();
        let m: f64 = col("minutes")[i].as_deref().unwrap_or("0").parse().unwrap();
        let v = want.entry(key).or_insert((date.clone(), 0, 0.0));
        v.0 = v.0.clone().max(date);
        v.1 += e;
        v.2 += m;
    }
    let (gn, gc) = read_text_columns(&monthly.join("usage.csv")).unwrap();
    let g = |n: &str, i: usize| gc[gn.iter().position(|x| x == n).unwrap()][i].clone();
    assert_eq!(
        gc[0].len(),
        want.len(),
        "one row per account, user, feature, month"
    );
    for i in 0..gc[0].len() {
        let date = g("date", i).unwrap();
        let key = (
            g("account_id", i).unwrap(),
            g("user_id", i).unwrap_or_default(),
            g("feature", i).unwrap(),
            date[..7].to_string(),
        );
        let (d, e, m) = &want[&key];
        assert_eq!(&date, d, "{key:?}: dated on the last day with an event");
        assert_eq!(
            g("events", i).unwrap().parse::<i64>().unwrap(),
            *e,
            "{key:?}"
        );
        let got: f64 = g("minutes", i).unwrap().parse().unwrap();
        assert!((got - m).abs() < 1e-6, "{key:?}: minutes {got} vs {m}");
    }
    // The monthly table written here, read by churnlab, gives the same features.
    let reference = tmp.path().join("reference");
    book_without_usage(&sim_dir, &reference);
    let mut csv = String::from("account_id,user_id,feature,date,events,minutes\n");
    for ((a, u, f, _), (d, e, m)) in &want {
        csv.push_str(&format!("{a},{u},{f},{d},{e},{m}\n"));
    }
    fs::write(reference.join("usage.csv"), csv).unwrap();
    let f_month = features_csv(&monthly, &tmp.path().join("f_month.csv"));
    let f_ref = features_csv(&reference, &tmp.path().join("f_ref.csv"));
    assert!(
        f_month == f_ref,
        "features differ between the SQL and the reference roll-up"
    );
    assert!(
        f_month != f_day,
        "a monthly grain changes the features that need days"
    );
}
