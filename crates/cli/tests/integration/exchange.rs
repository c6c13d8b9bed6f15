//! Data exchange: the historical import of the real SF311 sample onto the SF census tracts (via
//! the real binary), exports in CSV, GeoJSON and XLSX, and webhooks against a real receiver that
//! fails twice before it succeeds.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use gridkeeper_domain::{Region, RegionCode};
use gridkeeper_store::prelude::*;
use gridkeeper_store::{DeliveryStatus, ReferenceData, SqliteStore};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use sqlx::Row;

use crate::common::*;

const SF_CASES: &str = "testdata/sf311_cases_sample_2008_2016.csv";
const SF_TRACTS: &str = "testdata/sf_census_tracts_with_analysis_neighborhood.geojson";
const MAPPING: &str = "docs/examples/sf311-mapping.toml";

/// The project root (tests and the shared data are found from there).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// San Francisco as a region tree: district 060750, one street level, the 41 neighbourhoods as
/// communities and the 195 census tracts as grids. Returns the regions and grid code → tract.
fn sf_regions() -> (Vec<Region>, HashMap<String, String>) {
    let text = std::fs::read_to_string(root().join(SF_TRACTS)).expect("the SF tracts are in testdata/");
    let fc: Value = serde_json::from_str(&text).unwrap();
    let mut by_nhood: BTreeMap<String, Vec<(String, Value)>> = BTreeMap::new();
    for f in fc["features"].as_array().unwrap() {
        let p = &f["properties"];
        by_nhood
            .entry(p["nhood"].as_str().unwrap().to_string())
            .or_default()
            .push((p["tractce10"].as_str().unwrap().to_string(), f["geometry"].clone()));
    }
    let region = |code: String, name: &str, geometry: Option<Value>| Region {
        code: RegionCode::parse(&code).unwrap(),
        name: name.to_string(),
        name_en: Some(name.to_string()),
        geometry,
    };
    let mut regions =
        vec![region("060750".into(), "San Francisco", None), region("060750001".into(), "San Francisco", None)];
    let mut tracts = HashMap::new();
    for (i, (nhood, mut list)) in by_nhood.into_iter().enumerate() {
        let community = format!("060750001{:03}", i + 1);
        regions.push(region(community.clone(), &nhood, None));
        list.sort_by(|a, b| a.0.cmp(&b.0));
        for (j, (tract, geometry)) in list.into_iter().enumerate() {
            let code = format!("{community}{:03}", j + 1);
            tracts.insert(code.clone(), tract.clone());
            regions.push(region(code, &tract, Some(geometry)));
        }
    }
    (regions, tracts)
}

fn gridkeeper(dir: &Path, db: &Path) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_gridkeeper"));
    c.current_dir(dir)
        .env("GRIDKEEPER__DATABASE__URL", format!("sqlite:{}", db.display()))
        .env("GRIDKEEPER__SERVER__MEDIA_DIR", dir.join("media"))
        .env("GRIDKEEPER__LOG__LEVEL", "warn");
    c
}

async fn run(mut c: tokio::process::Command) -> String {
    let out = c.output().await.expect("the gridkeeper binary runs");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "gridkeeper failed:\n{stdout}\n{stderr}");
    stdout.into_owned()
}

#[tokio::test]
async fn import_of_the_sf311_sample_lands_every_case_in_its_tract() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sf.db");
    let store = SqliteStore::open(&format!("sqlite:{}", db.display()), Arc::new(gridkeeper_store::Vault::ephemeral()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    // The national-standard categories and departments of the demo, over SF's tracts as grids.
    let org = gridkeeper_demo::generate(1, chrono::Utc::now().timestamp_millis(), 0).reference;
    let (regions, tracts) = sf_regions();
    assert_eq!(tracts.len(), 195);
    let reference =
        ReferenceData { regions, platforms: org.platforms, departments: org.departments, categories: org.categories };
    store.load_reference(&reference).await.unwrap();
    drop(store);

    let csv = root().join(SF_CASES);
    let rejects = dir.path().join("rejects.csv");
    let mut c = gridkeeper(dir.path(), &db);
    c.args(["import", "cases"]).arg(&csv).arg("--mapping").arg(root().join(MAPPING)).arg("--rejects").arg(&rejects);
    let out = run(c).await;
    // 55 rows of the real file say they were closed hours before they were opened: each is refused
    // and listed with that reason; every other row is imported, each in a grid.
    assert!(out.contains("4984 rows: 4929 cases imported (4929 in a grid), 0 already imported, 55 refused"), "{out}");
    let mut file = csv::Reader::from_path(&csv).unwrap();
    let h = file.headers().unwrap().clone();
    let col = |name: &str| h.iter().position(|x| x == name).unwrap();
    let (id_col, opened, closed) = (col("CaseID"), col("Opened"), col("Closed"));
    let mut backwards: Vec<String> = file
        .records()
        .map(Result::unwrap)
        .filter(|r| !r[closed].is_empty() && r[closed] < r[opened])
        .map(|r| r[id_col].to_string())
        .collect();
    let mut listed: Vec<String> = csv::Reader::from_path(&rejects)
        .unwrap()
        .records()
        .map(Result::unwrap)
        .inspect(|r| assert_eq!(&r[2], "closed_at: lies before the report"))
        .map(|r| r[1].to_string())
        .collect();
    backwards.sort();
    listed.sort();
    assert_eq!(listed, backwards);

    let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", db.display())).await.unwrap();
    // Every case lies in the tract the file names for it: ground truth for the grid assignment.
    let rows = sqlx::query(
        "SELECT c.grid, c.state, c.reported_at, c.closed_at, c.source, c.version, \
         json_extract(e.data, '$.exchange.original.tractce10') AS tract, \
         json_extract(e.data, '$.exchange.external_id') AS external \
         FROM cases c JOIN case_events e ON e.case_id = c.id AND e.seq = 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 4929);
    let mut wrong = vec![];
    let mut states: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rows {
        let grid: String = r.get("grid");
        let tract: String = r.get("tract");
        // The CSV writes tract 025100 as the number 25100.
        if tracts[&grid].trim_start_matches('0') != tract.trim_start_matches('0') {
            wrong.push((r.get::<String, _>("external"), grid, tract));
        }
        *states.entry(r.get("state")).or_default() += 1;
        assert_eq!(r.get::<String, _>("source"), "exchange");
    }
    assert!(wrong.is_empty(), "{} cases in the wrong tract, like {:?}", wrong.len(), &wrong[..wrong.len().min(5)]);
    assert_eq!(states, BTreeMap::from([("closed".to_string(), 4762 - 55), ("in_progress".to_string(), 222)]));

    // Original times kept (Pacific time as UTC-8): case 1757188 opened 2012-12-04 15:21, closed
    // 2012-12-06 04:39, and lived the whole loop through the state machine.
    let one = sqlx::query(
        "SELECT c.id, c.reported_at, c.closed_at, c.category, c.reference FROM cases c JOIN case_events e \
         ON e.case_id = c.id AND e.seq = 1 WHERE json_extract(e.data, '$.exchange.external_id') = 'sf311:1757188'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis();
    assert_eq!(one.get::<i64, _>("reported_at"), at("2012-12-04T15:21:00-08:00"));
    assert_eq!(one.get::<i64, _>("closed_at"), at("2012-12-06T04:39:00-08:00"));
    assert!(one.get::<String, _>("reference").starts_with("060750-2012-"));
    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM case_events WHERE case_id = ? ORDER BY seq")
        .bind(one.get::<i64, _>("id"))
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(actions, ["report", "accept", "dispatch", "sign", "submit_result", "verify", "close"]);

    // Running the import again stores nothing twice.
    let mut c = gridkeeper(dir.path(), &db);
    c.args(["import", "cases"]).arg(&csv).arg("--mapping").arg(root().join(MAPPING));
    let out = run(c).await;
    assert!(out.contains("0 cases imported (0 in a grid), 4929 already imported, 55 refused"), "{out}");

    // Bad rows are refused, each listed with its line and reason; the good one goes in.
    let header = std::fs::read_to_string(&csv).unwrap().lines().next().unwrap().to_string();
    let line = |id: &str, opened: &str, closed: &str, status: &str, lat: &str, lon: &str, address: &str| {
        format!(
            "{id},{opened},{closed},,{status},,DPW Ops Queue,Street and Sidewalk Cleaning,Bulky Items,Couch,\"{address}\",\
             6,,,Voice In,,{lat},{lon},,94103,,,,017601,,,True"
        )
    };
    let bad = [
        header,
        line("9000001", "2016-01-02 10:00:00", "2016-01-03 10:00:00", "Closed", "37.7749", "-122.4194", "Market St"),
        line("9000002", "2016-01-02 10:00:00", "", "Closed", "", "", ""),
        line("9000003", "2016-01-02 10:00:00", "", "Pending", "37.7749", "-122.4194", "x"),
        line("9000004", "02/01/2016", "", "Open", "37.7749", "-122.4194", "x"),
        line("9000005", "2016-01-02 10:00:00", "2016-01-01 10:00:00", "Closed", "37.7749", "-122.4194", "x"),
        line("9000001", "2016-01-02 10:00:00", "2016-01-03 10:00:00", "Closed", "37.7749", "-122.4194", "x"),
        line("9000006", "2016-01-02 10:00:00", "", "Open", "237.7749", "-122.4194", "x"),
        line("9000007", "2016-01-02 10:00:00", "", "Closed", "37.7749", "-122.4194", "x"),
    ]
    .join("\n");
    let small = dir.path().join("bad.csv");
    std::fs::write(&small, bad).unwrap();
    let mut c = gridkeeper(dir.path(), &db);
    c.args(["import", "cases"]).arg(&small).arg("--mapping").arg(root().join(MAPPING)).arg("--rejects").arg(&rejects);
    let out = run(c).await;
    assert!(out.contains("8 rows: 1 cases imported (1 in a grid), 0 already imported, 7 refused"), "{out}");
    let listed = std::fs::read_to_string(&rejects).unwrap();
    let reasons: Vec<(&str, &str)> = listed
        .lines()
        .skip(1)
        .map(|l| {
            let mut p = l.splitn(3, ',');
            (p.next().unwrap(), p.nth(1).unwrap())
        })
        .collect();
    let expect = [
        ("3", "no location"),
        ("4", "status `Pending` is not mapped"),
        ("5", "does not match"),
        ("6", "closed_at: lies before the report"),
        ("7", "appears twice"),
        ("8", "lat: must be"),
        ("9", "closed_at: is required"),
    ];
    assert_eq!(reasons.len(), expect.len(), "{listed}");
    for ((line, reason), (want_line, want)) in reasons.iter().zip(expect) {
        assert_eq!(*line, want_line, "{listed}");
        assert!(reason.contains(want), "line {line}: `{reason}` should say `{want}`");
    }

    // The CLI export streams every case through the list query, page after page.
    let out_csv = dir.path().join("closed.csv");
    let mut c = gridkeeper(dir.path(), &db);
    c.args(["export", "cases", "--format", "csv", "--filter", "state=closed", "--output"]).arg(&out_csv);
    run(c).await;
    let mut reader = csv::Reader::from_path(&out_csv).unwrap();
    assert_eq!(&reader.headers().unwrap()[0], "reference");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4707 + 1, "the closed SF cases and the one good row of the bad file");
    assert!(rows.iter().all(|r| &r[2] == "closed" && &r[3] == "closed"));
    let out_xlsx = dir.path().join("all.xlsx");
    let mut c = gridkeeper(dir.path(), &db);
    c.args(["export", "cases", "--format", "xlsx", "--output"]).arg(&out_xlsx);
    run(c).await;
    assert_eq!(xlsx_rows(&out_xlsx).await, 4930 + 1, "every case and the header row");
}

/// Rows of the first worksheet, read with Python's own zip module (an independent reader).
async fn xlsx_rows(path: &Path) -> usize {
    let out = tokio::process::Command::new("python3")
        .arg("-c")
        .arg("import sys, zipfile; x = zipfile.ZipFile(sys.argv[1]).read('xl/worksheets/sheet1.xml').decode(); print(x.count('<row '))")
        .arg(path)
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[tokio::test]
async fn exports_stream_the_list_in_csv_geojson_and_xlsx_within_scope() {
    let t = TestApp::spawn().await;
    let mut refs = vec![];
    for at in [IN_GRID1, IN_GRID2, IN_GRID3] {
        refs.push(
            t.report(Some("resident"), at, Some(MANHOLE)).await["case"]["reference"].as_str().unwrap().to_string(),
        );
    }
    let id =
        t.get(Some("dispatcher"), &format!("/api/v1/cases/{}", refs[0])).await.ok()["case"]["id"].as_i64().unwrap();
    t.act("dispatcher", id, "accept", json!({ "category": MANHOLE, "urgency": "urgent" })).await;

    let fetch = |who: &'static str, path: &'static str| {
        let t = &t;
        async move {
            let r = t
                .client
                .get(format!("{}/api/v1/exports/{path}", t.base))
                .bearer_auth(format!("{who}-token"))
                .send()
                .await
                .unwrap();
            let ct = r.headers()["content-type"].to_str().unwrap().to_string();
            (r.status(), ct, r.bytes().await.unwrap())
        }
    };
    let (status, ct, body) = fetch("dispatcher", "cases.csv").await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "text/csv; charset=utf-8"));
    let mut reader = csv::Reader::from_reader(&body[..]);
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(header, gridkeeper_server::export::COLUMNS);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(
        rows.iter().map(|r| r[0].to_string()).collect::<Vec<_>>(),
        refs.iter().rev().cloned().collect::<Vec<_>>()
    );
    assert!(!String::from_utf8_lossy(&body).contains(&phone_of("resident")), "no personal data");

    let (_, _, body) = fetch("dispatcher", "cases.csv?state=accepted").await;
    assert_eq!(csv::Reader::from_reader(&body[..]).records().count(), 1);
    let (_, _, body) = fetch("member3", "cases.csv").await;
    assert_eq!(csv::Reader::from_reader(&body[..]).records().count(), 1, "a grid member exports their grid only");

    let (status, ct, body) = fetch("dispatcher", "cases.geojson?region=330483101001").await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/geo+json"));
    let fc: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(fc["type"], "FeatureCollection");
    let features = fc["features"].as_array().unwrap();
    assert_eq!(features.len(), 2);
    assert_eq!(features[1]["geometry"], json!({ "type": "Point", "coordinates": [IN_GRID1.1, IN_GRID1.0] }));
    assert_eq!(features[1]["properties"]["state"], "accepted");
    assert_eq!(features[1]["properties"]["category_code"], "C0101");
    let (_, _, body) = fetch("resident2", "cases.geojson").await;
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap()["features"], json!([]));

    let (status, ct, body) = fetch("dispatcher", "cases.xlsx").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &body).unwrap();
    assert_eq!(xlsx_rows(file.path()).await, 4);

    // Refusals: by field, as for the list; unknown formats; sign-in required.
    t.get(Some("dispatcher"), "/api/v1/exports/cases.csv?state=bogus").await.problem(422, Some("state"));
    t.get(Some("dispatcher"), "/api/v1/exports/cases.csv?limit=5").await.problem(422, Some("limit"));
    t.get(Some("dispatcher"), "/api/v1/exports/cases.pdf").await.problem(404, None);
    t.get(None, "/api/v1/exports/cases.csv").await.problem(401, None);
}

/// What the receiver saw: per event id, the statuses it answered, and the bodies it accepted.
#[derive(Default)]
struct Seen {
    answers: BTreeMap<String, Vec<u16>>,
    accepted: Vec<Value>,
    bad_signatures: usize,
}

/// A webhook receiver on 127.0.0.1:0 that answers 500 while an event has had fewer than
/// `failures` attempts (changeable while it runs) and 204 afterwards, checking every signature
/// with `secret`.
async fn receiver(secret: &'static str, failures: Arc<AtomicUsize>) -> (String, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let state = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let (seen, failures) = (state.clone(), failures.clone());
            async move {
                let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
                mac.update(format!("{}.", h("x-gridkeeper-timestamp")).as_bytes());
                mac.update(&body);
                let good =
                    h("x-gridkeeper-signature") == format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
                let mut s = seen.lock().unwrap();
                if !good {
                    s.bad_signatures += 1;
                }
                let answers = s.answers.entry(h("x-gridkeeper-event-id")).or_default();
                let status = if answers.len() < failures.load(Ordering::SeqCst) { 500 } else { 204 };
                answers.push(status);
                if status == 204 {
                    s.accepted.push(serde_json::from_slice(&body).unwrap());
                }
                StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

/// A second application process over the same database, running only the delivery worker with
/// quick retries (as a second server instance would).
async fn worker(t: &TestApp, max_attempts: u32) -> tokio::task::JoinHandle<()> {
    let settings = gridkeeper_server::Settings { media_dir: t.dir.join("media-worker"), ..Default::default() };
    let app =
        gridkeeper_server::App::new(t.store.clone(), settings, Arc::new(gridkeeper_server::sms::LogSms::default()))
            .await
            .unwrap();
    let ws = gridkeeper_server::webhooks::WebhookSettings {
        poll_ms: 20,
        retry_base_ms: 50,
        max_attempts,
        ..Default::default()
    };
    gridkeeper_server::webhooks::start(app, ws)
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn webhooks_retry_until_accepted_exactly_once_per_event() {
    let t = TestApp::spawn().await;
    const SECRET: &str = "a-shared-secret-of-some-length";
    let (url, seen) = receiver(SECRET, Arc::new(AtomicUsize::new(2))).await;
    // Only an admin subscribes, within their region; bad input is refused by field.
    t.post(Some("dispatcher"), "/api/v1/webhooks", json!({ "url": url })).await.problem(403, None);
    t.post(Some("admin"), "/api/v1/webhooks", json!({ "url": "ftp://x" })).await.problem(422, Some("url"));
    t.post(Some("admin"), "/api/v1/webhooks", json!({ "url": url, "actions": ["teleport"] }))
        .await
        .problem(422, Some("actions[0]"));
    // Another district's cases are not the admin's to send.
    t.post(Some("admin"), "/api/v1/webhooks", json!({ "url": url, "region": "330482" })).await.problem(403, None);
    let hook = t
        .post(
            Some("admin"),
            "/api/v1/webhooks",
            json!({ "url": url, "secret": SECRET, "actions": ["report", "accept", "dispatch", "note"] }),
        )
        .await;
    assert_eq!(hook.status, StatusCode::CREATED, "{hook:?}");
    assert_eq!(hook.body["secret"], SECRET, "shown once, at creation");
    let hook_id = hook.body["id"].as_i64().unwrap();
    let listed = t.get(Some("admin"), "/api/v1/webhooks").await.ok().clone();
    assert!(listed["items"][0].get("secret").is_none(), "never listed");

    // Events happen while no worker runs: the outbox keeps them (written with each event).
    let id = t.report(Some("resident"), IN_GRID1, Some(MANHOLE)).await["case"]["id"].as_i64().unwrap();
    t.act("dispatcher", id, "accept", json!({ "category": MANHOLE, "urgency": "urgent" })).await;
    t.act("dispatcher", id, "note", json!({ "text": "内部" })).await;
    t.act("dispatcher", id, "dispatch", json!({ "lead_department": CITY_MGMT })).await;
    t.act("staff", id, "sign", json!({})).await;

    let w = worker(&t, 5).await;
    let delivered = || {
        let store = t.store.clone();
        async move { store.deliveries(Some(hook_id), Some(DeliveryStatus::Delivered), 100).await.unwrap().len() }
    };
    for _ in 0..1500 {
        if delivered().await == 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(delivered().await, 4, "{:?}", t.store.deliveries(Some(hook_id), None, 100).await.unwrap());
    {
        let s = seen.lock().unwrap();
        assert_eq!(s.bad_signatures, 0);
        assert_eq!(s.answers.len(), 4, "report, accept, note, dispatch (sign is not subscribed): {:?}", s.answers);
        for (event, answers) in &s.answers {
            assert_eq!(answers, &[500, 500, 204], "{event}: failed twice, then accepted once, never again");
        }
        let types: Vec<&str> = s.accepted.iter().map(|b| b["type"].as_str().unwrap()).collect();
        assert_eq!(types.iter().filter(|t| **t == "accept").count(), 1);
        let accept = s.accepted.iter().find(|b| b["type"] == "accept").unwrap();
        assert_eq!(accept["case"]["id"], id);
        assert_eq!(accept["event"]["to"], "accepted");
        assert_eq!(accept["id"], format!("{}.2", accept["case"]["reference"].as_str().unwrap()));
    }
    let all = t.get(Some("admin"), &format!("/api/v1/webhooks/{hook_id}/deliveries")).await.ok().clone();
    assert!(all["items"].as_array().unwrap().iter().all(|d| d["status"] == "delivered" && d["attempts"] == 3));
    w.abort();

    // A receiver that is down: after the last attempt the deliveries wait on the dead-letter list,
    // and a replay sends them again once it is back.
    let failing = Arc::new(AtomicUsize::new(usize::MAX));
    let (down_url, down) = receiver(SECRET, failing.clone()).await;
    let hook2 = t
        .post(Some("admin"), "/api/v1/webhooks", json!({ "url": down_url, "secret": SECRET, "actions": ["close"] }))
        .await;
    assert_eq!(hook2.status, StatusCode::CREATED, "{hook2:?}");
    let hook2 = hook2.body["id"].as_i64().unwrap();
    let evidence = t.upload_photo(Some("staff")).await;
    t.act("staff", id, "submit_result", json!({ "note": "换了新井盖", "evidence": [evidence] })).await;
    t.act("member", id, "verify", json!({ "passed": true })).await;
    t.act("dispatcher", id, "close", json!({})).await;
    let w = worker(&t, 3).await;
    let mut dead = Value::Null;
    for _ in 0..500 {
        dead = t.get(Some("admin"), "/api/v1/webhooks/dead-letters").await.ok().clone();
        if !dead["items"].as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let items = dead["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{dead}");
    assert_eq!((items[0]["webhook_id"].as_i64(), items[0]["attempts"].as_i64()), (Some(hook2), Some(3)));
    assert_eq!(items[0]["last_status"], 500);
    assert_eq!(down.lock().unwrap().answers.values().next().unwrap().len(), 3);
    t.get(Some("dispatcher"), "/api/v1/webhooks/dead-letters").await.problem(403, None);
    let delivery = items[0]["id"].as_i64().unwrap();
    t.post(Some("admin"), "/api/v1/webhooks/deliveries/999999/replay", json!({})).await.problem(404, None);
    failing.store(0, Ordering::SeqCst);
    t.post(Some("admin"), &format!("/api/v1/webhooks/deliveries/{delivery}/replay"), json!({})).await.ok();
    t.post(Some("admin"), &format!("/api/v1/webhooks/deliveries/{delivery}/replay"), json!({}))
        .await
        .problem(404, None);
    wait_for("the replayed delivery", || down.lock().unwrap().accepted.len() == 1).await;
    assert_eq!(down.lock().unwrap().answers.values().next().unwrap(), &[500, 500, 500, 204]);
    assert_eq!(down.lock().unwrap().accepted[0]["type"], "close");
    // A stopped subscription receives nothing more.
    t.client.delete(format!("{}/api/v1/webhooks/{hook2}", t.base)).bearer_auth("admin-token").send().await.unwrap();
    t.act("dispatcher", id, "note", json!({ "text": "after" })).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(down.lock().unwrap().answers.len(), 1);
    w.abort();
}
