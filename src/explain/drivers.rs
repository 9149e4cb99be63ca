//! Drivers: each account's risk explained in CS language. Contributions (log-odds, see
//! [`crate::explain`]) are folded onto features. Behavioural features are grouped into the
//! five health components, and the strongest risk-raising and protective ones get one
//! plain sentence each, naming the component, with the account's value next to the
//! portfolio's typical value. Context features (timing, size, term, tenure, segment:
//! [`features::catalog::CONTEXT`]) stay in the model but are summed into one context
//! figure and described as facts, never given as reasons; when an account's risk is
//! mostly context, one sentence says so. A suggested play follows the strongest reason.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use ndarray::ArrayView2;
use rayon::prelude::*;

use crate::common::fmt::{money, thousands};
use crate::common::stats::median;
use crate::explain;
use crate::features;
use crate::features::dataset::Dataset;
use crate::train::Pipeline;

/// One driver of one account's risk: facts only. Its sentence is built when it is
/// written ([`Driver::sentence`]), so a million explained accounts hold numbers, not
/// text.
#[derive(Clone, Debug, PartialEq)]
pub struct Driver {
    /// Shared by every driver of the feature.
    pub feature: Arc<str>,
    pub component: &'static str,
    /// The account's value (numeric features), or its level (categoricals).
    pub value: Option<f64>,
    pub level: Option<String>,
    /// Median among the accounts scored (of the account's segment when it has enough).
    pub typical: Option<f64>,
    /// Signed contribution to the log-odds of churn: positive raises risk.
    pub contribution: f64,
    /// Days since the executive sponsor left, which the sponsor-change sentence states.
    pub sponsor_days: Option<f64>,
}

impl Driver {
    /// The driver in one plain sentence naming its component, e.g. "Adoption: Seat
    /// utilisation is 23% (typical 68%), raising risk"; empty when the account has
    /// neither a value nor a level for it.
    pub fn sentence(&self) -> String {
        let s = match (self.value, &self.level) {
            (Some(v), _) => sentence(
                &self.feature,
                v,
                self.typical,
                self.contribution,
                self.sponsor_days,
            ),
            (None, Some(level)) => format!(
                "{} is {level}, {}",
                label(&self.feature),
                effect(self.contribution)
            ),
            (None, None) => return String::new(),
        };
        format!("{}: {s}", capitalise(self.component))
    }
}

/// The explanation of one account.
#[derive(Clone, Debug)]
pub struct Explanation {
    /// Log-odds at the reference account and for this account.
    pub base: f64,
    pub raw: f64,
    /// Behavioural contributions summed per health component, by component name.
    pub components: Vec<(&'static str, f64)>,
    /// Context contributions (timing, size, term, tenure, segment), summed.
    pub context: f64,
    /// One sentence when the risk is mostly context, e.g. "Mostly timing and profile:
    /// renewal in 78 days; behaviour looks normal".
    pub context_note: Option<String>,
    /// Strongest behavioural risk-raising drivers first.
    pub risers: Vec<Driver>,
    /// Strongest behavioural protective drivers first.
    pub protectors: Vec<Driver>,
}

/// A play a CSM could run, with what it rests on.
#[derive(Clone, Debug, PartialEq)]
pub struct Play {
    pub play: &'static str,
    basis: Basis,
}

/// The fact a play follows from.
#[derive(Clone, Debug, PartialEq)]
enum Basis {
    /// The term ended this many days ago with no renewal booked.
    Lapsed(f64),
    /// The strongest behavioural reason.
    Driver(Driver),
}

impl Play {
    /// What the suggestion follows from, in words: the driver's sentence, or the renewal
    /// state.
    pub fn basis(&self) -> String {
        match &self.basis {
            Basis::Lapsed(days) => {
                format!("the term ended {days:.0} days ago and no renewal is booked")
            }
            Basis::Driver(d) => d.sentence(),
        }
    }
}

/// The play the strongest behavioural reason calls for, after the signal-to-play rules CS
/// teams use (docs/domain.md): a lapsed term calls for a renewal call first; a sponsor or
/// champion gone for executive outreach; falling adoption for an adoption review; support
/// pain for a support escalation review; a detractor for closing the loop; no recent touch
/// for a check-in; overdue invoices for a billing follow-up. These are rules, not estimated
/// effects (the propensity analysis estimates what plays did).
pub fn suggested_play(days_lapsed: f64, top_riser: Option<&Driver>) -> Option<Play> {
    if days_lapsed > 0.0 {
        return Some(Play {
            play: "Renewal call: confirm the renewal or the reason it is not coming",
            basis: Basis::Lapsed(days_lapsed),
        });
    }
    let d = top_riser?;
    let play = match (&*d.feature, d.component) {
        ("sponsor_left_90d" | "days_since_sponsor_left" | "sponsor_present", _) => {
            "Executive outreach: re-establish an executive sponsor"
        }
        ("champion_left_90d" | "champion_present" | "active_contacts", _) => {
            "Find and enable a new champion"
        }
        ("days_since_exec_touch", _) => "Executive business review (EBR)",
        ("days_since_cs_touch" | "cs_touches_90d", _) => "CSM check-in and success plan review",
        ("arr_change_last_renewal", _) => "Value review before the renewal",
        (_, "adoption") => "Adoption review: usage plan, training for inactive users",
        (_, "support") => "Support escalation review: resolve open and high-priority tickets",
        (_, "sentiment") => "Close the loop on the survey feedback",
        (_, "relationship") => "CSM check-in and success plan review",
        (_, "commercial") => "Billing follow-up with finance",
        _ => return None,
    };
    Some(Play {
        play,
        basis: Basis::Driver(d.clone()),
    })
}

impl Explanation {
    /// The top drivers by absolute contribution, risers and protectors together.
    pub fn top(&self, k: usize) -> Vec<&Driver> {
        let mut all: Vec<&Driver> = self.risers.iter().chain(&self.protectors).collect();
        all.sort_by(|a, b| b.contribution.abs().total_cmp(&a.contribution.abs()));
        all.truncate(k);
        all
    }
}

/// The facts a context feature states, for the context sentence ("renewal in 78 days").
fn context_fact(feature: &str, value: Option<f64>, level: Option<&str>) -> Option<String> {
    let v = value.unwrap_or(f64::NAN);
    Some(match feature {
        "days_to_renewal" if v < 1.0 => "renewal due now".into(),
        "days_to_renewal" => format!("renewal in {v:.0} days"),
        "days_lapsed" if v > 0.0 => format!("term ended {v:.0} days ago with no renewal booked"),
        "first_renewal_ahead" if v > 0.5 => "first renewal ahead".into(),
        "first_renewal_ahead" => "has renewed before".into(),
        "monthly_term" if v > 0.5 => "month-to-month term".into(),
        "monthly_term" => "annual or longer term".into(),
        "tenure_days" => format!("customer for {v:.0} days"),
        "arr" | "seats" | "arr_per_seat" => "account size".into(),
        _ => format!("{} {}", level?, feature.replace('_', " ")),
    })
}

/// One context feature of one account: its value or level and its contribution.
struct ContextPart<'a> {
    feature: &'a str,
    value: Option<f64>,
    level: Option<String>,
    contribution: f64,
}

/// "Mostly timing and profile: renewal in 78 days, smb segment; behaviour looks normal",
/// when context raises risk more than all behavioural risers together.
fn context_note(context: &[ContextPart<'_>], risers: f64) -> Option<String> {
    let total: f64 = context.iter().map(|c| c.contribution).sum();
    if total <= 0.0 || total < risers {
        return None;
    }
    let mut up: Vec<&ContextPart> = context.iter().filter(|c| c.contribution > 0.0).collect();
    up.sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
    let mut facts: Vec<String> = Vec::new();
    for c in up {
        if let Some(f) = context_fact(c.feature, c.value, c.level.as_deref())
            && !facts.contains(&f)
        {
            facts.push(f);
        }
        if facts.len() == 2 {
            break;
        }
    }
    // A lapsed term says more than "renewal due now".
    if facts.iter().any(|f| f.starts_with("term ended")) {
        facts.retain(|f| f != "renewal due now");
    }
    let behaviour = if risers < 0.1 {
        "behaviour looks normal"
    } else {
        "behaviour adds less"
    };
    Some(format!(
        "Mostly timing and profile: {}; {behaviour}",
        facts.join(", ")
    ))
}

/// The health component of a feature as the catalog tags it; "other" for features of
/// flat tables.
pub fn component_of(feature: &str) -> &'static str {
    if let Some(s) = features::spec(feature) {
        return s.component.name();
    }
    if let Some(c) = features::CATEGORICALS.iter().find(|c| c.0 == feature) {
        return c.1.name();
    }
    "other"
}

/// A short human label for a feature.
pub fn label(feature: &str) -> String {
    if let Some((kind, m)) = features::catalog::per_type(feature) {
        return match m.name {
            "events_30d" => format!("'{kind}' events a month (last 30 days)"),
            "events_90d" => format!("'{kind}' events a month (last 90 days)"),
            "per_user_30d" => format!("'{kind}' events per active user a month"),
            "per_seat_30d" => format!("'{kind}' events per seat a month"),
            "share_30d" => format!("'{kind}' share of events (30 days)"),
            "trend_30d" => format!("Trend of '{kind}' events"),
            "days_since" => format!("Days since the last '{kind}' event"),
            "events_total" => format!("'{kind}' events since the start"),
            "ratio_90d" => match kind.split_once('/') {
                Some((a, b)) => format!("'{a}' events per '{b}' event (90 days)"),
                None => format!("'{kind}' ratio (90 days)"),
            },
            other => format!("'{kind}' {}", other.replace('_', " ")),
        };
    }
    let l = match feature {
        "events_30d" => "Product events (30 days)",
        "events_90d" => "Product events (90 days)",
        "active_users_30d" => "Active users (30 days)",
        "seat_utilisation_30d" => "Seat utilisation",
        "feature_breadth_30d" => "Feature breadth",
        "sticky_features_used_30d" => "Sticky features in use",
        "sticky_user_share_30d" => "Share of users on sticky features",
        "events_per_active_user_30d" => "Events per active user",
        "minutes_30d" => "Minutes in product (30 days)",
        "active_days_30d" => "Active days (30 days)",
        "dau_mau_30d" => "DAU/MAU",
        "days_since_last_activity" => "Days since last product activity",
        "tickets_30d" => "Support tickets (30 days)",
        "tickets_90d" => "Support tickets (90 days)",
        "tickets_per_10_seats_90d" => "Tickets per 10 seats (90 days)",
        "tickets_change_30d" => "Change in tickets vs the previous 30 days",
        "high_priority_tickets_30d" => "P1/P2 tickets (30 days)",
        "open_tickets" => "Open tickets",
        "p1p2_open_over_10d" => "P1/P2 tickets open over 10 days",
        "max_tickets_7d_90d" => "Most tickets in any 7 days",
        "avg_resolution_hours_90d" => "Average resolution time (hours)",
        "escalations_90d" => "Escalations (90 days)",
        "csat_avg_90d" => "Average CSAT",
        "nps_last" => "Last NPS score",
        "nps_change" => "Change in NPS",
        "days_since_nps" => "Days since the last NPS response",
        "nps_score_180d" => "NPS (180 days)",
        "nps_responses_180d" => "NPS responses (180 days)",
        "active_contacts" => "Active contacts",
        "days_since_cs_touch" => "Days since the last CS touch",
        "days_since_exec_touch" => "Days since the last executive touch (EBR)",
        "cs_touches_90d" => "CS touches (90 days)",
        "arr" => "ARR",
        "seats" => "Seats",
        "arr_per_seat" => "ARR per seat",
        "tenure_days" => "Tenure (days)",
        "days_to_renewal" => "Days to renewal",
        "arr_change_last_renewal" => "ARR change at the last renewal",
        "overdue_invoices_30d" => "Invoices over 30 days past due",
        "overdue_amount_30d" => "Amount over 30 days past due",
        "avg_days_late_365d" => "Average days late paying",
        other => return capitalise(&other.replace('_', " ")),
    };
    l.to_string()
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn fmt_value(feature: &str, v: f64) -> String {
    let unit = features::spec(feature).map(|s| s.unit).unwrap_or("");
    match unit {
        "share" | "ratio" if feature != "arr_change_last_renewal" => {
            format!("{:.0}%", 100.0 * v)
        }
        "currency" | "currency/seat" => money(v),
        "log ratio" => format!("{:+.0}%", 100.0 * (v.exp() - 1.0)),
        _ if feature == "arr_change_last_renewal" => format!("{:+.0}%", 100.0 * v),
        _ if v.abs() >= 10.0 || v.fract().abs() < 1e-9 => thousands(v.round()),
        _ => format!("{v:.1}"),
    }
}

fn effect(contribution: f64) -> &'static str {
    if contribution > 0.0 {
        "raising risk"
    } else {
        "lowering risk"
    }
}

/// One plain sentence for a driver. `days_since_sponsor_left` feeds the sponsor sentence.
pub fn sentence(
    feature: &str,
    value: f64,
    typical: Option<f64>,
    contribution: f64,
    sponsor_days: Option<f64>,
) -> String {
    let effect = effect(contribution);
    if let Some((kind, m)) = features::catalog::per_type(feature) {
        return per_type_sentence(kind, m.name, value, typical, effect);
    }
    let yes = value > 0.5;
    let flag = |on: &str, off: &str| format!("{}, {effect}", if yes { on } else { off });
    match feature {
        "sponsor_left_90d" => match (yes, sponsor_days) {
            (true, Some(d)) => format!("Executive sponsor left {d:.0} days ago, {effect}"),
            (true, None) => format!("Executive sponsor left in the last 90 days, {effect}"),
            _ => format!("No executive sponsor change in the last 90 days, {effect}"),
        },
        "champion_left_90d" => flag(
            "Champion left in the last 90 days",
            "No champion change in the last 90 days",
        ),
        "sponsor_present" => flag("Executive sponsor in place", "No executive sponsor"),
        "champion_present" => flag("Champion in place", "No champion on the account"),
        "nps_detractor" => flag(
            "Last NPS response was a detractor (0-6)",
            "Last NPS response was not a detractor",
        ),
        "first_renewal_ahead" => flag("First renewal still ahead", "Has renewed before"),
        "monthly_term" => flag("On a month-to-month term", "On an annual or longer term"),
        "days_since_sponsor_left" => {
            format!("Executive sponsor left {value:.0} days ago, {effect}")
        }
        "days_to_renewal" => {
            let t = typical
                .map(|t| format!(" (typical {t:.0})"))
                .unwrap_or_default();
            format!("Renewal in {value:.0} days{t}, {effect}")
        }
        "events_change_30d" | "active_users_change_30d" => {
            let what = if feature == "events_change_30d" {
                "Product events"
            } else {
                "Active users"
            };
            let pct = 100.0 * (value.exp() - 1.0);
            let dir = if pct < 0.0 { "fell" } else { "rose" };
            format!(
                "{what} {dir} {:.0}% vs the previous 30 days, {effect}",
                pct.abs()
            )
        }
        _ => {
            let l = label(feature);
            let v = fmt_value(feature, value);
            match typical {
                Some(t) => format!("{l} is {v} (typical {}), {effect}", fmt_value(feature, t)),
                None => format!("{l} is {v}, {effect}"),
            }
        }
    }
}

/// A per-type driver in words that name the customer's own event type.
fn per_type_sentence(
    kind: &str,
    metric: &str,
    value: f64,
    typical: Option<f64>,
    effect: &str,
) -> String {
    let num = |v: f64| {
        if v.abs() >= 10.0 || v.fract().abs() < 1e-9 {
            thousands(v.round())
        } else {
            format!("{v:.1}")
        }
    };
    let pct = |v: f64| format!("{:.0}%", 100.0 * v);
    let typ = |f: &dyn Fn(f64) -> String| {
        typical
            .map(|t| format!(" (typical {})", f(t)))
            .unwrap_or_default()
    };
    match metric {
        "events_30d" | "events_90d" => {
            let days = if metric == "events_30d" { 30 } else { 90 };
            format!(
                "'{kind}' events are {} a month over the last {days} days{}, {effect}",
                num(value),
                typ(&num)
            )
        }
        "per_user_30d" => format!(
            "'{kind}' events are {} a month per active user{}, {effect}",
            num(value),
            typ(&num)
        ),
        "per_seat_30d" => format!(
            "'{kind}' events are {} a month per seat{}, {effect}",
            num(value),
            typ(&num)
        ),
        "share_30d" => format!(
            "'{kind}' is {} of the account's events{}, {effect}",
            pct(value),
            typ(&pct)
        ),
        "trend_30d" => {
            let change = 100.0 * (value.exp() - 1.0);
            let dir = if change < 0.0 { "fell" } else { "rose" };
            format!(
                "'{kind}' events {dir} {:.0}% vs the 60 days before, {effect}",
                change.abs()
            )
        }
        "days_since" => format!(
            "Last '{kind}' event {} days ago{}, {effect}",
            num(value),
            typ(&num)
        ),
        "ratio_90d" => {
            let two = |v: f64| format!("{v:.2}");
            let (a, b) = kind.split_once('/').unwrap_or((kind, "other"));
            format!(
                "'{a}' events are {} per '{b}' event over 90 days{}, {effect}",
                two(value),
                typ(&two)
            )
        }
        _ => format!(
            "'{kind}' events since the start: {}{}, {effect}",
            num(value),
            typ(&num)
        ),
    }
}

/// Typical values: per numeric feature, the median over `rows`, overall and per
/// segment (segments with at least 20 rows).
pub struct Typical {
    overall: HashMap<String, f64>,
    /// Feature, then segment.
    by_segment: HashMap<String, HashMap<String, f64>>,
}

impl Typical {
    /// The medians, features in parallel.
    pub fn new(ds: &Dataset, rows: &[usize]) -> Typical {
        let seg = ds.categorical_col("segment");
        let per_feature: Vec<(&String, Option<f64>, HashMap<String, f64>)> = ds
            .numeric_names
            .par_iter()
            .zip(&ds.numeric)
            .map(|(name, col)| {
                let mut all: Vec<f64> = rows.iter().filter_map(|&i| col.get(i)).collect();
                let overall = median(&mut all);
                let mut by_segment = HashMap::new();
                if let Some(seg) = seg {
                    let mut groups: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
                    for &i in rows {
                        if let (Some(s), Some(v)) = (&seg[i], col.get(i)) {
                            groups.entry(s.as_str()).or_default().push(v);
                        }
                    }
                    for (s, mut v) in groups {
                        if v.len() >= 20
                            && let Some(m) = median(&mut v)
                        {
                            by_segment.insert(s.to_string(), m);
                        }
                    }
                }
                (name, overall, by_segment)
            })
            .collect();
        let mut overall = HashMap::new();
        let mut by_segment = HashMap::new();
        for (name, m, segments) in per_feature {
            if let Some(m) = m {
                overall.insert(name.clone(), m);
            }
            by_segment.insert(name.clone(), segments);
        }
        Typical {
            overall,
            by_segment,
        }
    }

    pub fn get(&self, feature: &str, segment: Option<&str>) -> Option<f64> {
        segment
            .and_then(|s| self.by_segment.get(feature)?.get(s))
            .or_else(|| self.overall.get(feature))
            .copied()
    }
}

/// A possible driver: a feature (by index) and its contribution.
type Candidate = (usize, f64);

/// What the explanation needs to know of a feature, looked up once per call.
struct FeatureFacts {
    name: Arc<str>,
    context: bool,
    component: &'static str,
    numeric: Option<usize>,
    categorical: Option<usize>,
    /// The event type of a per-type usage column (its eight metrics are one reason).
    kind: Option<Arc<str>>,
}

/// What each of `folding`'s features is: context or not, its component, its columns in
/// `ds`, its event type in the per-type family.
fn feature_facts(folding: &explain::Folding, ds: &Dataset) -> Vec<FeatureFacts> {
    let num_idx: HashMap<&str, usize> = ds
        .numeric_names
        .iter()
        .enumerate()
        .map(|(k, n)| (n.as_str(), k))
        .collect();
    let cat_idx: HashMap<&str, usize> = ds
        .categorical_names
        .iter()
        .enumerate()
        .map(|(k, n)| (n.as_str(), k))
        .collect();
    folding
        .features
        .iter()
        .map(|f| FeatureFacts {
            name: Arc::from(f.as_str()),
            context: features::catalog::is_context(f),
            component: component_of(f),
            numeric: num_idx.get(f.as_str()).copied(),
            categorical: cat_idx.get(f.as_str()).copied(),
            kind: features::catalog::per_type(f).map(|(k, _)| Arc::from(k)),
        })
        .collect()
}

/// Explains `rows` of `ds` with a fitted pipeline: `k` risers and `k` protectors each.
/// `x` is the rows' design matrix (`pipe.prep.transform(ds, rows)`), which the caller
/// also scores, so it is built once.
pub fn explain_rows(
    pipe: &Pipeline,
    ds: &Dataset,
    rows: &[usize],
    x: ArrayView2<f64>,
    typical: &Typical,
    k: usize,
) -> Vec<Explanation> {
    let reference = pipe.prep.column_means.clone();
    let raw = pipe.model.raw(x);
    let seg = ds.categorical_col("segment");
    // What each feature is, looked up once for all rows.
    let folding = explain::Folding::new(&pipe.prep);
    let facts = feature_facts(&folding, ds);
    let sponsor = ds
        .numeric_names
        .iter()
        .position(|n| n == "days_since_sponsor_left");
    // Every row's contributions in one call (it compiles the trees once, then works
    // through the rows in parallel).
    let contributions = explain::contributions(&pipe.model, x, &reference);
    contributions
        .into_par_iter()
        .enumerate()
        .map(|(r, c)| {
            let i = rows[r];
            let by = folding.fold(&c.values);
            // Per component, summed in order of first appearance, then sorted by name.
            let mut sums: Vec<(&'static str, f64)> = Vec::new();
            let mut context = Vec::new();
            let segment = seg.and_then(|s| s[i].as_deref());
            let sponsor_days = sponsor.and_then(|k| ds.numeric[k].get(i));
            // Candidates as (feature, contribution); a driver is built for the kept ones.
            let mut candidates: Vec<Candidate> = Vec::new();
            // Per event type of the per-type family: the sum of its metrics'
            // contributions, and its strongest present metric each way.
            let mut kinds: Vec<(&str, f64, Option<Candidate>, Option<Candidate>)> = Vec::new();
            for (f, (facts, &contribution)) in facts.iter().zip(&by).enumerate() {
                if facts.context {
                    context.push(ContextPart {
                        feature: &facts.name,
                        value: facts.numeric.and_then(|k| ds.numeric[k].get(i)),
                        level: facts.categorical.and_then(|k| ds.categorical[k][i].clone()),
                        contribution,
                    });
                    continue;
                }
                match sums.iter_mut().find(|(c, _)| *c == facts.component) {
                    Some((_, s)) => *s += contribution,
                    None => sums.push((facts.component, 0.0 + contribution)),
                }
                if contribution.abs() < 1e-9 {
                    continue;
                }
                // No driver for a feature missing for this account.
                let present = match (facts.numeric, facts.categorical) {
                    (Some(k), _) => ds.numeric[k].get(i).is_some(),
                    (None, Some(k)) => ds.categorical[k][i].is_some(),
                    (None, None) => false,
                };
                if let Some(kind) = facts.kind.as_deref() {
                    let at = match kinds.iter().position(|g| g.0 == kind) {
                        Some(at) => at,
                        None => {
                            kinds.push((kind, 0.0, None, None));
                            kinds.len() - 1
                        }
                    };
                    let g = &mut kinds[at];
                    g.1 += contribution;
                    let best = if contribution > 0.0 {
                        &mut g.2
                    } else {
                        &mut g.3
                    };
                    if present && best.is_none_or(|b| contribution.abs() > b.1.abs()) {
                        *best = Some((f, contribution));
                    }
                    continue;
                }
                if present {
                    candidates.push((f, contribution));
                }
            }
            // One reason per event type: its strongest metric in the direction of the
            // type's total, carrying the total (eight correlated columns share one signal).
            for (_, total, up, down) in kinds {
                if let Some((f, _)) = if total > 0.0 { up } else { down } {
                    candidates.push((f, total));
                }
            }
            sums.sort_by(|a, b| a.0.cmp(b.0));
            let (mut rise, mut protect): (Vec<Candidate>, Vec<Candidate>) =
                candidates.into_iter().partition(|d| d.1 > 0.0);
            rise.sort_by(|a, b| b.1.total_cmp(&a.1));
            let rising: f64 = rise.iter().map(|d| d.1).sum();
            rise.truncate(k);
            protect.sort_by(|a, b| a.1.total_cmp(&b.1));
            protect.truncate(k);
            let driver = |&(f, contribution): &Candidate| {
                let facts = &facts[f];
                let (value, level, typical) = match facts.numeric {
                    Some(kx) => (
                        ds.numeric[kx].get(i),
                        None,
                        typical.get(&facts.name, segment),
                    ),
                    None => (
                        None,
                        facts
                            .categorical
                            .and_then(|kx| ds.categorical[kx][i].clone()),
                        None,
                    ),
                };
                Driver {
                    feature: Arc::clone(&facts.name),
                    component: facts.component,
                    value,
                    level,
                    typical,
                    contribution,
                    sponsor_days,
                }
            };
            let risers: Vec<Driver> = rise.iter().map(driver).collect();
            let protectors: Vec<Driver> = protect.iter().map(driver).collect();
            Explanation {
                base: c.base,
                raw: raw[r],
                components: sums,
                context: context.iter().map(|c| c.contribution).sum(),
                context_note: context_note(&context, rising),
                risers,
                protectors,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_read_like_a_csm_wrote_them() {
        assert_eq!(
            sentence("seat_utilisation_30d", 0.23, Some(0.68), 0.4, None),
            "Seat utilisation is 23% (typical 68%), raising risk"
        );
        assert_eq!(
            sentence("sponsor_left_90d", 1.0, None, 0.3, Some(41.0)),
            "Executive sponsor left 41 days ago, raising risk"
        );
        assert_eq!(
            sentence("events_change_30d", (0.57f64).ln(), None, 0.2, None),
            "Product events fell 43% vs the previous 30 days, raising risk"
        );
        assert_eq!(
            sentence("events_90d", 33393.0, Some(20329.4), -0.1, None),
            "Product events (90 days) is 33,393 (typical 20,329), lowering risk"
        );
        assert_eq!(
            sentence("nps_last", 9.0, Some(7.0), -0.2, None),
            "Last NPS score is 9 (typical 7), lowering risk"
        );
        assert_eq!(
            sentence("arr", 125_000.0, Some(20_000.0), -0.1, None),
            format!(
                "ARR is {} (typical {}), lowering risk",
                money(125_000.0),
                money(20_000.0)
            )
        );
    }
}
