//! Every refusal is a 4xx problem+json naming the reason, and changes nothing.

use serde_json::{json, Value};

use crate::common::*;

/// Asserts the refusal, then reads the case back: same version, same timeline.
async fn refused(t: &TestApp, who: &str, id: i64, action: &str, body: Value, status: u16, field: Option<&str>) {
    let before = t.detail("dispatcher", id).await;
    let r = t.post(Some(who), &format!("/api/v1/cases/{id}/actions/{action}"), body.clone()).await;
    r.problem(status, field);
    let after = t.detail("dispatcher", id).await;
    assert_eq!(before["case"], after["case"], "{action} {body} changed the case");
    assert_eq!(before["timeline"], after["timeline"], "{action} {body} wrote an event");
}

#[tokio::test]
async fn workflow_refusals_change_nothing() {
    let t = TestApp::spawn().await;
    let reported = id_of(&t.report(Some("resident"), IN_GRID1, Some(MANHOLE)).await);
    // Wrong role.
    refused(&t, "staff", reported, "accept", json!({ "category": MANHOLE, "urgency": "routine" }), 404, None).await;
    refused(&t, "member", reported, "accept", json!({ "category": MANHOLE, "urgency": "routine" }), 403, None).await;
    // Out of scope: another district's dispatcher does not learn the case exists.
    refused(&t, "outsider", reported, "accept", json!({ "category": MANHOLE, "urgency": "routine" }), 404, None).await;
    // Missing or invalid data.
    refused(&t, "dispatcher", reported, "accept", json!({ "urgency": "routine" }), 422, Some("category")).await;
    refused(&t, "dispatcher", reported, "accept", json!({ "category": MANHOLE }), 422, Some("urgency")).await;
    refused(
        &t,
        "dispatcher",
        reported,
        "accept",
        json!({ "category": 999, "urgency": "routine" }),
        404,
        Some("category"),
    )
    .await;
    refused(
        &t,
        "dispatcher",
        reported,
        "accept",
        json!({ "category": COMPONENTS, "urgency": "routine" }),
        422,
        Some("category"),
    )
    .await;
    refused(
        &t,
        "dispatcher",
        reported,
        "accept",
        json!({ "category": MANHOLE, "urgency": "soon" }),
        422,
        Some("urgency"),
    )
    .await;
    refused(
        &t,
        "dispatcher",
        reported,
        "accept",
        json!({ "category": "two", "urgency": "routine" }),
        422,
        Some("category"),
    )
    .await;
    refused(
        &t,
        "dispatcher",
        reported,
        "accept",
        json!({ "category": MANHOLE, "urgency": "routine", "colour": 1 }),
        422,
        Some("colour"),
    )
    .await;
    refused(&t, "dispatcher", reported, "reject", json!({ "reason": "duplicate" }), 422, Some("duplicate_of")).await;
    refused(
        &t,
        "dispatcher",
        reported,
        "reject",
        json!({ "reason": "duplicate", "duplicate_of": reported }),
        422,
        Some("duplicate_of"),
    )
    .await;
    refused(
        &t,
        "dispatcher",
        reported,
        "reject",
        json!({ "reason": "duplicate", "duplicate_of": "330483-2026-999999" }),
        422,
        Some("duplicate_of"),
    )
    .await;
    refused(&t, "dispatcher", reported, "reject", json!({ "reason": "boring" }), 422, Some("reason")).await;
    refused(&t, "dispatcher", reported, "reject", json!({ "reason": "invalid" }), 422, Some("note")).await;
    // Wrong state: 409 with the current case.
    refused(&t, "dispatcher", reported, "dispatch", json!({ "lead_department": CITY_MGMT }), 409, None).await;
    let r = t.post(Some("dispatcher"), &format!("/api/v1/cases/{reported}/actions/close"), json!({})).await;
    assert_eq!(r.body["current"]["state"], "reported");
    refused(&t, "resident", reported, "rate", json!({ "score": 5 }), 409, None).await;
    // Internal notes are for staff.
    refused(&t, "resident", reported, "note", json!({ "text": "hello" }), 403, None).await;
    // Malformed bodies.
    refused(&t, "dispatcher", reported, "note", json!({ "text": "   " }), 422, Some("text")).await;
    refused(&t, "dispatcher", reported, "note", json!([1, 2]), 422, Some("body")).await;
    let raw = t
        .client
        .post(format!("{}/api/v1/cases/{reported}/actions/note", t.base))
        .bearer_auth("dispatcher-token")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    assert_eq!(raw.headers()["content-type"], "application/problem+json");
    t.post(Some("dispatcher"), &format!("/api/v1/cases/{reported}/actions/fly"), json!({})).await.problem(404, None);
    t.post(Some("dispatcher"), "/api/v1/cases/999999/actions/accept", json!({})).await.problem(404, None);

    let id = t.in_progress_case().await;
    refused(&t, "dispatcher", id, "dispatch", json!({ "lead_department": CITY_MGMT }), 409, None).await;
    refused(&t, "power", id, "submit_result", json!({ "note": "x", "evidence": [] }), 403, None).await;
    refused(&t, "staff", id, "submit_result", json!({ "note": "done", "evidence": [] }), 422, Some("evidence")).await;
    refused(
        &t,
        "staff",
        id,
        "submit_result",
        json!({ "note": "done", "evidence": ["no-such-photo"] }),
        404,
        Some("evidence"),
    )
    .await;
    // A photo uploaded by someone else cannot be claimed as one's evidence.
    let theirs = t.upload_photo(Some("power")).await;
    refused(&t, "staff", id, "submit_result", json!({ "note": "done", "evidence": [theirs] }), 404, Some("evidence"))
        .await;
    refused(
        &t,
        "staff",
        id,
        "request_extension",
        json!({ "until": "2001-01-01T00:00:00Z", "reason": "x" }),
        422,
        Some("until"),
    )
    .await;
    refused(&t, "staff", id, "request_extension", json!({ "until": "next week", "reason": "x" }), 422, Some("until"))
        .await;
    refused(&t, "dispatcher", id, "approve_extension", json!({}), 422, Some("extension")).await;
    refused(&t, "staff", id, "return", json!({}), 422, Some("reason")).await;
    refused(&t, "member", id, "verify", json!({ "passed": true }), 409, None).await;
    refused(&t, "supervisor", id, "reopen", json!({ "reason": "x" }), 409, None).await;
    refused(&t, "dispatcher", id, "supervise", json!({ "note": "x" }), 403, None).await;
    refused(
        &t,
        "supervisor",
        id,
        "supervise",
        json!({ "note": "x", "deadline": "2001-01-01T00:00:00Z" }),
        422,
        Some("deadline"),
    )
    .await;
    refused(&t, "member3", id, "note", json!({ "text": "x" }), 404, None).await;
}

#[tokio::test]
async fn report_refusals_store_nothing() {
    let t = TestApp::spawn().await;
    let cases = || async { t.store.count_cases().await.unwrap() };
    let bad = [
        (json!({ "lat": 30.0, "lon": 120.0 }), "description"),
        (json!({ "description": "   ", "lat": 30.0, "lon": 120.0 }), "description"),
        (json!({ "description": "x" }), "location"),
        (json!({ "description": "x", "lat": 91.0, "lon": 120.0 }), "lat"),
        (json!({ "description": "x", "lat": 30.0 }), "lon"),
        (json!({ "description": "x", "lat": "north", "lon": 120.0 }), "lat"),
        (json!({ "description": "x", "lat": 30.0, "lon": 120.0, "urgency": "now" }), "urgency"),
        (json!({ "description": "x", "lat": 30.0, "lon": 120.0, "category": 999 }), "category (not found)"),
        (json!({ "description": "x", "lat": 30.0, "lon": 120.0, "category": COMPONENTS }), "category"),
        (json!({ "description": "x", "lat": 30.0, "lon": 120.0, "photos": ["nope"] }), "photos (not found)"),
        (json!({ "description": "x", "lat": 30.0, "lon": 120.0, "photoz": [] }), "photoz"),
        (json!({ "description": "x".repeat(4001), "lat": 30.0, "lon": 120.0 }), "description"),
    ];
    for (body, field) in bad {
        // A category or a photo that does not exist is not found (404); the rest is invalid (422).
        let (status, field) = field.strip_suffix(" (not found)").map_or((422, field), |f| (404, f));
        t.post(Some("resident"), "/api/v1/cases", body).await.problem(status, Some(field));
    }
    let too_many: Vec<String> = (0..10).map(|i| format!("p{i}")).collect();
    t.post(None, "/api/v1/cases", json!({ "description": "x", "address": "a", "photos": too_many }))
        .await
        .problem(422, Some("photos"));
    let text = t.client.post(format!("{}/api/v1/cases", t.base)).body("description=x").send().await.unwrap();
    assert_eq!(text.status(), 415);
    assert_eq!(cases().await, 0);
    // A refused report leaves no half-stored case behind, and the counter is not burned.
    let ok = t.report(Some("resident"), IN_GRID1, None).await;
    assert!(ok["case"]["reference"].as_str().unwrap().ends_with("-000001"));
}

#[tokio::test]
async fn list_and_lookup_refusals() {
    let t = TestApp::spawn().await;
    let checks = [
        ("/api/v1/cases?state=lost", "state"),
        ("/api/v1/cases?region=12", "region"),
        ("/api/v1/cases?department=77", "department (not found)"),
        ("/api/v1/cases?category=abc", "category"),
        ("/api/v1/cases?urgency=soon", "urgency"),
        ("/api/v1/cases?overdue=maybe", "overdue"),
        ("/api/v1/cases?from=yesterday", "from"),
        ("/api/v1/cases?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to"),
        ("/api/v1/cases?limit=0", "limit"),
        ("/api/v1/cases?limit=500", "limit"),
        ("/api/v1/cases?cursor=zzz", "cursor"),
        ("/api/v1/cases?sort=asc", "sort"),
        ("/api/v1/cases?attention=maybe", "attention"),
        ("/api/v1/cases?sort=deadline&cursor=MTIzLjQ", "cursor"),
        ("/api/v1/locate?lat=30", "lon"),
        ("/api/v1/locate?lat=100&lon=120", "lat"),
        ("/api/v1/regions?level=planet", "level"),
    ];
    for (path, field) in checks {
        // A department that does not exist is not found (404); the rest is invalid (422).
        let (status, field) = field.strip_suffix(" (not found)").map_or((422, field), |f| (404, f));
        t.get(Some("dispatcher"), path).await.problem(status, Some(field));
    }
    t.get(Some("dispatcher"), "/api/v1/cases/abc").await.problem(404, None);
    t.get(Some("dispatcher"), "/api/v1/nothing-here").await.problem(404, None);
    t.get(None, "/api/v1/public/cases/330483-2026-000001").await.problem(404, None);
}
