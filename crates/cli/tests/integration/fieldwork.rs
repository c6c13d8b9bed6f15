//! Measures of field work over HTTP: a failed inspection opens a hazard, the department puts it
//! right, the re-inspection closes it before its deadline; the figures per grid, community,
//! person and team, the grid members' assessment with its field-work components, and the
//! refusals (docs/MEASURES.md, "Field work").

use serde_json::{json, Value};

use crate::common::*;
use crate::inspections::{hazard_town, shop_checklist};

fn iso(ms: i64) -> String {
    gridkeeper_domain::time::to_rfc3339(ms)
}

async fn put(t: &TestApp, who: &str, path: &str, body: Value) -> Resp {
    t.send_raw(Some(who), t.client.put(format!("{}{path}", t.base)).json(&body)).await
}

#[tokio::test]
async fn fieldwork_measures_count_hazards_and_reinspections() {
    let t = TestApp::spawn().await;
    let shop = hazard_town(&t).await;
    let list = t.post(Some("admin"), "/api/v1/checklists", shop_checklist()).await.ok()["id"].as_i64().unwrap();
    let plan = json!({ "rules": [{ "subject": "place", "kind": "shop", "risk": "high", "every_days": 30 }] });
    put(&t, "admin", "/api/v1/inspection-plan", plan).await.ok();
    let photo = t.upload_photo(Some("member")).await;
    let results = |f01: &str, photo: Option<&str>, note: Option<&str>| {
        json!([{ "item": "F01", "outcome": f01, "note": note, "photos": photo.into_iter().collect::<Vec<_>>() },
               { "item": "F02", "outcome": "pass" }])
    };
    let body = json!({ "subject": "place", "subject_id": shop, "checklist": list, "version": 1,
                       "results": results("fail", Some(&photo), Some("纸箱堵住后门")), "lat": 30.005, "lon": 120.005 });
    let done = t.post(Some("member"), "/api/v1/inspections", body).await;
    let hazard = done.ok()["opened"][0]["case_id"].as_i64().unwrap();
    t.act("staff", hazard, "sign", json!({})).await;
    let evidence = t.upload_photo(Some("staff")).await;
    t.act("staff", hazard, "submit_result", json!({ "note": "已清理", "evidence": [evidence] })).await;
    let recheck = json!({ "subject": "place", "subject_id": shop, "checklist": list, "version": 1,
                          "results": results("pass", None, None), "lat": 30.005, "lon": 120.005 });
    t.post(Some("member"), "/api/v1/inspections", recheck).await.ok();

    // This hour to 20 days ahead: one month of patrols, the hazard found and closed before its
    // deadline (three working days ahead, even over a holiday week), one re-inspection that
    // passed; the next due date (30 days ahead) is not in the period: no coverage.
    let now = chrono::Utc::now().timestamp_millis();
    let period = format!("from={}&to={}", iso(now - 3_600_000), iso(now + 20 * 86_400_000)).replace('+', "%2B");
    let get = |who: &'static str, q: String| {
        let t = &t;
        async move { t.get(Some(who), &format!("/api/v1/field-work/measures?{q}")).await }
    };
    let r = get("supervisor", format!("region=330483101001&{period}")).await;
    let body = r.ok();
    let total = &body["total"];
    assert_eq!(
        (
            total["counts"]["hazards_found"].as_u64(),
            total["counts"]["hazards_due"].as_u64(),
            total["counts"]["hazards_on_time"].as_u64()
        ),
        (Some(1), Some(1), Some(1)),
        "{body}"
    );
    assert_eq!(
        (total["counts"]["reinspections"].as_u64(), total["counts"]["reinspections_passed"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(total["measures"]["reinspection_pass_rate"], 1.0);
    assert_eq!(total["measures"]["hazards_rectified_on_time"], 1.0);
    assert!(total["measures"]["coverage_on_time"].is_null(), "nothing due yet");
    assert!(total["measures"]["self_inspection_compliance"].is_null(), "no self-inspection due: no value");
    // The grid members of the community, this month, none of whom patrolled: quota not met.
    let months = total["counts"]["patrol_months"].as_u64().unwrap();
    assert!(months >= 1, "{body}");
    assert_eq!(
        (total["counts"]["patrol_months_met"].as_u64(), total["measures"]["patrol_quota_met"].as_f64()),
        (Some(0), Some(0.0))
    );
    assert_eq!(body["by"], "grid");
    let grid = body["items"].as_array().unwrap().iter().find(|i| i["key"] == GRID1).unwrap().clone();
    assert_eq!((grid["name"].as_str(), grid["counts"]["hazards_found"].as_u64()), (Some("西栅一网格"), Some(1)));

    // Per person: the member who inspected; per community: the one community.
    let people = get("supervisor", format!("region=330483101001&by=person&{period}")).await;
    let people = people.ok()["items"].as_array().unwrap().clone();
    let member = people.iter().find(|p| p["counts"]["hazards_found"] == 1).unwrap();
    assert_eq!(member["counts"]["reinspections"], 1);
    assert!(!member["name"].as_str().unwrap().is_empty());
    let communities = get("supervisor", format!("region=330483101&by=community&{period}")).await;
    let communities = communities.ok()["items"].as_array().unwrap().clone();
    let ours = communities.iter().find(|c| c["key"] == "330483101001").unwrap();
    assert_eq!(ours["counts"]["hazards_found"], 1);
    let teams = get("supervisor", format!("region=330483101001&by=team&{period}")).await;
    assert!(teams.ok()["items"].as_array().unwrap().is_empty(), "no teams yet");

    // The grid member's assessment shows the field-work components beside the others.
    let a =
        t.get(Some("supervisor"), &format!("/api/v1/assessment?kind=grid_member&region=330483101001&{period}")).await;
    let a = a.ok();
    assert_eq!(a["weights"]["inspection_coverage"], 0.2);
    let scored = a["items"].as_array().unwrap().iter().find(|i| i["key"] == member["key"]).unwrap().clone();
    let component =
        |name: &str| scored["components"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap().clone();
    assert_eq!(component("hazards_rectified")["value"], 1.0);
    assert_eq!(component("patrol_quota")["value"], 0.0);
    assert!(component("inspection_coverage")["value"].is_null());

    // Refusals, each naming the field.
    get("supervisor", format!("region=330483101001&by=planet&{period}")).await.problem(422, Some("by"));
    get("supervisor", period.clone()).await.problem(422, Some("region"));
    get("supervisor", format!("region=330483109&{period}")).await.problem(404, Some("region"));
    get("supervisor", "region=330483101001&from=2025-01-01T00:00:00Z&to=2026-06-01T00:00:00Z".into())
        .await
        .problem(422, Some("to"));
    get("supervisor", "region=330483101001&from=2025-01-01T00:00:00Z".into()).await.problem(422, Some("to"));
    get("supervisor", format!("region=330483101001&{period}&colour=red")).await.problem(422, None);
    get("staff", format!("region=330483101001&{period}")).await.problem(403, None);
    get("member3", format!("region=330483101001&{period}")).await.problem(403, None);
}
