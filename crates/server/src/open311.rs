//! Open311 GeoReport v2 under `/open311/v2`, in JSON and XML, with the common extensions
//! (`extensions=true`, `page`/`page_size`) and mySociety's `servicerequestupdates` both ways.
//!
//! Categories are services (subclasses; the class is the group), cases are service requests
//! (`service_request_id` is the case reference). Reading is public: a case anyone may see is shown
//! whole (no personal data); a report not yet accepted, or rejected, shows only its status. With
//! an `api_key`, the key's person sees what their roles let them see. Posting needs a key, and is
//! filed as the key's person, through the same state machine as every other report.

use std::collections::BTreeMap;

use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use gridkeeper_domain::exchange::{
    answer_attributes, command_for_update, extended_status, open311_status, with_exchange, InboundUpdate,
};
use gridkeeper_domain::time::{parse_rfc3339, to_rfc3339};
use gridkeeper_domain::{
    can_see, decide_on, report_on, Actor, Case, CaseEvent, CaseState, Category, Contact, LatLon, Millis, NewReport,
    Refusal, RegionLevel, Source, Urgency, HOUR,
};
use gridkeeper_store::{Intake, Open311Key, Open311Query, Respond, UpdatesQuery};
use serde_json::{json, Map, Value};

use crate::auth::{new_token, token_hash};
use crate::error::ApiError;
use crate::extract::RawQuery;
use crate::public::public_visible;
use crate::service::visibility;
use crate::{App, AppState};

/// The date of this implementation's behaviour, as `changeset` in discovery.
const CHANGESET: &str = "2026-11-22T00:00:00Z";
const DAY: Millis = 24 * HOUR;
const MAX_SPAN: Millis = 90 * DAY;
const MAX_RESULTS: u32 = 1000;

pub fn router(app: &AppState) -> Router<AppState> {
    let upload_limit = DefaultBodyLimit::max((app.settings.max_photo_mb as usize + 1) * 1024 * 1024 * 9 + 64 * 1024);
    let v2 = Router::new()
        .route("/{file}", get(get_top).post(post_top).layer(upload_limit))
        .route("/services/{file}", get(service_definition))
        .route("/requests/{file}", get(one_request))
        .route("/tokens/{file}", get(token))
        .fallback(|| async { Open311Error::new(StatusCode::NOT_FOUND, "no such Open311 endpoint").render(Fmt::Xml) });
    Router::new().nest("/open311/v2", v2)
}

// ---------------------------------------------------------------- formats and errors

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fmt {
    Json,
    Xml,
}

/// Splits `requests.json` into `("requests", Json)`.
fn split(file: &str) -> Result<(&str, Fmt), Open311Error> {
    match file.rsplit_once('.') {
        Some((stem, "json")) => Ok((stem, Fmt::Json)),
        Some((stem, "xml")) => Ok((stem, Fmt::Xml)),
        _ => Err(Open311Error::new(StatusCode::NOT_FOUND, format!("`{file}`: ask for .json or .xml"))),
    }
}

/// The spec's error list: one or more `{code, description}`; 404 unknown resource or
/// jurisdiction, 403 missing or bad api_key, 400 everything else.
#[derive(Debug)]
struct Open311Error {
    status: StatusCode,
    descriptions: Vec<String>,
}

impl Open311Error {
    fn new(status: StatusCode, description: impl Into<String>) -> Self {
        Self { status, descriptions: vec![description.into()] }
    }
    fn bad(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, description)
    }
    fn not_found(description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, description)
    }
    fn render(&self, fmt: Fmt) -> Response {
        let code = self.status.as_u16();
        let list: Vec<Value> = self.descriptions.iter().map(|d| json!({ "code": code, "description": d })).collect();
        render(fmt, self.status, "errors", &Value::Array(list))
    }
}

impl From<ApiError> for Open311Error {
    fn from(e: ApiError) -> Self {
        let p = e.problem();
        let status = match p.status.as_u16() {
            404 => StatusCode::NOT_FOUND,
            401 | 403 => StatusCode::FORBIDDEN,
            s if s >= 500 => p.status,
            _ => StatusCode::BAD_REQUEST,
        };
        Self::new(status, p.detail.clone())
    }
}

impl From<gridkeeper_store::StoreError> for Open311Error {
    fn from(e: gridkeeper_store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<gridkeeper_domain::FieldError> for Open311Error {
    fn from(e: gridkeeper_domain::FieldError) -> Self {
        Self::bad(e.to_string())
    }
}

fn refusal(r: Refusal) -> Open311Error {
    match r {
        Refusal::OutOfScope => Open311Error::not_found("service_request_id not found"),
        Refusal::NotAllowed { .. } => Open311Error::new(StatusCode::FORBIDDEN, r.to_string()),
        other => Open311Error::bad(other.to_string()),
    }
}

type Answer = Result<Response, Open311Error>;

fn respond(fmt: Fmt, result: Answer) -> Response {
    result.unwrap_or_else(|e| e.render(fmt))
}

/// Renders a value as JSON, or as XML under `root` (see [`to_xml`]).
fn render(fmt: Fmt, status: StatusCode, root: &str, v: &Value) -> Response {
    match fmt {
        Fmt::Json => {
            (status, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], v.to_string()).into_response()
        }
        Fmt::Xml => (status, [(header::CONTENT_TYPE, "text/xml; charset=utf-8")], to_xml(root, v)).into_response(),
    }
}

/// The element name of the items of a list named `parent`.
fn item_name(parent: &str) -> String {
    match parent {
        "service_requests" => "request".into(),
        "service_request_updates" => "request_update".into(),
        p if p.len() > 1 && p.ends_with('s') => p[..p.len() - 1].into(),
        _ => "value".into(),
    }
}

/// A valid XML element name for a key (attribute codes may start with a digit).
fn element_name(key: &str) -> String {
    let clean: String =
        key.chars().map(|c| if c.is_alphanumeric() || c == '_' || c == '-' || c == '.' { c } else { '_' }).collect();
    match clean.chars().next() {
        Some(c) if c.is_alphabetic() || c == '_' => clean,
        _ => format!("_{clean}"),
    }
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            '\u{FFFE}' | '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

fn write_xml(out: &mut String, name: &str, v: &Value) {
    let name = element_name(name);
    match v {
        Value::Null => {
            out.push_str(&format!("<{name}/>"));
        }
        Value::Array(items) => {
            out.push_str(&format!("<{name}>"));
            let child = item_name(&name);
            for item in items {
                write_xml(out, &child, item);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::Object(map) => {
            out.push_str(&format!("<{name}>"));
            for (k, v) in map {
                write_xml(out, k, v);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::String(s) => {
            out.push_str(&format!("<{name}>"));
            escape_into(out, s);
            out.push_str(&format!("</{name}>"));
        }
        other => out.push_str(&format!("<{name}>{other}</{name}>")),
    }
}

/// The XML form of an Open311 answer: objects are elements with a child per field, lists are
/// elements with a child per item (`<services><service>`, `<service_requests><request>`), null
/// is an empty element.
fn to_xml(root: &str, v: &Value) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    write_xml(&mut out, root, v);
    out
}

// ---------------------------------------------------------------- parameters

/// Parameters of a GET (query string) or a POST (form or multipart fields).
struct Params(RawQuery);

impl Params {
    /// The value of `key`; an empty parameter counts as absent.
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(str::trim).filter(|v| !v.is_empty())
    }
    fn list(&self, key: &str) -> Vec<&str> {
        self.0.all(key)
    }
    fn only(&self, known: &[&str]) -> Result<(), Open311Error> {
        let unknown: Vec<&str> = self
            .0
             .0
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !known.contains(k) && !k.starts_with("attribute["))
            .collect();
        if !unknown.is_empty() {
            return Err(Open311Error::bad(format!(
                "unknown parameter `{}`; known: {}",
                unknown.join("`, `"),
                known.join(", ")
            )));
        }
        // A parameter given twice is refused rather than one of its values silently chosen;
        // only `attribute[CODE][]` (a multi-value list) repeats.
        let mut seen = std::collections::HashSet::new();
        match self.0 .0.iter().map(|(k, _)| k.as_str()).find(|k| !k.ends_with("[]") && !seen.insert(*k)) {
            Some(twice) => Err(Open311Error::bad(format!("{twice}: given more than once; send it once"))),
            None => Ok(()),
        }
    }
    /// `attribute[CODE]=v` and `attribute[CODE][]=v` (repeated for multi-value lists).
    fn attributes(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in &self.0 .0 {
            let Some(rest) = k.strip_prefix("attribute[") else { continue };
            let code = rest.strip_suffix("][]").or_else(|| rest.strip_suffix(']')).unwrap_or(rest);
            out.entry(code.to_string()).or_default().push(v.clone());
        }
        out
    }
    fn date(&self, key: &str) -> Result<Option<Millis>, Open311Error> {
        self.get(key)
            .map(|v| {
                parse_rfc3339(key, v).map_err(|_| {
                    Open311Error::bad(format!(
                        "{key}: `{v}` is not a W3C date-time with offset, like 2010-01-01T00:00:00Z"
                    ))
                })
            })
            .transpose()
    }
    fn flag(&self, key: &str) -> Result<bool, Open311Error> {
        match self.get(key) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(v) => Err(Open311Error::bad(format!("{key}: `{v}` is not true or false"))),
        }
    }
}

/// The base of absolute URLs in answers: the configured public URL, never the request's `Host`.
fn base_url(app: &App) -> String {
    app.settings.public_url().unwrap_or_default()
}

/// The district named by `jurisdiction_id`, if given (404 when unknown).
fn jurisdiction(app: &AppState, p: &Params) -> Result<Option<String>, Open311Error> {
    let Some(j) = p.get("jurisdiction_id") else { return Ok(None) };
    let known = app.reference().regions.values().any(|r| r.level() == RegionLevel::District && r.code.as_str() == j);
    if known {
        Ok(Some(j.to_string()))
    } else {
        Err(Open311Error::not_found(format!("jurisdiction_id `{j}` not found")))
    }
}

/// The key and the person it files as. 403 when missing, unknown or revoked.
async fn key_actor(app: &AppState, p: &Params) -> Result<(Open311Key, Actor), Open311Error> {
    let forbidden = |d: &str| Open311Error::new(StatusCode::FORBIDDEN, d.to_string());
    let key = p.get("api_key").ok_or_else(|| forbidden("api_key is required"))?;
    let k = app.store.open311_key(&token_hash(key)).await?.ok_or_else(|| forbidden("api_key is not valid"))?;
    let person = app.store.person(k.person_id).await?.filter(|p| !p.disabled);
    let person = person.ok_or_else(|| forbidden("the api_key's account is disabled"))?;
    Ok((k, Actor::person(person.id, person.grants)))
}

/// The actor of a read: the key's person when an api_key is given, else anonymous.
async fn reader(app: &AppState, p: &Params) -> Result<Actor, Open311Error> {
    if p.get("api_key").is_some() {
        Ok(key_actor(app, p).await?.1)
    } else {
        Ok(Actor::anonymous())
    }
}

/// The parameters of a POST (form-urlencoded, or multipart with photos as `media` files, stored
/// once the api_key is known to be good) and the ids of the stored photos.
async fn form_params(app: &AppState, req: Request) -> Result<(Params, Vec<String>), Open311Error> {
    let req = crate::http::upload_body(app, req);
    let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    if ct.starts_with("multipart/form-data") {
        let mut mp =
            Multipart::from_request(req, app).await.map_err(|e| Open311Error::new(e.status(), e.body_text()))?;
        let (mut pairs, mut files) = (vec![], vec![]);
        while let Some(field) = mp.next_field().await.map_err(|e| Open311Error::new(e.status(), e.body_text()))? {
            let name = field.name().unwrap_or_default().to_string();
            if field.file_name().is_some() {
                if name != "media" {
                    return Err(Open311Error::bad(format!("file field `{name}`: send photos as `media`")));
                }
                files.push(field.bytes().await.map_err(|e| Open311Error::new(e.status(), e.body_text()))?);
            } else {
                pairs.push((name, field.text().await.map_err(|e| Open311Error::new(e.status(), e.body_text()))?));
            }
        }
        let params = Params(RawQuery(pairs));
        let mut media = vec![];
        if !files.is_empty() {
            let (_, actor) = key_actor(app, &params).await?;
            for f in files {
                media.push(app.store_photo("media", f, actor.person).await?.id);
            }
        }
        Ok((params, media))
    } else {
        let body = axum::body::Bytes::from_request(req, app).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Open311Error::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "the form is too large; send photos as multipart `media`",
                )
            } else {
                Open311Error::bad(e.body_text())
            }
        })?;
        let pairs = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
            .map_err(|e| Open311Error::bad(format!("send application/x-www-form-urlencoded parameters: {e}")))?;
        Ok((Params(RawQuery(pairs)), vec![]))
    }
}

// ---------------------------------------------------------------- GET /{file}, POST /{file}

async fn get_top(State(app): State<AppState>, Path(file): Path<String>, q: RawQuery) -> Response {
    let (stem, fmt) = match split(&file) {
        Ok(x) => x,
        Err(e) => return e.render(Fmt::Xml),
    };
    let p = Params(q);
    let result = match stem {
        "discovery" => discovery(&app, fmt),
        "services" => services(&app, &p, fmt).await,
        "requests" => requests(&app, &p, fmt).await,
        "servicerequestupdates" => updates(&app, &p, fmt).await,
        _ => Err(Open311Error::not_found(format!("no Open311 resource `{stem}`"))),
    };
    respond(fmt, result)
}

async fn post_top(State(app): State<AppState>, Path(file): Path<String>, req: Request) -> Response {
    // mySociety's clients post `servicerequestupdates` without an extension: answer in XML.
    let (stem, fmt) = match file.as_str() {
        "servicerequestupdates" => ("servicerequestupdates", Fmt::Xml),
        f => match split(f) {
            Ok(x) => x,
            Err(e) => return e.render(Fmt::Xml),
        },
    };
    let result = match stem {
        "requests" => post_request(&app, req, fmt).await,
        "servicerequestupdates" => post_update(&app, req, fmt).await,
        _ => Err(Open311Error::not_found(format!("cannot POST `{stem}`"))),
    };
    respond(fmt, result)
}

fn discovery(app: &App, fmt: Fmt) -> Answer {
    let url = format!("{}/open311/v2", base_url(app));
    let v = json!({
        "changeset": CHANGESET,
        "contact": "the operator of this gridkeeper installation",
        "key_service": "API keys are issued by the operator: gridkeeper open311 key add NAME --person LOGIN",
        "endpoints": [{
            "specification": "http://wiki.open311.org/GeoReport_v2",
            "url": url,
            "changeset": CHANGESET,
            "type": "production",
            "formats": ["application/json", "text/xml"],
        }],
    });
    Ok(render(fmt, StatusCode::OK, "discovery", &v))
}

fn service_json(c: &Category, class: Option<&Category>, metadata: bool) -> Value {
    let group = class.map(|k| k.name.clone()).unwrap_or_default();
    let keywords: Vec<&str> =
        [Some(c.kind.as_str()), class.map(|k| k.name.as_str()), class.map(|k| k.name_en.as_str())]
            .into_iter()
            .flatten()
            .collect();
    json!({
        "service_code": c.code,
        "service_name": c.name,
        "description": c.name_en,
        "metadata": metadata,
        "type": "realtime",
        "keywords": keywords.join(", "),
        "group": group,
    })
}

async fn services(app: &AppState, p: &Params, fmt: Fmt) -> Answer {
    p.only(&["jurisdiction_id"])?;
    jurisdiction(app, p)?;
    let reference = app.reference();
    let with_attrs = app.store.categories_with_attributes().await?;
    let mut subs: Vec<&Category> = reference.categories.values().filter(|c| !c.is_class()).collect();
    subs.sort_by(|a, b| a.code.cmp(&b.code));
    let list: Vec<Value> = subs
        .iter()
        .map(|c| {
            let class = c.parent_id.and_then(|id| reference.categories.get(&id));
            service_json(c, class, with_attrs.contains(&c.id))
        })
        .collect();
    Ok(render(fmt, StatusCode::OK, "services", &Value::Array(list)))
}

/// The subclass whose code is `code` (404 otherwise).
fn service(app: &AppState, code: &str) -> Result<Category, Open311Error> {
    app.reference()
        .categories
        .values()
        .find(|c| c.code == code && !c.is_class())
        .cloned()
        .ok_or_else(|| Open311Error::not_found(format!("service_code `{code}` not found")))
}

async fn service_definition(State(app): State<AppState>, Path(file): Path<String>, q: RawQuery) -> Response {
    let (code, fmt) = match split(&file) {
        Ok(x) => x,
        Err(e) => return e.render(Fmt::Xml),
    };
    let result = async {
        let p = Params(q);
        p.only(&["jurisdiction_id"])?;
        jurisdiction(&app, &p)?;
        let c = service(&app, code)?;
        let attrs = app.store.category_attributes(c.id).await?;
        let v = json!({ "service_code": c.code, "attributes": attrs });
        Ok(render(fmt, StatusCode::OK, "service_definition", &v))
    }
    .await;
    respond(fmt, result)
}

// ---------------------------------------------------------------- POST requests

const POST_PARAMS: &[&str] = &[
    "api_key",
    "jurisdiction_id",
    "service_code",
    "lat",
    "long",
    "address_string",
    "address_id",
    "email",
    "device_id",
    "account_id",
    "first_name",
    "last_name",
    "phone",
    "description",
    "media_url",
];

fn number(p: &Params, key: &str) -> Result<Option<f64>, Open311Error> {
    p.get(key)
        .map(|v| v.parse::<f64>().map_err(|_| Open311Error::bad(format!("{key}: `{v}` is not a number"))))
        .transpose()
}

fn media_url(p: &Params) -> Result<Option<String>, Open311Error> {
    match p.get("media_url") {
        Some(u) if u.len() <= 2000 && (u.starts_with("http://") || u.starts_with("https://")) => {
            Ok(Some(u.to_string()))
        }
        Some(_) => Err(Open311Error::bad("media_url: give an http or https URL of at most 2000 characters")),
        None => Ok(None),
    }
}

#[tracing::instrument(skip_all)]
async fn post_request(app: &AppState, req: Request, fmt: Fmt) -> Answer {
    let (p, photos) = form_params(app, req).await?;
    p.only(POST_PARAMS)?;
    let (key, actor) = key_actor(app, &p).await?;
    let district = jurisdiction(app, &p)?;
    // Collect every problem of the request, as the spec allows several errors at once.
    let mut errors = vec![];
    let category = match p.get("service_code") {
        None => {
            errors.push("service_code is required".to_string());
            None
        }
        Some(code) => Some(service(app, code)?),
    };
    let location = match (number(&p, "lat")?, number(&p, "long")?) {
        (Some(lat), Some(lon)) => {
            Some(LatLon::new(lat, lon).map_err(|e| Open311Error::bad(e.to_string().replace("lon:", "long:")))?)
        }
        (None, None) => None,
        _ => {
            errors.push("lat and long go together".to_string());
            None
        }
    };
    if p.get("address_id").is_some() {
        errors.push(
            "address_id is not supported here (no address registry): send lat and long, or address_string".into(),
        );
    } else if location.is_none() && p.get("address_string").is_none() {
        errors.push("a location is required: lat and long, or address_string".to_string());
    }
    let attrs = match &category {
        Some(c) => app.store.category_attributes(c.id).await?,
        None => vec![],
    };
    let answers = answer_attributes(&attrs, &p.attributes()).unwrap_or_else(|e| {
        errors.extend(e.into_iter().map(|f| f.to_string()));
        Map::new()
    });
    let media = media_url(&p)?;
    if !errors.is_empty() {
        return Err(Open311Error { status: StatusCode::BAD_REQUEST, descriptions: errors });
    }
    let category = category.expect("checked above");
    let (grid, located_district) = app.place(location)?;
    let district = match district {
        Some(d) if grid.as_ref().is_some_and(|g| g.district() != d) => {
            return Err(Open311Error::bad(format!("the location lies in jurisdiction {located_district}, not {d}")))
        }
        Some(d) => d,
        None => located_district,
    };
    let name = [p.get("first_name"), p.get("last_name")].into_iter().flatten().collect::<Vec<_>>().join(" ");
    let contact = Contact { name: Some(name).filter(|n| !n.is_empty()), phone: p.get("phone").map(str::to_string) };
    let trusted = gridkeeper_domain::may(&actor, gridkeeper_domain::Permission::ReportForAnotherSystem).is_ok();
    let new = NewReport {
        district,
        grid,
        location,
        address: p.get("address_string").map(str::to_string),
        description: p.get("description").unwrap_or(&category.name).to_string(),
        urgency: Urgency::Routine,
        suggested_category: Some(category.clone()),
        photos: photos.clone(),
        anonymous: false,
        contact: Some(contact).filter(|c| !c.is_empty()),
        source: trusted.then_some(Source::Exchange),
    };
    let now = app.now();
    let mut exchange = Map::new();
    exchange.insert("via".into(), json!("open311"));
    exchange.insert("api_key".into(), json!(key.name));
    if !answers.is_empty() {
        exchange.insert("attributes".into(), Value::Object(answers));
    }
    for k in ["device_id", "account_id"] {
        if let Some(v) = p.get(k) {
            exchange.insert(k.into(), json!(v));
        }
    }
    if let Some(u) = media {
        exchange.insert("media_url".into(), json!(u));
    }
    let calendar = app.calendar(&new.district);
    let decision = with_exchange(report_on(&actor, new, now, &calendar).map_err(refusal)?, exchange);
    let tracking_code = new_token(12);
    let hash = token_hash(&tracking_code);
    let case = app
        .intake
        .insert(Intake { decision: &decision, year: app.year_of(now), tracking_hash: Some(&hash), media: &photos })
        .await?;
    app.announce(&case, &decision.event).await;
    tracing::info!(case = case.id, key = %key.name, "open311 request stored");
    let notice = format!(
        "received as {}; the linkage center accepts reports within {} minutes",
        case.reference,
        case.urgency.accept_within() / 60_000
    );
    let mut item = json!({ "service_notice": notice, "account_id": p.get("account_id") });
    match key.respond {
        Respond::Id => item["service_request_id"] = json!(case.reference),
        Respond::Token => item["token"] = json!(tracking_code),
    }
    Ok(render(fmt, StatusCode::OK, "service_requests", &json!([item])))
}

async fn token(State(app): State<AppState>, Path(file): Path<String>, q: RawQuery) -> Response {
    let (code, fmt) = match split(&file) {
        Ok(x) => x,
        Err(e) => return e.render(Fmt::Xml),
    };
    let result = async {
        let p = Params(q);
        p.only(&["jurisdiction_id", "api_key"])?;
        jurisdiction(&app, &p)?;
        let case =
            app.tracked_case(code).await.map_err(|_| Open311Error::not_found(format!("token `{code}` not found")))?;
        let v = json!([{ "service_request_id": case.reference, "token": code }]);
        Ok(render(fmt, StatusCode::OK, "service_requests", &v))
    }
    .await;
    respond(fmt, result)
}

// ---------------------------------------------------------------- GET requests

/// The note of the latest event the reporter may read.
fn status_notes(events: &[CaseEvent]) -> Option<String> {
    events.iter().rev().filter(|e| !e.event.action.is_internal()).find_map(|e| {
        ["note", "reason", "text"]
            .iter()
            .find_map(|k| e.event.data.get(*k).and_then(|v| v.as_str()).map(str::to_string))
    })
}

/// One service request. `whole`: the actor may see the case (or anyone may); otherwise only
/// its status.
fn request_json(app: &AppState, c: &Case, events: &[CaseEvent], whole: bool, extensions: bool, base: &str) -> Value {
    let reference = app.reference();
    let category = c.category.or(c.suggested_category).and_then(|id| reference.categories.get(&id));
    let report_data = events.first().map(|e| &e.event.data).cloned().unwrap_or(Value::Null);
    let exchange = report_data.get("exchange").cloned().unwrap_or(Value::Null);
    let mut v = json!({
        "service_request_id": c.reference,
        "status": open311_status(c.state),
        "service_name": category.map(|k| k.name.clone()),
        "service_code": category.map(|k| k.code.clone()),
        "requested_datetime": to_rfc3339(c.reported_at),
        "updated_datetime": to_rfc3339(c.updated_at),
    });
    if !whole {
        v["status_notes"] = json!(match c.state {
            CaseState::Rejected => format!("rejected: {}", c.rejection.map(|r| r.as_str()).unwrap_or("invalid")),
            _ => "received; awaiting acceptance by the linkage center".to_string(),
        });
        return v;
    }
    let photo = report_data.get("photos").and_then(|p| p.get(0)).and_then(|p| p.as_str());
    let media = match photo {
        Some(id) => Some(format!("{base}/api/v1/media/{id}")),
        None => exchange.get("media_url").and_then(|u| u.as_str()).map(str::to_string),
    };
    let agency = c.lead_department.and_then(|d| reference.departments.get(&d)).map(|d| d.name.clone());
    let fields = json!({
        "status_notes": status_notes(events),
        "description": c.description,
        "agency_responsible": agency,
        "service_notice": null,
        "expected_datetime": c.handle_by.map(to_rfc3339),
        "address": c.address,
        "address_id": null,
        "zipcode": null,
        "lat": c.location.map(|l| l.lat),
        "long": c.location.map(|l| l.lon),
        "media_url": media,
    });
    if let (Value::Object(v), Value::Object(f)) = (&mut v, fields) {
        v.extend(f);
    }
    if extensions {
        let notes: Vec<Value> = events
            .iter()
            .filter(|e| !e.event.action.is_internal())
            .map(|e| {
                json!({
                    "datetime": to_rfc3339(e.event.at),
                    "type": e.event.action.as_str(),
                    "status": extended_status(e.event.to, c.rejection, Some(e.event.action)),
                    "description": status_notes(std::slice::from_ref(e)),
                })
            })
            .collect();
        v["attributes"] = exchange.get("attributes").cloned().unwrap_or(json!({}));
        v["extended_attributes"] = json!({
            "reference": c.reference,
            "state": c.state,
            "extended_status": extended_status(c.state, c.rejection, None),
            "district": c.district,
            "grid": c.grid,
            "urgency": c.urgency,
            "category_kind": c.category_kind,
        });
        v["notes"] = json!(notes);
    }
    v
}

/// The window of `start_date`/`end_date`: at most 90 days, the last 90 days by default.
fn window(app: &AppState, p: &Params) -> Result<(Millis, Millis), Open311Error> {
    let (start, end) = (p.date("start_date")?, p.date("end_date")?);
    let (from, to) = match (start, end) {
        (Some(s), Some(e)) => (s, e),
        (Some(s), None) => (s, s + MAX_SPAN),
        (None, Some(e)) => (e - MAX_SPAN, e),
        (None, None) => {
            let now = app.now();
            (now - MAX_SPAN, now)
        }
    };
    if to < from {
        return Err(Open311Error::bad("end_date lies before start_date"));
    }
    if to - from > MAX_SPAN {
        return Err(Open311Error::bad("start_date and end_date may be at most 90 days apart"));
    }
    Ok((from, to))
}

async fn render_requests(
    app: &AppState,
    actor: &Actor,
    cases: Vec<Case>,
    extensions: bool,
    base: &str,
) -> Result<Value, Open311Error> {
    let ids: Vec<i64> = cases.iter().map(|c| c.id).collect();
    let mut events = app.store.events_of(&ids).await?;
    let list: Vec<Value> = cases
        .iter()
        .map(|c| {
            let whole = public_visible(c) || can_see(actor, c);
            request_json(app, c, &events.remove(&c.id).unwrap_or_default(), whole, extensions, base)
        })
        .collect();
    Ok(Value::Array(list))
}

async fn requests(app: &AppState, p: &Params, fmt: Fmt) -> Answer {
    p.only(&[
        "service_request_id",
        "service_code",
        "start_date",
        "end_date",
        "status",
        "jurisdiction_id",
        "api_key",
        "extensions",
        "page",
        "page_size",
    ])?;
    let district = jurisdiction(app, p)?;
    let actor = reader(app, p).await?;
    let extensions = p.flag("extensions")?;
    let mut q = Open311Query {
        district,
        visibility: actor.person.map(|_| visibility(&actor)),
        limit: MAX_RESULTS,
        ..Default::default()
    };
    let page: u32 = match p.get("page") {
        Some(v) => {
            v.parse().ok().filter(|n| *n >= 1).ok_or_else(|| Open311Error::bad("page: a whole number from 1"))?
        }
        None => 1,
    };
    if let Some(v) = p.get("page_size") {
        q.limit = v
            .parse()
            .ok()
            .filter(|n| (1..=MAX_RESULTS).contains(n))
            .ok_or_else(|| Open311Error::bad(format!("page_size: a whole number from 1 to {MAX_RESULTS}")))?;
    }
    q.offset = (page - 1).saturating_mul(q.limit);
    q.keys = p.list("service_request_id").into_iter().map(str::to_string).collect();
    if q.keys.is_empty() {
        let reference = app.reference();
        for code in p.list("service_code") {
            let c = reference
                .categories
                .values()
                .find(|c| c.code == code)
                .ok_or_else(|| Open311Error::not_found(format!("service_code `{code}` not found")))?;
            if c.is_class() {
                q.categories.extend(reference.categories.values().filter(|s| s.parent_id == Some(c.id)).map(|s| s.id));
            } else {
                q.categories.push(c.id);
            }
        }
        let (from, to) = window(app, p)?;
        (q.reported_from, q.reported_to) = (Some(from), Some(to));
        let statuses = p.list("status");
        if let Some(bad) = statuses.iter().find(|s| !matches!(**s, "open" | "closed")) {
            return Err(Open311Error::bad(format!("status: `{bad}` is not open or closed")));
        }
        let (open, closed) = (statuses.contains(&"open"), statuses.contains(&"closed"));
        q.open = if open != closed { Some(open) } else { None };
    }
    let cases = app.store.open311_requests(&q).await?;
    let v = render_requests(app, &actor, cases, extensions, &base_url(app)).await?;
    Ok(render(fmt, StatusCode::OK, "service_requests", &v))
}

async fn one_request(State(app): State<AppState>, Path(file): Path<String>, q: RawQuery) -> Response {
    let (id, fmt) = match split(&file) {
        Ok(x) => x,
        Err(e) => return e.render(Fmt::Xml),
    };
    let result = async {
        let p = Params(q);
        p.only(&["jurisdiction_id", "api_key", "extensions"])?;
        let district = jurisdiction(&app, &p)?;
        let actor = reader(&app, &p).await?;
        let q = Open311Query {
            keys: vec![id.to_string()],
            district,
            visibility: actor.person.map(|_| visibility(&actor)),
            limit: 1,
            ..Default::default()
        };
        let cases = app.store.open311_requests(&q).await?;
        if cases.is_empty() {
            return Err(Open311Error::not_found(format!("service_request_id `{id}` not found")));
        }
        let v = render_requests(&app, &actor, cases, p.flag("extensions")?, &base_url(&app)).await?;
        Ok(render(fmt, StatusCode::OK, "service_requests", &v))
    }
    .await;
    respond(fmt, result)
}

// ---------------------------------------------------------------- servicerequestupdates

fn update_id(c: &Case, seq: i64) -> String {
    format!("{}.{seq}", c.reference)
}

async fn updates(app: &AppState, p: &Params, fmt: Fmt) -> Answer {
    p.only(&["start_date", "end_date", "jurisdiction_id", "api_key"])?;
    let district = jurisdiction(app, p)?;
    let actor = reader(app, p).await?;
    let (from, to) = window(app, p)?;
    let q = UpdatesQuery {
        from,
        to: to + 1,
        district,
        visibility: actor.person.map(|_| visibility(&actor)),
        limit: MAX_RESULTS,
    };
    let base = base_url(app);
    let list: Vec<Value> = app
        .store
        .case_updates(&q)
        .await?
        .iter()
        .map(|(c, e)| {
            let whole = public_visible(c) || can_see(&actor, c);
            let photo = ["evidence", "photos"]
                .iter()
                .find_map(|k| e.event.data.get(*k).and_then(|p| p.get(0)).and_then(|p| p.as_str()));
            json!({
                "update_id": update_id(c, e.seq),
                "service_request_id": c.reference,
                "status": open311_status(e.event.to),
                "external_status_code": extended_status(e.event.to, c.rejection, Some(e.event.action)),
                "updated_datetime": to_rfc3339(e.event.at),
                "description": if whole { status_notes(std::slice::from_ref(e)) } else { None },
                "media_url": photo.filter(|_| whole).map(|id| format!("{base}/api/v1/media/{id}")),
            })
        })
        .collect();
    Ok(render(fmt, StatusCode::OK, "service_request_updates", &Value::Array(list)))
}

const UPDATE_PARAMS: &[&str] = &[
    "api_key",
    "jurisdiction_id",
    "service_request_id",
    "update_id",
    "status",
    "updated_datetime",
    "description",
    "media_url",
    "first_name",
    "last_name",
    "email",
    "account_id",
    "external_status_code",
];

/// A status update from another system: turned into the state machine's command for the case as
/// it is, decided as the key's person, stored with one event. The sender's `update_id` makes it
/// idempotent: the same update sent twice is applied once.
#[tracing::instrument(skip_all)]
async fn post_update(app: &AppState, req: Request, fmt: Fmt) -> Answer {
    let (p, evidence) = form_params(app, req).await?;
    p.only(UPDATE_PARAMS)?;
    let (key, actor) = key_actor(app, &p).await?;
    jurisdiction(app, &p)?;
    let mut missing = vec![];
    for k in ["service_request_id", "update_id", "status", "updated_datetime"] {
        if p.get(k).is_none() {
            missing.push(format!("{k} is required"));
        }
    }
    if !missing.is_empty() {
        return Err(Open311Error { status: StatusCode::BAD_REQUEST, descriptions: missing });
    }
    let their_id = format!("{}:{}", key.id, p.get("update_id").unwrap_or_default());
    let sent_at = p.date("updated_datetime")?.expect("checked above");
    let id = p.get("service_request_id").unwrap_or_default();
    let answer = |c: &Case, seq: i64| {
        let v = json!([{ "update_id": update_id(c, seq) }]);
        Ok(render(fmt, StatusCode::OK, "service_request_updates", &v))
    };
    for attempt in 0..3 {
        if let Some(e) = app.store.event_by_update_id(&their_id).await? {
            let c = app.store.case(e.case_id).await?.ok_or_else(|| Open311Error::not_found("case vanished"))?;
            return answer(&c, e.seq);
        }
        let case = app
            .find_case(&actor, id)
            .await
            .map_err(|_| Open311Error::not_found(format!("service_request_id `{id}` not found")))?;
        let suggested = case.suggested_category.and_then(|c| app.reference().categories.get(&c).cloned());
        let update = InboundUpdate {
            status: p.get("status").unwrap_or_default().to_string(),
            description: p.get("description").map(str::to_string),
            evidence: evidence.clone(),
        };
        let cmd = command_for_update(&case, &update, suggested)?;
        let mut exchange = Map::new();
        exchange.insert("via".into(), json!("open311"));
        exchange.insert("api_key".into(), json!(key.name));
        exchange.insert("update_id".into(), json!(their_id));
        exchange.insert("updated_datetime".into(), json!(to_rfc3339(sent_at)));
        if let Some(u) = media_url(&p)? {
            exchange.insert("media_url".into(), json!(u));
        }
        let calendar = app.calendar(&case.district);
        let decision = with_exchange(decide_on(&case, &actor, cmd, app.now(), &calendar).map_err(refusal)?, exchange);
        match app.store.apply(&decision, &evidence).await {
            Ok(c) => {
                app.announce(&c, &decision.event).await;
                return answer(&c, c.version);
            }
            // Someone changed the case meanwhile (perhaps the same update, sent twice): look again.
            Err(gridkeeper_store::StoreError::Conflict(_)) if attempt < 2 => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Open311Error::bad("the case keeps changing; send the update again"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_has_the_spec_shapes_and_escapes() {
        let v = json!([{ "service_code": "C0101", "metadata": true, "group": "A & <B>", "account_id": null }]);
        assert_eq!(
            to_xml("services", &v),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><services><service><account_id/><group>A &amp; &lt;B&gt;</group>\
             <metadata>true</metadata><service_code>C0101</service_code></service></services>"
        );
        let r = to_xml("service_requests", &json!([{ "notes": [{ "type": "accept" }], "x": "a\u{1}b" }]));
        assert!(
            r.contains("<service_requests><request><notes><note><type>accept</type></note></notes><x>ab</x>"),
            "{r}"
        );
        let e = to_xml("errors", &json!([{ "code": 403, "description": "api_key is required" }]));
        assert!(e.ends_with(
            "<errors><error><code>403</code><description>api_key is required</description></error></errors>"
        ));
        assert_eq!(element_name("9a"), "_9a");
        assert_eq!(item_name("service_request_updates"), "request_update");
    }

    #[test]
    fn attributes_are_read_from_form_keys() {
        let p = Params(RawQuery(vec![
            ("attribute[depth]".into(), "3".into()),
            ("attribute[hazards][]".into(), "traffic".into()),
            ("attribute[hazards][]".into(), "night".into()),
            ("lat".into(), "".into()),
        ]));
        let a = p.attributes();
        assert_eq!(a["depth"], vec!["3"]);
        assert_eq!(a["hazards"], vec!["traffic", "night"]);
        assert_eq!(p.get("lat"), None, "an empty parameter is absent");
        assert!(p.only(&["lat"]).is_ok());
        assert!(p.only(&[]).is_err());
    }
}
