//! `churnlab simulate`: a simulated book with its hidden truth.

use std::path::Path;

use anyhow::Result;

use churnlab::output;
use churnlab::sim::{self, SimConfig};

use crate::ui::Ui;

pub fn run(sc: &SimConfig, out: &Path, ui: &Ui) -> Result<()> {
    output::ensure_dir(out)?;
    log::info!(
        "simulating {} accounts x {} months from {} (seed {}) into {}",
        sc.accounts,
        sc.months,
        sc.start,
        sc.seed,
        out.display()
    );
    let t0 = std::time::Instant::now();
    let pb = ui.bar("simulating");
    pb.set_length(sc.accounts as u64);
    let summary = sim::simulate(sc, out, &|done| pb.set_position(done as u64))?;
    pb.finish_and_clear();
    let secs = t0.elapsed().as_secs_f64();
    for (t, n) in &summary.rows {
        log::info!("  {t:<11} {n:>12} rows");
    }
    log::info!(
        "wrote {} rows in {secs:.1}s ({:.0} rows/s); data ends {}; truth in {}",
        summary.total_rows(),
        summary.total_rows() as f64 / secs.max(1e-9),
        summary.data_end,
        out.join("truth").display()
    );
    Ok(())
}
