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
}

fn p(ms: &mut [f64], q: f64) -> f64 {
    ms.sort_by(f64::total_cmp);
    ms[((q * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1]
}

pub async fn run(config: Config, cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Measures { cases, db, runs } => measures(config, cases, db, runs).await,
        BenchCommand::Store { history, reports, concurrency, postgres, sqlite, runs } => {
            store(config, history, reports, concurrency, &postgres, &sqlite, runs).await
        }
    }
}

async fn measures(mut config: Config, cases: usize, db: PathBuf, runs: usize) -> anyhow::Result<()> {
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
    let day = 24 * gridkeeper_domain::HOUR;
    // Local (UTC+8) midnight of today: the last 365 whole days, as a dashboard asks.
    let midnight = (now + 8 * gridkeeper_domain::HOUR).div_euclid(day) * day - 8 * gridkeeper_domain::HOUR;
    let district = Some(gridkeeper_domain::RegionCode::parse("330483")?);
    let days = MeasureQuery { region: district, from: midnight - 365 * day, to: midnight, now, ..Default::default() };
    let rolling = MeasureQuery { from: now - 365 * day, to: now, ..days.clone() };
    println!("\n| query ({runs} runs) | p50 ms | max ms |\n|---|---|---|");
    let timed = |name: &str, mut ms: Vec<f64>| {
        let max = ms.iter().copied().fold(0.0, f64::max);
        println!("| {name} | {:.1} | {:.1} |", p(&mut ms, 0.5), max);
    };
    let mut fast = None;
    for (name, q, by) in [
        ("all measures, district, 365 whole days", &days, GroupBy::Nothing),
        ("… the last 365 × 24 hours up to now", &rolling, GroupBy::Nothing),
        ("… per grid", &days, GroupBy::Grid),
        ("… per department", &days, GroupBy::Department),
        ("… per category", &days, GroupBy::Category),
        ("… per person", &days, GroupBy::Person),
    ] {
        let mut ms = vec![];
        for _ in 0..runs {
            let t = Instant::now();
            let counts = store.measure_counts_by(q, by).await?;
            let _: Vec<Measures> = counts.values().map(Measures::from_counts).collect();
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            fast.get_or_insert(counts);
        }
        timed(name, ms);
    }
    // The same first query by scanning the events, once: the ratio, and a check that both agree.
    let t = Instant::now();
    let slow = store.measure_counts_from_events(&days, GroupBy::Nothing).await?;
    timed("… the same, scanning the events instead (1 run)", vec![t.elapsed().as_secs_f64() * 1000.0]);
    anyhow::ensure!(fast.as_ref() == Some(&slow), "the rollups and the events disagree");
    println!("rollups and events agree");
    Ok(())
}

/// What one backend did in the store benchmark.
struct StoreFigures {
    imported_s: f64,
    reports_per_s: f64,
    intake: Vec<f64>,
    first_page: Vec<f64>,
    later_page: Vec<f64>,
    department: Vec<f64>,
}

async fn store(
    mut config: Config,
    history: usize,
    reports: usize,
    concurrency: usize,
    postgres: &str,
    sqlite: &std::path::Path,
    runs: usize,
) -> anyhow::Result<()> {
    if let Some(dir) = sqlite.parent() {
        std::fs::create_dir_all(dir)?;
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", sqlite.display()));
    }
    config.privacy.key_file = sqlite.with_extension("keys");
    let now = chrono::Utc::now().timestamp_millis();
    let town = std::sync::Arc::new(gridkeeper_demo::generate(7, now, history));
    let mut out = vec![];
    for (name, url) in [("SQLite", format!("sqlite:{}", sqlite.display())), ("PostgreSQL", postgres.to_string())] {
        config.database.url = url;
        let store = crate::open_store(&config).await?;
        anyhow::ensure!(store.count_cases().await? == 0, "the {name} database is not empty: start from an empty one");
        println!("{name}: storing {history} cases of history ...");
        out.push((
            name,
            store_figures(store, town.clone(), reports, concurrency, runs, config.server.utc_offset_hours).await?,
        ));
    }
    let ratio = |f: &dyn Fn(&StoreFigures) -> f64| f(&out[1].1) / f(&out[0].1);
    println!(
        "\n{history} cases of history; intake: {reports} reports by {concurrency} concurrent reporters; \
         queue queries: {runs} runs each (ms)\n"
    );
    println!("| | SQLite | PostgreSQL | PostgreSQL / SQLite |\n|---|---|---|---|");
    let row = |label: &str, f: &dyn Fn(&StoreFigures) -> f64, digits: usize| {
        println!("| {label} | {:.*} | {:.*} | {:.2} |", digits, f(&out[0].1), digits, f(&out[1].1), ratio(f));
    };
    row("history import, s", &|f| f.imported_s, 1);
    row("intake, reports/s", &|f| f.reports_per_s, 0);
    row("intake latency p50, ms", &|f| p(&mut f.intake.clone(), 0.5), 2);
    row("intake latency p99, ms", &|f| p(&mut f.intake.clone(), 0.99), 2);
    row("queue, first page p50, ms", &|f| p(&mut f.first_page.clone(), 0.5), 2);
    row("queue, first page p95, ms", &|f| p(&mut f.first_page.clone(), 0.95), 2);
    row("queue, 10th page (keyset) p50, ms", &|f| p(&mut f.later_page.clone(), 0.5), 2);
    row("department queue p50, ms", &|f| p(&mut f.department.clone(), 0.5), 2);
    Ok(())
}

async fn store_figures(
    store: std::sync::Arc<dyn gridkeeper_store::Store>,
    town: std::sync::Arc<gridkeeper_demo::DemoTown>,
    reports: usize,
    concurrency: usize,
    runs: usize,
    utc_offset_hours: i32,
) -> anyhow::Result<StoreFigures> {
    use gridkeeper_domain::{Actor, CaseState, LatLon, NewReport, Urgency};
    use gridkeeper_store::{CaseQuery, Intake, Visibility};
    let now = chrono::Utc::now().timestamp_millis();
    store.load_reference(&town.reference).await?;
    for p in &town.people {
        store.create_person(&p.person, now).await?;
    }
    let t = Instant::now();
    store.import_history(&town.history, utc_offset_hours).await?;
    let imported_s = t.elapsed().as_secs_f64();
    let grids: Vec<_> = town.reference.regions.iter().filter(|r| r.code.as_str().len() == 15).cloned().collect();
    anyhow::ensure!(!grids.is_empty(), "the demo town has no grids");

    // Intake: `concurrency` reporters, each storing its share of reports one after another.
    let per = reports.div_ceil(concurrency);
    let t = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..concurrency {
        let (store, grids) = (store.clone(), grids.clone());
        tasks.spawn(async move {
            let mut ms = Vec::with_capacity(per);
            for i in 0..per {
                let grid = &grids[(w * per + i) % grids.len()];
                let r = NewReport {
                    district: grid.code.as_str()[..6].to_string(),
                    grid: Some(grid.code.clone()),
                    location: Some(LatLon { lat: 30.74, lon: 120.49 }),
                    address: None,
                    description: format!("bench report {w}-{i}"),
                    urgency: Urgency::Routine,
                    suggested_category: None,
                    photos: vec![],
                    anonymous: false,
                    contact: None,
                    source: None,
                };
                let at = chrono::Utc::now().timestamp_millis();
                let d = gridkeeper_domain::report(&Actor::anonymous(), r, at).map_err(|e| anyhow::anyhow!("{e}"))?;
                let s = Instant::now();
                store.insert_case(Intake { decision: &d, year: 2026, tracking_hash: None, media: &[] }).await?;
                ms.push(s.elapsed().as_secs_f64() * 1000.0);
            }
            anyhow::Ok(ms)
        });
    }
    let mut intake = vec![];
    while let Some(r) = tasks.join_next().await {
        intake.extend(r??);
    }
    let reports_per_s = intake.len() as f64 / t.elapsed().as_secs_f64();

    // The linkage center's queue: open cases of the district, newest first, 50 a page.
    let district = gridkeeper_domain::RegionCode::parse(&grids[0].code.as_str()[..6])?;
    let queue = CaseQuery {
        visibility: Visibility { regions: vec![district], ..Default::default() },
        states: vec![CaseState::Reported, CaseState::Accepted, CaseState::Dispatched, CaseState::InProgress],
        now,
        limit: 50,
        ..Default::default()
    };
    let mut later = queue.clone();
    for _ in 0..9 {
        let page = store.list_cases(&later).await?;
        later.after = page.last().map(|c| (c.reported_at, c.id));
    }
    let department = town.reference.departments.first().map(|d| d.id).unwrap_or(1);
    let dept = CaseQuery {
        visibility: Visibility { departments: vec![department], ..Default::default() },
        now,
        limit: 50,
        ..Default::default()
    };
    let time = |q: CaseQuery| {
        let store = store.clone();
        async move {
            let mut ms = vec![];
            for _ in 0..runs {
                let s = Instant::now();
                let page = store.list_cases(&q).await?;
                ms.push(s.elapsed().as_secs_f64() * 1000.0);
                anyhow::ensure!(!page.is_empty(), "the queue query found nothing");
            }
            anyhow::Ok(ms)
        }
    };
    Ok(StoreFigures {
        imported_s,
        reports_per_s,
        intake,
        first_page: time(queue).await?,
        later_page: time(later).await?,
        department: time(dept).await?,
    })
}
