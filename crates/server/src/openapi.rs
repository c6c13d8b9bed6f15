//! The OpenAPI 3.1 document of `/api/v1`, served at `GET /api/v1/openapi.json`, and a browsable
//! page rendered from it on the server (plain HTML and a stylesheet from the same origin: no
//! script, no CDN) at `GET /api/v1/docs`.
//!
//! Each module documents its own routes (`#[utoipa::path]` on the handler, registered with
//! `utoipa_axum::routes!` in the module's `router()`), its query structs (`IntoParams`) and its
//! answers (`ToSchema`, the very structs the handlers return); `crate::api` merges the routers, and
//! the document is what the merged routers carry. This module holds only what is common: the
//! title and description, the security schemes, the tags, the standard answers added to every
//! operation ([`finish`]), and the page.

use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::{Extension, Json};
use gridkeeper_domain::{Action, Case, CaseState, RegionCode, RegionLevel};
use serde_json::Value;
use std::sync::Arc;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ProblemBody;
use crate::events::LiveNotice;
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
    components(schemas(ProblemBody, Case, CaseState, Action, RegionCode, RegionLevel, LiveNotice)),
    modifiers(&Security),
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
        (name = "triage", description = "Suggested categories and departments, reports of one problem folded, surges"),
        (name = "hotline", description = "The linkage center's hotline entry: callers looked up by phone, calls reported on their behalf or attached to a case"),
        (name = "inspections", description = "Field inspections: check lists and the plan, due inspections, safety files, inspections and the hazards they find"),
        (name = "participation", description = "Residents as participants: articles of the information service, consultations, proposals"),
        (name = "teams", description = "The five teams (五支队伍) of a grid or community, their members' duties, volunteers' service hours and their measures"),
        (name = "patrols", description = "Grid members' patrols: positions sampled while a patrol runs, the places visited and cases reported during it, monthly quotas"),
        (name = "campaigns", description = "Special rectification campaigns (专项整治): a selection of places and houses over a region, their tasks, the board of progress"),
        (name = "docs", description = "This document"),
    )
)]
pub struct ApiDoc;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(openapi_json)).routes(routes!(docs_page)).routes(routes!(docs_css))
}

/// The served document, built once from the merged routers (`crate::router`).
#[derive(Clone)]
pub struct Document(Arc<Value>);

impl Document {
    pub fn new(mut doc: utoipa::openapi::OpenApi) -> Self {
        finish(&mut doc);
        Document(Arc::new(serde_json::to_value(doc).unwrap_or(Value::Null)))
    }
}

/// The OpenAPI document of the routers as served.
#[cfg(test)]
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, mut doc) = crate::api().split_for_parts();
    finish(&mut doc);
    doc
}

/// What every operation shares, added once after the routers are merged: the standard answers
/// (401 where signing in is required; 400 and 422 where a query or a body is parsed), every
/// error's body as problem+json, and the fields always sent marked required.
pub fn finish(doc: &mut utoipa::openapi::OpenApi) {
    StandardAnswers.modify(doc);
    Parameters.modify(doc);
    Coordinates.modify(doc);
    ReportPlace.modify(doc);
    ProblemBodies.modify(doc);
    AlwaysPresent.modify(doc);
}

/// The answers every operation of a kind may give, so that no path attribute repeats them.
struct StandardAnswers;

impl Modify for StandardAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::ResponseBuilder;
        for item in openapi.paths.paths.values_mut() {
            for op in
                [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
            {
                let signed_in = op.security.as_ref().is_none_or(|s| !s.iter().any(|r| r == &Default::default()));
                let query =
                    op.parameters.as_ref().is_some_and(|p| p.iter().any(|p| p.parameter_in == ParameterIn::Query));
                let parsed = query || op.request_body.is_some();
                let mut add = |status: &str, description: &str| {
                    op.responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| ResponseBuilder::new().description(description).build().into());
                };
                if signed_in {
                    add("401", "Not signed in");
                }
                if parsed {
                    add("400", "Malformed body or query, or an unknown parameter");
                    add("422", "A field is invalid; `field` and `reason` say which and why");
                }
                if op.request_body.is_some() {
                    // The body is read through a size limit, and only in the content types listed.
                    add("413", "The body is larger than this endpoint takes");
                    add("415", "The body is not sent in a content type listed here");
                }
            }
        }
    }
}

/// What a parameter's name means, said once for every operation: every handler reads a parameter
/// of that name with the same function (`responsibility::code_param`, `parse_rfc3339`,
/// `Crs::parse`, `RegionLevel::parse`), so the rule it applies is written here once. And because
/// an empty parameter counts as absent, a required text parameter has at least one character.
struct Parameters;

/// A region code (`RegionCode::parse`): 6 digits for the district (not all zero), then a group of 3
/// for each lower level (not `000`), and as many `000` groups after as the padded 15-digit form
/// has; 15 digits at most ([`REGION_CODE_MAX`]).
pub const REGION_CODE: &str = "^(?!000000)[0-9]{6}((?!000)[0-9]{3}){0,3}(000){0,3}$";
pub const REGION_CODE_MAX: usize = 15;
/// A district's code, maybe padded.
pub const DISTRICT_CODE: &str = "^(?!000000)[0-9]{6}(000){0,3}$";
/// A phone number as `parse_phone` reads it: 5 to 15 digits, maybe after `+86`, with spaces,
/// dashes and brackets between.
pub const PHONE: &str = "^(\\+86)?[ ()-]*([0-9][ ()-]*){5,15}$";

impl Modify for Parameters {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::schema::{KnownFormat, Schema, SchemaFormat, SchemaType, Type};
        use utoipa::openapi::{RefOr, Required};
        for (path, item) in openapi.paths.paths.iter_mut() {
            for op in
                [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
            {
                for p in op.parameters.iter_mut().flatten() {
                    let required = p.required == Required::True;
                    let Some(RefOr::T(Schema::Object(o))) = p.schema.as_mut() else { continue };
                    if o.schema_type != SchemaType::Type(Type::String) {
                        continue;
                    }
                    let region_code = match p.parameter_in {
                        ParameterIn::Query => matches!(p.name.as_str(), "under" | "region" | "parent"),
                        ParameterIn::Path => p.name == "code" && path.starts_with("/regions/"),
                        _ => false,
                    };
                    if region_code {
                        o.pattern.get_or_insert_with(|| REGION_CODE.into());
                        o.max_length.get_or_insert(REGION_CODE_MAX);
                    }
                    if p.parameter_in == ParameterIn::Path && p.name == "district" {
                        o.pattern.get_or_insert_with(|| DISTRICT_CODE.into());
                    }
                    if p.parameter_in == ParameterIn::Query {
                        match p.name.as_str() {
                            // Instants, unless the parameter says otherwise (a month `YYYY-MM`).
                            "from" | "to" | "at" if o.pattern.is_none() => {
                                o.format.get_or_insert(SchemaFormat::KnownFormat(KnownFormat::DateTime));
                            }
                            "level" => {
                                o.enum_values.get_or_insert_with(|| {
                                    vec!["district".into(), "street".into(), "community".into(), "grid".into()]
                                });
                            }
                            _ => {}
                        }
                        if required && o.enum_values.is_none() {
                            o.min_length.get_or_insert(1);
                        }
                    }
                }
                for p in op.parameters.iter_mut().flatten() {
                    if let Some(RefOr::T(Schema::Object(o))) = p.schema.as_mut() {
                        coordinate(&p.name, o);
                    }
                }
            }
        }
    }
}

/// The fields of request bodies that mean the same everywhere: `lat` and `lon` are degrees of
/// latitude (−90 to 90) and longitude (−180 to 180), `region` a region code, `phone` and
/// `contact_phone` phone numbers, `crs` a coordinate system, `photos` and `evidence` lists of
/// distinct photos; and a text field with a `maxLength`
/// and no pattern of its own is text as people type it ([`TEXT`]). The rules reach the schemas a
/// request body names and those they name in turn (an attribute's choices, a calendar's periods).
/// (Only request bodies: an answer's fields are what the server wrote, checked by `schemas.rs`.)
struct Coordinates;

/// Text as people type it, as `required_text` takes it: at least one visible character, no
/// control character but line breaks and tabs. (A `maxLength` counts the spaces around too, which
/// the server trims first, so it never refuses what the document allows.)
pub const TEXT: &str = "^[^\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F-\\x9F]*[^\\s\\x00-\\x1F\\x7F-\\x9F][^\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F-\\x9F]*$";

fn coordinate(name: &str, o: &mut utoipa::openapi::schema::Object) {
    use utoipa::openapi::schema::{SchemaType, Type};
    let is = |want: Type| match &o.schema_type {
        SchemaType::Type(t) => *t == want,
        SchemaType::Array(ts) => ts.contains(&want),
        SchemaType::AnyValue => false,
    };
    match name {
        "lat" | "lon" if is(Type::Number) => {
            let bound = if name == "lat" { 90.0 } else { 180.0 };
            o.minimum.get_or_insert(utoipa::Number::Float(-bound));
            o.maximum.get_or_insert(utoipa::Number::Float(bound));
        }
        "region" if is(Type::String) => {
            o.pattern.get_or_insert_with(|| REGION_CODE.into());
            o.max_length.get_or_insert(REGION_CODE_MAX);
        }
        "phone" | "contact_phone" if is(Type::String) => {
            o.pattern.get_or_insert_with(|| PHONE.into());
        }
        "crs" if is(Type::String) => {
            let mut systems: Vec<Value> = gridkeeper_geo::Crs::ALL.iter().map(|c| c.as_str().into()).collect();
            if is(Type::Null) {
                systems.push(Value::Null);
            }
            o.enum_values.get_or_insert(systems);
        }
        _ if is(Type::String) && o.max_length.is_some() && o.enum_values.is_none() => {
            o.pattern.get_or_insert_with(|| TEXT.into());
        }
        _ => {}
    }
}

/// The names of the schemas a property refers to: itself, as its items, or as one of its kinds
/// (an `Option` is "null or the schema").
fn refs(p: &utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>) -> Vec<String> {
    use utoipa::openapi::schema::{ArrayItems, Schema};
    use utoipa::openapi::RefOr;
    let name = |r: &utoipa::openapi::Ref| r.ref_location.rsplit('/').next().unwrap_or_default().to_string();
    match p {
        RefOr::Ref(r) => vec![name(r)],
        RefOr::T(Schema::Array(a)) => match &a.items {
            ArrayItems::RefOrSchema(item) => refs(item),
            ArrayItems::False => vec![],
        },
        RefOr::T(Schema::OneOf(o)) => o.items.iter().flat_map(refs).collect(),
        RefOr::T(Schema::AllOf(o)) => o.items.iter().flat_map(refs).collect(),
        _ => vec![],
    }
}

/// The objects a schema is: itself, or each inline kind of a `oneOf` or `allOf` (an enum with
/// fields, like an award).
fn objects(s: &mut utoipa::openapi::schema::Schema) -> Vec<&mut utoipa::openapi::schema::Object> {
    use utoipa::openapi::schema::Schema;
    use utoipa::openapi::RefOr;
    let items = match s {
        Schema::Object(o) => return vec![o],
        Schema::OneOf(o) => &mut o.items,
        Schema::AllOf(o) => &mut o.items,
        _ => return vec![],
    };
    items.iter_mut().filter_map(|i| if let RefOr::T(Schema::Object(o)) = i { Some(o) } else { None }).collect()
}

impl Modify for Coordinates {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::Schema;
        use utoipa::openapi::RefOr;
        let mut names = std::collections::BTreeSet::new();
        for item in openapi.paths.paths.values() {
            for op in [&item.get, &item.put, &item.post, &item.delete, &item.patch].into_iter().flatten() {
                for c in op.request_body.iter().flat_map(|b| b.content.values()) {
                    if let Some(RefOr::Ref(r)) = &c.schema {
                        names.insert(r.ref_location.rsplit('/').next().unwrap_or_default().to_string());
                    }
                }
            }
        }
        let Some(c) = openapi.components.as_mut() else { return };
        // The schemas the bodies name, and those they name in turn.
        let mut todo: Vec<String> = names.iter().cloned().collect();
        while let Some(name) = todo.pop() {
            let Some(RefOr::T(s)) = c.schemas.get_mut(&name) else { continue };
            for o in objects(s) {
                for p in o.properties.values() {
                    for r in refs(p) {
                        if names.insert(r.clone()) {
                            todo.push(r);
                        }
                    }
                }
            }
        }
        for name in names {
            let Some(RefOr::T(s)) = c.schemas.get_mut(&name) else { continue };
            for o in objects(s) {
                for (field, p) in o.properties.iter_mut() {
                    match p {
                        RefOr::T(Schema::Object(p)) => coordinate(field, p),
                        RefOr::T(Schema::Array(a)) => {
                            if let utoipa::openapi::schema::ArrayItems::RefOrSchema(item) = &mut a.items {
                                if let RefOr::T(Schema::Object(item)) = item.as_mut() {
                                    // A photo is named once (files are files: no rule).
                                    a.unique_items |=
                                        matches!(field.as_str(), "photos" | "evidence") && item.format.is_none();
                                    coordinate(field, item);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}

/// A report names its place: `lat` and `lon`, or an `address` (`service::parse_location` and
/// `report_on`), as JSON or as a form, and so does a hotline call reported for its caller.
struct ReportPlace;

impl Modify for ReportPlace {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{AllOfBuilder, AnyOfBuilder, ObjectBuilder, Schema, Type};
        use utoipa::openapi::RefOr;
        let Some(c) = openapi.components.as_mut() else { return };
        let given = |fields: &[&str], kind: Type| {
            fields.iter().fold(ObjectBuilder::new(), |o, f| {
                o.property(*f, ObjectBuilder::new().schema_type(kind.clone())).required(*f)
            })
        };
        for name in ["ReportBody", "ReportForm", "CallBody"] {
            let Some(RefOr::T(Schema::Object(o))) = c.schemas.get(name).cloned() else {
                debug_assert!(false, "ReportPlace: no schema {name}");
                continue;
            };
            let place = AnyOfBuilder::new()
                .item(given(&["lat", "lon"], Type::Number))
                .item(given(&["address"], Type::String))
                .description(Some("A place: `lat` and `lon`, or an `address`"));
            c.schemas
                .insert(name.to_string(), RefOr::T(Schema::AllOf(AllOfBuilder::new().item(o).item(place).build())));
        }
    }
}

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
    "Me",
    "AdminPeople",
    "AssignmentView",
    "ImportView",
    "PublicMapItem",
    "PublicPhoto",
    "GridGap",
    "GapsAnswer",
    "HistoryRegion",
    "RegionVersionView",
    "LineageView",
    "RegionHistoryAnswer",
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

/// The OpenAPI 3.1 document of `/api/v1`.
#[utoipa::path(get, path = "/openapi.json", tag = "docs", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
async fn openapi_json(Extension(doc): Extension<Document>) -> Json<Value> {
    Json((*doc.0).clone())
}

/// A browsable page of this document: every path and method with its parameters, request body,
/// responses, and the schemas.
#[utoipa::path(get, path = "/docs", tag = "docs", security(()),
    responses((status = 200, description = "An HTML page", content_type = "text/html", body = String)))]
async fn docs_page(Extension(doc): Extension<Document>) -> Html<String> {
    Html(render_html(&doc.0))
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

#[cfg(test)]
mod tests {
    #[test]
    fn always_present_fields_are_required() {
        let doc = serde_json::to_value(super::document()).unwrap();
        let req = &doc["components"]["schemas"]["Case"]["required"];
        assert!(req.as_array().unwrap().iter().any(|v| v == "closed_at"), "{req}");
    }
}
