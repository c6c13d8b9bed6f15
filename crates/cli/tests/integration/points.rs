//! Points and rewards over HTTP: a verified report earns its reporter points by the rules (never
//! the submission), a reopening reverses them, the daily cap holds, a rejected duplicate earns
//! nothing; rewards are redeemed, handed over and cancelled (refunded); two sessions racing for
//! the last item get exactly one; the leaderboard masks names unless chosen; leaders commend;
//! every refusal.

use gridkeeper_domain::Role;
use gridkeeper_store::AuditQuery;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::*;

async fn person_id(t: &TestApp, login: &str) -> i64 {
    t.store.person_by_login(login).await.unwrap().unwrap().id
}

async fn balance(t: &TestApp, login: &str) -> i64 {
    t.get(Some(login), "/api/v1/me/points").await.ok()["balance"].as_i64().unwrap()
}

async fn put(t: &TestApp, who: &str, path: &str, body: Value) -> Resp {
    t.send_raw(Some(who), t.client.put(format!("{}{path}", t.base)).json(&body)).await
}

/// A report of the resident's carried to resolved (accepted as `urgency`).
async fn resolved(t: &TestApp, who: &str, urgency: &str) -> i64 {
    let id = id_of(&t.report(Some(who), IN_GRID1, Some(MANHOLE)).await);
    t.act("dispatcher", id, "accept", json!({ "category": MANHOLE, "urgency": urgency })).await;
    t.act("dispatcher", id, "dispatch", json!({ "lead_department": CITY_MGMT })).await;
    t.act("staff", id, "sign", json!({})).await;
    t.act("staff", id, "submit_result", json!({ "note": "done", "evidence": [t.upload_photo(None).await] })).await;
    id
}

async fn set_rules(t: &TestApp, rules: Value) {
    let r = put(t, "admin", "/api/v1/points/rules", rules).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
}

#[tokio::test]
async fn a_verified_report_earns_by_the_rules_a_reopening_reverses_and_the_day_is_capped() {
    let t = TestApp::spawn().await;
    set_rules(
        &t,
        json!({ "report_verified": 10, "rules": [{ "category": MANHOLE, "urgency": "urgent", "points": 25 }], "daily_cap": 40, "volunteer_hour": 5, "consultation": 5 }),
    )
    .await;
    let a = resolved(&t, "resident", "urgent").await;
    assert_eq!(balance(&t, "resident").await, 0, "nothing on submission");
    t.act("member", a, "verify", json!({ "passed": true })).await;
    let mine = t.get(Some("resident"), "/api/v1/me/points").await.ok().clone();
    assert_eq!(mine["balance"], 25);
    assert_eq!(mine["earned_today"], 25);
    assert_eq!(mine["daily_cap"], 40);
    assert_eq!(mine["entries"][0]["kind"], "report_verified");
    assert!(mine["entries"][0]["case_reference"].as_str().unwrap().starts_with("330483-"));
    // Closed, then reopened by the supervisor: exactly what it earned is taken back.
    t.act("dispatcher", a, "close", json!({})).await;
    t.act("supervisor", a, "reopen", json!({ "reason": "又坏了" })).await;
    let mine = t.get(Some("resident"), "/api/v1/me/points").await.ok().clone();
    assert_eq!(mine["balance"], 0);
    assert_eq!(mine["entries"][0]["kind"], "reversal");
    assert_eq!(mine["entries"][0]["points"], -25);
    // Two more verified the same day: 25 earned already, the cap (40) leaves 15, then nothing.
    for _ in 0..2 {
        let b = resolved(&t, "resident", "routine").await;
        t.act("member", b, "verify", json!({ "passed": true })).await;
    }
    let mine = t.get(Some("resident"), "/api/v1/me/points").await.ok().clone();
    assert_eq!(mine["balance"], 15, "10, then the 5 left of the cap: {mine}");
    assert_eq!(mine["earned_today"], 40, "{mine}");
    let c = resolved(&t, "resident", "routine").await;
    t.act("member", c, "verify", json!({ "passed": true })).await;
    assert_eq!(balance(&t, "resident").await, 15, "nothing past the cap");
    // A failed verification earns nothing.
    let d = resolved(&t, "resident2", "routine").await;
    t.act("member", d, "verify", json!({ "passed": false, "note": "还没修好" })).await;
    assert_eq!(balance(&t, "resident2").await, 0);
    // Every entry is audited.
    let entries = t
        .store
        .audit_search(&AuditQuery { action: Some("points".into()), limit: 50, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(entries.len(), 4, "{entries:?}");
}

#[tokio::test]
async fn nothing_for_a_report_rejected_as_a_duplicate() {
    let t = TestApp::spawn().await;
    let original = resolved(&t, "resident", "routine").await;
    let dup = id_of(&t.report(Some("resident2"), IN_GRID1, Some(MANHOLE)).await);
    t.act("dispatcher", dup, "reject", json!({ "reason": "duplicate", "duplicate_of": original })).await;
    // The original is verified: its reporter earns, the duplicate's nothing.
    t.act("member", original, "verify", json!({ "passed": true })).await;
    assert_eq!(balance(&t, "resident").await, 10);
    for reason in ["invalid", "outside_area"] {
        let x = id_of(&t.report(Some("resident2"), IN_GRID1, Some(MANHOLE)).await);
        t.act("dispatcher", x, "reject", json!({ "reason": reason, "note": "x" })).await;
    }
    let mine = t.get(Some("resident2"), "/api/v1/me/points").await.ok().clone();
    assert_eq!(mine["balance"], 0);
    assert_eq!(mine["entries"], json!([]));
}

/// Gives `login` points by an admin's correction.
async fn grant_points(t: &TestApp, login: &str, points: i64) {
    let id = person_id(t, login).await;
    let r = t
        .post(
            Some("admin"),
            &format!("/api/v1/people/{id}/points"),
            json!({ "region": GRID1, "award": { "kind": "adjustment", "points": points, "note": "开户" } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
}

async fn new_reward(t: &TestApp, stock: i64, cost: i64) -> i64 {
    let r = t
        .post(
            Some("admin"),
            "/api/v1/rewards",
            json!({ "region": "330483101001", "name": "环保袋", "name_en": "Tote bag", "cost": cost, "stock": stock }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    id_of(&r.body)
}

#[tokio::test]
async fn a_reward_is_redeemed_handed_over_or_cancelled_and_refunded() {
    let t = TestApp::spawn().await;
    grant_points(&t, "resident", 100).await;
    let bag = new_reward(&t, 3, 40).await;
    let listed = t.get(Some("resident"), "/api/v1/rewards").await.ok().clone();
    assert_eq!(listed[0]["id"], bag, "{listed}");
    assert_eq!(listed[0]["may_edit"], false);
    let r1 = t.post(Some("resident"), &format!("/api/v1/rewards/{bag}/redeem"), json!({})).await;
    assert_eq!(r1.status, StatusCode::CREATED, "{r1:?}");
    assert_eq!(r1.body["state"], "pending");
    assert_eq!(r1.body["may_cancel"], true);
    assert_eq!(r1.body["may_hand_over"], false);
    assert_eq!(balance(&t, "resident").await, 60);
    let r1 = id_of(&r1.body);
    // The grid's member sees it to hand over, with the name in clear; another grid's does not.
    let queue = t.get(Some("member"), "/api/v1/redemptions?state=pending").await.ok().clone();
    assert_eq!(queue[0]["id"], r1);
    assert_eq!(queue[0]["person_name"], "resident 姓名");
    assert!(t.get(Some("member3"), "/api/v1/redemptions").await.ok().as_array().unwrap().is_empty());
    t.get(Some("resident"), "/api/v1/redemptions").await.problem(403, None);
    t.post(Some("member3"), &format!("/api/v1/redemptions/{r1}/hand-over"), json!({})).await.problem(404, None);
    t.post(Some("resident2"), &format!("/api/v1/redemptions/{r1}/cancel"), json!({})).await.problem(404, None);
    t.post(Some("resident"), &format!("/api/v1/redemptions/{r1}/hand-over"), json!({})).await.problem(403, None);
    let done =
        t.post(Some("member"), &format!("/api/v1/redemptions/{r1}/hand-over"), json!({ "note": "已领取" })).await;
    assert_eq!(done.ok()["state"], "handed_over");
    t.post(Some("member"), &format!("/api/v1/redemptions/{r1}/cancel"), json!({})).await.problem(409, Some("state"));
    // The resident cancels a second one: points and stock come back.
    let r2 = id_of(t.post(Some("resident"), &format!("/api/v1/rewards/{bag}/redeem"), json!({})).await.ok());
    assert_eq!(balance(&t, "resident").await, 20);
    let cancelled = t.post(Some("resident"), &format!("/api/v1/redemptions/{r2}/cancel"), json!({})).await;
    assert_eq!(cancelled.ok()["state"], "cancelled");
    assert_eq!(balance(&t, "resident").await, 60);
    let mine = t.get(Some("resident"), "/api/v1/me/redemptions").await.ok().clone();
    assert_eq!(mine.as_array().unwrap().len(), 2);
    let kinds: Vec<_> = t.get(Some("resident"), "/api/v1/me/points").await.ok()["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["refund", "redemption", "redemption", "adjustment"]);
    let stock = t.get(Some("resident"), "/api/v1/rewards").await.ok()[0]["stock"].as_i64().unwrap();
    assert_eq!(stock, 2);
    // Not enough points; a reward not offered; none left.
    let dear = new_reward(&t, 5, 500).await;
    t.post(Some("resident"), &format!("/api/v1/rewards/{dear}/redeem"), json!({})).await.problem(409, Some("balance"));
    let r = put(
        &t,
        "admin",
        &format!("/api/v1/rewards/{dear}"),
        json!({ "name": "雨伞", "cost": 10, "stock": 0, "active": true }),
    )
    .await;
    assert_eq!(r.ok()["stock"], 0);
    t.post(Some("resident"), &format!("/api/v1/rewards/{dear}/redeem"), json!({})).await.problem(409, Some("stock"));
    put(
        &t,
        "admin",
        &format!("/api/v1/rewards/{dear}"),
        json!({ "name": "雨伞", "cost": 10, "stock": 3, "active": false }),
    )
    .await
    .ok();
    t.post(Some("resident"), &format!("/api/v1/rewards/{dear}/redeem"), json!({})).await.problem(404, Some("reward"));
    t.post(Some("resident"), "/api/v1/rewards/99999/redeem", json!({})).await.problem(404, Some("reward"));
    let all = t.get(Some("admin"), "/api/v1/rewards?include_inactive=true").await.ok().clone();
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert_eq!(
        t.get(Some("resident"), "/api/v1/rewards?include_inactive=true").await.ok().as_array().unwrap().len(),
        1
    );
    // Measures: issued and redeemed per grid.
    let flows = t
        .get(Some("supervisor"), "/api/v1/points/flows?from=2020-01-01T00:00:00Z&to=2100-01-01T00:00:00Z")
        .await
        .ok()
        .clone();
    assert_eq!(flows["issued"], 100);
    assert_eq!(flows["redeemed"], 40);
    t.get(Some("resident"), "/api/v1/points/flows?from=2020-01-01T00:00:00Z&to=2100-01-01T00:00:00Z")
        .await
        .problem(403, None);
}

#[tokio::test]
async fn two_sessions_redeeming_the_last_item_at_once_get_exactly_one() {
    let t = TestApp::spawn().await;
    grant_points(&t, "resident", 100).await;
    let item = new_reward(&t, 1, 30).await;
    let path = format!("/api/v1/rewards/{item}/redeem");
    let race = || async {
        let (a, b) =
            tokio::join!(t.post(Some("resident"), &path, json!({})), t.post(Some("resident"), &path, json!({})));
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort();
        assert_eq!(statuses, [201, 409], "{a:?} {b:?}");
        let refused = if a.status == StatusCode::CONFLICT { a } else { b };
        refused.body["field"].as_str().unwrap().to_string()
    };
    // The last item of stock: one gets it, the other is told none is left.
    assert_eq!(race().await, "stock");
    assert_eq!(balance(&t, "resident").await, 70);
    // Stock enough, points for one only (70 left, 40 each): one, and the balance never negative.
    put(&t, "admin", &format!("/api/v1/rewards/{item}"), json!({ "name": "环保袋", "cost": 40, "stock": 5 }))
        .await
        .ok();
    assert_eq!(race().await, "balance");
    assert_eq!(balance(&t, "resident").await, 30);
    assert_eq!(t.get(Some("resident"), "/api/v1/rewards").await.ok()[0]["stock"], 4);
}

#[tokio::test]
async fn volunteer_hours_consultations_the_leaderboard_and_commendations() {
    let t = TestApp::spawn().await;
    let resident = person_id(&t, "resident").await;
    let member = person_id(&t, "member").await;
    let award = |kind: Value| json!({ "region": GRID1, "award": kind });
    let r = t
        .post(
            Some("member"),
            &format!("/api/v1/people/{resident}/points"),
            award(json!({ "kind": "volunteer_hours", "hours": 3, "note": "河道清理" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!((r.body["kind"].as_str(), r.body["points"].as_i64()), (Some("volunteer_hours"), Some(15)));
    t.post(Some("leader"), &format!("/api/v1/people/{resident}/points"), award(json!({ "kind": "consultation" })))
        .await
        .ok();
    assert_eq!(balance(&t, "resident").await, 20);
    // Refusals: another grid's member, a resident, an adjustment by a member, bad values.
    t.post(Some("member3"), &format!("/api/v1/people/{resident}/points"), award(json!({ "kind": "consultation" })))
        .await
        .problem(404, None);
    t.post(Some("resident2"), &format!("/api/v1/people/{resident}/points"), award(json!({ "kind": "consultation" })))
        .await
        .problem(403, None);
    t.post(
        Some("member"),
        &format!("/api/v1/people/{resident}/points"),
        award(json!({ "kind": "adjustment", "points": 5, "note": "x" })),
    )
    .await
    .problem(403, None);
    t.post(
        Some("member"),
        &format!("/api/v1/people/{resident}/points"),
        award(json!({ "kind": "volunteer_hours", "hours": 0 })),
    )
    .await
    .problem(422, Some("hours"));
    t.post(
        Some("admin"),
        &format!("/api/v1/people/{resident}/points"),
        award(json!({ "kind": "adjustment", "points": 5, "note": " " })),
    )
    .await
    .problem(422, Some("note"));
    t.post(Some("member"), "/api/v1/people/99999/points", award(json!({ "kind": "consultation" })))
        .await
        .problem(404, Some("person"));
    t.post(
        Some("member"),
        &format!("/api/v1/people/{resident}/points"),
        json!({ "region": "330483999", "award": { "kind": "consultation" } }),
    )
    .await
    .problem(404, Some("region"));
    // The cap: 50 by default; 20 earned, 30 left.
    t.post(
        Some("member"),
        &format!("/api/v1/people/{resident}/points"),
        award(json!({ "kind": "volunteer_hours", "hours": 10 })),
    )
    .await
    .ok();
    t.post(Some("member"), &format!("/api/v1/people/{resident}/points"), award(json!({ "kind": "consultation" })))
        .await
        .problem(409, Some("daily_cap"));
    assert_eq!(balance(&t, "resident").await, 50);
    // The leaderboard: masked until the resident chooses to show the name.
    let board = t.get(Some("resident2"), &format!("/api/v1/points/leaderboard?region={GRID1}")).await.ok().clone();
    assert_eq!(board["rows"][0]["name"], "r**********", "masked: {board}");
    assert_eq!(board["rows"][0]["points"], 50);
    assert_eq!(board["rows"][0]["me"], false);
    let mine = t.get(Some("resident"), "/api/v1/points/leaderboard?region=330483101001").await.ok().clone();
    assert_eq!(
        (mine["rows"][0]["name"].as_str(), mine["rows"][0]["me"].as_bool()),
        (Some("resident 姓名"), Some(true))
    );
    let r = put(&t, "resident", "/api/v1/me/points/leaderboard", json!({ "on_leaderboard": true })).await;
    assert_eq!(r.ok()["on_leaderboard"], true);
    let board = t.get(Some("resident2"), &format!("/api/v1/points/leaderboard?region={GRID1}")).await.ok().clone();
    assert_eq!(board["rows"][0]["name"], "resident 姓名");
    t.get(Some("resident"), "/api/v1/points/leaderboard").await.problem(422, Some("region"));
    t.get(Some("resident"), "/api/v1/points/leaderboard?region=9").await.problem(422, Some("region"));
    t.get(None, &format!("/api/v1/points/leaderboard?region={GRID1}")).await.problem(401, None);
    // Commendations: the grid leader commends the member; shown to them and to staff.
    let c = t
        .post(
            Some("leader"),
            &format!("/api/v1/people/{member}/commendations"),
            json!({ "region": GRID1, "text": "台风期间连续值守" }),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{c:?}");
    assert_eq!(c.body["by_name"], "leader 姓名");
    let shown = t.get(Some("member"), &format!("/api/v1/people/{member}/commendations")).await.ok().clone();
    assert_eq!(shown[0]["text"], "台风期间连续值守");
    assert_eq!(
        t.get(Some("dispatcher"), &format!("/api/v1/people/{member}/commendations"))
            .await
            .ok()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    t.get(Some("resident"), &format!("/api/v1/people/{member}/commendations")).await.problem(404, None);
    t.post(
        Some("member"),
        &format!("/api/v1/people/{resident}/commendations"),
        json!({ "region": GRID1, "text": "x" }),
    )
    .await
    .problem(403, None);
    t.post(Some("leader"), &format!("/api/v1/people/{member}/commendations"), json!({ "region": GRID3, "text": "x" }))
        .await
        .problem(404, None);
    t.post(Some("leader"), &format!("/api/v1/people/{member}/commendations"), json!({ "region": GRID1, "text": "" }))
        .await
        .problem(422, Some("text"));
}

#[tokio::test]
async fn the_rules_and_the_catalogue_are_the_admins_and_bad_values_are_refused() {
    let t = TestApp::spawn().await;
    let rules = t.get(Some("resident"), "/api/v1/points/rules").await.ok().clone();
    assert_eq!(rules["daily_cap"], 50);
    let good = json!({ "report_verified": 10, "rules": [], "daily_cap": 30, "volunteer_hour": 5, "consultation": 5 });
    put(&t, "dispatcher", "/api/v1/points/rules", good.clone()).await.problem(403, None);
    put(
        &t,
        "admin",
        "/api/v1/points/rules",
        json!({ "report_verified": 10, "rules": [], "daily_cap": 0, "volunteer_hour": 5, "consultation": 5 }),
    )
    .await
    .problem(422, Some("daily_cap"));
    put(&t, "admin", "/api/v1/points/rules", json!({ "report_verified": 10, "rules": [{ "category": 424242, "points": 3 }], "daily_cap": 30, "volunteer_hour": 5, "consultation": 5 })).await.problem(404, Some("rules[0].category"));
    put(
        &t,
        "admin",
        "/api/v1/points/rules",
        json!({ "report_verified": 10, "daily_cap": 30, "volunteer_hour": 5, "consultation": 5, "bonus": 1 }),
    )
    .await
    .problem(422, None);
    assert_eq!(put(&t, "admin", "/api/v1/points/rules", good.clone()).await.ok()["daily_cap"], 30);
    assert_eq!(t.get(Some("resident"), "/api/v1/points/rules").await.ok()["daily_cap"], 30);
    // Rewards: admins of the region only; values checked.
    let body = json!({ "region": "330483101001", "name": "环保袋", "cost": 10, "stock": 1 });
    t.post(Some("member"), "/api/v1/rewards", body.clone()).await.problem(403, None);
    t.post(Some("resident"), "/api/v1/rewards", body.clone()).await.problem(403, None);
    t.post(
        Some("admin"),
        "/api/v1/rewards",
        json!({ "region": "330483101001", "name": "环保袋", "cost": 0, "stock": 1 }),
    )
    .await
    .problem(422, Some("cost"));
    t.post(Some("admin"), "/api/v1/rewards", json!({ "region": "330483101001", "name": " ", "cost": 5, "stock": 1 }))
        .await
        .problem(422, Some("name"));
    t.post(Some("admin"), "/api/v1/rewards", json!({ "region": "330483101001", "name": "x", "cost": 5, "stock": -1 }))
        .await
        .problem(422, Some("stock"));
    t.post(Some("admin"), "/api/v1/rewards", json!({ "region": "330483777", "name": "x", "cost": 5, "stock": 1 }))
        .await
        .problem(404, Some("region"));
    let street = t.add_person("street_admin", &[(Role::Admin, "region:330483102")]).await;
    let _ = street;
    t.post(Some("street_admin"), "/api/v1/rewards", body.clone()).await.problem(404, None);
    let id = id_of(t.post(Some("admin"), "/api/v1/rewards", body).await.ok());
    put(&t, "street_admin", &format!("/api/v1/rewards/{id}"), json!({ "name": "x", "cost": 5, "stock": 1 }))
        .await
        .problem(404, None);
    put(&t, "admin", "/api/v1/rewards/99999", json!({ "name": "x", "cost": 5, "stock": 1 })).await.problem(404, None);
    t.get(Some("resident"), "/api/v1/me/points?limit=0").await.problem(422, Some("limit"));
    t.get(Some("resident"), "/api/v1/me/points?page=2").await.problem(422, Some("page"));
    t.get(Some("member"), "/api/v1/redemptions?state=lost").await.problem(422, Some("state"));
    t.get(None, "/api/v1/me/points").await.problem(401, None);
}
