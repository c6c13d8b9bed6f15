//! Killing the real server process with SIGKILL, during and between requests, loses no report
//! that was acknowledged — also reports acknowledged together by one group commit.

use std::sync::Arc;
use std::time::Duration;

use gridkeeper_domain::{Grant, Role, Scope};
use gridkeeper_store::prelude::*;
use gridkeeper_store::{NewPerson, SqliteStore};
use serde_json::json;
use tokio::process::{Child, Command};
use tokio::sync::Mutex;

use crate::common::*;

pub(crate) struct Server {
    pub child: Child,
    pub base: String,
}

async fn start(dir: &std::path::Path, port: u16) -> Server {
    start_with(dir, port, &[]).await
}

/// Starts `gridkeeper serve` over `dir/crash.db` with these environment variables besides.
pub(crate) async fn start_with(dir: &std::path::Path, port: u16, env: &[(&str, String)]) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_gridkeeper"))
        .arg("serve")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .current_dir(dir)
        .env("GRIDKEEPER__DATABASE__URL", format!("sqlite:{}", dir.join("crash.db").display()))
        .env("GRIDKEEPER__SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("GRIDKEEPER__SERVER__MEDIA_DIR", dir.join("media"))
        // The case writer logs the size of each group it commits (see the end of the test).
        .env("GRIDKEEPER__LOG__LEVEL", "warn,gridkeeper_server::intake=debug")
        .env("NO_COLOR", "1")
        .stdout(log_file(dir))
        .kill_on_drop(true)
        .spawn()
        .expect("the gridkeeper binary starts");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    // The process needs a moment to open the database and bind; poll its health endpoint.
    for _ in 0..200 {
        if client.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
            return Server { child, base };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server did not become ready");
}

/// The servers' log, appended to by every start.
fn log_file(dir: &std::path::Path) -> std::fs::File {
    std::fs::OpenOptions::new().create(true).append(true).open(dir.join("server.log")).unwrap()
}

/// Sizes of the groups the case writer committed, from the servers' log.
fn group_sizes(dir: &std::path::Path) -> Vec<usize> {
    std::fs::read_to_string(dir.join("server.log"))
        .unwrap()
        .lines()
        .filter(|l| l.contains("group commit"))
        .filter_map(|l| l.split("cases=").nth(1)?.split_whitespace().next()?.parse().ok())
        .collect()
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Posts reports from `workers` concurrent clients until `stop` is set; returns the
/// acknowledged (reference, description) pairs.
async fn load(
    base: String,
    workers: usize,
    round: usize,
    acked: Arc<Mutex<Vec<(String, String)>>>,
    stop: Arc<tokio::sync::Notify>,
) {
    let mut tasks = vec![];
    for w in 0..workers {
        let (base, acked, stop) = (base.clone(), acked.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            for i in 0.. {
                let description = format!("round {round} worker {w} report {i}");
                let send = client
                    .post(format!("{base}/api/v1/cases"))
                    .json(&json!({ "description": description, "lat": IN_GRID1.0, "lon": IN_GRID1.1 }))
                    .send();
                let r = tokio::select! {
                    r = send => r,
                    _ = stop.notified() => return,
                };
                let Ok(r) = r else { return };
                if r.status() != 201 {
                    return;
                }
                let Ok(body) = r.json::<serde_json::Value>().await else { return };
                let reference = body["case"]["reference"].as_str().unwrap().to_string();
                acked.lock().await.push((reference, description));
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

/// A database at `dir/crash.db` with the fixture's reference data and a dispatcher whose token is
/// `crash-token`, and the keys in `dir/gridkeeper.keys` where the server reads them.
pub(crate) async fn seed(dir: &std::path::Path) {
    // The server reads its keys from gridkeeper.keys in its working folder; seed the same keys.
    let (key, index) = (gridkeeper_store::Vault::generate_key("k1"), gridkeeper_store::Vault::generate_index_key());
    std::fs::write(dir.join("gridkeeper.keys"), format!("keys = [\"{key}\"]\nindex_key = \"{index}\"\n")).unwrap();
    {
        let vault = Arc::new(gridkeeper_store::Vault::new(&[key], &index).unwrap());
        let store = SqliteStore::open(&format!("sqlite:{}", dir.join("crash.db").display()), vault).await.unwrap();
        store.migrate().await.unwrap();
        store.load_reference(&reference()).await.unwrap();
        let grants = vec![Grant::new(Role::Dispatcher, Scope::parse("region:330483").unwrap()).unwrap()];
        let p = NewPerson {
            login: "dispatcher".into(),
            name: "d".into(),
            phone: None,
            id_number: None,
            password_hash: None,
            grants,
        };
        let id = store.create_person(&p, 0).await.unwrap();
        let token_hash = gridkeeper_server::auth::token_hash("crash-token");
        store.create_session(&token_hash, id, 0, i64::MAX).await.unwrap();
    }
}

#[tokio::test]
async fn sigkill_loses_no_acknowledged_report() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path()).await;
    let acked = Arc::new(Mutex::new(Vec::new()));
    for round in 0..3 {
        let server = start(dir.path(), free_port()).await;
        let stop = Arc::new(tokio::sync::Notify::new());
        // Enough concurrent clients that reports arrive while a group is being committed.
        let loader = tokio::spawn(load(server.base.clone(), 16, round, acked.clone(), stop.clone()));
        // Let acknowledged reports pile up, then kill the process in the middle of the traffic.
        let target = (round + 1) * 60;
        for _ in 0..400 {
            if acked.lock().await.len() >= target {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut child = server.child;
        child.start_kill().unwrap();
        child.wait().await.unwrap();
        stop.notify_waiters();
        loader.await.unwrap();
        if round == 2 {
            // And once more between requests: restart, stay idle, kill.
            let idle = start(dir.path(), free_port()).await;
            let mut c = idle.child;
            c.start_kill().unwrap();
            c.wait().await.unwrap();
        }
    }
    let acked = acked.lock().await.clone();
    assert!(acked.len() >= 150, "only {} reports were acknowledged", acked.len());
    // Reports were acknowledged through group commit: groups of more than one were committed.
    let groups = group_sizes(dir.path());
    assert!(groups.iter().sum::<usize>() >= acked.len(), "every acknowledged report was in a logged group");
    assert!(groups.iter().any(|&n| n > 1), "no group held more than one report: {groups:?}");

    let server = start(dir.path(), free_port()).await;
    let client = reqwest::Client::new();
    for (reference, description) in &acked {
        let r = client
            .get(format!("{}/api/v1/cases/{reference}", server.base))
            .bearer_auth("crash-token")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "acknowledged report {reference} was lost");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["case"]["description"], description.as_str());
        assert_eq!(body["timeline"][0]["action"], "report");
    }
    let mut refs: Vec<&String> = acked.iter().map(|(r, _)| r).collect();
    refs.sort();
    refs.dedup();
    assert_eq!(refs.len(), acked.len(), "references are unique");
}
