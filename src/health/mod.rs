//! The CS team's own health score: configured in TOML (`[health]`), computed exactly as
//! configured for every account and snapshot, and validated against what churned.
//!
//! A score is components with weights; a component is measures (catalog features) with
//! weights and the values that score 0 and 100 (linear in between, clamped). A measure
//! missing for an account has its weight spread over the present ones (Catalyst's rule),
//! and likewise a component with no measure present. Tiers: red below `red_below`,
//! green from `green_from`, yellow between.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::features;

pub mod validate;

/// The `[health]` section of the configuration.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HealthConfig {
    pub tiers: Spanned<Tiers>,
    pub components: Vec<Spanned<ComponentSpec>>,
    /// Per-segment profiles: accounts of the segment are scored with these instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<Spanned<Profile>>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Tiers {
    /// Scores below this are red.
    pub red_below: f64,
    /// Scores at or above this are green.
    pub green_from: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ComponentSpec {
    pub name: String,
    pub weight: Spanned<f64>,
    pub measures: Vec<Spanned<Measure>>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Measure {
    /// A numeric feature of the catalog (`churnlab catalog`).
    pub feature: Spanned<String>,
    pub weight: Spanned<f64>,
    /// The value that scores 0 and the value that scores 100.
    pub value_at_0: Spanned<f64>,
    pub value_at_100: Spanned<f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub segment: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiers: Option<Spanned<Tiers>>,
    pub components: Vec<Spanned<ComponentSpec>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Red,
    Yellow,
    Green,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::Red, Tier::Yellow, Tier::Green];
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Red => "red",
            Tier::Yellow => "yellow",
            Tier::Green => "green",
        }
    }
}

impl Tiers {
    pub fn of(&self, score: f64) -> Tier {
        if score < self.red_below {
            Tier::Red
        } else if score >= self.green_from {
            Tier::Green
        } else {
            Tier::Yellow
        }
    }
}

/// 1-based line of a byte offset.
fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

impl HealthConfig {
    /// Checks what serde cannot: known numeric features, positive weights, distinct 0 and
    /// 100 values, ordered tiers, unique names. Errors name the line in `text`.
    pub fn check(&self, path: &str, text: &str) -> Result<()> {
        let err = |at: usize, message: String| Error::Config {
            path: path.to_string(),
            message: format!("line {}: health: {message}", line_of(text, at)),
        };
        check_tiers(&self.tiers, &err)?;
        check_components(&self.components, self.tiers.span().start, &err)?;
        let mut seen = BTreeMap::new();
        for p in &self.profiles {
            let at = p.span().start;
            if let Some(first) = seen.insert(p.get_ref().segment.clone(), at) {
                return Err(err(
                    at,
                    format!(
                        "a second profile for segment `{}` (the first is on line {})",
                        p.get_ref().segment,
                        line_of(text, first)
                    ),
                ));
            }
            if let Some(t) = &p.get_ref().tiers {
                check_tiers(t, &err)?;
            }
            check_components(&p.get_ref().components, at, &err)?;
        }
        Ok(())
    }

    /// The components and tiers that score an account of `segment`.
    fn profile(&self, segment: Option<&str>) -> (Tiers, &[Spanned<ComponentSpec>]) {
        if let Some(s) = segment {
            if let Some(p) = self.profiles.iter().find(|p| p.get_ref().segment == s) {
                let p = p.get_ref();
                let t = p.tiers.as_ref().unwrap_or(&self.tiers);
                return (*t.get_ref(), &p.components);
            }
        }
        (*self.tiers.get_ref(), &self.components)
    }

    /// Every component name, the default profile's first, in configured order.
    pub fn component_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        let all = self.components.iter().chain(
            self.profiles
                .iter()
                .flat_map(|p| p.get_ref().components.iter()),
        );
        for c in all {
            if !names.contains(&c.get_ref().name) {
                names.push(c.get_ref().name.clone());
            }
        }
        names
    }

    /// The features the score reads.
    pub fn features(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let all = self.components.iter().chain(
            self.profiles
                .iter()
                .flat_map(|p| p.get_ref().components.iter()),
        );
        for c in all {
            for m in &c.get_ref().measures {
                let f = m.get_ref().feature.get_ref();
                if !out.contains(f) {
                    out.push(f.clone());
                }
            }
        }
        out
    }

    /// The score of every row in `rows`, exactly as configured.
    pub fn score(&self, ds: &Dataset, rows: &[usize]) -> HealthScores {
        let names = self.component_names();
        let segment = ds.categorical_col("segment");
        let rows_out = rows
            .iter()
            .map(|&i| {
                let seg = segment.and_then(|s| s[i].as_deref());
                let (tiers, comps) = self.profile(seg);
                let mut components = vec![None; names.len()];
                let (mut total, mut wsum) = (0.0, 0.0);
                for c in comps {
                    let c = c.get_ref();
                    let Some(s) = component_score(c, ds, i) else {
                        continue;
                    };
                    if let Some(k) = names.iter().position(|n| *n == c.name) {
                        components[k] = Some(s);
                    }
                    total += c.weight.get_ref() * s;
                    wsum += c.weight.get_ref();
                }
                let score = (wsum > 0.0).then(|| total / wsum);
                HealthRow {
                    score,
                    tier: score.map(|s| tiers.of(s)),
                    components,
                }
            })
            .collect();
        HealthScores {
            components: names,
            rows: rows_out,
        }
    }
}

fn check_tiers(t: &Spanned<Tiers>, err: &impl Fn(usize, String) -> Error) -> Result<()> {
    let v = t.get_ref();
    let ok = v.red_below.is_finite()
        && v.green_from.is_finite()
        && v.red_below > 0.0
        && v.red_below < v.green_from
        && v.green_from <= 100.0;
    if ok {
        Ok(())
    } else {
        Err(err(
            t.span().start,
            format!(
                "tiers out of order: red_below = {}, green_from = {}; expected 0 < red_below < green_from <= 100",
                v.red_below, v.green_from
            ),
        ))
    }
}

fn check_components(
    comps: &[Spanned<ComponentSpec>],
    at: usize,
    err: &impl Fn(usize, String) -> Error,
) -> Result<()> {
    if comps.is_empty() {
        return Err(err(at, "no components: add [[health.components]]".into()));
    }
    let mut names: Vec<&str> = Vec::new();
    for c in comps {
        let cs = c.get_ref();
        if names.contains(&cs.name.as_str()) {
            return Err(err(
                c.span().start,
                format!("component `{}` appears twice", cs.name),
            ));
        }
        names.push(&cs.name);
        positive(&cs.weight, &format!("component `{}`", cs.name), err)?;
        if cs.measures.is_empty() {
            return Err(err(
                c.span().start,
                format!("component `{}` has no measures", cs.name),
            ));
        }
        let mut feats: Vec<&str> = Vec::new();
        for m in &cs.measures {
            let ms = m.get_ref();
            let f = ms.feature.get_ref();
            if features::spec(f).is_none() {
                let why = if features::CATEGORICALS.iter().any(|c| c.0 == f) {
                    format!("`{f}` is a category; measures must be numeric features")
                } else {
                    format!("unknown feature `{f}` (see `churnlab catalog` for the names)")
                };
                return Err(err(ms.feature.span().start, why));
            }
            if feats.contains(&f.as_str()) {
                return Err(err(
                    ms.feature.span().start,
                    format!("feature `{f}` appears twice in component `{}`", cs.name),
                ));
            }
            feats.push(f);
            positive(&ms.weight, &format!("measure `{f}`"), err)?;
            let (a, b) = (*ms.value_at_0.get_ref(), *ms.value_at_100.get_ref());
            if !a.is_finite() || !b.is_finite() || a == b {
                return Err(err(
                    ms.value_at_100.span().start,
                    format!(
                        "measure `{f}`: value_at_0 ({a}) and value_at_100 ({b}) must be different numbers"
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn positive(w: &Spanned<f64>, what: &str, err: &impl Fn(usize, String) -> Error) -> Result<()> {
    let v = *w.get_ref();
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(err(
            w.span().start,
            format!("{what}: weight is {v}; weights must be positive"),
        ))
    }
}

/// A measure's 0-100 score for a value: linear between the two anchors, clamped.
pub fn measure_score(value: f64, at_0: f64, at_100: f64) -> f64 {
    (100.0 * (value - at_0) / (at_100 - at_0)).clamp(0.0, 100.0)
}

fn measure_value(m: &Measure, ds: &Dataset, i: usize) -> Option<f64> {
    let v = ds.numeric_col(m.feature.get_ref())?[i]?;
    v.is_finite()
        .then(|| measure_score(v, *m.value_at_0.get_ref(), *m.value_at_100.get_ref()))
}

fn component_score(c: &ComponentSpec, ds: &Dataset, i: usize) -> Option<f64> {
    let (mut total, mut wsum) = (0.0, 0.0);
    for m in &c.measures {
        let m = m.get_ref();
        if let Some(s) = measure_value(m, ds, i) {
            total += m.weight.get_ref() * s;
            wsum += m.weight.get_ref();
        }
    }
    (wsum > 0.0).then(|| total / wsum)
}

/// Scores of a set of rows.
#[derive(Clone, Debug)]
pub struct HealthScores {
    pub components: Vec<String>,
    pub rows: Vec<HealthRow>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HealthRow {
    /// 0-100; `None` when no measure is present.
    pub score: Option<f64>,
    pub tier: Option<Tier>,
    /// Aligned with [`HealthScores::components`]; `None` when absent or not in the
    /// account's profile.
    pub components: Vec<Option<f64>>,
}
