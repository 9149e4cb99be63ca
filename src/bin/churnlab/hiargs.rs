//! The flags, resolved once into the library's checked types before any work (ripgrep's
//! `HiArgs`): the configuration is loaded and checked, `--previous` is found, a flat
//! table or a book becomes the source the job reads, `--only` a model family. A job then
//! holds nothing that can still be malformed.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use chrono::NaiveDate;

use churnlab::config::Config;
use churnlab::model::Family;
use churnlab::report::ReportOptions;
use churnlab::score::ListOptions;
use churnlab::sim::SimConfig;
use churnlab::workflow::previous::Previous;
use churnlab::workflow::run::RunOptions;
use churnlab::workflow::score::ScoreSource;
use churnlab::workflow::train::{FlatTable, TrainSource};

use churnlab::features::UsageGrain;

use crate::args::{
    BookArgs, Cli, Command, GrainArg, ListArgs, ModelsCommand, OptFlatArgs, ReportArgs,
};

/// The whole command line, resolved.
pub struct HiArgs {
    pub cfg: Config,
    pub job: Job,
}

/// The ranked list's order and filters, and how many rows of it to print.
pub struct ListView {
    pub options: ListOptions,
    pub top: usize,
}

/// A folder of account tables and the date it describes as "now".
pub struct BookAt {
    pub data: PathBuf,
    pub as_of: Option<NaiveDate>,
}

/// One subcommand with its arguments in the library's types.
pub enum Job {
    Simulate {
        sim: SimConfig,
        out: PathBuf,
    },
    Run {
        opts: RunOptions,
        out: PathBuf,
        list: ListView,
        report: ReportOptions,
        fail_on_drift: Option<f64>,
    },
    Models {
        dir: PathBuf,
    },
    Report {
        run: PathBuf,
        report: ReportOptions,
    },
    Health {
        book: BookAt,
        out: PathBuf,
        with_model: bool,
    },
    Analyze {
        book: BookAt,
        out: PathBuf,
    },
    Features {
        book: BookAt,
        out: PathBuf,
    },
    Train {
        source: TrainSource,
        models: PathBuf,
        previous: Option<PathBuf>,
    },
    Evaluate {
        flat: FlatTable,
        folds: usize,
        out: Option<PathBuf>,
    },
    Score {
        model: PathBuf,
        source: ScoreSource,
        out: PathBuf,
        list: ListView,
        report: ReportOptions,
    },
    Backtest {
        data: PathBuf,
        at: Vec<NaiveDate>,
        out: PathBuf,
    },
    BenchFit {
        flat: FlatTable,
        matrix: Option<PathBuf>,
        json: PathBuf,
        only: Option<Family>,
    },
    Catalog,
    Sql {
        plan: Box<churnlab::sql::Plan>,
        out: PathBuf,
    },
    Validate {
        data: PathBuf,
    },
    Retention {
        book: BookAt,
        out: Option<PathBuf>,
        grace_days: Option<i64>,
    },
    Hazard {
        book: BookAt,
        out: Option<PathBuf>,
    },
}

impl HiArgs {
    /// Loads and checks the configuration and turns the flags into a [`Job`].
    pub fn resolve(cli: Cli) -> Result<HiArgs> {
        let mut cfg = load_config(cli.config.as_deref(), cli.command.data_dir())?;
        if let Command::Sql { model: Some(m), .. } = &cli.command {
            cfg = churnlab::train::artifact::load(m)?.config;
        }
        let job = job(cli.command, &cfg)?;
        Ok(HiArgs { job, cfg })
    }
}

fn job(command: Command, cfg: &Config) -> Result<Job> {
    Ok(match command {
        Command::Simulate {
            accounts,
            months,
            seed,
            start,
            grain,
            format,
            out,
        } => Job::Simulate {
            sim: SimConfig {
                accounts,
                months,
                start,
                seed,
                grain,
                format,
                ..SimConfig::default()
            },
            out,
        },
        Command::Run {
            book,
            out,
            models,
            list,
            report,
            previous,
            fail_on_drift,
        } => run_job(
            book,
            out,
            models,
            &list,
            &report,
            previous.as_deref(),
            fail_on_drift,
        )?,
        Command::Models {
            command: ModelsCommand::List { models },
        } => Job::Models { dir: models },
        Command::Report {
            run,
            report,
            previous,
        } => Job::Report {
            run,
            report: report.options(previous),
        },
        Command::Health {
            book,
            out,
            no_model,
        } => Job::Health {
            book: book.into(),
            out,
            with_model: !no_model,
        },
        Command::Analyze { book, out } => Job::Analyze {
            book: book.into(),
            out,
        },
        Command::Features { book, out } => Job::Features {
            book: book.into(),
            out,
        },
        Command::Train {
            data,
            flat,
            models,
            as_of,
            previous,
        } => train_job(data, flat, models, as_of, previous.as_deref())?,
        Command::Evaluate { flat, cv, out } => Job::Evaluate {
            flat: flat.into(),
            folds: usize::from(cv),
            out,
        },
        Command::Score {
            model,
            data,
            table,
            id,
            out,
            as_of,
            list,
            report,
            previous,
        } => Job::Score {
            model,
            source: match (data, table) {
                (Some(dir), _) => ScoreSource::Book { dir, as_of },
                (None, Some(path)) => ScoreSource::Flat { path, id },
                (None, None) => bail!("pass --data DIR or --table FILE"),
            },
            out,
            list: view(&list),
            report: report.options(previous),
        },
        Command::Backtest { data, at, out } => Job::Backtest { data, at, out },
        Command::BenchFit {
            flat,
            matrix,
            json,
            only,
        } => Job::BenchFit {
            flat: flat.into(),
            matrix,
            json,
            only,
        },
        Command::Catalog => Job::Catalog,
        Command::Sql {
            dialect,
            out,
            types,
            usage_grain,
            as_of,
            without,
            ..
        } => sql_job(cfg, &dialect, out, types, usage_grain, as_of, without)?,
        Command::Validate { data } => Job::Validate { data },
        Command::Retention {
            book,
            out,
            grace_days,
        } => Job::Retention {
            book: book.into(),
            out,
            grace_days,
        },
        Command::Hazard { book, out } => Job::Hazard {
            book: book.into(),
            out,
        },
    })
}

impl From<BookArgs> for BookAt {
    fn from(b: BookArgs) -> Self {
        BookAt {
            data: b.data,
            as_of: b.as_of,
        }
    }
}

fn run_job(
    book: BookArgs,
    out: PathBuf,
    models: PathBuf,
    list: &ListArgs,
    report: &ReportArgs,
    previous: Option<&str>,
    fail_on_drift: Option<f64>,
) -> Result<Job> {
    let previous = Previous::resolve(previous, &models, Some(&out))?;
    let report = report.options(previous.list.clone());
    Ok(Job::Run {
        opts: RunOptions {
            data: book.data,
            models,
            as_of: book.as_of,
            list: list.options(),
            previous,
        },
        out,
        list: view(list),
        report,
        fail_on_drift,
    })
}

fn train_job(
    data: Option<PathBuf>,
    flat: OptFlatArgs,
    models: PathBuf,
    as_of: Option<NaiveDate>,
    previous: Option<&str>,
) -> Result<Job> {
    let previous = previous
        .map(|p| churnlab::train::registry::resolve(&models, p))
        .transpose()?;
    let source = match (data, flat.table, flat.label) {
        (Some(dir), _, _) => TrainSource::Book { dir, as_of },
        (None, Some(path), Some(label)) => TrainSource::Flat(FlatTable {
            path,
            label,
            id: flat.id,
            exclude: flat.exclude,
        }),
        _ => bail!("pass --data DIR or --table FILE --label COL"),
    };
    Ok(Job::Train {
        source,
        models,
        previous,
    })
}

fn view(list: &ListArgs) -> ListView {
    ListView {
        options: list.options(),
        top: list.top,
    }
}

/// The configuration, checked: `--config`, else `DATA/churnlab.toml` when the command
/// reads a data folder that has one, else the built-in defaults.
/// `churnlab sql`: the plan from the configuration (a model's, when given) and the flags.
fn sql_job(
    cfg: &Config,
    dialect: &str,
    out: PathBuf,
    types: Vec<String>,
    grain: GrainArg,
    as_of: Option<NaiveDate>,
    without: Vec<String>,
) -> Result<Job> {
    let dialect: churnlab::sql::Dialect = dialect.parse().map_err(anyhow::Error::msg)?;
    let grain = match grain {
        GrainArg::Daily => UsageGrain::Daily,
        GrainArg::Weekly => UsageGrain::Weekly,
        GrainArg::Monthly => UsageGrain::Monthly,
    };
    let mut plan = churnlab::sql::Plan::new(dialect, cfg, grain);
    if !types.is_empty() {
        plan.usage_types = types.into_iter().map(|t| t.trim().to_string()).collect();
    }
    if let Some(bad) = plan
        .usage_types
        .iter()
        .find(|t| t.is_empty() || t.contains(']'))
    {
        bail!("--types: {bad:?} is not an event type (empty, or holds ']')");
    }
    plan.as_of = as_of.or(plan.as_of);
    for w in &without {
        if !churnlab::sql::Plan::OPTIONAL.contains(&w.trim()) {
            bail!(
                "--without: {w:?} is not an optional table or column; expected one of {}",
                churnlab::sql::Plan::OPTIONAL.join(", ")
            );
        }
    }
    plan.without = without.iter().map(|w| w.trim().to_string()).collect();
    Ok(Job::Sql {
        plan: Box::new(plan),
        out,
    })
}

fn load_config(path: Option<&Path>, data: Option<&Path>) -> Result<Config> {
    if let Some(p) = path {
        return Ok(Config::load(p)?);
    }
    if let Some(p) = data
        .map(|d| d.join("churnlab.toml"))
        .filter(|p| p.is_file())
    {
        log::info!("using the configuration in {}", p.display());
        return Ok(Config::load(&p)?);
    }
    Ok(Config::default())
}
