//! Explanations against the simulator's truth: the health components the model leans on
//! follow the true driver weights, and accounts hit by an injected problem show it among
//! their top three risk drivers.

mod common;

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDate};
use churnlab::config::Config;
use churnlab::explain::drivers::{Typical, explain_rows};
use churnlab::features::dataset::Dataset;
use churnlab::workflow::{self, BookContext};
use common::{data_dir, read_rows, table_path, truth_risk_correlation};

/// The truth's renewal log-odds is a baseline (the segment's base rate, the term, whether
/// it is the first renewal) plus the weighted latent drivers. The features that carry the
/// baseline say *when* and *for whom* risk is high, not *why*: they are the catalog's
/// context features (timing, term, tenure, segment, size), which the at-risk list keeps
/// out of the reasons, and they are left out when the components are compared with the
/// true driver weights.
fn baseline(feature: &str) -> bool {
    churnlab::features::catalog::is_context(feature)
}

#[test]
fn explanations_recover_the_simulators_truth() {
    let dir = data_dir();
    let cfg = Config::default();
    let ctx = BookContext::open(&dir, cfg.data().grace_days, None).unwrap();
    let table = ctx.snapshot_table(cfg.snapshots(), cfg.features()).unwrap();
    let ds = Dataset::from_snapshots(&table);
    let scheme = workflow::train::scheme_for(&ds, &cfg);
    let t = workflow::train::train_dataset(&ds, scheme, &cfg, &workflow::no_progress).unwrap();
    let pipe = &t.pipelines[&t.report.champion];

    // Rows: every account at the last twelve snapshot dates.
    let dates: Vec<NaiveDate> = table
        .snapshot_dates
        .iter()
        .rev()
        .take(12)
        .copied()
        .collect();
    let rows: Vec<usize> = (0..table.rows.len())
        .filter(|&i| dates.contains(&table.rows[i].t))
        .collect();
    let typical = Typical::new(&ds, &rows);
    let x = pipe.prep.transform(&ds, &rows).unwrap();
    let ex = explain_rows(pipe, &ds, &rows, x.view(), &typical, 3);

    // 1. Components by mean absolute contribution (baseline features aside).
    // One feature is set aside from the component sums because the simulator makes it a
    // mixture of three latent drivers (docs/simulator.md, "Accounts and contracts"): the ARR
    // change at a renewal follows seat utilisation (adoption: expansion above 85%, downsell
    // below 45%) and sentiment and distress (discounts and uplifts). Tagged commercial, it
    // carries mostly adoption and sentiment, so its contribution says nothing about the
    // rank of the commercial driver.
    let mixed = |f: &str| f == "arr_change_last_renewal";
    let mut by_comp: BTreeMap<String, f64> = BTreeMap::new();
    let mut by_feat: BTreeMap<String, f64> = BTreeMap::new();
    let contrib = churnlab::explain::contributions(&pipe.model, x.view(), &pipe.prep.column_means);
    for c in &contrib {
        let mut per: BTreeMap<&str, f64> = BTreeMap::new();
        for (f, v) in churnlab::explain::by_feature(&pipe.prep, &c.values) {
            if baseline(&f) {
                continue;
            }
            *by_feat.entry(f.clone()).or_insert(0.0) += v.abs() / contrib.len() as f64;
            if !mixed(&f) {
                *per.entry(churnlab::explain::drivers::component_of(&f))
                    .or_insert(0.0) += v;
            }
        }
        for (k, v) in per {
            *by_comp.entry(k.to_string()).or_insert(0.0) += v.abs() / contrib.len() as f64;
        }
    }
    let mut feats: Vec<(String, f64)> = by_feat.into_iter().collect();
    feats.sort_by(|a, b| b.1.total_cmp(&a.1));
    println!(
        "champion {:?}; strongest features: {:?}",
        t.report.champion,
        &feats[..12]
    );
    let mut order: Vec<(String, f64)> = by_comp.into_iter().collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1));
    println!("mean |contribution| by component: {order:?}");
    let weights: Vec<(String, f64)> = read_rows(&dir.join("truth/driver_weights.csv"))
        .into_iter()
        .map(|r| (r["component"].clone(), r["weight"].parse().unwrap()))
        .collect();
    let mut truth = weights.clone();
    truth.sort_by(|a, b| b.1.total_cmp(&a.1));
    let got: Vec<&str> = order.iter().map(|(c, _)| c.as_str()).collect();
    let want: Vec<&str> = truth.iter().map(|(c, _)| c.as_str()).collect();
    println!("model order {got:?}, true order {want:?}");
    // With context (timing, size, tenure, segment) set aside, the two heaviest true
    // drivers lead in order and the lightest (commercial: financial distress) trails.
    // The order of support (true weight 0.70) and sentiment (0.45) is not identifiable
    // from the data, by the truth's own construction: sentiment is an AR(1) of adoption,
    // pain and relationship, and its risk correlates 0.86 with adoption's over the
    // account-months (checked below from truth/account_months), so three quarters of its
    // variance is adoption's. How much of that shared part lands on the sentiment features
    // (NPS) rather than on the usage ones is the model's choice, not the data's; the
    // unique part of sentiment alone (weight x residual spread, about 0.45 x 0.5) is below
    // support's 0.70, the shared part above it.
    let months = read_rows(&table_path(&dir.join("truth"), "account_months"));
    let corr = truth_risk_correlation(&months, "adoption", "sentiment");
    assert!(corr > 0.8, "adoption and sentiment risk correlate {corr}");
    assert_eq!(
        got[..2],
        want[..2],
        "components by mean |contribution|: {order:?}"
    );
    assert_eq!(
        got[4], "commercial",
        "components by mean |contribution|: {order:?}"
    );
    let mut middle: Vec<&str> = got[2..4].to_vec();
    middle.sort_unstable();
    assert_eq!(middle, ["sentiment", "support"]);

    // 2. Injected problems in the 90 days before t show among the top three risers.
    let events = read_rows(&table_path(&dir.join("truth"), "events"));
    let mut by_account: HashMap<&str, Vec<(NaiveDate, &str)>> = HashMap::new();
    for e in &events {
        let d = NaiveDate::parse_from_str(&e["date"], "%Y-%m-%d").unwrap();
        by_account
            .entry(e["account_id"].as_str())
            .or_default()
            .push((d, e["event"].as_str()));
    }
    let component_of_event = |e: &str| match e {
        "sponsor_left" => Some("relationship"),
        "usage_collapse" => Some("adoption"),
        "ticket_storm" => Some("support"),
        _ => None,
    };
    let mut hits: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut truth_rows: HashMap<&str, Vec<(String, String)>> = HashMap::new();
    for (k, &i) in rows.iter().enumerate() {
        let t_i = table.rows[i].t;
        let Some(evs) = by_account.get(ds.ids[i].as_str()) else {
            continue;
        };
        for &(d, ev) in evs {
            let Some(comp) = component_of_event(ev) else {
                continue;
            };
            if d >= t_i || d < t_i - Duration::days(90) {
                continue;
            }
            // Shown when one of the top three reasons is of the event's component, or the
            // component is the one adding most risk (the list's risk_<component>
            // columns). Since the per-type usage family, a usage collapse lowers every
            // event type at once and its weight is spread over one reason per type, so
            // the component's sum can lead while no single adoption reason is in the top
            // three.
            let e = &ex[k];
            let top: Vec<&str> = e.risers.iter().map(|d| d.component).collect();
            let leading = e
                .components
                .iter()
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .filter(|c| c.1 > 0.0)
                .map(|c| c.0);
            let slot = hits.entry(ev).or_insert((0, 0));
            slot.1 += 1;
            truth_rows
                .entry(ev)
                .or_default()
                .push((ds.ids[i].clone(), t_i.to_string()));
            if top.contains(&comp) || leading == Some(comp) {
                slot.0 += 1;
            }
        }
    }
    for (ev, (hit, n)) in &hits {
        let share = *hit as f64 / *n as f64;
        println!(
            "{ev}: {hit} of {n} in the top three risk drivers ({:.0}%)",
            100.0 * share
        );
    }
    // The bar comes from the truth: for the same rows, how often the event's component is
    // among the three largest contributions to the true renewal log-odds (weight x risk,
    // truth/driver_weights and truth/account_months), less one allowance for every event,
    // 0.10, for what a fitted model and its explanations cannot recover. (The truth puts
    // the component in its top three for all of these rows.)
    let weights_of: HashMap<String, f64> = weights.iter().cloned().collect();
    let truth_at: HashMap<(&str, &str), Vec<(String, f64)>> = months
        .iter()
        .map(|r| {
            let c: Vec<(String, f64)> = weights_of
                .iter()
                .map(|(k, w)| {
                    (
                        k.clone(),
                        w * r[&format!("{k}_risk")].parse::<f64>().unwrap(),
                    )
                })
                .collect();
            ((r["account_id"].as_str(), r["snapshot_date"].as_str()), c)
        })
        .collect();
    for (ev, (hit, n)) in &hits {
        let comp = component_of_event(ev).unwrap();
        // The truth's account-months are month starts inside the simulated period (the
        // as-of date, after it, has none): the share is over the rows it has.
        let known: Vec<&Vec<(String, f64)>> = truth_rows[*ev]
            .iter()
            .filter_map(|(a, t)| truth_at.get(&(a.as_str(), t.as_str())))
            .collect();
        assert!(
            known.len() * 2 >= *n,
            "{ev}: the truth has {} of {n} rows",
            known.len()
        );
        let in_top3 = known
            .iter()
            .filter(|c| {
                let mut c: Vec<(String, f64)> = c.to_vec();
                c.sort_by(|x, y| y.1.total_cmp(&x.1));
                c.iter().take(3).any(|(k, _)| k == comp)
            })
            .count();
        let truth_share = in_top3 as f64 / known.len() as f64;
        let bar = truth_share - 0.10;
        println!(
            "{ev}: truth puts {comp} in its top three for {:.0}%; bar {bar:.2}",
            100.0 * truth_share
        );
        assert!(
            *n >= 20 && *hit as f64 >= bar * *n as f64,
            "{ev}: {hit} of {n} in the top three (bar {bar:.2})"
        );
    }
    assert_eq!(hits.len(), 3, "{hits:?}");
    // And no driver is context: the reasons are behaviour.
    assert!(ex.iter().all(|e| {
        e.risers
            .iter()
            .chain(&e.protectors)
            .all(|d| !baseline(&d.feature))
    }));
}
