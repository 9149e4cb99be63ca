//! Simulator throughput.
//!
//! `cargo bench --bench simulate` times a small book with criterion.
//! `CHURNLAB_BENCH_ACCOUNTS=100000 cargo bench --bench simulate` also simulates that many
//! accounts x 24 months once into a temporary folder and prints rows per second and the
//! process's peak resident memory.

use std::time::Instant;

use criterion::{Criterion, criterion_group};

use churnlab::input::io::Format;
use churnlab::sim::{self, Grain, SimConfig};

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn small(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = SimConfig {
        accounts: 300,
        months: 12,
        ..SimConfig::default()
    };
    let mut g = c.benchmark_group("simulate");
    g.sample_size(10);
    g.bench_function(
        "300 accounts x 12 months, monthly usage (the default grain), csv",
        |b| b.iter(|| sim::simulate(&cfg, dir.path(), &|_| {}).expect("simulate")),
    );
    g.finish();
}

fn full(accounts: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    for (format, grain) in [
        (Format::Csv, Grain::Weekly),
        (Format::Parquet, Grain::Weekly),
    ] {
        let cfg = SimConfig {
            accounts,
            months: 24,
            format,
            grain,
            ..SimConfig::default()
        };
        let t0 = Instant::now();
        let s = sim::simulate(&cfg, dir.path(), &|_| {}).expect("simulate");
        let secs = t0.elapsed().as_secs_f64();
        let bytes: u64 = std::fs::read_dir(dir.path())
            .map(|rd| {
                rd.filter_map(|e| e.ok()?.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0);
        println!(
            "simulate {accounts} accounts x 24 months ({format:?}, {grain:?}): {} rows in {secs:.1}s = {:.0} rows/s, {:.0} accounts/s, {:.1} GB written, peak RSS {:.0} MB",
            s.total_rows(),
            s.total_rows() as f64 / secs,
            accounts as f64 / secs,
            bytes as f64 / 1e9,
            peak_rss_mb()
        );
        for (t, n) in &s.rows {
            println!("  {t:<11} {n:>12}");
        }
    }
}

criterion_group!(benches, small);

fn main() {
    if let Some(n) = std::env::var("CHURNLAB_BENCH_ACCOUNTS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        full(n);
    }
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
