//! The report's "Next 12 months" section, for CS leaders and Finance: expected gross
//! revenue retention by quarter with its band (forecast.json's quarters), the renewal
//! calendar of the next 30 to 180 days with the ARR at risk in each, the hazard's
//! calibration at 3, 6 and 12 months (hazard.json), and the backtest's quarters.

use std::fmt::Write as _;

use super::load::Inputs;
use super::svg::{self, Interval};
use crate::common::fmt::{money, pct};

macro_rules! w {
    ($o:expr, $($t:tt)*) => {{
        let _ = write!($o, $($t)*);
    }};
}

/// The renewal calendar's windows, in days from the scoring date.
pub const WINDOWS: [f64; 5] = [30.0, 60.0, 90.0, 120.0, 180.0];

/// Appends the section to `p`.
pub fn section(p: &mut String, inp: &Inputs) {
    p.push_str("<section id=\"next-12-months\"><h2>Next 12 months</h2>");
    quarters(p, inp);
    calendar(p, inp);
    calibration(p, inp);
    backtest(p, inp);
    p.push_str("</section>");
}

fn quarters(p: &mut String, inp: &Inputs) {
    let q: Vec<_> = inp
        .forecast
        .as_ref()
        .map(|f| f.quarters.iter().filter(|q| q.segment == "all").collect())
        .unwrap_or_default();
    if q.is_empty() {
        p.push_str("<p class=\"note\">No quarter forecast: the model has no account-month hazard (a flat table, or <code>[models] hazard = false</code>).</p>");
        return;
    }
    p.push_str("<p class=\"note\">Each account's chance of churning in each month ahead comes from the account-month hazard (its renewal calendar included; the first three months are the list's 90-day probability). Gross revenue retention (GRR) of a quarter is the ARR still a customer at its start, less the ARR churned and downsold in it, over that starting ARR. Bands cover 90% of 4,000 seeded draws of who churns when.</p>");
    let rows: Vec<Interval> = q
        .iter()
        .map(|r| Interval {
            label: format!("Q{} ({})", r.quarter, r.start.format("%b %Y")),
            estimate: r.expected_grr,
            low: r.grr_low,
            high: r.grr_high,
            marker: None,
        })
        .collect();
    p.push_str(&svg::forest(
        "Expected gross revenue retention by quarter",
        &rows,
        ("expected GRR, with its 90% band", ""),
        None,
        &|v| pct(v),
    ));
    p.push_str("<table><thead><tr><th>Quarter</th><th class=\"n\">ARR up for renewal</th><th class=\"n\">Expected ARR at the start</th><th class=\"n\">Expected churned ARR (90%)</th><th class=\"n\">Expected downsold ARR</th><th class=\"n\">Expected GRR (90%)</th></tr></thead><tbody>");
    for r in &q {
        w!(
            p,
            "<tr><td>Q{} ({} – {})</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{} ({} – {})</td><td class=\"n\">{}</td><td class=\"n\">{} ({} – {})</td></tr>",
            r.quarter,
            r.start,
            r.end,
            money(r.arr_up_for_renewal),
            money(r.expected_arr_start),
            money(r.expected_churned_arr),
            money(r.churned_arr_low),
            money(r.churned_arr_high),
            r.expected_downsold_arr
                .map_or_else(|| "–".to_string(), money),
            pct(r.expected_grr),
            pct(r.grr_low),
            pct(r.grr_high)
        );
    }
    p.push_str("</tbody></table><p class=\"note\">By segment: <code>forecast.csv</code> (periods Q1 to Q4).</p>");
}

fn calendar(p: &mut String, inp: &Inputs) {
    let a = &inp.accounts;
    if a.iter().all(|x| x.p_next_renewal_fails.is_none()) {
        return;
    }
    p.push_str("<h3>Renewal calendar</h3><p class=\"note\">Renewals due within each window (an overdue one counts in all), with the ARR at risk: ARR × the chance that the renewal fails.</p><table><thead><tr><th>Renewing within</th><th class=\"n\">Accounts</th><th class=\"n\">ARR up for renewal</th><th class=\"n\">ARR at risk</th><th class=\"n\">Share at risk</th></tr></thead><tbody>");
    for d in WINDOWS {
        let due: Vec<_> = a
            .iter()
            .filter(|x| x.days_to_renewal.is_some_and(|r| r <= d))
            .collect();
        let arr: f64 = due.iter().filter_map(|x| x.arr).sum();
        let risk: f64 = due
            .iter()
            .filter_map(|x| Some(x.arr? * x.p_next_renewal_fails?))
            .sum();
        w!(
            p,
            "<tr><td>{d:.0} days</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            due.len(),
            money(arr),
            money(risk),
            if arr > 0.0 {
                pct(risk / arr)
            } else {
                "–".into()
            }
        );
    }
    p.push_str("</tbody></table>");
}

fn calibration(p: &mut String, inp: &Inputs) {
    let Some(h) = &inp.hazard else {
        p.push_str("<p class=\"note\">The hazard was not validated out of time here (no hazard.json): the book does not follow a snapshot for 12 months.</p>");
        return;
    };
    let s = h.spliced.as_ref().unwrap_or(&h.scores);
    w!(
        p,
        "<h3>How well the hazard is calibrated</h3><p class=\"note\">Fitted on the snapshots before {} (seeing only months that ended by then) and tested on the {} accounts of that date, each followed 12 months ({} churned).</p><table><thead><tr><th>Within</th><th class=\"n\">Predicted</th><th class=\"n\">Observed</th><th class=\"n\">Calibration error (ECE)</th><th class=\"n\">ICI</th><th class=\"n\">Time-dependent ROC-AUC</th></tr></thead><tbody>",
        h.cut,
        h.test_accounts,
        h.test_churned_12m
    );
    for (c, auc) in h.scores.calibration.iter().zip(&h.scores.auc) {
        w!(
            p,
            "<tr><td>{} months</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.3}</td><td class=\"n\">{:.3}</td><td class=\"n\">{auc:.3}</td></tr>",
            c.months,
            pct(c.mean_predicted),
            pct(c.observed_rate),
            c.ece,
            c.ici
        );
    }
    w!(
        p,
        "</tbody></table><p class=\"small\">Uno's concordance {:.3}; integrated Brier score (months 1–12) {:.4}.</p>",
        s.uno_c,
        s.integrated_brier
    );
}

fn backtest(p: &mut String, inp: &Inputs) {
    let Some(b) = &inp.backtest else {
        return;
    };
    let checks: Vec<(String, &crate::analysis::quarters::QuarterCheck)> = b
        .cuts
        .iter()
        .flat_map(|c| c.quarters.iter().map(move |q| (c.at.to_string(), q)))
        .collect();
    if checks.is_empty() {
        return;
    }
    let covered = checks.iter().filter(|(_, q)| q.covered()).count();
    w!(
        p,
        "<h3>The quarter forecast in the past</h3><p class=\"note\">The backtest cut the book at each date, fitted the hazard on what was known then and forecast each quarter's churned ARR; the diamond is what churned. The 90% interval held the actual in {covered} of {} quarters that have played out.</p>",
        checks.len()
    );
    let rows: Vec<Interval> = checks
        .iter()
        .map(|(at, q)| Interval {
            label: format!("{at} Q{}", q.quarter),
            estimate: q.expected_churned_arr,
            low: q.churned_arr_low,
            high: q.churned_arr_high,
            marker: Some(q.actual_churned_arr),
        })
        .collect();
    p.push_str(&svg::forest(
        "Quarter forecast vs actual churned ARR",
        &rows,
        ("forecast, with its 90% interval", "actual churned ARR"),
        None,
        &|v| money(v),
    ));
    p.push_str("<table><thead><tr><th>Cut date</th><th>Quarter</th><th class=\"n\">Forecast churned ARR (90%)</th><th class=\"n\">Actual</th><th>Within the interval</th></tr></thead><tbody>");
    for (at, q) in &checks {
        w!(
            p,
            "<tr><td>{at}</td><td>Q{} ({} – {})</td><td class=\"n\">{} ({} – {})</td><td class=\"n\">{}</td><td>{}</td></tr>",
            q.quarter,
            q.start,
            q.end,
            money(q.expected_churned_arr),
            money(q.churned_arr_low),
            money(q.churned_arr_high),
            money(q.actual_churned_arr),
            if q.covered() {
                "<span class=\"ok\">yes</span>"
            } else {
                "<span class=\"bad\">no</span>"
            }
        );
    }
    p.push_str("</tbody></table>");
}
