//! Case lists: filters, keyset pagination, scope applied inside the query; reference data; locate.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::common::*;

fn ids(v: &Value) -> Vec<i64> {
    v["items"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn filters_pagination_and_scope() {
    let t = TestApp::spawn().await;
    let mut all = vec![];
    for i in 0..7 {
        let at = [IN_GRID1, IN_GRID2, IN_GRID3][i % 3];
        let r = t
            .post(
                Some("resident"),
                "/api/v1/cases",
                json!({ "description": format!("问题{i} 路灯不亮 lamp"), "lat": at.0, "lon": at.1, "address": format!("西栅大街{i}号") }),
            )
            .await;
        all.push(id_of(r.ok()));
    }
    // Accept two as street lights and dispatch one of them to the power company.
    t.act("dispatcher", all[0], "accept", json!({ "category": STREET_LIGHT, "urgency": "urgent" })).await;
    t.act("dispatcher", all[1], "accept", json!({ "category": VENDOR, "urgency": "routine" })).await;
    t.act("dispatcher", all[0], "dispatch", json!({ "lead_department": POWER })).await;

    let get = |q: &'static str| {
        let t = &t;
        async move { t.get(Some("dispatcher"), &format!("/api/v1/cases?{q}")).await.ok().clone() }
    };
    assert_eq!(ids(&get("").await), all.iter().rev().copied().collect::<Vec<_>>());
    assert_eq!(ids(&get("state=dispatched").await), vec![all[0]]);
    assert_eq!(ids(&get("state=accepted,dispatched").await), vec![all[1], all[0]]);
    assert_eq!(ids(&get("region=330483101002").await), vec![all[5], all[2]]);
    assert_eq!(ids(&get("region=330483101001001").await), vec![all[6], all[3], all[0]]);
    assert_eq!(ids(&get("department=2").await), vec![all[0]]);
    assert_eq!(ids(&get("category=1").await), vec![all[0]], "a class includes its subclasses");
    assert_eq!(ids(&get("category=11").await), vec![all[1]]);
    assert_eq!(ids(&get("urgency=urgent").await), vec![all[0]]);
    assert_eq!(ids(&get("q=%E9%97%AE%E9%A2%984").await), vec![all[4]], "text search in Chinese");
    assert_eq!(ids(&get("q=%E5%A4%A7%E8%A1%976").await), vec![all[6]], "address search");
    assert!(ids(&get("overdue=true").await).is_empty());
    assert_eq!(ids(&get("overdue=false").await).len(), 7);
    assert_eq!(ids(&get("from=2000-01-01T00:00:00Z&to=2001-01-01T00:00:00Z").await).len(), 0);
    assert_eq!(ids(&get("from=2000-01-01T00:00:00Z").await).len(), 7);

    // Keyset pagination walks every case once.
    let mut seen = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("/api/v1/cases?limit=3&cursor={c}"),
            None => "/api/v1/cases?limit=3".to_string(),
        };
        let page = t.get(Some("dispatcher"), &q).await.ok().clone();
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 7);

    // Scope is applied in the query: a grid member sees their grid, a department its cases,
    // a resident their own reports, another district nothing.
    let member = t.get(Some("member3"), "/api/v1/cases").await.ok().clone();
    assert_eq!(ids(&member), vec![all[5], all[2]]);
    let power = t.get(Some("power"), "/api/v1/cases").await.ok().clone();
    assert_eq!(ids(&power), vec![all[0]]);
    assert_eq!(ids(t.get(Some("resident"), "/api/v1/cases").await.ok()).len(), 7);
    assert!(ids(t.get(Some("resident2"), "/api/v1/cases").await.ok()).is_empty());
    assert!(ids(t.get(Some("outsider"), "/api/v1/cases").await.ok()).is_empty());
    t.get(Some("outsider"), &format!("/api/v1/cases/{}", all[0])).await.problem(404, None);
    t.get(Some("member3"), &format!("/api/v1/cases/{}", all[0])).await.problem(404, None);
}

#[tokio::test]
async fn reference_data_and_locate() {
    let t = TestApp::spawn().await;
    let grids = t.get(None, "/api/v1/regions?level=grid").await.ok().clone();
    assert_eq!(grids["items"].as_array().unwrap().len(), 3);
    let children = t.get(None, "/api/v1/regions?parent=330483101001&geometry=true").await.ok().clone();
    assert_eq!(children["items"].as_array().unwrap().len(), 2);
    assert_eq!(children["items"][0]["geometry"]["type"], "Polygon");
    assert_eq!(t.get(None, "/api/v1/categories").await.ok()["items"].as_array().unwrap().len(), 5);
    assert_eq!(t.get(None, "/api/v1/departments").await.ok()["items"].as_array().unwrap().len(), 3);
    assert_eq!(t.get(None, "/api/v1/platforms").await.ok()["items"].as_array().unwrap().len(), 1);
    let here = t.get(None, &format!("/api/v1/locate?lat={}&lon={}", IN_GRID3.0, IN_GRID3.1)).await.ok().clone();
    assert_eq!(here["grid"]["code"], GRID3);
    assert_eq!(here["community"]["code"], "330483101002");
    assert_eq!(here["district"]["code"], "330483");
    let away = t.get(None, &format!("/api/v1/locate?lat={}&lon={}", OUTSIDE.0, OUTSIDE.1)).await.ok().clone();
    assert_eq!(away["outside_jurisdiction"], true);
    // On the boundary between grids 1 and 2, always grid 1 (the smaller code).
    let edge = t.get(None, "/api/v1/locate?lat=30.005&lon=120.01").await.ok().clone();
    assert_eq!(edge["grid"]["code"], GRID1);
}

/// Ids of every page of `path` (which ends in a query), following `next_cursor`.
async fn all_pages(t: &TestApp, who: &str, path: &str) -> Vec<Vec<i64>> {
    let mut out = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("{path}&cursor={c}"),
            None => path.to_string(),
        };
        let page = t.get(Some(who), &q).await.ok().clone();
        out.push(ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

#[tokio::test]
async fn the_dispatchers_queue_new_and_overdue_by_deadline() {
    use gridkeeper_domain::RegionCode;
    use gridkeeper_store::{CaseOrder, CaseQuery, Visibility};
    let code = |c: &str| RegionCode::parse(c).unwrap();
    let t = TestApp::spawn().await;
    // Reports of different urgencies (different accept-by clocks) in both communities.
    let mut ids_ = vec![];
    for (at, urgency) in [
        (IN_GRID1, "routine"),
        (IN_GRID3, "emergency"),
        (IN_GRID2, "urgent"),
        (IN_GRID1, "emergency"),
        (IN_GRID2, "routine"),
    ] {
        let body = json!({ "description": "路灯不亮 lamp out", "lat": at.0, "lon": at.1, "urgency": urgency });
        ids_.push(id_of(t.post(Some("resident"), "/api/v1/cases", body).await.ok()));
    }
    // One accepted: no longer new, and its dispatch-by clock has not run out.
    t.act("dispatcher", ids_[4], "accept", json!({ "category": STREET_LIGHT, "urgency": "routine" })).await;
    let due = |c: &Value| gridkeeper_domain::time::parse_rfc3339("due_at", c["due_at"].as_str().unwrap()).unwrap();
    let mut cases = vec![];
    for id in &ids_ {
        cases.push(t.detail("dispatcher", *id).await["case"].clone());
    }
    let by_deadline = |pick: &[usize]| {
        let mut v: Vec<(i64, i64)> = pick.iter().map(|&i| (due(&cases[i]), ids_[i])).collect();
        v.sort();
        v.into_iter().map(|(_, id)| id).collect::<Vec<_>>()
    };

    // The community 330483101001 (grids 1 and 2): its new reports, soonest deadline first.
    let queue = "/api/v1/cases?attention=true&sort=deadline&region=330483101001";
    let expected = by_deadline(&[0, 2, 3]);
    assert_eq!(ids(t.get(Some("dispatcher"), queue).await.ok()), expected);
    // Page by page with the deadline cursor.
    let paged: Vec<i64> = all_pages(&t, "dispatcher", &format!("{queue}&limit=1")).await.concat();
    assert_eq!(paged, expected);
    // The whole district by deadline, and the others (not needing attention) of the community.
    assert_eq!(
        ids(t.get(Some("dispatcher"), "/api/v1/cases?attention=true&sort=deadline").await.ok()),
        by_deadline(&[0, 1, 2, 3])
    );
    assert_eq!(
        ids(t.get(Some("dispatcher"), "/api/v1/cases?attention=false&region=330483101001").await.ok()),
        [ids_[4]]
    );
    // Newest first is still the default, and its cursors still work.
    assert_eq!(
        all_pages(&t, "dispatcher", "/api/v1/cases?attention=true&limit=2").await.concat(),
        [ids_[3], ids_[2], ids_[1], ids_[0]]
    );
    // A cursor of one order is refused by the other.
    let newest =
        t.get(Some("dispatcher"), "/api/v1/cases?limit=1").await.ok()["next_cursor"].as_str().unwrap().to_string();
    t.get(Some("dispatcher"), &format!("/api/v1/cases?sort=deadline&cursor={newest}"))
        .await
        .problem(422, Some("cursor"));
    let deadline = t.get(Some("dispatcher"), "/api/v1/cases?sort=deadline&limit=1").await.ok()["next_cursor"]
        .as_str()
        .unwrap()
        .to_string();
    t.get(Some("dispatcher"), &format!("/api/v1/cases?cursor={deadline}")).await.problem(422, Some("cursor"));
    t.get(Some("dispatcher"), "/api/v1/cases?sort=soonest").await.problem(422, Some("sort"));
    t.get(Some("dispatcher"), "/api/v1/cases?attention=yes").await.problem(422, Some("attention"));
    // Scope still applies: the member of grid 3 sees only the report of grid 3.
    assert_eq!(ids(t.get(Some("member3"), "/api/v1/cases?attention=true&sort=deadline").await.ok()), [ids_[1]]);

    // Once every clock has run out (asked of the store with a later `now`, on either backend):
    // the accepted case joins the queue as overdue, in its place by deadline.
    let later = cases.iter().map(&due).max().unwrap() + 1;
    let district = Visibility { regions: vec![code("330483")], ..Default::default() };
    let q = CaseQuery {
        visibility: district,
        region: Some(code("330483101001")),
        attention: Some(true),
        order: CaseOrder::Deadline,
        now: later,
        limit: 2,
        ..Default::default()
    };
    let mut seen = vec![];
    let mut page_q = q.clone();
    loop {
        let page = t.store.list_cases(&page_q).await.unwrap();
        seen.extend(page.iter().map(|c| c.id));
        match page.last() {
            Some(last) if page.len() == 2 => page_q.after = Some(page_q.cursor(last)),
            _ => break,
        }
    }
    assert_eq!(seen, by_deadline(&[0, 2, 3, 4]));
    let overdue = CaseQuery { attention: None, overdue: Some(true), order: CaseOrder::Newest, limit: 50, ..q.clone() };
    let listed: Vec<i64> = t.store.list_cases(&overdue).await.unwrap().iter().map(|c| c.id).collect();
    assert_eq!(listed, [ids_[4], ids_[3], ids_[2], ids_[0]]);
    // The other community's dispatcher sees none of these.
    let other = Visibility { regions: vec![code("330483101002")], ..Default::default() };
    assert!(t.store.list_cases(&CaseQuery { visibility: other, ..q }).await.unwrap().is_empty());
}
