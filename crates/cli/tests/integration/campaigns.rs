//! Special rectification campaigns over HTTP: started by the linkage center over a street, its
//! tasks on the grid member's task list marked with its name, an inspection counted for it with
//! its hazard, the board per community and grid, closing early (audited) — and every refusal,
//! with nothing written.

use gridkeeper_domain::notices::{Channel, NoticeKind};
use gridkeeper_domain::registry::{PersonalDetails, PlaceData, RiskLevel, Text};
use gridkeeper_domain::{LatLon, RegionCode};
use gridkeeper_store::AuditQuery;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::*;
use crate::inspections::{hazard_town, shop_checklist};

/// A day `offset` days from today (UTC+8), as `YYYY-MM-DD`.
pub fn day(offset: i64) -> String {
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    (today + chrono::Duration::days(offset)).to_string()
}

/// A shop in GRID3, another community of the street.
pub async fn second_shop(t: &TestApp) -> i64 {
    let text = |s: &str| Text::parse("text", s).unwrap();
    let shop = PlaceData {
        kind: "shop".into(),
        name: text("东栅杂货店"),
        address: text("东栅大街 3 号"),
        location: LatLon::new(IN_GRID3.0, IN_GRID3.1).unwrap(),
        grid: RegionCode::parse(GRID3).unwrap(),
        functional_grid: None,
        credit_code: None,
        licences: vec![],
        responsible: PersonalDetails { name: text("赵六"), phone: None, id_number: None },
        staff: 1,
        risk: RiskLevel::Low,
        fields: Default::default(),
    };
    t.store.create_place(&shop, None, 1).await.unwrap().id.0
}

pub fn campaign(region: &str, starts: i64, ends: i64, due: Option<i64>, kinds: &[&str], houses: bool) -> Value {
    json!({ "name": "三小场所消防安全专项整治", "region": region, "starts_at": day(starts), "ends_at": day(ends),
            "due_at": due.map(day), "kinds": kinds, "risks": [], "houses": houses })
}

#[tokio::test]
async fn a_campaign_from_its_start_to_its_board_and_its_close() {
    let t = TestApp::spawn().await;
    let shop = hazard_town(&t).await;
    let other = second_shop(&t).await;
    let list = t.post(Some("admin"), "/api/v1/checklists", shop_checklist()).await;
    let checklist = list.ok()["id"].as_i64().unwrap();

    // Refusals, each naming its field; nothing is written.
    let street = "330483101";
    let good = campaign(street, -10, 20, Some(-2), &["shop"], false);
    t.post(Some("member"), "/api/v1/campaigns", good.clone()).await.problem(403, None);
    t.post(Some("leader"), "/api/v1/campaigns", good.clone()).await.problem(403, None);
    t.post(Some("outsider"), "/api/v1/campaigns", good.clone()).await.problem(404, None);
    t.post(Some("dispatcher"), "/api/v1/campaigns", campaign("330499", 0, 20, None, &["shop"], false))
        .await
        .problem(404, Some("region"));
    t.post(Some("dispatcher"), "/api/v1/campaigns", campaign(street, 0, 20, None, &[], false))
        .await
        .problem(422, Some("kinds"));
    t.post(Some("dispatcher"), "/api/v1/campaigns", campaign(street, 5, 4, None, &["shop"], false))
        .await
        .problem(422, Some("ends_at"));
    t.post(Some("dispatcher"), "/api/v1/campaigns", campaign(street, 0, 20, Some(30), &["shop"], false))
        .await
        .problem(422, Some("due_at"));
    t.post(Some("dispatcher"), "/api/v1/campaigns", campaign(street, 0, 20, None, &["hotel"], false))
        .await
        .problem(422, Some("kinds[0]"));
    t.post(Some("dispatcher"), "/api/v1/campaigns", campaign(street, 0, 20, None, &["shop"], true))
        .await
        .problem(422, Some("houses"));
    t.post(Some("dispatcher"), "/api/v1/campaigns", campaign(GRID1, 0, 20, None, &["shop"], false))
        .await
        .problem(422, Some("region"));
    let mut bad = good.clone();
    bad["starts_at"] = json!("2026-13-01");
    t.post(Some("dispatcher"), "/api/v1/campaigns", bad).await.problem(422, Some("starts_at"));
    let mut bad = good.clone();
    bad["colour"] = json!("red");
    assert_eq!(t.post(Some("dispatcher"), "/api/v1/campaigns", bad).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = t.get(Some("dispatcher"), "/api/v1/campaigns").await;
    assert!(page.ok()["items"].as_array().unwrap().is_empty());

    // Started ten days ago, due two days ago: both shops of the street are selected and overdue.
    let started = t.post(Some("dispatcher"), "/api/v1/campaigns", good).await;
    assert_eq!(started.status, StatusCode::CREATED, "{started:?}");
    let c = started.body.clone();
    let id = c["id"].as_i64().unwrap();
    assert_eq!(
        (c["subjects"].as_u64(), c["inspected"].as_u64(), c["status"].as_str()),
        (Some(2), Some(0), Some("running"))
    );
    assert_eq!(c["checklists"], json!([{ "subject": "place", "kind": "shop", "checklist": checklist }]));
    assert_eq!((c["due_at"].as_str(), c["may_close"].as_bool()), (Some(day(-2).as_str()), Some(true)));

    // The grid member's task list shows the shop (on no plan) marked with the campaign.
    let tasks = t.get(Some("member"), "/api/v1/inspection-tasks").await;
    let tasks = tasks.ok().as_array().unwrap().clone();
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(
        (
            tasks[0]["subject"]["id"].as_i64(),
            tasks[0]["campaign"]["id"].as_i64(),
            tasks[0]["campaign"]["name"].as_str()
        ),
        (Some(shop), Some(id), Some("三小场所消防安全专项整治"))
    );
    assert_eq!((tasks[0]["overdue"].as_bool(), tasks[0]["every_days"].as_u64()), (Some(true), Some(0)));
    let theirs = t.get(Some("member3"), "/api/v1/inspection-tasks").await;
    assert_eq!(theirs.ok()[0]["subject"]["id"].as_i64(), Some(other));

    // The inspection fails F01: it counts for the campaign, and its task leaves the list.
    let photo = t.upload_photo(Some("member")).await;
    let body = json!({ "subject": "place", "subject_id": shop, "checklist": checklist, "version": 1,
                       "results": [{ "item": "F01", "outcome": "fail", "note": "后门堵塞", "photos": [photo] },
                                   { "item": "F02", "outcome": "pass" }] });
    let done = t.post(Some("member"), "/api/v1/inspections", body).await;
    assert_eq!(done.status, StatusCode::CREATED, "{done:?}");
    assert_eq!(done.body["inspection"]["campaign"].as_i64(), Some(id));
    let ins = done.body["inspection"]["id"].as_i64().unwrap();
    assert_eq!(t.get(Some("member"), &format!("/api/v1/inspections/{ins}")).await.ok()["campaign"].as_i64(), Some(id));
    // The place's safety file names the campaign the inspection counted for.
    let file = t.get(Some("member"), &format!("/api/v1/safety-files/place/{shop}")).await;
    let counted = &file.ok()["inspections"][0];
    assert_eq!(
        (counted["id"].as_i64(), counted["campaign"].as_i64(), counted["campaign_name"].as_str()),
        (Some(ins), Some(id), Some("三小场所消防安全专项整治"))
    );
    assert!(t.get(Some("member"), "/api/v1/inspection-tasks").await.ok().as_array().unwrap().is_empty());

    // The board: per community, with its grids; the totals.
    let board = t.get(Some("supervisor"), &format!("/api/v1/campaigns/{id}/board")).await;
    let board = board.ok().clone();
    let totals = &board["totals"]["counts"];
    assert_eq!(
        totals,
        &json!({ "subjects": 2, "inspected": 1, "failed": 1, "hazards": 1, "rectified": 0, "overdue": 2, "hazards_overdue": 0 })
    );
    assert_eq!(
        (board["totals"]["inspected_pct"].as_f64(), board["totals"]["rectified_pct"].as_f64()),
        (Some(50.0), Some(0.0))
    );
    let communities: Vec<&str> =
        board["communities"].as_array().unwrap().iter().map(|c| c["region"].as_str().unwrap()).collect();
    assert_eq!(communities, ["330483101001", "330483101002"]);
    let first = &board["communities"][0];
    assert_eq!((first["counts"]["inspected"].as_u64(), first["grids"][0]["region"].as_str()), (Some(1), Some(GRID1)));
    assert_eq!(board["communities"][1]["grids"][0]["counts"]["inspected"], 0);

    // Who sees it: the linkage center, supervisors and analysts of the region, and the grid
    // leader of a community in it — the board limited to their community; nobody else.
    t.get(Some("member"), &format!("/api/v1/campaigns/{id}/board")).await.problem(403, None);
    assert_eq!(t.get(Some("leader"), &format!("/api/v1/campaigns/{id}")).await.ok()["subjects"], 2);
    let theirs = t.get(Some("leader"), &format!("/api/v1/campaigns/{id}/board")).await;
    let theirs = theirs.ok();
    assert_eq!(theirs["parts"], json!(["330483101001"]));
    assert_eq!(
        (theirs["totals"]["region"].as_str(), &theirs["totals"]["counts"]["subjects"]),
        (Some("330483101001"), &json!(1))
    );
    let communities: Vec<&str> =
        theirs["communities"].as_array().unwrap().iter().map(|c| c["region"].as_str().unwrap()).collect();
    assert_eq!(communities, ["330483101001"]);
    assert_eq!(board["parts"], json!([]));
    let listed = t.get(Some("leader"), "/api/v1/campaigns?region=330483101001").await;
    assert_eq!(listed.ok()["items"][0]["id"].as_i64(), Some(id));
    t.get(Some("leader"), "/api/v1/campaigns").await.problem(404, None);
    t.get(Some("leader"), "/api/v1/campaigns?region=330483101002").await.problem(404, None);
    t.get(Some("outsider"), &format!("/api/v1/campaigns/{id}/board")).await.problem(404, None);
    t.get(Some("admin"), "/api/v1/campaigns/999/board").await.problem(404, None);
    t.get(Some("outsider"), "/api/v1/campaigns").await.problem(404, None);
    t.get(Some("admin"), "/api/v1/campaigns?region=abc").await.problem(422, Some("region"));
    let listed = t.get(Some("admin"), "/api/v1/campaigns?region=330483101").await;
    assert_eq!(listed.ok()["items"][0]["id"].as_i64(), Some(id));
    // A community's list has the campaigns covering it.
    let listed = t.get(Some("admin"), "/api/v1/campaigns?region=330483101002").await;
    assert_eq!(listed.ok()["items"][0]["id"].as_i64(), Some(id));

    // Closed early, once, by who runs it; audited; the other shop's task leaves the list.
    let path = format!("/api/v1/campaigns/{id}/close");
    t.post(Some("supervisor"), &path, json!({})).await.problem(403, None);
    t.post(Some("dispatcher"), &path, json!({ "reason": "x".repeat(501) })).await.problem(422, Some("reason"));
    let closed = t.post(Some("dispatcher"), &path, json!({ "reason": "并入全区整治" })).await;
    assert_eq!(
        (closed.ok()["status"].as_str(), closed.body["close_reason"].as_str(), closed.body["may_close"].as_bool()),
        (Some("closed"), Some("并入全区整治"), Some(false))
    );
    t.post(Some("admin"), &path, json!({})).await.problem(409, Some("id"));
    assert!(t.get(Some("member3"), "/api/v1/inspection-tasks").await.ok().as_array().unwrap().is_empty());
    let q = AuditQuery { object: Some(format!("campaign:{id}")), limit: 10, ..Default::default() };
    let trail = t.store.audit_search(&q).await.unwrap();
    assert_eq!(trail.len(), 2);
    assert_eq!(trail[0].detail["closed"]["reason"], "并入全区整治");
}

/// `who`'s notices of overdue inspections that name `campaign`.
async fn overdue_told(t: &TestApp, who: &str, campaign: &str) -> Vec<Value> {
    let inbox = t.get(Some(who), "/api/v1/inbox").await.ok()["items"].as_array().unwrap().clone();
    inbox
        .into_iter()
        .filter(|n| n["kind"] == "inspection_overdue" && n["body"].as_str().unwrap().contains(campaign))
        .collect()
}

#[tokio::test]
async fn an_overdue_campaign_task_is_told_to_its_grid_members_then_its_grid_leaders_once() {
    let t = TestApp::spawn().await;
    let shop = hazard_town(&t).await;
    second_shop(&t).await;
    t.post(Some("admin"), "/api/v1/checklists", shop_checklist()).await.ok();
    // Due ten days ago, nothing inspected: more than three working days overdue.
    let body = campaign("330483101", -20, 20, Some(-10), &["shop"], false);
    let id = t.post(Some("dispatcher"), "/api/v1/campaigns", body).await.ok()["id"].as_i64().unwrap();
    let name = "三小场所消防安全专项整治";
    let now = t.app.now();
    let written = t.app.check_inspection_deadlines(now).await.unwrap();
    assert!(written >= 3, "{written}");
    // The grid members of each shop's grid, and the grid leader of the first one's community.
    let member = overdue_told(&t, "member", name).await;
    assert_eq!(member.len(), 1, "{member:#?}");
    assert!(member[0]["link"].as_str().unwrap().ends_with(&format!("/safety/place/{shop}")), "{member:#?}");
    assert_eq!(overdue_told(&t, "member3", name).await.len(), 1);
    let leader = overdue_told(&t, "leader", name).await;
    assert_eq!(leader.len(), 1, "{leader:#?}");
    assert!(leader[0]["body"].as_str().unwrap().contains("已提醒网格员仍未检查"), "{leader:#?}");
    // The grid staff get an SMS too (sent by the worker, quiet hours permitting).
    let pending = t.store.notices_with_status("pending", 100).await.unwrap();
    assert!(
        pending.iter().any(|n| n.kind == NoticeKind::InspectionOverdue && n.channel == Channel::Sms),
        "{pending:#?}"
    );
    // Once: another round, on this instance or another, writes nothing.
    assert_eq!(t.app.check_inspection_deadlines(now + 60_000).await.unwrap(), 0);
    assert_eq!(overdue_told(&t, "member", name).await.len(), 1);
    // A campaign closed early tells no more.
    t.post(Some("dispatcher"), &format!("/api/v1/campaigns/{id}/close"), json!({})).await.ok();
    assert_eq!(t.app.check_inspection_deadlines(now + 120_000).await.unwrap(), 0);
}

#[tokio::test]
async fn answers_match_the_documented_schemas() {
    let t = TestApp::spawn().await;
    let s = crate::schemas::Schemas::of(&t).await;
    hazard_town(&t).await;
    second_shop(&t).await;
    t.post(Some("admin"), "/api/v1/checklists", shop_checklist()).await.ok();
    let r = t
        .post(Some("dispatcher"), "/api/v1/campaigns", campaign("330483101", -3, 20, Some(-1), &["shop"], false))
        .await;
    s.assert("post", "/campaigns", &r);
    let id = r.body["id"].as_i64().unwrap();
    s.assert("get", "/campaigns", &t.get(Some("admin"), "/api/v1/campaigns?limit=5").await);
    s.assert("get", "/campaigns/{id}", &t.get(Some("supervisor"), &format!("/api/v1/campaigns/{id}")).await);
    s.assert(
        "get",
        "/campaigns/{id}/board",
        &t.get(Some("supervisor"), &format!("/api/v1/campaigns/{id}/board")).await,
    );
    s.assert("get", "/campaigns/{id}/board", &t.get(Some("leader"), &format!("/api/v1/campaigns/{id}/board")).await);
    s.assert("get", "/inspection-tasks", &t.get(Some("member"), "/api/v1/inspection-tasks").await);
    let close = t.post(Some("dispatcher"), &format!("/api/v1/campaigns/{id}/close"), json!({ "reason": null })).await;
    s.assert("post", "/campaigns/{id}/close", &close);
}
