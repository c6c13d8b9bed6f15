//! Open311 GeoReport v2 over HTTP: discovery, services and definitions, posting (form and
//! multipart), tokens, queries, the error list in JSON and XML, mySociety's updates both ways,
//! and an independent client library (Python `georeport`) against the live server.

use gridkeeper_store::Respond;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::*;

/// A raw answer: status, content type and body text.
struct Raw {
    status: StatusCode,
    content_type: String,
    text: String,
}

impl Raw {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
    /// Asserts the spec's error list with this status; returns the descriptions.
    #[track_caller]
    fn errors(&self, status: u16) -> Vec<String> {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        if self.content_type.starts_with("text/xml") {
            assert!(self.text.contains(&format!("<errors><error><code>{status}</code><description>")), "{}", self.text);
            return vec![self.text.clone()];
        }
        assert!(self.content_type.starts_with("application/json"), "{}", self.content_type);
        let list = self.json();
        let list = list.as_array().expect("a list of errors");
        assert!(!list.is_empty());
        list.iter()
            .map(|e| {
                assert_eq!(e["code"], status);
                e["description"].as_str().unwrap().to_string()
            })
            .collect()
    }
}

async fn raw(r: reqwest::RequestBuilder) -> Raw {
    let r = r.send().await.unwrap();
    let status = r.status();
    let content_type = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    Raw { status, content_type, text: r.text().await.unwrap() }
}

async fn get(t: &TestApp, path: &str) -> Raw {
    raw(t.client.get(format!("{}/open311/v2/{path}", t.base))).await
}

async fn post_form(t: &TestApp, path: &str, form: &[(&str, &str)]) -> Raw {
    raw(t.client.post(format!("{}/open311/v2/{path}", t.base)).form(form)).await
}

/// Creates an Open311 key acting as `login`.
async fn key(t: &TestApp, name: &str, login: &str, respond: Respond) -> String {
    let person = t.store.person_by_login(login).await.unwrap().unwrap();
    let key = format!("{name}-secret-key");
    let now = chrono::Utc::now().timestamp_millis();
    t.store
        .create_open311_key(name, &gridkeeper_server::auth::token_hash(&key), person.id, respond, now)
        .await
        .unwrap();
    key
}

/// Gives the manhole cover service a required number `depth` and a multi-value list `hazards`.
async fn define_attributes(t: &TestApp) {
    let body = json!({ "attributes": [
        { "code": "depth", "datatype": "number", "required": true, "order": 1, "description": "How deep is the hole (m)?" },
        { "code": "hazards", "datatype": "multivaluelist", "order": 2, "description": "Who is at risk?",
          "values": [{ "key": "traffic", "name": "Traffic" }, { "key": "children", "name": "Children" }, { "key": "night", "name": "At night" }] },
    ]});
    let r = t.send_put("admin", &format!("/api/v1/categories/{MANHOLE}/attributes"), body).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
}

trait Put {
    async fn send_put(&self, who: &str, path: &str, body: Value) -> Resp;
}

impl Put for TestApp {
    async fn send_put(&self, who: &str, path: &str, body: Value) -> Resp {
        let r = self
            .client
            .put(format!("{}{path}", self.base))
            .bearer_auth(format!("{who}-token"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let content_type = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        Resp { status, content_type, body: serde_json::from_str(&r.text().await.unwrap()).unwrap_or(Value::Null) }
    }
}

#[tokio::test]
async fn open311_discovery_services_and_definitions_in_json_and_xml() {
    let t = TestApp::spawn().await;
    let d = get(&t, "discovery.json").await.json();
    assert_eq!(d["endpoints"][0]["url"], format!("{}/open311/v2", t.base));
    assert_eq!(d["endpoints"][0]["formats"], json!(["application/json", "text/xml"]));
    // Absolute URLs come from the configured public URL, never from what the client claims.
    let spoofed = t
        .client
        .get(format!("{}/open311/v2/discovery.json", t.base))
        .header("host", "evil.example")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "evil.example");
    assert_eq!(raw(spoofed).await.json()["endpoints"][0]["url"], format!("{}/open311/v2", t.base));

    let s = get(&t, "services.json").await;
    assert_eq!(s.content_type, "application/json; charset=utf-8");
    let list = s.json();
    let codes: Vec<&str> = list.as_array().unwrap().iter().map(|s| s["service_code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["C0101", "C0102", "E0101"], "subclasses are the services, classes are not");
    assert_eq!(list[0]["group"], "C01", "the class is the group");
    assert_eq!(list[0]["metadata"], false);
    assert_eq!(list[0]["type"], "realtime");

    // Attributes: only an admin defines them, and bad definitions are refused by field.
    let attrs = format!("/api/v1/categories/{MANHOLE}/attributes");
    let one = json!({ "attributes": [{ "code": "depth", "datatype": "number", "order": 1, "description": "Depth?" }] });
    t.send_put("dispatcher", &attrs, one.clone()).await.problem(403, None);
    let bad = json!({ "attributes": [{ "code": "kind", "datatype": "singlevaluelist", "order": 1, "description": "Kind?" }] });
    t.send_put("admin", &attrs, bad).await.problem(422, Some("attributes[0].values"));
    let typo = json!({ "attributes": [{ "code": "x", "datatype": "colour", "order": 1, "description": "?" }] });
    t.send_put("admin", &attrs, typo).await.problem(422, Some("attributes[0].datatype"));
    // A class has no attributes: its subclasses do.
    t.send_put("admin", &format!("/api/v1/categories/{COMPONENTS}/attributes"), one)
        .await
        .problem(409, Some("category"));
    define_attributes(&t).await;

    let list = get(&t, "services.json").await.json();
    assert_eq!(list[0]["metadata"], true);
    let def = get(&t, "services/C0101.json").await.json();
    assert_eq!(def["service_code"], "C0101");
    assert_eq!(def["attributes"][0]["code"], "depth");
    assert_eq!(def["attributes"][0]["required"], true);
    assert_eq!(def["attributes"][0]["variable"], true);
    assert_eq!(def["attributes"][1]["values"][2], json!({ "key": "night", "name": "At night" }));

    let xml = get(&t, "services/C0101.xml").await;
    assert_eq!(xml.content_type, "text/xml; charset=utf-8");
    assert!(xml.text.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?><service_definition>"), "{}", xml.text);
    assert!(xml.text.contains("<values><value><key>traffic</key><name>Traffic</name></value>"), "{}", xml.text);
    let services_xml = get(&t, "services.xml").await.text;
    assert_eq!(services_xml.matches("<service>").count(), 3, "{services_xml}");

    // Errors: the spec's list, in the asked format; 404 for what does not exist.
    get(&t, "services/NOPE.json").await.errors(404);
    get(&t, "services/NOPE.xml").await.errors(404);
    get(&t, "services.json?jurisdiction_id=999999").await.errors(404);
    get(&t, "services.json?jurisdiction_id=330483").await.json();
    get(&t, "services.json?colour=red").await.errors(400);
    get(&t, "nothing.json").await.errors(404);
    assert_eq!(get(&t, "services.txt").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn open311_posts_are_checked_filed_as_the_key_and_read_back() {
    let t = TestApp::spawn().await;
    define_attributes(&t).await;
    let key = key(&t, "city-app", "resident", Respond::Id).await;
    let good: Vec<(&str, &str)> = vec![
        ("api_key", &key),
        ("service_code", "C0101"),
        ("lat", "30.005"),
        ("long", "120.005"),
        ("description", "井盖塌陷 the manhole cover has caved in"),
        ("attribute[depth]", "1.5"),
        ("attribute[hazards][]", "traffic"),
        ("attribute[hazards][]", "night"),
        ("first_name", "王"),
        ("last_name", "芳"),
        ("phone", "13812341234"),
        ("email", ""),
    ];

    // The key: missing or wrong is 403.
    let no_key: Vec<(&str, &str)> = good.iter().filter(|(k, _)| *k != "api_key").cloned().collect();
    post_form(&t, "requests.json", &no_key).await.errors(403);
    let mut bad_key = good.clone();
    bad_key[0].1 = "not-a-key";
    post_form(&t, "requests.xml", &bad_key).await.errors(403);
    // Several problems at once: all listed, 400.
    let errs = post_form(&t, "requests.json", &[("api_key", &key), ("lat", "30.0")]).await.errors(400);
    assert_eq!(errs.len(), 3, "{errs:?}");
    assert!(errs.iter().any(|e| e.contains("service_code")) && errs.iter().any(|e| e.contains("lat and long")));
    // An unknown service or jurisdiction is 404.
    let mut unknown = good.clone();
    unknown[1].1 = "Z9999";
    post_form(&t, "requests.json", &unknown).await.errors(404);
    let mut elsewhere = good.clone();
    elsewhere.push(("jurisdiction_id", "999999"));
    post_form(&t, "requests.json", &elsewhere).await.errors(404);
    // A parameter given twice is refused rather than read as one of its values (a second `lat`
    // outside the jurisdiction was stored before); `address_id` is refused, as docs/DATA.md says.
    let mut twice = good.clone();
    twice.push(("lat", "31.5"));
    let errs = post_form(&t, "requests.json", &twice).await.errors(400);
    assert!(errs[0].starts_with("lat: given more than once"), "{errs:?}");
    let mut with_id = good.clone();
    with_id.push(("address_id", "8711"));
    let errs = post_form(&t, "requests.json", &with_id).await.errors(400);
    assert!(errs.iter().any(|e| e.starts_with("address_id is not supported")), "{errs:?}");
    // A form holds text, not megabytes: refused (413) before it is buffered.
    let long = "井".repeat(30_000);
    let mut huge = good.clone();
    huge.push(("address_string", &long));
    post_form(&t, "requests.json", &huge).await.errors(413);
    // Attributes are checked against the definition.
    let missing: Vec<(&str, &str)> = good.iter().filter(|(k, _)| *k != "attribute[depth]").cloned().collect();
    let errs = post_form(&t, "requests.json", &missing).await.errors(400);
    assert!(errs[0].contains("attribute[depth]"), "{errs:?}");
    let mut wrong = good.clone();
    wrong.push(("attribute[hazards][]", "fire"));
    assert!(post_form(&t, "requests.json", &wrong).await.errors(400)[0].contains("`fire`"));
    let mut typo = good.clone();
    typo.push(("lon", "120.0"));
    assert!(post_form(&t, "requests.json", &typo).await.errors(400)[0].contains("`lon`"));
    assert_eq!(t.store.count_cases().await.unwrap(), 0, "nothing refused was stored");

    // A good post: 200, the case reference as service_request_id.
    let r = post_form(&t, "requests.json", &good).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let posted = r.json();
    let id = posted[0]["service_request_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("330483-"), "{posted}");
    assert!(posted[0].get("token").is_none(), "id or token, never both");
    assert!(posted[0]["service_notice"].as_str().unwrap().contains(&id));

    // It is a case like any other: filed by the key's person, through the state machine.
    let case = t.get(Some("dispatcher"), &format!("/api/v1/cases/{id}")).await.ok().clone();
    assert_eq!(case["case"]["grid"], GRID1);
    assert_eq!(case["case"]["source"], "resident");
    assert_eq!(case["case"]["suggested_category"], MANHOLE);
    assert_eq!(
        case["timeline"][0]["data"]["exchange"]["attributes"],
        json!({ "depth": 1.5, "hazards": ["traffic", "night"] })
    );
    let case_id = case["case"]["id"].as_i64().unwrap();
    assert_eq!(t.get(Some("resident"), "/api/v1/cases").await.ok()["items"][0]["id"], case_id);

    // Read back. Not yet accepted: anyone sees only its status; the key's person sees it whole.
    let bare = get(&t, &format!("requests/{id}.json")).await.json();
    assert_eq!(bare[0]["status"], "open");
    assert_eq!(bare[0]["service_code"], "C0101");
    assert!(bare[0].get("description").is_none(), "{bare}");
    let whole = get(&t, &format!("requests/{id}.json?api_key={key}")).await.json();
    assert_eq!(whole[0]["description"], "井盖塌陷 the manhole cover has caved in");
    assert_eq!(whole[0]["lat"], 30.005);
    assert_eq!(whole[0]["long"], 120.005);
    assert!(!whole.to_string().contains("13812341234") && !whole.to_string().contains("王"), "no personal data");
    get(&t, "requests/330483-2026-999999.json").await.errors(404);
    get(&t, "requests/330483-2026-999999.xml").await.errors(404);

    // Accepted into a public category: anyone sees it whole, with its history as notes.
    t.act("dispatcher", case_id, "accept", json!({ "category": MANHOLE, "urgency": "urgent", "note": "已核实" })).await;
    t.act("dispatcher", case_id, "note", json!({ "text": "内部备注 internal" })).await;
    let v = get(&t, &format!("requests/{id}.json?extensions=true")).await.json();
    let r0 = &v[0];
    assert_eq!(r0["description"], "井盖塌陷 the manhole cover has caved in");
    assert_eq!(r0["status_notes"], "已核实");
    assert_eq!(r0["attributes"]["depth"], 1.5);
    assert_eq!(r0["extended_attributes"]["extended_status"], "investigating");
    let notes: Vec<&str> = r0["notes"].as_array().unwrap().iter().map(|n| n["type"].as_str().unwrap()).collect();
    assert_eq!(notes, ["report", "accept"], "internal notes stay internal");
    assert!(r0["requested_datetime"].as_str().unwrap().ends_with('Z'));
    let xml = get(&t, &format!("requests/{id}.xml?extensions=true")).await;
    assert!(xml.text.contains("<service_requests><request>"), "{}", xml.text);
    assert!(xml.text.contains(&format!("<service_request_id>{id}</service_request_id>")), "{}", xml.text);
    assert!(xml.text.contains("<notes><note>"), "{}", xml.text);

    // Queries: by code, status, date window (at most 90 days), id list; empty parameters are absent.
    let other = t.report(Some("resident"), IN_GRID2, Some(STREET_LIGHT)).await["case"]["reference"]
        .as_str()
        .unwrap()
        .to_string();
    let ids = |v: Value| -> Vec<String> {
        v.as_array().unwrap().iter().map(|r| r["service_request_id"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(ids(get(&t, "requests.json").await.json()), [other.clone(), id.clone()]);
    assert_eq!(ids(get(&t, "requests.json?service_code=C0101").await.json()), std::slice::from_ref(&id));
    assert_eq!(ids(get(&t, "requests.json?service_code=C0101,C0102&status=").await.json()).len(), 2);
    assert_eq!(ids(get(&t, "requests.json?service_code=C01").await.json()).len(), 2, "a class stands for its services");
    assert!(ids(get(&t, "requests.json?status=closed").await.json()).is_empty());
    assert_eq!(ids(get(&t, "requests.json?status=open,closed").await.json()).len(), 2);
    assert!(ids(get(&t, "requests.json?start_date=2020-01-01T00:00:00Z&end_date=2020-03-01T00:00:00%2B08:00")
        .await
        .json())
    .is_empty());
    get(&t, "requests.json?start_date=2020-01-01T00:00:00Z&end_date=2020-06-01T00:00:00Z").await.errors(400);
    get(&t, "requests.json?start_date=yesterday").await.errors(400);
    get(&t, "requests.json?status=pending").await.errors(400);
    get(&t, "requests.json?service_code=NOPE").await.errors(404);
    let both = format!("requests.json?service_request_id={id},{other}&status=closed");
    assert_eq!(ids(get(&t, &both).await.json()).len(), 2, "service_request_id overrides every other filter");
    assert_eq!(ids(get(&t, "requests.json?page_size=1").await.json()), std::slice::from_ref(&other));
    assert_eq!(ids(get(&t, "requests.json?page_size=1&page=2").await.json()), std::slice::from_ref(&id));
    get(&t, "requests.json?page_size=1001").await.errors(400);
    get(&t, "requests.json?page=0").await.errors(400);
    let xml = get(&t, "requests.xml").await.text;
    assert_eq!(xml.matches("<request>").count(), 2, "{xml}");
}

#[tokio::test]
async fn open311_tokens_and_multipart_media() {
    let t = TestApp::spawn().await;
    let key = key(&t, "hotline", "dispatcher", Respond::Token).await;
    let form = reqwest::multipart::Form::new()
        .text("api_key", key.clone())
        .text("service_code", "C0102")
        .text("address_string", "西栅大街 18 号")
        .text("media_url", "https://example.org/photo.jpg")
        .part("media", jpeg_part(jpeg(64, 48)));
    let r = raw(t.client.post(format!("{}/open311/v2/requests.json", t.base)).multipart(form)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let posted = r.json();
    assert!(posted[0].get("service_request_id").is_none(), "id or token, never both: {posted}");
    let token = posted[0]["token"].as_str().unwrap().to_string();

    let found = get(&t, &format!("tokens/{token}.json")).await.json();
    assert_eq!(found[0]["token"], token);
    let id = found[0]["service_request_id"].as_str().unwrap().to_string();
    get(&t, "tokens/unknown-token.json").await.errors(404);
    let xml = get(&t, &format!("tokens/{token}.xml")).await.text;
    assert!(xml.contains(&format!("<service_request_id>{id}</service_request_id><token>{token}</token>")), "{xml}");

    // Filed by the linkage center's key: an exchange case, outside every grid (address only),
    // the uploaded photo attached and served as the media_url.
    let case = t.get(Some("dispatcher"), &format!("/api/v1/cases/{id}")).await.ok().clone();
    assert_eq!(case["case"]["source"], "exchange");
    assert_eq!(case["media"].as_array().unwrap().len(), 1);
    let whole = get(&t, &format!("requests/{id}.json?api_key={key}")).await.json();
    let media = whole[0]["media_url"].as_str().unwrap();
    assert!(media.starts_with(&format!("{}/api/v1/media/", t.base)), "{media}");
    let photo = t.client.get(media).bearer_auth("dispatcher-token").send().await.unwrap();
    assert_eq!(photo.headers()["content-type"], "image/jpeg");
    // The tracking code is the token: the reporter's own view works with it too.
    t.get(None, &format!("/api/v1/track/{token}")).await.ok();
}

#[tokio::test]
async fn open311_service_request_updates_both_ways() {
    let t = TestApp::spawn().await;
    let staff_key = key(&t, "works-system", "staff", Respond::Id).await;
    let outsider_key = key(&t, "other-district", "outsider", Respond::Id).await;
    let case_id = t.report(Some("resident"), IN_GRID1, Some(MANHOLE)).await["case"]["id"].as_i64().unwrap();
    t.act("dispatcher", case_id, "accept", json!({ "category": MANHOLE, "urgency": "urgent" })).await;
    let dispatched = t.act("dispatcher", case_id, "dispatch", json!({ "lead_department": CITY_MGMT })).await;
    let id = dispatched["reference"].as_str().unwrap().to_string();

    let update = |update_id: &'static str, status: &'static str, description: &'static str| {
        vec![
            ("service_request_id", id.clone()),
            ("update_id", update_id.to_string()),
            ("status", status.to_string()),
            ("updated_datetime", "2026-11-22T08:00:00+08:00".to_string()),
            ("description", description.to_string()),
        ]
    };
    let send = |key: &str, fields: Vec<(&'static str, String)>| {
        let mut form: Vec<(&str, String)> = vec![("api_key", key.to_string())];
        form.extend(fields);
        t.client.post(format!("{}/open311/v2/servicerequestupdates.json", t.base)).form(&form)
    };

    // The department's system signs for the case: in_progress on a dispatched case is `sign`.
    let r = raw(send(&staff_key, update("u-1", "in_progress", "crew on the way"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()[0]["update_id"], format!("{id}.4"));
    // The same update again changes nothing and answers the same.
    let again = raw(send(&staff_key, update("u-1", "in_progress", "crew on the way"))).await;
    assert_eq!(again.json()[0]["update_id"], format!("{id}.4"));
    assert_eq!(t.timeline(case_id).await, ["report", "accept", "dispatch", "sign"]);
    let sign = &t.detail("dispatcher", case_id).await["timeline"][3];
    assert_eq!(sign["data"]["exchange"]["update_id"].as_str().unwrap().split_once(':').unwrap().1, "u-1");

    // The state machine still decides: a result needs evidence; another district's key sees nothing.
    raw(send(&staff_key, update("u-2", "fixed", "replaced the cover"))).await.errors(400);
    raw(send(&outsider_key, update("u-9", "in_progress", "x"))).await.errors(404);
    raw(send("nope", update("u-9", "in_progress", "x"))).await.errors(403);
    raw(send(&staff_key, update("u-3", "sideways", "x"))).await.errors(400);
    // With a photo (multipart `media`) the fix is accepted.
    let mut form = reqwest::multipart::Form::new().text("api_key", staff_key.clone());
    for (k, v) in update("u-2", "fixed", "replaced the cover") {
        form = form.text(k, v);
    }
    form = form.part("media", jpeg_part(jpeg(32, 32)));
    let r = raw(t.client.post(format!("{}/open311/v2/servicerequestupdates", t.base)).multipart(form)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains(&format!("<update_id>{id}.5</update_id>")), "no extension: XML; {}", r.text);
    assert_eq!(t.detail("dispatcher", case_id).await["case"]["state"], "resolved");

    // Outward: every public step as an update, with mySociety's extended statuses.
    let out = get(&t, "servicerequestupdates.json").await.json();
    let statuses: Vec<(&str, &str)> = out
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["status"].as_str().unwrap(), u["external_status_code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("open", "open"),
            ("open", "investigating"),
            ("open", "action_scheduled"),
            ("open", "in_progress"),
            ("open", "in_progress")
        ]
    );
    assert_eq!(out[4]["description"], "replaced the cover");
    assert!(out[4]["media_url"].as_str().unwrap().contains("/api/v1/media/"));
    let none =
        get(&t, "servicerequestupdates.json?start_date=2020-01-01T00:00:00Z&end_date=2020-01-02T00:00:00Z").await;
    assert!(none.json().as_array().unwrap().is_empty());
    get(&t, "servicerequestupdates.json?start_date=2020-01-01T00:00:00Z&end_date=2021-01-02T00:00:00Z")
        .await
        .errors(400);
}

/// The check: an independent client library drives the live server, in JSON and XML.
#[tokio::test]
async fn open311_independent_client_library() {
    let t = TestApp::spawn().await;
    define_attributes(&t).await;
    let key = key(&t, "python-client", "dispatcher", Respond::Token).await;
    // A closed request of the service, for the client's status=closed query.
    let id = t.in_progress_case().await;
    let evidence = t.upload_photo(Some("staff")).await;
    t.act("staff", id, "submit_result", json!({ "note": "已更换井盖", "evidence": [evidence] })).await;
    t.act("member", id, "verify", json!({ "passed": true })).await;
    t.act("dispatcher", id, "close", json!({})).await;

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/open311-client");
    let out = tokio::process::Command::new(script)
        .args([t.base.as_str(), key.as_str(), "C0101"])
        .output()
        .await
        .expect("scripts/open311-client runs");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the client failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    // Both formats posted a request through the library's session: two new cases.
    assert_eq!(t.store.count_cases().await.unwrap(), 3);
}
