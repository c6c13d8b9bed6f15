//! Residents as participants over HTTP: articles published to a region and read in a grid's
//! feed (sanitised, pinned first, reads counted once per person, withdrawn with an audited
//! reason), consultations (one vote per resident under concurrency, comments hidden with a
//! reason, the answer once closed), proposals (support to the threshold, the agenda, the answer
//! as a case, withdrawal), and every refusal.

use gridkeeper_domain::participation::ConsultationKind;
use gridkeeper_domain::RegionCode;
use gridkeeper_store::{AuditQuery, NewConsultation};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::*;

fn iso(ms: i64) -> String {
    gridkeeper_domain::time::to_rfc3339(ms)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

async fn put(t: &TestApp, who: &str, path: &str, body: Value) -> Resp {
    t.send_raw(Some(who), t.client.put(format!("{}{path}", t.base)).json(&body)).await
}

async fn audited(t: &TestApp, action: &str) -> usize {
    t.store
        .audit_search(&AuditQuery { action: Some(action.into()), limit: 100, ..Default::default() })
        .await
        .unwrap()
        .len()
}

fn titles(v: &Value) -> Vec<String> {
    v["items"].as_array().unwrap().iter().map(|a| a["title"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn articles_reach_the_grids_under_their_region_sanitised_and_counted() {
    let t = TestApp::spawn().await;
    let town = t
        .post(
            Some("admin"),
            "/api/v1/articles",
            json!({ "region": "330483101", "kind": "notice", "title": "乌镇镇停水通知",
                    "body": "<p onclick=\"steal()\">明天 8 点停水<script>alert(1)</script><a href=\"javascript:alert(2)\">详情</a><img src=x onerror=alert(3)></p>" }),
        )
        .await;
    assert_eq!(town.status, StatusCode::CREATED, "{town:?}");
    let body = town.body["body"].as_str().unwrap();
    for bad in ["script", "onclick", "onerror", "javascript:", "alert"] {
        assert!(!body.contains(bad), "{bad} served in {body}");
    }
    assert_eq!(town.body["article"]["summary"], "明天 8 点停水 详情");
    let town_id = town.body["article"]["id"].as_i64().unwrap();
    // The community's leader publishes to the community, not to the town.
    let pinned = t
        .post(
            Some("leader"),
            "/api/v1/articles",
            json!({ "region": "330483101001", "kind": "health", "title": "社区义诊", "body": "<p>周六上午</p>", "pinned": true }),
        )
        .await;
    assert_eq!(pinned.status, StatusCode::CREATED, "{pinned:?}");
    let pinned_id = pinned.body["article"]["id"].as_i64().unwrap();
    t.post(
        Some("leader"),
        "/api/v1/articles",
        json!({ "region": "330483101", "kind": "notice", "title": "x", "body": "<p>x</p>" }),
    )
    .await
    .problem(403, None);
    t.post(
        Some("resident"),
        "/api/v1/articles",
        json!({ "region": "330483101001", "kind": "notice", "title": "x", "body": "x" }),
    )
    .await
    .problem(403, None);
    // Bad input, named.
    let later = iso(now() + 3_600_000);
    t.post(
        Some("leader"),
        "/api/v1/articles",
        json!({ "region": "330483101001", "kind": "notice", "title": "x", "body": "<p>x</p>", "publish_at": later, "expires_at": iso(now()) }),
    )
    .await
    .problem(422, Some("expires_at"));
    t.post(
        Some("leader"),
        "/api/v1/articles",
        json!({ "region": "330483101001", "kind": "notice", "title": "x", "body": "<script>x</script>" }),
    )
    .await
    .problem(422, Some("body"));
    t.post(
        Some("leader"),
        "/api/v1/articles",
        json!({ "region": "330483101001", "kind": "gossip", "title": "x", "body": "x" }),
    )
    .await
    .problem(422, Some("kind"));
    t.post(
        Some("leader"),
        "/api/v1/articles",
        json!({ "region": "330483101001", "kind": "notice", "title": "x", "body": "x", "cover": "nope" }),
    )
    .await
    .problem(404, Some("cover"));
    // Scheduled for later: not in the feed, not open to the public, open to its publisher.
    let scheduled = t
        .post(
            Some("leader"),
            "/api/v1/articles",
            json!({ "region": "330483101001", "kind": "event", "title": "下周活动", "body": "<p>x</p>", "publish_at": later }),
        )
        .await;
    assert_eq!(scheduled.body["article"]["state"], "scheduled");
    let scheduled_id = scheduled.body["article"]["id"].as_i64().unwrap();
    t.get(None, &format!("/api/v1/articles/{scheduled_id}")).await.problem(404, None);
    assert_eq!(t.get(Some("leader"), &format!("/api/v1/articles/{scheduled_id}")).await.ok()["may_manage"], true);

    // The feeds: grid 1 hears its community and the town, pinned first; grid 3 only the town.
    let feed = t.get(None, &format!("/api/v1/articles?grid={GRID1}")).await;
    assert_eq!(titles(feed.ok()), ["社区义诊", "乌镇镇停水通知"]);
    assert_eq!(titles(t.get(None, &format!("/api/v1/articles?grid={GRID3}")).await.ok()), ["乌镇镇停水通知"]);
    t.get(None, "/api/v1/articles?grid=330483101001").await.problem(422, Some("grid"));
    t.get(None, "/api/v1/articles?grid=330483101001009").await.problem(404, Some("grid"));
    t.get(None, "/api/v1/articles").await.problem(422, Some("grid"));

    // Reads: anyone, counted per grid; a person once.
    for who in [None, Some("resident"), Some("resident")] {
        let r = t.get(who, &format!("/api/v1/articles/{pinned_id}?grid={GRID1}")).await;
        assert_eq!(r.ok()["may_manage"], false);
    }
    let reads = t.get(Some("leader"), &format!("/api/v1/articles/{pinned_id}/reads")).await;
    assert_eq!(reads.ok()[0]["grid"], GRID1);
    assert_eq!(reads.ok()[0]["reads"], 2);
    t.get(Some("resident"), &format!("/api/v1/articles/{pinned_id}/reads")).await.problem(404, None);
    // The staff's list of the community holds the scheduled one too.
    let listed = t.get(Some("leader"), "/api/v1/regions/330483101001/articles").await;
    assert_eq!(titles(listed.ok()), ["下周活动", "社区义诊"]);
    t.get(Some("leader"), "/api/v1/regions/330483101/articles").await.problem(403, None);

    // Withdrawn with a reason: gone from the feed, audited; twice is a conflict.
    t.post(Some("leader"), &format!("/api/v1/articles/{town_id}/withdraw"), json!({ "reason": "x" }))
        .await
        .problem(404, None);
    let w =
        t.post(Some("admin"), &format!("/api/v1/articles/{town_id}/withdraw"), json!({ "reason": "时间有误" })).await;
    assert_eq!(w.ok()["article"]["state"], "withdrawn");
    t.post(Some("admin"), &format!("/api/v1/articles/{town_id}/withdraw"), json!({ "reason": "again" }))
        .await
        .problem(409, None);
    assert_eq!(titles(t.get(None, &format!("/api/v1/articles?grid={GRID3}")).await.ok()), Vec::<String>::new());
    assert_eq!(audited(&t, "withdraw_article").await, 1);

    // A cover is public while its article is.
    let photo = t.upload_photo(Some("leader")).await;
    t.get(None, &format!("/api/v1/media/{photo}")).await.problem(404, None);
    let edited = put(
        &t,
        "leader",
        &format!("/api/v1/articles/{pinned_id}"),
        json!({ "region": "330483101001", "kind": "health", "title": "社区义诊（改）", "body": "<p>周日上午</p>", "cover": photo, "pinned": true }),
    )
    .await;
    assert_eq!(edited.ok()["article"]["cover_url"], format!("/api/v1/media/{photo}"));
    let cover = t.client.get(format!("{}/api/v1/media/{photo}", t.base)).send().await.unwrap();
    assert_eq!(cover.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_consultation_counts_one_vote_per_resident_hides_comments_with_a_reason_and_is_answered_once_closed() {
    let t = TestApp::spawn().await;
    let opened = t
        .post(
            Some("leader"),
            "/api/v1/consultations",
            json!({ "region": "330483101001", "kind": "civil_agreement", "title": "西栅社区居民公约（修订稿）",
                    "body": "<h3>第三条</h3><p>电动车不进楼道</p>", "closes_at": iso(now() + 7 * 86_400_000) }),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{opened:?}");
    let id = opened.body["consultation"]["id"].as_i64().unwrap();
    assert_eq!(opened.body["consultation"]["phase"], "open");
    t.post(
        Some("leader"),
        "/api/v1/consultations",
        json!({ "region": "330483101001", "kind": "rule", "title": "x", "body": "<p>x</p>", "closes_at": iso(now() - 1000) }),
    )
    .await
    .problem(422, Some("closes_at"));
    t.post(
        Some("leader"),
        "/api/v1/consultations",
        json!({ "region": "330483101001", "kind": "rule", "title": "x", "body": "<p>x</p>", "closes_at": iso(now() + 400 * 86_400_000) }),
    )
    .await
    .problem(422, Some("closes_at"));

    // The same resident voting twice at once: one vote, the later one's stance or the other's.
    let vote = |who: &'static str, stance: &'static str, grid: &'static str| {
        let t = &t;
        async move {
            put(t, who, &format!("/api/v1/consultations/{id}/vote"), json!({ "stance": stance, "grid": grid })).await
        }
    };
    let (a, b) = tokio::join!(vote("resident", "support", GRID1), vote("resident", "oppose", GRID1));
    assert_eq!((a.status, b.status), (StatusCode::OK, StatusCode::OK));
    let v = vote("resident2", "support", GRID2).await;
    let c = &v.ok()["consultation"];
    assert_eq!(c["support"].as_i64().unwrap() + c["oppose"].as_i64().unwrap(), 2);
    // Changeable while open.
    let v = vote("resident", "support", GRID1).await;
    assert_eq!(v.ok()["my_vote"], "support");
    assert_eq!(v.ok()["consultation"]["support"], 2);
    // Refusals: not a resident, a grid outside the region, not a grid.
    vote("dispatcher", "support", GRID1).await.problem(403, None);
    vote("resident", "support", GRID3).await.problem(422, Some("grid"));
    put(&t, "resident", &format!("/api/v1/consultations/{id}/vote"), json!({ "stance": "maybe", "grid": GRID1 }))
        .await
        .problem(422, Some("stance"));
    t.send_raw(
        None,
        t.client
            .put(format!("{}/api/v1/consultations/{id}/vote", t.base))
            .json(&json!({ "stance": "support", "grid": GRID1 })),
    )
    .await
    .problem(401, None);
    // The tally per grid is for staff while it is open.
    assert!(t.get(None, &format!("/api/v1/consultations/{id}")).await.ok()["by_grid"].is_null());
    assert_eq!(
        t.get(Some("leader"), &format!("/api/v1/consultations/{id}")).await.ok()["by_grid"].as_array().unwrap().len(),
        2
    );

    // Comments; one hidden with a reason (audited): the public sees why, not what.
    let m = t
        .post(
            Some("resident"),
            &format!("/api/v1/consultations/{id}/comments"),
            json!({ "body": "我家电话 13900000000", "grid": GRID1 }),
        )
        .await;
    assert_eq!(m.status, StatusCode::CREATED, "{m:?}");
    let mid = m.body["id"].as_i64().unwrap();
    t.post(Some("resident2"), &format!("/api/v1/consultations/{id}/comments"), json!({ "body": "  ", "grid": GRID2 }))
        .await
        .problem(422, Some("body"));
    t.post(Some("resident"), &format!("/api/v1/consultations/{id}/comments/{mid}/hide"), json!({ "reason": "x" }))
        .await
        .problem(403, None);
    let hidden = t
        .post(
            Some("leader"),
            &format!("/api/v1/consultations/{id}/comments/{mid}/hide"),
            json!({ "reason": "含个人电话" }),
        )
        .await;
    assert_eq!(hidden.status, StatusCode::NO_CONTENT, "{hidden:?}");
    t.post(Some("leader"), &format!("/api/v1/consultations/{id}/comments/{mid}/hide"), json!({ "reason": "again" }))
        .await
        .problem(409, Some("comment"));
    t.post(Some("leader"), &format!("/api/v1/consultations/{id}/comments/999/hide"), json!({ "reason": "x" }))
        .await
        .problem(404, Some("comment"));
    let public = t.get(None, &format!("/api/v1/consultations/{id}/comments")).await;
    let first = &public.ok()["items"][0];
    assert!(first["body"].is_null());
    assert_eq!(first["hidden_reason"], "含个人电话");
    assert_eq!(first["name"], "r**********");
    assert_eq!(audited(&t, "hide_comment").await, 1);
    // Answered only once closed.
    t.post(Some("leader"), &format!("/api/v1/consultations/{id}/answer"), json!({ "summary": "s", "answer": "a" }))
        .await
        .problem(409, None);

    // One that closed yesterday: no more votes; the answer once, with the tally per grid public.
    let closed = t
        .store
        .create_consultation(
            &NewConsultation {
                region: RegionCode::parse("330483101001").unwrap(),
                kind: ConsultationKind::CommunityPlan,
                title: "口袋公园选址".into(),
                body: "<p>三处备选</p>".into(),
                opens_at: now() - 10 * 86_400_000,
                closes_at: now() - 86_400_000,
            },
            1,
            now() - 10 * 86_400_000,
        )
        .await
        .unwrap();
    put(
        &t,
        "resident",
        &format!("/api/v1/consultations/{}/vote", closed.id),
        json!({ "stance": "support", "grid": GRID1 }),
    )
    .await
    .problem(409, None);
    t.post(
        Some("member"),
        &format!("/api/v1/consultations/{}/answer", closed.id),
        json!({ "summary": "s", "answer": "a" }),
    )
    .await
    .problem(403, None);
    let answered = t
        .post(
            Some("leader"),
            &format!("/api/v1/consultations/{}/answer", closed.id),
            json!({ "summary": "多数赞成北侧空地", "answer": "选北侧空地，明年三月开工" }),
        )
        .await;
    assert_eq!(answered.ok()["consultation"]["phase"], "answered");
    t.post(
        Some("leader"),
        &format!("/api/v1/consultations/{}/answer", closed.id),
        json!({ "summary": "s", "answer": "a" }),
    )
    .await
    .problem(409, None);
    let public = t.get(None, &format!("/api/v1/consultations/{}", closed.id)).await;
    assert_eq!(public.ok()["answer"], "选北侧空地，明年三月开工");
    assert!(public.ok()["by_grid"].is_array());
    let listed = t.get(None, &format!("/api/v1/consultations?grid={GRID2}")).await;
    assert_eq!(listed.ok()["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        t.get(None, &format!("/api/v1/consultations?grid={GRID3}")).await.ok()["items"].as_array().unwrap().len(),
        0
    );
}

#[tokio::test]
async fn a_proposal_goes_on_the_agenda_at_its_threshold_and_is_answered_as_a_case() {
    let t = TestApp::spawn_with(backend(), None, |s| s.participation.proposal_threshold = 2).await;
    let made = t
        .post(
            Some("resident"),
            "/api/v1/proposals",
            json!({ "grid": GRID1, "title": "在西栅社区增设电动车充电桩", "body": "楼道里充电太危险，建议在车棚装充电桩。" }),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{made:?}");
    let id = made.body["id"].as_i64().unwrap();
    assert_eq!(made.body["region"], "330483101001");
    assert_eq!((made.body["status"].as_str(), made.body["mine"].as_bool()), (Some("open"), Some(true)));
    t.post(Some("dispatcher"), "/api/v1/proposals", json!({ "grid": GRID1, "title": "x", "body": "x" }))
        .await
        .problem(403, None);
    t.post(Some("resident"), "/api/v1/proposals", json!({ "grid": GRID1, "title": "", "body": "x" }))
        .await
        .problem(422, Some("title"));

    // The public sees the proposer masked.
    assert_eq!(t.get(None, &format!("/api/v1/proposals/{id}")).await.ok()["proposer"], "r**********");
    let s1 = t.post(Some("resident2"), &format!("/api/v1/proposals/{id}/support"), json!({})).await;
    assert_eq!((s1.ok()["supports"].as_i64(), s1.ok()["status"].as_str()), (Some(1), Some("open")));
    // Twice changes nothing.
    let again = t.post(Some("resident2"), &format!("/api/v1/proposals/{id}/support"), json!({})).await;
    assert_eq!(again.ok()["supports"], 1);
    let s2 = t.post(Some("resident"), &format!("/api/v1/proposals/{id}/support"), json!({})).await;
    assert_eq!(s2.ok()["status"], "agenda");
    assert!(s2.ok()["due_at"].is_string());

    // On the community's agenda for its leader; the grid member may not answer.
    let agenda = t.get(Some("leader"), "/api/v1/regions/330483101001/proposals?status=agenda").await;
    assert_eq!(agenda.ok()["items"][0]["id"], id);
    assert_eq!(agenda.ok()["items"][0]["may_answer"], true);
    t.post(Some("member"), &format!("/api/v1/proposals/{id}/answer"), json!({ "decision": "accept", "answer": "x" }))
        .await
        .problem(403, None);
    t.post(
        Some("leader"),
        &format!("/api/v1/proposals/{id}/answer"),
        json!({ "decision": "decline", "answer": "x", "case": "1" }),
    )
    .await
    .problem(422, Some("case"));
    t.post(
        Some("leader"),
        &format!("/api/v1/proposals/{id}/answer"),
        json!({ "decision": "accept", "answer": "x", "case": "999999" }),
    )
    .await
    .problem(404, Some("case"));
    let case = id_of(&t.report(Some("member"), IN_GRID1, Some(MANHOLE)).await);
    let answered = t
        .post(
            Some("leader"),
            &format!("/api/v1/proposals/{id}/answer"),
            json!({ "decision": "accept", "answer": "同意，社区已联系供电所，按案件办理。", "case": case.to_string() }),
        )
        .await;
    assert_eq!(answered.ok()["status"], "accepted");
    assert_eq!(answered.ok()["case_id"], case);
    assert_eq!(audited(&t, "answer_proposal").await, 1);
    t.post(Some("resident2"), &format!("/api/v1/proposals/{id}/support"), json!({})).await.problem(409, Some("status"));
    t.post(Some("leader"), &format!("/api/v1/proposals/{id}/answer"), json!({ "decision": "decline", "answer": "x" }))
        .await
        .problem(409, Some("status"));

    // Withdrawn by its proposer alone.
    let other = t
        .post(
            Some("resident"),
            "/api/v1/proposals",
            json!({ "grid": GRID3, "title": "东栅菜场延长营业", "body": "下班太晚买不到菜" }),
        )
        .await;
    let oid = other.body["id"].as_i64().unwrap();
    assert_eq!(other.body["region"], "330483101002");
    t.post(Some("resident2"), &format!("/api/v1/proposals/{oid}/withdraw"), json!({})).await.problem(403, None);
    assert_eq!(
        t.post(Some("resident"), &format!("/api/v1/proposals/{oid}/withdraw"), json!({})).await.ok()["status"],
        "withdrawn"
    );
    let mine = t.get(Some("resident"), "/api/v1/me/proposals").await;
    assert_eq!(mine.ok()["items"].as_array().unwrap().len(), 2);
    // A grid sees its own community's proposals.
    assert_eq!(
        t.get(None, &format!("/api/v1/proposals?grid={GRID2}")).await.ok()["items"].as_array().unwrap().len(),
        1
    );
    t.get(None, "/api/v1/proposals/999999").await.problem(404, None);

    // The community's figures: one proposal reached the agenda and was answered on time.
    let period = format!("from={}&to={}", iso(now() - 86_400_000), iso(now() + 86_400_000)).replace('+', "%2B");
    let figures = t.get(Some("leader"), &format!("/api/v1/participation/figures?region=330483101001&{period}")).await;
    let west = &figures.ok()["communities"][0];
    assert_eq!(
        (west["made"].as_i64(), west["reached_agenda"].as_i64(), west["answered_on_time"].as_i64()),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(west["answered_on_time_rate"], 1.0);
    assert_eq!(figures.ok()["grids"].as_array().unwrap().len(), 2);
    t.get(Some("resident"), &format!("/api/v1/participation/figures?region=330483101001&{period}"))
        .await
        .problem(403, None);
    t.get(Some("leader"), &format!("/api/v1/participation/figures?region=330483101002&{period}"))
        .await
        .problem(403, None);
}

#[tokio::test]
async fn the_directory_of_notable_natives_shows_each_field_by_consent_and_follows_their_leads_up() {
    let t = TestApp::spawn().await;
    let entry = |name: &str, consent: Value| {
        json!({ "name": name, "home_region": "330483101001", "expertise": "中医", "city": "杭州",
                "organisation": "浙江省中医院", "phone": "13955550001", "consent": consent })
    };
    let public = t
        .post(
            Some("leader"),
            "/api/v1/natives",
            entry("沈乡贤", json!({ "name": "public", "expertise": "public", "city": "staff", "organisation": "private", "phone": "private" })),
        )
        .await;
    assert_eq!(public.status, StatusCode::CREATED, "{public:?}");
    let id = public.body["id"].as_i64().unwrap();
    let hidden = t.post(Some("leader"), "/api/v1/natives", entry("隐名", json!({ "expertise": "public" }))).await;
    let hidden_id = hidden.body["id"].as_i64().unwrap();
    // Refusals, named.
    t.post(Some("leader"), "/api/v1/natives", entry("x", json!({ "salary": "public" })))
        .await
        .problem(422, Some("consent.salary"));
    let mut bad_phone = entry("x", json!({}));
    bad_phone["phone"] = json!("12ab");
    t.post(Some("leader"), "/api/v1/natives", bad_phone).await.problem(422, Some("phone"));
    let mut elsewhere = entry("x", json!({}));
    elsewhere["home_region"] = json!("330483101002");
    t.post(Some("leader"), "/api/v1/natives", elsewhere).await.problem(403, None);
    t.post(Some("resident"), "/api/v1/natives", entry("x", json!({}))).await.problem(403, None);

    // The public sees the name and the expertise; staff also the city; the keepers everything.
    let listed = t.get(None, "/api/v1/natives?region=330483101").await;
    let items = listed.ok()["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "a native whose name is private is not listed publicly");
    assert_eq!((items[0]["name"].as_str(), items[0]["expertise"].as_str()), (Some("沈乡贤"), Some("中医")));
    assert!(items[0]["city"].is_null() && items[0]["phone"].is_null() && items[0]["organisation"].is_null());
    let staff = t.get(Some("supervisor"), &format!("/api/v1/natives/{id}")).await;
    assert_eq!(staff.ok()["city"], "杭州");
    assert!(staff.ok()["organisation"].is_null());
    let keeper = t.get(Some("leader"), &format!("/api/v1/natives/{id}")).await;
    assert_eq!((keeper.ok()["phone"].as_str(), keeper.ok()["may_manage"].as_bool()), (Some("13955550001"), Some(true)));
    assert_eq!(keeper.ok()["consent"]["organisation"], "private");
    t.get(None, &format!("/api/v1/natives/{hidden_id}")).await.problem(404, None);
    assert_eq!(t.get(Some("leader"), &format!("/api/v1/natives/{hidden_id}")).await.ok()["name"], "隐名");

    // A lead and its follow-up, for the keepers only.
    let lead = t
        .post(
            Some("leader"),
            &format!("/api/v1/natives/{id}/leads"),
            json!({ "kind": "donation", "title": "捐建社区卫生室", "body": "愿出资 20 万元" }),
        )
        .await;
    assert_eq!(lead.status, StatusCode::CREATED, "{lead:?}");
    let lead_id = lead.body["id"].as_i64().unwrap();
    let step = t
        .post(
            Some("leader"),
            &format!("/api/v1/leads/{lead_id}/follow-up"),
            json!({ "note": "已与镇卫健办对接选址", "status": "following" }),
        )
        .await;
    assert_eq!(step.ok()["status"], "following");
    assert_eq!(step.ok()["notes"][0]["by"], "leader 姓名");
    t.post(Some("supervisor"), &format!("/api/v1/leads/{lead_id}/follow-up"), json!({ "note": "x", "status": "done" }))
        .await
        .problem(404, None);
    t.get(Some("resident"), &format!("/api/v1/natives/{id}/leads")).await.problem(404, None);
    assert_eq!(t.get(Some("leader"), &format!("/api/v1/natives/{id}/leads")).await.ok().as_array().unwrap().len(), 1);

    // Invited to a consultation: an SMS with its link.
    let c = t
        .post(
            Some("leader"),
            "/api/v1/consultations",
            json!({ "region": "330483101001", "kind": "community_plan", "title": "社区卫生室选址", "body": "<p>两处备选</p>", "closes_at": iso(now() + 86_400_000) }),
        )
        .await;
    let cid = c.body["consultation"]["id"].as_i64().unwrap();
    let invited =
        t.post(Some("leader"), &format!("/api/v1/natives/{id}/invitations"), json!({ "consultation": cid })).await;
    assert_eq!(invited.status, StatusCode::CREATED, "{invited:?}");
    assert_eq!(invited.body["sent"], true);
    assert!(t.sms.sent_to("13955550001").iter().any(|m| m.contains(&format!("/consultations/{cid}"))));
    t.post(Some("leader"), &format!("/api/v1/natives/{id}/invitations"), json!({}))
        .await
        .problem(422, Some("consultation"));
    t.post(Some("leader"), &format!("/api/v1/natives/{id}/invitations"), json!({ "proposal": 999 }))
        .await
        .problem(404, Some("proposal"));
}
