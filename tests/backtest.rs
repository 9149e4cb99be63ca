//! The backtest on the bundled book, against the simulator's oracle: at each cut date the
//! pipeline, trained on the book as it was then, ranks the accounts nearly as well as the
//! simulator's own churn probabilities, and not better (better would mean a leak); and its
//! backtest ROC-AUC agrees with the cut run's own out-of-time test.

mod common;

use std::collections::HashMap;

use churnlab::config::Config;
use churnlab::workflow::{self, backtest};
use common::{data_dir, read_rows, roc_auc, table_path};

#[test]
fn backtest_matches_the_oracle_and_the_out_of_time_test() {
    let cfg = Config::default();
    let b = backtest::backtest(&data_dir(), &[], &cfg, &workflow::no_progress).unwrap();
    let dates: Vec<String> = b.cuts.iter().map(|c| c.at.to_string()).collect();
    assert_eq!(dates, ["2026-01-01", "2026-04-01", "2026-07-01"]);
    let oracle: HashMap<(String, String), f64> =
        read_rows(&table_path(&data_dir().join("truth"), "account_months"))
            .into_iter()
            .map(|m| {
                (
                    (
                        m["account_id"].clone(),
                        m["snapshot_date"][..10].to_string(),
                    ),
                    m["p_churn_90d"].parse().unwrap(),
                )
            })
            .collect();
    for c in &b.cuts {
        let day = c.at.to_string();
        let (mut model, mut truth, mut y) = (Vec::new(), Vec::new(), Vec::new());
        for s in &c.scores {
            assert!(s.churn_probability > 0.0 && s.churn_probability < 1.0);
            let (Some(l), Some(&q)) = (s.churned, oracle.get(&(s.account_id.clone(), day.clone())))
            else {
                continue;
            };
            model.push(s.churn_probability);
            truth.push(q);
            y.push(l);
        }
        let (m, o) = (roc_auc(&model, &y), roc_auc(&truth, &y));
        let stated = c.outcome.roc_auc.unwrap();
        let test = c.test_roc_auc.unwrap();
        let lapsed = c.scores.iter().filter(|s| s.status == "lapsed").count();
        println!(
            "{day}: {} accounts ({lapsed} lapsed), {} resolved, {} churned; backtest ROC-AUC {stated:.4} (on the {} with an oracle value {m:.4}), oracle {o:.4}, out-of-time test {test:.4}; churned ARR {:.0} predicted {:.0}",
            c.accounts,
            c.resolved,
            c.churned,
            y.len(),
            c.actual_churned_arr,
            c.predicted_churned_arr
        );
        assert_eq!(c.scores.len(), c.accounts);
        assert!(y.len() as f64 > 0.9 * c.resolved as f64);
        assert!(m > o - 0.05, "{day}: backtest {m:.4} vs oracle {o:.4}");
        assert!(
            m < o + 0.02,
            "{day}: backtest {m:.4} beats the oracle {o:.4}: a leak?"
        );
        assert!(
            (stated - test).abs() < 0.05,
            "{day}: backtest {stated:.4} vs test {test:.4}"
        );
    }
    // The quarter forecast (issue 33): every quarter that has played out by the as-of
    // date is checked (three after the first cut, two after the second, one after the
    // third), and the 90% interval holds what churned in at least three of four.
    let checks: Vec<_> = b.cuts.iter().flat_map(|c| c.quarters.iter()).collect();
    assert_eq!(
        b.cuts.iter().map(|c| c.quarters.len()).collect::<Vec<_>>(),
        [3, 2, 1]
    );
    let covered = checks.iter().filter(|q| q.covered()).count();
    for (c, q) in b
        .cuts
        .iter()
        .flat_map(|c| c.quarters.iter().map(move |q| (c.at, q)))
    {
        println!(
            "{c} Q{}: forecast {:.0} ({:.0} - {:.0}), actual {:.0}",
            q.quarter,
            q.expected_churned_arr,
            q.churned_arr_low,
            q.churned_arr_high,
            q.actual_churned_arr
        );
    }
    assert!(
        4 * covered >= 3 * checks.len(),
        "{covered} of {} covered",
        checks.len()
    );
}
