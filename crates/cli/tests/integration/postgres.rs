//! What only PostgreSQL has to show: a server that loses its database answers 503 problem+json
//! (no hang, no panic) and recovers by itself; `migrate-data` from SQLite; two server processes
//! sharing one database, whose live feeds cross through LISTEN/NOTIFY. These tests always run on
//! PostgreSQL (`scripts/test` makes sure it is there).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gridkeeper_store::Backend;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::common::*;

/// A TCP proxy in front of PostgreSQL that can cut every connection and refuse new ones, as a
/// database that went away would, and let them through again.
struct Proxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
    _accept: JoinHandle<()>,
}

impl Proxy {
    async fn start(target: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (up2, links2) = (up.clone(), links.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let link = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                links2.lock().unwrap().push(link);
            }
        });
        Proxy { addr, up, links, _accept: accept }
    }

    /// Closes every open connection and refuses new ones.
    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_lost_database_is_a_503_and_the_server_recovers_by_itself() {
    let proxy = Proxy::start("127.0.0.1:5432").await;
    let t = TestApp::spawn_with(Backend::Postgres, Some(proxy.addr), |_| {}).await;
    let id = id_of(&t.report(Some("resident"), IN_GRID1, Some(MANHOLE)).await);
    let path = format!("/api/v1/cases/{id}");
    t.get(Some("dispatcher"), &path).await.ok();

    proxy.cut();
    for _ in 0..2 {
        let started = Instant::now();
        let r = t.get(Some("dispatcher"), &path).await;
        r.problem(503, None);
        assert!(started.elapsed() < Duration::from_secs(10), "answered only after {:?}", started.elapsed());
        let report = t.post(
            Some("resident"),
            "/api/v1/cases",
            json!({ "description": "井盖丢了", "lat": IN_GRID1.0, "lon": IN_GRID1.1 }),
        );
        report.await.problem(503, None);
        let ready = t.client.get(format!("{}/readyz", t.base)).send().await.unwrap();
        assert_eq!(ready.status(), 503);
        assert_eq!(ready.headers()["retry-after"], "5");
    }

    proxy.restore();
    // The pool drops the dead connections and opens new ones: no restart needed.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = t.get(Some("dispatcher"), &path).await;
        if r.status == 200 {
            assert_eq!(id_of(&r.body), id);
            break;
        }
        r.problem(503, None);
        assert!(Instant::now() < deadline, "the server did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let again = id_of(&t.report(Some("resident"), IN_GRID1, Some(MANHOLE)).await);
    assert!(again > id);
}

/// Runs the real binary with these arguments; returns its status, stdout and stderr.
async fn gridkeeper(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_gridkeeper"))
        .args(args)
        .current_dir(dir)
        .env("GRIDKEEPER__LOG__LEVEL", "warn")
        .output()
        .await
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn migrate_data_moves_a_sqlite_deployment_to_postgres_with_nothing_lost() {
    // A SQLite deployment with cases in several states, sealed contacts, sessions and an audit log.
    let t = TestApp::spawn_with(Backend::Sqlite, None, |_| {}).await;
    let mut ids = vec![];
    for i in 0..4 {
        let r = t
            .post(
                Some("resident"),
                "/api/v1/cases",
                json!({ "description": format!("井盖 {i}"), "lat": IN_GRID1.0, "lon": IN_GRID1.1, "category": MANHOLE,
                        "contact_name": "陈阿姨", "contact_phone": "13512340001" }),
            )
            .await;
        ids.push(id_of(r.ok()));
    }
    t.act("dispatcher", ids[0], "accept", json!({ "category": MANHOLE, "urgency": "urgent" })).await;
    t.act("dispatcher", ids[1], "reject", json!({ "reason": "invalid", "note": "不是问题" })).await;
    t.post(Some("dispatcher"), &format!("/api/v1/cases/{}/reveal", ids[2]), json!({})).await.ok();
    let source_events = t.store.events(ids[0]).await.unwrap();
    let source_case = t.store.case(ids[0]).await.unwrap().unwrap();
    // A triage model: bytes (BLOB / BYTEA), every value of 0..=255.
    let bytes: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    let model = gridkeeper_store::NewTriageModel {
        trained_at: 5,
        trained_by: None,
        examples: 60,
        format: 1,
        model: &bytes,
        departments: "{}",
    };
    t.store.put_triage_model(&model).await.unwrap();
    // The notices of those steps fanned out now, not by the server's worker in the middle of the
    // copy (which then finds the outbox and the notices of two different moments).
    gridkeeper_server::notices::round_once(&t.app).await.unwrap();

    let target = TestDb::create_on(Backend::Postgres, &t.dir).await;
    let from = t.db_url.clone();
    let (ok, out, err) = gridkeeper(&t.dir, &["migrate-data", "--from", &from, "--to", &target.url]).await;
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("every count and checksum matches"), "{out}");
    let line = |table: &str| out.lines().find(|l| l.starts_with(&format!("{table} "))).unwrap().to_string();
    assert!(line("cases").split_whitespace().take(3).eq(["cases", "4", "4"]), "{out}");
    assert!(line("audit_log").ends_with("yes"), "{out}");
    // (A line of the table that does not match ends with NO; a slow-statement warning of a loaded
    // machine may print SQL holding "NOT NULL".)
    assert!(!out.lines().any(|l| l.trim_end().ends_with(" NO")), "{out}");

    // The copy is the same deployment: same cases, events, sealed contacts (same key), and new
    // cases continue the numbering.
    let pg = gridkeeper_store::open(&target.url, t.vault.clone()).await.unwrap();
    assert_eq!(pg.case(ids[0]).await.unwrap().unwrap(), source_case);
    assert_eq!(pg.events(ids[0]).await.unwrap(), source_events);
    assert_eq!(pg.case(ids[3]).await.unwrap().unwrap().contact.unwrap().phone.as_deref(), Some("13512340001"));
    assert_eq!(pg.audit_verify().await.unwrap(), t.store.audit_verify().await.unwrap());
    assert_eq!(pg.triage_model().await.unwrap(), t.store.triage_model().await.unwrap());
    let p = gridkeeper_store::NewPerson {
        login: "new".into(),
        name: "新人".into(),
        phone: None,
        id_number: None,
        password_hash: None,
        grants: vec![],
    };
    let person = pg.create_person(&p, 0).await.unwrap();
    assert!(person > t.store.person_by_login("admin").await.unwrap().unwrap().id);

    // A second run into a database that holds data is refused.
    let (ok, out, err) = gridkeeper(&t.dir, &["migrate-data", "--from", &from, "--to", &target.url]).await;
    assert!(!ok, "{out}");
    assert!(err.contains("not empty"), "{err}");
    // And a source that does not exist is named.
    let (ok, _, err) = gridkeeper(&t.dir, &["migrate-data", "--from", "sqlite:nowhere.db", "--to", &target.url]).await;
    assert!(!ok && err.contains("no SQLite database"), "{err}");
}

/// A `gridkeeper serve` process on `port`, killed when dropped.
async fn serve(dir: &std::path::Path, url: &str, port: u16) -> tokio::process::Child {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_gridkeeper"))
        .arg("serve")
        .current_dir(dir)
        .env("GRIDKEEPER__DATABASE__URL", url)
        .env("GRIDKEEPER__SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("GRIDKEEPER__SERVER__MEDIA_DIR", dir.join("media"))
        .env("GRIDKEEPER__LOG__LEVEL", "warn")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    for _ in 0..400 {
        if client.get(format!("http://127.0.0.1:{port}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server on port {port} did not become ready");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The `case` events of a Server-Sent Events stream.
struct Events {
    resp: reqwest::Response,
    buf: String,
}

impl Events {
    async fn open(base: &str, token: &str) -> Self {
        let resp = reqwest::Client::new().get(format!("{base}/api/v1/events")).bearer_auth(token).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let mut e = Events { resp, buf: String::new() };
        assert_eq!(e.next(Duration::from_secs(5)).await.0, "ready");
        e
    }

    async fn next(&mut self, within: Duration) -> (String, serde_json::Value) {
        tokio::time::timeout(within, async {
            loop {
                if let Some(end) = self.buf.find("\n\n") {
                    let frame: String = self.buf.drain(..end + 2).collect();
                    let kind = frame.lines().find_map(|l| l.strip_prefix("event:")).map(|k| k.trim().to_string());
                    let data: String = frame.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim).collect();
                    match kind {
                        Some(kind) => return (kind, serde_json::from_str(&data).unwrap()),
                        None => continue, // keep-alive
                    }
                }
                let chunk = self.resp.chunk().await.unwrap().expect("the stream ended");
                self.buf.push_str(std::str::from_utf8(&chunk).unwrap());
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no event within {within:?}"))
    }
}

#[tokio::test]
async fn an_sse_client_of_one_instance_sees_a_case_reported_on_another_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create_on(Backend::Postgres, dir.path()).await;
    let store = gridkeeper_store::open(&db.url, Arc::new(gridkeeper_store::Vault::ephemeral())).await.unwrap();
    store.migrate().await.unwrap();
    store.load_reference(&reference()).await.unwrap();
    drop(store);
    let cmd = |args: &'static [&'static str]| {
        let (url, dir) = (db.url.clone(), dir.path().to_path_buf());
        async move {
            let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_gridkeeper"))
                .args(args)
                .current_dir(&dir)
                .env("GRIDKEEPER__DATABASE__URL", url)
                .env("GRIDKEEPER__LOG__LEVEL", "warn")
                .output()
                .await
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        }
    };
    cmd(&["user", "add", "center", "--name", "调度", "--grant", "dispatcher=region:330483"]).await;
    let token = cmd(&["user", "token", "center", "--name", "sse"]).await;

    // Two instances over one PostgreSQL, each with its own process, port and live feed.
    let (pa, pb) = (free_port(), free_port());
    let _a = serve(dir.path(), &db.url, pa).await;
    let _b = serve(dir.path(), &db.url, pb).await;
    let (a, b) = (format!("http://127.0.0.1:{pa}"), format!("http://127.0.0.1:{pb}"));
    let mut on_b = Events::open(&b, &token).await;
    let mut on_a = Events::open(&a, &token).await;

    let started = std::time::Instant::now();
    let r = reqwest::Client::new()
        .post(format!("{a}/api/v1/cases"))
        .json(&json!({ "description": "井盖丢了", "lat": IN_GRID1.0, "lon": IN_GRID1.1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = id_of(&r.json().await.unwrap());
    let (kind, n) = on_b.next(Duration::from_secs(1)).await;
    assert_eq!((kind.as_str(), n["id"].as_i64(), n["action"].as_str()), ("case", Some(id), Some("report")));
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    assert_eq!(on_a.next(Duration::from_secs(1)).await.1["id"], id);

    // And the other way round: an action on B reaches A's listener.
    let r = reqwest::Client::new()
        .post(format!("{b}/api/v1/cases/{id}/actions/accept"))
        .bearer_auth(&token)
        .json(&json!({ "category": MANHOLE, "urgency": "routine" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, n) = on_a.next(Duration::from_secs(1)).await;
    assert_eq!((n["id"].as_i64(), n["action"].as_str()), (Some(id), Some("accept")));
}
