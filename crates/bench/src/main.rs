//! `gridkeeper-bench ...`: benchmarks run by hand, recorded in BENCHMARKS.md. Never in tests
//! (the tests of this crate run each piece on a tiny input). A binary of its own, so that the
//! `gridkeeper` binary that towns deploy carries no benchmark code; the benchmarks that need the
//! real server start the `gridkeeper` binary found next to this one ([`server_exe`]).
//!
//! Every scenario prints a Markdown table and writes the same figures as JSON to
//! `target/bench/<scenario>.json`, and runs its ceiling in the same run, so that every figure is
//! also a ratio to what the machine does with the application taken out.

mod db;
mod import;
mod intake;
mod load;
mod measures;
mod morning;
mod queries;
mod soak;
mod store;
mod triage;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use gridkeeper::config::Config;
use gridkeeper_store::SqliteStore;
use serde::Serialize;

#[derive(Parser)]
#[command(
    name = "gridkeeper-bench",
    version,
    about = "Benchmarks of gridkeeper (see BENCHMARKS.md); run them on a release build."
)]
struct Cli {
    /// Configuration file (default: ./gridkeeper.toml if present).
    #[arg(long, global = true, env = "GRIDKEEPER_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// All measures for one district over one year, on a database of N demo cases.
    Measures {
        /// Cases in the simulated year.
        #[arg(long, default_value_t = 1_000_000)]
        cases: usize,
        /// Database to build (reused when it already holds the cases).
        #[arg(long, default_value = "target/bench/measures.db")]
        db: PathBuf,
        /// Timed repetitions of each query.
        #[arg(long, default_value_t = 7)]
        runs: usize,
    },
    /// Build a large realistic database (the demo town over several years) for queue, detail
    /// and rss. Refuses a database that already holds cases.
    Generate(db::GenerateArgs),
    /// Bulk import: cases/s of `import_history` against a raw batched insert of the same rows.
    Import(import::ImportArgs),
    /// Intake over HTTP: the full server against a bare axum handler and a bare server with a
    /// raw group-committing writer, at fixed offered rates and at saturation.
    Intake(intake::IntakeArgs),
    /// The dispatcher's queues (new, overdue; a page of 50 in a community) over HTTP on a large
    /// database: p50/p99.
    Queue(queries::QueryArgs),
    /// Case detail with its timeline over HTTP on a large database: p50/p99.
    Detail(queries::QueryArgs),
    /// Peak RSS of `serve` on a large database under a mixed load.
    Rss(queries::RssArgs),
    /// Intake (concurrent reports stored) and the dispatcher's queue query, on SQLite and on
    /// PostgreSQL side by side, each over the same demo history.
    Store {
        /// Cases of the demo history each database holds before the runs.
        #[arg(long, default_value_t = 50_000)]
        history: usize,
        /// Reports stored in the intake run.
        #[arg(long, default_value_t = 2_000)]
        reports: usize,
        /// Reporters storing at once.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// An empty PostgreSQL database (`createdb gk_bench`).
        #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/gk_bench")]
        postgres: String,
        /// The SQLite file to build (removed first).
        #[arg(long, default_value = "target/bench/store.db")]
        sqlite: PathBuf,
        /// Timed repetitions of each queue query.
        #[arg(long, default_value_t = 50)]
        runs: usize,
    },
    /// `serve` under a steady mixed load with bad input for a set time, sampling RSS, open
    /// files, WAL size and latency every minute; fails on growth that does not level off.
    Soak(soak::SoakArgs),
    /// A linkage center's busy morning on a large database: reports at a set rate, dispatchers,
    /// department staff and leaders at work, the live feed and the clock job; each kind of request
    /// beside the same request alone.
    Morning(morning::MorningArgs),
    /// The category model at scale: training on the demo's decided cases, suggestion latency,
    /// folding, each beside the work of only reading the texts' features.
    Triage(triage::TriageArgs),
    /// A ceiling server for `intake` (started by it).
    #[command(hide = true)]
    CeilingServer(intake::CeilingArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref())?;
    gridkeeper::init_logging(&config.log.level);
    run(config, cli.command).await
}

async fn run(config: Config, cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::Measures { cases, db, runs } => measures::run(config, cases, db, runs).await,
        Command::Generate(args) => db::run(config, args).await.map(|_| ()),
        Command::Import(args) => import::run(config, args).await,
        Command::Intake(args) => intake::run(config, args).await,
        Command::Queue(args) => queries::run_queue(config, args).await,
        Command::Detail(args) => queries::run_detail(config, args).await,
        Command::Rss(args) => queries::run_rss(config, args).await,
        Command::Soak(args) => soak::run(config, args).await,
        Command::Morning(args) => morning::run(config, args).await,
        Command::Triage(args) => triage::run(args),
        Command::Store { history, reports, concurrency, postgres, sqlite, runs } => {
            store::run(config, history, reports, concurrency, &postgres, &sqlite, runs).await
        }
        Command::CeilingServer(args) => intake::ceiling_server(config, args).await,
    }
}

/// The `gridkeeper` binary next to this one (same target directory), which the benchmarks that
/// measure the real server start as a child process.
pub(crate) fn server_exe() -> anyhow::Result<PathBuf> {
    let own = std::env::current_exe().context("cannot find the path of gridkeeper-bench")?;
    let exe = own.with_file_name(format!("gridkeeper{}", std::env::consts::EXE_SUFFIX));
    if !exe.is_file() {
        let release = own.parent().and_then(Path::file_name).is_some_and(|d| d == "release");
        anyhow::bail!(
            "{} not found: this benchmark starts the gridkeeper server next to gridkeeper-bench; build it with \
             `cargo build{} -p gridkeeper`",
            exe.display(),
            if release { " --release" } else { "" }
        );
    }
    Ok(exe)
}

/// The `q` quantile of `ms` (sorts it).
pub(crate) fn quantile(ms: &mut [f64], q: f64) -> f64 {
    if ms.is_empty() {
        return f64::NAN;
    }
    ms.sort_by(f64::total_cmp);
    ms[((q * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1]
}

/// Latency figures of a series of timings in milliseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Latency {
    pub count: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    pub fn of(mut ms: Vec<f64>) -> Self {
        Self {
            count: ms.len(),
            p50_ms: quantile(&mut ms, 0.5),
            p99_ms: quantile(&mut ms, 0.99),
            max_ms: ms.last().copied().unwrap_or(f64::NAN),
        }
    }
}

/// Writes a scenario's figures to `target/bench/<name>.json` (next to the other results).
pub(crate) fn write_json(name: &str, value: &impl Serialize) -> anyhow::Result<PathBuf> {
    let dir = Path::new("target/bench");
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(value)?)?;
    println!("\nwrote {}", path.display());
    Ok(path)
}

/// The configuration of a benchmark database: its file and its key file beside it.
pub(crate) fn db_config(config: &Config, db: &Path) -> Config {
    let mut c = config.clone();
    c.database.url = format!("sqlite:{}", db.display());
    c.privacy.key_file = db.with_extension("keys");
    c
}

/// Opens (creating and migrating) a benchmark database as a `SqliteStore`.
pub(crate) async fn open_sqlite(config: &Config) -> anyhow::Result<SqliteStore> {
    let vault = Arc::new(config.privacy.vault()?);
    let store = SqliteStore::open(&config.database.url, vault).await.context("cannot open the database")?;
    gridkeeper_store::Store::migrate(&store).await?;
    Ok(store)
}

/// Removes a database file with its WAL and shared-memory files.
pub(crate) fn remove_db(db: &Path) {
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", db.display()));
    }
}

/// Information about the machine, for the JSON of every scenario.
#[derive(Debug, Serialize)]
pub(crate) struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_gib: f64,
    pub load_average: String,
}

impl Machine {
    pub fn read() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
            .unwrap_or("?")
            .trim()
            .to_string();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let kib: f64 = meminfo
            .lines()
            .find(|l| l.starts_with("MemTotal"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        Self {
            cpus: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            cpu_model,
            memory_gib: kib / 1024.0 / 1024.0,
            load_average: std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim().to_string(),
        }
    }
}
