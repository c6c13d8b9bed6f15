//! Administration over HTTP: accounts and roles, departments, categories. Only admins, only in
//! their regions; refusals change nothing; every change is in the hash-chained audit log.

use gridkeeper_domain::Role;
use gridkeeper_store::{AuditCheck, AuditQuery};
use serde_json::{json, Value};

use crate::common::*;

async fn audit_count(t: &TestApp) -> usize {
    t.store.audit_search(&AuditQuery { limit: 1000, ..Default::default() }).await.unwrap().len()
}

async fn last_audit(t: &TestApp) -> gridkeeper_store::AuditEntry {
    t.store.audit_search(&AuditQuery { limit: 1, ..Default::default() }).await.unwrap().remove(0)
}

#[tokio::test]
async fn an_admin_creates_an_account_grants_revokes_and_disables() {
    let t = TestApp::spawn().await;
    let admin_id = t.get(Some("admin"), "/api/v1/me").await.ok()["person"]["id"].as_i64().unwrap();
    let r = t
        .post(
            Some("admin"),
            "/api/v1/admin/people",
            json!({ "login": "chen", "name": "陈敏", "phone": "13800001111",
                    "grants": [{ "role": "dispatcher", "scope": "region:330483101" }] }),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let id = r.body["person"]["id"].as_i64().unwrap();
    assert_eq!(r.body["person"]["grants"][0]["role"], "dispatcher");
    assert_eq!(r.body["person"]["phone"], "138****1111");
    // The admin finds the new dispatcher by phone, and sees a member of staff named in clear.
    let found = t.get(Some("admin"), "/api/v1/admin/people?q=138%200000%201111").await.ok().clone();
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found["items"][0]["login"], "chen");
    assert_eq!(found["items"][0]["name"], "陈敏");
    let password = r.body["password"].as_str().unwrap().to_string();
    let entry = last_audit(&t).await;
    assert_eq!(
        (entry.action.as_str(), entry.actor, entry.object.as_deref()),
        ("role_change", Some(admin_id), Some(&*format!("person:{id}")))
    );
    assert_eq!(entry.detail["created"], "chen");

    // The new account signs in with the password it was given.
    let s = t.post(None, "/api/v1/session", json!({ "login": "chen", "password": password })).await;
    let token = s.ok()["token"].as_str().unwrap().to_string();
    let me = t.client.get(format!("{}/api/v1/me", t.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(me.status(), 200);

    // Grant a role; granting it again changes nothing and writes nothing.
    let path = format!("/api/v1/admin/people/{id}/grants");
    let g = json!({ "role": "grid_member", "scope": format!("region:{GRID1}") });
    let r = t.post(Some("admin"), &path, g.clone()).await;
    assert_eq!((r.status.as_u16(), r.body["changed"].as_bool()), (200, Some(true)), "{r:?}");
    assert_eq!(r.body["person"]["grants"].as_array().unwrap().len(), 2);
    assert_eq!(last_audit(&t).await.detail["granted"]["role"], "grid_member");
    let before = audit_count(&t).await;
    assert_eq!(t.post(Some("admin"), &path, g).await.ok()["changed"], false);
    assert_eq!(audit_count(&t).await, before);

    // Revoke it.
    let r = t
        .send_raw(Some("admin"), t.client.delete(format!("{}{path}?role=grid_member&scope=region:{GRID1}", t.base)))
        .await;
    assert_eq!((r.status.as_u16(), r.body["changed"].as_bool()), (200, Some(true)), "{r:?}");
    assert_eq!(r.body["person"]["grants"].as_array().unwrap().len(), 1);
    assert_eq!(last_audit(&t).await.detail["revoked"]["role"], "grid_member");

    // Disable: the session ends at once.
    let r = t.post(Some("admin"), &format!("/api/v1/admin/people/{id}/disable"), json!({})).await;
    assert_eq!(r.ok()["person"]["disabled"], true);
    let me = t.client.get(format!("{}/api/v1/me", t.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(me.status(), 401);
    assert_eq!(last_audit(&t).await.action, "account");
    // An admin cannot disable themselves.
    t.post(Some("admin"), &format!("/api/v1/admin/people/{admin_id}/disable"), json!({}))
        .await
        .problem(409, Some("id"));

    assert!(matches!(t.store.audit_verify().await.unwrap(), AuditCheck::Intact { .. }));
}

#[tokio::test]
async fn people_are_managed_only_by_admins_of_their_regions() {
    let t = TestApp::spawn().await;
    t.add_person("street_admin", &[(Role::Admin, "region:330483101")]).await;
    let supervisor = t.get(Some("supervisor"), "/api/v1/me").await.ok()["person"]["id"].as_i64().unwrap();
    let member = t.get(Some("member"), "/api/v1/me").await.ok()["person"]["id"].as_i64().unwrap();
    let before = audit_count(&t).await;
    let new = |scope: &str| json!({ "login": "liming", "name": "李明", "grants": [{ "role": "dispatcher", "scope": scope }] });

    // Not admins: refused, nothing stored.
    for who in [None, Some("dispatcher"), Some("supervisor"), Some("auditor"), Some("staff")] {
        let r = t.post(who, "/api/v1/admin/people", new("region:330483101")).await;
        r.problem(if who.is_none() { 401 } else { 403 }, None);
        t.post(who, &format!("/api/v1/admin/people/{member}/disable"), json!({}))
            .await
            .problem(if who.is_none() { 401 } else { 403 }, None);
    }
    t.get(Some("dispatcher"), "/api/v1/admin/people").await.problem(403, None);
    // A street's admin may not give a district-wide role, nor touch a district's supervisor.
    t.post(Some("street_admin"), "/api/v1/admin/people", new("region:330483")).await.problem(403, None);
    t.post(Some("street_admin"), &format!("/api/v1/admin/people/{supervisor}/disable"), json!({}))
        .await
        .problem(404, None);
    t.post(
        Some("street_admin"),
        &format!("/api/v1/admin/people/{member}/grants"),
        json!({ "role": "supervisor", "scope": "region:330483" }),
    )
    .await
    .problem(403, None);
    assert!(t.store.person_by_login("liming").await.unwrap().is_none());
    assert!(!t.store.person(supervisor).await.unwrap().unwrap().disabled);
    assert_eq!(t.store.person(member).await.unwrap().unwrap().grants.len(), 1);
    assert_eq!(audit_count(&t).await, before, "refusals write nothing");

    // ...but manages the people of its street, and sees only them.
    let listed: Vec<String> = t.get(Some("street_admin"), "/api/v1/admin/people?limit=200").await.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["login"].as_str().unwrap().to_string())
        .collect();
    assert!(listed.contains(&"member".to_string()) && listed.contains(&"member3".to_string()), "{listed:?}");
    assert!(!listed.contains(&"supervisor".to_string()) && !listed.contains(&"dispatcher".to_string()), "{listed:?}");
    t.post(Some("street_admin"), &format!("/api/v1/admin/people/{member}/disable"), json!({})).await.ok();
    assert!(t.store.person(member).await.unwrap().unwrap().disabled);

    // Bad input is named.
    for (body, field) in [
        (json!({ "login": "a", "name": "x", "grants": [{ "role": "dispatcher", "scope": "region:330483" }] }), "login"),
        (json!({ "login": "wang", "name": "x", "grants": [] }), "grants"),
        (
            json!({ "login": "wang", "name": "x", "grants": [{ "role": "pilot", "scope": "region:330483" }] }),
            "grants[0].role",
        ),
        (
            json!({ "login": "wang", "name": "x", "grants": [{ "role": "dispatcher", "scope": "department:1" }] }),
            "grants[0].scope",
        ),
        (
            json!({ "login": "wang", "name": "x", "grants": [{ "role": "dispatcher", "scope": "region:330483999" }] }),
            "grants[0].scope (no such region)",
        ),
        (
            json!({ "login": "wang", "name": "x", "password": "short", "grants": [{ "role": "dispatcher", "scope": "region:330483" }] }),
            "password",
        ),
        (
            json!({ "login": "member", "name": "x", "grants": [{ "role": "dispatcher", "scope": "region:330483" }] }),
            "login (taken)",
        ),
    ] {
        // A region that does not exist is not found (404), a login taken a conflict (409); the rest is
        // invalid (422).
        let (status, field) = match (field.strip_suffix(" (no such region)"), field.strip_suffix(" (taken)")) {
            (Some(f), _) => (404, f),
            (_, Some(f)) => (409, f),
            _ => (422, field),
        };
        t.post(Some("admin"), "/api/v1/admin/people", body).await.problem(status, Some(field));
    }
}

fn department(code: &str) -> Value {
    json!({ "code": code, "name": "水务公司", "name_en": "Water company", "platform_id": 1, "kind": "outside_party" })
}

fn category(code: &str, parent: Value) -> Value {
    json!({ "code": code, "name": "消防栓", "name_en": "Fire hydrant", "kind": "component", "parent_id": parent,
            "default_department": CITY_MGMT, "public": true,
            "deadlines": { "routine_hours": 48, "urgent_hours": 12, "emergency_hours": 2 } })
}

#[tokio::test]
async fn departments_and_categories_are_changed_by_district_admins_and_used_at_once() {
    let t = TestApp::spawn().await;
    t.add_person("street_admin", &[(Role::Admin, "region:330483101")]).await;
    let before = audit_count(&t).await;
    for who in ["dispatcher", "supervisor", "street_admin", "staff"] {
        t.post(Some(who), "/api/v1/departments", department("W1")).await.problem(403, None);
        t.post(Some(who), "/api/v1/categories", category("C0199", json!(COMPONENTS))).await.problem(403, None);
    }
    assert_eq!(audit_count(&t).await, before);

    // A new department, renamed, and a case dispatched to it.
    let r = t.post(Some("admin"), "/api/v1/departments", department("W1")).await;
    assert_eq!(r.status, 201, "{r:?}");
    let dept = r.body["department"]["id"].as_i64().unwrap();
    assert_eq!(last_audit(&t).await.object.as_deref(), Some(&*format!("department:{dept}")));
    let mut renamed = department("W1");
    renamed["name"] = json!("桐乡水务");
    let r =
        t.send_raw(Some("admin"), t.client.put(format!("{}/api/v1/departments/{dept}", t.base)).json(&renamed)).await;
    assert_eq!(r.body["department"]["name"], "桐乡水务", "{r:?}");
    assert_eq!(last_audit(&t).await.detail["before"]["name"], "水务公司");
    let listed = t.get(None, "/api/v1/departments").await;
    assert!(listed.ok()["items"].as_array().unwrap().iter().any(|d| d["id"] == dept && d["name"] == "桐乡水务"));

    // A new subclass with its own deadlines, used to accept a case.
    let r = t.post(Some("admin"), "/api/v1/categories", category("C0199", json!(COMPONENTS))).await;
    assert_eq!(r.status, 201, "{r:?}");
    let cat = r.body["category"]["id"].as_i64().unwrap();
    let id = id_of(&t.report(Some("resident"), IN_GRID1, None).await);
    let c = t.act("dispatcher", id, "accept", json!({ "category": cat, "urgency": "urgent" })).await;
    assert_eq!(c["category"], cat);
    t.act("dispatcher", id, "dispatch", json!({ "lead_department": dept })).await;
    // Made non-public: later cases of it are not public.
    let mut private = category("C0199", json!(COMPONENTS));
    private["public"] = json!(false);
    let r = t.send_raw(Some("admin"), t.client.put(format!("{}/api/v1/categories/{cat}", t.base)).json(&private)).await;
    assert_eq!(r.body["category"]["public"], false, "{r:?}");

    // Bad input is named, and leaves things as they were.
    let n = audit_count(&t).await;
    let mut bad_platform = department("W2");
    bad_platform["platform_id"] = json!(99);
    let mut team = department("W3");
    team["kind"] = json!("community_team");
    // A code taken conflicts (409), a platform that does not exist is not found (404).
    for (body, status, field) in
        [(department("W1"), 409, "code"), (bad_platform, 404, "platform_id"), (team, 422, "region")]
    {
        t.post(Some("admin"), "/api/v1/departments", body).await.problem(status, Some(field));
    }
    let mut late = category("C0198", json!(COMPONENTS));
    late["deadlines"]["emergency_hours"] = json!(100);
    // A code taken or a parent that is no class conflicts (409), a parent that does not exist is
    // not found (404), deadlines out of order are invalid (422).
    for (body, status, field) in [
        (category("C0199", json!(COMPONENTS)), 409, "code"),
        (category("C0198", json!(MANHOLE)), 409, "parent_id"),
        (category("C0198", json!(999)), 404, "parent_id"),
        (late, 422, "deadlines"),
    ] {
        t.post(Some("admin"), "/api/v1/categories", body).await.problem(status, Some(field));
    }
    let r = t
        .send_raw(
            Some("admin"),
            t.client.put(format!("{}/api/v1/categories/{cat}", t.base)).json(&category("C0199", Value::Null)),
        )
        .await;
    r.problem(409, Some("parent_id"));
    assert_eq!(audit_count(&t).await, n);
    assert!(t.get(None, "/api/v1/categories").await.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["code"] != "C0198"));
    assert!(matches!(t.store.audit_verify().await.unwrap(), AuditCheck::Intact { .. }));
}

#[tokio::test]
async fn another_server_instance_picks_up_changed_departments_and_categories() {
    let t = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let settings = gridkeeper_server::Settings { media_dir: dir.path().join("media"), ..Default::default() };
    let other = gridkeeper_server::App::new(
        t.store.clone(),
        settings,
        std::sync::Arc::new(gridkeeper_server::sms::LogSms::default()),
    )
    .await
    .unwrap();
    assert!(!other.refresh_reference().await.unwrap(), "nothing changed yet");
    let r = t.post(Some("admin"), "/api/v1/departments", department("W9")).await;
    let id = r.ok()["department"]["id"].as_i64().unwrap();
    assert!(!other.reference().departments.contains_key(&id));
    // What its watcher runs every few seconds.
    assert!(other.refresh_reference().await.unwrap());
    assert_eq!(other.reference().departments[&id].code, "W9");
    assert!(!other.refresh_reference().await.unwrap());
}
