//! The OpenAPI document of `/api/v1`: it is OpenAPI 3.1, documents every route of the `/api/v1`
//! router (the routes are read from the server's source, so a route added without
//! `#[utoipa::path]` fails here), its page lists them, and it is kept in docs/openapi.json
//! (`GRIDKEEPER_UPDATE_DOCS=1` rewrites it after a deliberate change).

use std::collections::BTreeSet;

use serde_json::Value;

use crate::common::*;

/// The files of crates/server/src that may route with axum's `.route(...)`: the `/api/v1` routes
/// are each module's `routes!(...)`, which registers the handler with its `#[utoipa::path]`, so
/// that no route of `/api/v1` can go undocumented; lib.rs routes /healthz and /readyz beside it.
const NOT_API_V1: &[&str] = &["open311.rs", "web.rs", "lib.rs", "portal.rs"];

/// Files of the server that route a path with axum's `.route(...)` although they serve `/api/v1`.
fn routed_undocumented() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../server/src");
    let mut out = vec![];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".rs") || NOT_API_V1.contains(&name.as_str()) {
            continue;
        }
        let src = std::fs::read_to_string(&path).unwrap();
        if src.contains(".route(") {
            out.push(name);
        }
    }
    out
}

fn documented(doc: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "delete", "patch"] {
            if item.get(method).is_some() {
                out.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    out
}

/// Every `$ref` in `v`.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get("$ref") {
                out.push(r.clone());
            }
            o.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[tokio::test]
async fn openapi_documents_every_route() {
    let t = TestApp::spawn().await;
    let r = t.get(None, "/api/v1/openapi.json").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.content_type.starts_with("application/json"), "{r:?}");
    let doc = r.body;
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1.")), "not OpenAPI 3.1: {}", doc["openapi"]);
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());

    // Every route of the /api/v1 router is documented: each is registered by `routes!` with its
    // `#[utoipa::path]`, and the document is built from the same routers; and each documented
    // route is served (not the fallback's 404 for an unknown endpoint).
    let undocumented = routed_undocumented();
    assert!(undocumented.is_empty(), "routes added with .route() instead of routes!(): {undocumented:?}");
    let routed = documented(&doc);
    assert!(routed.len() > 40, "too few routes documented: {routed:?}");
    for op in &routed {
        let (method, path) = op.split_once(' ').unwrap();
        let url = format!("{}/api/v1{}", t.base, path.replace('{', "x").replace('}', ""));
        let r = t.client.request(method.parse().unwrap(), &url).send().await.unwrap();
        let status = r.status();
        let body = r.text().await.unwrap();
        assert!(status != 405 && !body.contains("endpoint not found"), "{op} is not routed: {status} {body}");
    }

    // Every operation has a tag, a 2xx answer, and error answers as problem+json; every
    // reference resolves.
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap_or_else(|| panic!("{method} {path}: no responses"));
            assert!(op["tags"].as_array().is_some_and(|t| !t.is_empty()), "{method} {path}: no tag");
            assert!(responses.keys().any(|s| s.starts_with('2')), "{method} {path}: no success answer");
            for (status, resp) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        resp["content"]["application/problem+json"]["schema"]["$ref"], "#/components/schemas/Problem",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
    let mut all = vec![];
    refs(&doc, &mut all);
    for r in &all {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("unexpected reference {r}"));
        assert!(schemas.contains_key(name), "dangling reference {r}");
    }
    for name in ["Case", "CaseState", "Category", "Department", "Problem", "CaseView", "ReportAnswer"] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
    // An Option the server always sends (as null) is required; one it leaves out at times is not.
    let required = |s: &str| schemas[s]["required"].as_array().cloned().unwrap_or_default();
    assert!(required("Case").contains(&Value::from("closed_at")), "{}", schemas["Case"]);
    assert!(!required("Problem").contains(&Value::from("field")));

    // The browsable page lists every operation, under the server's CSP (no inline script).
    let page = t.client.get(format!("{}/api/v1/docs", t.base)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(!html.contains("<script"), "the page must work without scripts");
    for op in &routed {
        let (method, path) = op.split_once(' ').unwrap();
        let anchor = format!("id=\"{}-{}\"", method.to_lowercase(), path);
        assert!(html.contains(&anchor), "the page does not list {op}");
    }
    let css = t.client.get(format!("{}/api/v1/docs.css", t.base)).send().await.unwrap();
    assert_eq!(css.status(), 200);
    assert!(css.headers()["content-type"].to_str().unwrap().starts_with("text/css"));

    // The document is kept in docs/openapi.json.
    let rendered = serde_json::to_string_pretty(&doc).unwrap() + "\n";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    if std::env::var("GRIDKEEPER_UPDATE_DOCS").is_ok() {
        std::fs::write(path, &rendered).unwrap();
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    assert!(rendered == expected, "the API changed: review docs/openapi.json and run with GRIDKEEPER_UPDATE_DOCS=1");
}
