//! `gridkeeper-bench queue`, `detail`, `rss`: `gridkeeper serve` on a large database made by
//! `gridkeeper-bench generate`, asked over HTTP as the dispatcher (the generated session).
//!
//! The server runs as a child process with the hourly anonymisation pushed out of the way
//! (`retention_days` = 100 years): on a database of several years it would otherwise start
//! anonymising every case closed more than two years ago during the measurement.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use gridkeeper::config::Config;
use gridkeeper_domain::RegionLevel;
use gridkeeper_store::prelude::*;
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::Serialize;

use super::db::BENCH_TOKEN;
use super::load::{self, Outcome, Request};

#[derive(clap::Args)]
pub struct QueryArgs {
    /// A database made by `gridkeeper-bench generate`.
    #[arg(long, default_value = "target/bench/big.db")]
    pub db: PathBuf,
    /// Seconds of each run.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Concurrent connections (1: one request after the other).
    #[arg(long, default_value_t = 1)]
    pub connections: usize,
}

#[derive(clap::Args)]
pub struct RssArgs {
    #[arg(long, default_value = "target/bench/big.db")]
    pub db: PathBuf,
    #[arg(long, default_value_t = 30.0)]
    pub seconds: f64,
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
}

pub(crate) struct Served {
    pub child: tokio::process::Child,
    pub base: String,
    pub cases: i64,
    pub communities: Vec<String>,
    pub district: String,
    pub reference: gridkeeper_store::ReferenceData,
}

pub(crate) async fn serve(config: &Config, db: &Path) -> anyhow::Result<Served> {
    anyhow::ensure!(db.exists(), "{} does not exist: make it with `gridkeeper-bench generate`", db.display());
    let server_exe = super::server_exe()?;
    let c = super::db_config(config, db);
    let store = super::open_sqlite(&c).await?;
    let cases = store.count_cases().await?;
    let regions = store.regions().await?;
    let reference = gridkeeper_store::ReferenceData {
        regions: regions.clone(),
        categories: store.categories().await?,
        ..Default::default()
    };
    store.close().await;
    let code = |l: RegionLevel| regions.iter().filter(move |r| r.level() == l).map(|r| r.code.to_string());
    let communities: Vec<String> = code(RegionLevel::Community).collect();
    let district = code(RegionLevel::District).next().unwrap_or_default();
    let port = load::free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let log = std::fs::File::create(db.with_extension("serve.log"))?;
    let mut child = tokio::process::Command::new(server_exe)
        .arg("serve")
        .env("GRIDKEEPER__DATABASE__URL", &c.database.url)
        .env("GRIDKEEPER__PRIVACY__KEY_FILE", &c.privacy.key_file)
        .env("GRIDKEEPER__SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("GRIDKEEPER__SERVER__MEDIA_DIR", db.with_extension("media"))
        .env("GRIDKEEPER__SERVER__RETENTION_DAYS", "36500")
        .env("GRIDKEEPER__LOG__LEVEL", "warn")
        .kill_on_drop(true)
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()?;
    load::wait_ready(&base, &mut child).await?;
    Ok(Served { child, base, cases, communities, district, reference })
}

fn get(path: String) -> Request {
    Request { post: false, path, body: None, expect: 200 }
}

fn detail_requests(cases: i64, n: usize) -> Vec<Request> {
    let mut rng = StdRng::seed_from_u64(3);
    (0..n).map(|_| get(format!("/api/v1/cases/{}", rng.gen_range(1..=cases.max(1))))).collect()
}

#[derive(Debug, Serialize)]
struct Run {
    query: String,
    outcome: Outcome,
}

async fn measure(s: &Served, kinds: Vec<(String, Vec<Request>)>, args: &QueryArgs, name: &str) -> anyhow::Result<()> {
    let d = Duration::from_secs_f64(args.seconds);
    let mut runs = vec![];
    for (query, requests) in kinds {
        let requests = Arc::new(requests);
        // Warm up: the first requests read cold pages.
        load::run(&s.base, Some(BENCH_TOKEN), requests.clone(), args.connections, None, Duration::from_secs(1)).await?;
        let outcome = load::run(&s.base, Some(BENCH_TOKEN), requests, args.connections, None, d).await?;
        runs.push(Run { query, outcome });
    }
    let memory = load::memory_mb(s.child.id().unwrap_or(0));
    println!(
        "\n| {name}: {} cases, {} connection(s) | requests/s | p50 ms | p99 ms | max ms | errors |\n|---|---|---|---|---|---|",
        s.cases, args.connections
    );
    for r in &runs {
        let o = &r.outcome;
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.1} | {} |",
            r.query, o.per_second, o.latency.p50_ms, o.latency.p99_ms, o.latency.max_ms, o.errors
        );
    }
    if let Some((peak, now)) = memory {
        println!("\nserve: peak RSS {peak:.0} MB, now {now:.0} MB");
    }
    super::write_json(
        name,
        &serde_json::json!({
            "database": args.db, "cases": s.cases, "runs": runs,
            "serve_peak_rss_mb": memory.map(|m| m.0), "machine": super::Machine::read(),
        }),
    )?;
    Ok(())
}

pub async fn run_queue(config: Config, args: QueryArgs) -> anyhow::Result<()> {
    let s = serve(&config, &args.db).await?;
    let per_community = |q: &str| -> Vec<Request> {
        s.communities.iter().map(|c| get(format!("/api/v1/cases?{q}&region={c}&limit=50"))).collect()
    };
    let kinds = vec![
        (
            "new + overdue in a community, by deadline (attention=true&sort=deadline, 50)".to_string(),
            per_community("attention=true&sort=deadline"),
        ),
        (
            "new + overdue in the district, by deadline (attention=true&sort=deadline, 50)".to_string(),
            vec![get(format!("/api/v1/cases?attention=true&sort=deadline&region={}&limit=50", s.district))],
        ),
        ("new reports in a community (state=reported, newest first, 50)".to_string(), per_community("state=reported")),
        ("overdue cases in a community (overdue=true, 50)".to_string(), per_community("overdue=true")),
        (
            "overdue cases in the district (overdue=true, 50)".to_string(),
            vec![get(format!("/api/v1/cases?overdue=true&region={}&limit=50", s.district))],
        ),
        (
            "every case of a community, newest first (50)".to_string(),
            s.communities.iter().map(|c| get(format!("/api/v1/cases?region={c}&limit=50"))).collect(),
        ),
    ];
    measure(&s, kinds, &args, "queue").await
}

pub async fn run_detail(config: Config, args: QueryArgs) -> anyhow::Result<()> {
    let s = serve(&config, &args.db).await?;
    let kinds = vec![("case detail with timeline (random case)".to_string(), detail_requests(s.cases, 10_000))];
    measure(&s, kinds, &args, "detail").await
}

pub async fn run_rss(config: Config, args: RssArgs) -> anyhow::Result<()> {
    let s = serve(&config, &args.db).await?;
    let pid = s.child.id().unwrap_or(0);
    let at_start = load::memory_mb(pid);
    let reports = super::intake::report_bodies(&s.reference, &["井盖破损，存在安全隐患".to_string()], 4000, 5);
    let details = detail_requests(s.cases, 2000);
    let mut mix = vec![];
    for (i, body) in reports.into_iter().enumerate() {
        mix.push(Request { post: true, path: "/api/v1/cases".into(), body: Some(body), expect: 201 });
        if i % 2 == 0 {
            let c = &s.communities[i % s.communities.len()];
            let q = if i % 4 == 0 { "state=reported" } else { "overdue=true" };
            mix.push(get(format!("/api/v1/cases?{q}&region={c}&limit=50")));
        } else {
            mix.push(details[i % details.len()].clone());
        }
    }
    let outcome = load::run(
        &s.base,
        Some(BENCH_TOKEN),
        Arc::new(mix),
        args.connections,
        None,
        Duration::from_secs_f64(args.seconds),
    )
    .await?;
    let (peak, now) = load::memory_mb(pid).unwrap_or((f64::NAN, f64::NAN));
    println!("\n| serve on {} cases, {} connections, {:.0} s of half reports, a quarter queues, a quarter details | figure |\n|---|---|", s.cases, args.connections, args.seconds);
    println!("| RSS once ready | {:.0} MB |", at_start.map(|m| m.1).unwrap_or(f64::NAN));
    println!(
        "| requests/s | {:.0} (p50 {:.1} ms, p99 {:.1} ms, {} errors) |",
        outcome.per_second, outcome.latency.p50_ms, outcome.latency.p99_ms, outcome.errors
    );
    println!("| peak RSS (VmHWM) | **{peak:.0} MB** |");
    println!("| RSS at the end | {now:.0} MB |");
    super::write_json(
        "rss",
        &serde_json::json!({
            "database": args.db, "cases": s.cases, "connections": args.connections, "outcome": outcome,
            "rss_ready_mb": at_start.map(|m| m.1), "peak_rss_mb": peak, "rss_end_mb": now,
            "machine": super::Machine::read(),
        }),
    )?;
    Ok(())
}
