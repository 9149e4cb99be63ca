//! The CS team's own health score: configured in TOML (`[health]`), computed exactly as
//! configured for every account and snapshot, and validated against what churned.
//!
//! A score is components with weights; a component is measures (catalog features) with
//! weights and the values that score 0 and 100 (linear in between, clamped). A measure
//! missing for an account has its weight spread over the present ones (Catalyst's rule),
//! and likewise a component with no measure present. Tiers: red below `red_below`,
//! green from `green_from`, yellow between.

pub use crate::config::health::{ComponentSpec, HealthConfig, Measure, Tier, Tiers};
use crate::features::dataset::Dataset;

pub mod validate;

impl HealthConfig {
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

/// A measure's 0-100 score for a value: linear between the two anchors, clamped.
pub(crate) fn measure_score(value: f64, at_0: f64, at_100: f64) -> f64 {
    (100.0 * (value - at_0) / (at_100 - at_0)).clamp(0.0, 100.0)
}

fn measure_value(m: &Measure, ds: &Dataset, i: usize) -> Option<f64> {
    let v = ds.numeric_col(m.feature.get_ref())?.get(i)?;
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
