//! Models: reference fits, the flat mode's accuracy bar, the book workflow (train, save,
//! score, refuse a mismatched schema) and out-of-time accuracy next to the oracle.

mod common;

use std::collections::HashMap;
use std::fs;

use churnlab::config::{Config, ModelConfig};
use churnlab::features::dataset::Dataset;
use churnlab::model::Family;
use churnlab::model::logistic::{Logistic, Penalty};
use churnlab::score::ListOptions;
use churnlab::train::split::Scheme;
use churnlab::train::{self, metrics};
use churnlab::workflow::score::ScoreSource;
use churnlab::workflow::{self, train::TrainSource};
use common::{data_dir, read_rows, table_path};

fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn logistic_matches_scikit_learn_with_weights_and_l2() {
    let text = fs::read_to_string("tests/fixtures/logistic_sklearn.json").unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let rows: Vec<Vec<f64>> = v["x"].as_array().unwrap().iter().map(floats).collect();
    let x = ndarray::Array2::from_shape_fn((rows.len(), rows[0].len()), |(i, j)| rows[i][j]);
    let (y, w) = (floats(&v["y"]), floats(&v["w"]));
    let m = Logistic::fit(x.view(), &y, Some(&w), v["l2"].as_f64().unwrap());
    let want = floats(&v["coef"]);
    assert_eq!(m.coef.len(), want.len());
    for (a, b) in m.coef.iter().zip(want) {
        assert!((a - b).abs() < 1e-6, "coef {a} vs sklearn {b}");
    }
    let b0 = v["intercept"].as_f64().unwrap();
    assert!((m.intercept - b0).abs() < 1e-6, "{} vs {b0}", m.intercept);
}

#[test]
fn l1_logistic_matches_scikit_learn_zeros_included() {
    let text = fs::read_to_string("tests/fixtures/logistic_l1_sklearn.json").unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let rows: Vec<Vec<f64>> = v["x"].as_array().unwrap().iter().map(floats).collect();
    let x = ndarray::Array2::from_shape_fn((rows.len(), rows[0].len()), |(i, j)| rows[i][j]);
    let (y, w) = (floats(&v["y"]), floats(&v["w"]));
    let pen = Penalty {
        l2: 0.0,
        l1: v["l1"].as_f64().unwrap(),
    };
    let want = floats(&v["coef"]);
    // From the null model, and warm-started from a far point (the grid's path).
    let far = (1.0, vec![2.0; want.len()]);
    for start in [None, Some(far)] {
        let m = Logistic::fit_from(x.view(), &y, Some(&w), pen, start);
        assert_eq!(m.coef.len(), want.len());
        for (a, b) in m.coef.iter().zip(&want) {
            assert!((a - b).abs() < 1e-6, "coef {a} vs sklearn {b}");
            // scikit-learn's zeros are exact zeros here too.
            assert_eq!(*a == 0.0, *b == 0.0, "coef {a} vs sklearn {b}");
        }
        let b0 = v["intercept"].as_f64().unwrap();
        assert!((m.intercept - b0).abs() < 1e-6, "{} vs {b0}", m.intercept);
    }
}

fn quiet(_: train::Progress<'_>) {}

/// The accuracy bar of the flat mode: scikit-learn and LightGBM reach 0.929-0.930 ROC-AUC
/// on this table with 5-fold CV (shared/data/README.md).
#[test]
fn flat_mode_reaches_the_accuracy_bar_on_saas_churn() {
    let path = std::path::Path::new("tests/fixtures/saas_churn.csv");
    let ds = Dataset::from_flat(path, "churned", None).unwrap();
    assert_eq!(ds.rows(), 2000);
    assert_eq!(ds.labelled().len(), 2000);
    assert!(ds.categorical_names.contains(&"company_size".to_string()));
    assert!(ds.numeric_names.contains(&"months_active".to_string()));
    let cfg = ModelConfig {
        refit: false,
        ..ModelConfig::default()
    };
    let scheme = Scheme::CrossValidation { folds: cfg.folds };
    let t = train::train(&ds, &cfg, scheme, 42, &quiet).unwrap();
    assert_eq!(t.report.scheme.as_str(), "cross_validation");
    let best = t
        .report
        .families
        .iter()
        .map(|f| (f.family, f.fold_roc_auc.unwrap().0))
        .fold(
            (Family::Logistic, 0.0),
            |a, b| if b.1 > a.1 { b } else { a },
        );
    println!("best {:?} mean fold ROC-AUC {:.4}", best.0, best.1);
    // LightGBM's 5-fold figure on this table, 0.9298 (shared/data/README.md rounds it to
    // 0.930), is the bar.
    assert!(
        best.1 >= 0.9298,
        "best mean fold ROC-AUC {:.4} < LightGBM's 0.9298",
        best.1
    );
    // Every family beats chance by a wide margin.
    for f in &t.report.families {
        assert!(f.fold_roc_auc.unwrap().0 > 0.8, "{:?}", f.family);
    }
}

#[test]
fn training_is_identical_whatever_the_thread_count() {
    let path = std::path::Path::new("tests/fixtures/saas_churn.csv");
    let ds = Dataset::from_flat(path, "churned", None).unwrap();
    let cfg = ModelConfig {
        folds: 3,
        ..ModelConfig::default()
    };
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let scheme = Scheme::CrossValidation { folds: cfg.folds };
            let t = train::train(&ds, &cfg, scheme, 7, &quiet).unwrap();
            // What metrics.json and the pipeline files would hold (timings are not saved).
            (
                serde_json::to_string(&t.report).unwrap(),
                serde_json::to_string(&t.pipelines).unwrap(),
            )
        })
    };
    assert!(run(1) == run(2), "results differ between 1 and 2 threads");
}

#[test]
fn flat_tables_with_text_numbers_blanks_and_word_labels() {
    let d = tempfile::tempdir().unwrap();
    let mut csv = String::from("customer,plan,seats,churned\n");
    for i in 0..60 {
        let plan = ["basic", "pro", "enterprise"][i % 3];
        let seats = if i % 7 == 0 {
            String::new()
        } else if i % 11 == 0 {
            "NA".into()
        } else {
            format!("{}", 5 + i % 9)
        };
        let label = if i % 4 == 0 { "Yes" } else { "no" };
        csv.push_str(&format!("C{i},{plan},\"{seats}\",{label}\n"));
    }
    let path = d.path().join("flat.csv");
    fs::write(&path, &csv).unwrap();
    let ds = Dataset::from_flat(&path, "churned", Some("customer")).unwrap();
    assert_eq!(ds.numeric_names, vec!["seats"]);
    assert_eq!(ds.categorical_names, vec!["plan"]);
    assert_eq!(ds.numeric[0].get(0), None, "blank is missing");
    assert_eq!(ds.numeric[0].get(11), None, "NA is missing");
    assert_eq!(ds.numeric[0].get(1), Some(6.0));
    assert_eq!(ds.label[0], Some(1.0));
    assert_eq!(ds.label[1], Some(0.0));
    assert_eq!(ds.ids[5], "C5");
    let cfg = ModelConfig::default();
    let scheme = Scheme::CrossValidation { folds: cfg.folds };
    let t = train::train(&ds, &cfg, scheme, 1, &quiet).unwrap();
    assert_eq!(t.pipelines.len(), 4);
    // Cross-validation keeps no fitted model: every family is refitted.
    assert!(t.report.families.iter().all(|f| f.refitted));

    // A label that is not a label, with its line and column.
    fs::write(
        &path,
        csv.replace("C3,basic,\"8\",no", "C3,basic,\"8\",maybe"),
    )
    .unwrap();
    let e = Dataset::from_flat(&path, "churned", None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("flat.csv, line 5, column 'churned'"), "{e}");
    assert!(e.contains("\"maybe\""), "{e}");
    // A single class.
    fs::write(&path, csv.replace("Yes", "no")).unwrap();
    let e = Dataset::from_flat(&path, "churned", None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("single class"), "{e}");
    // No such label column.
    let e = Dataset::from_flat(&path, "churn", None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no label column 'churn'"), "{e}");
}

/// Trains on the default book, saves, reloads and scores; refuses a book without NPS; and
/// compares the out-of-time ROC-AUC with the oracle's on the same test rows.
#[test]
fn book_workflow_train_save_score_and_oracle() {
    let dir = data_dir();
    let cfg = Config::default();
    let models = tempfile::tempdir().unwrap();
    let source = TrainSource::Book {
        dir: dir.clone(),
        as_of: None,
    };
    let out =
        workflow::train::train(&source, models.path(), None, &cfg, &workflow::no_progress).unwrap();
    let (t, ds) = (&out.trained, &out.dataset);
    let r = &t.report;
    assert_eq!(r.scheme.as_str(), "out_of_time");
    let split = r.split.as_ref().unwrap();
    let time = ds.time.as_ref().unwrap();
    let last_fit = split.fit.iter().map(|&i| time[i]).max().unwrap();
    let first_valid = split.valid.iter().map(|&i| time[i]).min().unwrap();
    let last_valid = split.valid.iter().map(|&i| time[i]).max().unwrap();
    let first_test = split.test.iter().map(|&i| time[i]).min().unwrap();
    assert!(last_fit + 90 < first_valid && last_valid + 90 < first_test);

    // The oracle: the simulator's own 90-day churn probability on the same test rows.
    let truth = dir.join("truth");
    let oracle: HashMap<(String, String), f64> = read_rows(&table_path(&truth, "account_months"))
        .into_iter()
        .map(|m| {
            (
                (m["account_id"].clone(), m["snapshot_date"].clone()),
                m["p_churn_90d"].parse().unwrap(),
            )
        })
        .collect();
    let (mut p, mut y) = (Vec::new(), Vec::new());
    for &i in &split.test {
        let day = churnlab::common::dates::from_days(time[i]).to_string();
        if let Some(&q) = oracle.get(&(ds.ids[i].clone(), day)) {
            p.push(q);
            y.push(ds.label[i].unwrap());
        }
    }
    assert!(p.len() as f64 > 0.95 * split.test.len() as f64);
    let oracle_auc = metrics::roc_auc(&y, &p).unwrap();
    let champion = r.families.iter().find(|f| f.family == r.champion).unwrap();
    let auc = champion.test.roc_auc.unwrap();
    for f in &r.families {
        println!(
            "{:<18} out-of-time ROC-AUC {:.4}",
            f.family.name(),
            f.test.roc_auc.unwrap()
        );
    }
    println!(
        "oracle ROC-AUC on the same {} test rows: {oracle_auc:.4}",
        p.len()
    );
    assert!(
        auc > oracle_auc - 0.04,
        "champion {auc:.4} vs oracle {oracle_auc:.4}"
    );
    assert!(champion.test.top_20.churn_capture > 0.6);

    // Out of time, the champion and the tree are refitted on every labelled row; another
    // family keeps its fit-period model (whose test metrics these are), and is saved all
    // the same.
    for f in &r.families {
        let refit = f.family == r.champion || f.family == Family::DecisionTree;
        assert_eq!(f.refitted, refit, "{}", f.family.name());
        assert!(t.pipelines.contains_key(&f.family), "{}", f.family.name());
    }
    let card = std::fs::read_to_string(out.model_dir.join("MODEL_CARD.md")).unwrap();
    let refitted: Vec<&str> = Family::ALL
        .iter()
        .filter(|&&f| f == r.champion || f == Family::DecisionTree)
        .map(|f| f.name())
        .collect();
    let line = format!(
        "refitted on all labelled rows with their chosen hyper-parameters: {}",
        refitted.join(", ")
    );
    assert!(card.contains(&line), "{line}\n{card}");

    // The saved folder, reloaded, scores the current snapshot as the fitted model does.
    let path = &out.model_dir;
    for f in [
        "MODEL_CARD.md",
        "metrics.json",
        "config.toml",
        "decision_tree.txt",
        "coefficients.csv",
    ] {
        assert!(path.join(f).is_file(), "{f}");
    }
    let book = ScoreSource::Book {
        dir: dir.clone(),
        as_of: None,
    };
    let list = workflow::score::score(path, &book, &cfg, &ListOptions::default())
        .unwrap()
        .list;
    let last = *time.iter().max().unwrap();
    let current: Vec<usize> = (0..ds.rows()).filter(|&i| time[i] == last).collect();
    let direct = t.pipelines[&r.champion].predict(ds, &current).unwrap();
    let by_id: HashMap<&str, f64> = list
        .rows
        .iter()
        .filter_map(|s| Some((s.account_id.as_str(), s.churn_probability?)))
        .collect();
    assert_eq!(by_id.len(), current.len());
    for (k, &i) in current.iter().enumerate() {
        // JSON keeps every float to within one unit in the last place.
        let (a, b) = (by_id[ds.ids[i].as_str()], direct[k]);
        assert!(
            (a - b).abs() <= 1e-12 * b.abs(),
            "reloaded model scores differ: {a} vs {b}"
        );
    }

    // A book without the NPS table cannot be scored by this model.
    let lean = tempfile::tempdir().unwrap();
    for e in fs::read_dir(&dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().to_string();
        if e.path().is_file() && !name.starts_with("nps.") {
            fs::copy(e.path(), lean.path().join(&name)).unwrap();
        }
    }
    let lean_book = ScoreSource::Book {
        dir: lean.path().to_path_buf(),
        as_of: None,
    };
    let err = workflow::score::score(path, &lean_book, &cfg, &ListOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("does not match the model's feature schema"),
        "{err}"
    );
    assert!(err.contains("'nps_last' (numeric) is missing"), "{err}");
}

/// The grid's leaf sizes follow the row count, clamped: 0.2% of the rows, at least 5 and
/// at most 200 (the single tree's five times that, at least 20).
#[test]
fn the_grid_scales_its_leaves_with_the_rows() {
    use churnlab::model::Params;
    let leaves = |rows: usize| -> (Vec<f64>, Vec<f64>) {
        let (mut tree, mut forest) = (Vec::new(), Vec::new());
        for p in Params::grid(rows) {
            match p {
                Params::DecisionTree { min_leaf, .. } => tree.push(min_leaf),
                Params::RandomForest { min_leaf, .. } => forest.push(min_leaf),
                _ => {}
            }
        }
        (tree, forest)
    };
    assert_eq!(leaves(10), (vec![25.0, 25.0], vec![5.0, 5.0]));
    assert_eq!(leaves(20_000), (vec![200.0, 200.0], vec![40.0, 40.0]));
    assert_eq!(
        leaves(10_000_000),
        (vec![1000.0, 1000.0], vec![200.0, 200.0])
    );
    // Four L2 and three L1 logistic strengths, two of each tree family.
    assert_eq!(Params::grid(10).len(), 13);
}
