//! Every path of the case loop over HTTP, each checked against its timeline.

use gridkeeper_domain::Role;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn happy_path_from_report_to_rating() {
    let t = TestApp::spawn().await;
    let created = t.report(Some("resident"), IN_GRID1, Some(MANHOLE)).await;
    assert_eq!(created["case"]["grid"], GRID1);
    assert_eq!(created["case"]["state"], "reported");
    assert_eq!(created["outside_jurisdiction"], false);
    let reference = created["case"]["reference"].as_str().unwrap().to_string();
    assert!(reference.starts_with("330483-20") && reference.ends_with("-000001"), "{reference}");
    let id = id_of(&created);

    let c =
        t.act("dispatcher", id, "accept", json!({ "category": MANHOLE, "urgency": "urgent", "note": "立案" })).await;
    assert_eq!((c["state"].as_str(), c["category"].as_i64()), (Some("accepted"), Some(MANHOLE)));
    let c =
        t.act("dispatcher", id, "dispatch", json!({ "lead_department": CITY_MGMT, "co_departments": [POWER] })).await;
    assert_eq!(c["state"], "dispatched");
    assert!(c["handle_by"].is_string());
    t.act("staff", id, "sign", json!({})).await;
    let photo = t.upload_photo(Some("power")).await;
    t.act("power", id, "report_part", json!({ "note": "断电配合", "evidence": [photo] })).await;
    let evidence = t.upload_photo(Some("staff")).await;
    let c = t.act("staff", id, "submit_result", json!({ "note": "已更换井盖", "evidence": [evidence] })).await;
    assert_eq!(c["state"], "resolved");
    t.act("member", id, "verify", json!({ "passed": true })).await;
    t.act("dispatcher", id, "close", json!({ "note": "结案" })).await;
    let c = t.act("resident", id, "rate", json!({ "score": 5, "comment": "很快" })).await;
    assert_eq!((c["state"].as_str(), c["rating"].as_i64()), (Some("rated"), Some(5)));

    assert_eq!(
        t.timeline(id).await,
        ["report", "accept", "dispatch", "sign", "report_part", "submit_result", "verify", "close", "rate"]
    );
    // The reporter sees the loop but not the departments' internal part reports.
    let mine = t.detail("resident", id).await;
    let actions: Vec<&str> =
        mine["timeline"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["report", "accept", "dispatch", "sign", "submit_result", "verify", "close", "rate"]);
    assert_eq!(mine["media"].as_array().unwrap().len(), 2);
    // Anyone may see the public view by reference: no reporter, no internal events.
    let public = t.get(None, &format!("/api/v1/public/cases/{reference}")).await;
    let p = public.ok();
    assert_eq!(p["state"], "rated");
    assert!(p.get("reporter").is_none());
    assert_eq!(p["timeline"].as_array().unwrap().len(), 8);
    // Event sequence numbers run 1..n and the version equals the count.
    let d = t.detail("dispatcher", id).await;
    let seqs: Vec<i64> = d["timeline"].as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=9).collect::<Vec<_>>());
    assert_eq!(d["case"]["version"], 9);
}

#[tokio::test]
async fn reject_as_invalid_and_the_reporter_reads_why() {
    let t = TestApp::spawn().await;
    let created = t.report(None, IN_GRID1, None).await;
    let id = id_of(&created);
    let code = created["tracking_code"].as_str().unwrap().to_string();
    // Anonymous reports have no reporter.
    assert!(created["case"]["reporter"].is_null());
    t.act("dispatcher", id, "reject", json!({ "reason": "invalid", "note": "照片与描述不符" })).await;
    assert_eq!(t.timeline(id).await, ["report", "reject"]);
    let tracked = t.get(None, &format!("/api/v1/track/{code}")).await;
    let v = tracked.ok();
    assert_eq!(v["state"], "rejected");
    assert_eq!(v["rejection"], "invalid");
    assert_eq!(v["answers"][0]["note"], "照片与描述不符");
    // Not a public category: the location shown is coarsened to about 200 m.
    let lat = v["location"]["lat"].as_f64().unwrap();
    assert!((lat - IN_GRID1.0).abs() > 1e-6 && (lat - IN_GRID1.0).abs() <= 0.0011, "{lat}");
    t.get(None, "/api/v1/track/not-a-code").await.problem(404, None);
}

#[tokio::test]
async fn duplicate_reports_are_found_and_linked() {
    let t = TestApp::spawn().await;
    let first = id_of(&t.report(Some("resident"), IN_GRID1, Some(MANHOLE)).await);
    t.act("dispatcher", first, "accept", json!({ "category": MANHOLE, "urgency": "routine" })).await;
    // A second report 20 m away of the same category is a possible duplicate.
    let second = t.report(Some("resident2"), (IN_GRID1.0 + 0.00018, IN_GRID1.1), Some(MANHOLE)).await;
    let dups = second["possible_duplicates"].as_array().unwrap();
    assert_eq!(dups.len(), 1, "{second}");
    assert!((dups[0]["distance_m"].as_f64().unwrap() - 20.0).abs() < 2.0);
    let second = id_of(&second);
    let listed = t.get(Some("dispatcher"), &format!("/api/v1/cases/{second}/possible-duplicates")).await;
    assert_eq!(listed.ok()["items"][0]["id"], first);
    // Far away, or another category: not a duplicate.
    let far = t.report(Some("resident2"), IN_GRID2, Some(MANHOLE)).await;
    assert!(far["possible_duplicates"].as_array().unwrap().is_empty());
    let other = t.report(Some("resident2"), IN_GRID1, Some(STREET_LIGHT)).await;
    assert!(other["possible_duplicates"].as_array().unwrap().is_empty());

    let reference = t.detail("dispatcher", first).await["case"]["reference"].as_str().unwrap().to_string();
    let c = t.act("dispatcher", second, "reject", json!({ "reason": "duplicate", "duplicate_of": reference })).await;
    assert_eq!((c["state"].as_str(), c["duplicate_of"].as_i64()), (Some("rejected"), Some(first)));
    assert_eq!(t.detail("dispatcher", first).await["duplicates"][0]["id"], second);
    assert_eq!(t.detail("dispatcher", second).await["duplicate_of"]["id"], first);
    assert_eq!(t.timeline(second).await, ["report", "reject"]);
}

#[tokio::test]
async fn return_and_redispatch() {
    let t = TestApp::spawn().await;
    let id = t.in_progress_case().await;
    let c = t.act("staff", id, "return", json!({ "reason": "属供电公司职责" })).await;
    assert_eq!((c["state"].as_str(), c["returns"].as_i64()), (Some("accepted"), Some(1)));
    assert!(c["lead_department"].is_null());
    // The former lead no longer sees the case in its list.
    let listed = t.get(Some("staff"), "/api/v1/cases").await;
    assert!(listed.ok()["items"].as_array().unwrap().iter().all(|c| c["id"] != id));
    t.act("dispatcher", id, "dispatch", json!({ "lead_department": POWER })).await;
    t.act("power", id, "sign", json!({})).await;
    let e = t.upload_photo(Some("power")).await;
    t.act("power", id, "submit_result", json!({ "note": "已修复", "evidence": [e] })).await;
    assert_eq!(
        t.timeline(id).await,
        ["report", "accept", "dispatch", "sign", "return", "dispatch", "sign", "submit_result"]
    );
}

#[tokio::test]
async fn extension_approved_then_denied() {
    let t = TestApp::spawn().await;
    let id = t.in_progress_case().await;
    let before = t.detail("dispatcher", id).await["case"]["handle_by"].as_str().unwrap().to_string();
    let until = "2099-01-01T00:00:00+08:00";
    let c = t.act("staff", id, "request_extension", json!({ "until": until, "reason": "等待配件" })).await;
    assert_eq!(c["extension_request"]["reason"], "等待配件");
    let c = t.act("dispatcher", id, "approve_extension", json!({})).await;
    assert_eq!(c["handle_by"], "2098-12-31T16:00:00.000Z");
    assert_ne!(c["handle_by"].as_str().unwrap(), before);
    assert_eq!(c["extensions"], 1);
    t.act("staff", id, "request_extension", json!({ "until": "2099-06-01T00:00:00Z", "reason": "再等等" })).await;
    let c = t.act("dispatcher", id, "deny_extension", json!({ "reason": "请按期完成" })).await;
    assert_eq!((c["handle_by"].as_str(), c["extensions"].as_i64()), (Some("2098-12-31T16:00:00.000Z"), Some(1)));
    assert!(c["extension_request"].is_null());
    assert_eq!(
        t.timeline(id).await,
        [
            "report",
            "accept",
            "dispatch",
            "sign",
            "request_extension",
            "approve_extension",
            "request_extension",
            "deny_extension"
        ]
    );
}

#[tokio::test]
async fn failed_verification_means_rework() {
    let t = TestApp::spawn().await;
    let id = t.in_progress_case().await;
    let e = t.upload_photo(Some("staff")).await;
    t.act("staff", id, "submit_result", json!({ "note": "已修", "evidence": [e] })).await;
    let c = t.act("member", id, "verify", json!({ "passed": false, "note": "井盖仍松动" })).await;
    assert_eq!((c["state"].as_str(), c["reworks"].as_i64()), (Some("in_progress"), Some(1)));
    let e2 = t.upload_photo(Some("staff")).await;
    t.act("staff", id, "submit_result", json!({ "note": "已加固", "evidence": [e2] })).await;
    t.act("leader", id, "verify", json!({ "passed": true })).await;
    t.act("dispatcher", id, "close", json!({})).await;
    assert_eq!(
        t.timeline(id).await,
        ["report", "accept", "dispatch", "sign", "submit_result", "verify", "submit_result", "verify", "close"]
    );
}

#[tokio::test]
async fn supervisor_reopens_a_closed_case() {
    let t = TestApp::spawn().await;
    let id = t.in_progress_case().await;
    t.act("supervisor", id, "supervise", json!({ "note": "请尽快处理" })).await;
    t.act("dispatcher", id, "note", json!({ "text": "已电话催办" })).await;
    let e = t.upload_photo(Some("staff")).await;
    t.act("staff", id, "submit_result", json!({ "note": "已修", "evidence": [e] })).await;
    t.act("member", id, "verify", json!({ "passed": true })).await;
    t.act("dispatcher", id, "close", json!({})).await;
    t.act("resident", id, "rate", json!({ "score": 2, "comment": "又坏了" })).await;
    let c = t.act("supervisor", id, "reopen", json!({ "reason": "群众反映问题复发" })).await;
    assert_eq!((c["state"].as_str(), c["reopens"].as_i64()), (Some("accepted"), Some(1)));
    assert!(c["rating"].is_null());
    t.act("dispatcher", id, "dispatch", json!({ "lead_department": COMMUNITY_TEAM })).await;
    t.act("team", id, "sign", json!({})).await;
    assert_eq!(
        t.timeline(id).await,
        [
            "report",
            "accept",
            "dispatch",
            "sign",
            "supervise",
            "note",
            "submit_result",
            "verify",
            "close",
            "rate",
            "reopen",
            "dispatch",
            "sign"
        ]
    );
    // Supervision orders and notes are internal: the reporter does not see them.
    let mine = t.detail("resident", id).await;
    assert!(mine["timeline"].as_array().unwrap().iter().all(|e| e["action"] != "note" && e["action"] != "supervise"));
}

#[tokio::test]
async fn grid_member_handles_on_the_spot() {
    let t = TestApp::spawn().await;
    let evidence = t.upload_photo(Some("member")).await;
    let r = t
        .post(
            Some("member"),
            "/api/v1/cases/on-the-spot",
            json!({ "lat": IN_GRID1.0, "lon": IN_GRID1.1, "description": "路面垃圾", "category": MANHOLE,
                    "evidence": [evidence], "note": "已当场清理" }),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{r:?}");
    let c = &r.body["case"];
    assert_eq!((c["state"].as_str(), c["on_the_spot"].as_bool()), (Some("resolved"), Some(true)));
    let id = c["id"].as_i64().unwrap();
    // The member cannot verify their own handling; the grid leader verifies and closes.
    t.post(Some("member"), &format!("/api/v1/cases/{id}/actions/verify"), json!({ "passed": true }))
        .await
        .problem(403, None);
    t.act("leader", id, "verify", json!({ "passed": true })).await;
    t.act("leader", id, "close", json!({})).await;
    assert_eq!(t.timeline(id).await, ["on_the_spot", "verify", "close"]);
    // Outside their grid, a member cannot handle on the spot.
    let e2 = t.upload_photo(Some("member")).await;
    t.post(
        Some("member"),
        "/api/v1/cases/on-the-spot",
        json!({ "lat": IN_GRID3.0, "lon": IN_GRID3.1, "description": "x", "category": MANHOLE, "evidence": [e2], "note": "n" }),
    )
    .await
    .problem(422, Some("location"));
}

#[tokio::test]
async fn a_report_outside_every_grid_is_flagged_and_rejected() {
    let t = TestApp::spawn().await;
    let created = t.report(Some("resident"), OUTSIDE, None).await;
    assert_eq!(created["outside_jurisdiction"], true);
    assert!(created["case"]["grid"].is_null());
    assert_eq!(created["case"]["district"], "330483");
    let id = id_of(&created);
    // The district's dispatcher sees it; a grid member does not.
    t.get(Some("member"), &format!("/api/v1/cases/{id}")).await.problem(404, None);
    let c = t.act("dispatcher", id, "reject", json!({ "reason": "outside_area" })).await;
    assert_eq!(c["rejection"], "outside_area");
}

#[tokio::test]
async fn anonymous_reporter_follows_and_rates_with_the_tracking_code() {
    let t = TestApp::spawn().await;
    let created = t.report(None, IN_GRID2, Some(MANHOLE)).await;
    let (id, code) = (id_of(&created), created["tracking_code"].as_str().unwrap().to_string());
    t.act("dispatcher", id, "accept", json!({ "category": MANHOLE, "urgency": "routine" })).await;
    t.act("dispatcher", id, "dispatch", json!({ "lead_department": CITY_MGMT })).await;
    t.act("staff", id, "sign", json!({})).await;
    let e = t.upload_photo(Some("staff")).await;
    t.act("staff", id, "submit_result", json!({ "note": "修好了", "evidence": [e] })).await;
    // Before closing, rating is refused with the current state.
    let early = t.post(None, &format!("/api/v1/track/{code}/rate"), json!({ "score": 4 })).await;
    early.problem(409, None);
    assert_eq!(early.body["current"]["state"], "resolved");
    t.act("leader", id, "verify", json!({ "passed": true })).await;
    t.act("dispatcher", id, "close", json!({})).await;
    let rated = t.post(None, &format!("/api/v1/track/{code}/rate"), json!({ "score": 4, "comment": "ok" })).await;
    assert_eq!(rated.ok()["rating"], 4);
    let view = t.get(None, &format!("/api/v1/track/{code}")).await;
    assert_eq!(view.ok()["state"], "rated");
    assert_eq!(view.body["answers"].as_array().unwrap().len(), 3, "{:?}", view.body["answers"]);
    // The reporter is told which department handled it.
    assert!(view.body["department"]["name"].as_str().is_some_and(|n| !n.is_empty()), "{}", view.body);
}

#[tokio::test]
async fn two_people_acting_at_once_exactly_one_wins() {
    // Two dispatchers, two concurrent HTTP requests, on SQLite and on PostgreSQL (scripts/test).
    let t = TestApp::spawn().await;
    t.add_person("dispatcher2", &[(Role::Dispatcher, "region:330483")]).await;
    for _ in 0..5 {
        let id = id_of(&t.report(Some("resident"), IN_GRID1, Some(MANHOLE)).await);
        let path = format!("/api/v1/cases/{id}/actions/accept");
        let body = json!({ "category": MANHOLE, "urgency": "routine" });
        let (a, b) =
            tokio::join!(t.post(Some("dispatcher"), &path, body.clone()), t.post(Some("dispatcher2"), &path, body));
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "{a:?} {b:?}");
        let loser = if a.status == 409 { &a } else { &b };
        assert_eq!(loser.body["current"]["state"], "accepted");
        assert_eq!(t.timeline(id).await, ["report", "accept"]);
    }
    // A stale version is refused the same way.
    let id = id_of(&t.report(Some("resident"), IN_GRID1, Some(MANHOLE)).await);
    let r = t
        .post(
            Some("dispatcher"),
            &format!("/api/v1/cases/{id}/actions/accept"),
            json!({ "category": MANHOLE, "urgency": "routine", "version": 7 }),
        )
        .await;
    r.problem(409, None);
    assert_eq!(r.body["current"]["version"], 1);
}

#[tokio::test]
async fn sign_in_and_out_with_a_password() {
    let t = TestApp::spawn().await;
    let bad = t.post(None, "/api/v1/session", json!({ "login": "dispatcher", "password": "wrong" })).await;
    bad.problem(401, None);
    let ok = t.post(None, "/api/v1/session", json!({ "login": "dispatcher", "password": PASSWORD })).await;
    let token = ok.ok()["token"].as_str().unwrap().to_string();
    let me = t.client.get(format!("{}/api/v1/me", t.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(me.status(), 200);
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!(me["person"]["login"], "dispatcher");
    assert!(me["person"].get("password_hash").is_none());
    let out = t.client.delete(format!("{}/api/v1/session", t.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(out.status(), 204);
    let after = t.client.get(format!("{}/api/v1/me", t.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(after.status(), 401);
    // Without a session, only reporting and public views are open.
    t.get(None, "/api/v1/cases").await.problem(401, None);
    t.post(None, "/api/v1/cases/1/actions/accept", json!({})).await.problem(401, None);
}

/// Each case answer carries the actions its reader may take now, as the state machine decides
/// them, and the detail whether they may reveal the reporter.
#[tokio::test]
async fn each_case_says_what_its_reader_may_do() {
    let t = TestApp::spawn().await;
    let id = t.in_progress_case().await;
    let allowed = |v: &serde_json::Value| -> Vec<String> {
        v["allowed_actions"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect()
    };
    let cases = [
        ("staff", vec!["submit_result", "request_extension", "return", "note"], false),
        ("power", vec!["report_part", "note"], false),
        ("dispatcher", vec!["note"], true),
        ("supervisor", vec!["supervise", "note"], true),
        ("member", vec!["note"], false),
        ("resident", vec![], false),
        ("auditor", vec![], false),
    ];
    for (who, expected, reveal) in cases {
        let d = t.detail(who, id).await;
        assert_eq!(allowed(&d["case"]), expected, "{who}");
        assert_eq!(d["may_reveal"], reveal, "{who}");
    }
    // The answer to an action, and the list, carry them too.
    let c = t.act("staff", id, "request_extension", json!({ "until": "2099-01-01T00:00:00Z", "reason": "零件" })).await;
    assert_eq!(allowed(&c), ["submit_result", "return", "note"]);
    let list = t.get(Some("dispatcher"), "/api/v1/cases").await;
    let item = list.ok()["items"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap().clone();
    assert_eq!(allowed(&item), ["approve_extension", "deny_extension", "note"]);
}
