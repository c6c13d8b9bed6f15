//! Field inspections over HTTP: check lists written by admins and versioned, the plan and a grid
//! member's due inspections, an inspection at the place whose failure opens a hazard case with
//! the department, the department's rectification, the re-inspection that closes it, the safety
//! file, the phone's key making a resend harmless — and every refusal, with nothing half-written.

use gridkeeper_domain::inspections::SubjectKind;
use gridkeeper_domain::registry::{PersonalDetails, PlaceData, RiskLevel, Text};
use gridkeeper_domain::{LatLon, RegionCode};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::*;

async fn put(t: &TestApp, who: &str, path: &str, body: Value) -> Resp {
    t.send_raw(Some(who), t.client.put(format!("{}{path}", t.base)).json(&body)).await
}

/// The hazard class and its fire subclass (led by CITY_MGMT), and a shop in GRID1.
pub async fn hazard_town(t: &TestApp) -> i64 {
    let category = |code: &str, parent: Value| {
        json!({ "code": code, "name": "消防安全隐患", "name_en": "Fire safety hazard", "kind": "hazard", "parent_id": parent,
                "default_department": CITY_MGMT, "public": false,
                "deadlines": { "routine_hours": 120, "urgent_hours": 48, "emergency_hours": 8 } })
    };
    let class = t.post(Some("admin"), "/api/v1/categories", category("H01", Value::Null)).await;
    let class = class.ok()["category"]["id"].as_i64().unwrap();
    t.post(Some("admin"), "/api/v1/categories", category("H0101", json!(class))).await.ok();
    hazard_town_place(t, "西栅小卖部").await
}

/// Another shop in GRID1.
pub async fn hazard_town_place(t: &TestApp, name: &str) -> i64 {
    let text = |s: &str| Text::parse("text", s).unwrap();
    let shop = PlaceData {
        kind: "shop".into(),
        name: text(name),
        address: text("西栅大街 8 号"),
        location: LatLon::new(IN_GRID1.0, IN_GRID1.1).unwrap(),
        grid: RegionCode::parse(GRID1).unwrap(),
        functional_grid: None,
        credit_code: None,
        licences: vec![],
        responsible: PersonalDetails { name: text("王五"), phone: None, id_number: None },
        staff: 2,
        risk: RiskLevel::High,
        fields: Default::default(),
    };
    t.store.create_place(&shop, None, 1).await.unwrap().id.0
}

pub fn shop_checklist() -> Value {
    json!({
        "name": "小商店消防安全检查表", "name_en": "Fire safety of a small shop", "subject": "place", "kind": "shop",
        "items": [
            { "code": "F01", "text": "安全出口畅通", "severity": "critical", "photo_on_fail": true, "rectify_days": 3, "category": "H0101" },
            { "code": "F02", "text": "灭火器在有效期内", "severity": "major", "rectify_days": 5, "category": "H0101" }
        ]
    })
}

fn results(f01: &str, f02: &str, photo: Option<&str>, note: Option<&str>) -> Value {
    json!([
        { "item": "F01", "outcome": f01, "note": note, "photos": photo.into_iter().collect::<Vec<_>>() },
        { "item": "F02", "outcome": f02 }
    ])
}

#[tokio::test]
async fn a_hazard_lives_from_its_inspection_to_its_reinspection() {
    let t = TestApp::spawn().await;
    let shop = hazard_town(&t).await;

    // Check lists are the district admins'; a new version keeps the first.
    t.post(Some("member"), "/api/v1/checklists", shop_checklist()).await.problem(403, None);
    let list = t.post(Some("admin"), "/api/v1/checklists", shop_checklist()).await;
    assert_eq!(list.status, StatusCode::CREATED, "{list:?}");
    let id = list.body["id"].as_i64().unwrap();
    t.post(Some("admin"), "/api/v1/checklists", shop_checklist()).await.problem(409, Some("kind"));
    let v2 = put(&t, "admin", &format!("/api/v1/checklists/{id}"), shop_checklist()).await;
    assert_eq!((v2.ok()["version"].as_u64(), v2.body["current"].as_u64()), (Some(2), Some(2)));
    let v1 = t.get(Some("member"), &format!("/api/v1/checklists/{id}?version=1")).await;
    assert_eq!(v1.ok()["items"].as_array().unwrap().len(), 2);
    t.get(Some("resident"), "/api/v1/checklists").await.problem(403, None);

    // The plan puts the shop on the member's list, due within 30 days of its registration.
    let plan = json!({ "rules": [{ "subject": "place", "kind": "shop", "risk": "high", "every_days": 30 }] });
    put(&t, "member", "/api/v1/inspection-plan", plan.clone()).await.problem(403, None);
    assert_eq!(put(&t, "admin", "/api/v1/inspection-plan", plan).await.ok()["planned"], 1);
    let tasks = t.get(Some("member"), "/api/v1/inspection-tasks?days=400&lat=30.005&lon=120.005").await;
    let tasks = tasks.ok().as_array().unwrap().clone();
    assert_eq!(
        (tasks.len(), tasks[0]["subject"]["id"].as_i64(), tasks[0]["distance_m"].as_f64()),
        (1, Some(shop), Some(0.0))
    );
    assert!(t.get(Some("member3"), "/api/v1/inspection-tasks?days=400").await.ok().as_array().unwrap().is_empty());

    // On patrol, F01 fails with its photo, far from the shop: a hazard dispatched to the department.
    let patrol = t.post(Some("member"), "/api/v1/patrols", json!({ "grid": GRID1 })).await;
    let patrol = patrol.ok()["id"].as_i64().unwrap();
    let photo = t.upload_photo(Some("member")).await;
    let body = json!({ "subject": "place", "subject_id": shop, "checklist": id, "version": 2,
                       "results": results("fail", "pass", Some(&photo), Some("纸箱堵住后门")),
                       "lat": 30.009, "lon": 120.005, "accuracy_m": 12.0, "key": "phone-1" });
    let done = t.post(Some("member"), "/api/v1/inspections", body.clone()).await;
    assert_eq!(done.status, StatusCode::CREATED, "{done:?}");
    let inspection = &done.body["inspection"];
    assert_eq!((inspection["failed"].as_u64(), inspection["far"].as_bool()), (Some(1), Some(true)));
    let hazard = done.body["opened"][0]["case_id"].as_i64().unwrap();
    assert_eq!(done.body["opened"][0]["state"], "dispatched");
    // The patrol links the inspection made during it, and the hazard reported.
    let during = t.get(Some("member"), &format!("/api/v1/patrols/{patrol}")).await;
    assert_eq!(
        (during.ok()["inspections"][0]["id"].clone(), during.body["inspections"][0]["failed"].as_u64()),
        (inspection["id"].clone(), Some(1))
    );
    assert_eq!(during.body["cases"][0]["id"].as_i64(), Some(hazard));
    let case = t.detail("staff", hazard).await;
    assert_eq!(
        (case["case"]["lead_department"].as_i64(), case["case"]["category_kind"].as_str()),
        (Some(CITY_MGMT), Some("hazard"))
    );
    // Sent again after a lost answer: the same inspection, nothing new.
    let again = t.post(Some("member"), "/api/v1/inspections", body).await;
    assert_eq!(
        (again.status, again.body["repeated"].as_bool(), again.body["inspection"]["id"].clone()),
        (StatusCode::OK, Some(true), inspection["id"].clone())
    );

    // The safety file shows the open hazard and the inspection, to whom may read it.
    let file = t.get(Some("leader"), &format!("/api/v1/safety-files/place/{shop}")).await;
    let file = file.ok();
    assert_eq!(
        (file["hazards"][0]["case_id"].as_i64(), file["hazards"][0]["open"].as_bool()),
        (Some(hazard), Some(true))
    );
    assert_eq!((file["inspections"].as_array().unwrap().len(), file["checklist"]["version"].as_u64()), (1, Some(2)));
    t.get(Some("member3"), &format!("/api/v1/safety-files/place/{shop}")).await.problem(404, None);
    t.get(Some("resident"), &format!("/api/v1/safety-files/place/{shop}")).await.problem(404, None);

    // The department puts it right; the re-inspection sees it and closes the hazard.
    t.act("staff", hazard, "sign", json!({})).await;
    let evidence = t.upload_photo(Some("staff")).await;
    t.act("staff", hazard, "submit_result", json!({ "note": "已清理后门纸箱", "evidence": [evidence] })).await;
    let after = t.upload_photo(Some("member")).await;
    let recheck = json!({ "subject": "place", "subject_id": shop, "checklist": id, "version": 2,
                          "results": results("pass", "pass", Some(&after), None), "lat": 30.005, "lon": 120.005 });
    let judged = t.post(Some("member"), "/api/v1/inspections", recheck).await;
    assert_eq!(judged.status, StatusCode::CREATED, "{judged:?}");
    assert_eq!(
        (judged.body["judged"][0]["case_id"].as_i64(), judged.body["judged"][0]["state"].as_str()),
        (Some(hazard), Some("closed"))
    );
    assert_eq!(judged.body["inspection"]["far"], false);
    assert!(judged.body["opened"].as_array().unwrap().is_empty());
    assert_eq!(t.timeline(hazard).await, ["find_hazard", "sign", "submit_result", "reinspect"]);
    let file = t.get(Some("member"), &format!("/api/v1/safety-files/place/{shop}")).await;
    assert_eq!(
        (file.ok()["hazards"][0]["open"].as_bool(), file.body["inspections"].as_array().unwrap().len()),
        (Some(false), 2)
    );
    assert!(file.body["due_at"].is_string());
    let one = t.get(Some("member"), &format!("/api/v1/inspections/{}", judged.body["inspection"]["id"])).await;
    assert_eq!(one.ok()["results"][0]["hazard_case"].as_i64(), Some(hazard));
}

#[tokio::test]
async fn a_wrong_inspection_is_refused_by_name_and_writes_nothing() {
    let t = TestApp::spawn().await;
    let shop = hazard_town(&t).await;
    let id = t.post(Some("admin"), "/api/v1/checklists", shop_checklist()).await.ok()["id"].as_i64().unwrap();
    let send = |who: &'static str, changes: Value| {
        let mut body = json!({ "subject": "place", "subject_id": shop, "checklist": id, "version": 1,
                               "results": results("pass", "pass", None, None) });
        for (k, v) in changes.as_object().unwrap() {
            body[k] = v.clone();
        }
        let t = &t;
        async move { t.post(Some(who), "/api/v1/inspections", body).await }
    };
    // Outside one's grid the place does not exist; the leader of its community may inspect it.
    send("member3", json!({})).await.problem(404, None);
    send("dispatcher", json!({})).await.problem(403, None);
    send("resident", json!({})).await.problem(404, None);
    send("member", json!({ "subject_id": 999_999 })).await.problem(404, None);
    send("member", json!({ "version": 2 })).await.problem(404, Some("version"));
    send("member", json!({ "results": json!([{ "item": "F01", "outcome": "pass" }, { "item": "F02", "outcome": "pass" }, { "item": "F09", "outcome": "pass" }]) }))
        .await
        .problem(422, Some("results[2].item"));
    send("member", json!({ "results": json!([{ "item": "F01", "outcome": "pass" }]) }))
        .await
        .problem(422, Some("results"));
    send("member", json!({ "results": results("fail", "pass", None, Some("堵塞")) }))
        .await
        .problem(422, Some("results[0].photos"));
    send("member", json!({ "results": results("fail", "pass", None, None) }))
        .await
        .problem(422, Some("results[0].note"));
    send("member", json!({ "lat": 30.0 })).await.problem(422, None);
    send("member", json!({ "done_at": "2099-01-01T00:00:00Z" })).await.problem(422, Some("done_at"));
    send("member", json!({ "done_at": "2020-01-01T00:00:00Z" })).await.problem(422, Some("done_at"));
    let photo = t.upload_photo(Some("member")).await;
    send("member", json!({ "results": results("pass", "pass", Some(&photo), None) }))
        .await
        .problem(422, Some("results[0].photos"));
    // Another's photo: refused by the store, and the whole inspection with it.
    let theirs = t.upload_photo(Some("leader")).await;
    send("member", json!({ "results": results("fail", "pass", Some(&theirs), Some("堵塞")) }))
        .await
        .problem(404, Some("photos"));
    assert!(t.store.inspections_of(SubjectKind::Place, shop, 10).await.unwrap().is_empty());
    assert!(t.store.hazards_of(SubjectKind::Place, shop).await.unwrap().is_empty());
    // A check list of another kind; a check list naming no hazard category.
    let mut venue = shop_checklist();
    venue["kind"] = json!("venue");
    let other = t.post(Some("admin"), "/api/v1/checklists", venue).await.ok()["id"].as_i64().unwrap();
    send("member", json!({ "checklist": other })).await.problem(422, Some("checklist"));
    let mut wrong = shop_checklist();
    wrong["kind"] = json!("school");
    wrong["items"][1]["category"] = json!("C0101");
    t.post(Some("admin"), "/api/v1/checklists", wrong.clone()).await.problem(422, Some("items[1].category"));
    wrong["kind"] = json!("zoo");
    wrong["items"][1]["category"] = json!("H0101");
    t.post(Some("admin"), "/api/v1/checklists", wrong).await.problem(422, Some("kind"));
    put(
        &t,
        "admin",
        "/api/v1/inspection-plan",
        json!({ "rules": [
        { "subject": "place", "kind": "shop", "risk": "high", "every_days": 30 },
        { "subject": "place", "kind": "shop", "risk": "high", "every_days": 60 }] }),
    )
    .await
    .problem(422, Some("rules[1]"));
    // The leader of the community inspects; the item's photo rule holds for everyone.
    let ok = send("leader", json!({})).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{ok:?}");
}

#[tokio::test]
async fn answers_match_the_documented_schemas() {
    let t = TestApp::spawn().await;
    let s = crate::schemas::Schemas::of(&t).await;
    let shop = hazard_town(&t).await;
    let r = t.post(Some("admin"), "/api/v1/checklists", shop_checklist()).await;
    s.assert("post", "/checklists", &r);
    let id = r.body["id"].as_i64().unwrap();
    s.assert("put", "/checklists/{id}", &put(&t, "admin", &format!("/api/v1/checklists/{id}"), shop_checklist()).await);
    s.assert("get", "/checklists", &t.get(Some("member"), "/api/v1/checklists").await);
    s.assert("get", "/checklists/{id}", &t.get(Some("member"), &format!("/api/v1/checklists/{id}?version=1")).await);
    let plan = json!({ "rules": [{ "subject": "place", "kind": "shop", "risk": "high", "every_days": 30 }] });
    s.assert("put", "/inspection-plan", &put(&t, "admin", "/api/v1/inspection-plan", plan).await);
    s.assert("get", "/inspection-plan", &t.get(Some("member"), "/api/v1/inspection-plan").await);
    s.assert(
        "get",
        "/inspection-tasks",
        &t.get(Some("member"), "/api/v1/inspection-tasks?days=60&lat=30.0&lon=120.0").await,
    );
    let photo = t.upload_photo(Some("member")).await;
    let body = json!({ "subject": "place", "subject_id": shop, "checklist": id, "version": 2, "key": "k1",
                       "results": results("fail", "pass", Some(&photo), Some("堵塞")), "lat": 30.005, "lon": 120.005 });
    let r = t.post(Some("member"), "/api/v1/inspections", body.clone()).await;
    s.assert("post", "/inspections", &r);
    s.assert("post", "/inspections", &t.post(Some("member"), "/api/v1/inspections", body).await);
    s.assert(
        "get",
        "/inspections/{id}",
        &t.get(Some("member"), &format!("/api/v1/inspections/{}", r.body["inspection"]["id"])).await,
    );
    s.assert(
        "get",
        "/safety-files/{subject}/{id}",
        &t.get(Some("member"), &format!("/api/v1/safety-files/place/{shop}")).await,
    );
    s.assert(
        "post",
        "/checklists/{id}/retire",
        &t.post(Some("admin"), &format!("/api/v1/checklists/{id}/retire"), json!({})).await,
    );
}

#[tokio::test]
async fn a_social_unit_inspects_itself_and_a_grid_member_spot_checks_it() {
    let t = TestApp::spawn_with(backend(), None, |s| s.inspections.spot_check_percent = 100).await;
    let shop = hazard_town(&t).await;
    let id = t.post(Some("admin"), "/api/v1/checklists", shop_checklist()).await.ok()["id"].as_i64().unwrap();
    t.add_person("unit", &[(gridkeeper_domain::Role::SocialUnit, &format!("place:{shop}"))]).await;
    // The unit's own place is its task; it inspects it itself and passes everything.
    let tasks = t.get(Some("unit"), "/api/v1/inspection-tasks").await;
    assert_eq!((tasks.ok()[0]["kind"].as_str(), tasks.body[0]["subject"]["id"].as_i64()), (Some("self"), Some(shop)));
    let body = |f01: &str, f02: &str, photo: Option<&str>, note: Option<&str>| json!({ "subject": "place", "subject_id": shop, "checklist": id, "version": 1, "results": results(f01, f02, photo, note) });
    let own = t.post(Some("unit"), "/api/v1/inspections", body("pass", "pass", None, None)).await;
    assert_eq!((own.status, own.body["inspection"]["kind"].as_str()), (StatusCode::CREATED, Some("self")), "{own:?}");
    // Picked for a spot check: on the grid member's list.
    let tasks = t.get(Some("member"), "/api/v1/inspection-tasks?days=30").await;
    assert!(
        tasks.ok().as_array().unwrap().iter().any(|x| x["kind"] == "spot_check" && x["subject"]["id"] == shop),
        "{tasks:?}"
    );
    // The grid member finds F02 wrong: the self-inspection is contradicted, and a hazard opened.
    let mut failing = body("pass", "pass", None, None);
    failing["results"][1] = json!({ "item": "F02", "outcome": "fail", "note": "灭火器过期" });
    let check = t.post(Some("member"), "/api/v1/inspections", failing).await;
    assert_eq!(
        (check.status, check.body["inspection"]["kind"].as_str()),
        (StatusCode::CREATED, Some("spot_check")),
        "{check:?}"
    );
    let file = t.get(Some("unit"), &format!("/api/v1/safety-files/place/{shop}")).await;
    assert_eq!(file.ok()["spot_checks"][0]["contradicted"], json!(["F02"]));
    assert_eq!(file.body["may_inspect"], true);
    // The unit's own failure opens a hazard it reported; its own "put right" does not close it.
    let photo = t.upload_photo(Some("unit")).await;
    let failed =
        t.post(Some("unit"), "/api/v1/inspections", body("fail", "pass", Some(&photo), Some("后门堆放纸箱"))).await;
    assert_eq!(failed.body["opened"].as_array().map(Vec::len), Some(1), "{failed:?}");
    let hazard = failed.body["opened"][0]["case_id"].as_i64().unwrap();
    assert_eq!(t.detail("dispatcher", hazard).await["case"]["source"], "social_unit");
    let mut fixed = body("pass", "pass", None, None);
    fixed["results"][1] = json!({ "item": "F02", "outcome": "fail", "note": "仍过期" });
    let again = t.post(Some("unit"), "/api/v1/inspections", fixed).await;
    assert!(again.ok()["judged"].as_array().unwrap().is_empty() && again.body["opened"].as_array().unwrap().is_empty());
    let file = t.get(Some("member"), &format!("/api/v1/safety-files/place/{shop}")).await;
    assert!(file.ok()["hazards"].as_array().unwrap().iter().all(|h| h["open"] == true));
    // Another place is not the unit's: it does not exist for it.
    let other = hazard_town_place(&t, "东栅小卖部").await;
    t.post(Some("unit"), "/api/v1/inspections", json!({ "subject": "place", "subject_id": other, "checklist": id, "version": 1, "results": results("pass", "pass", None, None) }))
        .await
        .problem(404, None);
}

/// A workbook of check-list rows as an office writes it: a header row, then the items.
pub fn workbook(rows: &[[&str; 7]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let header = ["编号", "检查内容", "英文", "严重程度", "不合格须拍照", "整改期限（工作日）", "隐患类别"];
    for (c, h) in header.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            match v.parse::<f64>() {
                Ok(n) if c == 5 => sheet.write_number(r as u32 + 1, c as u16, n).unwrap(),
                _ => sheet.write_string(r as u32 + 1, c as u16, *v).unwrap(),
            };
        }
    }
    book.save_to_buffer().unwrap()
}

#[tokio::test]
async fn a_check_list_is_imported_from_a_sheet_checked_first() {
    let t = TestApp::spawn().await;
    hazard_town(&t).await;
    let rows = [
        ["F01", "安全出口畅通", "Exits clear", "严重", "是", "3", "H0101"],
        ["F02", "灭火器在有效期内", "", "较重", "否", "5", "H0101"],
    ];
    let send = |who: &'static str, query: &str, bytes: Vec<u8>| {
        let req = t
            .client
            .post(format!(
                "{}/api/v1/checklists/import?subject=place&kind=shop&name=小商店消防安全检查表{query}",
                t.base
            ))
            .header("content-type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            .body(bytes);
        t.send_raw(Some(who), req)
    };
    send("member", "", workbook(&rows)).await.problem(403, None);
    let dry = send("admin", "&dry_run=true", workbook(&rows)).await;
    assert_eq!(
        (dry.status, dry.body["draft"]["items"][0]["photo_on_fail"].as_bool(), dry.body["checklist"].is_null()),
        (StatusCode::OK, Some(true), true),
        "{dry:?}"
    );
    assert!(
        t.get(Some("admin"), "/api/v1/checklists").await.ok().as_array().unwrap().is_empty(),
        "a dry run writes nothing"
    );
    let done = send("admin", "", workbook(&rows)).await;
    assert_eq!((done.status, done.body["checklist"]["version"].as_u64()), (StatusCode::CREATED, Some(1)), "{done:?}");
    // Imported again: a new version of the check list in force for the kind.
    let again = send("admin", "", workbook(&rows[..1])).await;
    assert_eq!(
        (again.body["checklist"]["id"].clone(), again.body["checklist"]["version"].as_u64()),
        (done.body["checklist"]["id"].clone(), Some(2))
    );
    // A wrong cell is named by its row and column; a file that is no workbook by the body.
    let mut bad = rows;
    bad[1][3] = "很重";
    send("admin", "", workbook(&bad)).await.problem(422, Some("rows[3].severity"));
    let mut bad = rows;
    bad[0][5] = "0";
    send("admin", "", workbook(&bad)).await.problem(422, Some("rows[2].rectify_days"));
    let mut bad = rows;
    bad[1][6] = "C0101";
    send("admin", "", workbook(&bad)).await.problem(422, Some("items[1].category"));
    send("admin", "", b"not a workbook".to_vec()).await.problem(422, Some("body"));
    assert_eq!(t.get(Some("admin"), "/api/v1/checklists").await.ok()[0]["version"], 2, "refusals change nothing");
}
