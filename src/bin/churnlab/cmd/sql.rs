//! `churnlab sql`: the snapshot table as SQL, one file per stage.

use std::path::Path;

use anyhow::Result;

use churnlab::sql::{self, Plan};

use crate::ui::Ui;

pub fn run(plan: &Plan, out: &Path, ui: &Ui) -> Result<()> {
    let written = sql::write(plan, out)?;
    log::info!(
        "{} SQL for {} event types ({}); run the files in order",
        plan.dialect,
        plan.usage_types.len(),
        if plan.usage_types.is_empty() {
            "no per-type columns".to_string()
        } else {
            plan.usage_types.join(", ")
        }
    );
    ui.wrote(&written);
    Ok(())
}
