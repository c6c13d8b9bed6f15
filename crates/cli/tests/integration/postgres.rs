//! What only PostgreSQL has to show: a server that loses its database answers 503 problem+json
//! (no hang, no panic) and recovers by itself. These tests always run on PostgreSQL
//! (`scripts/test` makes sure it is there).

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

    let target = TestDb::create_on(Backend::Postgres, &t.dir).await;
    let from = t.db_url.clone();
    let (ok, out, err) = gridkeeper(&t.dir, &["migrate-data", "--from", &from, "--to", &target.url]).await;
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("every count and checksum matches"), "{out}");
    let line = |table: &str| out.lines().find(|l| l.starts_with(&format!("{table} "))).unwrap().to_string();
    assert!(line("cases").split_whitespace().take(3).eq(["cases", "4", "4"]), "{out}");
    assert!(line("audit_log").ends_with("yes"), "{out}");
    assert!(!out.contains(" NO"), "{out}");

    // The copy is the same deployment: same cases, events, sealed contacts (same key), and new
    // cases continue the numbering.
    let pg = gridkeeper_store::open(&target.url, t.vault.clone()).await.unwrap();
    assert_eq!(pg.case(ids[0]).await.unwrap().unwrap(), source_case);
    assert_eq!(pg.events(ids[0]).await.unwrap(), source_events);
    assert_eq!(pg.case(ids[3]).await.unwrap().unwrap().contact.unwrap().phone.as_deref(), Some("13512340001"));
    assert_eq!(pg.audit_verify().await.unwrap(), t.store.audit_verify().await.unwrap());
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
