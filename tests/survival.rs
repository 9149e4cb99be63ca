//! Survival metrics against values computed with scikit-survival
//! (tests/fixtures/survival_sksurv.py), and a hand-computed Kaplan–Meier.

use churnlab::train::survival::{self, KaplanMeier, Surv, SurvivalError};
use serde_json::Value;

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn bools(v: &Value) -> Vec<bool> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_bool().unwrap())
        .collect()
}

fn close(a: f64, b: &Value, what: &str) {
    let b = b.as_f64().unwrap();
    assert!(
        (a - b).abs() < 1e-12,
        "{what}: churnlab {a} vs scikit-survival {b}"
    );
}

#[test]
fn survival_metrics_match_scikit_survival() {
    let text = std::fs::read_to_string("tests/fixtures/survival_sksurv.json").unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for c in cases {
        let (e_tr, t_tr) = (bools(&c["train_event"]), floats(&c["train_time"]));
        let (e_te, t_te) = (bools(&c["test_event"]), floats(&c["test_time"]));
        let train = Surv {
            event: &e_tr,
            time: &t_tr,
        };
        let test = Surv {
            event: &e_te,
            time: &t_te,
        };
        let score = floats(&c["score"]);
        let horizons = floats(&c["horizons"]);
        let p_by: Vec<Vec<f64>> = c["p_by"].as_array().unwrap().iter().map(floats).collect();
        // Per horizon: P(churned by h) and P(still a customer after h).
        let p_h: Vec<Vec<f64>> = (0..horizons.len())
            .map(|h| p_by.iter().map(|row| row[h]).collect())
            .collect();
        let s_h: Vec<Vec<f64>> = p_h
            .iter()
            .map(|p| p.iter().map(|x| 1.0 - x).collect())
            .collect();
        let p_ref: Vec<&[f64]> = p_h.iter().map(Vec::as_slice).collect();
        let s_ref: Vec<&[f64]> = s_h.iter().map(Vec::as_slice).collect();

        let c_all = survival::uno_concordance(train, test, &score, None).unwrap();
        close(c_all, &c["uno_c"], "Uno's C");
        let tau = c["tau"].as_f64().unwrap();
        let c_tau = survival::uno_concordance(train, test, &score, Some(tau)).unwrap();
        close(c_tau, &c["uno_c_tau"], "Uno's C truncated at tau");

        let same: Vec<&[f64]> = vec![&score; horizons.len()];
        let (auc, mean) = survival::cumulative_dynamic_auc(train, test, &same, &horizons).unwrap();
        for (a, b) in auc.iter().zip(c["auc_score"].as_array().unwrap()) {
            close(*a, b, "cumulative/dynamic AUC of a score");
        }
        close(mean, &c["mean_auc_score"], "mean AUC of a score");
        let (auc, mean) = survival::cumulative_dynamic_auc(train, test, &p_ref, &horizons).unwrap();
        for (a, b) in auc.iter().zip(c["auc_p"].as_array().unwrap()) {
            close(*a, b, "cumulative/dynamic AUC per horizon");
        }
        close(mean, &c["mean_auc_p"], "mean AUC per horizon");

        let brier = survival::brier_scores(train, test, &s_ref, &horizons).unwrap();
        for (a, b) in brier.iter().zip(c["brier"].as_array().unwrap()) {
            close(*a, b, "Brier score");
        }
        let ibs = survival::integrated_brier_score(train, test, &s_ref, &horizons).unwrap();
        close(ibs, &c["ibs"], "integrated Brier score");
    }
}

/// Six accounts by hand: churn at 1, 3, 3; still customers when last seen at 2, 3, 5.
/// S(1) = 5/6; S(3) = 5/6 · (1 - 2/4) = 5/12 (at risk at 3: the three seen at 3 and the
/// one at 5). Censoring: G(2) = 1 - 1/5 = 4/5 (at risk at 2: five); at 3 the two churns
/// come first, so one censored of two left: G(3) = 4/5 · 1/2 = 2/5; G(5) = 0.
#[test]
fn kaplan_meier_by_hand() {
    let event = [true, false, true, true, false, false];
    let time = [1.0, 2.0, 3.0, 3.0, 3.0, 5.0];
    let s = Surv {
        event: &event,
        time: &time,
    };
    let km = KaplanMeier::churn(s);
    assert_eq!(km.at(0.5), Ok(1.0));
    assert!((km.at(1.0).unwrap() - 5.0 / 6.0).abs() < 1e-15);
    assert!((km.at(2.9).unwrap() - 5.0 / 6.0).abs() < 1e-15);
    assert!((km.at(4.0).unwrap() - 5.0 / 12.0).abs() < 1e-15);
    // Last seen at 5, still a customer: unknown after that.
    assert_eq!(km.at(6.0), Err(SurvivalError::PastFollowUp(6.0)));
    let g = KaplanMeier::censoring(s);
    assert_eq!(g.at(1.0), Ok(1.0));
    assert!((g.at(2.0).unwrap() - 0.8).abs() < 1e-15);
    assert!((g.at(3.0).unwrap() - 0.4).abs() < 1e-15);
    assert_eq!(g.at(5.0), Ok(0.0));
    assert_eq!(g.at(7.0), Ok(0.0));
}

/// Concordance by hand: churns at 1 (risk 0.9) and 3 (risk 0.2); still customers at 2
/// (risk 0.5) and 4 (risk 0.2). The training sample has no censoring before 5, so every
/// weight is 1. Pairs: churn at 1 against those at 2, 3, 4: 0.9 beats 0.5, 0.2, 0.2 → 3;
/// churn at 3 against the one at 4: a tie → 0.5. C = 3.5 / 4.
#[test]
fn uno_concordance_by_hand() {
    let event = [true, false, true, false];
    let time = [1.0, 2.0, 3.0, 4.0];
    let risk = [0.9, 0.5, 0.2, 0.2];
    let tr_e = [true, true, true, false];
    let tr_t = [1.0, 2.0, 3.0, 5.0];
    let train = Surv {
        event: &tr_e,
        time: &tr_t,
    };
    let test = Surv {
        event: &event,
        time: &time,
    };
    let c = survival::uno_concordance(train, test, &risk, None).unwrap();
    assert!((c - 3.5 / 4.0).abs() < 1e-15, "{c}");
    // Truncated at 2: only the churn at 1 counts: 3 of 3.
    let c = survival::uno_concordance(train, test, &risk, Some(2.0)).unwrap();
    assert!((c - 1.0).abs() < 1e-15, "{c}");
    // Nobody churned before 1: no pairs.
    assert_eq!(
        survival::uno_concordance(train, test, &risk, Some(1.0)),
        Err(SurvivalError::NoPairs)
    );
}
