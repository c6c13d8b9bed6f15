//! The working calendar over HTTP: admins set it; case clocks follow it.

use gridkeeper_domain::{time::parse_rfc3339, Calendar, Urgency};
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn admins_set_the_calendar_and_clocks_follow_it() {
    let t = TestApp::spawn().await;
    let before = t.get(Some("dispatcher"), "/api/v1/calendars/330483").await;
    assert_eq!(before.ok()["configured"], false);
    let mut cal = Calendar::office_hours();
    cal.holidays.insert(chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap());
    let body = serde_json::to_value(&cal).unwrap();
    let put = |who: &'static str, body: serde_json::Value| {
        let t = &t;
        async move {
            let r = t
                .client
                .put(format!("{}/api/v1/calendars/330483", t.base))
                .bearer_auth(format!("{who}-token"))
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<serde_json::Value>().await.unwrap_or_default())
        }
    };
    assert_eq!(put("dispatcher", body.clone()).await.0, 403);
    let mut bad = body.clone();
    bad["weekdays"] = json!([]);
    let (status, problem) = put("admin", bad).await;
    assert_eq!((status, problem["field"].as_str()), (422, Some("weekdays")));
    assert_eq!(put("admin", body.clone()).await.0, 200);
    assert_eq!(t.get(Some("dispatcher"), "/api/v1/calendars/330483").await.ok()["configured"], true);

    // A routine report's accept-by clock now counts working time.
    let created = t
        .post(Some("resident"), "/api/v1/cases", json!({ "description": "x", "lat": IN_GRID1.0, "lon": IN_GRID1.1 }))
        .await;
    let c = &created.ok()["case"];
    let reported = parse_rfc3339("t", c["reported_at"].as_str().unwrap()).unwrap();
    let due = parse_rfc3339("t", c["due_at"].as_str().unwrap()).unwrap();
    assert_eq!(due, cal.add(reported, Urgency::Routine.accept_within()));
    // An emergency runs on the wall clock.
    let e = t
        .post(
            Some("resident"),
            "/api/v1/cases",
            json!({ "description": "x", "lat": IN_GRID1.0, "lon": IN_GRID1.1, "urgency": "emergency" }),
        )
        .await;
    let c = &e.ok()["case"];
    let reported = parse_rfc3339("t", c["reported_at"].as_str().unwrap()).unwrap();
    assert_eq!(
        parse_rfc3339("t", c["due_at"].as_str().unwrap()).unwrap(),
        reported + Urgency::Emergency.accept_within()
    );
    // The change is in the audit log.
    let entries = t
        .store
        .audit_search(&gridkeeper_store::AuditQuery {
            object: Some("calendar:330483".into()),
            limit: 5,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
}
