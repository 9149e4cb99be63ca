//! The simulator: same seed same bytes, realistic book-level figures, and a truth that
//! is informative and confounded the way the analyses downstream need.

mod common;

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use chrono::{Duration, NaiveDate};
use churnlab::book::retention;
use churnlab::input::io::Format;
use churnlab::input::load;
use churnlab::sim::{self, Grain, SimConfig};
use churnlab::workflow::BookContext;
use common::*;

fn all_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for sub in ["", "truth"] {
        let d = dir.join(sub);
        let mut names: Vec<_> = fs::read_dir(&d)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .collect();
        names.sort_by_key(|e| e.file_name());
        for e in names {
            out.push((
                format!("{sub}/{}", e.file_name().to_string_lossy()),
                fs::read(e.path()).unwrap(),
            ));
        }
    }
    out
}

#[test]
fn same_seed_same_bytes_whatever_the_threads_and_chunks() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let base = SimConfig {
        accounts: 150,
        months: 9,
        grain: Grain::Weekly,
        ..SimConfig::default()
    };
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    one.install(|| {
        sim::simulate(
            &SimConfig {
                chunk: 40,
                ..base.clone()
            },
            a.path(),
            &|_| {},
        )
        .unwrap()
    });
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    two.install(|| {
        sim::simulate(
            &SimConfig {
                chunk: 1000,
                ..base.clone()
            },
            b.path(),
            &|_| {},
        )
        .unwrap()
    });
    let (fa, fb) = (all_files(a.path()), all_files(b.path()));
    assert_eq!(fa.len(), 8 + 7, "8 tables and 7 truth files");
    for ((na, da), (nb, db)) in fa.iter().zip(&fb) {
        assert_eq!(na, nb);
        assert!(da == db, "{na} differs between runs");
    }
    // A different seed gives a different book.
    let c = tempfile::tempdir().unwrap();
    sim::simulate(&SimConfig { seed: 7, ..base }, c.path(), &|_| {}).unwrap();
    assert_ne!(
        fs::read(a.path().join("contracts.csv")).unwrap(),
        fs::read(c.path().join("contracts.csv")).unwrap()
    );
}

#[test]
fn parquet_and_every_grain_load_through_the_contract() {
    for (format, grain) in [
        (Format::Parquet, Grain::Monthly),
        (Format::Csv, Grain::Daily),
    ] {
        let d = tempfile::tempdir().unwrap();
        let cfg = SimConfig {
            accounts: 60,
            months: 4,
            format,
            grain,
            ..SimConfig::default()
        };
        let s = sim::simulate(&cfg, d.path(), &|_| {}).unwrap();
        let book =
            load::load_book(d.path()).unwrap_or_else(|e| panic!("{format:?} {grain:?}: {e}"));
        for (table, rows) in &s.rows {
            assert_eq!(book.rows(table), *rows, "{table}");
        }
        assert!(book.missing_signals().is_empty());
        assert_eq!(
            book.as_of(),
            Some(NaiveDate::from_ymd_opt(2025, 3, 1).unwrap())
        );
        // Reading in small chunks (many per table) gives exactly the same frames.
        let small = load::Limits {
            chunk_bytes: 3_000,
            ..load::Limits::default()
        };
        let chunked = load::load_book_with(d.path(), small).unwrap();
        for (name, t) in &book.tables {
            let c = &chunked.tables[name].frame;
            assert!(
                t.frame.equals_missing(c),
                "{format:?} {name}: chunked load differs"
            );
        }
    }
}

/// Grain changes how usage is aggregated, not how much happens: daily rows summed per
/// account match weekly rows summed per account to within noise.
#[test]
fn usage_grains_describe_the_same_activity() {
    let mut totals = Vec::new();
    for grain in [Grain::Daily, Grain::Weekly, Grain::Monthly] {
        let d = tempfile::tempdir().unwrap();
        sim::simulate(
            &SimConfig {
                accounts: 80,
                months: 3,
                grain,
                ..SimConfig::default()
            },
            d.path(),
            &|_| {},
        )
        .unwrap();
        let rows = read_rows(&d.path().join("usage.csv"));
        let events: f64 = rows
            .iter()
            .map(|r| r["events"].parse::<f64>().unwrap())
            .sum();
        totals.push((grain, rows.len(), events));
    }
    assert!(
        totals[0].1 > totals[1].1 && totals[1].1 > totals[2].1,
        "{totals:?}"
    );
    for t in &totals[1..] {
        let ratio = t.2 / totals[0].2;
        assert!(
            (0.85..1.15).contains(&ratio),
            "events at {:?} vs daily: {ratio}",
            t.0
        );
    }
}

/// The shipped default book has the book-level figures CS teams see:
/// annual logo churn 8-25% with smb > mid_market > enterprise, GRR 80-95%, NRR 95-120%.
#[test]
fn default_book_has_realistic_retention() {
    let ctx = BookContext::open(&data_dir(), 30, None).unwrap();
    let r = retention::report(
        ctx.accounts(),
        ctx.terms(),
        ctx.histories(),
        30,
        ctx.as_of(),
    );
    let all = r.trailing("all").unwrap();
    let (smb, mid, ent) = (
        r.trailing("smb").unwrap(),
        r.trailing("mid_market").unwrap(),
        r.trailing("enterprise").unwrap(),
    );
    println!(
        "all {:.3} smb {:.3} mid {:.3} ent {:.3} grr {:.3} nrr {:.3}",
        all.logo_churn, smb.logo_churn, mid.logo_churn, ent.logo_churn, all.grr, all.nrr
    );
    assert!(
        (0.08..=0.25).contains(&all.logo_churn),
        "annual logo churn {}",
        all.logo_churn
    );
    assert!(smb.logo_churn > mid.logo_churn && mid.logo_churn > ent.logo_churn);
    assert!((0.80..=0.95).contains(&all.grr), "GRR {}", all.grr);
    assert!((0.95..=1.20).contains(&all.nrr), "NRR {}", all.nrr);
    assert!(all.seat_downsell_arr > 0.0 && all.price_downsell_arr > 0.0 && all.expansion_arr > 0.0);
    // GRR <= 100% <= ... and NRR >= GRR wherever there was ARR to retain.
    let with_arr: Vec<_> = r.rows.iter().filter(|w| w.arr_start > 0.0).collect();
    assert!(with_arr.len() > 100);
    for w in with_arr {
        assert!(w.grr <= 1.0 + 1e-12 && w.nrr + 1e-12 >= w.grr, "{w:?}");
    }
}

fn parse_day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(&s[..10], "%Y-%m-%d").unwrap()
}

/// The truth's 90-day churn probability ranks actual churners well above renewers, and the
/// plays are confounded: treated accounts churn more in raw terms although every play's
/// true effect is protective.
#[test]
fn truth_is_informative_and_plays_are_confounded() {
    let dir = data_dir();
    let truth = dir.join("truth");
    let churn: HashMap<String, NaiveDate> = read_rows(&table_path(&truth, "accounts"))
        .into_iter()
        .filter_map(|r| Some((r["account_id"].clone(), parse_day(r.get("churn_date")?))))
        .collect();
    let months = read_rows(&table_path(&truth, "account_months"));
    let horizon = Duration::days(90);
    let end = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let mut scores = Vec::new();
    let mut labels = Vec::new();
    let mut keys = Vec::new();
    for r in &months {
        let t = parse_day(&r["snapshot_date"]);
        if t + horizon > end {
            continue;
        }
        let c = churn.get(&r["account_id"]);
        scores.push(r["p_churn_90d"].parse::<f64>().unwrap());
        labels.push(c.is_some_and(|c| *c >= t && *c < t + horizon));
        keys.push((r["account_id"].clone(), t));
    }
    let auc = roc_auc(&scores, &labels);
    let rate = labels.iter().filter(|l| **l).count() as f64 / labels.len() as f64;
    println!(
        "oracle AUC {auc:.3}, 90-day churn rate {rate:.4}, {} account-months",
        labels.len()
    );
    assert!(auc > 0.85, "oracle AUC {auc}");
    let mean_p: f64 = scores.iter().sum::<f64>() / scores.len() as f64;
    assert!(
        (mean_p - rate).abs() < 0.25 * rate,
        "truth is calibrated: mean p {mean_p} vs rate {rate}"
    );

    // Naive treated-vs-untreated churn for success plans vs the true effect.
    let acts = read_rows(&table_path(&dir, "activities"));
    let mut plays: HashMap<String, Vec<NaiveDate>> = HashMap::new();
    for a in acts.iter().filter(|a| a["type"] == "success_plan") {
        plays
            .entry(a["account_id"].clone())
            .or_default()
            .push(parse_day(&a["date"]));
    }
    let (mut t_n, mut t_c, mut u_n, mut u_c) = (0.0, 0.0, 0.0, 0.0);
    for ((acc, t), y) in keys.iter().zip(&labels) {
        let treated = plays
            .get(acc)
            .is_some_and(|ds| ds.iter().any(|d| *d < *t && *t - *d <= horizon));
        let y = f64::from(u8::from(*y));
        if treated {
            t_n += 1.0;
            t_c += y;
        } else {
            u_n += 1.0;
            u_c += y;
        }
    }
    let naive = t_c / t_n - u_c / u_n;
    let effects = read_rows(&truth.join("play_effects.csv"));
    let att: f64 = effects
        .iter()
        .find(|r| r["play"] == "success_plan")
        .unwrap()["att_churn_90d"]
        .parse()
        .unwrap();
    println!("success_plan: naive difference {naive:+.4}, true ATT {att:+.4}, treated {t_n}");
    assert!(att < 0.0, "plays protect in truth");
    assert!(
        naive > 0.0,
        "the naive comparison is biased by confounding: {naive}"
    );
}

/// The bundled book is what `simulate --accounts 2500 --months 24 --seed 42 --format
/// parquet` writes today (data/README.md), byte for byte, truth included: the realism and
/// truth tests that read `data/` test today's simulator. After a simulator change,
/// regenerate it with that command in the same commit.
#[test]
fn the_bundled_book_is_what_the_documented_command_writes() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = SimConfig {
        accounts: 2500,
        months: 24,
        seed: 42,
        format: Format::Parquet,
        ..SimConfig::default()
    };
    sim::simulate(&cfg, dir.path(), &|_| {}).unwrap();
    // README.md and churnlab.toml are the repository's own, not the simulator's.
    let ours = |d: &Path| -> Vec<(String, Vec<u8>)> {
        all_files(d)
            .into_iter()
            .filter(|(n, _)| n != "/README.md" && n != "/churnlab.toml")
            .collect()
    };
    let (fresh, bundled) = (ours(dir.path()), ours(Path::new("data")));
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&fresh), names(&bundled));
    for ((name, a), (_, b)) in fresh.iter().zip(&bundled) {
        assert!(
            a == b,
            "data/{name} differs from what the simulator writes today"
        );
    }
}
