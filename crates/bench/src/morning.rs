//! `gridkeeper-bench morning`: a linkage center's busy morning on a database made by `generate`.
//! Reports arrive at a set rate while dispatchers page the attention queue and accept and
//! dispatch what is new, department staff page their queue, sign, upload a photo and submit
//! their result, leaders open the dashboard (ten requests at once, as the web app asks), every
//! console listens to the live feed, and the server's clock job runs each minute. Each kind of
//! request is first timed alone (one person, nothing else running), then in the crowd; the run
//! fails when a request is answered otherwise than its kind allows or an acknowledged report is
//! not stored.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use gridkeeper::config::Config;
use gridkeeper_domain::Scope;
use gridkeeper_store::prelude::*;
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::Serialize;
use serde_json::{json, Value};

use super::load;
use super::Latency;

#[derive(clap::Args)]
pub struct MorningArgs {
    /// A database made by `gridkeeper-bench generate`.
    #[arg(long, default_value = "target/bench/big.db")]
    pub db: PathBuf,
    /// Seconds of the morning.
    #[arg(long, default_value_t = 300.0)]
    pub seconds: f64,
    /// Seconds each kind of request is timed alone first.
    #[arg(long, default_value_t = 10.0)]
    pub alone_seconds: f64,
    /// Reports offered per second.
    #[arg(long, default_value_t = 1000.0)]
    pub reports_per_second: f64,
    #[arg(long, default_value_t = 50)]
    pub dispatchers: usize,
    #[arg(long, default_value_t = 200)]
    pub staff: usize,
    #[arg(long, default_value_t = 20)]
    pub leaders: usize,
    /// Seconds a dispatcher or a member of staff looks at a case between two actions.
    #[arg(long, default_value_t = 2.0)]
    pub think_seconds: f64,
    /// Seconds between two dashboards a leader opens.
    #[arg(long, default_value_t = 10.0)]
    pub dashboard_seconds: f64,
}

/// Latencies per kind of request, and the answers that were not what the kind expects.
#[derive(Default)]
struct Tally {
    ms: BTreeMap<&'static str, Vec<f64>>,
    errors: BTreeMap<&'static str, u64>,
    /// 409: another person acted on the case first (expected in a crowd, counted apart).
    conflicts: BTreeMap<&'static str, u64>,
    examples: Vec<String>,
}

type Shared = Arc<Mutex<Tally>>;

/// One person's session and what they act for.
#[derive(Clone)]
struct Person {
    token: String,
    department: Option<i64>,
    /// A grid leader's community: the region of their dashboard (others see the district's).
    community: Option<String>,
}

#[derive(Clone)]
struct Ctx {
    base: String,
    client: reqwest::Client,
    district: String,
    /// Subclasses that may be chosen on acceptance, with the department they go to.
    categories: Arc<Vec<(i64, i64)>>,
    think: Duration,
    dashboard_every: Duration,
}

impl Ctx {
    /// Sends a request, times it under `kind`, and answers its JSON when it succeeded.
    async fn call(&self, tally: &Shared, kind: &'static str, req: reqwest::RequestBuilder) -> Option<Value> {
        let t = Instant::now();
        let outcome = match req.send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                let body = r.bytes().await.unwrap_or_default();
                Ok((status, body))
            }
            Err(e) => Err(e.to_string()),
        };
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        let mut tally = tally.lock().unwrap_or_else(|e| e.into_inner());
        match outcome {
            Ok((200 | 201, body)) => {
                tally.ms.entry(kind).or_default().push(ms);
                serde_json::from_slice(&body).ok()
            }
            Ok((409, _)) => {
                *tally.conflicts.entry(kind).or_default() += 1;
                None
            }
            other => {
                *tally.errors.entry(kind).or_default() += 1;
                if tally.examples.len() < 10 {
                    let what = match other {
                        Ok((status, body)) => {
                            format!("{status} {}", String::from_utf8_lossy(&body[..body.len().min(300)]))
                        }
                        Err(e) => e,
                    };
                    tally.examples.push(format!("{kind}: {what}"));
                }
                None
            }
        }
    }

    /// A page of cases (timed as `kind`), and one of them on which `who` may take `action`.
    async fn pick(
        &self,
        tally: &Shared,
        kind: &'static str,
        who: &Person,
        path: &str,
        action: &str,
        rng: &mut StdRng,
    ) -> Option<Value> {
        let page = self.call(tally, kind, self.get(who, path)).await?;
        let mut open: Vec<Value> = page["items"].as_array()?.iter().filter(|c| may(c, action)).cloned().collect();
        (!open.is_empty()).then(|| open.swap_remove(rng.gen_range(0..open.len())))
    }

    fn get(&self, who: &Person, path: &str) -> reqwest::RequestBuilder {
        self.client.get(format!("{}{path}", self.base)).bearer_auth(&who.token)
    }

    fn act(&self, who: &Person, case: &Value, action: &str, mut body: Value) -> reqwest::RequestBuilder {
        body["version"] = case["version"].clone();
        self.client
            .post(format!("{}/api/v1/cases/{}/actions/{action}", self.base, case["id"]))
            .bearer_auth(&who.token)
            .json(&body)
    }
}

fn may(case: &Value, action: &str) -> bool {
    case["allowed_actions"].as_array().is_some_and(|a| a.iter().any(|x| x == action))
}

/// A dispatcher: the attention queue of the district, then a new report accepted into a category
/// and dispatched to its department.
async fn dispatcher(ctx: Ctx, who: Person, tally: Shared, end: Instant, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    while Instant::now() < end {
        // The attention queue by deadline (what the console shows; overdue cases first on a
        // database of years), then the new reports, newest first, one of which is taken.
        let attention = format!("/api/v1/cases?attention=true&sort=deadline&region={}&limit=50", ctx.district);
        ctx.call(&tally, "attention queue, a page of 50", ctx.get(&who, &attention)).await;
        let path = format!("/api/v1/cases?state=reported&region={}&limit=50", ctx.district);
        if let Some(case) = ctx.pick(&tally, "new reports, a page of 50", &who, &path, "accept", &mut rng).await {
            let (category, department) = ctx.categories[rng.gen_range(0..ctx.categories.len())];
            let accept = ctx.act(&who, &case, "accept", json!({ "category": category, "urgency": "routine" }));
            if let Some(answer) = ctx.call(&tally, "accept", accept).await {
                let dispatch = ctx.act(&who, &answer["case"], "dispatch", json!({ "lead_department": department }));
                ctx.call(&tally, "dispatch", dispatch).await;
            }
        }
        tokio::time::sleep(ctx.think.mul_f64(rng.gen_range(0.5..1.5))).await;
    }
}

/// A member of department staff: the department's dispatched cases, one signed, a photo of the
/// work uploaded, the result submitted.
async fn staff(ctx: Ctx, who: Person, tally: Shared, end: Instant, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let department = who.department.unwrap_or_default();
    while Instant::now() < end {
        let path = format!("/api/v1/cases?department={department}&state=dispatched&limit=20");
        if let Some(case) = ctx.pick(&tally, "department queue, a page of 20", &who, &path, "sign", &mut rng).await {
            if let Some(signed) = ctx.call(&tally, "sign", ctx.act(&who, &case, "sign", json!({}))).await {
                let photo = reqwest::multipart::Part::bytes(PNG.to_vec()).file_name("done.png").mime_str("image/png");
                let upload = ctx
                    .client
                    .post(format!("{}/api/v1/media", ctx.base))
                    .bearer_auth(&who.token)
                    .multipart(reqwest::multipart::Form::new().part("file", photo.expect("image/png is a type")));
                if let Some(media) = ctx.call(&tally, "photo upload", upload).await {
                    let submit = ctx.act(
                        &who,
                        &signed["case"],
                        "submit_result",
                        json!({ "note": "已处理完毕", "evidence": [media["id"]] }),
                    );
                    ctx.call(&tally, "submit result", submit).await;
                }
            }
        }
        tokio::time::sleep(ctx.think.mul_f64(rng.gen_range(0.5..1.5))).await;
    }
}

/// A leader opening the dashboard: the measures of the last 30 days, six slices of them for the
/// trend, and the three rankings, all at once as the web app asks them.
async fn leader(ctx: Ctx, who: Person, tally: Shared, end: Instant, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    tokio::time::sleep(ctx.dashboard_every.mul_f64(rng.gen_range(0.0..1.0))).await;
    while Instant::now() < end {
        let to = chrono::Utc::now();
        let from = to - chrono::Duration::days(30);
        let at = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let region = who.community.as_ref().map(|c| format!("&region={c}")).unwrap_or_default();
        let mut paths = vec![format!("/api/v1/measures?from={}&to={}{region}", at(from), at(to))];
        for i in 0..6 {
            let a = from + (to - from) * i / 6;
            let b = from + (to - from) * (i + 1) / 6;
            paths.push(format!("/api/v1/measures?from={}&to={}{region}", at(a), at(b)));
        }
        for kind in ["department", "grid", "grid_member"] {
            paths.push(format!("/api/v1/assessment?kind={kind}&from={}&to={}{region}", at(from), at(to)));
        }
        let t = Instant::now();
        let answers = futures::future::join_all(
            paths.iter().map(|p| ctx.call(&tally, "dashboard: one of its requests", ctx.get(&who, p))),
        )
        .await;
        if answers.iter().all(Option::is_some) {
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            tally
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .ms
                .entry("dashboard, 10 requests at once")
                .or_default()
                .push(ms);
        }
        tokio::time::sleep(ctx.dashboard_every.mul_f64(rng.gen_range(0.5..1.5))).await;
    }
}

/// A console's live feed: the `case` events it is told until the end.
async fn listen(ctx: Ctx, who: Person, end: Instant) -> u64 {
    let Ok(mut resp) = ctx.get(&who, "/api/v1/events").timeout(Duration::from_secs(3600)).send().await else {
        return 0;
    };
    let mut events = 0;
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(end.into(), resp.chunk()).await {
        events += chunk.windows(11).filter(|w| w == b"event: case").count() as u64;
    }
    events
}

/// A 1×1 PNG, the photo of the work done.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49,
    0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0xfc, 0xcf, 0xc0, 0x50, 0x0f, 0x00, 0x04, 0x85, 0x01, 0x80, 0x84, 0xa9, 0x8c,
    0x21, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

#[derive(Debug, Serialize)]
struct Kind {
    kind: String,
    alone: Option<Latency>,
    crowd: Latency,
    errors: u64,
    conflicts: u64,
}

#[derive(Debug, Serialize)]
struct Morning {
    cases_before: i64,
    seconds: f64,
    reports_offered_per_second: f64,
    reports: load::Outcome,
    reports_alone: load::Outcome,
    reports_stored: i64,
    dispatchers: usize,
    staff: usize,
    leaders: usize,
    feed_events: u64,
    kinds: Vec<Kind>,
    rss_peak_mb: f64,
    machine: super::Machine,
}

/// The people of the morning: a session for each login, made for this run.
async fn sessions(config: &Config, db: &std::path::Path, logins: &[String]) -> anyhow::Result<Vec<Person>> {
    let store = super::open_sqlite(&super::db_config(config, db)).await?;
    let now = chrono::Utc::now().timestamp_millis();
    let mut out = vec![];
    for login in logins {
        let p = store.person_by_login(login).await?.with_context(|| format!("the demo has {login}"))?;
        let token = format!("bench-morning-{login}-{now}");
        store.create_session(&gridkeeper_server::auth::token_hash(&token), p.id, now, i64::MAX).await?;
        let department = p.grants.iter().find_map(|g| match g.scope {
            Scope::Department { id } => Some(id),
            _ => None,
        });
        let community = p.grants.iter().find_map(|g| match &g.scope {
            Scope::Region { code } if g.role == gridkeeper_domain::Role::GridLeader => Some(code.to_string()),
            _ => None,
        });
        out.push(Person { token, department, community });
    }
    store.close().await;
    Ok(out)
}

pub async fn run(config: Config, args: MorningArgs) -> anyhow::Result<()> {
    let departments = {
        let store = super::open_sqlite(&super::db_config(&config, &args.db)).await?;
        let n = store.departments().await?.len();
        store.close().await;
        n
    };
    let logins = |prefix: &str, n: usize| (1..=n).map(|i| format!("{prefix}{i:02}")).collect::<Vec<_>>();
    let dispatch_logins = vec!["dispatcher".to_string(), "dispatcher02".into(), "dispatcher03".into()];
    let desks = sessions(&config, &args.db, &dispatch_logins).await?;
    let depts = sessions(&config, &args.db, &logins("dept", departments)).await?;
    let mut boards = sessions(&config, &args.db, &["supervisor".to_string()]).await?;
    boards.extend(sessions(&config, &args.db, &logins("leader", 10)).await.unwrap_or_default());

    let served = super::queries::serve(&config, &args.db).await?;
    let categories: Vec<(i64, i64)> = served
        .reference
        .categories
        .iter()
        .filter(|c| c.parent_id.is_some() && c.kind != gridkeeper_domain::CategoryKind::Hazard)
        .filter_map(|c| c.default_department.map(|d| (c.id, d)))
        .collect();
    anyhow::ensure!(!categories.is_empty(), "the database has subclasses with departments");
    let ctx = Ctx {
        base: served.base.clone(),
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(512)
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(60))
            .build()?,
        district: served.district.clone(),
        categories: Arc::new(categories),
        think: Duration::from_secs_f64(args.think_seconds),
        dashboard_every: Duration::from_secs_f64(args.dashboard_seconds),
    };
    let texts = ["井盖破损，存在安全隐患".to_string(), "路灯不亮，夜间行人看不清".to_string()];
    let reports: Vec<load::Request> = super::intake::report_bodies(&served.reference, &texts, 20_000, 9)
        .into_iter()
        .map(|body| load::Request { post: true, path: "/api/v1/cases".into(), body: Some(body), expect: 201 })
        .collect();
    let reports = Arc::new(reports);
    let report_connections = 64;

    // Alone: each kind of request with one person and nothing else running.
    let alone = Arc::new(Mutex::new(Tally::default()));
    let d = Duration::from_secs_f64(args.alone_seconds);
    let reports_alone = load::run(&ctx.base, None, reports.clone(), 1, None, d).await?;
    dispatcher(Ctx { think: Duration::ZERO, ..ctx.clone() }, desks[0].clone(), alone.clone(), Instant::now() + d, 1)
        .await;
    staff(Ctx { think: Duration::ZERO, ..ctx.clone() }, depts[0].clone(), alone.clone(), Instant::now() + d, 2).await;
    leader(
        Ctx { dashboard_every: Duration::ZERO, ..ctx.clone() },
        boards[0].clone(),
        alone.clone(),
        Instant::now() + d,
        3,
    )
    .await;

    // The morning.
    let cases_before = count_cases(&config, &args).await?;
    let crowd = Arc::new(Mutex::new(Tally::default()));
    let end = Instant::now() + Duration::from_secs_f64(args.seconds);
    let mut tasks = tokio::task::JoinSet::new();
    let mut feeds = tokio::task::JoinSet::new();
    for i in 0..args.dispatchers {
        let who = desks[i % desks.len()].clone();
        tasks.spawn(dispatcher(ctx.clone(), who.clone(), crowd.clone(), end, 100 + i as u64));
        feeds.spawn(listen(ctx.clone(), who, end));
    }
    for i in 0..args.staff {
        let who = depts[i % depts.len()].clone();
        tasks.spawn(staff(ctx.clone(), who.clone(), crowd.clone(), end, 1000 + i as u64));
        feeds.spawn(listen(ctx.clone(), who, end));
    }
    for i in 0..args.leaders {
        let who = boards[i % boards.len()].clone();
        tasks.spawn(leader(ctx.clone(), who.clone(), crowd.clone(), end, 5000 + i as u64));
        feeds.spawn(listen(ctx.clone(), who, end));
    }
    let pid = served.child.id().unwrap_or(0);
    let intake = load::run(
        &ctx.base,
        None,
        reports,
        report_connections,
        Some(args.reports_per_second),
        Duration::from_secs_f64(args.seconds),
    )
    .await?;
    while tasks.join_next().await.is_some() {}
    let mut feed_events = 0;
    while let Some(n) = feeds.join_next().await {
        feed_events += n.unwrap_or(0);
    }
    let rss_peak_mb = load::memory_mb(pid).map_or(f64::NAN, |m| m.0);
    drop(served);
    let reports_stored = count_cases(&config, &args).await? - cases_before;

    let (alone, crowd) = (take(&alone), take(&crowd));
    let mut kinds = vec![];
    for (kind, ms) in &crowd.ms {
        kinds.push(Kind {
            kind: kind.to_string(),
            alone: alone.ms.get(kind).map(|m| Latency::of(m.clone())),
            crowd: Latency::of(ms.clone()),
            errors: crowd.errors.get(kind).copied().unwrap_or(0),
            conflicts: crowd.conflicts.get(kind).copied().unwrap_or(0),
        });
    }
    let report = Morning {
        cases_before,
        seconds: args.seconds,
        reports_offered_per_second: args.reports_per_second,
        reports: intake.clone(),
        reports_alone: reports_alone.clone(),
        reports_stored,
        dispatchers: args.dispatchers,
        staff: args.staff,
        leaders: args.leaders,
        feed_events,
        kinds,
        rss_peak_mb,
        machine: super::Machine::read(),
    };
    println!(
        "\n| a morning on {} cases, {:.0} s: {} dispatchers, {} staff, {} leaders, reports at {:.0}/s offered | n | p50 ms | p99 ms | alone p50 | alone p99 | errors | 409 |",
        cases_before, args.seconds, args.dispatchers, args.staff, args.leaders, args.reports_per_second
    );
    println!("|---|---|---|---|---|---|---|---|");
    let l = &intake.latency;
    println!(
        "| report | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} | — |",
        intake.ok, l.p50_ms, l.p99_ms, reports_alone.latency.p50_ms, reports_alone.latency.p99_ms, intake.errors
    );
    for k in &report.kinds {
        let (a50, a99) = k.alone.as_ref().map_or((f64::NAN, f64::NAN), |a| (a.p50_ms, a.p99_ms));
        println!(
            "| {} | {} | {:.1} | {:.1} | {a50:.1} | {a99:.1} | {} | {} |",
            k.kind, k.crowd.count, k.crowd.p50_ms, k.crowd.p99_ms, k.errors, k.conflicts
        );
    }
    println!(
        "reports: {} acknowledged, {} stored; {:.0} reports/s; live feed: {feed_events} case events told; server RSS peak {rss_peak_mb:.0} MB",
        intake.ok, reports_stored, intake.per_second
    );
    for e in &crowd.examples {
        println!("unexpected answer: {e}");
    }
    super::write_json("morning", &report)?;
    anyhow::ensure!(reports_stored == intake.ok as i64, "acknowledged reports were not all stored");
    anyhow::ensure!(crowd.errors.is_empty() && intake.errors == 0, "requests were answered otherwise than expected");
    Ok(())
}

async fn count_cases(config: &Config, args: &MorningArgs) -> anyhow::Result<i64> {
    let store = super::open_sqlite(&super::db_config(config, &args.db)).await?;
    let n = store.count_cases().await?;
    store.close().await;
    Ok(n)
}

fn take(t: &Shared) -> Tally {
    std::mem::take(&mut *t.lock().unwrap_or_else(|e| e.into_inner()))
}
