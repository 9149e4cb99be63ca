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
use std::path::PathBuf;

use churnlab::workflow::{self, run::RunOptions, run::RunResult};

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

/// Runs the whole pipeline on a small book under `root` with these families and writes
/// its files to `root/out`.
fn run_small(root: &std::path::Path, families: Vec<Family>, refit: bool) -> (RunResult, PathBuf) {
    let data = root.join("book");
    small_book(&data);
    let mut raw = RawConfig::default();
    raw.models.families = families;
    raw.models.refit = refit;
    let cfg = raw.check().unwrap();
    let opts = RunOptions {
        data,
        models: root.join("models"),
        as_of: None,
        list: ListOptions::default(),
        previous: Default::default(),
    };
    let r = workflow::run::run(&opts, &cfg, &workflow::no_progress).unwrap();
    let out = root.join("out");
    churnlab::output::run::write(&r, &out, &Default::default()).unwrap();
    (r, out)
}

#[test]
fn the_whole_pipeline_from_rust() {
    let tmp = tempfile::tempdir().unwrap();
    let (r, out) = run_small(
        tmp.path(),
        vec![Family::Logistic, Family::GradientBoosting],
        false,
    );
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

/// `at_risk.xlsx` read back with calamine holds what `scored_accounts.csv` holds: the
/// list sheet row for row, one sheet per CSM with exactly their accounts, and the drivers
/// sheet row for row with `drivers.csv`. `report.html` and the forecast are written too.
#[test]
fn the_workbook_reads_back_as_the_scored_accounts() {
    use calamine::{Data, DataType, Reader, Xlsx, open_workbook};
    use churnlab::input::io::read_text_columns;

    let tmp = tempfile::tempdir().unwrap();
    let (_, out) = run_small(tmp.path(), vec![Family::Logistic], true);
    for f in [
        "report.html",
        "forecast.json",
        "forecast.csv",
        "at_risk.xlsx",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }

    let (names, cols) = read_text_columns(&out.join("scored_accounts.csv")).unwrap();
    let col = |n: &str| &cols[names.iter().position(|x| x == n).unwrap()];
    let rows = col("account_id").len();
    assert!(rows > 100);
    let mut wb: Xlsx<_> = open_workbook(out.join("at_risk.xlsx")).unwrap();
    let sheets = wb.sheet_names();
    assert_eq!(sheets.first().map(String::as_str), Some("At-risk list"));
    assert_eq!(sheets.last().map(String::as_str), Some("Drivers"));
    let list = wb.worksheet_range("At-risk list").unwrap();
    let header: Vec<String> = list
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let at = |h: &str| header.iter().position(|x| x == h).unwrap();
    assert_eq!(list.height(), rows + 1);
    let text = |c: &Data| match c {
        Data::Empty => None,
        c => Some(c.to_string()),
    };
    let num = |c: &Data| c.get_float();
    for (i, row) in list.rows().skip(1).enumerate() {
        assert_eq!(num(&row[at("Rank")]), Some((i + 1) as f64));
        assert_eq!(text(&row[at("Account ID")]), col("account_id")[i]);
        assert_eq!(text(&row[at("CSM")]), col("csm")[i]);
        assert_eq!(text(&row[at("Risk tier")]), col("risk_tier")[i]);
        assert_eq!(text(&row[at("Reason 1")]), col("driver_1")[i]);
        // The csv rounds; the workbook keeps full precision.
        for (h, c, tol) in [
            ("Churn probability", "churn_probability", 5e-5),
            ("ARR", "arr", 5e-3),
            ("ARR at risk", "arr_at_risk", 5e-3),
            ("Churn within 12 months", "p_churn_12m", 5e-5),
            ("Next renewal fails", "p_next_renewal_fails", 5e-5),
        ] {
            let csv: Option<f64> = col(c)[i].as_deref().map(|v| v.parse().unwrap());
            match (num(&row[at(h)]), csv) {
                (Some(a), Some(b)) => assert!((a - b).abs() <= tol, "{h} row {i}: {a} vs {b}"),
                (a, b) => assert_eq!(a, b, "{h} row {i}"),
            }
        }
    }
    // One sheet per CSM, holding exactly that CSM's accounts in list order.
    let mut csms: Vec<String> = col("csm")
        .iter()
        .map(|c| c.clone().unwrap_or("No CSM".into()))
        .collect();
    csms.sort();
    csms.dedup();
    assert_eq!(sheets.len(), csms.len() + 2);
    let mut seen = 0;
    for csm in &csms {
        let s = wb.worksheet_range(csm).unwrap();
        let ids: Vec<Option<String>> = s.rows().skip(1).map(|r| text(&r[1])).collect();
        let want: Vec<Option<String>> = (0..rows)
            .filter(|&i| col("csm")[i].clone().unwrap_or("No CSM".into()) == *csm)
            .map(|i| col("account_id")[i].clone())
            .collect();
        assert_eq!(ids, want, "{csm}");
        seen += ids.len();
    }
    assert_eq!(seen, rows);
    let (dn, dc) = read_text_columns(&out.join("drivers.csv")).unwrap();
    let d = wb.worksheet_range("Drivers").unwrap();
    assert_eq!(d.height(), dc[0].len() + 1);
    let sentence = dn.iter().position(|x| x == "sentence").unwrap();
    for (i, row) in d.rows().skip(1).enumerate() {
        assert_eq!(text(&row[8]), dc[sentence][i], "drivers row {i}");
    }
}

/// The twelve-month outlook on the list and the quarter forecast, by the identities their
/// construction gives: the outlook's first three months are the list's 90-day
/// probability, so P(churn within 6 and 12 months) are never below it, the first quarter's
/// expected churned ARR is the 90-day forecast's, and each quarter starts with the ARR
/// expected to be left after the ones before. The model folder keeps the hazard, and
/// `score` with that folder gives the same outlook.
#[test]
fn the_outlook_and_the_quarter_forecast() {
    let tmp = tempfile::tempdir().unwrap();
    let (r, out) = run_small(tmp.path(), vec![Family::GradientBoosting], true);
    let scored: Vec<_> = r
        .list
        .rows
        .iter()
        .filter(|s| s.churn_probability.is_some())
        .collect();
    assert!(!scored.is_empty());
    for s in &scored {
        let o = s
            .outlook
            .as_ref()
            .expect("every scored account has an outlook");
        let p = s.churn_probability.unwrap();
        assert!((o.within(3) - p).abs() < 1e-12, "{}", s.account_id);
        assert!(o.within(6) >= p - 1e-12 && o.within(12) >= o.within(6) - 1e-12);
        assert!((0.0..=1.0).contains(&o.within(12)));
    }
    let f = &r.forecast;
    let all: Vec<_> = f.quarters.iter().filter(|q| q.segment == "all").collect();
    assert_eq!(
        all.iter().map(|q| q.quarter).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    let ninety = &f.rows[0];
    assert_eq!(ninety.segment, "all");
    let rel = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
    assert!(rel(
        all[0].expected_churned_arr,
        ninety.expected_churned_arr
    ));
    assert!(rel(all[0].expected_arr_start, ninety.arr));
    for k in 1..4 {
        let left = all[k - 1].expected_arr_start - all[k - 1].expected_churned_arr;
        assert!(rel(all[k].expected_arr_start, left), "quarter {}", k + 1);
        assert!(all[k].grr_low <= all[k].expected_grr && all[k].expected_grr <= all[k].grr_high);
    }
    // Segments add up to the book.
    for q in &all {
        let segs: f64 = f
            .quarters
            .iter()
            .filter(|x| x.quarter == q.quarter && x.segment != "all")
            .map(|x| x.expected_churned_arr)
            .sum();
        assert!(rel(segs, q.expected_churned_arr));
    }
    let csv = std::fs::read_to_string(out.join("forecast.csv")).unwrap();
    assert!(csv.lines().any(|l| l.starts_with("Q4,")));
    // The saved folder scores the same outlook without retraining.
    assert!(artifact::load(&r.model_dir).unwrap().hazard.is_some());
    let source = workflow::score::ScoreSource::Book {
        dir: tmp.path().join("book"),
        as_of: None,
    };
    let cfg = RawConfig::default().check().unwrap();
    let again =
        workflow::score::score(&r.model_dir, &source, &cfg, &ListOptions::default()).unwrap();
    let outlook = |l: &churnlab::score::ScoredList| -> Vec<(String, Vec<f64>)> {
        let mut v: Vec<_> = l
            .rows
            .iter()
            .filter_map(|s| Some((s.account_id.clone(), s.outlook.as_ref()?.within.clone())))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    assert_eq!(outlook(&again.list), outlook(&r.list));
    assert_eq!(again.forecast.quarters, r.forecast.quarters);
}
