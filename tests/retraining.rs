//! Retraining with confidence: the challenger against the champion, drift between the
//! training window and the scoring date, and list stability against the previous run.
//! Books are simulated; shifts are injected by editing their CSV tables.

use std::path::Path;

use churnlab::config::RawConfig;
use churnlab::input::io::Format;
use churnlab::score::ListOptions;
use churnlab::sim::{self, SimConfig};
use churnlab::train::registry;
use churnlab::workflow::{self, previous::Previous, run::RunOptions, run::RunResult};

fn book(dir: &Path, seed: u64) {
    let sc = SimConfig {
        accounts: 500,
        months: 20,
        seed,
        format: Format::Csv,
        ..SimConfig::default()
    };
    sim::simulate(&sc, dir, &|_| {}).unwrap();
}

/// Rewrites `table.csv` of `dir`: `f(header, fields)` returns the new fields of a row, or
/// None to drop it. The simulator writes plain fields (no quoted commas) in these tables.
fn edit(dir: &Path, table: &str, f: impl Fn(&[&str], &mut Vec<String>) -> bool) {
    let path = dir.join(format!("{table}.csv"));
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut out = header.join(",") + "\n";
    for line in lines {
        let mut fields: Vec<String> = line.split(',').map(str::to_string).collect();
        if f(&header, &mut fields) {
            out.push_str(&fields.join(","));
            out.push('\n');
        }
    }
    std::fs::write(&path, out).unwrap();
}

fn col(header: &[&str], name: &str) -> usize {
    header.iter().position(|h| *h == name).unwrap()
}

fn run(
    data: &Path,
    models: &Path,
    out: &Path,
    raw: RawConfig,
    as_of: Option<&str>,
    previous: Option<&str>,
) -> RunResult {
    let cfg = raw.check().unwrap();
    let opts = RunOptions {
        data: data.to_path_buf(),
        models: models.to_path_buf(),
        as_of: as_of.map(|d| d.parse().unwrap()),
        list: ListOptions::default(),
        previous: Previous::resolve(previous, models, Some(out)).unwrap(),
    };
    let r = workflow::run::run(&opts, &cfg, &workflow::no_progress).unwrap();
    churnlab::output::run::write(&r, out, &Default::default()).unwrap();
    r
}

/// The simulated book's last month starts 2026-06-01 (20 months from 2024-11-01).
const CUT: &str = "2026-01-01";

#[test]
fn a_second_run_compares_with_the_champion_and_the_previous_list() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, models, out) = (
        tmp.path().join("book"),
        tmp.path().join("models"),
        tmp.path().join("out"),
    );
    book(&data, 21);
    // The first run, five months earlier: the model in production.
    let first = run(&data, &models, &out, RawConfig::default(), Some(CUT), None);
    assert!(
        first.entry.promoted,
        "the first model of a folder is promoted"
    );
    // An output folder as --previous: its list, and the model its list names.
    let p = Previous::resolve(Some(out.to_str().unwrap()), &models, None).unwrap();
    let loaded = p.load().unwrap();
    assert_eq!(loaded.model.unwrap().manifest.run_id, first.manifest.run_id);
    assert_eq!(loaded.list.unwrap().accounts.len(), first.list.rows.len());
    assert!(first.stability.is_none());
    // The second, on the whole book, compared with it.
    let second = run(
        &data,
        &models,
        &out,
        RawConfig::default(),
        None,
        Some("champion"),
    );
    let c = second
        .trained
        .report
        .comparison
        .as_ref()
        .expect("a comparison");
    assert_eq!(c.champion_run_id, first.manifest.run_id);
    let old = c.champion.as_ref().expect("the champion scored the rows");
    assert!(!c.champion_in_sample, "{}", c.rows_basis);
    assert!(
        c.rows_basis
            .contains("after the champion's training window"),
        "{}",
        c.rows_basis
    );
    assert!(
        c.positives >= 10 && c.rows > c.positives,
        "{} rows, {} churned",
        c.rows,
        c.positives
    );
    // Both sides are real models on real rows.
    assert!(old.roc_auc.unwrap() > 0.6 && c.challenger.roc_auc.unwrap() > 0.6);
    let d = c.auc_difference.unwrap();
    let (lo, hi) = c.auc_difference_interval.unwrap();
    assert!(lo <= d && d <= hi, "{lo} {d} {hi}");
    // The decision follows the stated rule.
    let want = lo > -0.01 && c.challenger.calibration_error <= old.calibration_error + 0.01;
    assert_eq!(c.promoted, want, "{}", c.decision);
    assert_eq!(second.entry.promoted, c.promoted);
    // metrics.json and the model card carry the decision.
    let metrics = std::fs::read_to_string(out.join("metrics.json")).unwrap();
    assert!(
        metrics.contains("\"comparison\"") && metrics.contains(&c.decision.replace('"', "\\\""))
    );
    let card = std::fs::read_to_string(second.model_dir.join("MODEL_CARD.md")).unwrap();
    assert!(card.contains("## Against the model in production") && card.contains(&c.decision));
    // The index holds both, one promoted.
    let index = registry::read(&models).unwrap();
    assert_eq!(index.models.len(), 2);
    assert_eq!(index.models.iter().filter(|e| e.promoted).count(), 1);
    let promoted = index.promoted().unwrap();
    let expect = if c.promoted {
        &second.manifest.run_id
    } else {
        &first.manifest.run_id
    };
    assert_eq!(&promoted.run_id, expect);
    // List stability against the first run's list (OUT held it).
    let s = second
        .stability
        .as_ref()
        .expect("stability against OUT's previous list");
    assert_eq!(s.previous_model, first.manifest.run_id);
    assert!(s.accounts_in_both > 100, "{}", s.accounts_in_both);
    // The top-50 overlap, counted here from the two lists themselves (rank order).
    let top = |rows: &[churnlab::score::Scored]| -> std::collections::HashSet<String> {
        rows.iter().take(50).map(|r| r.account_id.clone()).collect()
    };
    let (a, b) = (top(&first.list.rows), top(&second.list.rows));
    assert_eq!(s.top_50.size, 50);
    assert_eq!(s.top_50.shared, a.intersection(&b).count());
    let rho = s.rank_correlation.unwrap();
    assert!(
        rho > 0.3 && rho < 1.0,
        "five months apart the ranks agree, not perfectly: {rho}"
    );
    for m in &s.moves {
        let high_now = second
            .list
            .rows
            .iter()
            .any(|r| r.account_id == m.account_id && r.risk_tier == Some("high"));
        assert_eq!(m.direction == "entered", high_now, "{m:?}");
    }
    // The files and the report section.
    for f in ["drift.csv", "drift.json", "stability.csv", "stability.json"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Retraining checks") && html.contains("Against the model in production"));
    assert!(html.contains(&format!(
        "the top 50 share <b>{} of 50</b>",
        s.top_50.shared
    )));
}

/// No injected shift: the top features are not flagged and no table stops.
#[test]
fn a_book_without_a_shift_is_not_flagged() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("book");
    book(&data, 22);
    let r = run(
        &data,
        &tmp.path().join("models"),
        &tmp.path().join("out"),
        RawConfig::default(),
        None,
        None,
    );
    let d = &r.drift;
    assert!(
        d.flagged.is_empty(),
        "flagged without a shift: {:?}",
        d.flagged
    );
    assert!(d.signals.is_empty(), "{:?}", d.signals);
    assert!(
        d.features
            .iter()
            .filter(|f| f.importance_rank.is_some())
            .count()
            >= 10
    );
}

/// NPS stops after month 14 of 20: the table is reported as stopped, and the NPS features
/// shift.
#[test]
fn nps_that_stops_is_flagged() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("book");
    book(&data, 22);
    edit(&data, "nps", |h, f| {
        f[col(h, "date")].as_str() < "2026-01-01"
    });
    let r = run(
        &data,
        &tmp.path().join("models"),
        &tmp.path().join("out"),
        RawConfig::default(),
        None,
        None,
    );
    let d = &r.drift;
    let nps = d
        .signals
        .iter()
        .find(|s| s.table == "nps")
        .expect("an nps signal");
    assert_eq!(nps.change, "stopped", "{nps:?}");
    let shifted: Vec<&str> = d
        .features
        .iter()
        .filter(|f| f.source == "nps" && f.status == "shifted")
        .map(|f| f.feature.as_str())
        .collect();
    assert!(
        !shifted.is_empty(),
        "{:?}",
        d.features
            .iter()
            .filter(|f| f.source == "nps")
            .collect::<Vec<_>>()
    );
}

/// Usage events double for one product feature (the busiest) from 2026-02: the usage
/// table is flagged with that feature's events per account risen about twofold.
#[test]
fn usage_that_doubles_for_one_feature_is_flagged() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("book");
    book(&data, 22);
    let text = std::fs::read_to_string(data.join("usage.csv")).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let (kf, ke) = (col(&header, "feature"), col(&header, "events"));
    let mut totals: std::collections::BTreeMap<String, f64> = Default::default();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        *totals.entry(f[kf].to_string()).or_default() += f[ke].parse::<f64>().unwrap();
    }
    let busiest = totals
        .iter()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap()
        .0
        .clone();
    edit(&data, "usage", |h, f| {
        if f[col(h, "date")].as_str() >= "2026-02-01" && f[kf] == busiest {
            let v: f64 = f[ke].parse().unwrap();
            f[ke] = format!("{}", v * 2.0);
        }
        true
    });
    let r = run(
        &data,
        &tmp.path().join("models"),
        &tmp.path().join("out"),
        RawConfig::default(),
        None,
        None,
    );
    let d = &r.drift;
    let s = d
        .signals
        .iter()
        .find(|s| s.table == "usage" && s.detail.contains(&format!("'{busiest}'")))
        .unwrap_or_else(|| panic!("no signal for {busiest}: {:?}", d.signals));
    assert_eq!(s.change, "rose", "{s:?}");
    // Only that feature: the others kept their volume.
    assert_eq!(d.signals.len(), 1, "{:?}", d.signals);
    let ratio: f64 = s
        .detail
        .split("account: ")
        .nth(1)
        .unwrap()
        .split('x')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1.75..2.6).contains(&ratio), "{ratio}");
    let events = d
        .features
        .iter()
        .find(|f| f.feature == "events_30d")
        .unwrap();
    // Against the whole training window the total shows the doubling; against the
    // training date it resembles most it does not, and that date is one after the change
    // (the model has seen doubled volumes from 2026-02-01 on).
    assert!(events.psi_window.unwrap() > 0.05, "{events:?}");
    let closest = events.closest_date.as_deref().unwrap();
    assert!(closest >= "2026-02-01", "{events:?}");
    assert!(
        events.psi.unwrap() < events.psi_window.unwrap(),
        "{events:?}"
    );
}

/// A challenger trained without usage is worse than a champion with it, and is not
/// promoted; the champion still scores (this run computes the usage features).
#[test]
fn a_worse_challenger_is_not_promoted() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, models, out) = (
        tmp.path().join("book"),
        tmp.path().join("models"),
        tmp.path().join("out"),
    );
    book(&data, 23);
    let first = run(&data, &models, &out, RawConfig::default(), Some(CUT), None);
    let mut raw = RawConfig::default();
    raw.features.exclude = vec!["usage".into()];
    let second = run(
        &data,
        &models,
        &out,
        raw,
        None,
        Some(first.model_dir.to_str().unwrap()),
    );
    assert!(
        !second
            .manifest
            .numeric_features
            .iter()
            .any(|f| f.starts_with("events_"))
    );
    let c = second.trained.report.comparison.as_ref().unwrap();
    assert!(c.champion.is_some(), "{:?}", c.not_compared);
    assert!(c.auc_difference.unwrap() < 0.0, "{:?}", c.auc_difference);
    assert!(!c.promoted, "{}", c.decision);
    assert!(c.decision.starts_with("not promoted"), "{}", c.decision);
    assert_eq!(
        registry::read(&models).unwrap().promoted().unwrap().run_id,
        first.manifest.run_id
    );
}

/// A champion that cannot score the new run's question (it predicts churn within 90 days,
/// the challenger within 60) is replaced, and the comparison says why; nothing is scored.
#[test]
fn a_champion_that_cannot_score_is_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, models, out) = (
        tmp.path().join("book"),
        tmp.path().join("models"),
        tmp.path().join("out"),
    );
    book(&data, 24);
    let first = run(&data, &models, &out, RawConfig::default(), Some(CUT), None);
    let mut raw = RawConfig::default();
    raw.snapshots.horizon_days = 60;
    let second = run(&data, &models, &out, raw, None, Some("champion"));
    let c = second.trained.report.comparison.as_ref().unwrap();
    assert!(c.champion.is_none() && c.auc_difference.is_none());
    assert_eq!(
        c.not_compared.as_deref(),
        Some("it predicts churn within 90 days, this run within 60")
    );
    assert!(c.promoted, "{}", c.decision);
    assert!(c.decision.starts_with(&format!(
        "promoted: the champion {} cannot score this data",
        first.manifest.run_id
    )));
    assert_eq!(
        registry::read(&models).unwrap().promoted().unwrap().run_id,
        second.manifest.run_id
    );
}
