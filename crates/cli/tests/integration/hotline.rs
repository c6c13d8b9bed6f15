//! The hotline entry over HTTP: a caller looked up by phone (earlier cases as the contact, the
//! reporter and an attached caller; masked unless revealed, every reveal audited), a call
//! reported on the caller's behalf as `hotline` with the tracking code sent by SMS, a call
//! attached to an existing case (one event, one caller row), and the refusals.

use gridkeeper_domain::Role;
use gridkeeper_store::AuditQuery;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::*;

/// The path of a lookup.
fn lookup(phone: &str, rest: &str) -> String {
    format!("/api/v1/hotline/callers?phone={}{rest}", urlencoding(phone))
}

fn urlencoding(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// The ids of the listed cases, in order.
fn ids(v: &Value) -> Vec<i64> {
    v["cases"].as_array().unwrap().iter().map(|c| c["case"]["id"].as_i64().unwrap()).collect()
}

async fn count_cases(t: &TestApp) -> i64 {
    t.store.count_cases().await.unwrap()
}

/// Reports anonymously in grid 1, leaving `phone` as the contact.
async fn report_with_contact(t: &TestApp, phone: &str) -> i64 {
    let r = t
        .post(
            None,
            "/api/v1/cases",
            json!({ "description": "噪音扰民 noise at night", "lat": IN_GRID1.0, "lon": IN_GRID1.1, "contact_name": "王芳", "contact_phone": phone }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    id_of(&r.body)
}

#[tokio::test]
async fn a_caller_is_found_by_phone_as_contact_reporter_and_caller_masked_unless_revealed() {
    let t = TestApp::spawn().await;
    let phone = phone_of("resident");
    // Reported by the resident registered with the phone; left the phone as a contact (typed
    // with +86 and spaces); an earlier call attached to someone else's case; and one unrelated.
    let as_reporter = id_of(&t.report(Some("resident"), IN_GRID1, Some(MANHOLE)).await);
    let spaced = format!("+86 {} {} {}", &phone[..3], &phone[3..7], &phone[7..]);
    let as_contact = report_with_contact(&t, &spaced).await;
    let elsewhere = report_with_contact(&t, "13800000000").await;
    let added = t
        .post(
            Some("dispatcher"),
            &format!("/api/v1/cases/{elsewhere}/callers"),
            json!({ "phone": phone, "name": "王芳", "note": "也听到了" }),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{added:?}");
    let unrelated = report_with_contact(&t, "13800000001").await;

    let found = t.get(Some("dispatcher"), &lookup(&phone, "")).await.ok().clone();
    assert_eq!(found["phone"], phone);
    assert_eq!(ids(&found), [elsewhere, as_contact, as_reporter], "newest first, the unrelated one left out");
    assert!(!ids(&found).contains(&unrelated));
    let matched: Vec<&Value> = found["cases"].as_array().unwrap().iter().map(|c| &c["matched"]).collect();
    assert_eq!(matched, [&json!(["caller"]), &json!(["contact"]), &json!(["reporter"])]);
    // Masked: the person's name, the contacts; nothing revealed, nothing audited.
    assert_eq!(found["person"]["id"].as_i64(), Some(resident_id(&t).await));
    assert_eq!(found["person"]["name"], "r**********");
    assert_eq!(found["person"]["revealed"], false);
    let contact = &found["cases"][1]["case"]["contact"];
    assert_eq!(contact["phone"].as_str().unwrap(), format!("{}****{}", &phone[..3], &phone[7..]));
    assert_eq!(contact["name"], "王*");
    assert!(found["cases"].as_array().unwrap().iter().all(|c| c["revealed"] == false && c["may_add_caller"] == true));
    assert!(!found.to_string().contains("王芳"), "{found}");
    assert!(reveals(&t).await.is_empty());

    // Revealed on purpose: in clear, each case audited.
    let clear = t.get(Some("dispatcher"), &lookup(&phone, "&reveal=true")).await.ok().clone();
    assert_eq!(clear["cases"][1]["case"]["contact"], json!({ "name": "王芳", "phone": phone }));
    assert!(clear["cases"].as_array().unwrap().iter().all(|c| c["revealed"] == true));
    assert_eq!(clear["person"]["name"], "resident 姓名");
    assert_eq!(clear["person"]["revealed"], true);
    let mut audited = reveals(&t).await;
    audited.sort();
    let mut expected: Vec<String> =
        [elsewhere, as_contact, as_reporter].iter().map(|id| format!("case:{id}")).collect();
    expected.sort();
    assert_eq!(audited, expected);

    // Bounded: the newest `limit`, and `more` says there are others.
    let page = t.get(Some("dispatcher"), &lookup(&phone, "&limit=2")).await.ok().clone();
    assert_eq!((ids(&page), page["more"].clone()), (vec![elsewhere, as_contact], json!(true)));
    assert_eq!(found["more"], false);

    // Someone who sees the cases (a grid member of the grid) and may look callers up (a
    // dispatcher elsewhere) but may not reveal them here: masked even when asking, not audited,
    // and may not attach the call.
    t.add_person("mixed", &[(Role::Dispatcher, "region:330482"), (Role::GridMember, "region:330483101001001")]).await;
    let before = reveals(&t).await.len();
    let mixed = t.get(Some("mixed"), &lookup(&phone, "&reveal=true")).await.ok().clone();
    assert_eq!(ids(&mixed), [elsewhere, as_contact, as_reporter]);
    assert!(mixed["cases"].as_array().unwrap().iter().all(|c| c["revealed"] == false && c["may_add_caller"] == false));
    assert_eq!(mixed["cases"][1]["case"]["contact"]["name"], "王*");
    assert_eq!(mixed["person"]["name"], "r**********");
    assert_eq!(reveals(&t).await.len(), before);
    // A supervisor reads; a dispatcher of another district sees none of these cases.
    let sup = t.get(Some("supervisor"), &lookup(&phone, "")).await.ok().clone();
    assert_eq!(ids(&sup).len(), 3);
    assert!(sup["cases"].as_array().unwrap().iter().all(|c| c["may_add_caller"] == false));
    let outsider = t.get(Some("outsider"), &lookup(&phone, "")).await.ok().clone();
    assert!(ids(&outsider).is_empty());
    // Others may not look callers up at all.
    for who in ["resident", "member", "staff", "admin", "auditor"] {
        t.get(Some(who), &lookup(&phone, "")).await.problem(403, None);
    }
    t.get(None, &lookup(&phone, "")).await.problem(401, None);
    // Bad input names the parameter.
    t.get(Some("dispatcher"), &lookup("12ab", "")).await.problem(422, Some("phone"));
    t.get(Some("dispatcher"), "/api/v1/hotline/callers").await.problem(422, Some("phone"));
    t.get(Some("dispatcher"), &lookup(&phone, "&limit=0")).await.problem(422, Some("limit"));
    t.get(Some("dispatcher"), &lookup(&phone, "&limit=x")).await.problem(422, Some("limit"));
    t.get(Some("dispatcher"), &lookup(&phone, "&name=x")).await.problem(422, Some("name"));
}

async fn resident_id(t: &TestApp) -> i64 {
    t.store.person_by_phone(&phone_of("resident")).await.unwrap().unwrap().id
}

/// The objects of the audit log's `reveal` entries.
async fn reveals(t: &TestApp) -> Vec<String> {
    t.store
        .audit_search(&AuditQuery { action: Some("reveal".into()), limit: 100, ..Default::default() })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.object.unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn a_call_is_reported_as_hotline_and_the_caller_gets_the_tracking_code_by_sms() {
    let t = TestApp::spawn().await;
    let call = |extra: Value| {
        let mut body = json!({ "phone": "139 0000 1111", "name": "张先生", "description": "路灯不亮，晚上很黑" });
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let r = t
        .post(
            Some("dispatcher"),
            "/api/v1/hotline/calls",
            call(json!({ "lat": IN_GRID1.0, "lon": IN_GRID1.1, "category": STREET_LIGHT, "urgency": "urgent", "language": "en" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let case = &r.body["case"];
    assert_eq!(case["source"], "hotline");
    assert_eq!(case["state"], "reported");
    assert_eq!(case["grid"], GRID1);
    assert_eq!(case["urgency"], "urgent");
    assert_eq!(case["suggested_category"], STREET_LIGHT);
    assert_eq!(case["contact"], json!({ "name": "张**", "phone": "139****1111" }));
    assert_eq!(r.body["outside_jurisdiction"], false);
    assert_eq!(r.body["sms_sent"], true);
    let code = r.body["tracking_code"].as_str().unwrap();
    let reference = case["reference"].as_str().unwrap();
    // The caller got the code by SMS, in English as asked, and it opens the case.
    let sent = t.sms.sent_to("13900001111");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].contains(code) && sent[0].contains(reference) && sent[0].contains("tracking code"), "{sent:?}");
    assert!(sent[0].contains(&format!("{}/track/{code}", t.base)), "{sent:?}");
    let tracked = t.get(None, &format!("/api/v1/track/{code}")).await.ok().clone();
    assert_eq!(tracked["reference"], reference);
    // The call is found by the caller's phone next time.
    let found = t.get(Some("dispatcher"), &lookup("13900001111", "")).await.ok().clone();
    assert_eq!(ids(&found), [id_of(&r.body)]);
    assert!(found["person"].is_null());

    // By address only (no point): kept for the district, flagged, texted in Chinese by default.
    let r = t.post(Some("dispatcher"), "/api/v1/hotline/calls", call(json!({ "address": "东栅老街 12 号门口" }))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["outside_jurisdiction"], true);
    assert_eq!(r.body["case"]["district"], "330483");
    assert_eq!(r.body["case"]["address"], "东栅老街 12 号门口");
    let sent = t.sms.sent_to("13900001111");
    assert!(
        sent.len() == 2 && sent[1].contains("查询码") && sent[1].contains(r.body["tracking_code"].as_str().unwrap())
    );
    // A point outside every grid, as today's reports are: kept and flagged.
    let r =
        t.post(Some("dispatcher"), "/api/v1/hotline/calls", call(json!({ "lat": OUTSIDE.0, "lon": OUTSIDE.1 }))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["outside_jurisdiction"], true);

    // Refusals name the field, store nothing and text nobody.
    let stored = count_cases(&t).await;
    let at = json!({ "lat": IN_GRID1.0, "lon": IN_GRID1.1 });
    let bad = |body: Value| t.post(Some("dispatcher"), "/api/v1/hotline/calls", body);
    let with = |k: &str, v: Value| {
        let mut b = call(at.clone());
        b[k] = v;
        b
    };
    bad(with("phone", json!("12ab"))).await.problem(422, Some("phone"));
    bad(with("phone", json!(" "))).await.problem(422, Some("phone"));
    bad(with("name", json!("名".repeat(51)))).await.problem(422, Some("name"));
    bad(with("description", json!("   "))).await.problem(422, Some("description"));
    bad(with("category", json!(9999))).await.problem(404, Some("category"));
    bad(with("category", json!(COMPONENTS))).await.problem(422, Some("category"));
    bad(with("language", json!("fr"))).await.problem(422, None);
    bad(with("lat", json!(95.0))).await.problem(422, Some("lat"));
    bad(with("surname", json!("张"))).await.problem(422, Some("surname"));
    bad(call(json!({}))).await.problem(422, Some("location"));
    bad(call(json!({ "lat": IN_GRID1.0 }))).await.problem(422, Some("lon"));
    // Only the linkage center of the place's region takes its calls.
    for who in ["resident", "member", "leader", "staff", "supervisor", "outsider", "admin"] {
        t.post(Some(who), "/api/v1/hotline/calls", call(at.clone())).await.problem(403, None);
    }
    t.post(None, "/api/v1/hotline/calls", call(at.clone())).await.problem(401, None);
    assert_eq!(count_cases(&t).await, stored);
    assert_eq!(t.sms.sent_to("13900001111").len(), 3);
}

#[tokio::test]
async fn attaching_a_call_writes_one_event_and_one_caller_and_texts_the_caller() {
    let t = TestApp::spawn().await;
    let id = id_of(&t.report(Some("resident"), IN_GRID1, Some(MANHOLE)).await);
    let path = format!("/api/v1/cases/{id}/callers");
    let events = |t: &TestApp| {
        let store = t.store.clone();
        async move { store.events(id).await.unwrap().len() }
    };
    assert_eq!(events(&t).await, 1);
    let r = t
        .post(
            Some("dispatcher"),
            &path,
            json!({ "phone": "+86 137-0000-2222", "name": "赵女士", "note": "井盖还在晃", "version": 1 }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["case"]["version"], 2);
    assert_eq!(r.body["case"]["state"], "reported");
    assert_eq!(r.body["caller"]["seq"], 2);
    assert_eq!(r.body["caller"]["phone"], "137****2222");
    assert_eq!(r.body["caller"]["name"], "赵**");
    assert_eq!(r.body["sms_sent"], true);
    // One event through the state machine, one caller row beside it, sealed.
    let stored = t.store.events(id).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[1].event.action, gridkeeper_domain::Action::AddCaller);
    assert_eq!(stored[1].event.data, json!({ "note": "井盖还在晃" }));
    let callers = t.store.callers(id).await.unwrap();
    assert_eq!(callers.len(), 1);
    assert_eq!(
        (callers[0].seq, callers[0].phone.as_deref(), callers[0].name.as_deref()),
        (2, Some("13700002222"), Some("赵女士"))
    );
    // The caller got their own tracking code, which opens the case.
    let code = r.body["tracking_code"].as_str().unwrap();
    let sent = t.sms.sent_to("13700002222");
    assert!(sent.len() == 1 && sent[0].contains(code) && sent[0].contains("查询码"), "{sent:?}");
    let reference = r.body["case"]["reference"].as_str().unwrap();
    assert_eq!(t.get(None, &format!("/api/v1/track/{code}")).await.ok()["reference"], reference);
    // Staff read it on the timeline; the reporter does not (an internal event).
    assert_eq!(t.timeline(id).await.last().map(String::as_str), Some("add_caller"));
    let own = t.get(Some("resident"), &format!("/api/v1/cases/{id}")).await.ok().clone();
    assert!(own["timeline"].as_array().unwrap().iter().all(|e| e["action"] != "add_caller"));
    // Attached by reference too, without a version.
    t.post(Some("dispatcher"), &format!("/api/v1/cases/{reference}/callers"), json!({ "phone": "13700003333" }))
        .await
        .ok();
    assert_eq!(events(&t).await, 3);

    // A stale version is a conflict with the case as it is; nothing written.
    let stale = t.post(Some("dispatcher"), &path, json!({ "phone": "13700004444", "version": 2 })).await;
    stale.problem(409, None);
    assert_eq!(stale.body["current"]["version"], 3);
    // Bad input names the field.
    t.post(Some("dispatcher"), &path, json!({ "phone": "12ab" })).await.problem(422, Some("phone"));
    t.post(Some("dispatcher"), &path, json!({})).await.problem(422, None);
    t.post(Some("dispatcher"), &path, json!({ "phone": "13700004444", "note": "x".repeat(2001) }))
        .await
        .problem(422, Some("note"));
    t.post(Some("dispatcher"), &path, json!({ "phone": "13700004444", "reason": "x" })).await.problem(422, None);
    // Unknown and out-of-scope cases are not found; who sees it but does not take calls may not.
    t.post(Some("dispatcher"), "/api/v1/cases/999999/callers", json!({ "phone": "13700004444" }))
        .await
        .problem(404, None);
    t.post(Some("outsider"), &path, json!({ "phone": "13700004444" })).await.problem(404, None);
    t.post(Some("resident2"), &path, json!({ "phone": "13700004444" })).await.problem(404, None);
    for who in ["supervisor", "member", "leader", "resident"] {
        t.post(Some(who), &path, json!({ "phone": "13700004444" })).await.problem(403, None);
    }
    // The generic action door does not take it.
    t.post(Some("dispatcher"), &format!("/api/v1/cases/{id}/actions/add_caller"), json!({})).await.problem(404, None);
    assert_eq!(events(&t).await, 3);
    assert_eq!(t.store.callers(id).await.unwrap().len(), 2);
    assert!(t.sms.sent_to("13700004444").is_empty());

    // A finished case takes no more callers.
    t.act("dispatcher", id, "reject", json!({ "reason": "invalid", "note": "不在辖区" })).await;
    t.post(Some("dispatcher"), &path, json!({ "phone": "13700004444" })).await.problem(409, None);
}
