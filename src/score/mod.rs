//! Scoring with a saved model: the current snapshot of a book (every account active at the
//! as-of date) or every row of a flat table, ranked, with risk tiers and ARR at risk.

use std::collections::HashMap;

use crate::book::retention::History;
use crate::book::snapshot::{SpineRow, Status};
use crate::common::vocab::Component;
use crate::config::ScoringConfig;
use crate::error::{Error, Result};
use crate::explain::drivers::{Explanation, Play, Typical, explain_rows, suggested_play};
use crate::features::SnapshotTable;
use crate::features::dataset::Dataset;
use crate::hazard::Outlook;
use crate::health::{HealthConfig, HealthRow};
use crate::input::load::AccountInfo;
use crate::input::table::{Column, Table};
use crate::train::artifact::ModelDir;

/// One scored account (or row).
#[derive(Clone, Debug)]
pub struct Scored {
    pub account_id: String,
    pub name: Option<String>,
    pub segment: Option<String>,
    pub csm: Option<String>,
    /// active, new (first 90 days) or lapsed (term ended, renewal not booked).
    pub status: Option<&'static str>,
    pub arr: Option<f64>,
    pub renewal_date: Option<String>,
    pub days_to_renewal: Option<f64>,
    /// Where the renewal stands, in words.
    pub renewal_state: Option<String>,
    pub churn_probability: Option<f64>,
    pub risk_tier: Option<&'static str>,
    pub arr_at_risk: Option<f64>,
    /// Why the account could not be scored.
    pub reason: Option<String>,
    /// Why the model scores it so (champion's contributions, top drivers).
    pub explanation: Option<Explanation>,
    /// The team's health score, when one is configured.
    pub health: Option<HealthRow>,
    /// A play the strongest reason calls for, with what it rests on.
    pub play: Option<Play>,
    /// The play expected to save the most ARR, from the estimated per-account effects
    /// (set by [`ScoredList::attach_best_plays`]).
    pub best_play: Option<BestPlay>,
    /// The next twelve months from the account-month hazard, when the model has one.
    pub outlook: Option<Outlook>,
}

/// The next best play of an account: the play whose estimated reduction in churn
/// probability, times the account's ARR, is largest.
#[derive(Clone, Debug, PartialEq)]
pub struct BestPlay {
    /// The activity type, as the book names it; None when no play's effect is supported.
    pub play: Option<String>,
    pub expected_arr_saved: Option<f64>,
    pub basis: String,
}

impl Scored {
    /// A row with an id and nothing else.
    pub(crate) fn blank(account_id: String) -> Scored {
        Scored {
            account_id,
            name: None,
            segment: None,
            csm: None,
            status: None,
            arr: None,
            renewal_date: None,
            days_to_renewal: None,
            renewal_state: None,
            churn_probability: None,
            risk_tier: None,
            arr_at_risk: None,
            reason: None,
            explanation: None,
            health: None,
            play: None,
            best_play: None,
            outlook: None,
        }
    }

    /// An account of the book that cannot be scored (the caller gives the reason).
    fn unscored(a: &AccountInfo) -> Scored {
        Scored {
            name: Some(a.name.clone()),
            segment: Some(a.segment.clone()),
            csm: a.csm.clone(),
            ..Scored::blank(a.id.clone())
        }
    }
}

/// Which rows of the ranked list to keep.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub segment: Option<String>,
    pub csm: Option<String>,
    /// Only accounts whose renewal is at most this many days away.
    pub renewing_within: Option<f64>,
}

impl Filter {
    fn keep(&self, s: &Scored) -> bool {
        let eq = |want: &Option<String>, have: &Option<String>| {
            want.as_ref().is_none_or(|w| {
                have.as_ref()
                    .is_some_and(|h| h.trim().eq_ignore_ascii_case(w.trim()))
            })
        };
        eq(&self.segment, &s.segment)
            && eq(&self.csm, &s.csm)
            && self
                .renewing_within
                .is_none_or(|d| s.days_to_renewal.is_some_and(|x| x <= d))
    }
}

/// A ranked list of scored rows.
#[derive(Clone, Debug)]
pub struct ScoredList {
    pub model_id: String,
    pub as_of: Option<String>,
    pub rows: Vec<Scored>,
    /// Component names of the attached health score (empty without one).
    pub health_components: Vec<String>,
}

/// How the list is ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RankBy {
    /// ARR at risk (probability x ARR), highest first.
    #[default]
    ArrAtRisk,
    /// Churn probability, highest first.
    Probability,
}

impl RankBy {
    pub fn describe(self) -> &'static str {
        match self {
            RankBy::ArrAtRisk => "ARR at risk",
            RankBy::Probability => "churn probability",
        }
    }
}

/// How the at-risk list is ordered and which accounts it keeps.
#[derive(Clone, Debug, Default)]
pub struct ListOptions {
    pub rank_by: RankBy,
    pub filter: Filter,
}

impl ScoredList {
    /// Computes the configured health score for each listed account from its row among
    /// `rows` of `ds` (the scoring snapshot), and keeps it beside the probability.
    pub fn attach_health(&mut self, health: &HealthConfig, ds: &Dataset, rows: &[usize]) {
        let scores = health.score(ds, rows);
        let by_id: HashMap<&str, usize> = rows
            .iter()
            .enumerate()
            .map(|(k, &i)| (ds.ids[i].as_str(), k))
            .collect();
        for s in &mut self.rows {
            if let Some(&k) = by_id.get(s.account_id.as_str()) {
                s.health = Some(scores.rows[k].clone());
            }
        }
        self.health_components = scores.components;
    }

    pub fn filter(&mut self, f: &Filter) {
        self.rows.retain(|s| f.keep(s));
    }

    /// Filters, then ranks, as `o` says.
    pub fn arrange(&mut self, o: &ListOptions) {
        let before = self.rows.len();
        self.filter(&o.filter);
        if self.rows.len() < before {
            log::info!("filters keep {} of {before} accounts", self.rows.len());
        }
        self.rank(o.rank_by);
    }

    pub fn rank(&mut self, by: RankBy) {
        let key = |s: &Scored| match by {
            RankBy::ArrAtRisk => s.arr_at_risk.or(s.churn_probability),
            RankBy::Probability => s.churn_probability,
        };
        self.rows.sort_by(|a, b| {
            let (x, y) = (key(a), key(b));
            // Scored rows first, highest key first; ties (calibration can map nearby
            // scores to one probability) by the model's own log-odds, then by id.
            let raw = |s: &Scored| s.explanation.as_ref().map(|e| e.raw);
            y.map(|v| (1, v))
                .partial_cmp(&x.map(|v| (1, v)))
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| {
                    raw(b)
                        .partial_cmp(&raw(a))
                        .unwrap_or(std::cmp::Ordering::Equal)
                })
                .then_with(|| a.account_id.cmp(&b.account_id))
        });
    }

    /// `scored_accounts`: the accounts ranked `rows` (0-based), one line each.
    pub fn table(&self, rows: std::ops::Range<usize>) -> Table {
        let r = &self.rows[rows.clone()];
        let s = |f: &dyn Fn(&Scored) -> Option<String>| Column::Str(r.iter().map(f).collect());
        let n = |f: &dyn Fn(&Scored) -> Option<f64>| Column::Float(r.iter().map(f).collect());
        let mut t = Table::new()
            .with(
                "rank",
                Column::Int(
                    (rows.start as i64 + 1..=rows.end as i64)
                        .map(Some)
                        .collect(),
                ),
            )
            .with("account_id", s(&|x| Some(x.account_id.clone())))
            .with("name", s(&|x| x.name.clone()))
            .with("segment", s(&|x| x.segment.clone()))
            .with("csm", s(&|x| x.csm.clone()))
            .with("status", s(&|x| x.status.map(str::to_string)))
            .with_rounded("arr", n(&|x| x.arr), 2)
            .with("renewal_date", s(&|x| x.renewal_date.clone()))
            .with_rounded("days_to_renewal", n(&|x| x.days_to_renewal), 0)
            .with("renewal_state", s(&|x| x.renewal_state.clone()))
            .with_rounded("churn_probability", n(&|x| x.churn_probability), 4)
            .with("risk_tier", s(&|x| x.risk_tier.map(str::to_string)))
            .with_rounded("arr_at_risk", n(&|x| x.arr_at_risk), 2)
            .with_rounded("p_churn_6m", n(&|x| within(x, 6)), 4)
            .with_rounded("p_churn_12m", n(&|x| within(x, 12)), 4)
            .with(
                "next_renewal_date",
                s(&|x| x.outlook.as_ref().map(|o| o.next_renewal.to_string())),
            )
            .with_rounded(
                "p_next_renewal_fails",
                n(&|x| x.outlook.as_ref().and_then(|o| o.p_next_renewal_fails)),
                4,
            )
            .with_rounded(
                "health_score",
                n(&|x| x.health.as_ref().and_then(|h| h.score)),
                1,
            )
            .with(
                "health_tier",
                s(&|x| {
                    x.health
                        .as_ref()
                        .and_then(|h| h.tier)
                        .map(|t| t.as_str().to_string())
                }),
            )
            .with("driver_1", s(&|x| driver(x, 0)))
            .with("driver_2", s(&|x| driver(x, 1)))
            .with("driver_3", s(&|x| driver(x, 2)))
            .with(
                "context_note",
                s(&|x| x.explanation.as_ref().and_then(|e| e.context_note.clone())),
            )
            .with(
                "suggested_play",
                s(&|x| x.play.as_ref().map(|p| p.play.to_string())),
            )
            .with("play_basis", s(&|x| x.play.as_ref().map(|p| p.basis())))
            .with(
                "best_play",
                s(&|x| x.best_play.as_ref().and_then(|b| b.play.clone())),
            )
            .with_rounded(
                "best_play_expected_arr_saved",
                n(&|x| x.best_play.as_ref().and_then(|b| b.expected_arr_saved)),
                2,
            )
            .with(
                "best_play_basis",
                s(&|x| x.best_play.as_ref().map(|b| b.basis.clone())),
            );
        for c in Component::ALL {
            t = t.with_rounded(
                &format!("risk_{}", c.name()),
                n(&|x| component(x, c.name())),
                4,
            );
        }
        t = t.with_rounded(
            "risk_context",
            n(&|x| x.explanation.as_ref().map(|e| e.context)),
            4,
        );
        for (k, name) in self.health_components.iter().enumerate() {
            t = t.with_rounded(
                &format!("health_{name}"),
                n(&|x| x.health.as_ref().and_then(|h| h.components[k])),
                1,
            );
        }
        t.with("model_id", s(&|_| Some(self.model_id.clone())))
            .with("not_scored_reason", s(&|x| x.reason.clone()))
    }

    /// Long form: every scored account x its top risk-raising and protective drivers.
    /// The drivers of the accounts ranked `rows` (0-based), one line per driver.
    pub fn drivers_table(&self, rows: std::ops::Range<usize>) -> Table {
        let mut rank = Vec::new();
        let mut id = Vec::new();
        let mut kind = Vec::new();
        let mut feature = Vec::new();
        let mut value = Vec::new();
        let mut typical = Vec::new();
        let mut contribution = Vec::new();
        let mut comp = Vec::new();
        let mut text = Vec::new();
        for (k, s) in self.rows.iter().enumerate().take(rows.end).skip(rows.start) {
            let Some(e) = &s.explanation else { continue };
            for (what, list) in [("raises risk", &e.risers), ("lowers risk", &e.protectors)] {
                for d in list {
                    rank.push(Some(k as i64 + 1));
                    id.push(Some(s.account_id.clone()));
                    kind.push(Some(what.to_string()));
                    feature.push(Some(d.feature.to_string()));
                    value.push(d.value.map(|v| format!("{v}")).or(d.level.clone()));
                    typical.push(d.typical);
                    contribution.push(Some(d.contribution));
                    comp.push(Some(d.component.to_string()));
                    text.push(Some(d.sentence()));
                }
            }
        }
        Table::new()
            .with("rank", Column::Int(rank))
            .with("account_id", Column::Str(id))
            .with("direction", Column::Str(kind))
            .with("feature", Column::Str(feature))
            .with("value", Column::Str(value))
            .with_rounded("typical", Column::Float(typical), 4)
            .with_rounded("contribution_log_odds", Column::Float(contribution), 4)
            .with("component", Column::Str(comp))
            .with("sentence", Column::Str(text))
    }
}

/// P(churn within `m` months) from the account's outlook.
fn within(s: &Scored, m: usize) -> Option<f64> {
    s.outlook.as_ref().map(|o| o.within(m))
}

fn driver(s: &Scored, k: usize) -> Option<String> {
    s.explanation
        .as_ref()
        .and_then(|e| e.top(3).get(k).map(|d| d.sentence()))
}

fn component(s: &Scored, c: &str) -> Option<f64> {
    s.explanation
        .as_ref()
        .map(|e| e.components.iter().find(|x| x.0 == c).map_or(0.0, |x| x.1))
}

/// The renewal state of a spine row in words.
fn renewal_state(r: &SpineRow, grace_days: i64) -> String {
    let end = r.renewal_date;
    match r.status {
        Status::Lapsed => format!(
            "term ended {end} ({:.0} days ago); no renewal booked; grace until {}",
            r.days_lapsed,
            end + chrono::Duration::days(grace_days)
        ),
        _ if r.days_to_renewal <= 0.0 => format!("renewal due now (term ends {end})"),
        Status::New => format!(
            "onboarding (customer for {:.0} days); renews {end} (in {:.0} days)",
            r.tenure_days, r.days_to_renewal
        ),
        Status::Active => format!("renews {end} (in {:.0} days)", r.days_to_renewal),
    }
}

/// Scores every account in the book at the table's as-of date (active, new or lapsed)
/// with the model's champion. An account with a contract on the as-of date that is not in
/// the snapshot (its first term starts that day, or `min_tenure_days` leaves it out) is
/// listed with the reason.
pub fn score_snapshot(
    model: &ModelDir,
    table: &SnapshotTable,
    accounts: &[AccountInfo],
    histories: &[History],
    tiers: &ScoringConfig,
) -> Result<ScoredList> {
    let ds = Dataset::from_snapshots(table);
    let pipe = model.champion()?;
    pipe.prep.check_schema(&ds).map_err(|e| {
        let hint = if model.manifest.source.starts_with("flat") {
            "This model was trained on a flat table; score one like it with --table FILE"
        } else {
            "The model was trained on tables this data lacks; retrain it on this data or add the tables"
        };
        Error::Input(format!("model {}: {e}. {hint}", model.manifest.run_id))
    })?;
    let grace_days = model.config.data().grace_days;
    let rows = table.scoring_rows();
    let x = pipe.prep.transform(&ds, &rows)?;
    let p = pipe.proba(x.view());
    let typical = Typical::new(&ds, &rows);
    let explanations = explain_rows(pipe, &ds, &rows, x.view(), &typical, 3);
    // The list's probability is the first quarter of the outlook when its horizon is
    // about three months.
    let three_months = crate::hazard::splices(model.manifest.horizon_days);
    let curves = match &model.hazard {
        Some(h) => Some(h.curves(table, &ds, &rows)?),
        None => None,
    };
    let mut out = Vec::new();
    let mut scored = vec![false; accounts.len()];
    for ((k, &i), e) in rows.iter().enumerate().zip(explanations) {
        let r = &table.rows[i];
        let a = &accounts[r.account as usize];
        scored[r.account as usize] = true;
        let prob = p[k];
        out.push(Scored {
            account_id: a.id.clone(),
            name: Some(a.name.clone()),
            segment: Some(a.segment.clone()),
            csm: a.csm.clone(),
            status: Some(r.status.as_str()),
            arr: Some(r.arr),
            renewal_date: Some(r.renewal_date.to_string()),
            days_to_renewal: Some(r.days_to_renewal),
            renewal_state: Some(renewal_state(r, grace_days)),
            churn_probability: Some(prob),
            risk_tier: Some(tiers.tier(prob)),
            arr_at_risk: Some(prob * r.arr),
            reason: None,
            play: suggested_play(r.days_lapsed, e.risers.first()),
            explanation: Some(e),
            health: None,
            best_play: None,
            outlook: curves
                .as_ref()
                .map(|c| Outlook::new(&c[k], r, three_months.then_some(prob))),
        });
    }
    for (k, a) in accounts.iter().enumerate() {
        if scored[k] {
            continue;
        }
        let live = histories
            .get(k)
            .is_some_and(|h| h.spell_at(table.as_of).is_some());
        if live {
            out.push(Scored {
                reason: Some(
                    "no data before the scoring date: its first term starts on it, or snapshots.min_tenure_days leaves it out"
                        .to_string(),
                ),
                ..Scored::unscored(a)
            });
        }
    }
    Ok(ScoredList {
        model_id: model.manifest.run_id.clone(),
        as_of: Some(table.as_of.to_string()),
        rows: out,
        health_components: Vec::new(),
    })
}

/// Scores every row of a flat table with the model's champion.
pub fn score_flat(model: &ModelDir, ds: &Dataset, tiers: &ScoringConfig) -> Result<ScoredList> {
    let pipe = model.champion()?;
    pipe.prep
        .check_schema(ds)
        .map_err(|e| Error::Input(format!("model {}: {e}", model.manifest.run_id)))?;
    let all: Vec<usize> = (0..ds.rows()).collect();
    let typical = Typical::new(ds, &all);
    // Columns the list shows when the table has them (a snapshot export has all four).
    let arr_col = ds.numeric_col("arr");
    let arr_of = |i: usize| match &ds.arr {
        Some(a) => a.get(i).copied(),
        None => arr_col.and_then(|c| c.get(i)),
    };
    let (renewal, segment, csm) = (
        ds.numeric_col("days_to_renewal"),
        ds.categorical_col("segment"),
        ds.categorical_col("csm"),
    );
    let mut out = Vec::with_capacity(all.len());
    // In blocks, so the design matrix and the per-row work stay small.
    for block in all.chunks(50_000) {
        let x = pipe.prep.transform(ds, block)?;
        let p = pipe.proba(x.view());
        let ex = explain_rows(pipe, ds, block, x.view(), &typical, 3);
        for ((&i, prob), e) in block.iter().zip(p).zip(ex) {
            let a = arr_of(i);
            out.push(Scored {
                segment: segment.and_then(|c| c[i].clone()),
                csm: csm.and_then(|c| c[i].clone()),
                arr: a,
                days_to_renewal: renewal.and_then(|c| c.get(i)),
                churn_probability: Some(prob),
                risk_tier: Some(tiers.tier(prob)),
                arr_at_risk: a.map(|a| a * prob),
                play: suggested_play(0.0, e.risers.first()),
                explanation: Some(e),
                ..Scored::blank(ds.ids[i].clone())
            });
        }
    }
    Ok(ScoredList {
        model_id: model.manifest.run_id.clone(),
        as_of: None,
        rows: out,
        health_components: Vec::new(),
    })
}
