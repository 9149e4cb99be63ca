//! What the command line shows while it works: the logger behind `-v`/`-q`, progress
//! bars, and the closing lines every job prints.

use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};

use churnlab::output::{Written, names};
use churnlab::workflow::{self, Progress};

/// How much the command line says: `-q` only errors, `-v` and `-vv` more.
#[derive(Clone, Copy, Debug)]
pub struct Ui {
    pub quiet: bool,
    pub started: std::time::Instant,
}

impl Ui {
    pub fn new(verbose: u8, quiet: bool) -> Self {
        init_logging(verbose, quiet);
        Ui {
            quiet,
            started: std::time::Instant::now(),
        }
    }

    /// Seconds since the command started.
    pub fn seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Runs a training job with a progress bar over its model fits.
    pub fn with_bar<T>(
        &self,
        job: impl FnOnce(workflow::OnProgress<'_>) -> churnlab::Result<T>,
    ) -> churnlab::Result<T> {
        let pb = self.bar("training");
        let progress = |e: Progress<'_>| match e {
            Progress::Plan { fits } => pb.set_length(fits as u64),
            Progress::Fitted { .. } => {
                pb.inc(1);
                log::debug!("{e}");
            }
            _ => pb.println(format!("[churnlab] {e}")),
        };
        let r = job(&progress);
        pb.finish_and_clear();
        r
    }

    pub fn bar(&self, what: &str) -> ProgressBar {
        if self.quiet {
            return ProgressBar::hidden();
        }
        let pb = ProgressBar::new(0);
        let style =
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed}, eta {eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
        pb.set_style(style);
        pb.set_message(what.to_string());
        pb
    }

    /// The closing line of a job that wrote a folder: what it wrote, and in how long.
    pub fn wrote(&self, w: &Written) {
        println!("\n{w} ({:.1}s)", self.seconds());
    }

    /// For a job that wrote the report and the workbook: where the files a CS leader
    /// opens are.
    pub fn deliverables(&self, w: &Written) {
        if w.has(names::REPORT_HTML) && w.has(names::WORKBOOK) {
            println!(
                "\nFor CS leaders: open {} (the report) and {} (every account, a sheet per CSM up to 200 CSMs).",
                w.dir.join(names::REPORT_HTML).display(),
                w.dir.join(names::WORKBOOK).display()
            );
        }
    }
}

/// Where a single file went (`features`, `evaluate --out`, `bench-fit --json`).
pub fn wrote_file(path: &Path) {
    log::info!("wrote {}", path.display());
}

struct Logger {
    level: log::LevelFilter,
}

impl log::Log for Logger {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= self.level
    }
    fn log(&self, r: &log::Record) {
        if self.enabled(r.metadata()) {
            let tag = match r.level() {
                log::Level::Error => "error",
                log::Level::Warn => "warning",
                log::Level::Info => "churnlab",
                _ => "debug",
            };
            eprintln!("[{tag}] {}", r.args());
        }
    }
    fn flush(&self) {}
}

fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => log::LevelFilter::Error,
        (_, 0) => log::LevelFilter::Info,
        (_, 1) => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    };
    let logger: &'static Logger = Box::leak(Box::new(Logger { level }));
    if log::set_logger(logger).is_ok() {
        log::set_max_level(level);
    }
}
