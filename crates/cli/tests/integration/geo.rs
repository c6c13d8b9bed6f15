//! Geography over HTTP and from the command line: importing real region trees (San Francisco's
//! tracts, Los Angeles' neighbourhood councils), locating points in three coordinate systems,
//! responsibility with its fallback, boundary changes with history, export.

use std::path::{Path, PathBuf};

use gridkeeper_geo::Crs;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::*;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(name)
}

/// The records of a CSV text (RFC 4180: quoted fields may hold commas, quotes and newlines).
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let (mut records, mut record, mut field, mut quoted) = (Vec::new(), Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => record.push(std::mem::take(&mut field)),
            ('\r', false) => {}
            ('\n', false) => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (c, _) => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}

async fn import(t: &TestApp, who: &str, file: &str, query: &str) -> Resp {
    let text = std::fs::read_to_string(data(file)).unwrap();
    t.post_text(Some(who), &format!("/api/v1/regions/import?{query}"), "application/geo+json", text).await
}

async fn person_id(t: &TestApp, login: &str) -> i64 {
    t.store.person_by_login(login).await.unwrap().unwrap().id
}

/// Every one of the 4,984 sampled SF311 cases lies in the census tract its `tractce10` column
/// names. Import the tracts as grids (neighbourhoods as communities) and locate them all.
#[tokio::test]
async fn every_sf311_point_is_located_in_its_census_tract() {
    let t = TestApp::spawn().await;
    // San Francisco as district 990001 (a district of its own: the fixture's has an outline).
    t.add_person("sf-admin", &[(gridkeeper_domain::Role::Admin, "region:990001")]).await;
    let r = import(
        &t,
        "sf-admin",
        "sf_census_tracts_with_analysis_neighborhood.geojson",
        "level=grid&code_property=tractce10&parent_property=nhood&under=990001001&under_name=San%20Francisco",
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["summary"]["created"], 195);
    assert_eq!(r.body["report"]["issues"], json!([]));
    let csv = std::fs::read_to_string(data("sf311_cases_sample_2008_2016.csv")).unwrap();
    let records = csv_records(&csv);
    let header = &records[0];
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (lat, lon, tract) = (col("Lat"), col("Long"), col("tractce10"));
    let points: Vec<(String, String, u32)> =
        records[1..].iter().map(|f| (f[lat].clone(), f[lon].clone(), f[tract].parse().unwrap())).collect();
    assert_eq!(points.len(), 4984);
    // Eight clients at once; each answer's grid is named by the tract number.
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in points.chunks(points.len().div_ceil(8)) {
        let (client, base, chunk) = (t.client.clone(), t.base.clone(), chunk.to_vec());
        tasks.spawn(async move {
            let mut wrong = Vec::new();
            for (lat, lon, tract) in chunk {
                let v: Value = client
                    .get(format!("{base}/api/v1/locate?lat={lat}&lon={lon}"))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let got = v["grid"]["name"].as_str().and_then(|n| n.parse::<u32>().ok());
                if got != Some(tract) {
                    wrong.push(format!("({lat}, {lon}) in {got:?}, expected {tract}"));
                }
            }
            wrong
        });
    }
    let mut wrong = Vec::new();
    while let Some(w) = tasks.join_next().await {
        wrong.extend(w.unwrap());
    }
    assert!(wrong.is_empty(), "{} of 4984 points misplaced: {:?}", wrong.len(), &wrong[..wrong.len().min(10)]);
}

/// Runs the real binary on a fresh database in `dir`.
fn gridkeeper(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_gridkeeper"))
        .args(args)
        .current_dir(dir)
        .env("GRIDKEEPER__DATABASE__URL", format!("sqlite:{}", dir.join("regions.db").display()))
        .env("GRIDKEEPER__LOG__LEVEL", "warn")
        .output()
        .unwrap()
}

/// Los Angeles' councils overlap and one is self-intersecting: the import is refused with a
/// report naming them, stores nothing, and `--repair` turns them into a valid tiling with every
/// change listed.
#[test]
fn los_angeles_is_refused_with_a_report_then_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let file = data("la_neighborhood_councils_2021.geojson");
    let file = file.to_str().unwrap();
    let base = [
        "import",
        "regions",
        file,
        "--level",
        "grid",
        "--code-property",
        "nc_id",
        "--name-property",
        "name",
        "--parent-property",
        "service_re",
        "--under",
        "990002001",
        "--under-name",
        "Los Angeles",
    ];
    let refused = gridkeeper(dir.path(), &[&base[..], &["--report", "refused.json"]].concat());
    assert!(!refused.status.success(), "{}", String::from_utf8_lossy(&refused.stdout));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("refused") && stderr.contains("nothing was stored"), "{stderr}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("refused.json")).unwrap()).unwrap();
    assert_eq!(report["accepted"], false);
    let issues = report["issues"].as_array().unwrap();
    let invalid: Vec<&Value> = issues.iter().filter(|i| i["kind"] == "invalid_geometry").collect();
    assert_eq!(invalid.len(), 1, "{invalid:?}");
    assert_eq!(invalid[0]["region"]["name"], "HARBOR GATEWAY SOUTH NC");
    assert!(invalid[0]["reason"].as_str().unwrap().contains("self-intersection"));
    assert!(invalid[0]["at"]["lat"].as_f64().is_some());
    let overlaps: Vec<(&str, &str)> = issues
        .iter()
        .filter(|i| i["kind"] == "overlap")
        .map(|i| (i["a"]["name"].as_str().unwrap(), i["b"]["name"].as_str().unwrap()))
        .collect();
    assert!(overlaps.len() > 100, "{}", overlaps.len());
    for pair in [("ARROYO SECO NC", "HERMON NC"), ("HOLLYWOOD UNITED NC", "LOS FELIZ NC")] {
        assert!(overlaps.contains(&pair) || overlaps.contains(&(pair.1, pair.0)), "{pair:?} in {overlaps:?}");
    }
    assert!(issues.iter().any(|i| i["kind"] == "gap" && i["area_m2"].as_f64().unwrap() > 0.0));
    // Nothing was stored: validating the empty tree finds nothing wrong with it.
    let out = gridkeeper(dir.path(), &["regions", "validate"]);
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("0 issue(s)"));

    let repaired = gridkeeper(dir.path(), &[&base[..], &["--repair", "--report", "repaired.json"]].concat());
    assert!(repaired.status.success(), "{}", String::from_utf8_lossy(&repaired.stderr));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("repaired.json")).unwrap()).unwrap();
    assert_eq!((&report["accepted"], &report["issues"]), (&json!(true), &json!([])));
    let changes = report["changes"].as_array().unwrap();
    let count = |kind: &str| changes.iter().filter(|c| c["kind"] == kind).count();
    assert_eq!(count("made_valid"), 1);
    assert!(count("overlap_removed") >= overlaps.len() / 2, "{}", count("overlap_removed"));
    assert!(count("gap_filled") > 0);
    for c in changes {
        assert!(c["area_m2"].as_f64().is_some() || c["area_after_m2"].as_f64().is_some(), "{c}");
    }
    let out = gridkeeper(dir.path(), &["regions", "validate", "--under", "990002001", "--report", "valid.md"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let md = std::fs::read_to_string(dir.path().join("valid.md")).unwrap();
    assert!(md.contains("**valid**"), "{md}");
}

/// Phones and map SDKs in China report GCJ-02 (AMap, Tencent, WeChat) or BD-09 (Baidu): the same
/// place sent in any system lands in the same grid.
#[tokio::test]
async fn locate_takes_gcj02_and_bd09_and_says_who_is_responsible() {
    let t = TestApp::spawn().await;
    let wgs = gridkeeper_domain::LatLon { lat: IN_GRID1.0, lon: IN_GRID1.1 };
    for crs in Crs::ALL {
        let p = crs.from_wgs84(wgs);
        let r = t.get(None, &format!("/api/v1/locate?lat={}&lon={}&crs={}", p.lat, p.lon, crs.as_str())).await;
        let body = r.ok();
        assert_eq!(body["grid"]["code"], GRID1, "{crs:?}: {body}");
        assert_eq!(body["community"]["code"], "330483101001");
        assert_eq!(body["input"]["crs"], crs.as_str());
        let back = gridkeeper_domain::LatLon {
            lat: body["wgs84"]["lat"].as_f64().unwrap(),
            lon: body["wgs84"]["lon"].as_f64().unwrap(),
        };
        assert!(back.distance_m(&wgs) < 0.01, "{crs:?}: {back:?}");
    }
    // Without `crs`, coordinates are GPS ones: GCJ-02 ones taken as such are hundreds of metres off.
    let g = Crs::Gcj02.from_wgs84(wgs);
    let off = t.get(None, &format!("/api/v1/locate?lat={}&lon={}", g.lat, g.lon)).await.ok().clone();
    assert_eq!((off["wgs84"]["lat"].as_f64(), off["wgs84"]["lon"].as_f64()), (Some(g.lat), Some(g.lon)));
    assert!(g.distance_m(&wgs) > 300.0, "{}", g.distance_m(&wgs));
    t.get(None, "/api/v1/locate?lat=30&lon=120&crs=mercator").await.problem(422, Some("crs"));
    // A report sent from a map SDK in BD-09 is stored in WGS-84, in the right grid.
    let bd = Crs::Bd09.from_wgs84(wgs);
    let body = json!({ "description": "路灯不亮", "lat": bd.lat, "lon": bd.lon, "crs": "bd09", "urgency": "routine" });
    let r = t.post(Some("resident"), "/api/v1/cases", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["case"]["grid"], GRID1);
    let stored = gridkeeper_domain::LatLon {
        lat: r.body["case"]["location"]["lat"].as_f64().unwrap(),
        lon: r.body["case"]["location"]["lon"].as_f64().unwrap(),
    };
    assert!(stored.distance_m(&wgs) < 1.0, "{stored:?}");
    let form = reqwest::multipart::Form::new()
        .text("description", "井盖缺失")
        .text("lat", g.lat.to_string())
        .text("lon", g.lon.to_string())
        .text("crs", "gcj02");
    let r = t.post_multipart(None, "/api/v1/cases", form).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["case"]["grid"], GRID1);
    t.post(None, "/api/v1/cases", json!({ "description": "x", "lat": 30.0, "lon": 120.0, "crs": "utm" }))
        .await
        .problem(422, Some("crs"));

    // The grid member and the grid leader answer for their grid and community from the moment
    // they hold the role (one truth: the role is the assignment).
    let (member, leader) = (person_id(&t, "member").await, person_id(&t, "leader").await);
    let mine = t.get(None, &format!("/api/v1/locate?lat={}&lon={}", IN_GRID1.0, IN_GRID1.1)).await.ok().clone();
    assert_eq!(mine["responsible"]["fallback"], false);
    assert_eq!(mine["responsible"]["accountable"][0]["person"], member);
    // The public sees a masked name, staff the name.
    assert_eq!(mine["responsible"]["accountable"][0]["name"], gridkeeper_store::vault::mask_name("member 姓名"));
    let staff = t.get(Some("dispatcher"), &format!("/api/v1/locate?lat={}&lon={}", IN_GRID1.0, IN_GRID1.1)).await;
    assert_eq!(staff.ok()["responsible"]["accountable"][0]["name"], "member 姓名");
    // Grid 2 has no member: its community's grid leader answers for it (属地兜底).
    let other = t.get(None, &format!("/api/v1/locate?lat={}&lon={}", IN_GRID2.0, IN_GRID2.1)).await.ok().clone();
    assert_eq!(other["responsible"]["fallback"], true);
    assert_eq!(other["responsible"]["accountable"][0]["person"], leader);
}

#[tokio::test]
async fn assignments_have_periods_and_the_admin_sees_the_gaps() {
    let t = TestApp::spawn().await;
    let (member, member3, leader) =
        (person_id(&t, "member").await, person_id(&t, "member3").await, person_id(&t, "leader").await);
    let assign = |body: Value| {
        let t = &t;
        async move { t.post(Some("admin"), "/api/v1/assignments", body).await }
    };
    // One truth of who answers for a grid: a grid role over a grid (or a community, for a grid
    // leader) is an open assignment there, from the moment the role was given.
    let list = t.get(Some("admin"), "/api/v1/assignments?under=330483").await.ok().clone();
    let held: Vec<(i64, &str, &str)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["person"].as_i64().unwrap(), a["region"].as_str().unwrap(), a["role"].as_str().unwrap()))
        .collect();
    for want in
        [(member, GRID1, "grid_member"), (member3, GRID3, "grid_member"), (leader, "330483101001", "grid_leader")]
    {
        assert!(held.contains(&want), "{want:?} in {held:?}");
    }
    let id = list["items"].as_array().unwrap().iter().find(|a| a["region"] == GRID1).unwrap()["id"].as_i64().unwrap();
    // Refusals name the field.
    assign(
        json!({ "person": member, "region": GRID1, "role": "grid_member", "starts_at": "2026-03-01T00:00:00+08:00" }),
    )
    .await
    .problem(409, Some("starts_at"));
    assign(json!({ "person": 9999, "region": GRID2, "role": "grid_member" })).await.problem(404, Some("person"));
    assign(json!({ "person": leader, "region": GRID1, "role": "grid_leader" })).await.problem(422, Some("region"));
    assign(json!({ "person": member, "region": GRID1, "role": "dispatcher" })).await.problem(422, Some("role"));
    assign(json!({ "person": member, "region": GRID1, "role": "grid_member", "colour": "red" }))
        .await
        .problem(422, Some("colour"));
    t.post(
        Some("outsider"),
        "/api/v1/assignments",
        json!({ "person": member, "region": GRID1, "role": "grid_member" }),
    )
    .await
    .problem(403, None);

    // Who was responsible when: grid 2 has no member, its community's leader answers for it.
    let gaps = t.get(Some("admin"), "/api/v1/responsibility/gaps?under=330483").await.ok().clone();
    let grids: Vec<(&str, &str)> = gaps["grids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["grid"].as_str().unwrap(), g["status"].as_str().unwrap()))
        .collect();
    assert_eq!(grids, [(GRID2, "fallback")]);
    assert_eq!(gaps["grids"][0]["accountable"][0]["person"], leader);
    assert_eq!(gaps["communities_without_leader"], json!(["330483101002"]));
    let before =
        t.get(Some("admin"), "/api/v1/responsibility/gaps?under=330483&at=2025-06-01T00:00:00Z").await.ok().clone();
    assert_eq!(before["grids"].as_array().unwrap().len(), 3, "nobody was assigned yet: {before}");

    // Ending an assignment: grid 1 falls back to the leader from then on, and the role over it
    // goes with it; assigning gives it back.
    let ended = t.post(Some("admin"), &format!("/api/v1/assignments/{id}/end"), json!({})).await;
    assert!(ended.ok()["assignment"]["ends_at"].is_string());
    t.post(Some("admin"), &format!("/api/v1/assignments/{id}/end"), json!({})).await.problem(409, Some("at"));
    let gaps = t.get(Some("admin"), "/api/v1/responsibility/gaps?under=330483").await.ok().clone();
    assert_eq!(gaps["grids"].as_array().unwrap().len(), 2);
    let grants = t.get(Some("member"), "/api/v1/me").await.ok()["person"]["grants"].to_string();
    assert!(!grants.contains(GRID1), "the role went with the assignment: {grants}");
    assign(json!({ "person": member, "region": GRID1, "role": "grid_member" })).await.ok();
    let grants = t.get(Some("member"), "/api/v1/me").await.ok()["person"]["grants"].to_string();
    assert!(grants.contains(GRID1), "assigning gave the role back: {grants}");
    let list = t.get(Some("dispatcher"), "/api/v1/assignments?under=330483101001").await.ok().clone();
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    t.get(Some("resident"), "/api/v1/assignments").await.problem(403, None);
    t.get(Some("dispatcher"), "/api/v1/responsibility/gaps?under=330483").await.problem(403, None);
}

fn square(x0: f64, y0: f64, w: f64, h: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h], [x0, y0]]]})
}

fn collection(features: &[(&str, Value)]) -> String {
    let fs: Vec<Value> =
        features.iter().map(|(k, g)| json!({ "type": "Feature", "properties": { "id": k }, "geometry": g })).collect();
    json!({ "type": "FeatureCollection", "features": fs }).to_string()
}

/// Splitting a grid: the old one is retired, its cases keep it, its area goes to the new grids
/// (recorded), new reports land in the new grids, and the export shows live figures.
#[tokio::test]
async fn a_split_keeps_old_cases_in_their_grid_and_records_where_the_area_went() {
    let t = TestApp::spawn().await;
    // The fixture's eastern community (120.02–120.03, one grid) is re-divided into grids A and B.
    let url = "/api/v1/regions/import?level=grid&code_property=id&under=330483101002";
    let first = collection(&[("A", square(120.02, 30.0, 0.005, 0.01)), ("B", square(120.025, 30.0, 0.005, 0.01))]);
    let r = t.post_text(Some("admin"), url, "application/json", first.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["retire"], json!([GRID3]), "the grid the file no longer has is retired");
    let a = r.body["codes"]["A"].as_str().unwrap().to_string();
    assert_eq!(a, "330483101002002");
    let case = t.report(Some("resident"), (30.005, 120.022), Some(MANHOLE)).await;
    let case_id = id_of(&case);
    assert_eq!(case["case"]["grid"], a.as_str());
    // Importing the same file again changes nothing.
    let again = t.post_text(Some("admin"), url, "application/json", first).await;
    assert_eq!(again.ok()["summary"]["unchanged"], 2);
    // A is split into A1 (west half) and A2.
    let split = collection(&[
        ("A1", square(120.02, 30.0, 0.0025, 0.01)),
        ("A2", square(120.0225, 30.0, 0.0025, 0.01)),
        ("B", square(120.025, 30.0, 0.005, 0.01)),
    ]);
    let r = t.post_text(Some("admin"), url, "application/json", split).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["retire"], json!([a]));
    let (a1, a2) =
        (r.body["codes"]["A1"].as_str().unwrap().to_string(), r.body["codes"]["A2"].as_str().unwrap().to_string());
    assert_eq!((a1.as_str(), a2.as_str()), ("330483101002004", "330483101002005"));
    // The old case keeps its grid; lists by the old grid still find it.
    let d = t.detail("dispatcher", case_id).await;
    assert_eq!(d["case"]["grid"], a.as_str());
    let list = t.get(Some("dispatcher"), &format!("/api/v1/cases?region={a}")).await.ok().clone();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // New reports at the same place land in the new grid (the index was rebuilt).
    let new = t.report(Some("resident"), (30.005, 120.021), Some(MANHOLE)).await;
    assert_eq!(new["case"]["grid"], a1.as_str());
    // History: where A's area went, and where A1's came from.
    let h = t.get(None, &format!("/api/v1/regions/{a}/history")).await.ok().clone();
    assert!(h["region"]["retired_at"].is_string());
    let to: Vec<&str> = h["successors"].as_array().unwrap().iter().map(|l| l["to"].as_str().unwrap()).collect();
    assert_eq!(to, [a1.as_str(), a2.as_str()]);
    let h1 = t.get(None, &format!("/api/v1/regions/{a1}/history")).await.ok().clone();
    assert_eq!(h1["predecessors"][0]["from"], a.as_str());
    // A boundary move keeps the earlier geometry as a version.
    let moved = collection(&[
        ("A1", square(120.02, 30.0, 0.003, 0.01)),
        ("A2", square(120.023, 30.0, 0.002, 0.01)),
        ("B", square(120.025, 30.0, 0.005, 0.01)),
    ]);
    let r = t.post_text(Some("admin"), url, "application/json", moved).await;
    assert_eq!(r.ok()["summary"]["updated"], 2);
    let h1 = t.get(None, &format!("/api/v1/regions/{a1}/history")).await.ok().clone();
    assert_eq!(h1["versions"][0]["geometry"]["coordinates"][0][1][0], 120.0225);
    t.get(None, "/api/v1/regions/330483101002999/history").await.problem(404, None);

    // Export: the community's live grids, with figures for staff.
    let fc = t.get(Some("dispatcher"), "/api/v1/regions/export?under=330483101002&zoom=15").await;
    assert_eq!(fc.content_type, "application/geo+json");
    let features = fc.body["features"].as_array().unwrap();
    let codes: Vec<&str> = features.iter().map(|f| f["properties"]["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["330483101002", "330483101002003", a1.as_str(), a2.as_str()]);
    let f1 = features.iter().find(|f| f["properties"]["code"] == a1.as_str()).unwrap();
    assert_eq!((&f1["properties"]["open"], &f1["properties"]["last_30_days"]), (&json!(1), &json!(1)));
    let public = t.get(None, "/api/v1/regions/export?under=330483101002").await;
    assert!(public.body["features"][1]["properties"].get("open").is_none());
    t.get(None, "/api/v1/regions/export?under=330483101002&zoom=30").await.problem(422, Some("zoom"));
}

#[tokio::test]
async fn imports_over_http_are_for_admins_and_refuse_bad_input_by_field() {
    let t = TestApp::spawn().await;
    let body = collection(&[("A", square(120.02, 30.0, 0.01, 0.01))]);
    let url = "/api/v1/regions/import?level=grid&code_property=id&under=330483101002";
    t.post_text(Some("dispatcher"), url, "application/json", body.clone()).await.problem(403, None);
    t.post_text(Some("outsider"), url, "application/json", body.clone()).await.problem(403, None);
    t.post_text(
        Some("admin"),
        "/api/v1/regions/import?code_property=id&under=330483101002",
        "application/json",
        body.clone(),
    )
    .await
    .problem(422, Some("level"));
    t.post_text(
        Some("admin"),
        "/api/v1/regions/import?level=grid&code_property=id&under=330483101",
        "application/json",
        body.clone(),
    )
    .await
    .problem(422, Some("under"));
    t.post_text(Some("admin"), &format!("{url}&colour=red"), "application/json", body.clone())
        .await
        .problem(422, Some("colour"));
    t.post_text(Some("admin"), url, "application/json", "{\"type\": \"Feature\"}".into())
        .await
        .problem(422, Some("file"));
    let pointy = json!({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"id": "P"}, "geometry": {"type": "Point", "coordinates": [120.0, 30.0]}}]});
    t.post_text(Some("admin"), url, "application/json", pointy.to_string())
        .await
        .problem(422, Some("features[0].geometry"));
    // A grid sticking out of its community into the next one is refused with the report.
    let sticking_out = collection(&[("A", square(120.015, 30.0, 0.015, 0.01))]);
    let r = t.post_text(Some("admin"), url, "application/json", sticking_out).await;
    r.problem(422, None);
    let issue = &r.body["report"]["issues"][0];
    assert_eq!((&issue["kind"], &issue["parent"]["code"]), (&json!("outside_parent"), &json!("330483101002")), "{r:?}");
    assert!(issue["area_m2"].as_f64().unwrap() > 500_000.0, "{r:?}");
    // A dry run stores nothing.
    let dry = t.post_text(Some("admin"), &format!("{url}&dry_run=true"), "application/json", body).await;
    assert_eq!(dry.status, StatusCode::OK, "{dry:?}");
    assert_eq!(dry.body["import_id"], Value::Null);
    let here = t.get(None, &format!("/api/v1/locate?lat={}&lon={}", IN_GRID3.0, IN_GRID3.1)).await;
    assert_eq!(here.ok()["grid"]["code"], GRID3, "a dry run stores nothing");
    let v = t.get(Some("admin"), "/api/v1/regions/validate?under=330483").await.ok().clone();
    assert_eq!(v["valid"], true, "{v}");
}

/// `gridkeeper import regions` run by another process on the server's database: the running
/// server notices and rebuilds its grid index within seconds.
#[tokio::test]
async fn a_running_server_picks_up_an_import_made_by_the_command() {
    let t = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("east.geojson");
    std::fs::write(
        &file,
        collection(&[("E1", square(120.02, 30.0, 0.005, 0.01)), ("E2", square(120.025, 30.0, 0.005, 0.01))]),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gridkeeper"))
        .args([
            "import",
            "regions",
            file.to_str().unwrap(),
            "--level",
            "grid",
            "--code-property",
            "id",
            "--under",
            "330483101002",
        ])
        .current_dir(dir.path())
        .env("GRIDKEEPER__DATABASE__URL", &t.db_url)
        .env("GRIDKEEPER__LOG__LEVEL", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let at = "/api/v1/locate?lat=30.005&lon=120.028";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let grid = t.get(None, at).await.ok()["grid"]["code"].clone();
        if grid == "330483101002003" {
            break;
        }
        assert_eq!(grid, GRID3, "before the rebuild, the old grid answers");
        assert!(std::time::Instant::now() < deadline, "the server did not pick up the import");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// A case placed by GPS, without an address, is said to be near the registry's nearest building
/// of its grid (within 200 m); one with an address, or far from every building, is not.
#[tokio::test]
async fn a_case_without_an_address_is_near_the_closest_building_of_its_grid() {
    use gridkeeper_domain::registry::{BuildingData, BuildingUse, Floors, Text};
    use gridkeeper_domain::{LatLon, RegionCode};
    let t = TestApp::spawn().await;
    let grid = RegionCode::parse("330483101001001").unwrap();
    // About 55 m and 110 m north of IN_GRID1.
    for (address, dlat) in [("乌镇镇西栅大街 12 号", 0.0005), ("乌镇镇西栅大街 30 号", 0.001)] {
        let b = BuildingData {
            grid: grid.clone(),
            address: Text::parse("address", address).unwrap(),
            location: LatLon::new(IN_GRID1.0 + dlat, IN_GRID1.1).unwrap(),
            floors: Floors::new(3).unwrap(),
            building_use: BuildingUse::Residential,
        };
        t.store.create_building(&b, None, 0).await.unwrap();
    }
    let id = t.report(Some("resident"), IN_GRID1, Some(MANHOLE)).await["case"]["id"].as_i64().unwrap();
    let d = t.detail("dispatcher", id).await;
    assert_eq!(d["near"]["address"], "乌镇镇西栅大街 12 号", "{d:#}");
    let m = d["near"]["distance_m"].as_f64().unwrap();
    assert!((50.0..60.0).contains(&m), "{m}");
    // Given an address, the case keeps its own.
    let r = t
        .post(
            Some("resident"),
            "/api/v1/cases",
            json!({ "description": "井盖松动", "lat": IN_GRID1.0, "lon": IN_GRID1.1, "address": "西栅大街 14 号门口" }),
        )
        .await;
    let with = r.ok()["case"]["id"].as_i64().unwrap();
    assert!(t.detail("dispatcher", with).await["near"].is_null());
    // Far from every building (about 330 m): nothing near.
    let far = t.report(Some("resident"), (IN_GRID1.0 - 0.003, IN_GRID1.1), Some(MANHOLE)).await["case"]["id"]
        .as_i64()
        .unwrap();
    assert!(t.detail("dispatcher", far).await["near"].is_null());
}
