//! The `[health]` section: the CS team's health score as configured (components of
//! measures with weights and 0/100 anchors, tiers, segment profiles) and its checks.
//! Computing the score is the health stage's work ([`crate::health`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::position::line_col;
use crate::common::catalog;
use crate::error::{Error, Result};

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
    line_col(text, at).0
}

impl HealthConfig {
    /// Checks what serde cannot: known numeric features, positive weights, distinct 0 and
    /// 100 values, ordered tiers, unique names. Errors name the line in `text`.
    pub(crate) fn check(&self, path: &str, text: &str) -> Result<()> {
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
    pub(crate) fn profile(&self, segment: Option<&str>) -> (Tiers, &[Spanned<ComponentSpec>]) {
        if let Some(s) = segment
            && let Some(p) = self.profiles.iter().find(|p| p.get_ref().segment == s)
        {
            let p = p.get_ref();
            let t = p.tiers.as_ref().unwrap_or(&self.tiers);
            return (*t.get_ref(), &p.components);
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
            if catalog::spec(f).is_none() {
                let why = if catalog::CATEGORICALS.iter().any(|c| c.0 == f) {
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
