//! The five teams over HTTP: a grid leader keeps the teams of their community (members, duties,
//! leader), volunteers log service hours, the team's leader or a grid leader confirms them (points)
//! or refuses them (nothing), a member with the report duty reports as the team, and the measures.

use serde_json::json;

use crate::common::*;

const COMMUNITY: &str = "330483101001";

fn today() -> String {
    gridkeeper_domain::teams::local_date(chrono::Utc::now().timestamp_millis()).format("%Y-%m-%d").to_string()
}

fn days_ago(n: u64) -> String {
    let d = gridkeeper_domain::teams::local_date(chrono::Utc::now().timestamp_millis());
    (d - chrono::Days::new(n)).format("%Y-%m-%d").to_string()
}

async fn new_team(t: &TestApp, who: &str, region: &str) -> Resp {
    t.post(Some(who), "/api/v1/teams", json!({ "kind": "volunteers", "region": region })).await
}

#[tokio::test]
async fn leaders_keep_teams_volunteers_log_hours_confirmed_hours_earn_points() {
    let t = TestApp::spawn().await;
    let team = new_team(&t, "leader", COMMUNITY).await;
    let team = team.ok();
    assert_eq!(team["name"], format!("{}志愿者队伍", team["region_name"].as_str().unwrap()));
    assert_eq!((team["may_keep"].as_bool(), team["may_confirm"].as_bool()), (Some(true), Some(true)));
    let id = team["id"].as_i64().unwrap();
    // A team of a region one does not keep is not theirs (404); a street is no grid or community.
    new_team(&t, "leader", "330483101002").await.problem(404, None);
    new_team(&t, "leader", "330483101").await.problem(422, Some("region"));
    new_team(&t, "member", "330483101001001").await.problem(403, None);
    new_team(&t, "resident", COMMUNITY).await.problem(404, None);
    t.post(Some("leader"), "/api/v1/teams", json!({ "kind": "army", "region": COMMUNITY }))
        .await
        .problem(422, Some("kind"));

    // Members: an existing account by login, a new volunteer's account from a phone and a name.
    let members = format!("/api/v1/teams/{id}/members");
    let added = t.post(Some("leader"), &members, json!({ "login": "resident", "duties": ["report", "patrol"] })).await;
    assert_eq!(added.ok()["duties"], json!(["patrol", "report"]));
    let resident = added.body["person_id"].as_i64().unwrap();
    t.post(Some("leader"), &members, json!({ "login": "resident", "duties": [] })).await.problem(409, Some("person"));
    t.post(Some("leader"), &members, json!({ "login": "resident2", "duties": ["fly"] }))
        .await
        .problem(422, Some("duties"));
    t.post(Some("leader"), &members, json!({ "phone": "13912345678", "duties": [] })).await.problem(404, Some("phone"));
    t.post(Some("leader"), &members, json!({ "login": "nobody", "duties": [] })).await.problem(404, Some("login"));
    let fresh = t
        .post(Some("leader"), &members, json!({ "phone": "13912345678", "name": "沈志愿", "duties": ["inspect"] }))
        .await;
    assert_eq!(fresh.ok()["name"], "沈志愿");
    assert_eq!(fresh.body["phone"], "139****5678");
    let account = t.store.person_by_phone("13912345678").await.unwrap().unwrap();
    assert!(account.grants.iter().any(|g| g.role == gridkeeper_domain::Role::Resident));
    // resident2 leads the team.
    let lead = t.post(Some("leader"), &members, json!({ "login": "resident2", "duties": [], "leader": true })).await;
    assert_eq!(lead.ok()["leader"], true);
    let seen = t.get(Some("leader"), &format!("/api/v1/teams?region={COMMUNITY}")).await;
    assert_eq!(seen.ok()["items"][0]["members"].as_array().unwrap().len(), 3);
    assert_eq!(seen.body["items"][0]["members"][0]["name"], "resident2 姓名");
    // Another community's leader and grid members elsewhere do not see it.
    t.add_person("leader2", &[(gridkeeper_domain::Role::GridLeader, "region:330483101002")]).await;
    t.get(Some("leader2"), &format!("/api/v1/teams/{id}")).await.problem(404, None);
    t.post(Some("leader2"), &members, json!({ "login": "member", "duties": [] })).await.problem(404, None);
    t.get(Some("member3"), &format!("/api/v1/teams?region={COMMUNITY}")).await.problem(404, None);

    // The volunteer logs hours; bad hours are named.
    let log = |hours: i64, date: String| json!({ "team": id, "date": date, "hours": hours, "what": "清理河道" });
    let first = t.post(Some("resident"), "/api/v1/me/service", log(3, today())).await;
    assert_eq!(first.ok()["state"], "pending");
    let first = first.body["id"].as_i64().unwrap();
    for bad in [0, -1, 25, 22] {
        t.post(Some("resident"), "/api/v1/me/service", log(bad, today())).await.problem(422, Some("hours"));
    }
    t.post(Some("resident"), "/api/v1/me/service", log(1, "2099-01-01".into())).await.problem(422, Some("date"));
    t.post(Some("resident"), "/api/v1/me/service", json!({ "team": id, "date": today(), "hours": 1, "what": " " }))
        .await
        .problem(422, Some("what"));
    t.post(Some("member"), "/api/v1/me/service", log(1, today())).await.problem(403, None);
    let second = t.post(Some("resident"), "/api/v1/me/service", log(2, days_ago(1))).await;
    let second = second.ok()["id"].as_i64().unwrap();

    // Nobody confirms their own hours; another community's leader is told it is not there.
    t.post(Some("resident"), &format!("/api/v1/service-logs/{first}/confirm"), json!({})).await.problem(403, None);
    t.post(Some("leader2"), &format!("/api/v1/service-logs/{first}/confirm"), json!({})).await.problem(404, None);
    t.post(Some("member"), &format!("/api/v1/service-logs/{first}/confirm"), json!({})).await.problem(403, None);
    let pending = t.get(Some("resident2"), &format!("/api/v1/teams/{id}/service-logs?state=pending")).await;
    assert_eq!(pending.ok().as_array().unwrap().len(), 2);
    // The team's leader confirms: 3 hours × 5 points; the grid leader refuses the other.
    let done = t.post(Some("resident2"), &format!("/api/v1/service-logs/{first}/confirm"), json!({})).await;
    assert_eq!((done.ok()["state"].as_str(), done.body["points"].as_i64()), (Some("confirmed"), Some(15)));
    t.post(Some("leader"), &format!("/api/v1/service-logs/{first}/confirm"), json!({}))
        .await
        .problem(409, Some("state"));
    t.post(Some("leader"), &format!("/api/v1/service-logs/{second}/refuse"), json!({ "reason": "" }))
        .await
        .problem(422, Some("reason"));
    let refused =
        t.post(Some("leader"), &format!("/api/v1/service-logs/{second}/refuse"), json!({ "reason": "未到岗" })).await;
    assert_eq!((refused.ok()["state"].as_str(), refused.body["points"].as_i64()), (Some("refused"), None));

    // My service: the team, the logs, the hours and points.
    let mine = t.get(Some("resident"), "/api/v1/me/service").await;
    let mine = mine.ok();
    assert_eq!(mine["teams"][0]["id"], id);
    assert_eq!(mine["teams"][0]["duties"], json!(["patrol", "report"]));
    assert_eq!(mine["logs"].as_array().unwrap().len(), 2);
    assert_eq!((mine["hours_confirmed"].as_i64(), mine["points_from_service"].as_i64()), (Some(3), Some(15)));
    assert_eq!(mine["balance"], 15);
    assert_eq!(mine["months"].as_array().unwrap().len(), 12);
    let me = t.get(Some("dispatcher"), "/api/v1/me/service").await;
    assert!(me.ok()["teams"].as_array().unwrap().is_empty());

    // A member with the report duty reports as the team where it works.
    let case = t.report(Some("resident"), IN_GRID1, Some(MANHOLE)).await["case"]["id"].as_i64().unwrap();
    let events = t.store.events(case).await.unwrap();
    assert_eq!(events[0].event.data["team"], id);
    let other = t.report(Some("resident2"), IN_GRID1, Some(MANHOLE)).await["case"]["id"].as_i64().unwrap();
    assert!(t.store.events(other).await.unwrap()[0].event.data.get("team").is_none());

    // The measures of the community's teams this month.
    let month = &today()[..7];
    let url = format!("/api/v1/teams/measures?region={COMMUNITY}&from={month}&to={month}");
    let m = t.get(Some("leader"), &url).await;
    let f = &m.ok()["teams"][0]["months"][0];
    assert_eq!(f["members_active"], 3);
    assert_eq!(f["cases_reported"], 2);
    assert!(f["hours_confirmed"].as_i64().unwrap() == 3);
    assert_eq!(m.body["people"][0]["person_id"], resident);
    t.get(Some("resident"), &url).await.problem(403, None);
    t.get(Some("leader"), &format!("/api/v1/teams/measures?region={COMMUNITY}&from=2026-13&to={month}"))
        .await
        .problem(422, Some("from"));

    // Duties change; a removed member leaves the team and logs no more.
    let put = t
        .send_raw(
            Some("leader"),
            t.client.put(format!("{}{members}/{resident}", t.base)).json(&json!({ "duties": ["inspect"] })),
        )
        .await;
    assert_eq!(put.ok()["duties"], json!(["inspect"]));
    let gone = t.send_raw(Some("leader"), t.client.delete(format!("{}{members}/{resident}", t.base))).await;
    assert_eq!(gone.status.as_u16(), 204);
    let again = t.send_raw(Some("leader"), t.client.delete(format!("{}{members}/{resident}", t.base))).await;
    again.problem(404, None);
    t.post(Some("resident"), "/api/v1/me/service", log(1, today())).await.problem(403, None);
    let after = t.get(Some("leader"), &format!("/api/v1/teams/{id}")).await;
    assert_eq!(after.ok()["members"].as_array().unwrap().len(), 2);
}
