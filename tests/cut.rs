//! Point in time: the snapshot at date t must not depend on anything dated t or later.
//! Cut the book at t (every row dated on or after t removed, open tickets, contacts and
//! invoices as they were then), rebuild, and every account's membership, status and
//! every feature at t and before must be what the full book gave.

mod common;

use chrono::NaiveDate;
use churnlab::config::{FeatureConfig, SnapshotConfig};
use churnlab::features::SnapshotTable;
use churnlab::workflow::BookContext;
use common::data_dir;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// (account, date) -> (status, days lapsed, facts and every feature in `columns` as text).
fn rows_until(
    t: &SnapshotTable,
    until: NaiveDate,
    columns: &[String],
) -> Vec<(String, String, String)> {
    let numeric: Vec<_> = t.numeric_columns().collect();
    let mut out: Vec<(String, String, String)> = t
        .rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.t <= until)
        .map(|(i, r)| {
            let mut facts = format!(
                "{} {} {} {} {} {} {} {:?}",
                r.status.as_str(),
                r.days_lapsed,
                r.arr,
                r.seats,
                r.tenure_days,
                r.renewal_date,
                r.first_renewal_ahead,
                r.arr_change_last_renewal
            );
            for name in columns {
                let col = numeric
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, c)| c)
                    .unwrap();
                facts.push_str(&format!(" {name}={:?}", col.get(i)));
            }
            for col in &t.categorical {
                facts.push_str(&format!(" {:?}", col[i]));
            }
            (
                t.account_ids[r.account as usize].clone(),
                r.t.to_string(),
                facts,
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn the_snapshot_at_t_is_the_same_when_the_future_is_cut_off() {
    let full = BookContext::open(&data_dir(), 30, None).unwrap();
    // The default configuration: every feature as a run computes it, the per-type family
    // included (its types chosen from each book's own rows, never from labels).
    let feat = FeatureConfig::default();
    let snap = SnapshotConfig::default();
    let table = full.snapshot_table(&snap, &feat).unwrap();
    assert!(
        table.usage_types.len() >= 5 && table.per_type_names.len() >= 5 * 7,
        "the bundled book's usage types: {:?}",
        table.usage_types
    );
    for at in ["2025-06-01", "2026-01-01", "2026-09-01"] {
        let at = d(at);
        let cut = full.cut(at).unwrap();
        let cut_table = cut.snapshot_table(&snap, &feat).unwrap();
        // Every column both tables have: all of the catalog, and each event type the cut
        // book's coverage rule also chose (a type first used after the cut cannot be).
        let cut_names: Vec<&str> = cut_table.numeric_columns().map(|(n, _)| n).collect();
        let columns: Vec<String> = table
            .numeric_columns()
            .map(|(n, _)| n.to_string())
            .filter(|n| cut_names.contains(&n.as_str()))
            .collect();
        assert!(
            columns.len() >= churnlab::features::CATALOG.len() + 5 * 7,
            "{at}: only {} common columns",
            columns.len()
        );
        let (a, b) = (
            rows_until(&table, at, &columns),
            rows_until(&cut_table, at, &columns),
        );
        let at_t = a.iter().filter(|r| r.1 == at.to_string()).count();
        let lapsed = a
            .iter()
            .filter(|r| r.1 == at.to_string() && r.2.starts_with("lapsed"))
            .count();
        println!(
            "{at}: {at_t} accounts in the snapshot, {lapsed} lapsed; {} rows up to it",
            a.len()
        );
        assert!(
            at_t > 1000 && lapsed > 0,
            "{at}: {at_t} rows, {lapsed} lapsed"
        );
        assert_eq!(a.len(), b.len(), "{at}: row count differs");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x, y, "{at}: differs");
        }
    }
}
