//! `report.html`: one self-contained page (inline CSS, inline SVG, a few kB of inline
//! script for sorting and filtering; no network access), in the order a CS leader reads:
//! headline, the ranked list, risk by CSM and segment, the renewal forecast, the health
//! score, retention, clusters, plays, model quality, the retraining checks and data caveats.

use std::collections::BTreeMap;
use std::fmt::Write as _;

pub use super::escape::esc;
use super::load::{Account, Inputs};
use super::svg::{self, Axes, Bar, Interval, Series};
use crate::common::fmt::{money, pct, pct_or, pts, thousands};
use crate::monitor::stability::high_tier_moves;

/// How the page is drawn.
#[derive(Clone, Debug)]
pub struct Options {
    /// Rows of the ranked list on the page (the workbook has every account).
    pub top: usize,
    /// An account needs a call this week when it is in the high tier, has lapsed, or is
    /// in the medium tier and renews within this many days.
    pub call_within_days: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            top: 1000,
            call_within_days: 30.0,
        }
    }
}

/// What the list is ordered by, read off the list itself (`run --rank-by` chose it).
pub fn ranked_by(a: &[Account]) -> &'static str {
    let descending = |f: &dyn Fn(&Account) -> Option<f64>| {
        let v: Vec<f64> = a.iter().filter_map(f).collect();
        v.windows(2).all(|w| w[0] >= w[1])
    };
    if descending(&|x| x.arr_at_risk) {
        "ARR at risk (churn probability × ARR)"
    } else if descending(&|x| x.probability) {
        "churn probability"
    } else {
        "the order of scored_accounts.csv"
    }
}

/// Whether an account needs a call this week (see [`Options::call_within_days`]).
pub fn needs_call(a: &Account, o: &Options) -> bool {
    a.tier == "high"
        || a.status == "lapsed"
        || (a.tier == "medium" && a.days_to_renewal.is_some_and(|d| d <= o.call_within_days))
}

macro_rules! w {
    ($o:expr, $($t:tt)*) => {{
        let _ = write!($o, $($t)*);
    }};
}

const CSS: &str = r#"
:root{--ink:#1d2430;--muted:#5b6573;--line:#e3e7ed;--bg:#f6f8fb;--high:#c0392b;--medium:#d68910;--low:#1e8449;--accent:#0072B2}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg)}
header{background:#14213d;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;color:#cdd6e4}
nav{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid var(--line);padding:6px 28px;font-size:13px}nav a{color:var(--accent);margin-right:14px;text-decoration:none}
main{max-width:1440px;margin:0 auto;padding:8px 28px 40px}section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin:18px 0}
h2{font-size:18px;margin:0 0 10px}h3{font-size:15px;margin:16px 0 6px}p.note{color:var(--muted);margin:4px 0 10px;max-width:900px}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:12px}.kpi{border:1px solid var(--line);border-radius:8px;padding:10px 14px}.kpi b{display:block;font-size:22px}.kpi span{color:var(--muted);font-size:12px}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}th{background:#f0f3f7;position:sticky;top:0}td.n,th.n{text-align:right;white-space:nowrap}
#list th{cursor:pointer;user-select:none;top:0}#list td.why{min-width:300px}#list td.acct{min-width:190px}#list td.ren{min-width:130px}.owner table{width:auto;min-width:70%}#list th:after{content:" \2195";color:#aab}.scroll{max-height:720px;overflow:auto;border:1px solid var(--line)}
.tier{display:inline-block;padding:1px 7px;border-radius:9px;color:#fff;font-size:12px}.tier.high{background:var(--high)}.tier.medium{background:var(--medium)}.tier.low{background:var(--low)}.tier.none{background:#999}
.status{font-size:12px;color:var(--muted)}.status.lapsed{color:var(--high);font-weight:600}.status.new{color:var(--accent);font-weight:600}
ul.why{margin:0;padding-left:16px}ul.why li{margin:0}.small{font-size:12px;color:var(--muted)}tr.muted td{color:var(--muted)}
.filters{display:flex;gap:12px;flex-wrap:wrap;margin:6px 0 10px}.filters label{font-size:13px}.filters select,.filters input{font:inherit;padding:2px 6px}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:18px}svg{max-width:100%;height:auto}
.warn{border-left:4px solid var(--medium);padding:4px 10px;background:#fff8ec;margin:6px 0}.ok{color:var(--low)}.bad{color:var(--high)}
pre{background:#f6f8fa;padding:8px;overflow:auto;font-size:12px}
"#;

const SCRIPT: &str = r#"
(function(){
var t=document.getElementById('list');if(!t)return;var body=t.tBodies[0];
var sel={csm:document.getElementById('f-csm'),segment:document.getElementById('f-segment'),tier:document.getElementById('f-tier'),q:document.getElementById('f-q')};
function apply(){var c=sel.csm.value,s=sel.segment.value,r=sel.tier.value,q=sel.q.value.toLowerCase(),shown=0;
for(var i=0;i<body.rows.length;i++){var row=body.rows[i],d=row.dataset;
var ok=(!c||d.csm===c)&&(!s||d.segment===s)&&(!r||d.tier===r)&&(!q||row.textContent.toLowerCase().indexOf(q)>=0);
row.style.display=ok?'':'none';if(ok)shown++;}
document.getElementById('shown').textContent=shown;}
['csm','segment','tier'].forEach(function(k){sel[k].addEventListener('change',apply);});sel.q.addEventListener('input',apply);
var heads=t.tHead.rows[0].cells;for(var k=0;k<heads.length;k++){(function(k){heads[k].addEventListener('click',function(){
var asc=heads[k].dataset.dir!=='asc';heads[k].dataset.dir=asc?'asc':'desc';var rows=Array.prototype.slice.call(body.rows);
rows.sort(function(a,b){var x=a.cells[k].dataset.v,y=b.cells[k].dataset.v;var nx=parseFloat(x),ny=parseFloat(y);
var r=(!isNaN(nx)&&!isNaN(ny))?nx-ny:String(x).localeCompare(String(y));return asc?r:-r;});
rows.forEach(function(r){body.appendChild(r);});});})(k);}
})();
"#;

/// The whole page.
pub fn render(inp: &Inputs, o: &Options) -> String {
    let mut p = String::with_capacity(256 * 1024 + inp.accounts.len().min(o.top) * 900);
    let as_of = inp
        .summary
        .as_ref()
        .map(|s| s.as_of.to_string())
        .or_else(|| inp.forecast.as_ref().and_then(|f| f.as_of.clone()))
        .unwrap_or_default();
    let order = ranked_by(&inp.accounts);
    let model = inp
        .accounts
        .first()
        .map(|a| a.model_id.clone())
        .unwrap_or_default();
    w!(
        p,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>churnlab at-risk report{}</title><style>{CSS}</style></head><body>",
        if as_of.is_empty() {
            String::new()
        } else {
            format!(" — {}", esc(&as_of))
        }
    );
    w!(
        p,
        "<header><h1>Accounts at risk{}</h1><p>Model {} · every account in the book, ranked by {} · written by churnlab</p></header>",
        if as_of.is_empty() {
            String::new()
        } else {
            format!(" on {}", esc(&as_of))
        },
        esc(&model),
        order
    );
    p.push_str("<nav><a href=\"#headline\">Headline</a><a href=\"#list-section\">Ranked list</a><a href=\"#by-owner\">By CSM &amp; segment</a><a href=\"#forecast\">Renewal forecast</a><a href=\"#next-12-months\">Next 12 months</a><a href=\"#health\">Health score</a><a href=\"#retention\">Retention</a><a href=\"#clusters\">Clusters</a><a href=\"#plays\">Plays</a><a href=\"#model\">Model quality</a><a href=\"#retraining\">Retraining</a><a href=\"#caveats\">Data caveats</a></nav><main>");
    headline(&mut p, inp, o);
    ranked_list(&mut p, inp, o, order);
    by_owner(&mut p, inp, o);
    forecast(&mut p, inp);
    super::outlook::section(&mut p, inp);
    health(&mut p, inp);
    retention(&mut p, inp);
    clusters(&mut p, inp);
    plays(&mut p, inp);
    model_quality(&mut p, inp);
    super::retraining::section(&mut p, inp);
    caveats(&mut p, inp);
    w!(p, "</main><script>{SCRIPT}</script></body></html>\n");
    p
}

fn money_opt(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_string(), money)
}

fn kpi(p: &mut String, value: &str, label: &str) {
    w!(
        p,
        "<div class=\"kpi\"><b>{}</b><span>{}</span></div>",
        esc(value),
        esc(label)
    );
}

fn headline(p: &mut String, inp: &Inputs, o: &Options) {
    let a = &inp.accounts;
    let count = |s: &str| a.iter().filter(|x| x.status == s).count();
    let arr: f64 = a.iter().filter_map(|x| x.arr).sum();
    let risk: f64 = a.iter().filter_map(|x| x.arr_at_risk).sum();
    let unscored = a.iter().filter(|x| x.probability.is_none()).count();
    let horizon = inp.forecast.as_ref().map_or(90, |f| f.horizon_days);
    let renewing: Vec<&Account> = a
        .iter()
        .filter(|x| x.days_to_renewal.is_some_and(|d| d <= horizon as f64))
        .filter(|x| x.tier == "high" || x.tier == "medium")
        .collect();
    let calls: Vec<&Account> = a.iter().filter(|x| needs_call(x, o)).collect();
    w!(
        p,
        "<section id=\"headline\"><h2>Headline</h2><div class=\"kpis\">"
    );
    kpi(
        p,
        &thousands(a.len() as f64),
        &format!(
            "accounts in the book: {} active, {} new (first 90 days), {} lapsed{}",
            count("active"),
            count("new"),
            count("lapsed"),
            if unscored > 0 {
                format!(", {unscored} not scored")
            } else {
                String::new()
            }
        ),
    );
    kpi(p, &money(arr), "ARR in the book");
    let interval = inp
        .forecast
        .as_ref()
        .and_then(|f| f.rows.first())
        .map(|r| {
            format!(
                " ({:.0}% interval {} – {})",
                100.0 * inp.forecast.as_ref().map_or(0.9, |f| f.level),
                money(r.churned_arr_low),
                money(r.churned_arr_high)
            )
        })
        .unwrap_or_default();
    kpi(
        p,
        &money(risk),
        &format!("expected churned ARR over the next {horizon} days{interval}"),
    );
    kpi(
        p,
        &money(renewing.iter().filter_map(|x| x.arr).sum()),
        &format!(
            "ARR at risk in the next {horizon} days: the ARR of the {} high- or medium-risk accounts renewing by then (or past their term end)",
            renewing.len()
        ),
    );
    kpi(
        p,
        &thousands(calls.len() as f64),
        &format!(
            "accounts that need a call this week ({} ARR): high risk, lapsed, or medium risk renewing within {:.0} days",
            money(calls.iter().filter_map(|x| x.arr).sum()),
            o.call_within_days
        ),
    );
    p.push_str("</div>");
    if let Some(prev) = &inp.previous {
        changes(p, a, prev);
    } else {
        p.push_str("<p class=\"note\">Pass <code>--previous OUT</code> (an earlier run's output folder) to see what changed since then.</p>");
    }
    p.push_str("</section>");
}

/// What changed since the previous run: accounts new to the high tier, accounts that left
/// it, and the change in expected churned ARR.
fn changes(p: &mut String, now: &[Account], prev: &[Account]) {
    let before: BTreeMap<&str, &Account> =
        prev.iter().map(|a| (a.account_id.as_str(), a)).collect();
    let after: BTreeMap<&str, &Account> = now.iter().map(|a| (a.account_id.as_str(), a)).collect();
    let (entered, left) = high_tier_moves(&tiers(now), &tiers(prev));
    let entered: Vec<&Account> = entered
        .iter()
        .filter_map(|id| after.get(id).copied())
        .collect();
    let sum = |v: &[Account]| v.iter().filter_map(|a| a.arr_at_risk).sum::<f64>();
    let (r0, r1) = (sum(prev), sum(now));
    let new_accounts = now
        .iter()
        .filter(|a| !before.contains_key(a.account_id.as_str()))
        .count();
    let gone = prev
        .iter()
        .filter(|a| !after.contains_key(a.account_id.as_str()))
        .count();
    w!(
        p,
        "<h3>Since the previous run</h3><p>Expected churned ARR {} → {} ({}{}). {} entered the high tier and {} left it; {} new to the list, {} no longer on it.</p>",
        money(r0),
        money(r1),
        if r1 >= r0 { "+" } else { "" },
        money(r1 - r0),
        accounts(entered.len()),
        accounts(left.len()),
        accounts(new_accounts),
        accounts(gone)
    );
    if !entered.is_empty() {
        p.push_str("<p class=\"small\">New to the high tier: ");
        let names: Vec<String> = entered
            .iter()
            .take(10)
            .map(|a| format!("{} ({})", esc(&a.name), money_opt(a.arr_at_risk)))
            .collect();
        p.push_str(&names.join("; "));
        if entered.len() > 10 {
            w!(p, "; and {} more", entered.len() - 10);
        }
        p.push_str("</p>");
    }
}

/// (account id, risk tier) of each account of a list.
fn tiers(v: &[Account]) -> Vec<(&str, &str)> {
    v.iter()
        .map(|a| (a.account_id.as_str(), a.tier.as_str()))
        .collect()
}

/// "1 account", "2 accounts".
fn accounts(n: usize) -> String {
    format!("{n} account{}", if n == 1 { "" } else { "s" })
}

fn options(values: &[&str]) -> String {
    let mut s = String::from("<option value=\"\">all</option>");
    for v in values {
        w!(s, "<option value=\"{}\">{}</option>", esc(v), esc(v));
    }
    s
}

fn distinct<'a>(a: &'a [Account], f: impl Fn(&'a Account) -> &'a str) -> Vec<&'a str> {
    let mut v: Vec<&str> = a.iter().map(f).filter(|s| !s.is_empty()).collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn ranked_list(p: &mut String, inp: &Inputs, o: &Options, order: &str) {
    let a = &inp.accounts;
    let shown = a.len().min(o.top);
    w!(
        p,
        "<section id=\"list-section\"><h2>The ranked list</h2><p class=\"note\">The top {} of {} accounts by {}{}; <span id=\"shown\">{shown}</span> shown with the filters below. Click a column to sort. The reasons are the model's three strongest behavioural drivers in plain language; the play is what the strongest one calls for. Every account, a sheet per CSM (up to 200 CSMs) and the drivers are in <code>at_risk.xlsx</code>.</p>",
        thousands(shown as f64),
        thousands(a.len() as f64),
        order.split(" (").next().unwrap_or(""),
        if shown < a.len() {
            " (the rest are in the workbook)"
        } else {
            ""
        }
    );
    let top = &a[..shown];
    w!(
        p,
        "<div class=\"filters\"><label>CSM <select id=\"f-csm\">{}</select></label><label>Segment <select id=\"f-segment\">{}</select></label><label>Tier <select id=\"f-tier\">{}</select></label><label>Search <input id=\"f-q\" type=\"search\" placeholder=\"name, reason…\"></label></div>",
        options(&distinct(top, |x| x.csm.as_str())),
        options(&distinct(top, |x| x.segment.as_str())),
        options(&["high", "medium", "low"])
    );
    p.push_str("<div class=\"scroll\"><table id=\"list\"><thead><tr><th class=\"n\">#</th><th>Account</th><th>Tier</th><th class=\"n\">Churn prob.</th><th class=\"n\">ARR</th><th class=\"n\">ARR at risk</th><th>Renewal</th><th>Status</th><th>Why, and the play</th><th class=\"n\">Health</th></tr></thead><tbody>");
    for x in top {
        let tier = if x.tier.is_empty() { "none" } else { &x.tier };
        let num = |v: Option<f64>| v.map_or("-1".to_string(), |v| format!("{v}"));
        w!(
            p,
            "<tr data-csm=\"{}\" data-segment=\"{}\" data-tier=\"{}\"><td class=\"n\" data-v=\"{}\">{}</td><td class=\"acct\" data-v=\"{}\"><b>{}</b><br><span class=\"small\">{} · {}<br>CSM {}</span></td><td data-v=\"{}\"><span class=\"tier {}\">{}</span></td><td class=\"n\" data-v=\"{}\">{}</td><td class=\"n\" data-v=\"{}\">{}</td><td class=\"n\" data-v=\"{}\">{}</td><td class=\"ren\" data-v=\"{}\">{}<br><span class=\"small\">{}</span></td><td data-v=\"{}\"><span class=\"status {}\">{}</span></td><td class=\"why\" data-v=\"\">",
            esc(&x.csm),
            esc(&x.segment),
            esc(tier),
            x.rank,
            x.rank,
            esc(&x.name),
            esc(&x.name),
            esc(&x.account_id),
            esc(&x.segment),
            esc(if x.csm.is_empty() { "none" } else { &x.csm }),
            match tier {
                "high" => 3,
                "medium" => 2,
                "low" => 1,
                _ => 0,
            },
            esc(tier),
            esc(if x.tier.is_empty() {
                "not scored"
            } else {
                &x.tier
            }),
            num(x.probability),
            pct_or(x.probability, "–"),
            num(x.arr),
            money_opt(x.arr),
            num(x.arr_at_risk),
            money_opt(x.arr_at_risk),
            num(x.days_to_renewal),
            esc(&x.renewal_date),
            esc(&x.renewal_state),
            esc(&x.status),
            esc(&x.status),
            esc(&x.status)
        );
        if !x.not_scored.is_empty() {
            w!(
                p,
                "<span class=\"small\">not scored: {}</span>",
                esc(&x.not_scored)
            );
        } else {
            p.push_str("<ul class=\"why\">");
            for d in &x.drivers {
                w!(p, "<li>{}</li>", esc(d));
            }
            p.push_str("</ul>");
            if !x.play.is_empty() {
                w!(p, "<span class=\"small\">Play: {}</span>", esc(&x.play));
            }
            if !x.best_play.is_empty() {
                w!(
                    p,
                    "<br><span class=\"small\">Estimated best play: {}{}</span>",
                    esc(&x.best_play),
                    x.best_play_arr_saved
                        .map(|v| format!(", expected to save {}", money(v)))
                        .unwrap_or_default()
                );
            }
            if !x.context_note.is_empty() {
                w!(
                    p,
                    "<br><span class=\"small\">{}</span>",
                    esc(&x.context_note)
                );
            }
        }
        w!(
            p,
            "</td><td class=\"n\" data-v=\"{}\">{}</td></tr>",
            num(x.health_score),
            match x.health_score {
                Some(h) => format!(
                    "{h:.0} <span class=\"small\">{}</span>",
                    esc(&x.health_tier)
                ),
                None => "–".to_string(),
            }
        );
    }
    p.push_str("</tbody></table></div></section>");
}

/// One group's risk: accounts, ARR, expected churned ARR, high-tier accounts.
#[derive(Default)]
struct Group {
    accounts: usize,
    arr: f64,
    risk: f64,
    high: usize,
    calls: usize,
}

fn groups<'a>(
    a: &'a [Account],
    o: &Options,
    key: impl Fn(&'a Account) -> &'a str,
) -> Vec<(&'a str, Group)> {
    let mut m: BTreeMap<&str, Group> = BTreeMap::new();
    for x in a {
        let k = key(x);
        let g = m
            .entry(if k.is_empty() { "(none)" } else { k })
            .or_default();
        g.accounts += 1;
        g.arr += x.arr.unwrap_or(0.0);
        g.risk += x.arr_at_risk.unwrap_or(0.0);
        g.high += usize::from(x.tier == "high");
        g.calls += usize::from(needs_call(x, o));
    }
    let mut v: Vec<(&str, Group)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.risk.total_cmp(&a.1.risk).then(a.0.cmp(b.0)));
    v
}

fn group_table(p: &mut String, title: &str, key: &str, rows: &[(&str, Group)]) {
    let max = rows.iter().map(|r| r.1.risk).fold(0.0, f64::max).max(1e-9);
    w!(
        p,
        "<div class=\"owner\"><h3>{}</h3><table><thead><tr><th>{}</th><th class=\"n\">Accounts</th><th class=\"n\">ARR</th><th class=\"n\">Expected churned ARR</th><th></th><th class=\"n\">Share of ARR</th><th class=\"n\">High risk</th><th class=\"n\">Calls this week</th></tr></thead><tbody>",
        esc(title),
        esc(key)
    );
    for (k, g) in rows {
        w!(
            p,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(k),
            g.accounts,
            money(g.arr),
            money(g.risk),
            svg::cell_bar(g.risk / max, "#D55E00"),
            pct(g.risk / g.arr.max(1e-9)),
            g.high,
            g.calls
        );
    }
    p.push_str("</tbody></table></div>");
}

fn by_owner(p: &mut String, inp: &Inputs, o: &Options) {
    p.push_str("<section id=\"by-owner\"><h2>Risk by CSM and by segment</h2><p class=\"note\">Expected churned ARR is the sum of churn probability × ARR; the share is of the group's ARR.</p>");
    group_table(
        p,
        "By segment",
        "Segment",
        &groups(&inp.accounts, o, |x| x.segment.as_str()),
    );
    group_table(
        p,
        "By CSM",
        "CSM",
        &groups(&inp.accounts, o, |x| x.csm.as_str()),
    );
    p.push_str("</section>");
}

fn missing(p: &mut String, what: &str) {
    w!(p, "<p class=\"note\">{}</p></section>", esc(what));
}

fn forecast(p: &mut String, inp: &Inputs) {
    p.push_str("<section id=\"forecast\"><h2>Renewal forecast</h2>");
    let Some(f) = &inp.forecast else {
        return missing(p, "No forecast.json in this folder.");
    };
    w!(
        p,
        "<p class=\"note\">Over the next {} days, from the calibrated probabilities. Intervals cover {:.0}%: {}.</p><table><thead><tr><th>Segment</th><th class=\"n\">Accounts</th><th class=\"n\">ARR</th><th class=\"n\">Expected churned accounts</th><th class=\"n\">Expected churned ARR</th><th class=\"n\">Contraction rate</th><th class=\"n\">Expected downsold ARR</th></tr></thead><tbody>",
        f.horizon_days,
        100.0 * f.level,
        esc(&f.method)
    );
    for r in &f.rows {
        w!(
            p,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.1} ({}–{})</td><td class=\"n\">{} ({} – {})</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&r.segment),
            r.accounts,
            money(r.arr),
            r.expected_churned_accounts,
            r.churned_accounts_low,
            r.churned_accounts_high,
            money(r.expected_churned_arr),
            money(r.churned_arr_low),
            money(r.churned_arr_high),
            pct_or(r.contraction_rate, "–"),
            money_opt(r.expected_downsold_arr)
        );
    }
    p.push_str("</tbody></table>");
    match &inp.backtest {
        Some(b) if !b.cuts.is_empty() => {
            w!(
                p,
                "<h3>How accurate this forecast was in the past</h3><p class=\"note\">The backtest cut the book at each date, trained on what was known then, and forecast churned ARR over the next {} days among the accounts whose outcome is now known; the diamond is the ARR that actually churned.</p>",
                b.horizon_days
            );
            let rows: Vec<Interval> = b
                .cuts
                .iter()
                .map(|c| {
                    let (lo, hi) = c
                        .interval()
                        .unwrap_or((c.predicted_churned_arr, c.predicted_churned_arr));
                    Interval {
                        label: c.at.to_string(),
                        estimate: c.predicted_churned_arr,
                        low: lo,
                        high: hi,
                        marker: Some(c.actual_churned_arr),
                    }
                })
                .collect();
            p.push_str(&svg::forest(
                "Forecast vs actual churned ARR by backtest date",
                &rows,
                ("forecast, with its interval", "actual churned ARR"),
                None,
                &|v| money(v),
            ));
            p.push_str("<table><thead><tr><th>Cut date</th><th class=\"n\">Accounts (resolved)</th><th class=\"n\">Churned</th><th class=\"n\">Forecast churned ARR</th><th class=\"n\">Actual</th><th>Within the interval</th></tr></thead><tbody>");
            for c in &b.cuts {
                let within = c
                    .interval()
                    .map(|(lo, hi)| c.actual_churned_arr >= lo && c.actual_churned_arr <= hi);
                w!(
                    p,
                    "<tr><td>{}</td><td class=\"n\">{} ({})</td><td class=\"n\">{}</td><td class=\"n\">{}{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                    c.at,
                    c.accounts,
                    c.resolved,
                    c.churned,
                    money(c.predicted_churned_arr),
                    c.interval()
                        .map(|(lo, hi)| format!(" ({} – {})", money(lo), money(hi)))
                        .unwrap_or_default(),
                    money(c.actual_churned_arr),
                    match within {
                        Some(true) => "<span class=\"ok\">yes</span>",
                        Some(false) => "<span class=\"bad\">no</span>",
                        None => "–",
                    }
                );
            }
            p.push_str("</tbody></table>");
        }
        _ => p.push_str("<p class=\"note\">No backtest here: run <code>churnlab backtest --data DIR --out OUT</code> and pass <code>--backtest OUT</code> to see how accurate this forecast was in the past.</p>"),
    }
    p.push_str("</section>");
}

fn auc(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_string(), |v| format!("{v:.3}"))
}

fn health(p: &mut String, inp: &Inputs) {
    p.push_str("<section id=\"health\"><h2>Health score</h2>");
    let Some(h) = &inp.health else {
        return missing(
            p,
            "No health score is configured ([health] in churnlab.toml), so it was not validated.",
        );
    };
    w!(
        p,
        "<p class=\"note\">Checked against what really churned within the horizon after each snapshot; the test period is {} to {}. Bars are churn rates by tier with 95% Wilson intervals.</p><div class=\"grid2\"><div><h3>Churn by tier: the configured score</h3>",
        esc(&h.test_dates.0),
        esc(&h.test_dates.1)
    );
    let bars = |rows: &[super::load::TierRow]| -> Vec<Bar> {
        rows.iter()
            .map(|t| Bar {
                label: format!("{} ({} rows)", t.tier, thousands(t.rows as f64)),
                value: t.churn_rate.unwrap_or(0.0),
                interval: t.ci_low.zip(t.ci_high),
                text: pct_or(t.churn_rate, "–"),
            })
            .collect()
    };
    p.push_str(&svg::bars(
        "Churn rate by configured tier",
        &bars(&h.tiers),
        svg::COLOURS[0],
    ));
    w!(
        p,
        "<p class=\"small\">{}; {} of consecutive snapshots change tier.</p></div><div><h3>Churn by tier: the recommended weights and cut-offs</h3>",
        if h.tiers_monotone {
            "Tiers are in order (red churns most)"
        } else {
            "Tiers are out of order: a worse tier does not churn more"
        },
        pct_or(h.stability.flip_rate, "–")
    );
    p.push_str(&svg::bars(
        "Churn rate by recommended tier",
        &bars(&h.recommended_tier_rates),
        svg::COLOURS[2],
    ));
    w!(
        p,
        "<p class=\"small\">{} of consecutive snapshots change tier.</p></div></div>",
        pct_or(h.recommended_stability.flip_rate, "–")
    );
    p.push_str("<h3>How well each ranks churn (test ROC-AUC)</h3><table><thead><tr><th>Segment</th><th class=\"n\">Rows</th><th class=\"n\">Churned</th><th class=\"n\">Configured score</th><th class=\"n\">Fitted weights</th><th class=\"n\">Churn model</th></tr></thead><tbody>");
    for r in std::iter::once(&h.overall).chain(&h.by_segment) {
        w!(
            p,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&r.segment),
            r.rows,
            r.churned,
            auc(r.configured_roc_auc),
            auc(r.fitted_roc_auc),
            auc(r.model_roc_auc)
        );
    }
    p.push_str("</tbody></table><h3>Weights: current and recommended</h3><table><thead><tr><th>Component</th><th>Measure</th><th class=\"n\">Coverage</th><th class=\"n\">ROC-AUC</th><th class=\"n\">Current weight</th><th class=\"n\">Recommended</th><th>Direction</th></tr></thead><tbody>");
    for c in &h.components {
        let measures: Vec<&super::load::PartRow> = h
            .measures
            .iter()
            .filter(|m| m.component == c.component)
            .collect();
        for r in std::iter::once(c).chain(measures) {
            let is_comp = r.feature.is_empty();
            w!(
                p,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.1}%</td><td class=\"n\">{:.1}%</td><td>{}</td></tr>",
                if is_comp {
                    format!("<b>{}</b>", esc(&r.component))
                } else {
                    String::new()
                },
                if is_comp {
                    "<i>component</i>".to_string()
                } else {
                    esc(&r.feature)
                },
                pct(r.coverage),
                auc(r.roc_auc),
                r.configured_share,
                r.fitted_share,
                match r.direction_agrees {
                    Some(true) => "<span class=\"ok\">low score, more churn</span>",
                    Some(false) => "<span class=\"bad\">disagrees: low score, less churn</span>",
                    None => "–",
                }
            );
        }
    }
    p.push_str("</tbody></table>");
    let against: Vec<String> = h
        .components
        .iter()
        .chain(&h.measures)
        .filter(|m| m.direction_agrees == Some(false))
        .map(|m| {
            if m.feature.is_empty() {
                format!("the {} component", esc(&m.component))
            } else {
                format!("{} ({})", esc(&m.feature), esc(&m.component))
            }
        })
        .collect();
    if against.is_empty() {
        p.push_str(
            "<p>Every measure points the right way: a lower score goes with more churn.</p>",
        );
    } else {
        w!(
            p,
            "<p class=\"warn\">These measures disagree with churn (a low score goes with less churn): {}. Reverse or drop them.</p>",
            against.join(", ")
        );
    }
    for n in &h.notes {
        w!(p, "<p class=\"warn\">{}</p>", esc(n));
    }
    if let Some(t) = &inp.recommended_toml {
        w!(
            p,
            "<details><summary>recommended_health.toml (paste into churnlab.toml)</summary><pre>{}</pre></details>",
            esc(t)
        );
    }
    p.push_str("</section>");
}

/// A percentage tick label: no decimals unless the tick needs them (97.5%).
fn pct_tick(v: f64) -> String {
    let x = 100.0 * v;
    if (x - x.round()).abs() < 1e-9 {
        format!("{x:.0}%")
    } else {
        format!("{x:.1}%")
    }
}

fn quarter_label(start: &chrono::NaiveDate) -> String {
    use chrono::Datelike;
    format!("{}Q{}", start.year(), start.month0() / 3 + 1)
}

fn retention(p: &mut String, inp: &Inputs) {
    p.push_str("<section id=\"retention\"><h2>Retention</h2>");
    let Some(r) = &inp.retention else {
        return missing(
            p,
            "No summary.json in this folder (score writes no retention).",
        );
    };
    let quarters: Vec<&super::load::Window> = r
        .rows
        .iter()
        .filter(|w| w.period == "quarter" && w.accounts_start > 0)
        .collect();
    let mut starts: Vec<chrono::NaiveDate> = quarters.iter().map(|w| w.start).collect();
    starts.sort_unstable();
    starts.dedup();
    let starts: Vec<chrono::NaiveDate> = starts.iter().rev().take(8).rev().copied().collect();
    let mut segs: Vec<&str> = quarters.iter().map(|w| w.segment.as_str()).collect();
    segs.sort_unstable();
    segs.dedup();
    segs.sort_by_key(|s| *s != "all");
    w!(
        p,
        "<p class=\"note\">GRR and NRR of the ARR active at each quarter's start, a quarter later (periods settled by {}; renewals may still land in the grace period after that).</p><div class=\"grid2\">",
        r.settled_until
    );
    for (metric, title) in [("grr", "GRR by quarter"), ("nrr", "NRR by quarter")] {
        let series: Vec<Series> = segs
            .iter()
            .map(|s| Series {
                name: s.to_string(),
                points: starts
                    .iter()
                    .enumerate()
                    .filter_map(|(k, st)| {
                        quarters
                            .iter()
                            .find(|w| w.segment == *s && w.start == *st)
                            .map(|w| if metric == "grr" { w.grr } else { w.nrr })
                            .filter(|v| v.is_finite())
                            .map(|v| (k as f64, v))
                    })
                    .collect(),
                dashed: false,
            })
            .collect();
        let ys: Vec<f64> = series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .collect();
        let lo = ys.iter().copied().fold(1.0, f64::min);
        let hi = ys.iter().copied().fold(1.0, f64::max);
        let lo = (lo * 20.0).floor() / 20.0;
        let hi = (hi * 20.0).ceil() / 20.0;
        let hi = if hi <= lo { lo + 0.05 } else { hi };
        let ticks: Vec<(f64, String)> = svg::nice_ticks(lo, hi, 4)
            .into_iter()
            .map(|v| (v, pct_tick(v)))
            .collect();
        let axes = Axes {
            x: (0.0, (starts.len().max(2) - 1) as f64),
            y: (lo, hi),
            x_ticks: starts
                .iter()
                .enumerate()
                .map(|(k, s)| (k as f64, quarter_label(s)))
                .collect(),
            y_ticks: ticks,
            x_title: "quarter",
            y_title: metric,
        };
        w!(
            p,
            "<div><h3>{title}</h3>{}</div>",
            svg::lines(title, &series, &axes)
        );
    }
    p.push_str("</div>");
    // Retention curves: the most recent cohorts with enough accounts.
    let mut cohorts: Vec<&str> = inp
        .curves
        .iter()
        .filter(|c| c.segment == "all" && !c.survivors_only && c.accounts >= 20)
        .map(|c| c.cohort.as_str())
        .collect();
    cohorts.sort_unstable();
    cohorts.dedup();
    let cohorts: Vec<&str> = cohorts.iter().rev().take(7).rev().copied().collect();
    if cohorts.is_empty() {
        p.push_str("<p class=\"note\">No signup cohort with 20 or more accounts and a churn in the data to draw.</p>");
    } else {
        let series: Vec<Series> = cohorts
            .iter()
            .map(|c| Series {
                name: if *c == "all" {
                    "all cohorts".to_string()
                } else {
                    c.to_string()
                },
                points: std::iter::once((0.0, 1.0))
                    .chain(
                        inp.curves
                            .iter()
                            .filter(|x| x.segment == "all" && x.cohort == *c)
                            .map(|x| (f64::from(x.age_months), x.logo_retention)),
                    )
                    .collect(),
                dashed: false,
            })
            .collect();
        let max_age = inp
            .curves
            .iter()
            .map(|c| c.age_months)
            .max()
            .unwrap_or(12)
            .max(3);
        let lo = series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .fold(1.0, f64::min);
        let lo = ((lo * 10.0).floor() / 10.0).min(0.9);
        let axes = Axes {
            x: (0.0, f64::from(max_age)),
            y: (lo, 1.0),
            x_ticks: (0..=max_age)
                .step_by(if max_age > 12 { 6 } else { 3 })
                .map(|m| (f64::from(m), format!("{m}")))
                .collect(),
            y_ticks: svg::nice_ticks(lo, 1.0, 4)
                .into_iter()
                .map(|v| (v, pct_tick(v)))
                .collect(),
            x_title: "months since signup",
            y_title: "logo retention",
        };
        w!(
            p,
            "<h3>Logo retention by signup cohort</h3>{}",
            svg::lines("Logo retention by signup cohort", &series, &axes)
        );
    }
    p.push_str("</section>");
}

fn clusters(p: &mut String, inp: &Inputs) {
    p.push_str("<section id=\"clusters\"><h2>Clusters</h2>");
    match &inp.clusters {
        None => missing(p, "No clusters.json in this folder."),
        Some(Err(e)) => missing(p, &format!("Not computed: {e}")),
        Some(Ok(c)) => {
            w!(
                p,
                "<p class=\"note\">Look-alike groups of the accounts active on {} (k = {} by silhouette; the same groups come back across seeds with mean adjusted Rand index {:.2}). Names list what sets each group apart.</p><table><thead><tr><th>#</th><th>Profile</th><th class=\"n\">Accounts</th><th class=\"n\">ARR</th><th class=\"n\">Churned</th><th class=\"n\">Churn rate</th></tr></thead><tbody>",
                esc(&c.snapshot_date),
                c.k,
                c.stability_mean_ari
            );
            for k in &c.clusters {
                w!(
                    p,
                    "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                    k.id,
                    esc(&k.name),
                    k.accounts,
                    money(k.arr),
                    k.churned,
                    pct(k.churn_rate)
                );
            }
            p.push_str("</tbody></table></section>");
        }
    }
}

fn plays(p: &mut String, inp: &Inputs) {
    p.push_str("<section id=\"plays\"><h2>Do plays work?</h2>");
    let pr = match &inp.propensity {
        None => return missing(p, "No propensity.json in this folder."),
        Some(Err(e)) => return missing(p, &format!("Not computed: {e}")),
        Some(Ok(pr)) => pr,
    };
    w!(
        p,
        "<p class=\"note\">{}. The headline (the dot) is the doubly robust effect on the treated: it compares each treated account with what the outcome and propensity models, fitted on other accounts, expect of it untreated, and it is right when either model is. Its interval is 95%. The diamond is the naive difference (treated minus untreated churn). Left of the dashed line, the play lowers churn. Grey rows did not pass the checks below.</p>",
        esc(&pr.outcome)
    );
    let rows: Vec<Interval> = pr
        .effects
        .iter()
        .map(|e| Interval {
            label: if e.trusted {
                e.treatment.clone()
            } else {
                format!("{} (not trusted)", e.treatment)
            },
            estimate: e.att_dr,
            low: e.att_dr_ci.0,
            high: e.att_dr_ci.1,
            marker: Some(e.naive_difference),
        })
        .collect();
    p.push_str(&svg::forest(
        "Effect of each play on churn",
        &rows,
        ("doubly robust effect, 95% interval", "naive difference"),
        Some(0.0),
        &|v| format!("{} pts", pts(v)),
    ));
    p.push_str("<table><thead><tr><th>Play</th><th class=\"n\">Treated</th><th class=\"n\">Untreated</th><th class=\"n\">Naive difference</th><th class=\"n\">Effect (95%)</th><th>What it means</th><th class=\"n\">Matched, second opinion (95%)</th><th>Checks</th></tr></thead><tbody>");
    for e in &pr.effects {
        let mut checks = vec![format!(
            "comparison weight of about {:.0} untreated snapshots",
            e.ess_untreated
        )];
        if e.trimmed_treated > 0 {
            checks.push(format!(
                "{} treated snapshot{} without comparable untreated ones left out",
                e.trimmed_treated,
                if e.trimmed_treated == 1 { "" } else { "s" }
            ));
        }
        if let (Some(v), Some(ci)) = (e.negative_control_att, e.negative_control_ci) {
            checks.push(format!(
                "negative control {} pts ({} to {}, should include 0)",
                pts(v),
                pts(ci.0),
                pts(ci.1)
            ));
        }
        if e.max_abs_smd_matched > 0.1 {
            checks.push(format!(
                "matched groups still differ (standardised difference {:.2})",
                e.max_abs_smd_matched
            ));
        }
        w!(
            p,
            "<tr{}><td>{} <span class=\"small\">(up to {} days before)</span></td><td class=\"n\">{} ({})</td><td class=\"n\">{} ({})</td><td class=\"n\">{} pts</td><td class=\"n\"><b>{}</b> ({} to {})</td><td class=\"small\">{}</td><td class=\"n\">{} ({} to {})</td><td class=\"small\">{}</td></tr>",
            if e.trusted { "" } else { " class=\"muted\"" },
            esc(&e.treatment),
            e.window_days,
            e.treated,
            pct(e.treated_churn_rate),
            e.untreated,
            pct(e.untreated_churn_rate),
            pts(e.naive_difference),
            pts(e.att_dr),
            pts(e.att_dr_ci.0),
            pts(e.att_dr_ci.1),
            esc(&e.verdict),
            pts(e.att_matched),
            pts(e.att_matched_ci.0),
            pts(e.att_matched_ci.1),
            esc(&checks.join("; "))
        );
    }
    p.push_str("</tbody></table>");
    if let Some(e) = pr.effects.first() {
        w!(
            p,
            "<p class=\"small\">Placebo check: a random \"play\" given to as many accounts as a typical play shows {} pts ({} to {}); it should include 0, and when it does not, no estimate here is trusted.{}</p>",
            pts(e.placebo_att),
            pts(e.placebo_ci.0),
            pts(e.placebo_ci.1),
            pr.negative_control
                .as_ref()
                .map(|n| format!(" Negative control: each play's \"effect\" on {}, which no play could have caused; an interval away from 0 means treated accounts differ in ways the features miss.", esc(n)))
                .unwrap_or_default()
        );
    }
    for s in &pr.skipped {
        w!(p, "<p class=\"small\">Skipped: {}</p>", esc(s));
    }
    if !inp.budget.is_empty() {
        p.push_str("<h3>Where a quarter's plays would save the most</h3><p class=\"note\">For each play whose effect passed the checks: as many accounts as had it in the last window, chosen by the estimated ARR the play would save on each, against the same number from the top of the ranked list (today's rule). Estimates of the models, with 95% intervals; not yet checked against a controlled test.</p><table><thead><tr><th>Play</th><th class=\"n\">Accounts</th><th class=\"n\">ARR saved, aimed by effect</th><th class=\"n\">ARR saved, top of the list</th></tr></thead><tbody>");
        let range = |v: &[Option<f64>; 3]| {
            format!(
                "{} ({} to {})",
                money_opt(v[0]),
                money_opt(v[1]),
                money_opt(v[2])
            )
        };
        for b in &inp.budget {
            w!(
                p,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(&b.play),
                b.accounts,
                esc(&range(&b.by_effect)),
                esc(&range(&b.by_list))
            );
        }
        p.push_str("</tbody></table>");
    }
    p.push_str("<p class=\"small\">Effects are in percentage points of churn within the horizon. The models see the signals in the data, not every reason a CSM chose an account; an effect is a lead to test, ideally against a control group, not proof. The sensitivity figure says how strong a hidden reason would have to be to explain an effect away.</p></section>");
}

fn model_quality(p: &mut String, inp: &Inputs) {
    p.push_str("<section id=\"model\"><h2>Model quality</h2>");
    let Some(m) = &inp.metrics else {
        return missing(
            p,
            "No metrics.json in this folder: this list was scored with a saved model (its folder has the metrics).",
        );
    };
    w!(
        p,
        "<p>Champion: <b>{}</b>: {}. <span class=\"small\">{}</span></p>",
        esc(m.champion.name()),
        esc(&m.champion_reason),
        esc(&m.champion_rule)
    );
    if let Some(s) = &m.split {
        w!(
            p,
            "<p class=\"note\">Out of time: fitted on snapshots {} to {}, chosen on {} to {}, tested once on {} to {} ({} test rows); the test period never informs a choice.</p>",
            esc(&s.fit_dates.0),
            esc(&s.fit_dates.1),
            esc(&s.valid_dates.0),
            esc(&s.valid_dates.1),
            esc(&s.test_dates.0),
            esc(&s.test_dates.1),
            s.test_rows
        );
    }
    p.push_str("<table><thead><tr><th>Family</th><th class=\"n\">Test ROC-AUC</th><th class=\"n\">PR-AUC</th><th class=\"n\">Brier</th><th class=\"n\">Lift top 10%</th><th class=\"n\">Churners in top 10%</th><th class=\"n\">Calibration error</th><th>Calibration</th></tr></thead><tbody>");
    for f in &m.families {
        let t = &f.test;
        w!(
            p,
            "<tr><td>{}{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.4}</td><td class=\"n\">{:.1}×</td><td class=\"n\">{}</td><td class=\"n\">{:.4}</td><td>{}</td></tr>",
            esc(f.family.name()),
            if f.family == m.champion {
                " <b>(champion)</b>"
            } else {
                ""
            },
            auc(t.roc_auc),
            auc(t.pr_auc),
            t.brier,
            t.top_10.lift,
            pct(t.top_10.churn_capture),
            t.calibration_error,
            esc(&f.calibration)
        );
    }
    p.push_str("</tbody></table>");
    let Some(t) = m
        .families
        .iter()
        .find(|f| f.family == m.champion)
        .map(|f| &f.test)
    else {
        return p.push_str("</section>");
    };
    p.push_str("<div class=\"grid2\">");
    if !t.capture.is_empty() {
        let pts: Vec<(f64, f64)> = std::iter::once((0.0, 0.0))
            .chain(t.capture.iter().map(|c| (c.share, c.churn_capture)))
            .collect();
        let mut series = vec![Series {
            name: "churners found".into(),
            points: pts,
            dashed: false,
        }];
        if t.capture.iter().all(|c| c.arr_capture.is_some()) {
            series.push(Series {
                name: "churned ARR found".into(),
                points: std::iter::once((0.0, 0.0))
                    .chain(
                        t.capture
                            .iter()
                            .map(|c| (c.share, c.arr_capture.unwrap_or(0.0))),
                    )
                    .collect(),
                dashed: false,
            });
        }
        series.push(Series {
            name: "random list".into(),
            points: vec![(0.0, 0.0), (1.0, 1.0)],
            dashed: true,
        });
        let pct_ticks: Vec<(f64, String)> = (0..=4)
            .map(|k| (k as f64 / 4.0, format!("{}%", 25 * k)))
            .collect();
        let axes = Axes {
            x: (0.0, 1.0),
            y: (0.0, 1.0),
            x_ticks: pct_ticks.clone(),
            y_ticks: pct_ticks,
            x_title: "share of the list called, highest risk first",
            y_title: "share found",
        };
        w!(
            p,
            "<div><h3>Capture: how many churners the top of the list finds (test period)</h3>{}</div>",
            svg::lines("Cumulative capture of churners", &series, &axes)
        );
    }
    let bins: Vec<(f64, f64)> = t
        .reliability
        .iter()
        .filter(|b| b.rows > 0)
        .filter_map(|b| Some((b.mean_predicted?, b.observed_rate?)))
        .collect();
    if !bins.is_empty() {
        let top = bins
            .iter()
            .map(|b| b.0.max(b.1))
            .fold(0.0, f64::max)
            .clamp(0.05, 1.0);
        let top = (top * 10.0).ceil() / 10.0;
        let ticks: Vec<(f64, String)> = (0..=4)
            .map(|k| {
                let v = top * k as f64 / 4.0;
                (v, format!("{:.0}%", 100.0 * v))
            })
            .collect();
        let axes = Axes {
            x: (0.0, top),
            y: (0.0, top),
            x_ticks: ticks.clone(),
            y_ticks: ticks,
            x_title: "predicted churn probability (bin mean)",
            y_title: "observed churn rate",
        };
        let series = vec![
            Series {
                name: "champion".into(),
                points: bins,
                dashed: false,
            },
            Series {
                name: "perfect calibration".into(),
                points: vec![(0.0, 0.0), (top, top)],
                dashed: true,
            },
        ];
        w!(
            p,
            "<div><h3>Calibration: predicted against observed (test period)</h3>{}</div>",
            svg::lines("Calibration", &series, &axes)
        );
    }
    p.push_str("</div></section>");
}

fn caveats(p: &mut String, inp: &Inputs) {
    p.push_str("<section id=\"caveats\"><h2>Data caveats</h2><ul>");
    let mut any = false;
    if let Some(s) = &inp.summary {
        for (table, why) in &s.missing {
            any = true;
            w!(p, "<li>No <b>{}</b> table: {}.</li>", esc(table), esc(why));
        }
        for w in &s.warnings {
            any = true;
            w!(p, "<li>{}</li>", esc(w));
        }
    }
    let unscored: Vec<&Account> = inp
        .accounts
        .iter()
        .filter(|a| a.probability.is_none())
        .collect();
    if !unscored.is_empty() {
        any = true;
        let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
        for a in &unscored {
            *reasons.entry(a.not_scored.as_str()).or_default() += 1;
        }
        for (r, n) in reasons {
            w!(
                p,
                "<li>{n} account{} not scored: {}.</li>",
                if n == 1 { "" } else { "s" },
                esc(if r.is_empty() {
                    "no reason recorded"
                } else {
                    r
                })
            );
        }
    }
    for (name, missing_file) in [
        (
            "health-score validation (health_report.json)",
            inp.health.is_none(),
        ),
        ("model metrics (metrics.json)", inp.metrics.is_none()),
        ("retention report (summary.json)", inp.retention.is_none()),
    ] {
        if missing_file {
            any = true;
            w!(p, "<li>This folder has no {name}.</li>");
        }
    }
    for (name, r) in [
        (
            "Clusters",
            inp.clusters.as_ref().and_then(|c| c.as_ref().err()),
        ),
        (
            "Plays",
            inp.propensity.as_ref().and_then(|c| c.as_ref().err()),
        ),
    ] {
        if let Some(e) = r {
            any = true;
            w!(p, "<li>{name} not computed: {}</li>", esc(e));
        }
    }
    if !any {
        p.push_str("<li>Every table the contract names is present, every account is scored, and validation raised no warnings.</li>");
    }
    p.push_str("</ul></section>");
}
