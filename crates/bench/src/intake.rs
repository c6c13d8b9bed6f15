//! `gridkeeper-bench intake`: reports over HTTP into four servers, one after the other, each on
//! a new database with the demo town's reference data:
//!
//! - **bare**: an axum handler that parses the same JSON and answers 201 (the HTTP ceiling);
//! - **raw writer**: the same handler handing the row to one writer task that group-commits
//!   the same rows with raw multi-row SQL and answers after the commit (the storage ceiling);
//! - **full**: `gridkeeper serve` — validation, grid, state machine, reference number, case +
//!   event, group commit, possible duplicates, the full answer;
//! - **full, one transaction per report**: the same with `server.intake_batch = 1`.
//!
//! Each runs at saturation and at fixed offered rates with the same connections and the same
//! requests: real citizens' messages (`--messages`), points inside the demo's grids, its
//! subclasses, a realistic mix of urgencies.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use gridkeeper::config::Config;
use gridkeeper_demo::LargeHistory;
use gridkeeper_domain::{Actor, LatLon, NewReport, RegionLevel, Urgency};
use gridkeeper_server::ReportBody;
use gridkeeper_store::prelude::*;
use gridkeeper_store::ReferenceData;
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::Serialize;
use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use super::load::{self, Outcome, Request};

#[derive(clap::Args)]
pub struct IntakeArgs {
    /// Concurrent connections.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Seconds of each run.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Offered rates (reports/s), besides saturation.
    #[arg(long, value_delimiter = ',', default_value = "250,500,1000")]
    pub rates: Vec<f64>,
    /// Citizens' messages (CSV with 留言主题 and 留言详情) for the descriptions.
    #[arg(long, default_value = "../shared/data/cn_messages_labeled_dev.csv")]
    pub messages: PathBuf,
    /// Folder of the databases and server logs (made anew at every run).
    #[arg(long, default_value = "target/bench/intake")]
    pub dir: PathBuf,
}

#[derive(clap::Args)]
pub struct CeilingArgs {
    /// `bare` or `raw`.
    #[arg(long)]
    pub kind: String,
    #[arg(long)]
    pub bind: SocketAddr,
    /// Database of the raw writer.
    #[arg(long)]
    pub db: Option<PathBuf>,
}

/// Descriptions from the citizens' messages: subject, then the start of the details.
fn messages(path: &Path) -> Vec<String> {
    let Ok(mut r) = csv::Reader::from_path(path) else {
        eprintln!("{} not found: using the demo's phrases instead (see --messages)", path.display());
        return ["窨井盖破损，存在安全隐患", "路灯不亮，晚上出行不便", "占道经营，影响通行", "垃圾堆积，气味难闻"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    };
    let headers = r.headers().cloned().unwrap_or_default();
    let col = |name: &str| headers.iter().position(|h| h.trim() == name);
    let (subject, details) = (col("留言主题"), col("留言详情"));
    r.records()
        .filter_map(|rec| {
            let rec = rec.ok()?;
            let s = rec.get(subject?)?.trim();
            let d: String = rec.get(details?).unwrap_or("").split_whitespace().collect::<Vec<_>>().join(" ");
            let text: String = format!("{s}：{d}").chars().take(300).collect();
            (!s.is_empty()).then_some(text)
        })
        .collect()
}

/// Every [lon, lat] pair of a GeoJSON geometry.
fn points(v: &serde_json::Value, out: &mut Vec<(f64, f64)>) {
    if let Some(a) = v.as_array() {
        if let (2.., Some(x), Some(y)) =
            (a.len(), a.first().and_then(|x| x.as_f64()), a.get(1).and_then(|y| y.as_f64()))
        {
            out.push((x, y));
        } else {
            a.iter().for_each(|x| points(x, out));
        }
    } else if let Some(o) = v.as_object() {
        o.values().for_each(|x| points(x, out));
    }
}

/// `n` report bodies: messages, points inside the grids, subclasses (or none), urgencies.
pub(crate) fn report_bodies(reference: &ReferenceData, messages: &[String], n: usize, seed: u64) -> Vec<String> {
    let grids: Vec<_> = reference.regions.iter().filter(|r| r.level() == RegionLevel::Grid).cloned().collect();
    let index = gridkeeper_geo::GridIndex::build(&grids).expect("the demo's grids tile");
    let mut pts = vec![];
    for g in &grids {
        if let Some(geo) = &g.geometry {
            points(geo, &mut pts);
        }
    }
    let (min_x, max_x) = pts.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (min_y, max_y) = pts.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let subclasses: Vec<i64> = reference.categories.iter().filter(|c| c.parent_id.is_some()).map(|c| c.id).collect();
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let p = loop {
                let p = LatLon { lat: rng.gen_range(min_y..max_y), lon: rng.gen_range(min_x..max_x) };
                if index.locate(p).is_some() {
                    break p;
                }
            };
            let urgency = match rng.gen_range(0..100) {
                0..80 => "routine",
                80..97 => "urgent",
                _ => "emergency",
            };
            let mut body = json!({
                "description": messages[rng.gen_range(0..messages.len())],
                "lat": p.lat,
                "lon": p.lon,
                "urgency": urgency,
            });
            if rng.gen_bool(0.55) {
                body["category"] = json!(subclasses[rng.gen_range(0..subclasses.len())]);
            }
            body.to_string()
        })
        .collect()
}

#[derive(Debug, Serialize)]
struct ServerRuns {
    server: &'static str,
    runs: Vec<Outcome>,
}

pub async fn run(config: Config, args: IntakeArgs) -> anyhow::Result<()> {
    let IntakeArgs { connections, seconds, rates, messages: messages_path, dir } = args;
    // The ceilings are this binary's `ceiling-server`; the full server is `gridkeeper serve`.
    let (own_exe, server_exe) = (std::env::current_exe()?, super::server_exe()?);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let now = chrono::Utc::now().timestamp_millis();
    let reference = LargeHistory::new(7, now, 1, 0).reference();
    let texts = messages(&messages_path);
    let bodies = report_bodies(&reference, &texts, 20_000, 11);
    let requests = Arc::new(
        bodies
            .into_iter()
            .map(|b| Request { post: true, path: "/api/v1/cases".into(), body: Some(b), expect: 201 })
            .collect::<Vec<_>>(),
    );
    let mut results = vec![];
    let mut sigkill = None;
    for server in ["bare", "raw writer", "full", "full, one transaction per report"] {
        let db = dir.join(format!("{}.db", server.split([' ', ',']).next().unwrap_or("db")));
        let db = if server.contains("one transaction") { dir.join("single.db") } else { db };
        let c = super::db_config(&config, &db);
        if server != "bare" {
            let store = super::open_sqlite(&c).await?;
            store.load_reference(&reference).await?;
            store.close().await;
        }
        // A start of this server on a free port, its output appended to its log.
        let exe = if server.starts_with("full") { &server_exe } else { &own_exe };
        let (db, c, dir) = (&db, &c, &dir);
        let start = || async move {
            let port = load::free_port()?;
            let base = format!("http://127.0.0.1:{port}");
            let log = std::fs::OpenOptions::new().create(true).append(true).open(db.with_extension("log"))?;
            let mut cmd = tokio::process::Command::new(exe);
            cmd.kill_on_drop(true).stdout(log.try_clone()?).stderr(log);
            if server == "bare" {
                cmd.args(["ceiling-server", "--kind", "bare", "--bind", &format!("127.0.0.1:{port}")]);
            } else {
                if server == "raw writer" {
                    cmd.args(["ceiling-server", "--kind", "raw", "--bind", &format!("127.0.0.1:{port}")]);
                    cmd.arg("--db").arg(db);
                } else {
                    cmd.arg("serve")
                        .env("GRIDKEEPER__SERVER__INTAKE_BATCH", if server == "full" { "256" } else { "1" });
                }
                cmd.env("GRIDKEEPER__DATABASE__URL", &c.database.url)
                    .env("GRIDKEEPER__PRIVACY__KEY_FILE", &c.privacy.key_file)
                    .env("GRIDKEEPER__SERVER__MEDIA_DIR", dir.join("media"));
            }
            cmd.env("GRIDKEEPER__SERVER__BIND", format!("127.0.0.1:{port}")).env("GRIDKEEPER__LOG__LEVEL", "warn");
            let mut child = cmd.spawn()?;
            load::wait_ready(&base, &mut child).await?;
            anyhow::Ok((child, base))
        };
        let (mut child, base) = start().await?;
        // Warm up (connections, caches), then measure.
        load::run(&base, None, requests.clone(), connections, None, Duration::from_secs(1)).await?;
        let mut runs = vec![];
        let d = Duration::from_secs_f64(seconds);
        runs.push(load::run(&base, None, requests.clone(), connections, None, d).await?);
        for r in &rates {
            runs.push(load::run(&base, None, requests.clone(), connections, Some(*r), d).await?);
        }
        if server == "full" {
            // Once more at saturation, killed half-way with requests in flight; then a new
            // `gridkeeper serve` on the same database, and every acknowledged report looked up.
            let killed = kill_during_saturation(&base, &requests, connections, d, &mut child).await?;
            let (restarted, _) = start().await?;
            child = restarted;
            let found = super::open_sqlite(c).await?;
            sigkill = Some(killed.check(&found, &requests).await?);
            found.close().await;
        }
        child.start_kill()?;
        child.wait().await?;
        print_runs(server, &runs);
        results.push(ServerRuns { server, runs });
    }
    let sat = |i: usize| results[i].runs[0].per_second;
    let ratios = json!({
        "full / raw writer": sat(2) / sat(1),
        "full / bare": sat(2) / sat(0),
        "raw writer / bare": sat(1) / sat(0),
        "one transaction per report / raw writer": sat(3) / sat(1),
        "full / one transaction per report": sat(2) / sat(3),
    });
    println!("\nratios at saturation ({connections} connections):");
    for (k, v) in ratios.as_object().expect("an object") {
        println!("- {k}: {:.2}", v.as_f64().unwrap_or(f64::NAN));
    }
    super::write_json(
        "intake",
        &json!({
            "connections": connections,
            "seconds": seconds,
            "messages": texts.len(),
            "servers": results,
            "ratios_at_saturation": ratios,
            "sigkill_during_saturation": sigkill,
            "machine": super::Machine::read(),
        }),
    )?;
    if let Some(k) = &sigkill {
        k.print();
        anyhow::ensure!(
            k.lost == 0,
            "{} of {} acknowledged reports were lost after SIGKILL (first: {})",
            k.lost,
            k.acknowledged,
            k.lost_references.join(", ")
        );
    }
    Ok(())
}

/// A saturation run of the full server killed with SIGKILL half-way, and what was found of its
/// acknowledged reports once a new server had started on the same database.
#[derive(Debug, Serialize)]
struct Sigkill {
    /// Seconds into the run when the process was killed.
    killed_after_s: f64,
    /// Reports answered 201 with their reference before the kill.
    acknowledged: usize,
    /// Of those, stored with their report event and description after the restart.
    found: usize,
    lost: usize,
    /// The first few lost (or changed) ones.
    lost_references: Vec<String>,
    /// Requests that failed when the process died (connections cut, no answer).
    cut: u64,
}

struct Killed {
    at: f64,
    outcome: Outcome,
    acks: Vec<load::Acknowledged>,
}

/// Runs `requests` at saturation for `d` and SIGKILLs `child` half-way, while every connection
/// has a request in flight; returns the acknowledgements received before it died.
async fn kill_during_saturation(
    base: &str,
    requests: &Arc<Vec<Request>>,
    connections: usize,
    d: Duration,
    child: &mut tokio::process::Child,
) -> anyhow::Result<Killed> {
    let started = std::time::Instant::now();
    let run = tokio::spawn(load::run_acknowledged(base.to_string(), requests.clone(), connections, d));
    tokio::time::sleep(d / 2).await;
    // tokio's kill is SIGKILL: no shutdown, no flush, no checkpoint.
    child.start_kill()?;
    let at = started.elapsed().as_secs_f64();
    child.wait().await?;
    let (outcome, acks) = run.await??;
    Ok(Killed { at, outcome, acks })
}

impl Killed {
    /// Looks up every acknowledged report in the database (after the restart): the case under its
    /// reference, with the description that was sent and `report` as its first event.
    async fn check(&self, store: &gridkeeper_store::SqliteStore, requests: &[Request]) -> anyhow::Result<Sigkill> {
        let mut lost = vec![];
        for a in &self.acks {
            let sent: serde_json::Value = serde_json::from_str(requests[a.request].body.as_deref().unwrap_or("{}"))?;
            let stored = match store.case_by_reference(&a.reference).await? {
                Some(case) if case.description == sent["description"].as_str().unwrap_or_default().trim() => {
                    let events = store.events(case.id).await?;
                    events.first().is_some_and(|e| e.event.action == gridkeeper_domain::Action::Report)
                }
                _ => false,
            };
            if !stored {
                lost.push(a.reference.clone());
            }
        }
        Ok(Sigkill {
            killed_after_s: self.at,
            acknowledged: self.acks.len(),
            found: self.acks.len() - lost.len(),
            lost: lost.len(),
            lost_references: lost.into_iter().take(10).collect(),
            cut: self.outcome.errors,
        })
    }
}

impl Sigkill {
    fn print(&self) {
        println!(
            "\nSIGKILL of the full server {:.1} s into a saturation run ({} requests cut): {} reports \
             acknowledged, {} found after the restart, {} lost",
            self.killed_after_s, self.cut, self.acknowledged, self.found, self.lost
        );
    }
}

fn print_runs(server: &str, runs: &[Outcome]) {
    println!(
        "\n| {server} | offered/s | reports/s | p50 ms | p99 ms | max ms | errors |\n|---|---|---|---|---|---|---|"
    );
    for r in runs {
        let offered = r.offered.map(|o| format!("{o:.0}")).unwrap_or_else(|| "saturation".into());
        println!(
            "| | {offered} | {:.0} | {:.2} | {:.2} | {:.1} | {} |",
            r.per_second, r.latency.p50_ms, r.latency.p99_ms, r.latency.max_ms, r.errors
        );
    }
}

/// A ceiling server of `intake`.
pub async fn ceiling_server(config: Config, args: CeilingArgs) -> anyhow::Result<()> {
    use axum::routing::post;
    let listener = tokio::net::TcpListener::bind(args.bind).await?;
    let router = match args.kind.as_str() {
        "bare" => axum::Router::new().route(
            "/api/v1/cases",
            post(|axum::Json(b): axum::Json<ReportBody>| async move {
                (
                    StatusCode::CREATED,
                    axum::Json(json!({ "case": { "description": b.description, "lat": b.lat, "lon": b.lon } })),
                )
            }),
        ),
        "raw" => {
            let db = args.db.as_deref().ok_or_else(|| anyhow::anyhow!("--db is required with --kind raw"))?;
            let store = super::open_sqlite(&super::db_config(&config, db)).await?;
            let writer = RawWriter::start(store).await?;
            axum::Router::new().route(
                "/api/v1/cases",
                post(move |axum::Json(b): axum::Json<ReportBody>| {
                    let writer = writer.clone();
                    async move {
                        match writer.write(b).await {
                            Ok(id) => (StatusCode::CREATED, axum::Json(json!({ "case": { "id": id } }))),
                            Err(e) => {
                                (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({ "detail": e.to_string() })))
                            }
                        }
                    }
                }),
            )
        }
        other => anyhow::bail!("unknown ceiling `{other}`: bare or raw"),
    }
    .route("/readyz", axum::routing::get(|| async { "ok" }));
    axum::serve(listener, router).await?;
    Ok(())
}

/// One writer task group-committing raw rows: the storage ceiling of intake.
#[derive(Clone)]
struct RawWriter {
    tx: mpsc::Sender<(ReportBody, oneshot::Sender<Result<i64, String>>)>,
}

impl RawWriter {
    async fn start(store: gridkeeper_store::SqliteStore) -> anyhow::Result<Self> {
        // One decided report serves as the template of every row (the ceiling decides nothing).
        let district = store
            .regions()
            .await?
            .into_iter()
            .find(|r| r.level() == RegionLevel::District)
            .map(|r| r.code.to_string())
            .unwrap_or_else(|| "330483".into());
        let report = NewReport {
            district: district.clone(),
            grid: None,
            location: Some(LatLon { lat: 30.0, lon: 120.0 }),
            address: None,
            description: "template".into(),
            urgency: Urgency::Routine,
            suggested_category: None,
            photos: vec![],
            anonymous: false,
            contact: None,
            source: None,
        };
        let template = gridkeeper_domain::report(&Actor::anonymous(), report, 0)?;
        let mut next_id: i64 = store.count_cases().await? + 1;
        let (tx, mut rx) = mpsc::channel::<(ReportBody, oneshot::Sender<Result<i64, String>>)>(4096);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(256);
            while rx.recv_many(&mut batch, 256).await > 0 {
                let now = chrono::Utc::now().timestamp_millis();
                let rows: Vec<_> = batch
                    .iter()
                    .enumerate()
                    .map(|(i, (b, _))| {
                        let mut case = template.case.clone();
                        let mut event = template.event.clone();
                        case.description = b.description.clone();
                        case.location = b.lat.zip(b.lon).map(|(lat, lon)| LatLon { lat, lon });
                        case.urgency = b.urgency.unwrap_or(Urgency::Routine);
                        case.suggested_category = b.category;
                        case.reported_at = now;
                        case.updated_at = now;
                        event.at = now;
                        event.data["description"] = json!(b.description);
                        let id = next_id + i as i64;
                        store.raw_case(id, format!("{district}-raw-{id}"), &case, &[event])
                    })
                    .collect();
                let first = next_id;
                next_id += rows.len() as i64;
                let done = store.raw_insert(&rows, false).await.map_err(|e| e.to_string());
                for (i, (_, reply)) in batch.drain(..).enumerate() {
                    let _ = reply.send(done.clone().map(|()| first + i as i64));
                }
            }
        });
        Ok(Self { tx })
    }

    async fn write(&self, body: ReportBody) -> anyhow::Result<i64> {
        let (reply, answer) = oneshot::channel();
        self.tx.send((body, reply)).await.map_err(|_| anyhow::anyhow!("the writer stopped"))?;
        answer.await?.map_err(|e| anyhow::anyhow!(e))
    }
}

#[cfg(test)]
mod tests {
    use gridkeeper_domain::{report, Actor, LatLon, NewReport, Urgency};
    use gridkeeper_store::prelude::*;
    use gridkeeper_store::{Intake, SqliteStore, Vault};

    use super::*;

    /// The check after the restart finds a stored report (description trimmed as stored) and
    /// counts as lost one that is missing or whose description differs.
    #[tokio::test]
    async fn the_check_after_sigkill_counts_what_is_lost() {
        let store = SqliteStore::open("sqlite::memory:", Arc::new(Vault::ephemeral())).await.unwrap();
        store.migrate().await.unwrap();
        let new = NewReport {
            district: "330483".into(),
            grid: None,
            location: Some(LatLon { lat: 30.0, lon: 120.0 }),
            address: None,
            description: "路灯不亮".into(),
            urgency: Urgency::Routine,
            suggested_category: None,
            photos: vec![],
            anonymous: false,
            contact: None,
            source: None,
        };
        let d = report(&Actor::anonymous(), new, 1).unwrap();
        let case =
            store.insert_case(Intake { decision: &d, year: 2026, tracking_hash: None, media: &[] }).await.unwrap();
        let body = |text: &str| Request {
            post: true,
            path: "/api/v1/cases".into(),
            body: Some(json!({ "description": text }).to_string()),
            expect: 201,
        };
        let requests = vec![body("路灯不亮 "), body("something else")];
        let ack = |request: usize, reference: &str| load::Acknowledged { request, reference: reference.into() };
        let outcome = load::Outcome {
            offered: None,
            connections: 1,
            seconds: 1.0,
            ok: 3,
            errors: 1,
            per_second: 3.0,
            latency: super::super::Latency::of(vec![1.0]),
        };
        let killed = Killed {
            at: 0.5,
            outcome,
            acks: vec![ack(0, &case.reference), ack(1, &case.reference), ack(0, "330483-2026-999999")],
        };
        let k = killed.check(&store, &requests).await.unwrap();
        assert_eq!((k.acknowledged, k.found, k.lost, k.cut), (3, 1, 2, 1));
        assert_eq!(k.lost_references, [case.reference.clone(), "330483-2026-999999".to_string()]);
    }
}
