//! The terminal renderings of each result: what the CLI prints after a job.

use std::fmt::Write as _;

use super::health::{auc_text, pct as pct_na};
use crate::analysis::Analyses;
use crate::book::retention;
use crate::book::summary::Summary;
use crate::common::fmt::{money, pct};
use crate::health::validate::Validation;
use crate::score::ScoredList;
use crate::train::Report;

/// `writeln!` into a String (which cannot fail).
macro_rules! out {
    ($o:expr) => {
        $o.push('\n')
    };
    ($o:expr, $($t:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($o, $($t)*);
    }};
}

/// A readable summary of the analyses.
pub fn analyses(a: &Analyses) -> String {
    let mut o = String::new();
    out!(o);
    out!(
        o,
        "Retention by signup cohort at 12 months of age (all segments):"
    );
    let hidden = a
        .curves
        .iter()
        .filter(|p| p.segment == "all" && p.age_months == 12 && p.survivors_only)
        .count();
    if hidden > 0 {
        out!(
            o,
            "  ({hidden} cohorts that began before the first churn in the data hold survivors only; they are flagged in cohort_retention.csv and left out here)"
        );
    }
    for p in a.curves.iter().filter(|p| {
        p.segment == "all" && p.age_months == 12 && p.accounts >= 20 && !p.survivors_only
    }) {
        out!(
            o,
            "  {:<8} {:>5} accounts  logo {:>5.1}%  GRR {:>5.1}%  NRR {:>5.1}%",
            p.cohort,
            p.accounts,
            100.0 * p.logo_retention,
            100.0 * p.grr.unwrap_or(f64::NAN),
            100.0 * p.nrr.unwrap_or(f64::NAN)
        );
    }
    match &a.clusters {
        Ok(c) => {
            out!(
                o,
                "\nAccount clusters at {} (k = {} by silhouette; mean adjusted Rand index across seeds {:.2}):",
                c.snapshot_date,
                c.k,
                c.stability_mean_ari
            );
            for k in &c.clusters {
                out!(
                    o,
                    "  {}. {:<55} {:>5} accounts  {:>14}  churn {:>5.1}%",
                    k.id,
                    k.name,
                    k.accounts,
                    money(k.arr),
                    100.0 * k.churn_rate
                );
            }
        }
        Err(e) => out!(o, "\nclusters: not computed: {e}"),
    }
    match &a.propensity {
        Ok(p) => {
            out!(
                o,
                "\nDo CS plays reduce churn? (effect on the treated, churn within the horizon; 95% bootstrap CI)"
            );
            out!(
                o,
                "  {:<14} {:>7} {:>9} {:>24} {:>24} {:>24} {:>9}",
                "play",
                "treated",
                "naive",
                "doubly robust",
                "matched",
                "weighted",
                "max SMD"
            );
            for e in &p.effects {
                out!(
                    o,
                    "  {:<14} {:>7} {:>+8.1}pp {:>+6.1}pp [{:>+5.1}, {:>+5.1}] {:>+6.1}pp [{:>+5.1}, {:>+5.1}] {:>+6.1}pp [{:>+5.1}, {:>+5.1}] {:>4.2}->{:.2}",
                    e.treatment,
                    e.treated,
                    100.0 * e.naive_difference,
                    100.0 * e.att_dr,
                    100.0 * e.att_dr_ci.0,
                    100.0 * e.att_dr_ci.1,
                    100.0 * e.att_matched,
                    100.0 * e.att_matched_ci.0,
                    100.0 * e.att_matched_ci.1,
                    100.0 * e.att_weighted,
                    100.0 * e.att_weighted_ci.0,
                    100.0 * e.att_weighted_ci.1,
                    e.max_abs_smd_before,
                    e.max_abs_smd_matched
                );
            }
            for e in &p.effects {
                out!(o, "  {}: {}", e.treatment, e.verdict);
            }
            for s in &p.skipped {
                out!(o, "  skipped {s}");
            }
        }
        Err(e) => out!(o, "\npropensity: not computed: {e}"),
    }
    o
}

pub fn hazard(e: &crate::hazard::HazardEvaluation) -> String {
    let mut o = String::new();
    out!(
        o,
        "Time to churn: account-month hazard, out of time (fit on {} snapshots before {}, {} months at risk, {} trees; test: {} accounts of {}, {} churned within 12 months)",
        e.fit_snapshots,
        e.cut,
        e.fit_months,
        e.trees,
        e.test_accounts,
        e.cut,
        e.test_churned_12m
    );
    let auc: Vec<String> = crate::hazard::evaluate::HORIZONS
        .iter()
        .zip(&e.scores.auc)
        .map(|(h, a)| format!("{h} months {a:.4}"))
        .collect();
    out!(
        o,
        "  time-dependent ROC-AUC: {} (mean {:.4})",
        auc.join(", "),
        e.scores.mean_auc
    );
    out!(o, "  Uno's concordance (12 months): {:.4}", e.scores.uno_c);
    out!(
        o,
        "  integrated Brier score (months 1-12): {:.4}",
        e.scores.integrated_brier
    );
    for c in &e.scores.calibration {
        out!(
            o,
            "  calibration at {:>2} months: predicted {:.2}%, observed {:.2}%, ECE {:.4}, ICI {:.4}",
            c.months,
            100.0 * c.mean_predicted,
            100.0 * c.observed_rate,
            c.ece,
            c.ici
        );
    }
    match e.auc_90d_direct {
        Some(direct) => {
            let better = if e.auc_90d_hazard > direct {
                "the hazard"
            } else {
                "the direct model"
            };
            out!(
                o,
                "  90-day ROC-AUC on the test accounts: hazard (3 months) {:.4}, direct 90-day model {direct:.4}: {better} ranks better",
                e.auc_90d_hazard
            );
        }
        None => out!(
            o,
            "  90-day ROC-AUC on the test accounts: hazard (3 months) {:.4}",
            e.auc_90d_hazard
        ),
    }
    if let Some(s) = &e.spliced {
        let auc: Vec<String> = s.auc.iter().map(|a| format!("{a:.4}")).collect();
        out!(
            o,
            "  the list's outlook (direct model for 3 months, the hazard after): ROC-AUC at 3/6/12 months {}, Uno's C {:.4}, integrated Brier {:.4}, 12-month calibration {:.2}% vs {:.2}%",
            auc.join("/"),
            s.uno_c,
            s.integrated_brier,
            100.0 * s.calibration[2].mean_predicted,
            100.0 * s.calibration[2].observed_rate
        );
    }
    o
}

pub fn retention(r: &retention::Report) -> String {
    let mut o = String::new();
    out!(
        o,
        "Retention from contracts (as of {}, churn = no new term within {} days; periods settled until {})",
        r.as_of,
        r.grace_days,
        r.settled_until
    );
    out!(o);
    out!(o, "Trailing 12 months:");
    out!(
        o,
        "  {:<12} {:>8} {:>8} {:>9} {:>13} {:>10} {:>10} {:>10} {:>7} {:>7}",
        "segment",
        "accounts",
        "churned",
        "logo churn",
        "ARR start",
        "cancelled",
        "downsell",
        "expansion",
        "GRR",
        "NRR"
    );
    for w in r.rows.iter().filter(|w| w.period == "trailing_12m") {
        out!(
            o,
            "  {:<12} {:>8} {:>8} {:>9} {:>13} {:>10} {:>10} {:>10} {:>7} {:>7}",
            w.segment,
            w.accounts_start,
            w.churned,
            pct(w.logo_churn),
            money(w.arr_start),
            money(w.cancelled_arr),
            money(w.seat_downsell_arr + w.price_downsell_arr),
            money(w.expansion_arr),
            pct(w.grr),
            pct(w.nrr)
        );
    }
    out!(o);
    out!(
        o,
        "By quarter (all segments; logo churn annualised in brackets):"
    );
    out!(
        o,
        "  {:<10} {:>8} {:>8} {:>16} {:>7} {:>11} {:>11} {:>7} {:>7}",
        "quarter",
        "accounts",
        "churned",
        "logo churn",
        "new",
        "seat down",
        "price down",
        "GRR",
        "NRR"
    );
    let quarters: Vec<_> = r
        .rows
        .iter()
        .filter(|w| w.period == "quarter" && w.segment == "all")
        .collect();
    for w in quarters.iter().skip(quarters.len().saturating_sub(8)) {
        out!(
            o,
            "  {:<10} {:>8} {:>8} {:>16} {:>7} {:>11} {:>11} {:>7} {:>7}",
            w.start.to_string(),
            w.accounts_start,
            w.churned,
            format!("{} ({})", pct(w.logo_churn), pct(w.logo_churn_annualised)),
            w.new_accounts,
            money(w.seat_downsell_arr),
            money(w.price_downsell_arr),
            pct(w.grr),
            pct(w.nrr)
        );
    }
    o
}

pub fn training(r: &Report) -> String {
    let mut o = String::new();
    out!(o);
    match &r.split {
        Some(s) => out!(
            o,
            "Out-of-time validation: fit {} rows ({} to {}), validation {} ({} to {}), test {} ({} to {}); gaps of {} days",
            s.fit_rows,
            s.fit_dates.0,
            s.fit_dates.1,
            s.valid_rows,
            s.valid_dates.0,
            s.valid_dates.1,
            s.test_rows,
            s.test_dates.0,
            s.test_dates.1,
            s.gap_days
        ),
        None => out!(
            o,
            "{}-fold stratified cross-validation over {} rows ({} churned)",
            r.folds.unwrap_or(0),
            r.rows_labelled,
            r.positives
        ),
    }
    if let Some(n) = r.tuning_rows {
        out!(
            o,
            "Candidates fitted on a seeded sample of whole accounts ({n} of the fit rows); each family's choice refitted on {}",
            final_rows_words(r)
        );
    }
    let cv = r.split.is_none();
    out!(o);
    out!(
        o,
        "  {:<18} {:>13} {:>8} {:>8} {:>8} {:>9} {:>10} {:>10} {:>10} {:>7}  chosen parameters",
        "model",
        if cv { "ROC-AUC folds" } else { "ROC-AUC" },
        "PR-AUC",
        "Brier",
        "logloss",
        "lift@10%",
        "capt@20%",
        "ARRcap@20",
        "calib",
        "ECE",
    );
    for f in &r.families {
        let t = &f.test;
        let auc = match f.fold_roc_auc {
            Some((m, sd)) => format!("{m:.4}±{sd:.3}"),
            None => opt(t.roc_auc),
        };
        out!(
            o,
            "  {:<18} {:>13} {:>8} {:>8.4} {:>8.4} {:>9.2} {:>9.1}% {:>10} {:>10} {:>7.4}  {}",
            f.family.name(),
            auc,
            opt(t.pr_auc),
            t.brier,
            t.log_loss,
            t.top_10.lift,
            100.0 * t.top_20.churn_capture,
            t.top_20
                .arr_capture
                .map(|v| format!("{:.1}%", 100.0 * v))
                .unwrap_or("-".into()),
            f.calibration,
            t.calibration_error,
            f.description
        );
    }
    out!(
        o,
        "  ECE: expected calibration error on the reported rows (each model's reliability table is in metrics.json)"
    );
    out!(o);
    out!(
        o,
        "  champion: {} ({})",
        r.champion.name(),
        r.champion_reason
    );
    if let Some(c) = &r.comparison {
        o.push_str(&comparison(c));
    }
    o
}

/// The challenger against the champion, as printed after training.
pub fn comparison(c: &crate::train::compare::Comparison) -> String {
    let mut o = String::new();
    out!(o, "\nAgainst the previous model {}:", c.champion_run_id);
    match &c.champion {
        Some(old) => {
            out!(
                o,
                "  compared on {} ({} rows, {} churned)",
                c.rows_basis,
                c.rows,
                c.positives
            );
            out!(
                o,
                "  {:<11} {:<18} {:<27} {:>8} {:>8} {:>8} {:>8} {:>10}",
                "",
                "family",
                "run",
                "ROC-AUC",
                "PR-AUC",
                "Brier",
                "ECE",
                "ARRcap@10"
            );
            for (who, x) in [("challenger", &c.challenger), ("champion", old)] {
                out!(
                    o,
                    "  {:<11} {:<18} {:<27} {:>8} {:>8} {:>8.4} {:>8.4} {:>10}",
                    who,
                    x.family.name(),
                    x.run_id,
                    opt(x.roc_auc),
                    opt(x.pr_auc),
                    x.brier,
                    x.calibration_error,
                    x.churned_arr_capture_top_10
                        .map(|v| format!("{:.1}%", 100.0 * v))
                        .unwrap_or("-".into())
                );
            }
            if let (Some(d), Some((lo, hi))) = (c.auc_difference, c.auc_difference_interval) {
                out!(
                    o,
                    "  ROC-AUC difference {d:+.4}, 95% paired bootstrap interval {lo:+.4} to {hi:+.4} ({} draws over accounts)",
                    c.draws
                );
            }
        }
        None => out!(
            o,
            "  not compared: {}",
            c.not_compared.as_deref().unwrap_or("")
        ),
    }
    out!(o, "  rule: {}", c.rule);
    out!(o, "  decision: {}", c.decision);
    o
}

/// Drift since training and list stability since the previous run, as printed by `run`.
pub fn retraining(
    d: &crate::monitor::drift::Drift,
    s: Option<&crate::monitor::stability::Stability>,
) -> String {
    let mut o = String::new();
    let top: Vec<_> = d
        .features
        .iter()
        .filter(|f| {
            f.importance_rank
                .is_some_and(|r| r <= crate::monitor::drift::TOP)
        })
        .collect();
    let shifted = d.features.iter().filter(|f| f.status == "shifted").count();
    out!(
        o,
        "Drift, training window {} to {} ({} rows) against {} ({} rows): {} of {} features shifted (PSI >= {}); top features:",
        d.then.0,
        d.then.1,
        d.rows_then,
        d.now,
        d.rows_now,
        shifted,
        d.features.len(),
        crate::monitor::drift::SHIFTED
    );
    for f in top {
        out!(
            o,
            "  {:>2}. {:<32} PSI {:>7}  {:<11} missing {:>5.1}% -> {:>5.1}%  own AUC {} then, {} recently{}",
            f.importance_rank.unwrap_or(0),
            f.feature,
            opt(f.psi),
            f.status,
            100.0 * f.missing_then,
            100.0 * f.missing_now,
            crate::monitor::drift::auc_reading(f.auc_then),
            crate::monitor::drift::auc_reading(f.auc_recent),
            if f.relation_changed {
                "  relation changed"
            } else {
                ""
            }
        );
    }
    for g in &d.signals {
        out!(o, "  signal: {} {}: {}", g.table, g.change, g.detail);
    }
    if let Some(s) = s {
        out!(
            o,
            "\nList stability against {} (model {}): top 50 shared {}/{}, top 10% shared {}/{}, rank correlation {} over {} accounts; {} entered the high tier, {} left it",
            s.previous,
            if s.previous_model.is_empty() {
                "-"
            } else {
                &s.previous_model
            },
            s.top_50.shared,
            s.top_50.size,
            s.top_10_percent.shared,
            s.top_10_percent.size,
            opt(s.rank_correlation),
            s.accounts_in_both,
            s.entered_high,
            s.left_high
        );
        for m in s.moves.iter().take(10) {
            out!(
                o,
                "  {:<7} {:<28} {} -> {}  {}{}",
                m.direction,
                m.name,
                m.probability_before.map(probability).unwrap_or("-".into()),
                m.probability_now.map(probability).unwrap_or("-".into()),
                m.driver
                    .as_ref()
                    .map(|f| format!("{f} {:+.2}: ", m.driver_change.unwrap_or(0.0)))
                    .unwrap_or_default(),
                m.why
            );
        }
        if s.moves.len() > 10 {
            out!(o, "  ... {} more in stability.csv", s.moves.len() - 10);
        }
    }
    o
}

/// `churnlab models list`.
pub fn models(index: &crate::train::registry::Index, dir: &std::path::Path) -> String {
    let mut o = String::new();
    if index.models.is_empty() {
        out!(
            o,
            "{}: no model folders yet (run `churnlab run` or `churnlab train`)",
            dir.display()
        );
        return o;
    }
    out!(
        o,
        "{:<2} {:<34} {:<11} {:<20} {:>8}  decision",
        "",
        "run id",
        "as of",
        "champion",
        "ROC-AUC"
    );
    for e in &index.models {
        out!(
            o,
            "{:<2} {:<34} {:<11} {:<20} {:>8}  {}",
            if e.promoted { "*" } else { "" },
            e.run_id,
            e.as_of,
            e.champion_family,
            opt(e.test_roc_auc),
            e.decision
        );
    }
    out!(
        o,
        "* promoted: the model in production (`--previous champion`)"
    );
    o
}

pub fn scored(list: &ScoredList, top: usize) -> String {
    let mut o = String::new();
    out!(
        o,
        "  {:>4} {:<12} {:<26} {:<12} {:<7} {:>10} {:>8} {:<7} {:>11} {:>7}",
        "rank",
        "account",
        "name",
        "segment",
        "status",
        "ARR",
        "p(churn)",
        "tier",
        "ARR at risk",
        "renews"
    );
    for (k, s) in list.rows.iter().take(top).enumerate() {
        let name: String = s
            .name
            .clone()
            .unwrap_or_default()
            .chars()
            .take(26)
            .collect();
        out!(
            o,
            "  {:>4} {:<12} {:<26} {:<12} {:<7} {:>10} {:>8} {:<7} {:>11} {:>7}",
            k + 1,
            s.account_id,
            name,
            s.segment.clone().unwrap_or_default(),
            s.status.unwrap_or("-"),
            s.arr.map(money).unwrap_or_default(),
            s.churn_probability.map(probability).unwrap_or("-".into()),
            s.risk_tier.unwrap_or("-"),
            s.arr_at_risk.map(money).unwrap_or_default(),
            s.days_to_renewal
                .map(|d| format!("{d:.0}d"))
                .unwrap_or_default()
        );
        if let Some(r) = &s.renewal_state {
            out!(o, "         {r}");
        }
        if let Some(e) = &s.explanation {
            if let Some(n) = &e.context_note {
                out!(o, "         - {n}");
            }
            for d in e.top(3) {
                out!(o, "         - {}", d.sentence());
            }
        }
        if let Some(p) = &s.play {
            out!(o, "         > play: {}", p.play);
        }
    }
    o
}

/// A churn probability for people: one decimal, and never "0.0%" or "100.0%".
fn probability(p: f64) -> String {
    if p < 0.001 {
        "<0.1%".into()
    } else if p > 0.999 {
        ">99.9%".into()
    } else {
        format!("{:.1}%", 100.0 * p)
    }
}

fn opt(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.4}")).unwrap_or("-".into())
}

/// The head of the ranked at-risk list, with its heading.
pub fn at_risk(list: &ScoredList, rank_by: crate::score::RankBy, top: usize) -> String {
    let mut o = String::new();
    out!(
        o,
        "At-risk accounts{} (ranked by {}):",
        list.as_of
            .as_ref()
            .map(|d| format!(" on {d}"))
            .unwrap_or_default(),
        rank_by.describe()
    );
    o.push_str(&scored(list, top));
    o
}

/// The backtest, one line per cut date.
pub fn backtest(b: &crate::workflow::backtest::Backtest) -> String {
    let mut o = String::new();
    out!(
        o,
        "Backtest: the pipeline rerun on the book as it was at each date, its scores against the next {} days (data as of {})",
        b.horizon_days,
        b.as_of
    );
    out!(o);
    out!(
        o,
        "  {:<10} {:>8} {:>8} {:>8} {:>9} {:>8} {:>8} {:>10} {:>10} {:>14} {:>14}",
        "cut",
        "accounts",
        "churned",
        "test AUC",
        "backtest",
        "PR-AUC",
        "capt@10",
        "ARRcap@10",
        "ARRcap@20",
        "predicted ARR",
        "churned ARR"
    );
    for c in &b.cuts {
        out!(
            o,
            "  {:<10} {:>8} {:>8} {:>8} {:>9} {:>8} {:>7.1}% {:>10} {:>10} {:>14} {:>14}",
            c.at.to_string(),
            c.accounts,
            c.churned,
            opt(c.test_roc_auc),
            opt(c.outcome.roc_auc),
            opt(c.outcome.pr_auc),
            100.0 * c.outcome.top_10.churn_capture,
            crate::common::fmt::pct_or(c.arr_capture_top10_by_arr_at_risk, "-"),
            crate::common::fmt::pct_or(c.arr_capture_top20_by_arr_at_risk, "-"),
            money(c.predicted_churned_arr),
            money(c.actual_churned_arr)
        );
    }
    out!(o);
    if let Some(c) = b.cuts.last() {
        out!(
            o,
            "  The list made on {} caught {} of the ARR that churned by {} in its top 10% by ARR at risk, and {} in its top 20%.",
            c.at,
            crate::common::fmt::pct_or(c.arr_capture_top10_by_arr_at_risk, "-"),
            c.horizon_end,
            crate::common::fmt::pct_or(c.arr_capture_top20_by_arr_at_risk, "-")
        );
    }
    out!(
        o,
        "  A backtest ROC-AUC well above the cut run's own out-of-time test AUC would point to a leak."
    );
    o
}

/// The rows the final refits used, in words.
pub(crate) fn final_rows_words(r: &crate::train::Report) -> String {
    match r.final_rows {
        Some(n) => format!(
            "a seeded sample of whole accounts ({n} of the {} labelled rows)",
            r.rows_labelled
        ),
        None => format!("all {} labelled rows", r.rows_labelled),
    }
}

/// Three lines for `churnlab run`.
pub fn health_brief(v: &Validation) -> String {
    let r = &v.report;
    let f = auc_text;
    format!(
        "Health score: out-of-time ROC-AUC {} as configured, {} with fitted weights, {} for the model.\n\
         Churn by configured tier {} (red {}, yellow {}, green {}); {:.1}% of consecutive snapshots change tier.\n\
         Details in health_report.json; proposed weights in recommended_health.toml.\n",
        f(r.overall.configured_roc_auc),
        f(r.overall.fitted_roc_auc),
        f(r.overall.model_roc_auc),
        if r.tiers_monotone {
            "falls from red to green"
        } else {
            "is NOT monotone"
        },
        pct_na(r.tiers[0].churn_rate),
        pct_na(r.tiers[1].churn_rate),
        pct_na(r.tiers[2].churn_rate),
        100.0 * r.stability.flip_rate.unwrap_or(0.0)
    )
}

/// A readable summary for the terminal.
pub fn health(v: &Validation) -> String {
    let r = &v.report;
    let f = auc_text;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Health score validation, out of time: history {} to {}, test {} to {} ({} snapshots)",
        r.history_dates.0, r.history_dates.1, r.test_dates.0, r.test_dates.1, r.test_rows
    );
    let _ = writeln!(
        s,
        "\nROC-AUC against churn within the horizon (test period):\n  {:<16} {:>7} {:>8} {:>11} {:>8} {:>7}",
        "segment", "rows", "churned", "configured", "fitted", "model"
    );
    for a in std::iter::once(&r.overall).chain(&r.by_segment) {
        let _ = writeln!(
            s,
            "  {:<16} {:>7} {:>8} {:>11} {:>8} {:>7}",
            a.segment,
            a.rows,
            a.churned,
            f(a.configured_roc_auc),
            f(a.fitted_roc_auc),
            f(a.model_roc_auc)
        );
    }
    let _ = writeln!(
        s,
        "\nChurn by tier, configured score (every labelled snapshot){}:",
        if r.tiers_monotone {
            ", falls from red to green"
        } else {
            ", NOT monotone from red to green"
        }
    );
    for t in &r.tiers {
        let _ = writeln!(
            s,
            "  {:<7} {:>7} rows {:>6} churned  {:>6} (95% CI {} to {})",
            t.tier,
            t.rows,
            t.churned,
            pct_na(t.churn_rate),
            pct_na(t.ci_low),
            pct_na(t.ci_high)
        );
    }
    let _ = writeln!(
        s,
        "\nComponents and measures: ROC-AUC of a low score against churn; share of the score\n\
         configured and fitted; importance = spread of the fitted contribution to risk:\n  {:<40} {:>8} {:>9} {:>11} {:>8} {:>11}",
        "", "coverage", "ROC-AUC", "configured", "fitted", "importance"
    );
    for c in &r.components {
        let _ = writeln!(
            s,
            "  {:<40} {:>7.0}% {:>9} {:>10.1}% {:>7.1}% {:>10.1}%{}",
            c.component,
            100.0 * c.coverage,
            f(c.roc_auc),
            c.configured_share,
            c.fitted_share,
            c.fitted_importance,
            if c.direction_agrees == Some(false) {
                "  direction disagrees with churn"
            } else {
                ""
            }
        );
        for m in r.measures.iter().filter(|m| m.component == c.component) {
            let _ = writeln!(
                s,
                "    {:<38} {:>7.0}% {:>9} {:>10.1}% {:>7.1}% {:>10.1}%{}",
                m.feature,
                100.0 * m.coverage,
                f(m.roc_auc),
                m.configured_share,
                m.fitted_share,
                m.fitted_importance,
                if m.direction_agrees == Some(false) {
                    "  direction disagrees with churn"
                } else {
                    ""
                }
            );
        }
    }
    let _ = writeln!(
        s,
        "\nStability: {} of {} consecutive snapshots change tier ({}); with the recommended weights and tiers: {}.",
        r.stability.flips,
        r.stability.pairs,
        pct_na(r.stability.flip_rate),
        pct_na(r.recommended_stability.flip_rate)
    );
    let _ = writeln!(
        s,
        "Recommended tiers: red below {}, green from {}; test-period churn {}.",
        r.recommended_tiers.red_below,
        r.recommended_tiers.green_from,
        r.recommended_tier_rates
            .iter()
            .map(|t| format!("{} {}", t.tier, pct_na(t.churn_rate)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for n in &r.notes {
        let _ = writeln!(s, "note: {n}");
    }
    s
}

/// What `validate` prints, and `run` first: the book's tables, accounts and churn.
impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}: valid", self.dir)?;
        writeln!(
            f,
            "  {:<11} {:<20} {:>10}  {:<10}  {:<10}",
            "table", "file", "rows", "first", "last"
        )?;
        for t in &self.tables {
            let d = |x: Option<chrono::NaiveDate>| {
                x.map(|d| d.to_string()).unwrap_or_else(|| "-".into())
            };
            writeln!(
                f,
                "  {:<11} {:<20} {:>10}  {:<10}  {:<10}",
                t.table,
                t.file,
                t.rows,
                d(t.first),
                d(t.last)
            )?;
        }
        writeln!(f, "  as of {} (the day after the latest event)", self.as_of)?;
        writeln!(
            f,
            "  accounts: {} in total, {} active now ({} ARR), {} churned, {} in their grace period",
            self.accounts,
            self.active_accounts,
            money(self.active_arr),
            self.churned_accounts,
            self.pending_accounts
        )?;
        let segs: Vec<String> = self
            .segments
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect();
        writeln!(f, "  active by segment: {}", segs.join(", "))?;
        if self.missing.is_empty() {
            writeln!(f, "  signals: all tables present")?;
        } else {
            for (t, s) in &self.missing {
                writeln!(
                    f,
                    "  missing signal: {s}: no {t} table, so these features will be unavailable (not zero)"
                )?;
            }
        }
        for w in &self.warnings {
            writeln!(f, "  warning: {w}")?;
        }
        Ok(())
    }
}
