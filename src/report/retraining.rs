//! The report's "Retraining" section, for data teams: the new model against the one in
//! production (from metrics.json), drift since training (drift.json) and how much the list
//! changed since the previous run (stability.json).

use std::fmt::Write as _;

use super::escape::esc;
use super::load::Inputs;
use crate::common::fmt::pct;

macro_rules! w {
    ($o:expr, $($t:tt)*) => {{
        let _ = write!($o, $($t)*);
    }};
}

fn num(x: Option<f64>) -> String {
    x.map_or("–".into(), |v| format!("{v:.3}"))
}

/// Appends the section to `p`.
pub fn section(p: &mut String, inp: &Inputs) {
    p.push_str("<section id=\"retraining\"><h2>Retraining checks</h2>");
    comparison(p, inp);
    drift(p, inp);
    stability(p, inp);
    p.push_str("</section>");
}

fn comparison(p: &mut String, inp: &Inputs) {
    p.push_str("<h3>Against the model in production</h3>");
    let Some(c) = inp.metrics.as_ref().and_then(|m| m.comparison.as_ref()) else {
        p.push_str("<p class=\"note\">Not compared: run with <code>--previous champion</code> (or <code>--previous models/&lt;run-id&gt;</code>) to score the test rows with the model in production too and decide on promotion.</p>");
        return;
    };
    w!(
        p,
        "<p><b>{}</b></p><p class=\"small\">Rule: {}.</p>",
        esc(&c.decision),
        esc(&c.rule)
    );
    let Some(old) = &c.champion else {
        w!(
            p,
            "<p class=\"note\">The champion {} could not score this run's rows: {}.</p>",
            esc(&c.champion_run_id),
            esc(c.not_compared.as_deref().unwrap_or(""))
        );
        return;
    };
    w!(
        p,
        "<p class=\"note\">Compared on {} ({} rows, {} churned).</p>",
        esc(&c.rows_basis),
        c.rows,
        c.positives
    );
    p.push_str("<table><thead><tr><th>Model</th><th>Run</th><th class=\"n\">ROC-AUC</th><th class=\"n\">PR-AUC</th><th class=\"n\">Brier</th><th class=\"n\">Calibration error</th><th class=\"n\">Churned ARR in top 10%</th></tr></thead><tbody>");
    for (who, x) in [
        ("challenger (new)", &c.challenger),
        ("champion (in production)", old),
    ] {
        w!(
            p,
            "<tr><td>{} {}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.4}</td><td class=\"n\">{:.4}</td><td class=\"n\">{}</td></tr>",
            who,
            esc(x.family.name()),
            esc(&x.run_id),
            num(x.roc_auc),
            num(x.pr_auc),
            x.brier,
            x.calibration_error,
            x.churned_arr_capture_top_10.map_or("–".into(), pct)
        );
    }
    p.push_str("</tbody></table>");
    if let (Some(d), Some((lo, hi))) = (c.auc_difference, c.auc_difference_interval) {
        w!(
            p,
            "<p>ROC-AUC difference (new − in production): <b>{d:+.4}</b>, 95% paired bootstrap interval over accounts {lo:+.4} to {hi:+.4} ({} draws).</p>",
            c.draws
        );
    }
}

fn drift(p: &mut String, inp: &Inputs) {
    p.push_str("<h3>Drift since training</h3>");
    let Some(d) = &inp.drift else {
        p.push_str("<p class=\"note\">No drift.json in this folder (it is written by <code>churnlab run</code>).</p>");
        return;
    };
    let shifted = d.features.iter().filter(|f| f.status == "shifted").count();
    let moderate = d.features.iter().filter(|f| f.status == "moderate").count();
    w!(
        p,
        "<p>Training window {} to {} ({} rows) against the scoring date {} ({} rows): <b>{shifted}</b> of {} features shifted (PSI ≥ 0.25), {moderate} moderately (0.1 to 0.25). {}</p>",
        esc(&d.then.0),
        esc(&d.then.1),
        d.rows_then,
        esc(&d.now),
        d.rows_now,
        d.features.len(),
        if d.flagged.is_empty() {
            "None of the model's top features shifted.".to_string()
        } else {
            format!(
                "Top features that shifted: <b>{}</b>.",
                esc(&d.flagged.join(", "))
            )
        }
    );
    if !d.signals.is_empty() {
        p.push_str("<ul>");
        for s in &d.signals {
            w!(
                p,
                "<li><b>{} {}</b>: {}</li>",
                esc(&s.table),
                esc(&s.change),
                esc(&s.detail)
            );
        }
        p.push_str("</ul>");
    }
    p.push_str("<table><thead><tr><th class=\"n\">Rank</th><th>Feature</th><th>Table</th><th class=\"n\">PSI</th><th>Status</th><th class=\"n\">Missing then</th><th class=\"n\">Missing now</th><th class=\"n\">Own strength then</th><th class=\"n\">Own strength recently</th></tr></thead><tbody>");
    for f in d
        .features
        .iter()
        .filter(|f| f.importance_rank.is_some_and(|r| r <= 10))
    {
        w!(
            p,
            "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            f.importance_rank.unwrap_or(0),
            esc(&f.feature),
            esc(&f.source),
            num(f.psi),
            esc(&f.status),
            if f.relation_changed {
                "; relation to churn changed"
            } else {
                ""
            },
            pct(f.missing_then),
            pct(f.missing_now),
            esc(&crate::monitor::drift::auc_reading(f.auc_then)),
            esc(&crate::monitor::drift::auc_reading(f.auc_recent))
        );
    }
    p.push_str("</tbody></table><p class=\"note\">The model's ten strongest features (mean |contribution| on the scored accounts). PSI is against the training date the scoring date resembles most (one date sits at one phase of weekly and survey cycles; drift.csv also gives the PSI against the whole window). Own strength: the feature's ROC-AUC alone, read in whichever direction ranks churners first (0.5 is no signal, 1 perfect), with that direction. Every feature is in drift.csv.</p>");
}

fn stability(p: &mut String, inp: &Inputs) {
    p.push_str("<h3>How much the list changed</h3>");
    let Some(s) = &inp.stability else {
        p.push_str("<p class=\"note\">No previous list to compare with: a run with <code>--previous champion</code> or <code>--previous OLD_OUT</code> shows how much the list moved.</p>");
        return;
    };
    w!(
        p,
        "<p>Against {} (model {}): the top 50 share <b>{} of {}</b> accounts, the top 10% <b>{} of {}</b>; the rank correlation of the {} accounts scored both times is <b>{}</b>. {} entered the high tier and {} left it.</p>",
        esc(&s.previous),
        esc(&s.previous_model),
        s.top_50.shared,
        s.top_50.size,
        s.top_10_percent.shared,
        s.top_10_percent.size,
        s.accounts_in_both,
        num(s.rank_correlation),
        s.entered_high,
        s.left_high
    );
    if s.moves.is_empty() {
        return;
    }
    p.push_str("<table><thead><tr><th>Change</th><th>Account</th><th class=\"n\">Before</th><th class=\"n\">Now</th><th>Driver that changed most</th><th>Why</th></tr></thead><tbody>");
    for m in s.moves.iter().take(30) {
        w!(
            p,
            "<tr><td>{} the high tier</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(&m.direction),
            esc(&m.name),
            m.probability_before.map_or("–".into(), pct),
            m.probability_now.map_or("–".into(), pct),
            m.driver
                .as_ref()
                .map(|f| format!(
                    "{} ({:+.2} log-odds)",
                    esc(f),
                    m.driver_change.unwrap_or(0.0)
                ))
                .unwrap_or_default(),
            esc(&m.why)
        );
    }
    p.push_str("</tbody></table>");
    if s.moves.len() > 30 {
        w!(
            p,
            "<p class=\"note\">{} more in stability.csv.</p>",
            s.moves.len() - 30
        );
    }
}
