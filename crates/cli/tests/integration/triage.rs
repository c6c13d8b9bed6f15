//! Intelligent triage over HTTP: suggestions learned from the demo's history against the
//! most-frequent-category baseline, the recorded suggestions' accuracy, untrained and damaged
//! models, bad text; a flood of reports folded in one action; a surge flagged.

use std::collections::HashMap;
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::*;

/// Waits (at most 2 minutes) for the training started by `POST /triage/model` to finish.
async fn trained(t: &TestApp) -> Value {
    for _ in 0..240 {
        let s = t.get(Some("dispatcher"), "/api/v1/triage/model").await.ok().clone();
        if s["training"] == false && s["state"] == "trained" {
            return s;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    panic!("the model was not trained in time");
}

#[tokio::test]
async fn suggestions_learned_from_the_demo_beat_the_most_frequent_category() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create_on(backend(), dir.path()).await;
    let store = gridkeeper_store::open(&db.url, Arc::new(gridkeeper_store::Vault::ephemeral())).await.unwrap();
    store.migrate().await.unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    let town = gridkeeper_demo::generate(3, now, 3_000);
    // The newest fifth of the decided cases is held out: the server learns from the rest.
    let decided: Vec<&gridkeeper_domain::Case> =
        town.history.iter().map(|(c, _)| c).filter(|c| c.category.is_some()).collect();
    let cut = decided[decided.len() * 4 / 5].id;
    let mut known = town.clone();
    known.history.retain(|(c, _)| c.id < cut);
    known.floods.clear();
    gridkeeper_demo::load_cases(store.as_ref(), &known, None, now, 8).await.unwrap();

    let settings = gridkeeper_server::Settings { media_dir: dir.path().join("media"), ..Default::default() };
    let sms = Arc::new(gridkeeper_server::sms::LogSms::default());
    let app = gridkeeper_server::App::new(store.clone(), settings, sms).await.unwrap();
    assert!(!app.load_triage_model().await.unwrap(), "a fresh deployment has no model");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(gridkeeper_server::serve(app.clone(), listener));
    let client = reqwest::Client::new();
    // The demo's day-shift dispatcher, signed in.
    let dispatcher = town.people.iter().position(|p| p.person.login == "dispatcher").unwrap() as i64 + 1;
    store
        .create_session(&gridkeeper_server::auth::token_hash("d-token"), dispatcher, now, now + 3_600_000)
        .await
        .unwrap();
    let get = |path: String| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            let r = client.get(format!("{base}{path}")).bearer_auth("d-token").send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            r.json::<Value>().await.unwrap()
        }
    };
    let post = |path: &'static str, body: Value| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            let r = client.post(format!("{base}{path}")).bearer_auth("d-token").json(&body).send().await.unwrap();
            let status = r.status();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };

    // Retrained on demand (202), followed until trained.
    let (status, body) = post("/api/v1/triage/model", json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let mut model = Value::Null;
    for _ in 0..240 {
        model = get("/api/v1/triage/model".into()).await;
        if model["state"] == "trained" && model["training"] == false {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert_eq!(model["state"], "trained", "{model}");
    let examples = model["examples"].as_u64().unwrap();
    assert!(examples as usize >= decided.len() * 3 / 4, "{model}");

    // Held-out reports: the suggestion's first category against the most frequent category.
    let mut frequency: HashMap<i64, usize> = HashMap::new();
    for c in decided.iter().filter(|c| c.id < cut) {
        *frequency.entry(c.category.unwrap()).or_default() += 1;
    }
    let (&most_frequent, _) = frequency.iter().max_by_key(|(_, n)| **n).unwrap();
    let held: Vec<&&gridkeeper_domain::Case> = decided.iter().filter(|c| c.id >= cut).take(200).collect();
    let (mut first, mut top3, mut baseline) = (0, 0, 0);
    for c in &held {
        let (status, s) = post("/api/v1/triage/suggest", json!({ "description": c.description })).await;
        assert_eq!(status, StatusCode::OK);
        let ids: Vec<i64> =
            s["categories"].as_array().unwrap().iter().map(|x| x["category"].as_i64().unwrap()).collect();
        first += usize::from(ids.first() == c.category.as_ref());
        top3 += usize::from(ids.contains(&c.category.unwrap()));
        baseline += usize::from(c.category == Some(most_frequent));
    }
    let n = held.len() as f64;
    let (first, top3, baseline) = (first as f64 / n, top3 as f64 / n, baseline as f64 / n);
    assert!(first >= baseline + 0.4 && first >= 0.6, "top-1 {first} against the baseline {baseline}");
    assert!(top3 >= first && top3 >= 0.8, "top-3 {top3}");

    // Text it cannot read gives a suggestion with low confidence or none, never an error.
    for text in ["", "！？。，", "🙂🙂🙂🌧️", "The street light outside number 12 is broken", &"井".repeat(300_000)]
    {
        let (status, s) = post("/api/v1/triage/suggest", json!({ "description": text })).await;
        assert_eq!(status, StatusCode::OK, "{s}");
        assert_eq!(s["state"], "trained");
        if text.chars().all(|c| !c.is_alphanumeric()) {
            assert_eq!(s["categories"], json!([]), "{text}: {s}");
        }
        assert!(s["categories"].as_array().unwrap().len() <= 3);
    }
    let (status, s) = post("/api/v1/triage/suggest", json!({ "text": "路灯" })).await;
    assert_eq!((status, s["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("text")), "{s}");

    // A new report: the center's suggestion is recorded, taken, and counted on the dashboard.
    let sample = held[0];
    let (status, r) = post(
        "/api/v1/cases",
        json!({ "description": sample.description, "lat": sample.location.unwrap().lat, "lon": sample.location.unwrap().lon, "urgency": "routine" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let id = r["case"]["id"].as_i64().unwrap();
    let s = get(format!("/api/v1/cases/{id}/suggestions")).await;
    let suggested = s["categories"][0]["category"].as_i64().unwrap();
    assert!(s["categories"][0]["department"]["department"].is_i64(), "a department comes with the category: {s}");
    let (status, _) =
        post_action(&client, &base, id, json!({ "version": 1, "category": suggested, "urgency": "routine" })).await;
    assert_eq!(status, StatusCode::OK);
    let period = format!("from={}&to={}", rfc3339(now - 3_600_000), rfc3339(now + 3_600_000));
    let a = get(format!("/api/v1/triage/accuracy?{period}")).await;
    assert_eq!(
        (a["suggested"].as_u64(), a["decided"].as_u64(), a["first_taken"].as_u64()),
        (Some(1), Some(1), Some(1)),
        "{a}"
    );
    assert_eq!(a["first_rate"], 1.0);

    // A surge: eight reports of one grid this morning, where it usually has one a week or less.
    let grid_case = decided.iter().rev().find(|c| c.grid.is_some()).unwrap();
    let at = grid_case.location.unwrap();
    for k in 0..8 {
        let (status, r) = post(
            "/api/v1/cases",
            json!({ "description": format!("第{k}处垃圾没人清运"), "lat": at.lat, "lon": at.lon, "urgency": "routine", "category": grid_case.category }),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{r}");
    }
    let surges = get("/api/v1/triage/surges".into()).await;
    let grid = grid_case.grid.as_ref().unwrap().to_string();
    let found: Vec<&Value> =
        surges["items"].as_array().unwrap().iter().filter(|s| s["grid"] == grid.as_str()).collect();
    assert!(!found.is_empty(), "{surges}");
    assert!(found.iter().all(|s| s["count"].as_u64() >= Some(8) && s["p_value"].as_f64() < Some(1e-3)), "{surges}");

    // Damaged bytes, or a model of another format, are never trusted: rebuilt instead.
    for (format, bytes) in [(gridkeeper_triage::FORMAT_VERSION, b"GKTRIAGE-not-a-model".to_vec()), (0, vec![0u8; 64])] {
        store
            .put_triage_model(&gridkeeper_store::NewTriageModel {
                trained_at: now,
                trained_by: None,
                examples: 1,
                format,
                model: &bytes,
                departments: "{}",
            })
            .await
            .unwrap();
        assert!(!app.load_triage_model().await.unwrap(), "format {format}");
    }
    assert_eq!(
        get("/api/v1/triage/model".into()).await["examples"].as_u64(),
        Some(examples),
        "the good model stays in use"
    );
    drop(db);
}

async fn post_action(client: &reqwest::Client, base: &str, id: i64, body: Value) -> (StatusCode, Value) {
    let r = client
        .post(format!("{base}/api/v1/cases/{id}/actions/accept"))
        .bearer_auth("d-token")
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

fn rfc3339(ms: i64) -> String {
    gridkeeper_domain::time::to_rfc3339(ms).replace('+', "%2B")
}

async fn report(t: &TestApp, who: Option<&str>, at: (f64, f64), description: &str, category: Option<i64>) -> Value {
    let r = t
        .post(
            who,
            "/api/v1/cases",
            json!({ "description": description, "lat": at.0, "lon": at.1, "category": category, "urgency": "urgent" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    r.body.clone()
}

#[tokio::test]
async fn the_center_folds_a_flood_of_reports_in_one_action() {
    let t = TestApp::spawn().await;
    // A fresh deployment is untrained and says so; suggestions are then empty, never an error.
    let m = t.get(Some("dispatcher"), "/api/v1/triage/model").await;
    assert_eq!(m.ok()["state"], "untrained");
    assert!(m.body["reason"].as_str().is_some_and(|r| !r.is_empty()), "{m:?}");
    t.get(Some("resident"), "/api/v1/triage/model").await.problem(403, None);
    t.post(Some("resident"), "/api/v1/triage/model", json!({})).await.problem(403, None);
    let s = t.post(None, "/api/v1/triage/suggest", json!({ "description": "水管爆裂" })).await;
    assert_eq!((s.ok()["state"].as_str(), &s.body["categories"]), (Some("untrained"), &json!([])));

    // Three neighbours report one burst pipe; a street light elsewhere is another problem.
    let (lat, lon) = IN_GRID1;
    let a = report(&t, Some("resident"), (lat, lon), "东门路12号水管爆裂，路面积水很深", Some(MANHOLE)).await;
    let b = report(&t, Some("resident2"), (lat + 0.0001, lon), "东门路12号门口水管爆了，路面积水", None).await;
    let c = report(&t, None, (lat, lon + 0.0001), "东门路12号水管爆裂，积水漫到人行道", None).await;
    let other = report(&t, Some("resident"), IN_GRID2, "路灯不亮，晚上很黑", Some(STREET_LIGHT)).await;
    let [a_id, b_id, c_id] = [&a, &b, &c].map(|x| x["case"]["id"].as_i64().unwrap());

    let g = t.get(Some("dispatcher"), "/api/v1/triage/groups").await;
    let items = g.ok()["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{g:?}");
    let ids: Vec<i64> = items[0]["cases"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert_eq!((ids, items[0]["reporters"].as_u64()), (vec![a_id, b_id, c_id], Some(3)));
    assert!(!format!("{g:?}").contains(other["case"]["reference"].as_str().unwrap()));
    t.get(Some("resident"), "/api/v1/triage/groups").await.problem(403, None);
    t.get(Some("dispatcher"), "/api/v1/triage/groups?region=33x").await.problem(422, Some("region"));

    // Refusals write nothing: a stale version, the case itself, a case named twice, none.
    let fold = |dups: Value, version: i64| json!({ "version": version, "category": MANHOLE, "urgency": "urgent", "duplicates": dups });
    let path = format!("/api/v1/cases/{a_id}/fold");
    let r = t
        .post(
            Some("dispatcher"),
            &path,
            fold(json!([{ "case": b_id.to_string(), "version": 1 }, { "case": c_id.to_string(), "version": 7 }]), 1),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{r:?}");
    t.post(Some("dispatcher"), &path, fold(json!([{ "case": a_id.to_string(), "version": 1 }]), 1))
        .await
        .problem(422, Some("duplicates[0].case"));
    t.post(
        Some("dispatcher"),
        &path,
        fold(json!([{ "case": b_id.to_string(), "version": 1 }, { "case": b_id.to_string(), "version": 1 }]), 1),
    )
    .await
    .problem(422, Some("duplicates[1].case"));
    t.post(Some("dispatcher"), &path, fold(json!([]), 1)).await.problem(422, Some("duplicates"));
    t.post(Some("dispatcher"), &path, fold(json!([{ "case": "GK-0000-000000", "version": 1 }]), 1))
        .await
        .problem(404, Some("duplicates[0].case"));
    t.post(Some("outsider"), &path, fold(json!([{ "case": b_id.to_string(), "version": 1 }]), 1))
        .await
        .problem(404, None);
    t.post(
        Some("resident2"),
        &format!("/api/v1/cases/{b_id}/fold"),
        fold(json!([{ "case": b_id.to_string(), "version": 1 }]), 1),
    )
    .await
    .problem(422, Some("duplicates[0].case"));
    for id in [a_id, b_id, c_id] {
        assert_eq!(t.detail("dispatcher", id).await["case"]["state"], "reported", "nothing was written");
    }

    // One action: the first accepted, the others its duplicates, each with its own event.
    let c_ref = c["case"]["reference"].as_str().unwrap();
    let r = t
        .post(
            Some("dispatcher"),
            &path,
            fold(json!([{ "case": b_id.to_string(), "version": 1 }, { "case": c_ref, "version": 1 }]), 1),
        )
        .await;
    let body = r.ok();
    assert_eq!(body["case"]["state"], "accepted");
    let dups = body["duplicates"].as_array().unwrap();
    assert!(dups.iter().all(|d| d["state"] == "rejected" && d["duplicate_of"] == a_id), "{body}");
    assert_eq!(t.timeline(b_id).await, ["report", "reject"]);
    assert_eq!(t.get(Some("dispatcher"), "/api/v1/triage/groups").await.ok()["items"], json!([]));

    // The anonymous reporter follows the one case with the tracking code.
    let tracked = t.get(None, &format!("/api/v1/track/{}", c["tracking_code"].as_str().unwrap())).await;
    assert_eq!(tracked.ok()["original"]["reference"], a["case"]["reference"]);
    assert_eq!(tracked.body["original"]["state"], "accepted");
}

#[tokio::test]
async fn the_trained_model_follows_the_center_and_others_wait() {
    let t = TestApp::spawn().await;
    // Sixty decided cases of two categories: enough to train on (the minimum is fifty).
    for k in 0..60 {
        let (text, category) = if k % 2 == 0 {
            (format!("{k}号井盖破损松动"), MANHOLE)
        } else {
            (format!("{k}号路灯不亮了"), STREET_LIGHT)
        };
        let id = report(&t, Some("resident"), IN_GRID1, &text, Some(category)).await["case"]["id"].as_i64().unwrap();
        t.act("dispatcher", id, "accept", json!({ "category": category, "urgency": "routine" })).await;
        t.act(
            "dispatcher",
            id,
            "dispatch",
            json!({ "lead_department": if category == MANHOLE { CITY_MGMT } else { POWER } }),
        )
        .await;
    }
    let r = t.post(Some("dispatcher"), "/api/v1/triage/model", json!({})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{r:?}");
    let m = trained(&t).await;
    assert_eq!((m["examples"].as_u64(), m["categories"].as_u64()), (Some(60), Some(2)), "{m}");
    let s = t.post(None, "/api/v1/triage/suggest", json!({ "description": "门口井盖破损了" })).await;
    assert_eq!(s.ok()["categories"][0]["category"], MANHOLE, "{s:?}");
    let id = report(&t, Some("resident"), IN_GRID1, "路灯不亮，晚上很黑", None).await["case"]["id"].as_i64().unwrap();
    let cs = t.get(Some("dispatcher"), &format!("/api/v1/cases/{id}/suggestions")).await;
    assert_eq!(cs.ok()["categories"][0]["category"], STREET_LIGHT, "{cs:?}");
    assert_eq!(cs.body["categories"][0]["department"]["department"], POWER, "{cs:?}");
    assert_eq!(cs.body["categories"][0]["department"]["scope"], "grid");
    // Residents get categories, not the center's departments; another district's case is not found.
    t.get(Some("resident"), &format!("/api/v1/cases/{id}/suggestions")).await.problem(403, None);
    t.get(Some("outsider"), &format!("/api/v1/cases/{id}/suggestions")).await.problem(404, None);
    // The model survives a restart: a new server over the same store loads it.
    let again = gridkeeper_server::App::new(t.store.clone(), Default::default(), t.sms.clone()).await.unwrap();
    assert!(again.load_triage_model().await.unwrap());
}
