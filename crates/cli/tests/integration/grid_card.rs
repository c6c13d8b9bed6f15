//! "Your grid member" (issue 17): the public card of a point's grid, its members and leader, the
//! card kept by its person and by admins, and messages to them through the platform.

use serde_json::{json, Value};

use crate::common::*;

async fn me(t: &TestApp, login: &str) -> i64 {
    t.get(Some(login), "/api/v1/me").await.ok()["person"]["id"].as_i64().unwrap()
}

async fn put(t: &TestApp, who: Option<&str>, path: &str, body: Value) -> Resp {
    t.send_raw(who, t.client.put(format!("{}{path}", t.base)).json(&body)).await
}

fn card_url(at: (f64, f64)) -> String {
    format!("/api/v1/grid-card?lat={}&lon={}", at.0, at.1)
}

#[tokio::test]
async fn grid_card_shows_members_and_leader_with_a_phone_only_where_consented() {
    let t = TestApp::spawn().await;
    let (member, leader) = (me(&t, "member").await, me(&t, "leader").await);
    let card = t.get(None, &card_url(IN_GRID1)).await;
    let c = card.ok();
    assert_eq!(c["grid"]["code"], GRID1);
    assert_eq!(c["grid"]["name"], "西栅一网格");
    assert_eq!(c["community"]["code"], "330483101001");
    assert_eq!(c["fallback"], false);
    assert_eq!(
        c["grid_members"],
        json!([{ "person": member, "role": "grid_member", "name": "member 姓名", "photo_url": null, "office_hours": null, "phone": null, "message": true }])
    );
    assert_eq!(c["community_leaders"][0]["person"], leader);
    assert_eq!(c["community_leaders"][0]["phone"], Value::Null);
    // No phone anywhere without consent.
    let text = c.to_string();
    assert!(!text.contains(&phone_of("member")) && !text.contains(&phone_of("leader")), "{text}");

    // The member gives a photo, office hours and consents to show the phone.
    let photo = t.upload_photo(Some("member")).await;
    let body = json!({ "photo": photo, "office_hours": "周一至周五 9:00–17:00，周六上午", "phone_public": true });
    let mine = put(&t, Some("member"), "/api/v1/me/card", body.clone()).await;
    assert_eq!(mine.ok()["phone_public"], true);
    assert_eq!(t.get(Some("member"), "/api/v1/me/card").await.ok()["office_hours"], "周一至周五 9:00–17:00，周六上午");
    let c = t.get(None, &format!("{}&crs=wgs84", card_url(IN_GRID1))).await.ok().clone();
    let m = &c["grid_members"][0];
    assert_eq!(m["phone"], phone_of("member"));
    assert_eq!(m["office_hours"], "周一至周五 9:00–17:00，周六上午");
    let url = m["photo_url"].as_str().unwrap().to_string();
    // The photo is public, as the card is.
    let r = t.client.get(format!("{}{url}", t.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    assert_eq!(c["community_leaders"][0]["phone"], Value::Null);
    // Consent withdrawn: the phone goes again.
    put(&t, Some("member"), "/api/v1/me/card", json!({ "photo": photo, "phone_public": false })).await.ok();
    assert_eq!(t.get(None, &card_url(IN_GRID1)).await.ok()["grid_members"][0]["phone"], Value::Null);

    // An admin keeps the leader's card (audited).
    let r = put(
        &t,
        Some("admin"),
        &format!("/api/v1/admin/people/{leader}/card"),
        json!({ "office_hours": "每周三接待", "phone_public": true }),
    )
    .await;
    assert_eq!(r.ok()["office_hours"], "每周三接待");
    let got = t.get(Some("admin"), &format!("/api/v1/admin/people/{leader}/card")).await;
    assert_eq!(got.ok()["phone"], phone_of("leader"));
    assert_eq!(got.ok()["phone_public"], true);
    t.get(Some("dispatcher"), &format!("/api/v1/admin/people/{leader}/card")).await.problem(403, None);
    let c = t.get(None, &card_url(IN_GRID2)).await.ok().clone();
    // Grid 2 has no member: its community's leader answers for it.
    assert_eq!(c["fallback"], true);
    assert_eq!(c["grid_members"], json!([]));
    assert_eq!(c["community_leaders"][0]["phone"], phone_of("leader"));
    let audit = t.get(Some("auditor"), "/api/v1/audit?action=card").await;
    assert_eq!(audit.ok()["items"][0]["object"], format!("person:{leader}"));

    // Refusals.
    t.get(None, &card_url(OUTSIDE)).await.problem(404, Some("lat"));
    t.get(None, &format!("{}&crs=utm", card_url(IN_GRID1))).await.problem(422, Some("crs"));
    t.get(None, "/api/v1/grid-card?lat=30.005").await.problem(422, Some("lon"));
    t.get(None, &format!("{}&address=x", card_url(IN_GRID1))).await.problem(422, Some("address"));
    put(&t, None, "/api/v1/me/card", json!({})).await.problem(401, None);
    put(&t, Some("resident"), "/api/v1/me/card", json!({})).await.problem(403, None);
    t.get(Some("resident"), "/api/v1/me/card").await.problem(403, None);
    let others = t.upload_photo(Some("resident")).await;
    put(&t, Some("member"), "/api/v1/me/card", json!({ "photo": others })).await.problem(404, Some("photo"));
    put(&t, Some("member"), "/api/v1/me/card", json!({ "office_hours": "x".repeat(201) }))
        .await
        .problem(422, Some("office_hours"));
    put(&t, Some("member"), "/api/v1/me/card", json!({ "phone": "1" })).await.problem(422, None);
    put(&t, Some("dispatcher"), &format!("/api/v1/admin/people/{member}/card"), json!({})).await.problem(403, None);
    put(&t, Some("admin"), "/api/v1/admin/people/99999/card", json!({})).await.problem(404, None);
}

#[tokio::test]
async fn grid_card_messages_reach_the_member_with_who_sent_them() {
    let t = TestApp::spawn().await;
    let member = me(&t, "member").await;
    let resident = me(&t, "resident").await;
    let send = |who: Option<&'static str>, body: Value| {
        let t = &t;
        async move { t.post(who, "/api/v1/grid-card/messages", body).await }
    };
    let r = send(
        None,
        json!({ "grid": GRID1, "to": member, "text": "楼道灯坏了好几天", "phone": "138 1234 5678", "name": "王阿姨" }),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    let r = send(Some("resident"), json!({ "grid": GRID1, "to": member, "text": "垃圾桶满了" })).await;
    assert_eq!(r.status, 201, "{r:?}");
    // The leader of the community is on the card too.
    let leader = me(&t, "leader").await;
    assert_eq!(
        send(None, json!({ "grid": GRID1, "to": leader, "text": "你好", "phone": "13812345679" })).await.status,
        201
    );

    let inbox = t.get(Some("member"), "/api/v1/me/messages").await.ok().clone();
    assert_eq!(inbox["unread"], 2);
    let items = inbox["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["text"], "垃圾桶满了");
    assert_eq!(items[0]["sender"], resident);
    assert_eq!(items[0]["sender_name"], "resident 姓名");
    assert_eq!(items[0]["sender_phone"], gridkeeper_store::vault::mask_phone(&phone_of("resident")));
    assert_eq!(items[1]["sender_name"], "王阿姨");
    assert_eq!(items[1]["sender_phone"], "138****5678");
    assert_eq!(items[1]["grid"], GRID1);
    // Calling back: the phone in clear, written to the audit log.
    let id = items[1]["id"].as_i64().unwrap();
    let revealed = t.post(Some("member"), &format!("/api/v1/me/messages/{id}/reveal"), json!({})).await;
    assert_eq!(revealed.ok()["sender_phone"], "13812345678");
    let audit = t.get(Some("auditor"), "/api/v1/audit?action=reveal").await;
    assert_eq!(audit.ok()["items"][0]["object"], format!("message:{id}"));
    let r = t.post(Some("member"), &format!("/api/v1/me/messages/{id}/read"), json!({})).await;
    assert_eq!(r.ok()["unread"], 1);
    // Someone else's message does not exist for them.
    t.post(Some("resident"), &format!("/api/v1/me/messages/{id}/read"), json!({})).await.problem(404, None);
    t.post(Some("leader"), &format!("/api/v1/me/messages/{id}/reveal"), json!({})).await.problem(404, None);
    assert_eq!(t.get(Some("resident"), "/api/v1/me/messages").await.ok()["items"], json!([]));
    t.get(None, "/api/v1/me/messages").await.problem(401, None);

    // Refusals, each naming its field.
    let ok = |k: &str, v: Value| {
        let mut b = json!({ "grid": GRID1, "to": member, "text": "你好", "phone": "13812345678" });
        b[k] = v;
        b
    };
    send(None, ok("text", json!("   "))).await.problem(422, Some("text"));
    send(None, ok("text", json!("字".repeat(501)))).await.problem(422, Some("text"));
    send(None, ok("phone", json!("abc"))).await.problem(422, Some("phone"));
    send(None, ok("phone", Value::Null)).await.problem(401, Some("phone"));
    send(None, ok("grid", json!("nonsense"))).await.problem(422, Some("grid"));
    send(None, ok("grid", json!("330483101009009"))).await.problem(404, Some("grid"));
    send(None, ok("to", json!(resident))).await.problem(404, Some("to"));
    send(None, ok("grid", json!(GRID3))).await.problem(404, Some("to"));
    send(None, ok("extra", json!(1))).await.problem(422, None);
    // Five a day from one sender.
    for _ in 0..4 {
        assert_eq!(
            send(Some("resident"), json!({ "grid": GRID1, "to": member, "text": "再问一下" })).await.status,
            201
        );
    }
    send(Some("resident"), json!({ "grid": GRID1, "to": member, "text": "又一次" })).await.problem(429, None);
}
