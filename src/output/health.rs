//! The health-score validation's files: `health_report.json`, `health_auc.csv`,
//! `health_tiers.csv`, `health_components.csv`, `health_scores.parquet`/`.csv` and
//! `recommended_health.toml`.

use std::path::Path;

use super::{Written, names};
use crate::error::Result;
use crate::features::SnapshotTable;
use crate::features::dataset::Dataset;
use std::fmt::Write as _;

use toml::Spanned;

use crate::health::validate::{AucRow, PartRow, TierRow, Validation};
use crate::health::{ComponentSpec, HealthScores};
use crate::input::io::{self, Format};
use crate::input::table::{Column, Table};

/// Writes the validation of the health score into `out`, replacing the folder whole.
pub fn write(v: &Validation, ds: &Dataset, table: &SnapshotTable, out: &Path) -> Result<Written> {
    super::staged(out, "health", |dir| write_files(v, ds, table, dir))
}

/// The same files, written into `out` as it is (for a job that stages its own folder).
pub fn write_files(v: &Validation, ds: &Dataset, table: &SnapshotTable, out: &Path) -> Result<()> {
    super::write_json(&out.join(names::HEALTH_REPORT_JSON), &v.report)?;
    io::write_table(&out.join(names::HEALTH_AUC_CSV), &auc_table(v), Format::Csv)?;
    io::write_table(
        &out.join(names::HEALTH_TIERS_CSV),
        &tiers_table(v),
        Format::Csv,
    )?;
    io::write_table(
        &out.join(names::HEALTH_COMPONENTS_CSV),
        &parts_table(v),
        Format::Csv,
    )?;
    let dates: Vec<String> = table.rows.iter().map(|r| r.t.to_string()).collect();
    io::write_parquet_and_csv(
        &out.join(names::HEALTH_SCORES),
        &scores_table(ds, &v.scores, &dates),
    )?;
    io::write_atomic(
        &out.join(names::RECOMMENDED_HEALTH_TOML),
        recommended_toml(v).as_bytes(),
    )
}

/// A ROC-AUC to three decimals, or "n/a".
pub(crate) fn auc_text(x: Option<f64>) -> String {
    x.map_or("n/a".to_string(), |v| format!("{v:.3}"))
}

pub(crate) fn pct(x: Option<f64>) -> String {
    crate::common::fmt::pct_or(x, "n/a")
}

fn fmt_num(x: f64) -> String {
    let r = (x * 1e4).round() / 1e4;
    if r == r.trunc() && r.abs() < 1e15 {
        format!("{r:.1}")
    } else {
        format!("{r}")
    }
}

fn write_components(s: &mut String, prefix: &str, comps: &[Spanned<ComponentSpec>]) {
    for c in comps {
        let c = c.get_ref();
        let _ = writeln!(s, "\n[[{prefix}.components]]");
        let _ = writeln!(s, "name = {:?}", c.name);
        let _ = writeln!(
            s,
            "weight = {}",
            fmt_num((c.weight.get_ref() * 10.0).round() / 10.0)
        );
        for m in &c.measures {
            let m = m.get_ref();
            let _ = writeln!(s, "\n[[{prefix}.components.measures]]");
            let _ = writeln!(s, "feature = {:?}", m.feature.get_ref());
            let _ = writeln!(
                s,
                "weight = {}",
                fmt_num((m.weight.get_ref() * 10.0).round() / 10.0)
            );
            let _ = writeln!(s, "value_at_0 = {}", fmt_num(*m.value_at_0.get_ref()));
            let _ = writeln!(s, "value_at_100 = {}", fmt_num(*m.value_at_100.get_ref()));
        }
    }
}

/// The fitted score, ready to hand back to the CS platform,
/// The fitted score as a `[health]` section of `recommended_health.toml`.
pub fn recommended_toml(v: &Validation) -> String {
    let (cfg, fitted, r) = (&v.configured, &v.fitted, &v.report);
    let mut s = String::new();
    let f = auc_text;
    let _ = writeln!(
        s,
        "# Health score weights fitted by churnlab on the renewal history {} to {} ({} snapshots).",
        r.history_dates.0, r.history_dates.1, r.history_rows
    );
    let _ = writeln!(
        s,
        "# Out-of-time ROC-AUC ({} to {}): fitted {}, configured {}.",
        r.test_dates.0,
        r.test_dates.1,
        f(r.overall.fitted_roc_auc),
        f(r.overall.configured_roc_auc)
    );
    let _ = writeln!(
        s,
        "# Weights are non-negative and sum to 100; tier cut-offs separate churn rates."
    );
    let kept: Vec<&str> = fitted
        .components
        .iter()
        .map(|c| c.get_ref().name.as_str())
        .collect();
    for c in &cfg.components {
        let c = c.get_ref();
        if !kept.contains(&c.name.as_str()) {
            let _ = writeln!(
                s,
                "# Dropped component `{}`: no churn signal once the others are known.",
                c.name
            );
        }
    }
    for c in &fitted.components {
        let c = c.get_ref();
        let orig = cfg.components.iter().find(|o| o.get_ref().name == c.name);
        if let Some(o) = orig {
            for m in &o.get_ref().measures {
                let name = m.get_ref().feature.get_ref();
                if !c
                    .measures
                    .iter()
                    .any(|x| x.get_ref().feature.get_ref() == name)
                {
                    let _ = writeln!(
                        s,
                        "# Dropped measure `{name}` from `{}`: no churn signal once the others are known.",
                        c.name
                    );
                }
            }
        }
    }
    if !cfg.profiles.is_empty() {
        let _ = writeln!(
            s,
            "# Segment profiles are kept as configured (weights are fitted for the default profile)."
        );
    }
    let t = fitted.tiers.get_ref();
    let _ = writeln!(s, "\n[health.tiers]");
    let _ = writeln!(s, "red_below = {}", fmt_num(t.red_below));
    let _ = writeln!(s, "green_from = {}", fmt_num(t.green_from));
    write_components(&mut s, "health", &fitted.components);
    for p in &cfg.profiles {
        let p = p.get_ref();
        let _ = writeln!(s, "\n[[health.profiles]]");
        let _ = writeln!(s, "segment = {:?}", p.segment);
        if let Some(t) = &p.tiers {
            let t = t.get_ref();
            let _ = writeln!(
                s,
                "tiers = {{ red_below = {}, green_from = {} }}",
                fmt_num(t.red_below),
                fmt_num(t.green_from)
            );
        }
        write_components(&mut s, "health.profiles", &p.components);
    }
    s
}

/// Components and measures, one row each.
pub(crate) fn parts_table(v: &Validation) -> Table {
    let rows: Vec<&PartRow> = v
        .report
        .components
        .iter()
        .chain(&v.report.measures)
        .collect();
    let s = |f: &dyn Fn(&PartRow) -> String| Column::Str(rows.iter().map(|r| Some(f(r))).collect());
    let x =
        |f: &dyn Fn(&PartRow) -> Option<f64>| Column::Float(rows.iter().map(|r| f(r)).collect());
    Table::new()
        .with("component", s(&|r| r.component.clone()))
        .with("feature", s(&|r| r.feature.clone()))
        .with("coverage", x(&|r| Some(r.coverage)))
        .with("roc_auc", x(&|r| r.roc_auc))
        .with(
            "direction_agrees",
            Column::Bool(rows.iter().map(|r| r.direction_agrees).collect()),
        )
        .with("configured_share", x(&|r| Some(r.configured_share)))
        .with("fitted_share", x(&|r| Some(r.fitted_share)))
        .with("fitted_importance", x(&|r| Some(r.fitted_importance)))
}

/// Churn by tier: the configured tiers (every labelled row) and the recommended ones
/// (fitted weights, test period).
pub(crate) fn tiers_table(v: &Validation) -> Table {
    let rows: Vec<(&str, &TierRow)> = v
        .report
        .tiers
        .iter()
        .map(|t| ("configured", t))
        .chain(
            v.report
                .recommended_tier_rates
                .iter()
                .map(|t| ("recommended", t)),
        )
        .collect();
    Table::new()
        .with(
            "score",
            Column::Str(rows.iter().map(|r| Some(r.0.to_string())).collect()),
        )
        .with(
            "tier",
            Column::Str(rows.iter().map(|r| Some(r.1.tier.to_string())).collect()),
        )
        .with(
            "rows",
            Column::Int(rows.iter().map(|r| Some(r.1.rows as i64)).collect()),
        )
        .with(
            "churned",
            Column::Int(rows.iter().map(|r| Some(r.1.churned as i64)).collect()),
        )
        .with(
            "churn_rate",
            Column::Float(rows.iter().map(|r| r.1.churn_rate).collect()),
        )
        .with(
            "ci_low",
            Column::Float(rows.iter().map(|r| r.1.ci_low).collect()),
        )
        .with(
            "ci_high",
            Column::Float(rows.iter().map(|r| r.1.ci_high).collect()),
        )
}

/// Test-period ROC-AUC overall and per segment.
pub(crate) fn auc_table(v: &Validation) -> Table {
    let rows: Vec<&AucRow> = std::iter::once(&v.report.overall)
        .chain(&v.report.by_segment)
        .collect();
    Table::new()
        .with(
            "segment",
            Column::Str(rows.iter().map(|r| Some(r.segment.clone())).collect()),
        )
        .with(
            "rows",
            Column::Int(rows.iter().map(|r| Some(r.rows as i64)).collect()),
        )
        .with(
            "churned",
            Column::Int(rows.iter().map(|r| Some(r.churned as i64)).collect()),
        )
        .with(
            "configured_roc_auc",
            Column::Float(rows.iter().map(|r| r.configured_roc_auc).collect()),
        )
        .with(
            "fitted_roc_auc",
            Column::Float(rows.iter().map(|r| r.fitted_roc_auc).collect()),
        )
        .with(
            "model_roc_auc",
            Column::Float(rows.iter().map(|r| r.model_roc_auc).collect()),
        )
}

/// The score of every row as a table: account, snapshot, score, tier, components.
fn scores_table(ds: &Dataset, scores: &HealthScores, snapshot_dates: &[String]) -> Table {
    let mut t = Table::new()
        .with(
            "account_id",
            Column::Str(ds.ids.iter().map(|s| Some(s.clone())).collect()),
        )
        .with(
            "snapshot_date",
            Column::Str(snapshot_dates.iter().map(|s| Some(s.clone())).collect()),
        )
        .with(
            "health_score",
            Column::Float(scores.rows.iter().map(|r| r.score).collect()),
        )
        .with(
            "health_tier",
            Column::Str(
                scores
                    .rows
                    .iter()
                    .map(|r| r.tier.map(|t| t.as_str().to_string()))
                    .collect(),
            ),
        );
    for (k, name) in scores.components.iter().enumerate() {
        t = t.with(
            &format!("health_{name}"),
            Column::Float(scores.rows.iter().map(|r| r.components[k]).collect()),
        );
    }
    t
}
