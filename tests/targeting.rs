//! The next best play against the simulator's truth on a 20,000-account book: the ARR
//! that `best_play` saves against the rule-based `suggested_play`, and the uplift
//! (Qini) curve of each supported play's per-account estimates. benches/uplift.py prints
//! the same figures for any run; docs/plays.md has them.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use common::read_rows;

fn churnlab(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_churnlab"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "churnlab {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The simulator's play each rule-based suggestion calls for (the rules with no simulated
/// play, such as a support escalation, save nothing here). The same map as
/// benches/uplift.py.
fn rule_play(rule: &str) -> Option<&'static str> {
    Some(match rule {
        "Executive outreach: re-establish an executive sponsor" => "exec_outreach",
        "Find and enable a new champion" => "exec_outreach",
        "Executive business review (EBR)" => "ebr",
        "CSM check-in and success plan review" => "success_plan",
        "Adoption review: usage plan, training for inactive users" => "training",
        "Value review before the renewal" => "qbr",
        _ => return None,
    })
}

/// Mean over k of the true benefit summed over the first k accounts, per account.
fn auuc(benefit_in_order: &[f64]) -> f64 {
    let n = benefit_in_order.len() as f64;
    let mut run = 0.0;
    let mut area = 0.0;
    for b in benefit_in_order {
        run += b;
        area += run;
    }
    area / n / n
}

fn order_by(values: &[f64], key: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..values.len()).collect();
    idx.sort_by(|&a, &b| key[b].total_cmp(&key[a]).then(a.cmp(&b)));
    idx.iter().map(|&i| values[i]).collect()
}

/// The book's truth at its last month start (`effect_<play>_90d` per account), a run
/// scored on that date, and both policies' true ARR saved.
///
/// Margins, derived rather than read off a run:
/// - best_play against suggested_play: the per-account paired difference in true ARR
///   saved must have a mean above three of its standard errors (a one-sided z-test at
///   0.13%), so a policy no better than the rule fails.
/// - each supported play's normalised Qini, (model - random) / (oracle - random), must
///   exceed three standard deviations of its value under random orders of the same
///   accounts (200 seeded permutations): a ranking with no information about who
///   benefits fails.
#[test]
fn best_play_beats_the_rule_and_ranks_who_benefits_on_the_truth() {
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("book");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    churnlab(&[
        "-q",
        "simulate",
        "--accounts",
        "20000",
        "--months",
        "24",
        "--seed",
        "42",
        "--format",
        "parquet",
        "--out",
        &s(&book),
    ]);
    let months = read_rows(&book.join("truth/account_months.parquet"));
    let date = months
        .iter()
        .map(|r| r["snapshot_date"].clone())
        .max()
        .unwrap();
    let truth: HashMap<String, &HashMap<String, String>> = months
        .iter()
        .filter(|r| r["snapshot_date"] == date)
        .map(|r| (r["account_id"].clone(), r))
        .collect();
    let true_effect = |acc: &str, play: &str| -> f64 {
        truth[acc][&format!("effect_{play}_90d")].parse().unwrap()
    };
    let out = dir.path().join("out");
    churnlab(&[
        "-q",
        "run",
        "--data",
        &s(&book),
        "--out",
        &s(&out),
        "--models",
        &s(&dir.path().join("models")),
        "--as-of",
        &date,
    ]);

    // Policies, account by account: best_play (the rule where it is empty) and the rule.
    let scored = read_rows(&out.join("scored_accounts.csv"));
    let mut diff = Vec::new();
    let (mut best_total, mut rule_total) = (0.0, 0.0);
    for r in &scored {
        let (Some(acc), Some(arr)) = (r.get("account_id"), r.get("arr")) else {
            continue;
        };
        if !truth.contains_key(acc) {
            continue;
        }
        let arr: f64 = arr.parse().unwrap();
        let rule = r.get("suggested_play").and_then(|p| rule_play(p));
        let best = r.get("best_play").map(String::as_str).or(rule);
        let saved = |p: Option<&str>| p.map_or(0.0, |p| -true_effect(acc, p) * arr);
        best_total += saved(best);
        rule_total += saved(rule);
        diff.push(saved(best) - saved(rule));
    }
    let n = diff.len() as f64;
    let mean = diff.iter().sum::<f64>() / n;
    let sd = (diff.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let se = sd / n.sqrt();
    println!(
        "{} accounts at {date}: best_play saves {best_total:.0}, suggested_play {rule_total:.0}; paired mean {mean:.2} (SE {se:.2})",
        diff.len()
    );
    assert!(diff.len() > 10_000, "{} accounts scored", diff.len());
    assert!(
        mean > 3.0 * se,
        "best_play {mean:.2} per account, SE {se:.2}"
    );

    // Uplift: each supported play's ranking against random orders.
    let effects = read_rows(&out.join("play_effects.csv"));
    let mut by_play: HashMap<String, (Vec<f64>, Vec<f64>, bool)> = HashMap::new();
    for r in &effects {
        let acc = &r["account_id"];
        if !truth.contains_key(acc) {
            continue;
        }
        let e = by_play.entry(r["play"].clone()).or_default();
        e.0.push(-r["estimated_effect"].parse::<f64>().unwrap());
        e.1.push(-true_effect(acc, &r["play"]));
        e.2 = r["supported"] == "true";
    }
    let mut plays: Vec<_> = by_play.into_iter().collect();
    plays.sort_by(|a, b| a.0.cmp(&b.0));
    let mut supported = 0;
    for (play, (est, truth_benefit, ok)) in &plays {
        let model = auuc(&order_by(truth_benefit, est));
        let oracle = auuc(&order_by(truth_benefit, truth_benefit));
        let mut rng = churnlab::common::rng::Rng::new(7);
        let null: Vec<f64> = (0..200)
            .map(|_| {
                let key: Vec<f64> = truth_benefit.iter().map(|_| rng.f64()).collect();
                auuc(&order_by(truth_benefit, &key))
            })
            .collect();
        let random = null.iter().sum::<f64>() / null.len() as f64;
        let sd_null = (null.iter().map(|v| (v - random).powi(2)).sum::<f64>()
            / (null.len() - 1) as f64)
            .sqrt();
        let qini = (model - random) / (oracle - random);
        let qini_sd = sd_null / (oracle - random);
        println!(
            "{play:<14} supported {ok}: normalised Qini {qini:.3} (random orders: SD {qini_sd:.3}), AUUC {model:.5} against random {random:.5} and oracle {oracle:.5}"
        );
        if *ok {
            supported += 1;
            assert!(
                qini > 3.0 * qini_sd,
                "{play}: Qini {qini:.3}, random SD {qini_sd:.3}"
            );
        }
    }
    assert!(supported >= 3, "{supported} supported plays");
}
