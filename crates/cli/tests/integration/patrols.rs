//! Patrols over HTTP: start → positions (one batch sent twice, stored once; a far position kept
//! and flagged) → end → summary with the places visited and cases reported meanwhile; the
//! refusals (another's grid, two running, an ended patrol, a batch too large, someone else's
//! patrol); the leader's view (audited); the quota met; the server's end of a patrol left
//! running and the purge of old positions.

use gridkeeper_domain::HOUR;
use gridkeeper_store::AuditQuery;
use serde_json::{json, Value};

use crate::common::*;

fn iso(ms: i64) -> String {
    gridkeeper_domain::time::to_rfc3339(ms)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// `n` positions a minute apart walking north through GRID1, the first at `t0`.
fn walk(t0: i64, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({ "at": iso(t0 + i as i64 * 60_000), "lat": 30.001 + 0.0005 * i as f64, "lon": 120.005, "accuracy": 8.0 }))
        .collect()
}

async fn put(t: &TestApp, who: &str, region: &str, body: Value) -> Resp {
    t.send_raw(Some(who), t.client.put(format!("{}/api/v1/patrols/quotas/{region}", t.base)).json(&body)).await
}

async fn start(t: &TestApp, who: &str, grid: &str) -> Value {
    let r = t.post(Some(who), "/api/v1/patrols", json!({ "grid": grid })).await;
    assert_eq!(r.status.as_u16(), 201, "{r:?}");
    r.body
}

#[tokio::test]
async fn a_patrol_from_start_to_summary() {
    let t = TestApp::spawn().await;
    let p = start(&t, "member", GRID1).await;
    let id = p["id"].as_i64().unwrap();
    assert_eq!(
        (p["running"].as_bool(), p["grid"].as_str(), p["positions"].as_i64()),
        (Some(true), Some(GRID1), Some(0))
    );
    assert!(p["ends_by"].is_string());
    // Two running patrols of one person: 409.
    t.post(Some("member"), "/api/v1/patrols", json!({ "grid": GRID1 })).await.problem(409, Some("patrol"));
    // A batch (one position far south of the grid, kept and flagged), sent twice: stored once.
    let t0 = now() - 4 * 60_000;
    let mut batch = walk(t0, 5);
    batch.push(json!({ "at": iso(t0 + 5 * 60_000 + 1), "lat": 29.996, "lon": 120.005, "accuracy": 10 }));
    let first = t.post(Some("member"), &format!("/api/v1/patrols/{id}/positions"), json!({ "positions": batch })).await;
    let first = first.ok();
    assert_eq!(
        (first["added"].as_u64(), first["duplicates"].as_u64(), first["far"].as_u64()),
        (Some(6), Some(0), Some(1))
    );
    let again = t.post(Some("member"), &format!("/api/v1/patrols/{id}/positions"), json!({ "positions": batch })).await;
    let again = again.ok();
    assert_eq!((again["added"].as_u64(), again["duplicates"].as_u64()), (Some(0), Some(6)));
    assert_eq!(again["patrol"]["positions"], 6);
    assert_eq!(again["patrol"]["far"], 1);
    let distance = again["patrol"]["distance_m"].as_f64().unwrap();
    assert!(distance > 400.0, "{distance}");
    assert_eq!(first["patrol"]["distance_m"], again["patrol"]["distance_m"], "a batch sent twice does not double");
    // A place visited and a case reported during the patrol are linked.
    let place: gridkeeper_domain::registry::PlaceData = serde_json::from_value(json!({
        "kind": "shop", "name": "乌镇小卖部", "address": "乌镇镇银杏路8号",
        "location": { "lat": IN_GRID1.0, "lon": IN_GRID1.1 }, "grid": GRID1,
        "responsible": { "name": "李四", "phone": "13812341234" }, "staff": 2, "risk": "low"
    }))
    .unwrap();
    let place = t.store.create_place(&place, None, now()).await.unwrap();
    let member = p["person"].as_i64().unwrap();
    t.store.mark_place_visited(place.id, member, now()).await.unwrap();
    let place_id = place.id.0;
    let case = t.report(Some("member"), IN_GRID1, Some(MANHOLE)).await;
    // The patrol ends; afterwards no positions and no second end.
    let ended = t.post(Some("member"), &format!("/api/v1/patrols/{id}/end"), json!({})).await;
    let ended = ended.ok();
    assert_eq!((ended["running"].as_bool(), ended["ended_by"].as_str()), (Some(false), Some("member")));
    t.post(Some("member"), &format!("/api/v1/patrols/{id}/positions"), json!({ "positions": walk(now(), 1) }))
        .await
        .problem(409, Some("patrol"));
    t.post(Some("member"), &format!("/api/v1/patrols/{id}/end"), json!({})).await.problem(409, Some("patrol"));
    // The summary with its track and links.
    let d = t.get(Some("member"), &format!("/api/v1/patrols/{id}")).await;
    let d = d.ok();
    assert_eq!(d["track"].as_array().unwrap().len(), 6);
    let far: Vec<bool> = d["track"].as_array().unwrap().iter().map(|p| p["far"].as_bool().unwrap()).collect();
    assert_eq!(far, [false, false, false, false, false, true]);
    assert_eq!(d["visits"][0]["place"], place_id);
    assert_eq!(d["cases"][0]["reference"], case["case"]["reference"]);
    assert!(d["grid_geometry"].is_object());
    // One's own list, and a new patrol now.
    let mine = t.get(Some("member"), "/api/v1/patrols").await;
    assert_eq!(mine.ok()["items"][0]["id"], id);
    start(&t, "member", GRID1).await;
}

#[tokio::test]
async fn refusals_name_the_field() {
    let t = TestApp::spawn().await;
    // Not one's own grid: 422 naming grid; not a grid: 422; no such grid: 404; not a patroller: 403.
    t.post(Some("member"), "/api/v1/patrols", json!({ "grid": GRID2 })).await.problem(422, Some("grid"));
    t.post(Some("member"), "/api/v1/patrols", json!({ "grid": "330483101001" })).await.problem(422, Some("grid"));
    t.post(Some("member"), "/api/v1/patrols", json!({ "grid": "330483101001009" })).await.problem(404, Some("grid"));
    t.post(Some("dispatcher"), "/api/v1/patrols", json!({ "grid": GRID1 })).await.problem(403, None);
    t.post(None, "/api/v1/patrols", json!({ "grid": GRID1 })).await.problem(401, None);
    // The community's leader patrols any of its grids.
    start(&t, "leader", GRID2).await;
    let p = start(&t, "member", GRID1).await;
    let url = format!("/api/v1/patrols/{}/positions", p["id"]);
    // Too many, none, bad ones.
    t.post(Some("member"), &url, json!({ "positions": walk(now() - 3_600_000, 501) }))
        .await
        .problem(422, Some("positions"));
    t.post(Some("member"), &url, json!({ "positions": [] })).await.problem(422, Some("positions"));
    let bad = json!({ "positions": [{ "at": iso(now()), "lat": 95.0, "lon": 120.0, "accuracy": 5 }] });
    t.post(Some("member"), &url, bad).await.problem(422, Some("positions[0].lat"));
    let future = json!({ "positions": [{ "at": iso(now() + 3_600_000), "lat": 30.0, "lon": 120.0, "accuracy": 5 }] });
    t.post(Some("member"), &url, future).await.problem(422, Some("positions[0].at"));
    let unknown = json!({ "positions": [{ "at": iso(now()), "lat": 30.0, "lon": 120.0, "accuracy": 5, "speed": 1 }] });
    t.post(Some("member"), &url, unknown).await.problem(422, None);
    // Someone else's patrol does not exist for them: positions, end, reading.
    t.post(Some("member3"), &url, json!({ "positions": walk(now(), 1) })).await.problem(404, None);
    t.post(Some("leader"), &format!("/api/v1/patrols/{}/end", p["id"]), json!({})).await.problem(404, None);
    for who in ["member3", "dispatcher", "admin", "supervisor", "resident"] {
        t.get(Some(who), &format!("/api/v1/patrols/{}", p["id"])).await.problem(404, None);
    }
    // Listing another region's patrols, or another person's without a region.
    t.get(Some("member"), "/api/v1/patrols?region=330483101001").await.problem(404, Some("region"));
    t.get(Some("member"), "/api/v1/patrols?person=1").await.problem(404, Some("person"));
    t.get(Some("member"), "/api/v1/patrols?month=2026-13").await.problem(422, Some("month"));
    t.get(Some("member"), "/api/v1/patrols?colour=red").await.problem(422, None);
}

#[tokio::test]
async fn the_leader_sees_the_members_patrols_and_quotas() {
    let t = TestApp::spawn().await;
    let p = start(&t, "member", GRID1).await;
    let id = p["id"].as_i64().unwrap();
    t.post(
        Some("member"),
        &format!("/api/v1/patrols/{id}/positions"),
        json!({ "positions": walk(now() - 5 * 60_000, 3) }),
    )
    .await
    .ok();
    // The community's leader lists and reads it (audited); the member reading their own is not.
    let list = t.get(Some("leader"), "/api/v1/patrols?region=330483101001").await;
    assert_eq!(list.ok()["items"][0]["id"], id);
    t.get(Some("member"), &format!("/api/v1/patrols/{id}")).await.ok();
    let read = |t: &TestApp| {
        let store = t.store.clone();
        async move {
            store
                .audit_search(&AuditQuery { action: Some("read_patrol".into()), limit: 10, ..Default::default() })
                .await
                .unwrap()
                .len()
        }
    };
    assert_eq!(read(&t).await, 0);
    let d = t.get(Some("leader"), &format!("/api/v1/patrols/{id}")).await;
    assert_eq!(d.ok()["track"].as_array().unwrap().len(), 3);
    assert_eq!(read(&t).await, 1);
    // The quota: the member's own, and the community's report for the leader.
    let mine = t.get(Some("member"), "/api/v1/patrols/quota").await;
    let mine = mine.ok();
    assert_eq!((mine["quota"]["quota"]["hours"].as_u64(), mine["quota"]["patrols"].as_i64()), (Some(40), Some(1)));
    t.get(Some("resident"), "/api/v1/patrols/quota").await.problem(403, None);
    let report = t.get(Some("leader"), "/api/v1/patrols/quotas?region=330483101001").await;
    let report = report.ok();
    let member = report["members"].as_array().unwrap().iter().find(|m| m["grids"][0] == GRID1).unwrap().clone();
    assert_eq!(member["patrols"], 1);
    assert_eq!(report["communities"][0]["region"], "330483101001");
    t.get(Some("member"), "/api/v1/patrols/quotas?region=330483101001").await.problem(403, None);
    t.get(Some("leader"), "/api/v1/patrols/quotas").await.problem(422, Some("region"));
    // The leader sets the community's quota; the member's quota follows.
    put(&t, "leader", "330483101001", json!({ "hours": 30, "visits": 20 })).await.ok();
    put(&t, "member", "330483101001", json!({ "hours": 1, "visits": 1 })).await.problem(403, None);
    put(&t, "leader", "330483101", json!({ "hours": 1, "visits": 1 })).await.problem(403, None);
    put(&t, "admin", "330483101001", json!({ "hours": 9999, "visits": 1 })).await.problem(422, Some("hours"));
    let mine = t.get(Some("member"), "/api/v1/patrols/quota").await;
    assert_eq!(mine.ok()["quota"]["quota"], json!({ "hours": 30, "visits": 20 }));
}

#[tokio::test]
async fn the_server_ends_a_patrol_left_running_and_purges_old_positions() {
    let t = TestApp::spawn().await;
    let p = start(&t, "member", GRID1).await;
    let id = p["id"].as_i64().unwrap();
    let t0 = now() - 2 * 60_000;
    t.post(Some("member"), &format!("/api/v1/patrols/{id}/positions"), json!({ "positions": walk(t0, 2) })).await.ok();
    // Twelve hours later the server ends it, at its last position.
    let (ended, purged) = gridkeeper_server::patrols::keep_patrols(&t.app, now() + 13 * HOUR).await.unwrap();
    assert_eq!((ended, purged), (1, 0));
    let d = t.get(Some("member"), &format!("/api/v1/patrols/{id}")).await;
    let d = d.ok().clone();
    assert_eq!(d["patrol"]["ended_by"], "server");
    assert_eq!(d["patrol"]["ended_at"], iso(t0 + 60_000));
    t.post(Some("member"), &format!("/api/v1/patrols/{id}/positions"), json!({ "positions": walk(now(), 1) }))
        .await
        .problem(409, Some("patrol"));
    // Ninety days on the positions go; the summary stays.
    let (_, purged) = gridkeeper_server::patrols::keep_patrols(&t.app, now() + 91 * 24 * HOUR).await.unwrap();
    assert_eq!(purged, 2);
    let d = t.get(Some("member"), &format!("/api/v1/patrols/{id}")).await;
    let d = d.ok();
    assert!(d["track"].as_array().unwrap().is_empty());
    assert_eq!((d["patrol"]["positions"].as_i64(), d["patrol"]["track_kept"].as_bool()), (Some(2), Some(false)));
}
