//! The model folder's readable documents: the model card (`MODEL_CARD.md`: data,
//! features, metrics, the comparison with the model in production, limits), the logistic
//! coefficients (`coefficients.csv`) and the decision tree's rules (`decision_tree.txt`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::artifact::Manifest;
use super::comparison::Comparison;
use super::{Pipeline, Report, Trained};
use crate::features::dataset::Dataset;
use crate::model::prep::{ColumnKind, Preprocessor};
use crate::model::{Family, Model};

/// The documents of a model folder, by file name.
pub fn documents(m: &Manifest, trained: &Trained, ds: &Dataset) -> Vec<(&'static str, Vec<u8>)> {
    let mut docs = Vec::new();
    if let Some(p) = trained.pipelines.get(&Family::Logistic) {
        docs.push(("coefficients.csv", coefficients_csv(p).into_bytes()));
    }
    if let Some(p) = trained.pipelines.get(&Family::DecisionTree) {
        docs.push(("decision_tree.txt", tree_rules(p).into_bytes()));
    }
    docs.push(("MODEL_CARD.md", model_card(m, trained, ds).into_bytes()));
    docs
}

/// The challenger-against-champion section of the model card (Markdown).
pub(crate) fn comparison_md(c: &Comparison) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## Against the model in production
"
    );
    let _ = writeln!(
        s,
        "**Decision: {}.**
",
        c.decision
    );
    let _ = writeln!(
        s,
        "Rule: {}.
",
        c.rule
    );
    match &c.champion {
        Some(old) => {
            let _ = writeln!(
                s,
                "Compared on {} ({} rows, {} churned).
",
                c.rows_basis, c.rows, c.positives
            );
            let _ = writeln!(
                s,
                "| model | run | ROC-AUC | PR-AUC | Brier | calibration error | churned ARR captured top 10% |"
            );
            let _ = writeln!(s, "|---|---|---|---|---|---|---|");
            for (who, x) in [("challenger", &c.challenger), ("champion", old)] {
                let _ = writeln!(
                    s,
                    "| {who} ({}) | {} | {} | {} | {:.4} | {:.4} | {} |",
                    x.family.name(),
                    x.run_id,
                    num(x.roc_auc),
                    num(x.pr_auc),
                    x.brier,
                    x.calibration_error,
                    pct(x.churned_arr_capture_top_10)
                );
            }
            if let (Some(d), Some((lo, hi))) = (c.auc_difference, c.auc_difference_interval) {
                let _ = writeln!(
                    s,
                    "\nROC-AUC difference (challenger - champion): {d:+.4}, 95% paired bootstrap interval over accounts {lo:+.4} to {hi:+.4} ({} draws).",
                    c.draws
                );
            }
        }
        None => {
            let _ = writeln!(
                s,
                "The champion {} could not score this run's rows: {}.",
                c.champion_run_id,
                c.not_compared.as_deref().unwrap_or("")
            );
        }
    }
    let _ = writeln!(s);
    s
}

/// Logistic coefficients per design column, with the feature each folds back into.
pub(crate) fn coefficients_csv(p: &Pipeline) -> String {
    let mut out = String::from("column,feature,kind,coefficient\n");
    if let Model::Logistic(m) = &p.model {
        let _ = writeln!(out, "(intercept),,intercept,{}", m.intercept);
        for (c, b) in p.prep.columns.iter().zip(&m.coef) {
            let kind = match &c.kind {
                ColumnKind::Value => "value (standardised)".to_string(),
                ColumnKind::Missing => "missing".to_string(),
                ColumnKind::Level(l) => format!("level {l}"),
            };
            let _ = writeln!(out, "\"{}\",{},{kind},{b}", c.name, c.source);
        }
    }
    out
}

/// Coefficient size per original feature: the sum of absolute coefficients of its
/// design columns, largest first.
pub(crate) fn coefficients_by_feature(p: &Pipeline) -> Vec<(String, f64)> {
    let mut by: BTreeMap<String, f64> = BTreeMap::new();
    if let Model::Logistic(m) = &p.model {
        for (c, b) in p.prep.columns.iter().zip(&m.coef) {
            *by.entry(c.source.clone()).or_insert(0.0) += b.abs();
        }
    }
    let mut v: Vec<(String, f64)> = by.into_iter().collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

fn number(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// The condition "goes left" of a split, in the feature's own units.
fn condition(prep: &Preprocessor, feature: usize, threshold: f64, left: bool) -> String {
    let Some(c) = prep.columns.get(feature) else {
        return format!("column {feature}");
    };
    match &c.kind {
        ColumnKind::Value if prep.is_flag(feature) => {
            format!("{} is {}", c.source, if left { "no" } else { "yes" })
        }
        ColumnKind::Value => {
            let v = prep.original_value(feature, threshold).unwrap_or(threshold);
            format!(
                "{} {} {}",
                c.source,
                if left { "<=" } else { ">" },
                number(v)
            )
        }
        ColumnKind::Missing => {
            format!("{} is {}", c.source, if left { "known" } else { "missing" })
        }
        ColumnKind::Level(l) => {
            format!("{} {} {l}", c.source, if left { "is not" } else { "is" })
        }
    }
}

/// The decision tree as nested rules with each leaf's churn rate and rows.
pub(crate) fn tree_rules(p: &Pipeline) -> String {
    let Model::DecisionTree(t) = &p.model else {
        return String::new();
    };
    let mut out = String::from(
        "Decision tree: churn risk within the horizon by segment of the book\n\
         (rates are training rates before calibration; rows are training rows)\n\n",
    );
    fn walk(p: &Pipeline, t: &crate::model::tree::Tree, k: usize, depth: usize, out: &mut String) {
        let n = &t.nodes[k];
        let pad = "  ".repeat(depth);
        if n.is_leaf() {
            let _ = writeln!(
                out,
                "{pad}=> churn risk {:.1}% ({:.0} rows)",
                100.0 * n.value,
                n.cover
            );
            return;
        }
        for (child, left) in [(n.left, true), (n.right, false)] {
            let _ = writeln!(
                out,
                "{pad}if {}:",
                condition(&p.prep, n.feature as usize, n.threshold, left)
            );
            walk(p, t, child as usize, depth + 1, out);
        }
    }
    walk(p, &t.tree, 0, 0, &mut out);
    out
}

fn pct(x: Option<f64>) -> String {
    crate::common::fmt::pct_or(x, "-")
}

fn num(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.3}")).unwrap_or("-".into())
}

/// The model card: what the model is, what it was trained on, how well it did, and
/// where it should not be trusted.
pub(crate) fn model_card(m: &Manifest, trained: &Trained, ds: &Dataset) -> String {
    let r = &trained.report;
    let mut s = String::new();
    let _ = writeln!(s, "# Model card: {}\n", m.run_id);
    let _ = writeln!(
        s,
        "Predicts the probability that an account churns within {} days of a snapshot date.",
        m.horizon_days
    );
    let _ = writeln!(
        s,
        "Champion: **{}** ({}).\n",
        r.champion.name(),
        r.champion_reason
    );
    card_data(&mut s, m, r);
    card_features(&mut s, m);
    card_metrics(&mut s, r);
    if let Some(c) = &r.comparison {
        s.push_str(&comparison_md(c));
    }
    if let Some(p) = trained.pipelines.get(&Family::Logistic) {
        let _ = writeln!(
            s,
            "## Strongest logistic features (sum of |coefficient| per standardised feature)\n"
        );
        for (f, c) in coefficients_by_feature(p).into_iter().take(10) {
            let _ = writeln!(s, "- `{f}`: {c:.3}");
        }
        let _ = writeln!(s);
    }
    card_limits(&mut s, m, r, ds);
    s
}

/// The card's data section: source, rows, window, validation and final models.
fn card_data(s: &mut String, m: &Manifest, r: &Report) {
    let _ = writeln!(s, "## Data");
    let _ = writeln!(
        s,
        "- Source: {} (label `{}`{}).",
        m.source,
        m.label,
        m.id_column
            .as_ref()
            .map(|c| format!(", id `{c}`"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        s,
        "- {} labelled rows, {} churned ({:.1}%).",
        r.rows_labelled,
        r.positives,
        100.0 * r.positives as f64 / r.rows_labelled.max(1) as f64
    );
    if let Some((a, b)) = &m.data_window {
        let _ = writeln!(
            s,
            "- Labelled snapshots from {a} to {b}; as of {}.",
            m.as_of.clone().unwrap_or_default()
        );
    }
    match &r.split {
        Some(sp) => {
            let _ = writeln!(
                s,
                "- Validation out of time with gaps of {} days: fit {} rows ({} to {}), validation {} rows ({} to {}), test {} rows ({} to {}).",
                sp.gap_days,
                sp.fit_rows,
                sp.fit_dates.0,
                sp.fit_dates.1,
                sp.valid_rows,
                sp.valid_dates.0,
                sp.valid_dates.1,
                sp.test_rows,
                sp.test_dates.0,
                sp.test_dates.1
            );
            if let Some(n) = r.tuning_rows {
                let _ = writeln!(
                    s,
                    "- Candidates were fitted on a seeded sample of whole accounts: {n} of the {} fit rows. Test metrics are those sample-fitted models'.",
                    sp.fit_rows
                );
            }
        }
        None => {
            let _ = writeln!(
                s,
                "- Validation: {}-fold stratified cross-validation grouped by id, seed {}. Selection and reported metrics both use out-of-fold predictions, so they are slightly optimistic.",
                r.folds.unwrap_or(0),
                m.seed
            );
        }
    }
    let names = |refitted: bool| {
        r.families
            .iter()
            .filter(|f| f.refitted == refitted)
            .map(|f| f.family.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (refitted, kept) = (names(true), names(false));
    let _ = writeln!(
        s,
        "- Final models: refitted on {} with their chosen hyper-parameters: {}; the calibration map comes from the held-out predictions.{}\n",
        match r.final_rows {
            Some(n) => format!(
                "a seeded sample of whole accounts ({n} of the {} labelled rows)",
                r.rows_labelled
            ),
            None => "all labelled rows".to_string(),
        },
        if refitted.is_empty() {
            "none"
        } else {
            &refitted
        },
        if kept.is_empty() {
            String::new()
        } else {
            format!(
                " Kept as fitted on the fit period (the models the test metrics measure; no command scores with them): {kept}."
            )
        }
    );
}

/// The card's feature list.
fn card_features(s: &mut String, m: &Manifest) {
    let _ = writeln!(s, "## Features");
    let _ = writeln!(
        s,
        "{} numeric and {} categorical: {}.\n",
        m.numeric_features.len(),
        m.categorical_features.len(),
        m.numeric_features
            .iter()
            .chain(&m.categorical_features)
            .map(|f| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

/// The card's metrics table, and test ROC-AUC on accounts the model never saw.
fn card_metrics(s: &mut String, r: &Report) {
    let _ = writeln!(
        s,
        "## Metrics ({})\n",
        if r.split.is_some() {
            "test period"
        } else {
            "out of fold"
        }
    );
    let _ = writeln!(
        s,
        "| model | ROC-AUC | PR-AUC | Brier | log loss | lift top 10% | churn captured top 20% | churned ARR captured top 20% | calibration | calibration error |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|");
    for f in &r.families {
        let t = &f.test;
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.4} | {:.4} | {:.2} | {} | {} | {} | {:.4} |",
            f.family.name(),
            num(t.roc_auc),
            num(t.pr_auc),
            t.brier,
            t.log_loss,
            t.top_10.lift,
            pct(Some(t.top_20.churn_capture)),
            pct(t.top_20.arr_capture),
            f.calibration,
            t.calibration_error
        );
    }
    let _ = writeln!(s);
    if r.split.is_some() {
        let _ = writeln!(
            s,
            "Grouped by account: test ROC-AUC on accounts with no row in the fit period (accounts the model never saw):\n"
        );
        for f in &r.families {
            if let Some(u) = &f.test_unseen_accounts {
                let _ = writeln!(
                    s,
                    "- {}: {} over {} rows ({} churned)",
                    f.family.name(),
                    num(u.roc_auc),
                    u.rows,
                    u.positives
                );
            }
        }
        let _ = writeln!(s);
    }
}

/// What the model cannot do.
fn card_limits(s: &mut String, m: &Manifest, r: &Report, ds: &Dataset) {
    let _ = writeln!(s, "## Known limits");
    let _ = writeln!(
        s,
        "- Trained on {} labelled rows of {} ({} rows in all, unlabelled ones included); accounts unlike these (new segments, plans or regions) get the model's average treatment of unseen levels.",
        r.rows_labelled,
        m.source,
        ds.rows()
    );
    let _ = writeln!(
        s,
        "- Probabilities are calibrated to the churn rate of the held-out period; if the base rate shifts, ranks stay useful but probabilities drift. Retrain monthly or quarterly."
    );
    let _ = writeln!(
        s,
        "- Associations, not causes: a feature that raises risk is a signal to look at, not proof that changing it prevents churn (see the propensity analysis for plays)."
    );
    let _ = writeln!(
        s,
        "- Scoring refuses data whose features do not match the schema above (a missing table or column)."
    );
}
