//! Real answers of the server checked against the schemas of its own OpenAPI document: a sample of
//! endpoints (cases, people, regions, measures, tracking, the public map, administration, errors)
//! answers exactly what `/api/v1/openapi.json` says, every field documented, every documented
//! required field present, every value of its documented type. A small checker of the part of
//! JSON Schema the document uses (`$ref`, `allOf`, `oneOf`, `type`, `required`, `properties`,
//! `items`, `enum`); it also refuses a field the schema does not list, so a renamed or added
//! field fails here until the document says so.

use serde_json::{json, Map, Value};

use crate::common::*;

/// The document's schemas and the checks of answers against them.
pub(crate) struct Schemas {
    doc: Value,
}

impl Schemas {
    pub(crate) async fn of(app: &TestApp) -> Self {
        let doc = app.get(None, "/api/v1/openapi.json").await.ok().clone();
        Schemas { doc }
    }

    fn components(&self) -> &Map<String, Value> {
        self.doc["components"]["schemas"].as_object().expect("schemas")
    }

    fn resolve<'a>(&'a self, s: &'a Value) -> &'a Value {
        match s.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("reference {r}"));
                self.resolve(self.components().get(name).unwrap_or_else(|| panic!("no schema {name}")))
            }
            None => s,
        }
    }

    /// The properties an object may have: its own and those of every part of an `allOf`.
    fn properties<'a>(&'a self, s: &'a Value, out: &mut Vec<&'a str>) {
        let s = self.resolve(s);
        if let Some(p) = s.get("properties").and_then(Value::as_object) {
            out.extend(p.keys().map(String::as_str));
        }
        for part in s.get("allOf").and_then(Value::as_array).into_iter().flatten() {
            self.properties(part, out);
        }
    }

    /// Whether `s` describes an object whose fields are listed (not a free-form object).
    fn lists_fields(&self, s: &Value) -> bool {
        let s = self.resolve(s);
        s.get("properties").is_some()
            || s.get("allOf").and_then(Value::as_array).is_some_and(|a| a.iter().any(|p| self.lists_fields(p)))
    }

    /// Every way `v` differs from `s`, with the JSON path.
    fn check(&self, s: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
        let s = self.resolve(s);
        if let Some(all) = s.get("allOf").and_then(Value::as_array) {
            for part in all {
                self.check_one(part, v, path, errors, false);
            }
            self.check_extra(s, v, path, errors);
            return;
        }
        self.check_one(s, v, path, errors, true);
    }

    fn check_extra(&self, s: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
        if let (true, Some(o)) = (self.lists_fields(s), v.as_object()) {
            let mut known = vec![];
            self.properties(s, &mut known);
            for k in o.keys() {
                if !known.contains(&k.as_str()) {
                    errors.push(format!("{path}.{k}: sent but not in the schema"));
                }
            }
        }
    }

    fn check_one(&self, s: &Value, v: &Value, path: &str, errors: &mut Vec<String>, extra: bool) {
        let s = self.resolve(s);
        if let Some(one) = s.get("oneOf").and_then(Value::as_array) {
            let fits = one.iter().filter(|o| {
                let mut e = vec![];
                self.check(o, v, path, &mut e);
                e.is_empty()
            });
            if fits.count() == 0 {
                errors.push(format!("{path}: fits none of {}", Value::from(one.clone())));
            }
            return;
        }
        if s.get("allOf").is_some() {
            return self.check(s, v, path, errors);
        }
        if let Some(e) = s.get("enum").and_then(Value::as_array) {
            if !e.contains(v) {
                errors.push(format!("{path}: {v} is not one of {}", Value::from(e.clone())));
            }
        }
        let types: Vec<&str> = match s.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if !types.is_empty() {
            let fits = types.iter().any(|t| match *t {
                "null" => v.is_null(),
                "boolean" => v.is_boolean(),
                "integer" => v.is_i64() || v.is_u64(),
                "number" => v.is_number(),
                "string" => v.is_string(),
                "array" => v.is_array(),
                "object" => v.is_object(),
                _ => true,
            });
            if !fits {
                errors.push(format!("{path}: {} is not {}", short(v), types.join(" or ")));
                return;
            }
        }
        if let (Some(items), Some(a)) = (s.get("items"), v.as_array()) {
            for (i, x) in a.iter().enumerate() {
                self.check(items, x, &format!("{path}[{i}]"), errors);
            }
        }
        if let Some(o) = v.as_object() {
            for r in s.get("required").and_then(Value::as_array).into_iter().flatten() {
                let r = r.as_str().unwrap_or_default();
                if !o.contains_key(r) {
                    errors.push(format!("{path}.{r}: required but not sent"));
                }
            }
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                for (k, p) in props {
                    if let Some(x) = o.get(k) {
                        self.check(p, x, &format!("{path}.{k}"), errors);
                    }
                }
            }
            if extra {
                self.check_extra(s, v, path, errors);
            }
        }
    }

    /// The schema of the answer `status` of `method template` in `content_type`.
    fn answer(&self, method: &str, template: &str, status: u16, content_type: &str) -> &Value {
        let op = &self.doc["paths"][template][method];
        assert!(op.is_object(), "{method} {template} is not documented");
        let r = &op["responses"][status.to_string()];
        assert!(r.is_object(), "{method} {template} does not document the answer {status}");
        let s = &r["content"][content_type]["schema"];
        assert!(s.is_object(), "{method} {template} {status}: no schema for {content_type}");
        s
    }

    /// The differences between a real answer and its documented schema.
    fn errors(&self, method: &str, template: &str, r: &Resp) -> Vec<String> {
        let ct = r.content_type.split(';').next().unwrap_or_default();
        let s = self.answer(method, template, r.status.as_u16(), ct);
        let mut errors = vec![];
        self.check(s, &r.body, "$", &mut errors);
        errors
    }

    /// Asserts that the answer is what the document says.
    #[track_caller]
    pub(crate) fn assert(&self, method: &str, template: &str, r: &Resp) {
        let errors = self.errors(method, template, r);
        assert!(errors.is_empty(), "{method} {template} {}: {errors:#?}\n{}", r.status, r.body);
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 80 {
        format!("{}…", &s[..s.char_indices().nth(80).map(|(i, _)| i).unwrap_or(s.len())])
    } else {
        s
    }
}

#[tokio::test]
async fn answers_match_the_documented_schemas() {
    let app = TestApp::spawn().await;
    let s = Schemas::of(&app).await;

    // A case reported with a photo, handled to the end, rated; and one rejected as its duplicate.
    let photo = app.upload_photo(Some("resident")).await;
    let r = app
        .post(
            Some("resident"),
            "/api/v1/cases",
            json!({ "description": "井盖破损 broken manhole cover", "lat": IN_GRID1.0, "lon": IN_GRID1.1,
                    "category": MANHOLE, "photos": [photo], "contact_name": "王小明", "contact_phone": "13912345678" }),
        )
        .await;
    s.assert("post", "/cases", &r);
    let id = id_of(&r.body["case"]);
    let tracking = r.body["tracking_code"].as_str().unwrap().to_string();
    let reference = r.body["case"]["reference"].as_str().unwrap().to_string();
    let dup = app.report(Some("resident2"), IN_GRID1, Some(MANHOLE)).await;
    s.assert(
        "get",
        "/cases/{key}/possible-duplicates",
        &app.get(Some("dispatcher"), &format!("/api/v1/cases/{id}/possible-duplicates")).await,
    );
    s.assert(
        "get",
        "/cases/{key}/possible-duplicates",
        &app.get(Some("resident"), &format!("/api/v1/cases/{id}/possible-duplicates")).await,
    );
    let near = format!("/api/v1/duplicates?lat={}&lon={}&category={MANHOLE}", IN_GRID1.0, IN_GRID1.1);
    s.assert("get", "/duplicates", &app.get(None, &near).await);
    s.assert("get", "/duplicates", &app.get(Some("dispatcher"), &near).await);
    app.act("dispatcher", id, "accept", json!({ "category": MANHOLE, "urgency": "urgent" })).await;
    let r = app
        .post(
            Some("dispatcher"),
            &format!("/api/v1/cases/{id}/actions/dispatch"),
            json!({ "lead_department": CITY_MGMT }),
        )
        .await;
    s.assert("post", "/cases/{key}/actions/{action}", &r);
    app.act("dispatcher", id_of(&dup["case"]), "reject", json!({ "reason": "duplicate", "duplicate_of": id })).await;
    app.act("staff", id, "sign", json!({})).await;
    let evidence = app.upload_photo(Some("staff")).await;
    app.act("staff", id, "submit_result", json!({ "note": "已更换", "evidence": [evidence] })).await;
    app.act("member", id, "verify", json!({ "passed": true })).await;
    app.act("dispatcher", id, "close", json!({ "note": "结案" })).await;
    let r = app.post(None, &format!("/api/v1/track/{tracking}/rate"), json!({ "score": 5 })).await;
    s.assert("post", "/track/{code}/rate", &r);

    // Reading cases, as staff and as the reporter.
    for who in ["dispatcher", "resident", "staff", "admin"] {
        s.assert("get", "/cases/{key}", &app.get(Some(who), &format!("/api/v1/cases/{id}")).await);
        s.assert("get", "/cases", &app.get(Some(who), "/api/v1/cases?limit=5").await);
    }
    s.assert("get", "/cases", &app.get(Some("dispatcher"), "/api/v1/cases?attention=true&sort=deadline").await);
    s.assert("get", "/track/{code}", &app.get(None, &format!("/api/v1/track/{tracking}")).await);
    s.assert("get", "/public/cases/{reference}", &app.get(None, &format!("/api/v1/public/cases/{reference}")).await);
    s.assert("get", "/public/cases", &app.get(None, "/api/v1/public/cases?bbox=120.0,30.0,120.03,30.01").await);
    let r = app.post(Some("dispatcher"), &format!("/api/v1/cases/{id}/reveal"), json!({})).await;
    s.assert("post", "/cases/{key}/reveal", &r);

    // The hotline entry: a call taken, another attached, the caller looked up (masked, revealed).
    let r = app
        .post(
            Some("dispatcher"),
            "/api/v1/hotline/calls",
            json!({ "phone": "13912345678", "name": "王小明", "description": "路灯不亮", "lat": IN_GRID1.0, "lon": IN_GRID1.1, "category": STREET_LIGHT }),
        )
        .await;
    s.assert("post", "/hotline/calls", &r);
    let call = id_of(&r.body["case"]);
    let r = app
        .post(
            Some("dispatcher"),
            &format!("/api/v1/cases/{call}/callers"),
            json!({ "phone": "13912340000", "name": "李" }),
        )
        .await;
    s.assert("post", "/cases/{key}/callers", &r);
    let r = app
        .post(
            Some("dispatcher"),
            &format!("/api/v1/cases/{call}/callers"),
            json!({ "phone": "13912340000", "version": 1 }),
        )
        .await;
    s.assert("post", "/cases/{key}/callers", &r);
    for q in ["", "&reveal=true"] {
        let r = app.get(Some("dispatcher"), &format!("/api/v1/hotline/callers?phone=13912345678{q}")).await;
        s.assert("get", "/hotline/callers", &r);
    }
    s.assert("get", "/hotline/callers", &app.get(Some("dispatcher"), "/api/v1/hotline/callers?phone=1").await);
    s.assert("get", "/hotline/callers", &app.get(Some("staff"), "/api/v1/hotline/callers?phone=13912345678").await);

    // Points and rewards: the resident's verified report earned; a reward redeemed, handed over;
    // the rules, a leaderboard, the flows, a commendation; refusals.
    let resident = app.store.person_by_login("resident").await.unwrap().unwrap().id;
    let member = app.store.person_by_login("member").await.unwrap().unwrap().id;
    s.assert("get", "/me/points", &app.get(Some("resident"), "/api/v1/me/points").await);
    s.assert("get", "/points/rules", &app.get(Some("resident"), "/api/v1/points/rules").await);
    let award = json!({ "region": GRID1, "award": { "kind": "volunteer_hours", "hours": 2, "note": "清扫" } });
    s.assert(
        "post",
        "/people/{id}/points",
        &app.post(Some("member"), &format!("/api/v1/people/{resident}/points"), award).await,
    );
    let reward = json!({ "region": "330483101001", "name": "环保袋", "name_en": "Tote bag", "cost": 5, "stock": 1 });
    let r = app.post(Some("admin"), "/api/v1/rewards", reward).await;
    s.assert("post", "/rewards", &r);
    let item = r.body["id"].as_i64().unwrap();
    s.assert("get", "/rewards", &app.get(Some("resident"), "/api/v1/rewards").await);
    let r = app.post(Some("resident"), &format!("/api/v1/rewards/{item}/redeem"), json!({})).await;
    s.assert("post", "/rewards/{id}/redeem", &r);
    let redemption = r.body["id"].as_i64().unwrap();
    s.assert(
        "post",
        "/rewards/{id}/redeem",
        &app.post(Some("resident"), &format!("/api/v1/rewards/{item}/redeem"), json!({})).await,
    );
    s.assert("get", "/me/redemptions", &app.get(Some("resident"), "/api/v1/me/redemptions").await);
    s.assert("get", "/redemptions", &app.get(Some("member"), "/api/v1/redemptions").await);
    let r = app
        .post(Some("member"), &format!("/api/v1/redemptions/{redemption}/hand-over"), json!({ "note": "已领取" }))
        .await;
    s.assert("post", "/redemptions/{id}/hand-over", &r);
    s.assert(
        "post",
        "/redemptions/{id}/cancel",
        &app.post(Some("resident"), &format!("/api/v1/redemptions/{redemption}/cancel"), json!({})).await,
    );
    s.assert(
        "get",
        "/points/leaderboard",
        &app.get(Some("resident2"), &format!("/api/v1/points/leaderboard?region={GRID1}")).await,
    );
    s.assert(
        "get",
        "/points/flows",
        &app.get(Some("supervisor"), "/api/v1/points/flows?from=2020-01-01T00:00:00Z&to=2100-01-01T00:00:00Z").await,
    );
    let r = app
        .post(
            Some("leader"),
            &format!("/api/v1/people/{member}/commendations"),
            json!({ "region": GRID1, "text": "认真负责" }),
        )
        .await;
    s.assert("post", "/people/{id}/commendations", &r);
    s.assert(
        "get",
        "/people/{id}/commendations",
        &app.get(Some("member"), &format!("/api/v1/people/{member}/commendations")).await,
    );

    // Teams (五支队伍): a team, its members, service hours, the measures.
    let r = app.post(Some("leader"), "/api/v1/teams", json!({ "kind": "volunteers", "region": "330483101001" })).await;
    s.assert("post", "/teams", &r);
    let team = id_of(&r.body);
    s.assert("get", "/teams", &app.get(Some("leader"), "/api/v1/teams?region=330483101001").await);
    s.assert("get", "/teams/{id}", &app.get(Some("leader"), &format!("/api/v1/teams/{team}")).await);
    let r = app
        .post(
            Some("leader"),
            &format!("/api/v1/teams/{team}/members"),
            json!({ "login": "resident2", "duties": ["patrol"] }),
        )
        .await;
    s.assert("post", "/teams/{id}/members", &r);
    let date =
        gridkeeper_domain::teams::local_date(chrono::Utc::now().timestamp_millis()).format("%Y-%m-%d").to_string();
    let r = app
        .post(
            Some("resident2"),
            "/api/v1/me/service",
            json!({ "team": team, "date": date, "hours": 2, "what": "巡逻" }),
        )
        .await;
    s.assert("post", "/me/service", &r);
    let log = id_of(&r.body);
    s.assert(
        "get",
        "/teams/{id}/service-logs",
        &app.get(Some("leader"), &format!("/api/v1/teams/{team}/service-logs")).await,
    );
    s.assert(
        "post",
        "/service-logs/{id}/confirm",
        &app.post(Some("leader"), &format!("/api/v1/service-logs/{log}/confirm"), json!({})).await,
    );
    s.assert("get", "/me/service", &app.get(Some("resident2"), "/api/v1/me/service").await);
    let month = &date[..7];
    let r =
        app.get(Some("leader"), &format!("/api/v1/teams/measures?region=330483101001&from={month}&to={month}")).await;
    s.assert("get", "/teams/measures", &r);
    // Patrols: started, a batch of positions (one far outside), the track, the end, the lists
    // and the quotas; refusals.
    let r = app.post(Some("member"), "/api/v1/patrols", json!({ "grid": GRID1 })).await;
    s.assert("post", "/patrols", &r);
    let patrol = r.body["id"].as_i64().unwrap();
    let at = |ms: i64| gridkeeper_domain::time::to_rfc3339(chrono::Utc::now().timestamp_millis() - ms);
    let batch = json!({ "positions": [
        { "at": at(120_000), "lat": IN_GRID1.0, "lon": IN_GRID1.1, "accuracy": 5 },
        { "at": at(60_000), "lat": 29.99, "lon": IN_GRID1.1, "accuracy": 12.5 },
    ] });
    let r = app.post(Some("member"), &format!("/api/v1/patrols/{patrol}/positions"), batch).await;
    s.assert("post", "/patrols/{id}/positions", &r);
    s.assert("get", "/patrols/{id}", &app.get(Some("leader"), &format!("/api/v1/patrols/{patrol}")).await);
    s.assert("get", "/patrols", &app.get(Some("member"), "/api/v1/patrols").await);
    s.assert("get", "/patrols", &app.get(Some("leader"), "/api/v1/patrols?region=330483101001&running=true").await);
    s.assert(
        "post",
        "/patrols/{id}/end",
        &app.post(Some("member"), &format!("/api/v1/patrols/{patrol}/end"), json!({})).await,
    );
    let r = app.post(Some("member"), &format!("/api/v1/patrols/{patrol}/end"), json!({})).await;
    r.problem(409, Some("patrol"));
    s.assert("post", "/patrols/{id}/end", &r);
    let r = app.post(Some("member"), "/api/v1/patrols", json!({ "grid": GRID2 })).await;
    r.problem(422, Some("grid"));
    s.assert("post", "/patrols", &r);
    s.assert("get", "/patrols/quota", &app.get(Some("member"), "/api/v1/patrols/quota?month=2026-12").await);
    s.assert("get", "/patrols/quotas", &app.get(Some("leader"), "/api/v1/patrols/quotas?region=330483101001").await);
    let r = app
        .send_raw(
            Some("leader"),
            app.client
                .put(format!("{}/api/v1/patrols/quotas/330483101001", app.base))
                .json(&json!({ "hours": 30, "visits": 50 })),
        )
        .await;
    s.assert("put", "/patrols/quotas/{region}", &r);
    // Measures of field work.
    for by in ["grid", "person", "team"] {
        let url = format!("/api/v1/field-work/measures?region=330483101001&by={by}&from=2026-11-01T00:00:00%2B08:00&to=2026-12-31T00:00:00%2B08:00");
        s.assert("get", "/field-work/measures", &app.get(Some("leader"), &url).await);
    }
    let r = app.get(Some("leader"), "/api/v1/field-work/measures?region=330483101001&from=2026-11-01T00:00:00Z").await;
    r.problem(422, Some("to"));
    s.assert("get", "/field-work/measures", &r);

    // People and reference data.
    for who in ["resident", "dispatcher", "admin"] {
        s.assert("get", "/me", &app.get(Some(who), "/api/v1/me").await);
    }
    s.assert("get", "/regions", &app.get(None, "/api/v1/regions").await);
    s.assert("get", "/regions", &app.get(None, "/api/v1/regions?level=grid&geometry=true").await);
    s.assert("get", "/platforms", &app.get(None, "/api/v1/platforms").await);
    s.assert("get", "/departments", &app.get(None, "/api/v1/departments").await);
    s.assert("get", "/categories", &app.get(None, "/api/v1/categories").await);
    s.assert("get", "/calendars/{district}", &app.get(Some("dispatcher"), "/api/v1/calendars/330483").await);
    for who in [None, Some("dispatcher")] {
        let r = app.get(who, &format!("/api/v1/locate?lat={}&lon={}", IN_GRID1.0, IN_GRID1.1)).await;
        s.assert("get", "/locate", &r);
    }
    s.assert("get", "/locate", &app.get(None, &format!("/api/v1/locate?lat={}&lon={}", OUTSIDE.0, OUTSIDE.1)).await);

    // Measures and assessment.
    let period = "from=2020-01-01T00:00:00%2B08:00&to=2040-01-01T00:00:00%2B08:00";
    s.assert("get", "/measures", &app.get(Some("supervisor"), &format!("/api/v1/measures?{period}")).await);
    for kind in ["department", "grid", "grid_member"] {
        let r = app.get(Some("supervisor"), &format!("/api/v1/assessment?kind={kind}&{period}")).await;
        s.assert("get", "/assessment", &r);
    }

    // Administration and its lists.
    s.assert("get", "/admin/people", &app.get(Some("admin"), "/api/v1/admin/people?limit=3").await);
    let r = app
        .post(
            Some("admin"),
            "/api/v1/admin/people",
            json!({ "login": "clerk", "name": "张三", "grants": [{ "role": "dispatcher", "scope": "region:330483" }] }),
        )
        .await;
    s.assert("post", "/admin/people", &r);
    let clerk = id_of(&r.body["person"]);
    let r = app
        .post(
            Some("admin"),
            &format!("/api/v1/admin/people/{clerk}/grants"),
            json!({ "role": "analyst", "scope": "region:330483" }),
        )
        .await;
    s.assert("post", "/admin/people/{id}/grants", &r);
    s.assert(
        "post",
        "/admin/people/{id}/disable",
        &app.post(Some("admin"), &format!("/api/v1/admin/people/{clerk}/disable"), json!({})).await,
    );
    s.assert("get", "/audit", &app.get(Some("auditor"), "/api/v1/audit?limit=5").await);
    s.assert("get", "/assignments", &app.get(Some("admin"), "/api/v1/assignments").await);
    s.assert("get", "/responsibility/gaps", &app.get(Some("admin"), "/api/v1/responsibility/gaps?under=330483").await);
    s.assert("get", "/regions/imports", &app.get(Some("admin"), "/api/v1/regions/imports").await);
    s.assert("get", "/regions/{code}/history", &app.get(None, &format!("/api/v1/regions/{GRID1}/history")).await);
    s.assert("get", "/regions/validate", &app.get(Some("admin"), "/api/v1/regions/validate?under=330483").await);
    s.assert("get", "/webhooks", &app.get(Some("admin"), "/api/v1/webhooks").await);
    s.assert("get", "/webhooks/dead-letters", &app.get(Some("admin"), "/api/v1/webhooks/dead-letters").await);
    s.assert(
        "get",
        "/categories/{id}/attributes",
        &app.get(None, &format!("/api/v1/categories/{MANHOLE}/attributes")).await,
    );

    // Refusals: problem+json, with a field, without one, with the case as it is now.
    let r = app.get(Some("dispatcher"), "/api/v1/cases?limit=x").await;
    r.problem(422, Some("limit"));
    s.assert("get", "/cases", &r);
    let r = app.get(Some("dispatcher"), "/api/v1/cases?bogus=1").await;
    r.problem(422, Some("bogus"));
    s.assert("get", "/cases", &r);
    let r = app.get(None, "/api/v1/cases").await;
    r.problem(401, None);
    s.assert("get", "/cases", &r);
    let r = app.get(Some("dispatcher"), "/api/v1/cases/999999").await;
    r.problem(404, None);
    s.assert("get", "/cases/{key}", &r);
    let r = app
        .post(
            Some("dispatcher"),
            &format!("/api/v1/cases/{id}/actions/accept"),
            json!({ "category": MANHOLE, "urgency": "urgent" }),
        )
        .await;
    assert_eq!(r.status, 409, "{r:?}");
    assert!(r.body["current"].is_object(), "{r:?}");
    s.assert("post", "/cases/{key}/actions/{action}", &r);

    // The checker finds a wrong answer: a field renamed, a type changed, a field left out.
    let detail = app.get(Some("dispatcher"), &format!("/api/v1/cases/{id}")).await;
    let mut wrong =
        Resp { status: detail.status, content_type: detail.content_type.clone(), body: detail.body.clone() };
    let state = wrong.body["case"]["state"].take();
    wrong.body["case"].as_object_mut().unwrap().remove("state");
    wrong.body["case"]["status"] = state;
    wrong.body["may_reveal"] = json!("yes");
    wrong.body.as_object_mut().unwrap().remove("timeline");
    let errors = s.errors("get", "/cases/{key}", &wrong);
    for expected in [
        "$.case.status: sent but not in the schema",
        "$.case.state: required but not sent",
        "$.may_reveal",
        "$.timeline: required",
    ] {
        assert!(errors.iter().any(|e| e.contains(expected)), "not found: {expected} in {errors:#?}");
    }
}
