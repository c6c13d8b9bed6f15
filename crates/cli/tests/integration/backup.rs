//! `gridkeeper backup` while the server takes reports, and `gridkeeper restore` of that backup
//! into a new database (SQLite: `VACUUM INTO`; PostgreSQL: pg_dump and pg_restore).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use gridkeeper_store::{AuditCheck, Backend};
use serde_json::json;

use crate::common::*;

fn gridkeeper(t: &TestApp, url: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_gridkeeper"))
        .args(args)
        .current_dir(&t.dir)
        .env("GRIDKEEPER__DATABASE__URL", url)
        .env("GRIDKEEPER__LOG__LEVEL", "warn")
        .output()
        .unwrap()
}

#[tokio::test]
async fn a_backup_taken_while_serving_restores_every_acknowledged_case() {
    let t = Arc::new(TestApp::spawn().await);
    let mut before = vec![];
    for _ in 0..5 {
        before.push(id_of(&t.report(Some("resident"), IN_GRID1, Some(MANHOLE)).await));
    }
    t.act("dispatcher", before[0], "accept", json!({ "category": MANHOLE, "urgency": "routine" })).await;
    t.post(None, "/api/v1/session", json!({ "login": "dispatcher", "password": PASSWORD })).await.ok();

    // Residents keep reporting while the backup is taken.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (t, stop) = (t.clone(), stop.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) && n < 500 {
                let r = t
                    .post(
                        Some("resident"),
                        "/api/v1/cases",
                        json!({ "description": "路灯不亮", "lat": IN_GRID2.0, "lon": IN_GRID2.1 }),
                    )
                    .await;
                assert_eq!(r.status, 201, "{r:?}");
                n += 1;
            }
            n
        })
    };
    let file = t.dir.join("backup.bin");
    let t2 = t.clone();
    let (url, file2) = (t.db_url.clone(), file.clone());
    let out =
        tokio::task::spawn_blocking(move || gridkeeper(&t2, &url, &["backup", file2.to_str().unwrap()])).await.unwrap();
    stop.store(true, Ordering::SeqCst);
    let during = writer.await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(during > 0, "the server took reports during the backup");
    // A second backup to the same file is refused rather than overwriting it.
    assert!(!gridkeeper(&t, &t.db_url, &["backup", file.to_str().unwrap()]).status.success());

    let target = TestDb::create_on(backend(), &t.dir.join("restored")).await;
    std::fs::create_dir_all(t.dir.join("restored")).unwrap();
    let out = gridkeeper(&t, &target.url, &["restore", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let restored = gridkeeper_store::open(&target.url, t.vault.clone()).await.unwrap();
    restored.migrate().await.unwrap();
    for id in &before {
        assert_eq!(restored.case(*id).await.unwrap(), t.store.case(*id).await.unwrap());
        assert_eq!(restored.events(*id).await.unwrap(), t.store.events(*id).await.unwrap());
    }
    let n = restored.count_cases().await.unwrap();
    assert!(n >= 5 && n <= t.store.count_cases().await.unwrap(), "{n}");
    assert!(matches!(restored.audit_verify().await.unwrap(), AuditCheck::Intact { entries } if entries >= 1));
    drop(restored);

    // Restoring over a database that exists needs --replace.
    let again = gridkeeper(&t, &target.url, &["restore", file.to_str().unwrap()]);
    assert!(!again.status.success());
    let replaced = gridkeeper(&t, &target.url, &["restore", "--replace", file.to_str().unwrap()]);
    assert!(replaced.status.success(), "{}", String::from_utf8_lossy(&replaced.stderr));
    if backend() == Backend::Sqlite {
        assert!(target.file.with_extension("before-restore").is_file());
    }
}
