//! `gridkeeper-bench store`: intake (concurrent reports stored) and the dispatcher's queue query
//! on SQLite and on PostgreSQL side by side, each over the same demo history.

use std::time::Instant;

use gridkeeper::config::Config;

/// What one backend did in the store benchmark.
struct StoreFigures {
    imported_s: f64,
    reports_per_s: f64,
    intake: Vec<f64>,
    first_page: Vec<f64>,
    later_page: Vec<f64>,
    department: Vec<f64>,
}

pub async fn run(
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
        let store = gridkeeper::open_store(&config).await?;
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
    row("intake latency p50, ms", &|f| super::quantile(&mut f.intake.clone(), 0.5), 2);
    row("intake latency p99, ms", &|f| super::quantile(&mut f.intake.clone(), 0.99), 2);
    row("queue, first page p50, ms", &|f| super::quantile(&mut f.first_page.clone(), 0.5), 2);
    row("queue, first page p95, ms", &|f| super::quantile(&mut f.first_page.clone(), 0.95), 2);
    row("queue, 10th page (keyset) p50, ms", &|f| super::quantile(&mut f.later_page.clone(), 0.5), 2);
    row("department queue p50, ms", &|f| super::quantile(&mut f.department.clone(), 0.5), 2);
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
