//! Notifications over HTTP: who is told what at each step of the loop, in which language and by
//! which channel (never someone out of scope), follows of a case and of an area, people's
//! choices and their refusals, the admin's texts, caps, an SMS gateway that fails until the
//! notice is dead-lettered, e-mail through a real local SMTP server with one-click unsubscribe,
//! and the outbox under SIGKILL delivering every notice to a deduplicating gateway.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gridkeeper_domain::notices::NoticeKind;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::*;

/// `who`'s inbox once it holds a notice for which `until` holds (waits at most 20 s), the
/// notices worked through meanwhile.
async fn inbox_until(t: &TestApp, who: &str, until: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    for _ in 0..200 {
        settled(t).await;
        let items = t.get(Some(who), "/api/v1/inbox").await.ok()["items"].as_array().unwrap().clone();
        if until(&items) {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let items = t.get(Some(who), "/api/v1/inbox").await.ok()["items"].clone();
    panic!("{who}'s inbox did not get there: {items:#}");
}

fn kinds(items: &[Value]) -> Vec<&str> {
    items.iter().map(|n| n["kind"].as_str().unwrap()).collect()
}

fn has(kind: &'static str) -> impl Fn(&[Value]) -> bool {
    move |items| kinds(items).contains(&kind)
}

/// Works the notices through as the server's worker does: every earlier step fanned out and
/// every SMS due sent (the log sender answers at once).
async fn settled(t: &TestApp) {
    gridkeeper_server::notices::round_once(&t.app).await.unwrap();
}

/// A server without its notice worker: the tests work the notices through themselves
/// (`settled`), so that none of them races a round of the worker that is half done (on
/// PostgreSQL, a round skips the rows another one has locked).
async fn fast() -> TestApp {
    TestApp::spawn_with(backend(), None, |s| s.notices.enabled = false).await
}

#[tokio::test]
async fn each_step_of_the_loop_tells_those_it_concerns_in_their_language() {
    let t = fast().await;
    // The reporter reads English; everyone else the default, Chinese.
    let mine = t.get(Some("resident"), "/api/v1/me/notices").await.ok().clone();
    let mut settings = mine["settings"].clone();
    settings["locale"] = json!("en");
    settings["quiet_from"] = Value::Null;
    settings["quiet_to"] = Value::Null;
    t.send_raw(
        Some("resident"),
        t.client.put(format!("{}/api/v1/me/notices", t.base)).json(&json!({ "settings": settings })),
    )
    .await
    .ok();

    let id = t.report(Some("resident"), IN_GRID1, Some(MANHOLE)).await["case"]["id"].as_i64().unwrap();
    t.act("dispatcher", id, "accept", json!({ "category": MANHOLE, "urgency": "urgent" })).await;
    let inbox = inbox_until(&t, "resident", has("accepted")).await;
    assert!(inbox[0]["subject"].as_str().unwrap().contains("was accepted"), "{inbox:#?}");
    assert_eq!(inbox[0]["read"], false);
    // An SMS too (the default for an accepted report), in English.
    let sms = t.sms.sent_to(&phone_of("resident"));
    assert!(sms.iter().any(|m| m.contains("accepted")), "{sms:?}");

    t.act("dispatcher", id, "dispatch", json!({ "lead_department": CITY_MGMT, "co_departments": [POWER] })).await;
    let staff = inbox_until(&t, "staff", has("new_dispatch")).await;
    assert!(staff[0]["subject"].as_str().unwrap().contains("新派遣案件"), "Chinese by default: {staff:#?}");
    assert!(staff[0]["link"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/cases/{}", t.detail("dispatcher", id).await["case"]["reference"].as_str().unwrap())));
    inbox_until(&t, "power", has("new_dispatch")).await;
    inbox_until(&t, "resident", has("dispatched")).await;

    t.act("staff", id, "sign", json!({})).await;
    let photo = t.upload_photo(Some("staff")).await;
    t.act("staff", id, "submit_result", json!({ "note": "replaced the cover", "evidence": [photo] })).await;
    inbox_until(&t, "member", has("verification_needed")).await;
    t.act("member", id, "verify", json!({ "passed": true })).await;
    let solved = inbox_until(&t, "resident", has("solved")).await;
    assert!(solved[0]["body"].as_str().unwrap().contains("before and after"), "{solved:#?}");
    settled(&t).await;

    // Nobody out of scope heard of it, and nobody of their own step.
    for who in ["team", "member3", "resident2", "outsider"] {
        let items = t.get(Some(who), "/api/v1/inbox").await.ok()["items"].clone();
        assert_eq!(items, json!([]), "{who} was told: {items:#}");
    }
    assert!(!kinds(&inbox_until(&t, "dispatcher", |_| true).await).contains(&"accepted"));
    assert!(!kinds(&inbox_until(&t, "member", |_| true).await).contains(&"solved"));

    // Reading: one, then all.
    let before = t.get(Some("resident"), "/api/v1/inbox").await.ok().clone();
    let unread = before["unread"].as_u64().unwrap();
    assert!(unread >= 3, "{before:#}");
    let first = before["items"][0]["id"].as_i64().unwrap();
    let r = t.post(Some("resident"), &format!("/api/v1/inbox/{first}/read"), json!({})).await;
    assert_eq!((r.ok()["changed"].as_u64(), r.body["unread"].as_u64()), (Some(1), Some(unread - 1)));
    // Someone else's notice does not exist for them.
    t.post(Some("resident2"), &format!("/api/v1/inbox/{first}/read"), json!({})).await.problem(404, None);
    t.post(Some("resident"), "/api/v1/inbox/read", json!({})).await.ok();
    assert_eq!(t.get(Some("resident"), "/api/v1/inbox").await.ok()["unread"], 0);
    t.get(None, "/api/v1/inbox").await.problem(401, None);
    t.get(Some("resident"), "/api/v1/inbox?limit=0").await.problem(422, Some("limit"));
}

#[tokio::test]
async fn a_reporter_without_an_account_is_told_by_sms_and_a_department_of_its_return() {
    let t = fast().await;
    let phone = "13912345678";
    let r = t
        .post(None, "/api/v1/cases", json!({ "description": "路灯不亮 street light out", "lat": IN_GRID1.0, "lon": IN_GRID1.1, "contact_phone": phone, "urgency": "emergency" }))
        .await;
    let id = r.ok()["case"]["id"].as_i64().unwrap();
    t.act("dispatcher", id, "reject", json!({ "reason": "invalid", "note": "这里没有路灯" })).await;
    settled(&t).await;
    let sms = t.sms.sent_to(phone);
    assert_eq!(sms.len(), 1, "{sms:?}");
    assert!(sms[0].contains("未予受理") && sms[0].contains("这里没有路灯"), "{sms:?}");

    // A caller the hotline attached to a case is told of its steps too, by SMS. (An emergency,
    // told at once: a contact without an account keeps the default quiet hours, 22:00–07:00
    // China time, when a routine or urgent step waits for the morning; the domain's tests cover
    // that rule, and this test must not depend on the hour it runs at.)
    let id = t.report(Some("resident"), IN_GRID1, Some(MANHOLE)).await["case"]["id"].as_i64().unwrap();
    t.act("dispatcher", id, "accept", json!({ "category": MANHOLE, "urgency": "emergency" })).await;
    t.act("dispatcher", id, "dispatch", json!({ "lead_department": CITY_MGMT })).await;
    t.act("staff", id, "sign", json!({})).await;
    let caller = "13987654321";
    let r = t
        .post(Some("dispatcher"), &format!("/api/v1/cases/{id}/callers"), json!({ "phone": caller, "note": "又来电" }))
        .await;
    assert!(r.status.is_success(), "{r:?}");
    let photo = t.upload_photo(Some("staff")).await;
    t.act("staff", id, "submit_result", json!({ "note": "已更换井盖", "evidence": [photo] })).await;
    t.act("member", id, "verify", json!({ "passed": true })).await;
    settled(&t).await;
    let told = t.sms.sent_to(caller);
    assert!(told.iter().any(|m| m.contains("已解决")), "{told:?}");

    let id = t.in_progress_case().await;
    t.act("staff", id, "return", json!({ "reason": "不属于本部门" })).await;
    let d = inbox_until(&t, "dispatcher", has("returned")).await;
    assert!(d[0]["body"].as_str().unwrap().contains("不属于本部门"));
}

#[tokio::test]
async fn followers_of_a_case_and_of_an_area_hear_only_what_they_may_see() {
    let t = fast().await;
    // resident2 follows grid 1 and a circle in grid 3; member3 follows grid 1 too.
    let grid1 = t.post(Some("resident2"), "/api/v1/follows", json!({ "region": "330483101001001" })).await;
    assert_eq!(grid1.status, StatusCode::CREATED, "{grid1:?}");
    let circle = t
        .post(Some("resident2"), "/api/v1/follows", json!({ "lat": IN_GRID3.0, "lon": IN_GRID3.1, "radius_m": 300 }))
        .await;
    assert_eq!(circle.status, StatusCode::CREATED, "{circle:?}");

    // A public report in grid 1: the area's followers hear of it once accepted.
    let id = t.report(Some("resident"), IN_GRID1, Some(MANHOLE)).await["case"]["id"].as_i64().unwrap();
    // Nobody may follow a case they cannot see (not public before it is accepted).
    t.post(Some("resident2"), "/api/v1/follows", json!({ "case": id.to_string() })).await.problem(404, None);
    t.act("dispatcher", id, "accept", json!({ "category": MANHOLE, "urgency": "routine" })).await;
    let news = inbox_until(&t, "resident2", has("new_in_area")).await;
    assert!(news[0]["subject"].as_str().unwrap().contains("有新反映的问题"), "{news:#?}");
    // Now public: resident2 follows the case itself, and hears of its dispatch.
    let f = t.post(Some("resident2"), "/api/v1/follows", json!({ "case": id.to_string() })).await;
    assert_eq!(f.status, StatusCode::CREATED, "{f:?}");
    let again = t.post(Some("resident2"), "/api/v1/follows", json!({ "case": id.to_string() })).await;
    assert_eq!(again.body["id"], f.body["id"], "following twice is one follow");
    t.act("dispatcher", id, "dispatch", json!({ "lead_department": CITY_MGMT })).await;
    inbox_until(&t, "resident2", has("dispatched")).await;

    // A report in a category the public may not see: the area's followers hear nothing.
    let hidden = t.report(Some("resident"), IN_GRID1, Some(VENDOR)).await["case"]["id"].as_i64().unwrap();
    t.act("dispatcher", hidden, "accept", json!({ "category": VENDOR, "urgency": "routine" })).await;
    // A public one inside the circle is heard of; its grid is not followed.
    let near = t.report(Some("resident"), IN_GRID3, Some(MANHOLE)).await["case"]["id"].as_i64().unwrap();
    t.act("dispatcher", near, "accept", json!({ "category": MANHOLE, "urgency": "routine" })).await;
    let news = inbox_until(&t, "resident2", |i| kinds(i).iter().filter(|k| **k == "new_in_area").count() == 2).await;
    let about: Vec<i64> =
        news.iter().filter(|n| n["kind"] == "new_in_area").map(|n| n["case_id"].as_i64().unwrap()).collect();
    assert_eq!(about, vec![near, id]);

    let mine = t.get(Some("resident2"), "/api/v1/follows").await.ok().clone();
    assert_eq!(mine.as_array().unwrap().len(), 3, "{mine:#}");
    assert!(mine[2]["region_name"].as_str().is_some_and(|n| !n.is_empty()), "{mine:#}");
    let fid = mine[0]["id"].as_i64().unwrap();
    t.send_raw(Some("resident"), t.client.delete(format!("{}/api/v1/follows/{fid}", t.base))).await.problem(404, None);
    let r = t.send_raw(Some("resident2"), t.client.delete(format!("{}/api/v1/follows/{fid}", t.base))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);

    // Bad follows are refused by field.
    for (body, field) in [
        (json!({}), "case"),
        (json!({ "lat": 30.0 }), "lon"),
        (json!({ "lat": 30.0, "lon": 120.0 }), "radius_m"),
        (json!({ "lat": 30.0, "lon": 120.0, "radius_m": 50000 }), "radius_m"),
        (json!({ "region": "330483101001001", "case": "1" }), "case"),
        (json!({ "region": "330483101001001", "radius_m": 100 }), "radius_m"),
        (json!({ "region": "12" }), "region"),
    ] {
        t.post(Some("resident2"), "/api/v1/follows", body.clone()).await.problem(422, Some(field));
    }
    t.post(Some("resident2"), "/api/v1/follows", json!({ "region": "330483999" })).await.problem(404, Some("region"));
}

#[tokio::test]
async fn an_urgent_notice_reaches_who_follows_or_works_in_its_community_by_sms_and_inbox() {
    let t = fast().await;
    // resident2 follows a grid of community 001; resident follows one of community 002.
    for (who, grid) in [("resident2", "330483101001001"), ("resident", "330483101002001")] {
        let f = t.post(Some(who), "/api/v1/follows", json!({ "region": grid })).await;
        assert_eq!(f.status, StatusCode::CREATED, "{f:?}");
    }
    // The community's grid leader publishes an urgent notice to community 001.
    let a = t
        .post(
            Some("leader"),
            "/api/v1/articles",
            json!({ "region": "330483101001", "kind": "notice", "title": "停水通知", "summary": "明日8时至12时停水，请提前储水",
                    "body": "<p>因管网检修，明日8时至12时停水。</p>", "urgent": true }),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    let id = a.body["article"]["id"].as_i64().unwrap();
    settled(&t).await;
    for who in ["resident2", "member"] {
        let inbox = inbox_until(&t, who, has("urgent_notice")).await;
        let n = &inbox[0];
        assert_eq!((n["article_id"].as_i64(), n["case_id"].as_i64()), (Some(id), None), "{n:#}");
        assert!(n["link"].as_str().unwrap().ends_with(&format!("/articles/{id}")), "{n:#}");
        assert!(n["subject"].as_str().unwrap().contains("紧急通知"), "{n:#}");
        let sms = t.sms.sent_to(&phone_of(who));
        assert_eq!(sms.len(), 1, "{who}: {sms:?}");
        assert!(sms[0].contains("停水通知：明日8时至12时停水"), "{sms:?}");
    }
    // Not its author, not another community's follower or grid member.
    for who in ["leader", "resident", "member3"] {
        let inbox = t.get(Some(who), "/api/v1/inbox").await.ok()["items"].clone();
        assert!(!kinds(inbox.as_array().unwrap()).contains(&"urgent_notice"), "{who}: {inbox:#}");
        assert!(t.sms.sent_to(&phone_of(who)).is_empty(), "{who}");
    }
    // Once: the next rounds, and an edit, send nothing more.
    let edit = json!({ "region": "330483101001", "kind": "notice", "title": "停水通知（更正）",
                       "summary": "明日9时至12时停水", "body": "<p>9时至12时。</p>", "urgent": true });
    let r = t.send_raw(Some("leader"), t.client.put(format!("{}/api/v1/articles/{id}", t.base)).json(&edit)).await;
    assert!(r.status.is_success(), "{r:?}");
    settled(&t).await;
    assert_eq!(t.sms.sent_to(&phone_of("resident2")).len(), 1);
}

#[tokio::test]
async fn choices_are_checked_and_a_daily_cap_summarises() {
    let t = fast().await;
    let put = |who: &'static str, body: Value| {
        let t = &t;
        async move { t.send_raw(Some(who), t.client.put(format!("{}/api/v1/me/notices", t.base)).json(&body)).await }
    };
    let base = t.get(Some("resident"), "/api/v1/me/notices").await.ok()["settings"].clone();
    let with = |k: &str, v: Value| {
        let mut s = base.clone();
        s[k] = v;
        json!({ "settings": s })
    };
    put("resident", with("quiet_from", json!("25:00"))).await.problem(422, Some("quiet_from"));
    put("resident", with("locale", json!("fr"))).await.problem(422, Some("locale"));
    put("resident", with("daily_cap", json!(0))).await.problem(422, Some("daily_cap"));
    put("resident", with("channels", json!({ "solved": ["carrier_pigeon"] }))).await.problem(422, None);
    put("resident", with("channels", json!({ "solved": ["email"] }))).await.problem(422, Some("email"));
    let mut b = with("channels", json!({ "solved": ["email"] }));
    b["email"] = json!("resident@example.com");
    put("resident", b).await.problem(409, Some("channels"));
    let mut b = with("channels", json!({}));
    b["email"] = json!("not an address");
    put("resident", b).await.problem(422, Some("email"));
    // Nothing refused was stored.
    assert_eq!(t.get(Some("resident"), "/api/v1/me/notices").await.ok()["settings"], base);

    // A cap of one SMS a day: the first says the rest are in the app; the next is not sent.
    let mut capped = base.clone();
    capped["daily_cap"] = json!(1);
    capped["channels"] = json!({ "dispatched": ["sms"] });
    capped["quiet_from"] = Value::Null;
    capped["quiet_to"] = Value::Null;
    put("resident", json!({ "settings": capped })).await.ok();
    let id = t.report(Some("resident"), IN_GRID1, Some(MANHOLE)).await["case"]["id"].as_i64().unwrap();
    t.act("dispatcher", id, "accept", json!({ "category": MANHOLE, "urgency": "urgent" })).await;
    t.act("dispatcher", id, "dispatch", json!({ "lead_department": CITY_MGMT })).await;
    inbox_until(&t, "resident", |i| i.len() == 2).await;
    settled(&t).await;
    let sms = t.sms.sent_to(&phone_of("resident"));
    assert_eq!(sms.len(), 1, "{sms:?}");
    assert!(sms[0].contains("今日其余通知请在应用的消息中查看"), "{sms:?}");
}

#[tokio::test]
async fn the_admin_edits_a_text_and_only_the_admin() {
    let t = fast().await;
    t.get(Some("dispatcher"), "/api/v1/notices/templates").await.problem(403, None);
    let all = t.get(Some("admin"), "/api/v1/notices/templates").await.ok().clone();
    assert_eq!(all["templates"].as_array().unwrap().len(), 2 * NoticeKind::ALL.len());
    let path = "/api/v1/notices/templates/accepted/zh";
    let put = |who: &'static str, body: Value| {
        let t = &t;
        async move { t.send_raw(Some(who), t.client.put(format!("{}{path}", t.base)).json(&body)).await }
    };
    put("dispatcher", json!({ "subject": "x", "body": "y" })).await.problem(403, None);
    put("admin", json!({ "subject": "已受理{reference}", "body": "{who}" })).await.problem(422, Some("body"));
    put("admin", json!({ "subject": "", "body": "y" })).await.problem(422, Some("subject"));
    let t2 = &t;
    t2.send_raw(
        Some("admin"),
        t2.client
            .put(format!("{}/api/v1/notices/templates/nope/zh", t2.base))
            .json(&json!({ "subject": "x", "body": "y" })),
    )
    .await
    .problem(404, None);
    let r = put("admin", json!({ "subject": "镇上已受理{reference}", "body": "感谢您！{description}" })).await;
    assert_eq!(r.ok()["custom"], true);

    let id = t.report(Some("resident"), IN_GRID1, Some(MANHOLE)).await["case"]["id"].as_i64().unwrap();
    t.act("dispatcher", id, "accept", json!({ "category": MANHOLE, "urgency": "urgent" })).await;
    let inbox = inbox_until(&t, "resident", has("accepted")).await;
    assert!(inbox[0]["subject"].as_str().unwrap().starts_with("镇上已受理"), "{inbox:#?}");
    assert!(inbox[0]["body"].as_str().unwrap().starts_with("感谢您！井盖破损"), "{inbox:#?}");

    let back = t.send_raw(Some("admin"), t.client.delete(format!("{}{path}", t.base))).await;
    assert_eq!(back.ok()["custom"], false);
    assert!(back.body["subject"].as_str().unwrap().contains("已受理"));
}

/// A local SMS gateway: answers each request with `status`, after `delay`, and counts the ids.
async fn gateway(status: u16, delay: Duration) -> (String, Arc<Mutex<HashMap<String, u32>>>) {
    let seen: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let keep = seen.clone();
    let app = axum::Router::new().route(
        "/sms",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::Json<Value>| {
            let keep = keep.clone();
            async move {
                tokio::time::sleep(delay).await;
                let id = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                assert_eq!(body["id"].as_str(), Some(id.as_str()));
                *keep.lock().unwrap().entry(id).or_default() += 1;
                axum::http::StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

#[tokio::test]
async fn a_failing_gateway_is_retried_then_dead_lettered_and_sent_again_on_demand() {
    let (url, seen) = gateway(503, Duration::ZERO).await;
    let t = TestApp::spawn_with(backend(), None, |s| {
        s.notices.poll_ms = 50;
        s.notices.sms_gateway_url = Some(url);
        s.notices.retry_base_ms = 20;
        s.notices.max_attempts = 3;
    })
    .await;
    let id = t.report(Some("resident"), IN_GRID1, Some(MANHOLE)).await["case"]["id"].as_i64().unwrap();
    // The case write never waits for the gateway.
    t.act("dispatcher", id, "accept", json!({ "category": MANHOLE, "urgency": "emergency" })).await;
    let mut dead = json!([]);
    for _ in 0..200 {
        dead = t.get(Some("admin"), "/api/v1/notices/undelivered").await.ok().clone();
        if dead.as_array().unwrap().len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(dead[0]["attempts"], 3, "{dead:#}");
    assert!(dead[0]["last_error"].as_str().unwrap().contains("503"), "{dead:#}");
    assert_eq!(seen.lock().unwrap().values().sum::<u32>(), 3);
    // The inbox had it all along.
    inbox_until(&t, "resident", has("accepted")).await;
    t.get(Some("dispatcher"), "/api/v1/notices/undelivered").await.problem(403, None);
    let nid = dead[0]["id"].as_i64().unwrap();
    let r = t.post(Some("admin"), &format!("/api/v1/notices/{nid}/retry"), json!({})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{r:?}");
    t.post(Some("admin"), &format!("/api/v1/notices/{nid}/retry"), json!({})).await.problem(404, None);
    for _ in 0..100 {
        if seen.lock().unwrap().values().sum::<u32>() > 3 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the notice sent again never reached the gateway");
}

/// A local SMTP server (aiosmtpd, installed by scripts/smtp-server into target/smtp-venv) writing
/// what it receives to a Maildir; stopped when dropped.
struct SmtpServer {
    _child: tokio::process::Child,
    url: String,
    maildir: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    async fn start() -> Self {
        let python = std::env::var("GRIDKEEPER_SMTP_PYTHON")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/smtp-venv/bin/python").into());
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("mail");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = tokio::process::Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the SMTP server {python} ({e}): run scripts/smtp-server first"));
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Self { _child: child, url: format!("smtp://127.0.0.1:{port}"), maildir, _dir: dir };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the SMTP server did not start");
    }

    /// The messages received so far.
    fn messages(&self) -> Vec<String> {
        let new = self.maildir.join("new");
        let Ok(entries) = std::fs::read_dir(new) else { return vec![] };
        entries.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok()).collect()
    }
}

#[tokio::test]
async fn e_mail_goes_through_a_real_smtp_server_and_one_click_stops_it() {
    let smtp = SmtpServer::start().await;
    let url = smtp.url.clone();
    let t = TestApp::spawn_with(backend(), None, move |s| {
        s.notices.poll_ms = 50;
        s.notices.smtp_url = Some(url);
        s.notices.mail_from = "Wuzhen grid <grid@wuzhen.example>".into();
    })
    .await;
    let mine = t.get(Some("resident"), "/api/v1/me/notices").await.ok().clone();
    assert_eq!(mine["email_available"], true);
    let mut settings = mine["settings"].clone();
    settings["channels"] = json!({ "accepted": ["email"] });
    settings["quiet_from"] = Value::Null;
    settings["quiet_to"] = Value::Null;
    let r = t
        .send_raw(
            Some("resident"),
            t.client
                .put(format!("{}/api/v1/me/notices", t.base))
                .json(&json!({ "settings": settings, "email": "li.ming@example.com" })),
        )
        .await;
    assert_eq!(r.ok()["email"], "li.ming@example.com");
    let id = t.report(Some("resident"), IN_GRID1, Some(MANHOLE)).await["case"]["id"].as_i64().unwrap();
    t.act("dispatcher", id, "accept", json!({ "category": MANHOLE, "urgency": "urgent" })).await;
    let mut mail = vec![];
    for _ in 0..200 {
        mail = smtp.messages();
        if !mail.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(mail.len(), 1, "one e-mail");
    let m = &mail[0];
    assert!(m.contains("To: li.ming@example.com"), "{m}");
    assert!(
        m.contains("From: \"Wuzhen grid\" <grid@wuzhen.example>")
            || m.contains("From: Wuzhen grid <grid@wuzhen.example>"),
        "{m}"
    );
    assert!(m.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"), "{m}");
    // No SMS for a kind given to e-mail.
    assert!(t.sms.sent_to(&phone_of("resident")).is_empty());
    let link = m.lines().find_map(|l| l.strip_prefix("List-Unsubscribe: <")).unwrap().trim_end_matches('>').to_string();
    let path = link.strip_prefix(&t.base).unwrap();
    // A forged token is refused; the real one stops e-mails of that kind.
    t.post(None, &path.replace("token=", "token=9"), json!({})).await.problem(404, None);
    let r = t.post(None, path, json!({})).await;
    assert_eq!(r.ok()["channels"], json!(["inbox"]));
    let after = t.get(Some("resident"), "/api/v1/me/notices").await.ok().clone();
    assert_eq!(after["settings"]["channels"]["accepted"], json!([]));
}

#[tokio::test]
async fn sigkill_with_notices_pending_delivers_each_one_to_a_deduplicating_gateway() {
    use crate::crash::{free_port, seed, start_with};
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path()).await;
    let (url, seen) = gateway(200, Duration::from_millis(150)).await;
    // First, without the worker: reports from 30 phones, each accepted (30 SMS to send).
    let quiet = [("GRIDKEEPER__SERVER__NOTICES__ENABLED", "false".to_string())];
    let s = start_with(dir.path(), free_port(), &quiet).await;
    let client = reqwest::Client::new();
    const N: usize = 30;
    for i in 0..N {
        let r: Value = client
            .post(format!("{}/api/v1/cases", s.base))
            .json(&json!({ "description": format!("report {i}"), "lat": IN_GRID1.0, "lon": IN_GRID1.1, "contact_phone": format!("1391000{i:04}") }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = r["case"]["id"].as_i64().unwrap();
        let a = client
            .post(format!("{}/api/v1/cases/{id}/actions/accept", s.base))
            .bearer_auth("crash-token")
            .json(&json!({ "category": MANHOLE, "urgency": "emergency" }))
            .send()
            .await
            .unwrap();
        assert_eq!(a.status(), 200);
    }
    let mut c = s.child;
    c.start_kill().unwrap();
    c.wait().await.unwrap();
    // Then with the worker and a slow gateway, killed while it sends, twice.
    let env = [
        ("GRIDKEEPER__SERVER__NOTICES__SMS_GATEWAY_URL", url),
        ("GRIDKEEPER__SERVER__NOTICES__POLL_MS", "50".to_string()),
        // A short timeout: the notices a killed worker held are leased for it and 5 s more.
        ("GRIDKEEPER__SERVER__NOTICES__TIMEOUT_SECONDS", "1".to_string()),
    ];
    for target in [5, 15] {
        let s = start_with(dir.path(), free_port(), &env).await;
        for _ in 0..400 {
            if seen.lock().unwrap().len() >= target {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut c = s.child;
        c.start_kill().unwrap();
        c.wait().await.unwrap();
    }
    let s = start_with(dir.path(), free_port(), &env).await;
    for _ in 0..800 {
        if seen.lock().unwrap().len() >= N {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(s);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), N, "every notice reached the gateway: {seen:?}");
    // At least once: a send the kill cut off is repeated after the lease, with the same id (so a
    // deduplicating gateway sends it once); never more often than once per kill.
    assert!(seen.values().all(|n| *n <= 3), "{seen:?}");
}

/// A stand-in for the WeChat official account API: an access token that expires after its first
/// use, the web authorisation's code → openid, and the template messages received.
async fn wechat_api() -> (String, Arc<Mutex<Vec<Value>>>) {
    use axum::extract::Query;
    let sent: Arc<Mutex<Vec<Value>>> = Arc::default();
    let tokens = Arc::new(Mutex::new(0u32));
    let (keep, issued) = (sent.clone(), tokens.clone());
    let app = axum::Router::new()
        .route(
            "/cgi-bin/token",
            axum::routing::get(move |Query(q): Query<HashMap<String, String>>| {
                let issued = issued.clone();
                async move {
                    assert_eq!((q["appid"].as_str(), q["secret"].as_str()), ("wx-app", "wx-secret"));
                    let mut n = issued.lock().unwrap();
                    *n += 1;
                    axum::Json(json!({ "access_token": format!("token-{n}"), "expires_in": 7200 }))
                }
            }),
        )
        .route(
            "/sns/oauth2/access_token",
            axum::routing::get(|Query(q): Query<HashMap<String, String>>| async move {
                match q["code"].as_str() {
                    "good-code" => {
                        axum::Json(json!({ "openid": "o-resident", "access_token": "x", "expires_in": 7200 }))
                    }
                    _ => axum::Json(json!({ "errcode": 40029, "errmsg": "invalid code" })),
                }
            }),
        )
        .route(
            "/cgi-bin/message/template/send",
            axum::routing::post(
                move |Query(q): Query<HashMap<String, String>>, axum::Json(body): axum::Json<Value>| {
                    let keep = keep.clone();
                    async move {
                        // The first token "expires" at once: the sender must fetch another and retry.
                        if q["access_token"] == "token-1" {
                            return axum::Json(json!({ "errcode": 40001, "errmsg": "invalid credential" }));
                        }
                        keep.lock().unwrap().push(body);
                        axum::Json(json!({ "errcode": 0, "errmsg": "ok", "msgid": 1 }))
                    }
                },
            ),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, sent)
}

#[tokio::test]
async fn a_resident_who_binds_wechat_is_told_by_template_message() {
    let (url, sent) = wechat_api().await;
    let t = TestApp::spawn_with(backend(), None, move |s| {
        s.notices.poll_ms = 50;
        s.notices.retry_base_ms = 20;
        s.notices.wechat_api_url = Some(url);
        s.notices.wechat_app_id = Some("wx-app".into());
        s.notices.wechat_app_secret = Some("wx-secret".into());
        s.notices.wechat_template_id = Some("tpl-progress".into());
    })
    .await;
    let mine = t.get(Some("resident"), "/api/v1/me/notices").await.ok().clone();
    assert_eq!((mine["wechat_available"].as_bool(), mine["wechat_bound"].as_bool()), (Some(true), Some(false)));
    assert!(mine["wechat_authorize_url"].as_str().unwrap().contains("appid=wx-app"));
    let mut settings = mine["settings"].clone();
    settings["channels"] = json!({ "accepted": ["wechat"] });
    settings["quiet_from"] = Value::Null;
    settings["quiet_to"] = Value::Null;
    let put = |body: Value| {
        let t = &t;
        async move { t.send_raw(Some("resident"), t.client.put(format!("{}/api/v1/me/notices", t.base)).json(&body)).await }
    };
    put(json!({ "settings": settings })).await.problem(409, Some("channels"));
    t.post(Some("resident"), "/api/v1/me/wechat", json!({ "code": "stolen" })).await.problem(422, Some("code"));
    let bound = t.post(Some("resident"), "/api/v1/me/wechat", json!({ "code": "good-code" })).await;
    assert_eq!(bound.ok()["wechat_bound"], true);
    put(json!({ "settings": settings })).await.ok();

    let id = t.report(Some("resident"), IN_GRID1, Some(MANHOLE)).await["case"]["id"].as_i64().unwrap();
    t.act("dispatcher", id, "accept", json!({ "category": MANHOLE, "urgency": "urgent" })).await;
    for _ in 0..200 {
        if !sent.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sent = sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0]["touser"], "o-resident");
    assert_eq!(sent[0]["template_id"], "tpl-progress");
    assert!(sent[0]["data"]["first"]["value"].as_str().unwrap().contains("已受理"), "{sent:#?}");
    assert!(t.sms.sent_to(&phone_of("resident")).is_empty(), "WeChat instead of SMS, as chosen");

    // Unbinding takes WeChat off every kind.
    let r = t.send_raw(Some("resident"), t.client.delete(format!("{}/api/v1/me/wechat", t.base))).await;
    assert_eq!(r.ok()["wechat_bound"], false);
    assert_eq!(r.body["settings"]["channels"]["accepted"], json!([]));
}

#[tokio::test]
async fn the_clock_supervision_extensions_rework_and_reopening_tell_whom_they_concern() {
    let t = fast().await;
    let id = t.in_progress_case().await;
    // The warning at three quarters of the time, then overdue: the handler who signed hears
    // both; the community's leader and the supervisors hear of the supervision it goes under.
    let due = t.detail("dispatcher", id).await["case"]["due_at"].as_str().unwrap().to_string();
    let due = gridkeeper_domain::time::parse_rfc3339("due", &due).unwrap();
    assert_eq!(t.app.check_deadlines(due - 60_000).await.unwrap(), (1, 0, 0));
    inbox_until(&t, "staff", has("deadline_warning")).await;
    assert_eq!(t.app.check_deadlines(due + 1).await.unwrap(), (0, 1, 0));
    let staff = inbox_until(&t, "staff", has("overdue")).await;
    assert!(staff[0]["subject"].as_str().unwrap().contains("已超期"), "{staff:#?}");
    inbox_until(&t, "leader", has("supervision")).await;
    inbox_until(&t, "supervisor", has("supervision")).await;
    // The co-operating department hears of none of it.
    settled(&t).await;
    assert!(!kinds(&inbox_until(&t, "power", |_| true).await).contains(&"overdue"));

    // An extension decided, and a result the grid member finds wanting.
    t.act("staff", id, "request_extension", json!({ "until": "2099-01-01T00:00:00Z", "reason": "材料未到" })).await;
    t.act("dispatcher", id, "approve_extension", json!({})).await;
    inbox_until(&t, "staff", has("extension_decided")).await;
    let photo = t.upload_photo(Some("staff")).await;
    t.act("staff", id, "submit_result", json!({ "note": "已处理", "evidence": [photo] })).await;
    t.act("member", id, "verify", json!({ "passed": false, "note": "井盖还是松的" })).await;
    let rework = inbox_until(&t, "staff", has("rework")).await;
    assert!(rework[0]["body"].as_str().unwrap().contains("井盖还是松的"), "{rework:#?}");

    // Solved, closed, reopened: the reporter is told each time.
    let photo = t.upload_photo(Some("staff")).await;
    t.act("staff", id, "submit_result", json!({ "note": "已重新固定", "evidence": [photo] })).await;
    t.act("member", id, "verify", json!({ "passed": true })).await;
    t.act("dispatcher", id, "close", json!({})).await;
    inbox_until(&t, "resident", has("closed")).await;
    t.act("supervisor", id, "reopen", json!({ "reason": "群众反映仍有问题" })).await;
    let reopened = inbox_until(&t, "resident", has("reopened")).await;
    assert!(reopened[0]["body"].as_str().unwrap().contains("群众反映仍有问题"), "{reopened:#?}");
}
