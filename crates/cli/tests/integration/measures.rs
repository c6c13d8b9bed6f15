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

#[tokio::test]
async fn each_person_is_told_where_they_may_see_the_measures() {
    let t = TestApp::spawn().await;
    let measures = |login: &'static str| {
        let t = &t;
        async move { t.get(Some(login), "/api/v1/me").await.ok()["measures"].clone() }
    };
    assert_eq!(measures("supervisor").await, json!(["330483"]));
    assert_eq!(measures("leader").await, json!(["330483101001"]));
    assert_eq!(measures("staff").await, json!([]));
    assert_eq!(measures("resident").await, json!([]));
    // What /me names, the measures answer.
    let period = "from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z";
    t.get(Some("leader"), &format!("/api/v1/measures?{period}&region=330483101001")).await.ok();
    t.get(Some("leader"), &format!("/api/v1/measures?{period}")).await.problem(403, None);
}

#[tokio::test]
async fn assessment_ranks_with_the_weights_shown() {
    let t = TestApp::spawn().await;
    // Department 1 handles a case on time; department 2 gets one returned.
    let id = t.in_progress_case().await;
    let e = t.upload_photo(Some("staff")).await;
    t.act("staff", id, "submit_result", json!({ "note": "done", "evidence": [e] })).await;
    let other = id_of(&t.report(Some("resident"), IN_GRID3, Some(MANHOLE)).await);
    t.act("dispatcher", other, "accept", json!({ "category": MANHOLE, "urgency": "routine" })).await;
    t.act("dispatcher", other, "dispatch", json!({ "lead_department": POWER })).await;
    t.act("power", other, "return", json!({ "reason": "not ours" })).await;

    let period = "from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z";
    let r = t.get(Some("supervisor"), &format!("/api/v1/assessment?kind=department&{period}")).await;
    let body = r.ok();
    assert_eq!(body["weights"]["on_time_handling"], 0.3);
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "every department is listed");
    assert_eq!((items[0]["key"].as_str(), items[0]["rank"].as_u64()), (Some("1"), Some(1)));
    let power = items.iter().find(|i| i["key"] == "2").unwrap();
    let no_return = power["components"].as_array().unwrap().iter().find(|c| c["name"] == "no_return").unwrap();
    assert_eq!(no_return["value"], 0.0);
    assert!(items.iter().find(|i| i["key"] == "3").unwrap()["score"].is_null(), "no cases, no score");
    let grids = t.get(Some("supervisor"), &format!("/api/v1/assessment?kind=grid&{period}")).await;
    assert_eq!(grids.ok()["items"].as_array().unwrap().len(), 3);
    let members = t.get(Some("supervisor"), &format!("/api/v1/assessment?kind=grid_member&{period}")).await;
    assert_eq!(members.ok()["items"].as_array().unwrap().len(), 2, "member and member3 hold grids");
    t.get(Some("supervisor"), &format!("/api/v1/assessment?kind=planet&{period}")).await.problem(422, Some("kind"));
    t.get(Some("staff"), &format!("/api/v1/assessment?kind=grid&{period}")).await.problem(403, None);
}

#[tokio::test]
async fn overdue_cases_go_under_supervision_and_escalate_until_answered() {
    let t = TestApp::spawn().await;
    let id = t.in_progress_case().await;
    let due = t.detail("dispatcher", id).await["case"]["due_at"].as_str().unwrap().to_string();
    let due = gridkeeper_domain::time::parse_rfc3339("due", &due).unwrap();
    // Before the deadline: a warning once three quarters of the time have passed.
    assert_eq!(t.app.check_deadlines(due - 60_000).await.unwrap(), (1, 0, 0));
    assert_eq!(t.app.check_deadlines(due - 30_000).await.unwrap(), (0, 0, 0), "once per clock");
    // Past it: marked overdue and under supervision at the community.
    assert_eq!(t.app.check_deadlines(due + 1).await.unwrap(), (0, 1, 0));
    let listed = t.get(Some("supervisor"), "/api/v1/cases?supervised=true").await;
    assert_eq!(listed.ok()["items"][0]["id"], id);
    assert_eq!(listed.body["items"][0]["supervision"]["level"], "330483101001");
    // Unanswered: up one level.
    let respond_by = listed.body["items"][0]["supervision"]["respond_by"].as_str().unwrap();
    let respond_by = gridkeeper_domain::time::parse_rfc3339("r", respond_by).unwrap();
    assert_eq!(t.app.check_deadlines(respond_by + 1).await.unwrap(), (0, 0, 1));
    assert_eq!(t.detail("dispatcher", id).await["case"]["supervision"]["level"], "330483101");
    // The department answers.
    t.post(Some("member"), &format!("/api/v1/cases/{id}/actions/respond"), json!({ "note": "x" }))
        .await
        .problem(403, None);
    let c = t.act("staff", id, "respond", json!({ "note": "crew on site this afternoon" })).await;
    assert!(c["supervision"].is_null());
    assert!(t.get(Some("supervisor"), "/api/v1/cases?supervised=true").await.ok()["items"]
        .as_array()
        .unwrap()
        .is_empty());
    let timeline = t.timeline(id).await;
    assert_eq!(&timeline[4..], ["warn", "mark_overdue", "escalate", "respond"]);
    // Internal: the reporter does not see these events.
    let mine = t.detail("resident", id).await;
    assert!(mine["timeline"].as_array().unwrap().iter().all(|e| e["action"] != "mark_overdue"));
}

#[tokio::test]
async fn the_analysis_report_as_a_page_and_a_workbook() {
    let t = TestApp::spawn().await;
    for _ in 0..6 {
        let id = id_of(&t.report(Some("resident"), IN_GRID1, Some(MANHOLE)).await);
        t.act("dispatcher", id, "accept", json!({ "category": MANHOLE, "urgency": "routine" })).await;
    }
    let id = t.in_progress_case().await;
    t.app.check_deadlines(chrono::Utc::now().timestamp_millis() + 1_000 * 3_600_000).await.unwrap();
    let period = "from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z";
    let fetch = |more: &str| {
        let (t, url) = (&t, format!("{}/api/v1/reports/analysis?{period}{more}", t.base));
        async move { t.client.get(url).bearer_auth("supervisor-token").send().await.unwrap() }
    };
    let page = fetch("").await;
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-security-policy"].to_str().unwrap().starts_with("default-src 'none'"));
    let html = page.text().await.unwrap();
    assert!(html.contains("<svg") && html.contains("C0101"), "a chart of the top categories");
    let reference = t.detail("dispatcher", id).await["case"]["reference"].as_str().unwrap().to_string();
    assert!(html.contains(&reference), "the overdue case is listed");
    // In Chinese by default, wholly: the region's name, local dates, counts as whole numbers.
    assert!(html.contains("<html lang=\"zh-CN\"") && html.contains("分析报告") && html.contains("主要指标"), "{html}");
    assert!(html.contains("2000-01-01 至 2099-12-31") || html.contains("2000-01-01 08:00"), "local dates: {html}");
    for english in ["Analysis report", "Measures", "on-time", "dispatched", "T00:00:00"] {
        assert!(!html.contains(english), "{english} in the Chinese report");
    }
    assert!(html.contains(">6<") || html.contains(">7<"), "the reports counted as a whole number: {html}");
    assert!(!html.contains("7.0<") && !html.contains("6.0<"), "no count with a decimal point: {html}");
    // In English when asked, the same figures.
    let en = fetch("&lang=en").await.text().await.unwrap();
    assert!(
        en.contains("<html lang=\"en\"") && en.contains("Analysis report") && en.contains("On-time closure"),
        "{en}"
    );
    assert!(!en.contains("分析报告") && !en.contains("主要指标") && en.contains(&reference), "{en}");
    t.get(Some("supervisor"), &format!("/api/v1/reports/analysis?{period}&lang=fr")).await.problem(422, Some("lang"));
    let book = fetch("&format=xlsx").await;
    assert_eq!(book.status(), 200);
    let bytes = book.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK"), "an XLSX (zip) workbook");
    t.get(Some("staff"), &format!("/api/v1/reports/analysis?{period}")).await.problem(403, None);
    t.get(Some("supervisor"), &format!("/api/v1/reports/analysis?{period}&format=pdf"))
        .await
        .problem(422, Some("format"));
}

/// The contract of the rollups on this run's backend: for a simulated year of the demo town, the
/// counts read from the rollups equal a scan of the events, for whole days, a rolling year and a
/// period with partial days, by every grouping, before and after a rebuild.
#[tokio::test]
async fn the_rollups_equal_a_scan_of_the_events() {
    use gridkeeper_domain::HOUR;
    use gridkeeper_store::{GroupBy, MeasureQuery};
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create_on(backend(), dir.path()).await;
    let store =
        gridkeeper_store::open(&db.url, std::sync::Arc::new(gridkeeper_store::Vault::ephemeral())).await.unwrap();
    store.migrate().await.unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    let town = gridkeeper_demo::generate(11, now, 1_000);
    store.load_reference(&town.reference).await.unwrap();
    for p in &town.people {
        store.create_person(&p.person, now).await.unwrap();
    }
    store.import_history(&town.history, 8).await.unwrap();
    let day = 24 * HOUR;
    let midnight = (now + 8 * HOUR).div_euclid(day) * day - 8 * HOUR;
    let district = gridkeeper_domain::RegionCode::parse(&town.reference.regions[0].code.as_str()[..6]).unwrap();
    for rebuilt in [false, true] {
        if rebuilt {
            store.rebuild_rollups().await.unwrap();
        }
        let mut checked = 0;
        for (from, to) in
            [(midnight - 365 * day, midnight), (now - 365 * day, now), (midnight - 40 * day + 5 * HOUR, now)]
        {
            for region in [None, Some(district.clone())] {
                for by in [GroupBy::Nothing, GroupBy::Grid, GroupBy::Department, GroupBy::Category, GroupBy::Person] {
                    let q = MeasureQuery { region: region.clone(), from, to, now, ..Default::default() };
                    let fast = store.measure_counts_by(&q, by).await.unwrap();
                    let slow = store.measure_counts_from_events(&q, by).await.unwrap();
                    assert_eq!(fast, slow, "{q:?} by {by:?} (rebuilt: {rebuilt})");
                    checked += fast.values().map(|c| c.reports).sum::<u64>();
                }
            }
        }
        assert!(checked > 1_000, "the queries found something to compare ({checked})");
    }
}
