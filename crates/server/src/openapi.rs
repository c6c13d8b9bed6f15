//! The OpenAPI 3.1 document of `/api/v1`, generated from the handlers' `#[utoipa::path]`
//! annotations, served at `GET /api/v1/openapi.json`, and a browsable page rendered from it on
//! the server (plain HTML and a stylesheet from the same origin: no script, no CDN) at
//! `GET /api/v1/docs`.
//!
//! The structs below describe answers the handlers build with `json!`; they exist for the
//! document only and must stay true to what the handlers return.
#![allow(dead_code)]

use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};
use gridkeeper_domain::{Action, Case, CaseState, Category, Department, LatLon, Platform, RegionCode, RegionLevel};
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "gridkeeper API",
        description = "The JSON API of gridkeeper under `/api/v1`. Errors are `application/problem+json` naming \
                       the bad `field` and the `reason`; unknown JSON fields and query parameters are refused. \
                       Staff sign in with `POST /session` and send `Authorization: Bearer <token>`, or use the \
                       `gk_session` cookie (then state-changing requests must echo the `gk_csrf` cookie in an \
                       `X-CSRF-Token` header)."
    ),
    servers((url = "/api/v1")),
    paths(
        crate::accounts::login,
        crate::accounts::request_code,
        crate::accounts::login_with_code,
        crate::routes::logout,
        crate::routes::me,
        crate::accounts::reveal,
        crate::accounts::audit_search,
        crate::routes::regions,
        crate::routes::platforms,
        crate::routes::departments,
        crate::routes::categories,
        crate::routes::upload_media,
        crate::routes::media_original,
        crate::routes::media_thumbnail,
        crate::routes::create_case,
        crate::routes::list_cases,
        crate::routes::create_on_the_spot,
        crate::routes::case_detail,
        crate::routes::case_duplicates,
        crate::routes::case_action,
        crate::routes::check_duplicates,
        crate::events::events,
        crate::routes::public_case,
        crate::public_map::public_cases,
        crate::routes::track,
        crate::routes::track_rate,
        crate::calendar_api::read,
        crate::calendar_api::write,
        crate::measures_api::measures,
        crate::measures_api::assessment,
        crate::report_api::analysis,
        crate::exchange_api::export,
        crate::exchange_api::list_webhooks,
        crate::exchange_api::create_webhook,
        crate::exchange_api::delete_webhook,
        crate::exchange_api::webhook_deliveries,
        crate::exchange_api::dead_letters,
        crate::exchange_api::replay,
        crate::exchange_api::attributes,
        crate::exchange_api::set_attributes,
        crate::geo_api::locate,
        crate::geo_api::import,
        crate::geo_api::imports,
        crate::geo_api::validate,
        crate::geo_api::export,
        crate::geo_api::history,
        crate::geo_api::list_assignments,
        crate::geo_api::add_assignment,
        crate::geo_api::end_assignment,
        crate::geo_api::gaps,
        crate::admin_api::list_people,
        crate::admin_api::create_person,
        crate::admin_api::grant,
        crate::admin_api::revoke,
        crate::admin_api::disable,
        crate::admin_api::enable,
        crate::admin_api::create_department,
        crate::admin_api::edit_department,
        crate::admin_api::create_category,
        crate::admin_api::edit_category,
        openapi_json,
        docs_page,
        docs_css,
    ),
    components(schemas(Problem, Case, CaseState, Action, RegionCode, RegionLevel, LiveNotice)),
    modifiers(&Security, &ProblemBodies, &AlwaysPresent),
    security(("bearer" = []), ("session_cookie" = [])),
    tags(
        (name = "session", description = "Signing in and out, the signed-in person, reveal, audit"),
        (name = "reference", description = "Regions, platforms, departments, categories"),
        (name = "media", description = "Photos"),
        (name = "cases", description = "Reporting, reading and acting on cases"),
        (name = "public", description = "The public view and the reporter's tracking code"),
        (name = "calendars", description = "Working calendars"),
        (name = "measures", description = "Measures and assessment"),
        (name = "exchange", description = "Exports, webhooks, Open311 attributes"),
        (name = "geo", description = "Locating, region imports, assignments, responsibility"),
        (name = "admin", description = "People and roles, departments, categories (admins; every change audited)"),
        (name = "docs", description = "This document"),
    )
)]
pub struct ApiDoc;

/// The security schemes: a bearer token (session token or API token) or the session cookie.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let c = openapi.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        c.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "gk_session",
                "Set by POST /session; state-changing requests must also send X-CSRF-Token",
            ))),
        );
    }
}

/// Every 4xx and 5xx answer is `application/problem+json` (`Problem`).
struct ProblemBodies;

impl Modify for ProblemBodies {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, RefOr, Response};
        for item in openapi.paths.paths.values_mut() {
            for op in
                [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
            {
                for (status, resp) in op.responses.responses.iter_mut() {
                    let error = status.starts_with('4') || status.starts_with('5');
                    if let (true, RefOr::T(Response { content, .. })) = (error, resp) {
                        if content.is_empty() {
                            content.insert(
                                "application/problem+json".into(),
                                ContentBuilder::new()
                                    .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
                                    .build(),
                            );
                        }
                    }
                }
            }
        }
    }
}

/// Answers whose every field is always sent (`null` when empty): serde writes an `Option` as
/// `null`, while a schema lists it as optional. Fields that are left out at times (`Problem`'s
/// `field`, `CaseView`'s `contact`, `PossibleDuplicate`'s staff-only fields, `RegionItem`'s
/// `geometry`) stay optional because their schemas are not listed here.
struct AlwaysPresent;

const ALWAYS_PRESENT: &[&str] = &[
    "Case",
    "SupervisionOrder",
    "ExtensionRequest",
    "Category",
    "Department",
    "Platform",
    "Deadlines",
    "LatLon",
    "MediaView",
    "TimelineEvent",
    "CaseLinkView",
    "CaseDetail",
    "PersonView",
    "PublicCase",
    "PublicEvent",
    "Answer",
    "TrackedCase",
    "RateAnswer",
    "CaseList",
    "ReportAnswer",
    "RevealAnswer",
    "RevealedReporter",
    "ContactView",
    "CategoryName",
    "LocateAnswer",
    "LocateInput",
    "RegionName",
    "Responsible",
    "AssignedPerson",
    "MeasuresAnswer",
    "AssessmentAnswer",
    "AssessmentItem",
];

impl Modify for AlwaysPresent {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::Schema;
        use utoipa::openapi::RefOr;
        fn require_all(s: &mut Schema) {
            match s {
                Schema::Object(o) => o.required = o.properties.keys().cloned().collect(),
                Schema::AllOf(a) => a.items.iter_mut().for_each(|i| {
                    if let RefOr::T(s) = i {
                        require_all(s)
                    }
                }),
                _ => {}
            }
        }
        let Some(c) = openapi.components.as_mut() else { return };
        for name in ALWAYS_PRESENT {
            debug_assert!(c.schemas.contains_key(*name), "ALWAYS_PRESENT names an unknown schema {name}");
            if let Some(RefOr::T(s)) = c.schemas.get_mut(*name) {
                require_all(s);
            }
        }
    }
}

/// The OpenAPI document as a value.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi_json))
        .route("/docs", get(docs_page))
        .route("/docs.css", get(docs_css))
}

/// The OpenAPI 3.1 document of `/api/v1`.
#[utoipa::path(get, path = "/openapi.json", tag = "docs", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
async fn openapi_json() -> Json<Value> {
    Json(serde_json::to_value(document()).unwrap_or(Value::Null))
}

/// A browsable page of this document: every path and method with its parameters, request body,
/// responses, and the schemas.
#[utoipa::path(get, path = "/docs", tag = "docs", security(()),
    responses((status = 200, description = "An HTML page", content_type = "text/html", body = String)))]
async fn docs_page() -> Html<String> {
    Html(render_html(&serde_json::to_value(document()).unwrap_or(Value::Null)))
}

/// The stylesheet of the browsable page.
#[utoipa::path(get, path = "/docs.css", tag = "docs", security(()),
    responses((status = 200, description = "A stylesheet", content_type = "text/css", body = String)))]
async fn docs_css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css"), (header::CACHE_CONTROL, "public, max-age=3600")], CSS)
}

const CSS: &str = "body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}\
code,pre{font:13px ui-monospace,monospace}pre{background:#f5f5f5;padding:.5rem;overflow:auto}\
section.op{border:1px solid #ddd;border-radius:4px;margin:1rem 0;padding:.5rem 1rem}\
.method{display:inline-block;min-width:4.5rem;font-weight:bold;text-transform:uppercase}\
.get{color:#1a6}.post{color:#16a}.put{color:#a61}.delete{color:#a12}\
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}\
nav li{list-style:none}";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A schema in one line: `Case`, `array of Case`, `object`, `string (date-time)`.
fn schema_text(s: &Value) -> String {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        return format!("<a href=\"#schema-{0}\">{0}</a>", esc(name));
    }
    if let Some(all) = s.get("allOf").and_then(Value::as_array) {
        return all.iter().map(schema_text).collect::<Vec<_>>().join(" &amp; ");
    }
    if let Some(one) = s.get("oneOf").and_then(Value::as_array) {
        return one.iter().map(schema_text).collect::<Vec<_>>().join(" | ");
    }
    let ty = match s.get("type") {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" | "),
        Some(Value::String(t)) => t.clone(),
        _ => "any".into(),
    };
    let mut out = esc(&ty);
    if let Some(items) = s.get("items") {
        out = format!("array of {}", schema_text(items));
    }
    if let Some(f) = s.get("format").and_then(Value::as_str) {
        out.push_str(&format!(" ({})", esc(f)));
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array) {
        let vals: Vec<String> = e.iter().map(|v| esc(&v.to_string())).collect();
        out.push_str(&format!(": {}", vals.join(", ")));
    }
    out
}

fn content_text(content: Option<&Value>) -> String {
    let Some(Value::Object(c)) = content else { return String::new() };
    c.iter()
        .map(|(ct, m)| format!("<code>{}</code> {}", esc(ct), m.get("schema").map(schema_text).unwrap_or_default()))
        .collect::<Vec<_>>()
        .join("<br>")
}

/// The browsable page: plain HTML rendered from the document.
pub fn render_html(doc: &Value) -> String {
    let mut h = String::new();
    let title = doc["info"]["title"].as_str().unwrap_or("API");
    h.push_str(&format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{0}</title>\
         <link rel=\"stylesheet\" href=\"/api/v1/docs.css\"></head><body><h1>{0}</h1><p>{1}</p>\
         <p>OpenAPI {2}: <a href=\"/api/v1/openapi.json\">openapi.json</a>. All paths are under <code>/api/v1</code>.</p>",
        esc(title),
        esc(doc["info"]["description"].as_str().unwrap_or("")),
        esc(doc["openapi"].as_str().unwrap_or(""))
    ));
    let empty = serde_json::Map::new();
    let paths = doc["paths"].as_object().unwrap_or(&empty);
    h.push_str("<h2>Endpoints</h2><nav><ul>");
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap_or(&empty) {
            if op.get("responses").is_none() {
                continue;
            }
            let id = format!("{method}-{path}");
            h.push_str(&format!(
                "<li><a href=\"#{}\"><span class=\"method {method}\">{method}</span> <code>{}</code></a> {}</li>",
                esc(&id),
                esc(path),
                esc(op["summary"].as_str().unwrap_or(""))
            ));
        }
    }
    h.push_str("</ul></nav>");
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap_or(&empty) {
            if op.get("responses").is_none() {
                continue;
            }
            h.push_str(&format!(
                "<section class=\"op\" id=\"{}\"><h3><span class=\"method {method}\">{method}</span> <code>{}</code></h3>",
                esc(&format!("{method}-{path}")),
                esc(path)
            ));
            for k in ["summary", "description"] {
                if let Some(t) = op.get(k).and_then(Value::as_str) {
                    h.push_str(&format!("<p>{}</p>", esc(t)));
                }
            }
            if let Some(tags) = op.get("tags").and_then(Value::as_array) {
                let t: Vec<String> = tags.iter().filter_map(Value::as_str).map(esc).collect();
                h.push_str(&format!("<p>Tag: {}</p>", t.join(", ")));
            }
            if let Some(Value::Array(sec)) = op.get("security") {
                let anyone = sec.iter().any(|s| s.as_object().is_some_and(|o| o.is_empty()));
                h.push_str(if anyone { "<p>Signing in: optional</p>" } else { "<p>Signing in: required</p>" });
            } else {
                h.push_str("<p>Signing in: required</p>");
            }
            if let Some(Value::Array(params)) = op.get("parameters") {
                h.push_str("<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>required</th><th>schema</th><th>description</th></tr>");
                for p in params {
                    h.push_str(&format!(
                        "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        esc(p["name"].as_str().unwrap_or("")),
                        esc(p["in"].as_str().unwrap_or("")),
                        p["required"].as_bool().unwrap_or(false),
                        p.get("schema").map(schema_text).unwrap_or_default(),
                        esc(p["description"].as_str().unwrap_or(""))
                    ));
                }
                h.push_str("</table>");
            }
            if let Some(body) = op.get("requestBody") {
                h.push_str(&format!(
                    "<h4>Request body</h4><p>{}</p><p>{}</p>",
                    esc(body["description"].as_str().unwrap_or("")),
                    content_text(body.get("content"))
                ));
            }
            h.push_str("<h4>Responses</h4><table><tr><th>status</th><th>description</th><th>body</th></tr>");
            for (status, r) in op["responses"].as_object().unwrap_or(&empty) {
                h.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(status),
                    esc(r["description"].as_str().unwrap_or("")),
                    content_text(r.get("content"))
                ));
            }
            h.push_str("</table></section>");
        }
    }
    h.push_str("<h2>Schemas</h2>");
    for (name, s) in doc["components"]["schemas"].as_object().unwrap_or(&empty) {
        h.push_str(&format!("<section class=\"op\" id=\"schema-{0}\"><h3>{0}</h3>", esc(name)));
        if let Some(d) = s.get("description").and_then(Value::as_str) {
            h.push_str(&format!("<p>{}</p>", esc(d)));
        }
        // An `allOf` (a flattened struct): the schemas it extends, then its own fields.
        let parts: Vec<&Value> = match s.get("allOf").and_then(Value::as_array) {
            Some(all) => {
                let refs: Vec<String> = all.iter().filter(|p| p.get("$ref").is_some()).map(schema_text).collect();
                if !refs.is_empty() {
                    h.push_str(&format!("<p>All the fields of {}, and:</p>", refs.join(", ")));
                }
                all.iter().filter(|p| p.get("$ref").is_none()).collect()
            }
            None => vec![s],
        };
        for part in parts {
            schema_fields(&mut h, part);
        }
        h.push_str("</section>");
    }
    h.push_str("</body></html>");
    h
}

/// The fields of an object schema as a table (`*`: always present), or the schema in one line.
fn schema_fields(h: &mut String, s: &Value) {
    let required: Vec<&str> = s
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(Value::Object(props)) = s.get("properties") {
        h.push_str("<table><tr><th>field</th><th>schema</th><th>description</th></tr>");
        for (field, p) in props {
            h.push_str(&format!(
                "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td></tr>",
                esc(field),
                if required.contains(&field.as_str()) { " *" } else { "" },
                schema_text(p),
                esc(p["description"].as_str().unwrap_or(""))
            ));
        }
        h.push_str("</table>");
    } else {
        h.push_str(&format!("<p>{}</p>", schema_text(s)));
    }
}

// ---------------------------------------------------------------- answer schemas

/// An error (RFC 9457 problem details), sent as `application/problem+json`.
#[derive(Serialize, ToSchema)]
pub struct Problem {
    /// `https://gridkeeper.org/problems/<kind>`
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The bad field, when one is to blame.
    pub field: Option<String>,
    /// Why the field is bad.
    pub reason: Option<String>,
    /// The bad field and reason again, as a list.
    pub errors: Option<Vec<FieldReason>>,
    /// With a 409 (stale version, wrong state): the case as it is now.
    pub current: Option<Case>,
}

#[derive(Serialize, ToSchema)]
pub struct FieldReason {
    pub field: String,
    pub reason: String,
}

/// A case as the viewer may see it: the reporter and contact masked, or absent for those who may
/// not see them.
#[derive(Serialize, ToSchema)]
pub struct CaseView {
    #[serde(flatten)]
    pub case: Case,
    /// Masked contact details (`138****1234`); only for those who may see the reporter masked.
    pub contact: Option<ContactView>,
    pub overdue: bool,
    /// The location lies outside every grid.
    pub outside_jurisdiction: bool,
    /// The workflow actions the viewer may take on the case now, as the state machine decides
    /// them, in the order a case page offers them: `POST /cases/{key}/actions/{action}`. Each may
    /// still be refused for its data, or because the case changed meanwhile.
    pub allowed_actions: Vec<Action>,
}

#[derive(Serialize, ToSchema)]
pub struct ContactView {
    pub name: Option<String>,
    pub phone: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CaseAnswer {
    pub case: CaseView,
}

#[derive(Serialize, ToSchema)]
pub struct CaseList {
    pub items: Vec<CaseView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The answer to a report.
#[derive(Serialize, ToSchema)]
pub struct ReportAnswer {
    pub case: CaseView,
    /// Follow the case with `GET /track/{code}`; shown once.
    pub tracking_code: String,
    pub outside_jurisdiction: bool,
    pub possible_duplicates: Vec<PossibleDuplicate>,
}

/// An open case of the same category nearby; `id` and `description` for staff only.
#[derive(Serialize, ToSchema)]
pub struct PossibleDuplicate {
    pub id: Option<i64>,
    pub reference: String,
    pub state: CaseState,
    pub description: Option<String>,
    #[schema(format = DateTime)]
    pub reported_at: String,
    pub distance_m: f64,
}

#[derive(Serialize, ToSchema)]
pub struct PossibleDuplicates {
    pub items: Vec<PossibleDuplicate>,
}

/// A stored photo.
#[derive(Serialize, ToSchema)]
pub struct MediaView {
    pub id: String,
    pub content_type: String,
    pub width: i64,
    pub height: i64,
    pub bytes: i64,
    pub url: String,
    pub thumbnail_url: String,
    /// The EXIF GPS position of the photo, as a suggestion.
    pub suggested_location: Option<LatLon>,
}

/// `POST /media` as multipart/form-data.
#[derive(Serialize, ToSchema)]
pub struct MediaUpload {
    /// A JPEG, PNG or WebP image.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// `GET /locate`: where a point lies and who answers for it; all null outside every grid.
#[derive(Serialize, ToSchema)]
pub struct LocateAnswer {
    /// The point as given.
    pub input: LocateInput,
    /// The point converted to WGS-84.
    pub wgs84: LatLon,
    pub grid: Option<RegionName>,
    pub community: Option<RegionName>,
    pub street: Option<RegionName>,
    pub district: Option<RegionName>,
    pub outside_jurisdiction: bool,
    pub responsible: Option<Responsible>,
}

#[derive(Serialize, ToSchema)]
pub struct LocateInput {
    pub lat: f64,
    pub lon: f64,
    /// wgs84, gcj02 or bd09
    pub crs: String,
}

#[derive(Serialize, ToSchema)]
pub struct RegionName {
    #[schema(value_type = String)]
    pub code: RegionCode,
    pub name: String,
    pub name_en: String,
    pub level: RegionLevel,
}

/// Who answers for a grid now.
#[derive(Serialize, ToSchema)]
pub struct Responsible {
    pub grid_members: Vec<AssignedPerson>,
    pub grid_leaders: Vec<AssignedPerson>,
    /// The grid members, or the community's grid leaders when the grid has none.
    pub accountable: Vec<AssignedPerson>,
    /// The grid has no grid member: the community's grid leaders answer for it.
    pub fallback: bool,
}

/// A person assigned to a region: the name masked for those who are not staff.
#[derive(Serialize, ToSchema)]
pub struct AssignedPerson {
    /// The assignment's id.
    pub assignment: i64,
    pub person: i64,
    pub name: Option<String>,
    /// grid_member or grid_leader
    pub role: String,
    #[schema(format = DateTime)]
    pub since: String,
    #[schema(format = DateTime)]
    pub until: Option<String>,
}

/// `GET /measures`: the measures of docs/MEASURES.md and the counts they are made of.
#[derive(Serialize, ToSchema)]
pub struct MeasuresAnswer {
    /// The region measured (none for a department head's own department).
    #[schema(value_type = Option<String>)]
    pub region: Option<RegionCode>,
    pub department: Option<i64>,
    /// Each measure of docs/MEASURES.md by name.
    #[schema(value_type = Object)]
    pub measures: Value,
    /// The counts the measures are computed from.
    #[schema(value_type = Object)]
    pub counts: Value,
}

/// `GET /assessment`: weighted scores, ranked.
#[derive(Serialize, ToSchema)]
pub struct AssessmentAnswer {
    /// department, grid or grid_member
    pub kind: String,
    #[schema(value_type = String)]
    pub region: RegionCode,
    /// The weight of each component.
    #[schema(value_type = Object)]
    pub weights: Value,
    /// By rank, then key.
    pub items: Vec<AssessmentItem>,
}

#[derive(Serialize, ToSchema)]
pub struct AssessmentItem {
    /// Department id, grid code or person id.
    pub key: String,
    pub name: String,
    /// Null when there is nothing to score.
    pub score: Option<f64>,
    pub rank: Option<u32>,
    /// The score's components: each measure with its value, weight and points.
    #[schema(value_type = Vec<Object>)]
    pub components: Vec<Value>,
    pub previous_score: Option<f64>,
    pub previous_rank: Option<u32>,
    /// `score - previous_score`.
    pub change: Option<f64>,
}

/// More than one photo uploaded at once.
#[derive(Serialize, ToSchema)]
pub struct MediaList {
    pub items: Vec<MediaView>,
}

/// An event of a case's timeline (internal events only for staff).
#[derive(Serialize, ToSchema)]
pub struct TimelineEvent {
    pub seq: i64,
    pub action: Action,
    #[schema(format = DateTime)]
    pub at: String,
    pub actor: Option<i64>,
    pub from: Option<CaseState>,
    pub to: CaseState,
    /// The action's data: note, reason, deadline, departments, evidence, score...
    #[schema(value_type = Object)]
    pub data: Value,
}

#[derive(Serialize, ToSchema)]
pub struct CaseLinkView {
    pub id: i64,
    pub reference: String,
    pub state: CaseState,
}

/// A case with its timeline, photos and duplicate links. The `ETag` header is the version.
#[derive(Serialize, ToSchema)]
pub struct CaseDetail {
    pub case: CaseView,
    /// The reporter (masked), for those who may see it.
    pub reporter: Option<PersonView>,
    pub timeline: Vec<TimelineEvent>,
    pub media: Vec<MediaView>,
    /// Cases rejected as duplicates of this one.
    pub duplicates: Vec<CaseLinkView>,
    pub duplicate_of: Option<CaseLinkView>,
    /// Whether the viewer may see the reporter's name and phone in clear, audited:
    /// `POST /cases/{key}/reveal`.
    pub may_reveal: bool,
}

/// A person: name masked and phone masked unless it is oneself.
#[derive(Serialize, ToSchema)]
pub struct PersonView {
    pub id: i64,
    pub login: Option<String>,
    pub name: String,
    pub phone: Option<String>,
    /// Roles with the region or department they hold them in.
    #[schema(value_type = Vec<Object>)]
    pub grants: Vec<Value>,
    pub totp_enabled: bool,
}

/// A person as the administration sees them.
#[derive(Serialize, ToSchema)]
pub struct AdminPerson {
    #[serde(flatten)]
    pub person: PersonView,
    pub disabled: bool,
}

#[derive(Serialize, ToSchema)]
pub struct AdminPeople {
    pub items: Vec<AdminPerson>,
    /// Pass as `after` for the next page; none on the last.
    pub next_after: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AdminPersonAnswer {
    pub person: AdminPerson,
    /// Whether anything changed (false when the role was already held, or not held).
    pub changed: Option<bool>,
    /// A generated password, shown once (creation without a password).
    pub password: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DepartmentAnswer {
    pub department: Department,
}

#[derive(Serialize, ToSchema)]
pub struct CategoryAnswer {
    pub category: Category,
}

#[derive(Serialize, ToSchema)]
pub struct MeAnswer {
    pub person: PersonView,
}

#[derive(Serialize, ToSchema)]
pub struct SessionAnswer {
    /// A bearer token; also set as the HttpOnly `gk_session` cookie (with the `gk_csrf` cookie).
    pub token: String,
    pub person: PersonView,
}

#[derive(Serialize, ToSchema)]
pub struct CodeSent {
    pub sent: bool,
    pub valid_minutes: u32,
}

#[derive(Serialize, ToSchema)]
pub struct RevealedReporter {
    pub id: i64,
    pub name: String,
    pub phone: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RevealAnswer {
    pub reporter: Option<RevealedReporter>,
    /// The contact details left with the report, in clear.
    pub contact: ContactView,
}

#[derive(Serialize, ToSchema)]
pub struct RegionItem {
    #[schema(value_type = String)]
    pub code: RegionCode,
    pub name: String,
    pub name_en: String,
    pub level: RegionLevel,
    #[schema(value_type = Option<String>)]
    pub parent: Option<RegionCode>,
    /// GeoJSON geometry, with `geometry=true`.
    #[schema(value_type = Option<Object>)]
    pub geometry: Option<Value>,
}

#[derive(Serialize, ToSchema)]
pub struct RegionList {
    pub items: Vec<RegionItem>,
}

#[derive(Serialize, ToSchema)]
pub struct PlatformList {
    pub items: Vec<Platform>,
}

#[derive(Serialize, ToSchema)]
pub struct DepartmentList {
    pub items: Vec<Department>,
}

#[derive(Serialize, ToSchema)]
pub struct CategoryList {
    pub items: Vec<Category>,
}

#[derive(Serialize, ToSchema)]
pub struct CategoryName {
    pub id: i64,
    pub name: String,
    pub name_en: String,
}

#[derive(Serialize, ToSchema)]
pub struct PublicEvent {
    pub action: Action,
    #[schema(format = DateTime)]
    pub at: String,
    pub state: CaseState,
}

/// A `case` event of `GET /events`: one change of a case in the listener's scope.
#[derive(Serialize, ToSchema)]
pub struct LiveNotice {
    /// The case's id.
    pub id: i64,
    pub reference: String,
    /// The case's version after the change.
    pub version: i64,
    /// What happened.
    pub action: Action,
    /// The state after the change.
    pub state: CaseState,
    /// The grid, or the district when the case lies outside every grid.
    pub region: String,
    #[schema(format = DateTime)]
    pub at: String,
}

/// The public view of a case: no personal data, no internal events; for a category that is not
/// public the location is coarsened to about 200 m.
#[derive(Serialize, ToSchema)]
pub struct PublicCase {
    pub reference: String,
    pub state: CaseState,
    pub description: String,
    pub category: Option<CategoryName>,
    #[schema(value_type = Option<String>)]
    pub grid: Option<RegionCode>,
    pub location: Option<LatLon>,
    #[schema(format = DateTime)]
    pub reported_at: String,
    #[schema(format = DateTime)]
    pub closed_at: Option<String>,
    pub rating: Option<u8>,
    pub timeline: Vec<PublicEvent>,
    /// Thumbnails of the report's photos (none for a non-public category).
    pub before: Vec<PublicPhoto>,
    /// Thumbnails of the evidence of its handling (none for a non-public category).
    pub after: Vec<PublicPhoto>,
}

/// A photo anyone may see: the original and its thumbnail.
#[derive(Serialize, ToSchema)]
pub struct PublicPhoto {
    pub id: String,
    pub url: String,
    pub thumbnail_url: String,
}

/// A case on the public map. `public: false` (a category that is not public): location
/// coarsened to about 200 m, no description, no photos.
#[derive(Serialize, ToSchema)]
pub struct PublicMapItem {
    pub reference: String,
    pub state: CaseState,
    pub public: bool,
    pub description: Option<String>,
    pub category: Option<CategoryName>,
    #[schema(value_type = Option<String>)]
    pub grid: Option<RegionCode>,
    pub location: Option<LatLon>,
    #[schema(format = DateTime)]
    pub reported_at: String,
    #[schema(format = DateTime)]
    pub closed_at: Option<String>,
    /// Thumbnails of the report's photos.
    pub before: Vec<PublicPhoto>,
    /// Thumbnails of the evidence of its handling.
    pub after: Vec<PublicPhoto>,
}

#[derive(Serialize, ToSchema)]
pub struct PublicMap {
    pub items: Vec<PublicMapItem>,
}

#[derive(Serialize, ToSchema)]
pub struct Answer {
    pub action: Action,
    #[schema(format = DateTime)]
    pub at: String,
    pub note: Option<String>,
}

/// The reporter's view: the public view plus the answers addressed to the reporter.
#[derive(Serialize, ToSchema)]
pub struct TrackedCase {
    #[serde(flatten)]
    pub public: PublicCase,
    pub answers: Vec<Answer>,
    #[schema(value_type = Option<String>)]
    pub rejection: Option<String>,
    /// The reference of the case this one duplicates.
    pub duplicate_of: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RateAnswer {
    pub state: CaseState,
    pub rating: Option<u8>,
}

/// A list of objects (see the endpoint's description for what they hold).
#[derive(Serialize, ToSchema)]
pub struct Items {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Value>,
}

#[derive(Serialize, ToSchema)]
pub struct CalendarAnswer {
    /// The district's code (6 digits).
    pub district: String,
    /// Whether the district has its own calendar (else the default one is shown).
    pub configured: bool,
    /// Working days and hours, holidays and make-up days.
    #[schema(value_type = Object)]
    pub calendar: Value,
}

#[derive(Serialize, ToSchema)]
pub struct ReplayAnswer {
    pub id: i64,
    /// Always `pending`.
    pub status: String,
}

#[derive(Serialize, ToSchema)]
pub struct AssignmentAnswer {
    /// The assignment: id, person, region, role, period.
    #[schema(value_type = Object)]
    pub assignment: Value,
}

#[derive(Serialize, ToSchema)]
pub struct GapsAnswer {
    pub under: String,
    #[schema(format = DateTime)]
    pub at: String,
    /// Grids with their status and who answers for them.
    #[schema(value_type = Vec<Object>)]
    pub grids: Vec<Value>,
    #[schema(value_type = Vec<Object>)]
    pub communities_without_leader: Vec<Value>,
}

#[derive(Serialize, ToSchema)]
pub struct ValidationAnswer {
    pub under: String,
    pub valid: bool,
    /// The validation report: problems found in the tree.
    #[schema(value_type = Object)]
    pub report: Value,
}

/// `POST /assignments`: a grid member to a grid, or a grid leader to a community.
#[derive(Serialize, ToSchema)]
pub struct AssignRequest {
    pub person: i64,
    /// A grid (grid member) or a community (grid leader).
    pub region: String,
    /// grid_member or grid_leader
    pub role: String,
    /// RFC 3339; default now.
    #[schema(format = DateTime)]
    pub starts_at: Option<String>,
    #[schema(format = DateTime)]
    pub ends_at: Option<String>,
}

/// `POST /assignments/{id}/end`.
#[derive(Serialize, ToSchema)]
pub struct EndRequest {
    /// RFC 3339; default now.
    #[schema(format = DateTime)]
    pub at: Option<String>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn always_present_fields_are_required() {
        let doc = serde_json::to_value(super::document()).unwrap();
        let req = &doc["components"]["schemas"]["Case"]["required"];
        assert!(req.as_array().unwrap().iter().any(|v| v == "closed_at"), "{req}");
    }
}
