//! The authorization matrix: every endpoint × every role, inside and outside its scope, against
//! the expected answer. Any loosened (or tightened) rule changes a cell and fails this test. The
//! matrix is rendered into docs/AUTHZ.md; `GRIDKEEPER_UPDATE_DOCS=1` rewrites it after a
//! deliberate change.

use serde_json::{json, Value};

use crate::common::*;

/// Who asks: a fixture login (or anonymous) and what that means for the test case.
const ACTORS: &[(&str, Option<&str>)] = &[
    ("anonymous", None),
    ("resident (reporter)", Some("resident")),
    ("resident (other)", Some("resident2")),
    ("grid member (its grid)", Some("member")),
    ("grid member (other grid)", Some("member3")),
    ("grid leader (its community)", Some("leader")),
    ("dispatcher (its district)", Some("dispatcher")),
    ("dispatcher (other district)", Some("outsider")),
    ("department (lead)", Some("staff")),
    ("department (co)", Some("power")),
    ("department (not involved)", Some("team")),
    ("supervisor", Some("supervisor")),
    ("auditor", Some("auditor")),
    ("admin", Some("admin")),
];

/// The state a case is brought to before the request.
#[derive(Clone, Copy)]
enum Prep {
    Reported,
    Accepted,
    Dispatched,
    InProgress,
    ExtensionAsked,
    Resolved,
    Verified,
    Closed,
}

/// Endpoint name, state, method, path after `/api/v1/cases/{id}` (or an absolute path), body.
fn endpoints(evidence: &str) -> Vec<(&'static str, Prep, &'static str, String, Value)> {
    let act = |a: &str| format!("/actions/{a}");
    vec![
        ("GET case", Prep::Dispatched, "GET", String::new(), Value::Null),
        ("GET cases (listed?)", Prep::Dispatched, "LIST", String::new(), Value::Null),
        ("reveal", Prep::Reported, "POST", "/reveal".into(), json!({})),
        ("note", Prep::Reported, "POST", act("note"), json!({ "text": "x" })),
        ("accept", Prep::Reported, "POST", act("accept"), json!({ "category": MANHOLE, "urgency": "routine" })),
        ("reject", Prep::Reported, "POST", act("reject"), json!({ "reason": "invalid", "note": "x" })),
        ("dispatch", Prep::Accepted, "POST", act("dispatch"), json!({ "lead_department": CITY_MGMT })),
        ("sign", Prep::Dispatched, "POST", act("sign"), json!({})),
        ("return", Prep::Dispatched, "POST", act("return"), json!({ "reason": "x" })),
        (
            "request_extension",
            Prep::InProgress,
            "POST",
            act("request_extension"),
            json!({ "until": "2099-01-01T00:00:00Z", "reason": "x" }),
        ),
        ("approve_extension", Prep::ExtensionAsked, "POST", act("approve_extension"), json!({})),
        ("deny_extension", Prep::ExtensionAsked, "POST", act("deny_extension"), json!({ "reason": "x" })),
        ("report_part", Prep::InProgress, "POST", act("report_part"), json!({ "note": "x" })),
        (
            "submit_result",
            Prep::InProgress,
            "POST",
            act("submit_result"),
            json!({ "note": "x", "evidence": [evidence] }),
        ),
        ("supervise", Prep::InProgress, "POST", act("supervise"), json!({ "note": "x" })),
        ("verify", Prep::Resolved, "POST", act("verify"), json!({ "passed": true })),
        ("close", Prep::Verified, "POST", act("close"), json!({})),
        ("rate", Prep::Closed, "POST", act("rate"), json!({ "score": 5 })),
        ("reopen", Prep::Closed, "POST", act("reopen"), json!({ "reason": "x" })),
        ("GET audit", Prep::Reported, "GET", "/api/v1/audit".into(), Value::Null),
        ("GET suggestions", Prep::Reported, "GET", "/suggestions".into(), Value::Null),
        ("fold a group", Prep::Reported, "FOLD", "/fold".into(), Value::Null),
        (
            "suggest (triage/suggest)",
            Prep::Reported,
            "POST",
            "/api/v1/triage/suggest".into(),
            json!({ "description": "井盖" }),
        ),
        ("GET triage/model", Prep::Reported, "GET", "/api/v1/triage/model".into(), Value::Null),
        ("retrain (POST triage/model)", Prep::Reported, "POST", "/api/v1/triage/model".into(), json!({})),
        ("GET triage/groups", Prep::Reported, "GET", "/api/v1/triage/groups".into(), Value::Null),
        ("GET triage/surges", Prep::Reported, "GET", "/api/v1/triage/surges".into(), Value::Null),
        (
            "GET hotline/callers",
            Prep::Reported,
            "GET",
            format!("/api/v1/hotline/callers?phone={}", phone_of("resident")),
            Value::Null,
        ),
        (
            "take a call (POST hotline/calls)",
            Prep::Reported,
            "POST",
            "/api/v1/hotline/calls".into(),
            json!({ "phone": "13912345678", "description": "井盖", "lat": IN_GRID1.0, "lon": IN_GRID1.1 }),
        ),
        ("attach a call (POST callers)", Prep::Reported, "POST", "/callers".into(), json!({ "phone": "13912345678" })),
        (
            "GET triage/accuracy",
            Prep::Reported,
            "GET",
            "/api/v1/triage/accuracy?from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z".into(),
            Value::Null,
        ),
        ("follow the case (POST follows)", Prep::Reported, "FOLLOW", "/api/v1/follows".into(), Value::Null),
        ("GET inbox", Prep::Reported, "GET", "/api/v1/inbox".into(), Value::Null),
        ("GET me/notices", Prep::Reported, "GET", "/api/v1/me/notices".into(), Value::Null),
        ("GET notices/templates", Prep::Reported, "GET", "/api/v1/notices/templates".into(), Value::Null),
        ("GET notices/undelivered", Prep::Reported, "GET", "/api/v1/notices/undelivered".into(), Value::Null),
    ]
}

async fn prepare(t: &TestApp, prep: Prep) -> i64 {
    let id = id_of(&t.report(Some("resident"), IN_GRID1, Some(MANHOLE)).await);
    let steps: &[(&str, &str, Value)] = &[
        ("dispatcher", "accept", json!({ "category": MANHOLE, "urgency": "routine" })),
        ("dispatcher", "dispatch", json!({ "lead_department": CITY_MGMT, "co_departments": [POWER] })),
        ("staff", "sign", json!({})),
        ("staff", "submit_result", Value::Null),
        ("member", "verify", json!({ "passed": true })),
        ("dispatcher", "close", json!({})),
    ];
    let n = match prep {
        Prep::Reported => 0,
        Prep::Accepted => 1,
        Prep::Dispatched => 2,
        Prep::InProgress | Prep::ExtensionAsked => 3,
        Prep::Resolved => 4,
        Prep::Verified => 5,
        Prep::Closed => 6,
    };
    for (who, action, body) in &steps[..n] {
        let body = if body.is_null() {
            json!({ "note": "done", "evidence": [t.upload_photo(None).await] })
        } else {
            body.clone()
        };
        t.act(who, id, action, body).await;
    }
    if let Prep::ExtensionAsked = prep {
        t.act("staff", id, "request_extension", json!({ "until": "2099-01-01T00:00:00Z", "reason": "parts" })).await;
    }
    id
}

async fn cell(t: &TestApp, login: Option<&str>, prep: Prep, method: &str, path: &str, body: &Value) -> String {
    let id = prepare(t, prep).await;
    let url = if path.starts_with("/api") { path.to_string() } else { format!("/api/v1/cases/{id}{path}") };
    match method {
        "GET" => t.get(login, &url).await.status.as_u16().to_string(),
        "LIST" => {
            let r = t.get(login, "/api/v1/cases?limit=200").await;
            if !r.status.is_success() {
                return r.status.as_u16().to_string();
            }
            let listed = r.body["items"].as_array().unwrap().iter().any(|c| c["id"] == id);
            (if listed { "listed" } else { "hidden" }).to_string()
        }
        "FOLD" => {
            // Another report of the same problem, linked to this one as its duplicate.
            let other = prepare(t, Prep::Reported).await;
            let body = json!({ "version": 1, "category": MANHOLE, "urgency": "routine", "duplicates": [{ "case": other.to_string(), "version": 1 }] });
            t.post(login, &url, body).await.status.as_u16().to_string()
        }
        "FOLLOW" => t.post(login, &url, json!({ "case": id.to_string() })).await.status.as_u16().to_string(),
        _ => t.post(login, &url, body.clone()).await.status.as_u16().to_string(),
    }
}

fn render(rows: &[(String, Vec<String>)]) -> String {
    let mut md = String::from(
        "# Authorization matrix\n\nGenerated by `crates/cli/tests/integration/authz.rs`, which fails when the \
         server's answers differ from this table. Each cell is the HTTP status for that person calling that \
         endpoint on a case reported by the resident in grid 330483101001001, brought to the state the \
         endpoint needs, led by department 1 with department 2 co-operating. `listed`/`hidden`: whether the \
         case appears in the person's case list. 404 means the case is outside the person's scope and its \
         existence is not revealed; 403 means they see it but may not do this; 401 means sign in first.\n\n",
    );
    md.push_str("| endpoint |");
    for (name, _) in ACTORS {
        md.push_str(&format!(" {name} |"));
    }
    md.push_str("\n|---|");
    md.push_str(&"---|".repeat(ACTORS.len()));
    md.push('\n');
    for (name, cells) in rows {
        md.push_str(&format!("| {name} | {} |\n", cells.join(" | ")));
    }
    md
}

#[tokio::test]
async fn every_endpoint_for_every_role_inside_and_outside_scope() {
    let t = TestApp::spawn().await;
    let evidence = t.upload_photo(None).await;
    let mut rows = vec![];
    for (name, prep, method, path, body) in endpoints(&evidence) {
        let mut cells = vec![];
        for (_, login) in ACTORS {
            let body = if name == "submit_result" {
                json!({ "note": "x", "evidence": [t.upload_photo(None).await] })
            } else {
                body.clone()
            };
            cells.push(cell(&t, *login, prep, method, &path, &body).await);
        }
        rows.push((name.to_string(), cells));
    }
    let mut rendered = render(&rows);
    rendered.push_str(&admin_matrix(&t).await);
    rendered.push_str(&participation_matrix(&t).await);
    rendered.push_str(&points_matrix(&t).await);
    rendered.push_str(&card_matrix(&t).await);
    rendered.push_str(&inspections_matrix(&t).await);
    rendered.push_str(&teams_matrix(&t).await);
    rendered.push_str(&patrols_matrix(&t).await);
    rendered.push_str(&campaigns_matrix(&t).await);
    rendered.push_str(&fieldwork_matrix(&t).await);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/AUTHZ.md");
    if std::env::var("GRIDKEEPER_UPDATE_DOCS").is_ok() {
        std::fs::write(path, &rendered).unwrap();
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    assert_eq!(rendered, expected, "the authorization matrix changed; review it and run with GRIDKEEPER_UPDATE_DOCS=1");
}

/// The administration's endpoints × the same people. Each cell asks for something new (a fresh
/// login or code) so that earlier cells do not decide later ones; giving or taking a role and
/// disabling are idempotent (200 with `changed: false` when nothing changes).
async fn admin_matrix(t: &TestApp) -> String {
    use gridkeeper_domain::Role;
    let holder = t.add_person("role_holder", &[(Role::GridMember, "region:330483101001001")]).await;
    let leaver = t.add_person("leaver", &[(Role::GridMember, "region:330483101001001")]).await;
    let dept = t
        .post(
            Some("admin"),
            "/api/v1/departments",
            json!({ "code": "AZ", "name": "甲", "name_en": "A", "platform_id": 1, "kind": "government" }),
        )
        .await
        .ok()["department"]["id"]
        .as_i64()
        .unwrap();
    let category = |code: &str| json!({ "code": code, "name": "乙", "name_en": "B", "kind": "component", "parent_id": COMPONENTS, "public": true, "deadlines": { "routine_hours": 48, "urgent_hours": 12, "emergency_hours": 2 } });
    let cat =
        t.post(Some("admin"), "/api/v1/categories", category("CZ")).await.ok()["category"]["id"].as_i64().unwrap();
    let rows: &[&str] = &[
        "GET admin/people",
        "create an account",
        "give a role",
        "take a role",
        "disable an account",
        "create a department",
        "change a department",
        "create a category",
        "change a category",
    ];
    let mut out = String::from(
        "\n## Administration\n\nThe same people (the admin holds its role for district 330483) managing accounts \
         and roles in grid 330483101001001 and the shared departments and categories. An admin of a street \
         manages only the people whose roles all lie in the street (others are 404) and may not change \
         departments or categories (403): `tests/integration/admin.rs`. Every change and its entry in the \
         audit log are written in one transaction.\n\n| endpoint |",
    );
    for (name, _) in ACTORS {
        out.push_str(&format!(" {name} |"));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(ACTORS.len()));
    out.push('\n');
    let mut n = 0;
    for row in rows {
        let mut cells = vec![];
        for (_, login) in ACTORS {
            n += 1;
            let role = json!({ "role": "grid_leader", "scope": "region:330483101001" });
            let r = match *row {
                "GET admin/people" => t.get(*login, "/api/v1/admin/people").await,
                "create an account" => {
                    let body = json!({ "login": format!("new{n}"), "name": "新人", "grants": [{ "role": "grid_member", "scope": "region:330483101001001" }] });
                    t.post(*login, "/api/v1/admin/people", body).await
                }
                "give a role" => t.post(*login, &format!("/api/v1/admin/people/{holder}/grants"), role).await,
                "take a role" => {
                    let url = format!(
                        "{}/api/v1/admin/people/{holder}/grants?role=grid_leader&scope=region:330483101001",
                        t.base
                    );
                    t.send_raw(*login, t.client.delete(url)).await
                }
                "disable an account" => {
                    t.post(*login, &format!("/api/v1/admin/people/{leaver}/disable"), json!({})).await
                }
                "create a department" => {
                    let body = json!({ "code": format!("D{n}"), "name": "丙", "name_en": "C", "platform_id": 1, "kind": "government" });
                    t.post(*login, "/api/v1/departments", body).await
                }
                "change a department" => {
                    let body =
                        json!({ "code": "AZ", "name": "甲", "name_en": "A", "platform_id": 1, "kind": "government" });
                    t.send_raw(*login, t.client.put(format!("{}/api/v1/departments/{dept}", t.base)).json(&body)).await
                }
                "create a category" => t.post(*login, "/api/v1/categories", category(&format!("C{n}"))).await,
                _ => {
                    t.send_raw(
                        *login,
                        t.client.put(format!("{}/api/v1/categories/{cat}", t.base)).json(&category("CZ")),
                    )
                    .await
                }
            };
            cells.push(r.status.as_u16().to_string());
        }
        out.push_str(&format!("| {row} | {} |\n", cells.join(" | ")));
    }
    out
}

/// Participation's endpoints × the same people: articles, consultations and proposals of the
/// community 330483101001 (grid 330483101001001 lies in it). Each cell that changes something
/// acts on something made for it, so that earlier cells do not decide later ones.
async fn participation_matrix(t: &TestApp) -> String {
    let community = "330483101001";
    let later = gridkeeper_domain::time::to_rfc3339(chrono::Utc::now().timestamp_millis() + 7 * 86_400_000);
    let article = |title: String| json!({ "region": community, "kind": "notice", "title": title, "body": "<p>x</p>" });
    let id = |r: &Resp| {
        r.body["id"]
            .as_i64()
            .or_else(|| r.body["article"]["id"].as_i64())
            .or_else(|| r.body["consultation"]["id"].as_i64())
            .unwrap()
    };
    let new_article = |n: usize| {
        let body = article(format!("a{n}"));
        async move { id(&t.post(Some("admin"), "/api/v1/articles", body).await) }
    };
    let new_proposal = |n: usize| async move {
        id(&t
            .post(
                Some("resident"),
                "/api/v1/proposals",
                json!({ "grid": GRID1, "title": format!("p{n}"), "body": "x" }),
            )
            .await)
    };
    let consultation = id(&t
        .post(
            Some("admin"),
            "/api/v1/consultations",
            json!({ "region": community, "kind": "rule", "title": "c", "body": "<p>x</p>", "closes_at": later }),
        )
        .await);
    let read_article = new_article(0).await;
    let native = id(&t
        .post(
            Some("admin"),
            "/api/v1/natives",
            json!({ "name": "乡贤", "home_region": community, "consent": { "name": "public" } }),
        )
        .await);
    let lead = id(&t
        .post(
            Some("admin"),
            &format!("/api/v1/natives/{native}/leads"),
            json!({ "kind": "proposal", "title": "t", "body": "b" }),
        )
        .await);
    let rows: &[&str] = &[
        "GET articles (a grid's feed)",
        "GET an article",
        "publish an article (POST articles)",
        "change an article (PUT)",
        "withdraw an article",
        "GET article reads",
        "GET regions/{community}/articles",
        "GET consultations (a grid's)",
        "GET a consultation",
        "open a consultation (POST consultations)",
        "vote (PUT consultations/{id}/vote)",
        "comment on a consultation",
        "hide a comment",
        "answer a consultation (still open)",
        "GET regions/{community}/consultations",
        "GET proposals (a grid's)",
        "GET a proposal",
        "propose (POST proposals)",
        "support a proposal",
        "answer a proposal",
        "withdraw a proposal (the resident's)",
        "GET me/proposals",
        "GET regions/{community}/proposals",
        "GET participation/figures (the community)",
        "GET natives (the directory)",
        "enter a native (POST natives)",
        "GET a native's leads",
        "follow a lead up",
        "invite a native to a consultation",
    ];
    let mut out = String::from(
        "\n## Participation\n\nThe same people and the articles, consultations and proposals of community \
         330483101001 (grid 330483101001001 lies in it; the resident made the proposals): reading is open to \
         everyone; residents take part; the community's grid leaders, the linkage center and admins publish and \
         answer there (`tests/integration/participation.rs`).\n\n| endpoint |",
    );
    for (name, _) in ACTORS {
        out.push_str(&format!(" {name} |"));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(ACTORS.len()));
    out.push('\n');
    let mut n = 0;
    for row in rows {
        let mut cells = vec![];
        for (_, login) in ACTORS {
            n += 1;
            let put = |path: String, body: Value| async move {
                t.send_raw(*login, t.client.put(format!("{}{path}", t.base)).json(&body)).await
            };
            let r = match *row {
                "GET articles (a grid's feed)" => t.get(*login, &format!("/api/v1/articles?grid={GRID1}")).await,
                "GET an article" => t.get(*login, &format!("/api/v1/articles/{read_article}")).await,
                "publish an article (POST articles)" => {
                    t.post(*login, "/api/v1/articles", article(format!("n{n}"))).await
                }
                "change an article (PUT)" => put(format!("/api/v1/articles/{read_article}"), article("x".into())).await,
                "withdraw an article" => {
                    let a = new_article(n).await;
                    t.post(*login, &format!("/api/v1/articles/{a}/withdraw"), json!({ "reason": "x" })).await
                }
                "GET article reads" => t.get(*login, &format!("/api/v1/articles/{read_article}/reads")).await,
                "GET regions/{community}/articles" => {
                    t.get(*login, &format!("/api/v1/regions/{community}/articles")).await
                }
                "GET consultations (a grid's)" => t.get(*login, &format!("/api/v1/consultations?grid={GRID1}")).await,
                "GET a consultation" => t.get(*login, &format!("/api/v1/consultations/{consultation}")).await,
                "open a consultation (POST consultations)" => {
                    let body = json!({ "region": community, "kind": "rule", "title": "c", "body": "<p>x</p>", "closes_at": later });
                    t.post(*login, "/api/v1/consultations", body).await
                }
                "vote (PUT consultations/{id}/vote)" => {
                    put(
                        format!("/api/v1/consultations/{consultation}/vote"),
                        json!({ "stance": "support", "grid": GRID1 }),
                    )
                    .await
                }
                "comment on a consultation" => {
                    let body = json!({ "body": "x", "grid": GRID1 });
                    t.post(*login, &format!("/api/v1/consultations/{consultation}/comments"), body).await
                }
                "hide a comment" => {
                    let body = json!({ "body": "x", "grid": GRID1 });
                    let m = id(&t
                        .post(Some("resident"), &format!("/api/v1/consultations/{consultation}/comments"), body)
                        .await);
                    let url = format!("/api/v1/consultations/{consultation}/comments/{m}/hide");
                    t.post(*login, &url, json!({ "reason": "x" })).await
                }
                "answer a consultation (still open)" => {
                    let url = format!("/api/v1/consultations/{consultation}/answer");
                    t.post(*login, &url, json!({ "summary": "s", "answer": "a" })).await
                }
                "GET regions/{community}/consultations" => {
                    t.get(*login, &format!("/api/v1/regions/{community}/consultations")).await
                }
                "GET proposals (a grid's)" => t.get(*login, &format!("/api/v1/proposals?grid={GRID1}")).await,
                "GET a proposal" => {
                    let p = new_proposal(n).await;
                    t.get(*login, &format!("/api/v1/proposals/{p}")).await
                }
                "propose (POST proposals)" => {
                    t.post(*login, "/api/v1/proposals", json!({ "grid": GRID1, "title": "p", "body": "x" })).await
                }
                "support a proposal" => {
                    let p = new_proposal(n).await;
                    t.post(*login, &format!("/api/v1/proposals/{p}/support"), json!({})).await
                }
                "answer a proposal" => {
                    let p = new_proposal(n).await;
                    t.post(
                        *login,
                        &format!("/api/v1/proposals/{p}/answer"),
                        json!({ "decision": "decline", "answer": "x" }),
                    )
                    .await
                }
                "withdraw a proposal (the resident's)" => {
                    let p = new_proposal(n).await;
                    t.post(*login, &format!("/api/v1/proposals/{p}/withdraw"), json!({})).await
                }
                "GET me/proposals" => t.get(*login, "/api/v1/me/proposals").await,
                "GET natives (the directory)" => t.get(*login, &format!("/api/v1/natives?region={community}")).await,
                "enter a native (POST natives)" => {
                    t.post(*login, "/api/v1/natives", json!({ "name": "n", "home_region": community })).await
                }
                "GET a native's leads" => t.get(*login, &format!("/api/v1/natives/{native}/leads")).await,
                "follow a lead up" => {
                    let url = format!("/api/v1/leads/{lead}/follow-up");
                    t.post(*login, &url, json!({ "note": "x", "status": "following" })).await
                }
                "invite a native to a consultation" => {
                    let url = format!("/api/v1/natives/{native}/invitations");
                    t.post(*login, &url, json!({ "consultation": consultation })).await
                }
                "GET participation/figures (the community)" => {
                    let url = format!("/api/v1/participation/figures?region={community}&from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z");
                    t.get(*login, &url).await
                }
                _ => t.get(*login, &format!("/api/v1/regions/{community}/proposals")).await,
            };
            cells.push(r.status.as_u16().to_string());
        }
        out.push_str(&format!("| {row} | {} |\n", cells.join(" | ")));
    }
    out
}

/// The endpoints of points and rewards × the same people. The resident holds points and redeems
/// afresh for each cell that hands over or cancels; the rewards are handed over in community
/// 330483101001 (grid 330483101001001's); volunteer hours are recorded for the other resident
/// in grid 330483101001001; the member is commended there.
async fn points_matrix(t: &TestApp) -> String {
    let admin_put = |path: String, body: Value| async move {
        t.send_raw(Some("admin"), t.client.put(format!("{}{path}", t.base)).json(&body)).await
    };
    let id_of_login = |login: &'static str| async move { t.store.person_by_login(login).await.unwrap().unwrap().id };
    let (resident, resident2, member) =
        (id_of_login("resident").await, id_of_login("resident2").await, id_of_login("member").await);
    let award = json!({ "region": GRID1, "award": { "kind": "adjustment", "points": 100000, "note": "authz" } });
    t.post(Some("admin"), &format!("/api/v1/people/{resident}/points"), award).await.ok();
    let reward = json!({ "region": "330483101001", "name": "环保袋", "cost": 1, "stock": 100000 });
    let item = t.post(Some("admin"), "/api/v1/rewards", reward).await.ok()["id"].as_i64().unwrap();
    let rules =
        json!({ "report_verified": 10, "rules": [], "daily_cap": 100000, "volunteer_hour": 5, "consultation": 5 });
    admin_put("/api/v1/points/rules".into(), rules.clone()).await.ok();
    let rows: &[&str] = &[
        "GET me/points",
        "PUT me/points/leaderboard",
        "GET me/redemptions",
        "GET rewards",
        "POST rewards",
        "PUT rewards/{id}",
        "POST rewards/{id}/redeem",
        "GET redemptions",
        "POST redemptions/{id}/hand-over",
        "POST redemptions/{id}/cancel",
        "GET points/rules",
        "PUT points/rules",
        "POST people/{id}/points (volunteer hours)",
        "POST people/{id}/points (adjustment)",
        "GET points/leaderboard",
        "GET points/flows",
        "POST people/{id}/commendations",
        "GET people/{id}/commendations",
    ];
    let mut out = String::from(
        "\n## Points and rewards\n\nThe same people with points and rewards: the resident redeems (with points) \
         a reward handed over in community 330483101001 — the other people hold no points, so their own \
         redemption is a 409 —; hand-over and cancel act on a fresh redemption of the resident's; volunteer \
         hours are recorded for the other resident in grid 330483101001001 and the grid member is commended \
         there: `tests/integration/points.rs`. Every ledger entry and every change of the rules and the \
         catalogue is audited.\n\n| endpoint |",
    );
    for (name, _) in ACTORS {
        out.push_str(&format!(" {name} |"));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(ACTORS.len()));
    out.push('\n');
    for row in rows {
        let mut cells = vec![];
        for (_, login) in ACTORS {
            let put = |path: String, body: Value| async move {
                t.send_raw(*login, t.client.put(format!("{}{path}", t.base)).json(&body)).await
            };
            let r = match *row {
                "GET me/points" => t.get(*login, "/api/v1/me/points").await,
                "PUT me/points/leaderboard" => {
                    put("/api/v1/me/points/leaderboard".into(), json!({ "on_leaderboard": false })).await
                }
                "GET me/redemptions" => t.get(*login, "/api/v1/me/redemptions").await,
                "GET rewards" => t.get(*login, "/api/v1/rewards").await,
                "POST rewards" => {
                    let body = json!({ "region": "330483101001", "name": "雨伞", "cost": 5, "stock": 1 });
                    t.post(*login, "/api/v1/rewards", body).await
                }
                "PUT rewards/{id}" => {
                    put(format!("/api/v1/rewards/{item}"), json!({ "name": "环保袋", "cost": 1, "stock": 100000 }))
                        .await
                }
                "POST rewards/{id}/redeem" => {
                    t.post(*login, &format!("/api/v1/rewards/{item}/redeem"), json!({})).await
                }
                "GET redemptions" => t.get(*login, "/api/v1/redemptions").await,
                "POST redemptions/{id}/hand-over" | "POST redemptions/{id}/cancel" => {
                    let r = t.post(Some("resident"), &format!("/api/v1/rewards/{item}/redeem"), json!({})).await;
                    let id = r.ok()["id"].as_i64().unwrap();
                    let verb = if row.ends_with("hand-over") { "hand-over" } else { "cancel" };
                    t.post(*login, &format!("/api/v1/redemptions/{id}/{verb}"), json!({})).await
                }
                "GET points/rules" => t.get(*login, "/api/v1/points/rules").await,
                "PUT points/rules" => put("/api/v1/points/rules".into(), rules.clone()).await,
                "POST people/{id}/points (volunteer hours)" => {
                    let body = json!({ "region": GRID1, "award": { "kind": "volunteer_hours", "hours": 1 } });
                    t.post(*login, &format!("/api/v1/people/{resident2}/points"), body).await
                }
                "POST people/{id}/points (adjustment)" => {
                    let body = json!({ "region": GRID1, "award": { "kind": "adjustment", "points": 1, "note": "x" } });
                    t.post(*login, &format!("/api/v1/people/{resident2}/points"), body).await
                }
                "GET points/leaderboard" => t.get(*login, &format!("/api/v1/points/leaderboard?region={GRID1}")).await,
                "GET points/flows" => {
                    t.get(*login, "/api/v1/points/flows?from=2020-01-01T00:00:00Z&to=2100-01-01T00:00:00Z").await
                }
                "POST people/{id}/commendations" => {
                    let body = json!({ "region": GRID1, "text": "认真负责" });
                    t.post(*login, &format!("/api/v1/people/{member}/commendations"), body).await
                }
                _ => t.get(*login, &format!("/api/v1/people/{member}/commendations")).await,
            };
            cells.push(r.status.as_u16().to_string());
        }
        out.push_str(&format!("| {row} | {} |\n", cells.join(" | ")));
    }
    out
}

/// "Your grid member" and the portal × the same people: the card and the portal are public; a
/// message may come from anyone; only grid members and leaders keep a card of their own, and
/// admins those of the people they manage.
async fn card_matrix(t: &TestApp) -> String {
    let member = t.get(Some("member"), "/api/v1/me").await.ok()["person"]["id"].as_i64().unwrap();
    let rows: &[&str] = &[
        "GET grid-card",
        "send a message (POST grid-card/messages)",
        "GET me/messages",
        "GET me/card",
        "PUT me/card",
        "GET admin/people/{id}/card",
        "PUT admin/people/{id}/card",
        "GET portal/{district}",
    ];
    let mut out = String::from(
        "\n## Grid member card and portal\n\nThe same people asking for the card of a point in grid \
         330483101001001, sending a message to its grid member, keeping their own card and the grid member's \
         (`tests/integration/grid_card.rs`), and reading the district's portal page \
         (`tests/integration/portal.rs`).\n\n| endpoint |",
    );
    for (name, _) in ACTORS {
        out.push_str(&format!(" {name} |"));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(ACTORS.len()));
    out.push('\n');
    for row in rows {
        let mut cells = vec![];
        for (_, login) in ACTORS {
            let put = |path: String| t.client.put(format!("{}{path}", t.base)).json(&json!({ "office_hours": "9–17" }));
            let status = match *row {
                "GET grid-card" => {
                    t.get(*login, &format!("/api/v1/grid-card?lat={}&lon={}", IN_GRID1.0, IN_GRID1.1)).await.status
                }
                "send a message (POST grid-card/messages)" => {
                    let body = json!({ "grid": GRID1, "to": member, "text": "你好", "phone": "13812345678" });
                    t.post(*login, "/api/v1/grid-card/messages", body).await.status
                }
                "GET me/messages" => t.get(*login, "/api/v1/me/messages").await.status,
                "GET me/card" => t.get(*login, "/api/v1/me/card").await.status,
                "PUT me/card" => t.send_raw(*login, put("/api/v1/me/card".into())).await.status,
                "GET admin/people/{id}/card" => {
                    t.get(*login, &format!("/api/v1/admin/people/{member}/card")).await.status
                }
                "PUT admin/people/{id}/card" => {
                    t.send_raw(*login, put(format!("/api/v1/admin/people/{member}/card"))).await.status
                }
                _ => t.get(*login, "/portal/330483").await.status,
            };
            cells.push(status.as_u16().to_string());
        }
        out.push_str(&format!("| {row} | {} |\n", cells.join(" | ")));
    }
    out
}

/// Field inspections × the same people: a shop in grid 330483101001001 with its check list.
async fn inspections_matrix(t: &TestApp) -> String {
    let shop = crate::inspections::hazard_town(t).await;
    let list = t.post(Some("admin"), "/api/v1/checklists", crate::inspections::shop_checklist()).await;
    let list = list.ok()["id"].as_i64().unwrap();
    let passed = json!([{ "item": "F01", "outcome": "pass" }, { "item": "F02", "outcome": "pass" }]);
    let done = t
        .post(
            Some("member"),
            "/api/v1/inspections",
            json!({ "subject": "place", "subject_id": shop, "checklist": list, "version": 1, "results": passed }),
        )
        .await;
    let done = done.ok()["inspection"]["id"].as_i64().unwrap();
    let rows: &[&str] = &[
        "GET checklists",
        "POST checklists",
        "PUT checklists/{id}",
        "POST checklists/import (dry run)",
        "GET inspection-plan",
        "PUT inspection-plan",
        "GET inspection-tasks",
        "GET safety-files/place/{id}",
        "POST inspections",
        "GET inspections/{id}",
    ];
    let mut out = String::from(
        "\n## Inspections\n\nThe same people asking for the check lists and the plan, their due inspections, \
         the safety file of a shop in grid 330483101001001 and one of its inspections, and inspecting it \
         (`tests/integration/inspections.rs`).\n\n| endpoint |",
    );
    for (name, _) in ACTORS {
        out.push_str(&format!(" {name} |"));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(ACTORS.len()));
    out.push('\n');
    for row in rows {
        let mut cells = vec![];
        for (_, login) in ACTORS {
            let put = |path: String, body: Value| t.client.put(format!("{}{path}", t.base)).json(&body);
            let mut hotel = crate::inspections::shop_checklist();
            hotel["kind"] = json!("hotel");
            let plan = json!({ "rules": [{ "subject": "place", "kind": "shop", "risk": "high", "every_days": 30 }] });
            let status = match *row {
                "GET checklists" => t.get(*login, "/api/v1/checklists").await.status,
                "POST checklists" => t.post(*login, "/api/v1/checklists", hotel).await.status,
                "PUT checklists/{id}" => {
                    let body = crate::inspections::shop_checklist();
                    t.send_raw(*login, put(format!("/api/v1/checklists/{list}"), body)).await.status
                }
                "POST checklists/import (dry run)" => {
                    let sheet =
                        crate::inspections::workbook(&[["F01", "安全出口畅通", "", "严重", "是", "3", "H0101"]]);
                    let req = t
                        .client
                        .post(format!(
                            "{}/api/v1/checklists/import?subject=place&kind=shop&name=x&dry_run=true",
                            t.base
                        ))
                        .header("content-type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
                        .body(sheet);
                    t.send_raw(*login, req).await.status
                }
                "GET inspection-plan" => t.get(*login, "/api/v1/inspection-plan").await.status,
                "PUT inspection-plan" => t.send_raw(*login, put("/api/v1/inspection-plan".into(), plan)).await.status,
                "GET inspection-tasks" => t.get(*login, "/api/v1/inspection-tasks").await.status,
                "GET safety-files/place/{id}" => {
                    t.get(*login, &format!("/api/v1/safety-files/place/{shop}")).await.status
                }
                "POST inspections" => {
                    let current =
                        t.get(Some("admin"), &format!("/api/v1/checklists/{list}")).await.ok()["version"].clone();
                    let body = json!({ "subject": "place", "subject_id": shop, "checklist": list, "version": current,
                                       "results": [{ "item": "F01", "outcome": "pass" }, { "item": "F02", "outcome": "pass" }] });
                    t.post(*login, "/api/v1/inspections", body).await.status
                }
                _ => t.get(*login, &format!("/api/v1/inspections/{done}")).await.status,
            };
            cells.push(status.as_u16().to_string());
        }
        out.push_str(&format!("| {row} | {} |\n", cells.join(" | ")));
    }
    out
}

/// The teams' endpoints × the same people. The admin makes a volunteers' team of community
/// 330483101001 with the resident (patrol, report) and the other resident (its leader) as
/// members; each cell that logs, confirms or refuses hours acts on a fresh log of the resident's
/// (one hour, a day of its own), each cell that adds or removes a member on a fresh person.
async fn teams_matrix(t: &TestApp) -> String {
    let community = "330483101001";
    let team = t.post(Some("admin"), "/api/v1/teams", json!({ "kind": "volunteers", "region": community })).await;
    let team = team.ok()["id"].as_i64().unwrap();
    let members = format!("/api/v1/teams/{team}/members");
    t.post(Some("admin"), &members, json!({ "login": "resident", "duties": ["patrol", "report"] })).await.ok();
    let leader = t.post(Some("admin"), &members, json!({ "login": "resident2", "duties": [], "leader": true })).await;
    let leader = leader.ok()["person_id"].as_i64().unwrap();
    let today = gridkeeper_domain::teams::local_date(chrono::Utc::now().timestamp_millis());
    let day = |n: u64| (today - chrono::Days::new(n % 80)).format("%Y-%m-%d").to_string();
    let new_log = |n: u64| async move {
        let body = json!({ "team": team, "date": day(n), "hours": 1, "what": "巡逻" });
        t.post(Some("resident"), "/api/v1/me/service", body).await.ok()["id"].as_i64().unwrap()
    };
    let month = today.format("%Y-%m").to_string();
    let rows: &[&str] = &[
        "GET teams (the community's)",
        "create a team (POST teams)",
        "GET a team",
        "add a member (POST teams/{id}/members)",
        "set a member's duties (PUT teams/{id}/members/{person})",
        "remove a member (DELETE teams/{id}/members/{person})",
        "GET teams/{id}/service-logs",
        "GET me/service",
        "log hours (POST me/service)",
        "confirm hours (POST service-logs/{id}/confirm)",
        "refuse hours (POST service-logs/{id}/refuse)",
        "GET teams/measures",
    ];
    let mut out = String::from(
        "\n## Teams\n\nThe same people and a volunteers' team of community 330483101001 (grid 330483101001001 lies \
         in it): the resident is a member with the patrol and report duties, the other resident leads it. The \
         community's grid leaders and admins keep its teams; members log their hours; the team's leader and the \
         grid leader confirm or refuse them, nobody their own (`tests/integration/teams.rs`).\n\n| endpoint |",
    );
    for (name, _) in ACTORS {
        out.push_str(&format!(" {name} |"));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(ACTORS.len()));
    out.push('\n');
    let mut n: u64 = 0;
    for row in rows {
        let mut cells = vec![];
        for (_, login) in ACTORS {
            n += 1;
            let r = match *row {
                "GET teams (the community's)" => t.get(*login, &format!("/api/v1/teams?region={community}")).await,
                "create a team (POST teams)" => {
                    t.post(*login, "/api/v1/teams", json!({ "kind": "party_workers", "region": community })).await
                }
                "GET a team" => t.get(*login, &format!("/api/v1/teams/{team}")).await,
                "add a member (POST teams/{id}/members)" => {
                    let body = json!({ "phone": format!("1370000{n:04}"), "name": "志愿者", "duties": ["report"] });
                    t.post(*login, &members, body).await
                }
                "set a member's duties (PUT teams/{id}/members/{person})" => {
                    let body = json!({ "duties": [], "leader": true });
                    t.send_raw(*login, t.client.put(format!("{}{members}/{leader}", t.base)).json(&body)).await
                }
                "remove a member (DELETE teams/{id}/members/{person})" => {
                    let body = json!({ "phone": format!("1360000{n:04}"), "name": "志愿者", "duties": [] });
                    let p = t.post(Some("admin"), &members, body).await.ok()["person_id"].as_i64().unwrap();
                    t.send_raw(*login, t.client.delete(format!("{}{members}/{p}", t.base))).await
                }
                "GET teams/{id}/service-logs" => t.get(*login, &format!("/api/v1/teams/{team}/service-logs")).await,
                "GET me/service" => t.get(*login, "/api/v1/me/service").await,
                "log hours (POST me/service)" => {
                    let body = json!({ "team": team, "date": day(n), "hours": 1, "what": "巡逻" });
                    t.post(*login, "/api/v1/me/service", body).await
                }
                "confirm hours (POST service-logs/{id}/confirm)" => {
                    let log = new_log(n).await;
                    t.post(*login, &format!("/api/v1/service-logs/{log}/confirm"), json!({})).await
                }
                "refuse hours (POST service-logs/{id}/refuse)" => {
                    let log = new_log(n).await;
                    t.post(*login, &format!("/api/v1/service-logs/{log}/refuse"), json!({ "reason": "x" })).await
                }
                _ => t.get(*login, &format!("/api/v1/teams/measures?region={community}&from={month}&to={month}")).await,
            };
            cells.push(r.status.as_u16().to_string());
        }
        out.push_str(&format!("| {row} | {} |\n", cells.join(" | ")));
    }
    out
}

/// Patrols × the same people: the grid member's running patrol in grid 330483101001001 (read,
/// positions, end), the lists, the quotas of community 330483101001, and a start in that grid
/// after the member's patrol ended (`tests/integration/patrols.rs`). A track is personal data:
/// the patroller and the community's grid leader see it (the leader's reading audited); for
/// everyone else it does not exist.
async fn patrols_matrix(t: &TestApp) -> String {
    let p = t.post(Some("member"), "/api/v1/patrols", json!({ "grid": GRID1 })).await;
    let id = p.ok()["id"].as_i64().unwrap();
    let at = gridkeeper_domain::time::to_rfc3339(chrono::Utc::now().timestamp_millis());
    let rows: &[&str] = &[
        "GET patrols/{id}",
        "POST patrols/{id}/positions",
        "GET patrols (one's own)",
        "GET patrols?region={community}",
        "GET patrols/quota",
        "GET patrols/quotas?region={community}",
        "PUT patrols/quotas/{community}",
        "POST patrols/{id}/end",
        "start a patrol (POST patrols)",
    ];
    let mut out = String::from(
        "\n## Patrols\n\nThe same people with the grid member's running patrol in grid 330483101001001 (its track, \
         a batch of positions, its end), the lists and quotas of community 330483101001, and then starting a \
         patrol in that grid (422: not one's own grid; 409: one's own is running): \
         `tests/integration/patrols.rs`. A track is personal data: the patroller and the grid leaders of its \
         community see it (their reading audited); for everyone else it does not exist (404).\n\n| endpoint |",
    );
    for (name, _) in ACTORS {
        out.push_str(&format!(" {name} |"));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(ACTORS.len()));
    out.push('\n');
    for row in rows {
        let mut cells = vec![];
        for (_, login) in ACTORS {
            let r = match *row {
                "GET patrols/{id}" => t.get(*login, &format!("/api/v1/patrols/{id}")).await,
                "POST patrols/{id}/positions" => {
                    let body =
                        json!({ "positions": [{ "at": at, "lat": IN_GRID1.0, "lon": IN_GRID1.1, "accuracy": 5 }] });
                    t.post(*login, &format!("/api/v1/patrols/{id}/positions"), body).await
                }
                "GET patrols (one's own)" => t.get(*login, "/api/v1/patrols").await,
                "GET patrols?region={community}" => t.get(*login, "/api/v1/patrols?region=330483101001").await,
                "GET patrols/quota" => t.get(*login, "/api/v1/patrols/quota").await,
                "GET patrols/quotas?region={community}" => {
                    t.get(*login, "/api/v1/patrols/quotas?region=330483101001").await
                }
                "PUT patrols/quotas/{community}" => {
                    let url = format!("{}/api/v1/patrols/quotas/330483101001", t.base);
                    t.send_raw(*login, t.client.put(url).json(&json!({ "hours": 40, "visits": 60 }))).await
                }
                "POST patrols/{id}/end" => t.post(*login, &format!("/api/v1/patrols/{id}/end"), json!({})).await,
                _ => t.post(*login, "/api/v1/patrols", json!({ "grid": GRID1 })).await,
            };
            cells.push(r.status.as_u16().to_string());
        }
        out.push_str(&format!("| {row} | {} |\n", cells.join(" | ")));
    }
    out
}

/// Campaigns × the same people: over street 330483101, selecting its shops (the shop of the
/// inspections' section, with its check list). Each cell that starts or closes acts on a fresh
/// campaign of the admin's.
async fn campaigns_matrix(t: &TestApp) -> String {
    let body = crate::campaigns::campaign("330483101", 0, 30, None, &["shop"], false);
    let start =
        || async { t.post(Some("admin"), "/api/v1/campaigns", body.clone()).await.ok()["id"].as_i64().unwrap() };
    let id = start().await;
    let rows: &[&str] = &[
        "GET campaigns",
        "GET campaigns?region={community}",
        "start a campaign (POST campaigns)",
        "GET campaigns/{id}",
        "GET campaigns/{id}/board",
        "close a campaign (POST campaigns/{id}/close)",
    ];
    let mut out = String::from(
        "\n## Campaigns\n\nThe same people asking for the campaigns (专项整治) of the district and of community \
         330483101001, one over street 330483101 and its board, starting one there and closing one early: the \
         linkage center and admins of the region run them; supervisors and analysts see them; the grid leader \
         of a community in it sees it with the board limited to their community \
         (`tests/integration/campaigns.rs`).\n\n| endpoint |",
    );
    for (name, _) in ACTORS {
        out.push_str(&format!(" {name} |"));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(ACTORS.len()));
    out.push('\n');
    for row in rows {
        let mut cells = vec![];
        for (_, login) in ACTORS {
            let status = match *row {
                "GET campaigns" => t.get(*login, "/api/v1/campaigns").await.status,
                "GET campaigns?region={community}" => {
                    t.get(*login, "/api/v1/campaigns?region=330483101001").await.status
                }
                "start a campaign (POST campaigns)" => t.post(*login, "/api/v1/campaigns", body.clone()).await.status,
                "GET campaigns/{id}" => t.get(*login, &format!("/api/v1/campaigns/{id}")).await.status,
                "GET campaigns/{id}/board" => t.get(*login, &format!("/api/v1/campaigns/{id}/board")).await.status,
                _ => {
                    let fresh = start().await;
                    t.post(*login, &format!("/api/v1/campaigns/{fresh}/close"), json!({})).await.status
                }
            };
            cells.push(status.as_u16().to_string());
        }
        out.push_str(&format!("| {row} | {} |\n", cells.join(" | ")));
    }
    out
}

/// The measures of field work × the same people: those who read the measures of community
/// 330483101001 (`tests/integration/fieldwork.rs`).
async fn fieldwork_matrix(t: &TestApp) -> String {
    let rows: &[&str] =
        &["GET field-work/measures?region={community}", "GET field-work/measures?region={district}&by=person"];
    let mut out = String::from(
        "\n## Field work measures\n\nThe same people asking for the measures of field work of community 330483101001 and \
         of the district, per person, over the last week: `tests/integration/fieldwork.rs`.\n\n| endpoint |",
    );
    for (name, _) in ACTORS {
        out.push_str(&format!(" {name} |"));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(ACTORS.len()));
    out.push('\n');
    let now = chrono::Utc::now().timestamp_millis();
    let iso = |ms: i64| gridkeeper_domain::time::to_rfc3339(ms).replace('+', "%2B");
    let period = format!("from={}&to={}", iso(now - 7 * 86_400_000), iso(now));
    for row in rows {
        let mut cells = vec![];
        for (_, login) in ACTORS {
            let url = match *row {
                "GET field-work/measures?region={community}" => {
                    format!("/api/v1/field-work/measures?region=330483101001&{period}")
                }
                _ => format!("/api/v1/field-work/measures?region=330483&by=person&{period}"),
            };
            cells.push(t.get(*login, &url).await.status.as_u16().to_string());
        }
        out.push_str(&format!("| {row} | {} |\n", cells.join(" | ")));
    }
    out
}
