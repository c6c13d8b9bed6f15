//! The public map `GET /api/v1/public/cases`: what anyone sees of the cases near them, and what
//! they never see.

use serde_json::{json, Value};

use crate::common::*;

/// A box around the fixture's three grids, as Leaflet sends it: west,south,east,north.
const ALL: &str = "120.0,30.0,120.03,30.01";
/// A box around grid 1 only.
const GRID1_BOX: &str = "120.0,30.0,120.01,30.01";

fn by_reference<'a>(items: &'a Value, reference: &Value) -> Option<&'a Value> {
    items["items"].as_array().unwrap().iter().find(|i| i["reference"] == *reference)
}

async fn report_with_photo(app: &TestApp, category: i64, at: (f64, f64)) -> (i64, Value, String) {
    let photo = app.upload_photo(Some("resident")).await;
    let r = app
        .post(
            Some("resident"),
            "/api/v1/cases",
            json!({ "description": "门口摊贩占道 blocking the door", "lat": at.0, "lon": at.1, "category": category,
                    "photos": [photo], "contact_name": "王小明", "contact_phone": "13912345678" }),
        )
        .await;
    let case = r.ok()["case"].clone();
    (case["id"].as_i64().unwrap(), case["reference"].clone(), photo)
}

#[tokio::test]
async fn shows_public_cases_with_before_and_after_and_hides_what_is_private() {
    let app = TestApp::spawn().await;
    // A public category, handled with evidence.
    let (fixed, fixed_ref, before) = report_with_photo(&app, MANHOLE, IN_GRID1).await;
    app.act("dispatcher", fixed, "accept", json!({ "category": MANHOLE, "urgency": "urgent" })).await;
    app.act("dispatcher", fixed, "dispatch", json!({ "lead_department": CITY_MGMT })).await;
    app.act("staff", fixed, "sign", json!({})).await;
    let evidence = app.upload_photo(Some("staff")).await;
    app.act("staff", fixed, "submit_result", json!({ "note": "已更换井盖", "evidence": [evidence] })).await;
    // A category that is not public (street vendors, in the fixture), accepted.
    let (private, private_ref, private_photo) = report_with_photo(&app, VENDOR, IN_GRID1).await;
    app.act("dispatcher", private, "accept", json!({ "category": VENDOR, "urgency": "routine" })).await;
    // A raw report, a rejected one, and a case in another grid.
    let (_, raw_ref, _) = report_with_photo(&app, MANHOLE, IN_GRID1).await;
    let (rejected, rejected_ref, _) = report_with_photo(&app, MANHOLE, IN_GRID1).await;
    app.act("dispatcher", rejected, "reject", json!({ "reason": "invalid", "note": "不是问题" })).await;
    let (elsewhere, elsewhere_ref, _) = report_with_photo(&app, MANHOLE, IN_GRID3).await;
    app.act("dispatcher", elsewhere, "accept", json!({ "category": MANHOLE, "urgency": "urgent" })).await;

    let map = app.get(None, &format!("/api/v1/public/cases?bbox={GRID1_BOX}")).await.ok().clone();
    let text = map.to_string();
    for secret in ["13912345678", "王小明", "reporter", "contact", "suggested_location"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }

    // The public case: description, exact location, the report's photo and the evidence.
    let f = by_reference(&map, &fixed_ref).expect("the public case is on the map");
    assert_eq!((f["public"].as_bool(), f["state"].as_str()), (Some(true), Some("resolved")));
    assert_eq!(f["category"]["id"], MANHOLE);
    assert!(f["description"].as_str().unwrap().contains("blocking"));
    assert_eq!((f["location"]["lat"].as_f64(), f["location"]["lon"].as_f64()), (Some(IN_GRID1.0), Some(IN_GRID1.1)));
    assert_eq!(f["before"][0]["id"], before.as_str());
    assert_eq!(f["after"][0]["id"], evidence.as_str());
    assert_eq!(f["before"].as_array().unwrap().len(), 1);
    assert_eq!(f["after"].as_array().unwrap().len(), 1);
    // ...and anyone may load those thumbnails.
    let thumb = app
        .client
        .get(format!("{}{}", app.base, f["after"][0]["thumbnail_url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(thumb.status(), 200);
    assert_eq!(thumb.headers()["content-type"], "image/jpeg");

    // The non-public case: only that a problem of its category exists about there.
    let p = by_reference(&map, &private_ref).expect("the non-public case is on the map, coarsened");
    assert_eq!(p["public"], false);
    assert_eq!(p["description"], Value::Null);
    assert_eq!((p["before"].as_array().unwrap().len(), p["after"].as_array().unwrap().len()), (0, 0));
    let (lat, lon) = (p["location"]["lat"].as_f64().unwrap(), p["location"]["lon"].as_f64().unwrap());
    assert!((lat, lon) != IN_GRID1, "not exact");
    assert!(((lat / 0.002).round() * 0.002 - lat).abs() < 1e-9 && ((lon / 0.002).round() * 0.002 - lon).abs() < 1e-9);
    assert!((lat - IN_GRID1.0).abs() <= 0.001 + 1e-9 && (lon - IN_GRID1.1).abs() <= 0.001 + 1e-9);
    // ...and its photo stays private.
    app.get(None, &format!("/api/v1/media/{private_photo}/thumbnail")).await.problem(404, None);

    // Not on the map: a report not yet accepted, a rejected one, a case outside the box.
    for hidden in [&raw_ref, &rejected_ref, &elsewhere_ref] {
        assert!(by_reference(&map, hidden).is_none(), "{hidden} should not be on the map");
    }
    let wide = app.get(None, &format!("/api/v1/public/cases?bbox={ALL}")).await.ok().clone();
    assert!(by_reference(&wide, &elsewhere_ref).is_some());
    // Around a point works too.
    let near = app.get(None, &format!("/api/v1/public/cases?lat={}&lon={}&radius_m=300", IN_GRID3.0, IN_GRID3.1)).await;
    let near = near.ok();
    assert!(by_reference(near, &elsewhere_ref).is_some() && by_reference(near, &fixed_ref).is_none());

    // Tapping a case: its public view has the same before and after photos.
    let view = app.get(None, &format!("/api/v1/public/cases/{}", fixed_ref.as_str().unwrap())).await;
    assert_eq!(view.ok()["before"][0]["id"], before.as_str());
    assert_eq!(view.ok()["after"][0]["id"], evidence.as_str());
    assert!(!view.body.to_string().contains("13912345678"));
}

#[tokio::test]
async fn refuses_bad_areas_by_name() {
    let app = TestApp::spawn().await;
    for (query, field) in [
        ("", "bbox"),
        ("bbox=120,30,121", "bbox"),
        ("bbox=120,30,west,31", "bbox"),
        ("bbox=121,30,120,31", "bbox"),
        ("bbox=100,10,120,31", "bbox"),
        ("bbox=120,95,120.1,96", "bbox"),
        (&format!("bbox={ALL}&lat=30"), "bbox"),
        ("lat=30", "lon"),
        ("lat=300&lon=120", "lat"),
        ("lat=30&lon=120&radius_m=100000", "radius_m"),
        (&format!("bbox={ALL}&days=0"), "days"),
        (&format!("bbox={ALL}&limit=1000"), "limit"),
    ] {
        app.get(None, &format!("/api/v1/public/cases?{query}")).await.problem(422, Some(field));
    }
    app.get(None, &format!("/api/v1/public/cases?bbox={ALL}&state=open")).await.problem(422, Some("state"));
}
