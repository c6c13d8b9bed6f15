//! `gridkeeper bench ...`: benchmarks run by hand, recorded in BENCHMARKS.md. Never in tests.

use std::path::PathBuf;
use std::time::Instant;

use clap::Subcommand;
use gridkeeper_domain::measures::Measures;
use gridkeeper_store::{GroupBy, MeasureQuery};

use crate::config::Config;

#[derive(Subcommand)]
pub enum BenchCommand {
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
}

fn p(ms: &mut [f64], q: f64) -> f64 {
    ms.sort_by(f64::total_cmp);
    ms[((q * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1]
}

pub async fn run(mut config: Config, cmd: BenchCommand) -> anyhow::Result<()> {
    let BenchCommand::Measures { cases, db, runs } = cmd;
    if let Some(dir) = db.parent() {
        std::fs::create_dir_all(dir)?;
    }
    config.database.url = format!("sqlite:{}", db.display());
    config.privacy.key_file = db.with_extension("keys");
    let store = crate::open_store(&config).await?;
    let now = chrono::Utc::now().timestamp_millis();
    if store.count_cases().await? < cases as i64 {
        anyhow::ensure!(store.count_cases().await? == 0, "{} holds other cases; remove it first", db.display());
        let t = Instant::now();
        let town = gridkeeper_demo::generate(7, now, cases);
        let generated = t.elapsed();
        store.load_reference(&town.reference).await?;
        for p in &town.people {
            store.create_person(&p.person, now).await?;
        }
        store.import_history(&town.history, config.server.utc_offset_hours).await?;
        println!(
            "built {} cases: generated in {:.1} s, stored in {:.1} s",
            cases,
            generated.as_secs_f64(),
            (t.elapsed() - generated).as_secs_f64()
        );
    }
    let year = 365 * 24 * gridkeeper_domain::HOUR;
    let q = MeasureQuery {
        region: Some(gridkeeper_domain::RegionCode::parse("330483")?),
        from: now - year,
        to: now,
        now,
        ..Default::default()
    };
    println!("\n| query ({runs} runs) | p50 ms | max ms |\n|---|---|---|");
    for (name, by) in [
        ("all measures, district, one year", GroupBy::Nothing),
        ("… per grid", GroupBy::Grid),
        ("… per department", GroupBy::Department),
        ("… per person", GroupBy::Person),
    ] {
        let mut ms = vec![];
        for _ in 0..runs {
            let t = Instant::now();
            let counts = store.measure_counts_by(&q, by).await?;
            let _: Vec<Measures> = counts.values().map(Measures::from_counts).collect();
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let max = ms.iter().copied().fold(0.0, f64::max);
        println!("| {name} | {:.1} | {:.1} |", p(&mut ms, 0.5), max);
    }
    Ok(())
}
