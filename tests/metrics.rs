//! Metric code against values computed with scikit-learn (tests/fixtures/metrics_sklearn.py).

use churnlab::train::metrics;

/// A fixture's array of numbers.
fn f(x: &serde_json::Value) -> Vec<f64> {
    x.as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

#[test]
fn metrics_match_scikit_learn() {
    let text = std::fs::read_to_string("tests/fixtures/metrics_sklearn.json").unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for c in cases {
        let (y, p) = (f(&c["y"]), f(&c["p"]));
        let close = |a: f64, b: &serde_json::Value, what: &str| {
            let b = b.as_f64().unwrap();
            assert!((a - b).abs() < 1e-10, "{what}: churnlab {a} vs sklearn {b}");
        };
        close(metrics::roc_auc(&y, &p).unwrap(), &c["roc_auc"], "roc_auc");
        close(metrics::pr_auc(&y, &p).unwrap(), &c["pr_auc"], "pr_auc");
        close(metrics::brier(&y, &p), &c["brier"], "brier");
        close(metrics::log_loss(&y, &p), &c["log_loss"], "log_loss");
        // calibration_curve lists only the non-empty bins.
        let (bins, _) = metrics::reliability(&y, &p, 10);
        let rates: Vec<f64> = bins.iter().filter_map(|b| b.observed_rate).collect();
        let preds: Vec<f64> = bins.iter().filter_map(|b| b.mean_predicted).collect();
        let (want_rates, want_preds) = (f(&c["calibration_true"]), f(&c["calibration_pred"]));
        assert_eq!(rates.len(), want_rates.len());
        assert_eq!(preds.len(), want_preds.len());
        for (a, b) in rates
            .iter()
            .zip(&want_rates)
            .chain(preds.iter().zip(&want_preds))
        {
            assert!((a - b).abs() < 1e-10, "{a} vs {b}");
        }
    }
}

/// Lowess and the integrated calibration index against statsmodels' lowess (frac 2/3, no
/// robustness iterations, delta 0) on three fixtures: 40, 300 and 1,000 predictions, a
/// calibrated one and two that are off by +0.05 and -0.03
/// (tests/fixtures/ici_statsmodels.py).
#[test]
fn lowess_and_ici_match_statsmodels() {
    let text = std::fs::read_to_string("tests/fixtures/ici_statsmodels.json").unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    for case in v["cases"].as_array().unwrap() {
        let (p, y, want) = (f(&case["p"]), f(&case["y"]), f(&case["fit"]));
        let mut order: Vec<usize> = (0..p.len()).collect();
        order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
        let xs: Vec<f64> = order.iter().map(|&i| p[i]).collect();
        let ys: Vec<f64> = order.iter().map(|&i| y[i]).collect();
        let fit = metrics::lowess(&xs, &ys, 2.0 / 3.0);
        for (k, &i) in order.iter().enumerate() {
            assert!(
                (fit[k] - want[i]).abs() < 1e-10,
                "n {}: point {i}: {} vs {}",
                p.len(),
                fit[k],
                want[i]
            );
        }
        let ici = metrics::ici(&y, &p).unwrap();
        let stated = case["ici"].as_f64().unwrap();
        assert!((ici - stated).abs() < 1e-12, "{ici} vs {stated}");
    }
    assert_eq!(metrics::ici(&[], &[]), None);
}
