//! The measures endpoint: who may see what, and figures that follow the cases.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn leaders_see_the_measures_of_their_region() {
    let t = TestApp::spawn().await;
    let id = t.in_progress_case().await;
    let e = t.upload_photo(Some("staff")).await;
    t.act("staff", id, "submit_result", json!({ "note": "done", "evidence": [e] })).await;
    t.act("member", id, "verify", json!({ "passed": false, "note": "still loose" })).await;
    let rejected = id_of(&t.report(Some("resident"), IN_GRID2, None).await);
    t.act("dispatcher", rejected, "reject", json!({ "reason": "invalid", "note": "x" })).await;

    let period = "from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z";
    let r = t.get(Some("supervisor"), &format!("/api/v1/measures?{period}")).await;
    let m = &r.ok()["measures"];
    assert_eq!(m["reports"], 2);
    assert_eq!(m["acceptance_rate"], 0.5);
    assert_eq!(m["rework_rate"], 1.0);
    assert_eq!(r.body["counts"]["dispatched"], 1);
    // A grid's figures: only the case in grid 2 (the rejected report).
    let g2 = t.get(Some("supervisor"), &format!("/api/v1/measures?{period}&region={GRID2}")).await;
    assert_eq!(g2.ok()["measures"]["reports"], 1);
    // Who may not: a department's staff, a resident, another district's dispatcher.
    t.get(Some("staff"), &format!("/api/v1/measures?{period}")).await.problem(403, None);
    t.get(Some("resident"), &format!("/api/v1/measures?{period}")).await.problem(403, None);
    t.get(Some("outsider"), &format!("/api/v1/measures?{period}")).await.problem(403, None);
    t.get(Some("supervisor"), "/api/v1/measures?from=2000-01-01T00:00:00Z").await.problem(422, Some("to"));
    t.get(Some("supervisor"), &format!("/api/v1/measures?{period}&region=99")).await.problem(422, Some("region"));
}
