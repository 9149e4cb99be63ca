//! Feature and label correctness: a hand-computed fixture for every family, a leakage
//! test, and labels checked against the simulator's recorded churn dates.

mod common;

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use chrono::{Duration, NaiveDate};
use churnlab::config::{FeatureConfig, SnapshotConfig};
use churnlab::features::{self, SnapshotTable};
use churnlab::workflow::BookContext;
use common::*;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// The fixture book. Every expected value below is computed by hand for t = 2025-03-01.
const FILES: [(&str, &str); 8] = [
    (
        "accounts.csv",
        "account_id,name,segment,created_date,industry,region,csm\n\
A1,Acme,enterprise,2024-01-01,software,na,Jo\n\
A2,Beta,smb,2024-01-01,retail,emea,Jo\n",
    ),
    (
        "contracts.csv",
        "account_id,contract_id,start_date,end_date,arr,seats,plan\n\
A1,C1,2024-01-01,2024-12-31,1200,10,pro\n\
A1,C2,2025-01-01,2025-12-31,1500,12,pro\n\
A2,C3,2024-01-01,2025-03-31,500,5,starter\n",
    ),
    (
        "usage.csv",
        "account_id,date,feature,user_id,events\n\
A1,2025-01-15,reports,u1,10\n\
A1,2025-02-24,reports,u1,1\n\
A1,2025-02-25,reports,u1,1\n\
A1,2025-02-26,reports,u1,1\n\
A1,2025-02-27,reports,u1,5\n\
A1,2025-02-28,reports,u2,3\n\
A1,2025-02-28,api,u1,2\n\
A1,2025-03-01,reports,u1,100\n\
A2,2025-02-10,dashboards,v1,4\n",
    ),
    (
        "tickets.csv",
        "account_id,ticket_id,opened_at,closed_at,priority,csat,escalated\n\
A1,T1,2025-02-20T10:00:00Z,2025-02-21T10:00:00Z,p2,4,false\n\
A1,T2,2025-02-25T09:00:00Z,,urgent,,true\n\
A1,T3,2025-01-10T09:00:00Z,,high,,false\n\
A1,T4,2025-03-01T09:00:00Z,,p1,,true\n",
    ),
    (
        "nps.csv",
        "account_id,date,score\nA1,2024-11-15,9\nA1,2025-02-15,4\nA1,2025-03-01,10\n",
    ),
    (
        "contacts.csv",
        "account_id,contact_id,role,start_date,end_date\n\
A1,P1,executive_sponsor,2024-01-01,2025-02-10\n\
A1,P2,champion,2024-01-01,\n\
A1,P3,admin,2024-06-01,\n\
A1,P4,executive_sponsor,2025-03-01,\n",
    ),
    (
        "activities.csv",
        "account_id,date,type\nA1,2025-01-20,ebr\nA1,2025-02-25,training\n",
    ),
    (
        "invoices.csv",
        "account_id,invoice_id,due_date,amount,paid_date\n\
A1,I1,2025-01-10,1500,\n\
A1,I2,2024-12-01,300,2024-12-11\n\
A1,I3,2025-02-15,200,2025-03-05\n",
    ),
];

fn write(dir: &Path, files: &[(&str, String)]) {
    for (name, text) in files {
        fs::write(dir.join(name), text).unwrap();
    }
}

fn build(dir: &Path, as_of: &str) -> SnapshotTable {
    let ctx = BookContext::open(dir, 30, Some(d(as_of))).unwrap();
    let snap = SnapshotConfig {
        start: Some(d("2025-03-01")),
        ..SnapshotConfig::default()
    };
    let feat = FeatureConfig {
        sticky_features: vec!["api".into()],
        // Ratios between types are off by default; on here, to be checked by hand.
        usage_ratio_types: 6,
        ..FeatureConfig::default()
    };
    ctx.snapshot_table(&snap, &feat).unwrap()
}

fn fixture() -> (tempfile::TempDir, SnapshotTable) {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<(&str, String)> = FILES.iter().map(|(n, t)| (*n, t.to_string())).collect();
    write(dir.path(), &files);
    let table = build(dir.path(), "2025-09-01");
    (dir, table)
}

fn value(t: &SnapshotTable, account: &str, date: &str, feature: &str) -> Option<f64> {
    let a = t.account_ids.iter().position(|x| x == account).unwrap() as u32;
    let row = t
        .rows
        .iter()
        .position(|r| r.account == a && r.t == d(date))
        .unwrap();
    t.feature(feature).unwrap().get(row)
}

fn check(t: &SnapshotTable, account: &str, expected: &[(&str, Option<f64>)]) {
    for (name, want) in expected {
        let got = value(t, account, "2025-03-01", name);
        match (got, want) {
            (Some(g), Some(w)) => assert!(
                (g - w).abs() < 1e-9,
                "{account} {name}: got {g}, expected {w}"
            ),
            (g, w) => assert_eq!(g, *w, "{account} {name}"),
        }
    }
}

#[test]
fn adoption_features_by_hand() {
    let (_d, t) = fixture();
    check(
        &t,
        "A1",
        &[
            // 30d window [2025-01-30, 2025-03-01): 1+1+1+5+3+2; the 2025-03-01 row is not before t.
            ("events_30d", Some(13.0)),
            ("events_90d", Some(23.0)),
            // ln((13+1)/(10+1)): the prior window [2024-12-31, 2025-01-30) holds the 10 events.
            ("events_change_30d", Some((14.0f64 / 11.0).ln())),
            ("active_users_30d", Some(2.0)),
            ("active_users_change_30d", Some((3.0f64 / 2.0).ln())),
            ("seat_utilisation_30d", Some(2.0 / 12.0)),
            // reports and api of the three features seen before t.
            ("feature_breadth_30d", Some(2.0 / 3.0)),
            ("sticky_features_used_30d", Some(1.0)),
            ("sticky_user_share_30d", Some(0.5)),
            ("events_per_active_user_30d", Some(6.5)),
            ("active_days_30d", Some(5.0)),
            // u1 on 5 days + u2 on 1 day = 6 user-days / 30 days / 2 users.
            ("dau_mau_30d", Some(0.1)),
            ("days_since_last_activity", Some(1.0)),
            ("minutes_30d", None),
        ],
    );
    check(
        &t,
        "A2",
        &[
            ("events_30d", Some(4.0)),
            ("seat_utilisation_30d", Some(0.2)),
            ("days_since_last_activity", Some(19.0)),
        ],
    );
    assert_eq!(
        t.unavailable.get("minutes_30d").map(String::as_str),
        Some("usage has no minutes column")
    );
    assert_eq!(t.usage_grain, Some(features::UsageGrain::Daily));
}

/// The per-type family at t = 2025-03-01, by hand. A3 joins the fixture 14 days before t,
/// so its counts are scaled by the 14 days it has lived.
#[test]
fn per_type_usage_metrics_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<(&str, String)> = FILES
        .iter()
        .map(|(n, t)| {
            let extra = match *n {
                "accounts.csv" => "A3,Gamma,smb,2025-02-15,retail,emea,Jo\n",
                "contracts.csv" => "A3,C4,2025-02-15,2026-02-14,100,2,starter\n",
                "usage.csv" => "A3,2025-02-20,reports,w1,6\nA3,2025-02-25,reports,w1,3\n",
                _ => "",
            };
            (*n, format!("{t}{extra}"))
        })
        .collect();
    write(dir.path(), &files);
    let t = build(dir.path(), "2025-09-01");
    // Coverage before the training cut (2025-06-03): reports 2 of 3 accounts, api and
    // dashboards 1 of 3 each; most widely used first, ties by name.
    assert_eq!(t.usage_types, ["reports", "api", "dashboards"]);
    // Eight metrics per type, and a ratio for each pair (the less widely used over the
    // more widely used).
    assert_eq!(t.per_type_names.len(), 3 * 8 + 3);
    assert_eq!(
        &t.per_type_names[24..],
        [
            "usage[api/reports].ratio_90d",
            "usage[dashboards/reports].ratio_90d",
            "usage[dashboards/api].ratio_90d"
        ]
    );
    let r = |m: &str| format!("usage[reports].{m}");
    check(
        &t,
        "A1",
        &[
            // [2025-01-30, 2025-03-01): 1+1+1+5+3.
            (&r("events_30d"), Some(11.0)),
            // [2024-12-01, 2025-03-01): 10 + 11 = 21 events, per 30 days.
            (&r("events_90d"), Some(7.0)),
            (&r("per_user_30d"), Some(5.5)),
            (&r("per_seat_30d"), Some(11.0 / 12.0)),
            (&r("share_30d"), Some(11.0 / 13.0)),
            // The 60 days before: 10 events, 5 per 30 days: ln(12 / 6).
            (&r("trend_30d"), Some(2f64.ln())),
            (&r("days_since"), Some(1.0)),
            (&r("events_total"), Some(21.0)),
            ("usage[api].events_30d", Some(2.0)),
            ("usage[api].trend_30d", Some(3f64.ln())),
            // 90 days: 2 api events against 21 reports, none of dashboards.
            ("usage[api/reports].ratio_90d", Some(2.0 / 21.0)),
            ("usage[dashboards/reports].ratio_90d", Some(0.0)),
            ("usage[dashboards/api].ratio_90d", Some(0.0)),
            // Never used: zero counts and share, no recency.
            ("usage[dashboards].events_30d", Some(0.0)),
            ("usage[dashboards].share_30d", Some(0.0)),
            ("usage[dashboards].days_since", None),
        ],
    );
    check(
        &t,
        "A2",
        &[
            ("usage[dashboards].events_30d", Some(4.0)),
            ("usage[dashboards].share_30d", Some(1.0)),
            ("usage[dashboards].per_user_30d", Some(4.0)),
            ("usage[dashboards].days_since", Some(19.0)),
            ("usage[reports].share_30d", Some(0.0)),
        ],
    );
    // 9 events in 14 days of life: 9 x 30 / 14 a month, not a false low; no prior window.
    check(
        &t,
        "A3",
        &[
            (&r("events_30d"), Some(9.0 * 30.0 / 14.0)),
            (&r("events_90d"), Some(9.0 * 30.0 / 14.0)),
            (&r("trend_30d"), None),
            (&r("days_since"), Some(4.0)),
            (&r("events_total"), Some(9.0)),
            ("usage[api/reports].ratio_90d", Some(0.0)),
            // No api event: nothing to divide by.
            ("usage[dashboards/api].ratio_90d", None),
        ],
    );
    // A fixed list (a saved model's) is used as it is; a widely used type it lacks is
    // reported, not dropped silently.
    let ctx = BookContext::open(dir.path(), 30, Some(d("2025-09-01"))).unwrap();
    let snap = SnapshotConfig {
        start: Some(d("2025-03-01")),
        ..SnapshotConfig::default()
    };
    let feat = FeatureConfig {
        usage_types: vec!["reports".into(), "exports".into()],
        ..FeatureConfig::default()
    };
    let fixed = ctx.snapshot_table(&snap, &feat).unwrap();
    assert_eq!(fixed.usage_types, ["reports", "exports"]);
    assert_eq!(
        value(&fixed, "A1", "2025-03-01", "usage[exports].events_30d"),
        Some(0.0)
    );
    let new: Vec<&str> = fixed
        .unmodelled_usage_types
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(new, ["api", "dashboards"]);
}

#[test]
fn support_features_by_hand() {
    let (_d, t) = fixture();
    check(
        &t,
        "A1",
        &[
            ("tickets_30d", Some(2.0)),
            ("tickets_90d", Some(3.0)),
            ("tickets_change_30d", Some(1.0)),
            ("high_priority_tickets_30d", Some(2.0)),
            ("open_tickets", Some(2.0)),
            ("p1p2_open_over_10d", Some(1.0)),
            ("max_tickets_7d_90d", Some(2.0)),
            ("avg_resolution_hours_90d", Some(24.0)),
            ("escalations_90d", Some(1.0)),
            ("csat_avg_90d", Some(4.0)),
        ],
    );
    // No tickets: counts are zero, averages unknown.
    check(
        &t,
        "A2",
        &[
            ("tickets_30d", Some(0.0)),
            ("open_tickets", Some(0.0)),
            ("avg_resolution_hours_90d", None),
            ("csat_avg_90d", None),
        ],
    );
}

#[test]
fn sentiment_features_by_hand() {
    let (_d, t) = fixture();
    check(
        &t,
        "A1",
        &[
            ("nps_last", Some(4.0)),
            ("nps_change", Some(-5.0)),
            ("nps_detractor", Some(1.0)),
            ("days_since_nps", Some(14.0)),
            ("nps_responses_180d", Some(2.0)),
            ("nps_score_180d", Some(0.0)),
        ],
    );
    check(
        &t,
        "A2",
        &[
            ("nps_last", None),
            ("nps_detractor", None),
            ("nps_responses_180d", Some(0.0)),
        ],
    );
}

#[test]
fn relationship_features_by_hand() {
    let (_d, t) = fixture();
    check(
        &t,
        "A1",
        &[
            // The sponsor left on 2025-02-10; the new one only starts on t.
            ("sponsor_present", Some(0.0)),
            ("champion_present", Some(1.0)),
            ("sponsor_left_90d", Some(1.0)),
            ("champion_left_90d", Some(0.0)),
            ("days_since_sponsor_left", Some(19.0)),
            ("active_contacts", Some(2.0)),
            ("days_since_cs_touch", Some(4.0)),
            ("days_since_exec_touch", Some(40.0)),
            ("cs_touches_90d", Some(2.0)),
        ],
    );
    check(
        &t,
        "A2",
        &[
            ("sponsor_present", Some(0.0)),
            ("days_since_cs_touch", None),
        ],
    );
    // A month later the new sponsor is in role.
    assert_eq!(value(&t, "A1", "2025-04-01", "sponsor_present"), Some(1.0));
}

#[test]
fn commercial_features_and_labels_by_hand() {
    let (_d, t) = fixture();
    check(
        &t,
        "A1",
        &[
            ("arr", Some(1500.0)),
            ("seats", Some(12.0)),
            ("arr_per_seat", Some(125.0)),
            ("tenure_days", Some(425.0)),
            ("days_to_renewal", Some(305.0)),
            ("first_renewal_ahead", Some(0.0)),
            ("arr_change_last_renewal", Some(0.25)),
            ("monthly_term", Some(0.0)),
            ("overdue_invoices_30d", Some(1.0)),
            ("overdue_amount_30d", Some(1500.0)),
            // (50 days unpaid + 10 days late + 14 days unpaid so far) / 3.
            ("avg_days_late_365d", Some(74.0 / 3.0)),
        ],
    );
    check(
        &t,
        "A2",
        &[
            ("days_to_renewal", Some(30.0)),
            ("first_renewal_ahead", Some(1.0)),
            ("arr_change_last_renewal", None),
        ],
    );
    let label = |acc: &str, date: &str| {
        let a = t.account_ids.iter().position(|x| x == acc).unwrap() as u32;
        t.rows
            .iter()
            .find(|r| r.account == a && r.t == d(date))
            .map(|r| (r.label, r.label_next_renewal))
    };
    assert_eq!(
        label("A1", "2025-03-01"),
        Some((Some(false), None)),
        "A1's renewal on 2025-12-31 is after as-of + grace"
    );
    assert_eq!(
        label("A2", "2025-03-01"),
        Some((Some(true), Some(true))),
        "A2 churns on 2025-03-31"
    );
    assert_eq!(
        label("A2", "2025-04-01"),
        Some((Some(true), Some(true))),
        "on April 1 A2's term ended the day before: still in the book, renewal due, and it churns"
    );
    assert_eq!(
        label("A1", "2025-06-01"),
        Some((Some(false), None)),
        "2025-06-01 + 90 days is before as-of"
    );
    assert_eq!(
        label("A1", "2025-07-01"),
        Some((None, None)),
        "2025-07-01 + 90 days runs past as-of"
    );
    let cats = t.to_table();
    assert!(cats.column("plan").is_some() && cats.column("segment").is_some());
}

/// Changing or adding rows dated on or after t never moves a feature at t.
#[test]
fn no_feature_sees_the_future() {
    let (_d, base) = fixture();
    let cut = "2025-05-01";
    let mut files: Vec<(&str, String)> = FILES.iter().map(|(n, t)| (*n, t.to_string())).collect();
    let extra = [
        (
            "usage.csv",
            "A1,2025-05-01,reports,u9,999\nA1,2025-06-15,api,u3,50\nA2,2025-05-02,api,v2,7\n",
        ),
        (
            "tickets.csv",
            "A1,T9,2025-05-01T00:00:00Z,,p1,1,true\nA1,T10,2025-07-01T00:00:00Z,2025-07-02T00:00:00Z,p4,5,false\n",
        ),
        ("nps.csv", "A1,2025-05-01,0\nA1,2025-06-01,10\n"),
        ("contacts.csv", "A1,P9,champion,2025-05-01,\n"),
        ("activities.csv", "A1,2025-05-01,ebr\nA1,2025-08-01,qbr\n"),
        ("invoices.csv", "A1,I9,2025-05-01,999,\n"),
        ("contracts.csv", "A1,C9,2025-05-01,2026-04-30,800,3,pro\n"),
    ];
    for (name, rows) in extra {
        let f = files.iter_mut().find(|(n, _)| *n == name).unwrap();
        f.1.push_str(rows);
    }
    // Also change an existing row dated after the cut: the open ticket T4 gets closed later.
    let t = files.iter_mut().find(|(n, _)| *n == "tickets.csv").unwrap();
    t.1 = t.1.replace(
        "A1,T3,2025-01-10T09:00:00Z,,high",
        "A1,T3,2025-01-10T09:00:00Z,2025-05-20T00:00:00Z,high",
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &files);
    let changed = build(dir.path(), "2025-09-01");
    let key = |t: &SnapshotTable| -> HashMap<(u32, NaiveDate), usize> {
        t.rows
            .iter()
            .enumerate()
            .map(|(i, r)| ((r.account, r.t), i))
            .collect()
    };
    let (kb, kc) = (key(&base), key(&changed));
    let mut compared = 0;
    for ((acc, t), &i) in &kb {
        if *t > d(cut) {
            continue;
        }
        let j = kc[&(*acc, *t)];
        for (k, spec) in features::CATALOG.iter().enumerate() {
            assert_eq!(
                base.numeric[k].get(i),
                changed.numeric[k].get(j),
                "{} at {t} moved",
                spec.name
            );
            compared += 1;
        }
    }
    assert!(compared > 100, "{compared}");
    // And the change is visible after the cut, so the test can fail.
    let after = kc[&(0, d("2025-06-01"))];
    assert_ne!(
        changed.feature("nps_last").unwrap().get(after),
        base.feature("nps_last")
            .unwrap()
            .get(kb[&(0, d("2025-06-01"))])
    );
}

/// On the bundled book, every label agrees with the churn date the simulator recorded.
#[test]
fn labels_agree_with_the_simulator() {
    let t = BookContext::open(&data_dir(), 30, None)
        .unwrap()
        .snapshot_table(&SnapshotConfig::default(), &FeatureConfig::default())
        .unwrap();
    let churn: HashMap<String, NaiveDate> =
        read_rows(&table_path(&data_dir().join("truth"), "accounts"))
            .into_iter()
            .filter_map(|r| Some((r["account_id"].clone(), d(&r.get("churn_date")?[..10]))))
            .collect();
    let (mut agree, mut labelled, mut positives) = (0, 0, 0);
    for r in &t.rows {
        let Some(label) = r.label else { continue };
        labelled += 1;
        positives += usize::from(label);
        // In the book at t means covered the day before t, or lapsed within the 30-day
        // grace period: a churn (last covered day) from t - 30 to t + 90.
        let truth = churn
            .get(&t.account_ids[r.account as usize])
            .is_some_and(|c| *c >= r.t - Duration::days(30) && *c <= r.t + Duration::days(90));
        agree += usize::from(truth == label);
    }
    println!("{labelled} labelled, {positives} positive, {agree} agree");
    assert!(labelled > 25_000 && positives > 1_000);
    assert_eq!(agree, labelled);
}

#[test]
fn docs_features_md_matches_the_catalog() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/features.md");
    let doc = fs::read_to_string(&path).unwrap();
    assert!(
        doc == features::catalog_markdown(),
        "docs/features.md is stale: run `cargo run -- catalog > docs/features.md`"
    );
    for spec in features::CATALOG {
        assert!(doc.contains(&format!("`{}`", spec.name)));
    }
}

/// Without a tickets table, every support feature is missing (not zero) and reported.
#[test]
fn a_missing_table_gives_missing_features_not_zeros() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<(&str, String)> = FILES
        .iter()
        .filter(|(n, _)| *n != "tickets.csv")
        .map(|(n, t)| (*n, t.to_string()))
        .collect();
    write(dir.path(), &files);
    let t = build(dir.path(), "2025-09-01");
    for name in [
        "tickets_30d",
        "open_tickets",
        "max_tickets_7d_90d",
        "csat_avg_90d",
    ] {
        assert!(
            t.feature(name).unwrap().iter().all(|v| v.is_none()),
            "{name}"
        );
        assert_eq!(
            t.unavailable.get(name).map(String::as_str),
            Some("no tickets table"),
            "{name}"
        );
    }
    assert!(t.feature("events_30d").unwrap().iter().all(|v| v.is_some()));
}
