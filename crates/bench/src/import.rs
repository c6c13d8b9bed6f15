//! `gridkeeper-bench import`: bulk import of finished histories (`Store::import_history`, one
//! transaction) against its ceiling, a raw batched insert of the same rows rendered ahead of
//! time (`SqliteStore::raw_insert`), each into a new database with the same reference data.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::Datelike;
use gridkeeper::config::Config;
use gridkeeper_demo::LargeHistory;
use gridkeeper_domain::{Case, NewEvent};
use gridkeeper_store::prelude::*;
use gridkeeper_store::SqliteStore;
use serde::Serialize;

#[derive(clap::Args)]
pub struct ImportArgs {
    #[arg(long, default_value_t = 1_000_000)]
    pub cases: usize,
    #[arg(long, default_value_t = 1)]
    pub years: u32,
    /// Folder of the databases (made anew at every run).
    #[arg(long, default_value = "target/bench/import")]
    pub dir: PathBuf,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Also import the same rows in batches of 10,000 with the indexes kept in place (slow).
    #[arg(long)]
    pub small_batches: bool,
}

#[derive(Debug, Serialize)]
struct Row {
    path: &'static str,
    seconds: f64,
    cases_per_second: f64,
    events_per_second: f64,
    ratio_to_ceiling: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    cases: usize,
    events: usize,
    years: u32,
    generator_threads: usize,
    generator_seconds: f64,
    generator_cases_per_second: f64,
    rows: Vec<Row>,
    machine: super::Machine,
}

type History = Vec<(Case, Vec<NewEvent>)>;

/// Every case of `big`, generated on every CPU, in order.
pub(crate) fn generate_all(big: &Arc<LargeHistory>, threads: usize) -> History {
    let slices = big.slices().to_vec();
    let parts: Vec<Vec<(usize, History)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|w| {
                let (big, slices) = (big.clone(), &slices);
                scope.spawn(move || {
                    slices.iter().skip(w).step_by(threads).map(|s| (s.index, big.generate(s))).collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a generator thread panicked")).collect()
    });
    let mut all: Vec<(usize, History)> = parts.into_iter().flatten().collect();
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().flat_map(|(_, h)| h).collect()
}

async fn fresh(config: &Config, db: &Path, big: &LargeHistory) -> anyhow::Result<(Config, SqliteStore)> {
    super::remove_db(db);
    let config = super::db_config(config, db);
    let store = super::open_sqlite(&config).await?;
    store.load_reference(&big.reference()).await?;
    for p in big.people() {
        store.create_person(&p.person, 0).await?;
    }
    Ok((config, store))
}

pub async fn run(config: Config, args: ImportArgs) -> anyhow::Result<()> {
    let ImportArgs { cases, years, dir, seed, small_batches } = args;
    std::fs::create_dir_all(&dir)?;
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let now = chrono::Utc::now().timestamp_millis();
    let big = Arc::new(LargeHistory::new(seed, now, years, cases));
    let t = Instant::now();
    let all = generate_all(&big, threads);
    let generator_seconds = t.elapsed().as_secs_f64();
    let events: usize = all.iter().map(|(_, e)| e.len()).sum();
    println!("generated {cases} cases ({events} events) in {generator_seconds:.1} s on {threads} threads");

    let mut timings: Vec<(&'static str, f64)> = vec![];
    {
        let (config, store) = fresh(&config, &dir.join("import.db"), &big).await?;
        let t = Instant::now();
        store.import_history(&all, config.server.utc_offset_hours).await?;
        timings.push(("import_history (one transaction, state-machine histories)", t.elapsed().as_secs_f64()));
        anyhow::ensure!(store.count_cases().await? == cases as i64, "every case was imported");
        store.close().await;
    }
    {
        let (config, store) = fresh(&config, &dir.join("ceiling.db"), &big).await?;
        let offset = chrono::FixedOffset::east_opt(config.server.utc_offset_hours * 3600).expect("a valid offset");
        let mut counters = std::collections::HashMap::new();
        let rows: Vec<_> = all
            .iter()
            .enumerate()
            .map(|(k, (c, e))| {
                let year = chrono::DateTime::from_timestamp_millis(c.reported_at)
                    .map(|t| t.with_timezone(&offset).year())
                    .unwrap_or(1970);
                let n = counters.entry((c.district.clone(), year)).or_insert(0u32);
                *n += 1;
                let reference = gridkeeper_domain::CaseRef::new(&c.district, year, *n).to_string();
                store.raw_case(k as i64 + 1, reference, c, e)
            })
            .collect();
        let t = Instant::now();
        store.raw_insert(&rows, true).await?;
        timings.push(("ceiling: raw multi-row insert of the rendered rows", t.elapsed().as_secs_f64()));
        store.close().await;
    }
    if small_batches {
        let (config, store) = fresh(&config, &dir.join("small-batches.db"), &big).await?;
        let t = Instant::now();
        for chunk in all.chunks(10_000) {
            store.import_history(chunk, config.server.utc_offset_hours).await?;
        }
        timings.push(("import_history in batches of 10,000, indexes kept", t.elapsed().as_secs_f64()));
        store.close().await;
    }
    let ceiling = timings[1].1;
    let rows: Vec<Row> = timings
        .iter()
        .map(|(path, s)| Row {
            path,
            seconds: *s,
            cases_per_second: cases as f64 / s,
            events_per_second: events as f64 / s,
            ratio_to_ceiling: ceiling / s,
        })
        .collect();
    println!(
        "\n| path ({cases} cases, {events} events) | seconds | cases/s | events/s | ÷ ceiling |\n|---|---|---|---|---|"
    );
    for r in &rows {
        println!(
            "| {} | {:.1} | {:.0} | {:.0} | {:.2} |",
            r.path, r.seconds, r.cases_per_second, r.events_per_second, r.ratio_to_ceiling
        );
    }
    let report = Report {
        cases,
        events,
        years,
        generator_threads: threads,
        generator_seconds,
        generator_cases_per_second: cases as f64 / generator_seconds,
        rows,
        machine: super::Machine::read(),
    };
    super::write_json("import", &report)?;
    Ok(())
}
