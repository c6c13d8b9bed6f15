//! `gridkeeper-bench generate`: a large realistic database — the demo town over several years
//! ([`gridkeeper_demo::LargeHistory`]) — generated on every CPU, slice by slice, and stored in
//! order with [`gridkeeper_store::SqliteStore::bulk_load`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use gridkeeper::config::Config;
use gridkeeper_demo::LargeHistory;
use gridkeeper_store::prelude::*;
use serde::Serialize;

/// The session token of the demo's dispatcher in a generated database (benchmarks only).
pub const BENCH_TOKEN: &str = "bench-dispatcher-token";

#[derive(clap::Args)]
pub struct GenerateArgs {
    /// Cases in all.
    #[arg(long, default_value_t = 1_000_000)]
    pub cases: usize,
    /// Years they are reported over, up to now.
    #[arg(long, default_value_t = 3)]
    pub years: u32,
    #[arg(long, default_value = "target/bench/big.db")]
    pub db: PathBuf,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Generator threads (default: one per CPU).
    #[arg(long)]
    pub threads: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct Generated {
    pub cases: u64,
    pub years: u32,
    pub seed: u64,
    pub threads: usize,
    pub seconds: f64,
    pub cases_per_second: f64,
    /// Time the loader spent storing chunks (the rest it waited for the generators).
    pub store_seconds: f64,
    pub index_seconds: f64,
    pub clock_seconds: f64,
    pub database_bytes: u64,
    pub machine: super::Machine,
}

pub async fn run(config: Config, args: GenerateArgs) -> anyhow::Result<Generated> {
    let GenerateArgs { cases, years, db, seed, threads } = args;
    let threads = threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)).max(1);
    if let Some(dir) = db.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let config = super::db_config(&config, &db);
    let store = super::open_sqlite(&config).await?;
    anyhow::ensure!(store.count_cases().await? == 0, "{} holds cases already; remove it first", db.display());
    let now = chrono::Utc::now().timestamp_millis();
    let started = Instant::now();
    let big = Arc::new(LargeHistory::new(seed, now, years, cases));
    store.load_reference(&big.reference()).await?;
    let mut dispatcher = None;
    for (i, p) in big.people().iter().enumerate() {
        let id = store.create_person(&p.person, now).await?;
        anyhow::ensure!(id == i as i64 + 1, "people are numbered in order on a new database");
        if p.person.login == "dispatcher" {
            dispatcher = Some(id);
        }
    }
    let dispatcher = dispatcher.context("the demo has a dispatcher")?;
    store.create_session(&gridkeeper_server::auth::token_hash(BENCH_TOKEN), dispatcher, now, i64::MAX).await?;

    // Worker w generates slices w, w + T, w + 2T… and hands each over in order; the loader takes
    // them round-robin, so at most two slices per worker wait in memory.
    let slices = big.slices().to_vec();
    let mut receivers = vec![];
    for w in 0..threads {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        receivers.push(rx);
        let (big, mine) = (big.clone(), slices.iter().skip(w).step_by(threads).copied().collect::<Vec<_>>());
        std::thread::spawn(move || {
            for s in mine {
                if tx.blocking_send(big.generate(&s)).is_err() {
                    return;
                }
            }
        });
    }
    let mut load = store.bulk_load(config.server.utc_offset_hours).await?;
    let mut store_seconds = 0.0;
    for (i, s) in slices.iter().enumerate() {
        let chunk = receivers[i % threads].recv().await.context("a generator thread failed")?;
        anyhow::ensure!(chunk.len() == s.cases, "slice {i} has its cases");
        let t = Instant::now();
        load.load(&chunk).await?;
        store_seconds += t.elapsed().as_secs_f64();
        eprint!("\rstored {} of {} cases", load.cases(), cases);
    }
    eprintln!();
    let t = Instant::now();
    let stored = load.finish().await?;
    let index_seconds = t.elapsed().as_secs_f64();
    let seconds = started.elapsed().as_secs_f64();

    // The clock job of a running server would have marked overdue cases as they fell due: run it
    // once, so that a server started on this database begins in a steady state.
    let t = Instant::now();
    let app = gridkeeper::app(&config).await?;
    let (warned, marked, escalated) =
        app.check_deadlines(now).await.map_err(|e| anyhow::anyhow!(e.problem().detail.clone()))?;
    let clock_seconds = t.elapsed().as_secs_f64();
    let report = Generated {
        cases: stored,
        years,
        seed,
        threads,
        seconds,
        cases_per_second: stored as f64 / seconds,
        store_seconds,
        index_seconds,
        clock_seconds,
        database_bytes: size(&db),
        machine: super::Machine::read(),
    };
    println!("\n| what | figure |\n|---|---|");
    println!("| cases over {years} years (seed {seed}, {threads} generator threads) | {stored} |");
    println!("| generated and stored | {seconds:.1} s = {:.0} cases/s |", report.cases_per_second);
    println!("| … of which the loader stored chunks | {store_seconds:.1} s |");
    println!("| … of which the indexes were built | {index_seconds:.1} s |");
    println!("| clocks settled afterwards ({warned} warned, {marked} overdue, {escalated} escalated) | {clock_seconds:.1} s |");
    println!("| database size | {:.2} GB |", report.database_bytes as f64 / 1e9);
    super::write_json("generate", &report)?;
    Ok(report)
}

fn size(db: &Path) -> u64 {
    ["", "-wal"].iter().filter_map(|e| std::fs::metadata(format!("{}{e}", db.display())).ok()).map(|m| m.len()).sum()
}
