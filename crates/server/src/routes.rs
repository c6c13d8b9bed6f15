//! Routes and handlers of `/api/v1`. Each handler: parse, call the service, render.

use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use gridkeeper_domain::time::{parse_rfc3339, to_rfc3339};
use gridkeeper_domain::{
    Action, Actor, Case, CaseEvent, CaseState, Command, FieldError, LatLon, RegionCode, RegionLevel, Rejection, Urgency,
};
use gridkeeper_store::{CaseLink, CaseOrder, CaseQuery, Media};
use serde::Deserialize;
use serde_json::{json, Value};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::auth::{token_hash, Auth, MaybeAuth, SESSION_COOKIE};
use crate::error::{ApiError, ApiResult};
use crate::extract::{parse_json, ApiJson, RawQuery};
use crate::service::{parse_location, visibility, OnTheSpotInput, ReportInput};
use crate::{App, AppState};

pub fn router(app: AppState) -> Router {
    let upload_limit = DefaultBodyLimit::max((app.settings.max_photo_mb as usize + 1) * 1024 * 1024 * 9 + 64 * 1024);
    let api = Router::new()
        .route("/session", axum::routing::delete(logout))
        .route("/me", get(me))
        .route("/regions", get(regions))
        .route("/platforms", get(platforms))
        .route("/departments", get(departments))
        .route("/categories", get(categories))
        .route("/media", post(upload_media).layer(upload_limit))
        .route("/media/{id}", get(media_original))
        .route("/media/{id}/thumbnail", get(media_thumbnail))
        .route("/cases", post(create_case).get(list_cases).layer(upload_limit))
        .route("/cases/on-the-spot", post(create_on_the_spot))
        .route("/cases/{key}", get(case_detail))
        .route("/cases/{key}/possible-duplicates", get(case_duplicates))
        .route("/cases/{key}/actions/{action}", post(case_action))
        .route("/duplicates", get(check_duplicates))
        .route("/public/cases/{reference}", get(public_case))
        .route("/track/{code}", get(track))
        .route("/track/{code}/rate", post(track_rate))
        .merge(crate::accounts::router())
        .merge(crate::calendar_api::router())
        .merge(crate::measures_api::router())
        .merge(crate::report_api::router())
        .merge(crate::exchange_api::router())
        .merge(crate::geo_api::router())
        .merge(crate::openapi::router())
        .merge(crate::events::router())
        .merge(crate::public_map::router())
        .merge(crate::admin_api::router())
        .fallback(|| async { ApiError::not_found("endpoint") });
    let timeout = std::time::Duration::from_secs(u64::from(app.settings.request_timeout_seconds.max(1)));
    Router::new()
        .nest("/api/v1", api)
        .merge(crate::open311::router(&app))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .merge(crate::web::router())
        .layer(DefaultBodyLimit::max(1024 * 1024))
        .layer(axum::middleware::from_fn(csrf))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        // Every response: a strict CSP, no sniffing, no framing, no referrer.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; frame-ancestors 'none'; base-uri 'self'",
            ),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(TraceLayer::new_for_http())
        .with_state(app)
}

/// CSRF protection for cookie sessions (double submit): a state-changing request that relies on
/// the session cookie must echo the `gk_csrf` cookie in an `X-CSRF-Token` header. Requests with a
/// bearer token are not exposed to CSRF and need no header.
async fn csrf(req: Request, next: axum::middleware::Next) -> Response {
    let unsafe_method = !matches!(req.method().as_str(), "GET" | "HEAD" | "OPTIONS");
    let h = req.headers();
    let bearer = h.contains_key(header::AUTHORIZATION);
    let cookie = |name: &str| crate::auth::cookie(h, name);
    if unsafe_method && !bearer && cookie(SESSION_COOKIE).is_some() {
        let sent = h.get("x-csrf-token").and_then(|v| v.to_str().ok());
        if sent.is_none() || sent.map(str::to_string) != cookie(crate::auth::CSRF_COOKIE) {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "Missing CSRF token",
                "requests signed in by cookie must send the gk_csrf cookie's value in an X-CSRF-Token header",
            )
            .into_response();
        }
    }
    next.run(req).await
}

async fn ready(State(app): State<AppState>) -> ApiResult<&'static str> {
    app.store.count_cases().await?;
    Ok("ready")
}

// ---------------------------------------------------------------- session

#[utoipa::path(delete, path = "/session", tag = "session", summary = "Sign out", responses((status = 204, description = "Signed out; the session cookie is cleared"), (status = 401, description = "Not signed in"), (status = 403, description = "Not allowed (role, scope or CSRF token)")))]
async fn logout(State(app): State<AppState>, req: Request) -> ApiResult<Response> {
    let (mut parts, _) = req.into_parts();
    let auth = <Auth as axum::extract::FromRequestParts<AppState>>::from_request_parts(&mut parts, &app).await?;
    let token = crate::auth::token_of(&parts.headers);
    if let Some(t) = token {
        app.store.delete_session(&token_hash(&t)).await?;
    }
    tracing::info!(person = auth.person.id, "signed out");
    let mut resp = StatusCode::NO_CONTENT.into_response();
    for gone in
        ["gk_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0", "gk_csrf=; Path=/; SameSite=Strict; Max-Age=0"]
    {
        resp.headers_mut().append(header::SET_COOKIE, HeaderValue::from_static(gone));
    }
    Ok(resp)
}

#[utoipa::path(get, path = "/me", tag = "session", summary = "The signed-in person", responses((status = 200, description = "The signed-in person", body = crate::openapi::MeAnswer), (status = 401, description = "Not signed in")))]
async fn me(auth: Auth) -> Json<Value> {
    Json(json!({ "person": auth.person }))
}

// ---------------------------------------------------------------- reference data

#[utoipa::path(get, path = "/regions", tag = "reference", summary = "The region tree", security(()), params(("level" = Option<String>, Query, description = "province, city, district, street, community or grid"), ("parent" = Option<String>, Query, description = "Only the children of this region"), ("geometry" = Option<bool>, Query, description = "Include GeoJSON geometries")), responses((status = 200, description = "Regions sorted by code", body = crate::openapi::RegionList), (status = 400, description = "Malformed body or query, or an unknown parameter"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn regions(State(app): State<AppState>, q: RawQuery) -> ApiResult<Json<Value>> {
    q.only(&["level", "parent", "geometry"])?;
    let level = q.get("level").map(RegionLevel::parse).transpose()?;
    let parent =
        q.get("parent").map(|p| RegionCode::parse(p).map_err(|e| FieldError::new("parent", e.reason))).transpose()?;
    let geometry = q.parse::<bool>("geometry", "true or false")?.unwrap_or(false);
    let r = app.reference();
    let mut out: Vec<_> = r
        .regions
        .values()
        .filter(|x| level.is_none_or(|l| x.level() == l))
        .filter(|x| parent.as_ref().is_none_or(|p| x.parent().as_ref() == Some(p)))
        .map(|x| {
            let mut v = json!({ "code": x.code, "name": x.name, "name_en": x.name_en, "level": x.level(), "parent": x.parent() });
            if geometry {
                v["geometry"] = x.geometry.clone().unwrap_or(Value::Null);
            }
            v
        })
        .collect();
    out.sort_by(|a, b| a["code"].as_str().cmp(&b["code"].as_str()));
    Ok(Json(json!({ "items": out })))
}

#[utoipa::path(get, path = "/platforms", tag = "reference", summary = "Platforms of the linkage center", security(()), responses((status = 200, description = "Platforms of the linkage center", body = crate::openapi::PlatformList)))]
async fn platforms(State(app): State<AppState>) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "items": app.store.platforms().await? })))
}

#[utoipa::path(get, path = "/departments", tag = "reference", summary = "Departments", security(()), responses((status = 200, description = "Departments sorted by id", body = crate::openapi::DepartmentList)))]
async fn departments(State(app): State<AppState>) -> Json<Value> {
    let mut d: Vec<_> = app.reference().departments.values().cloned().collect();
    d.sort_by_key(|d| d.id);
    Json(json!({ "items": d }))
}

#[utoipa::path(get, path = "/categories", tag = "reference", summary = "Problem categories", security(()), responses((status = 200, description = "Categories (classes and subclasses) sorted by code", body = crate::openapi::CategoryList)))]
async fn categories(State(app): State<AppState>) -> Json<Value> {
    let mut c: Vec<_> = app.reference().categories.values().cloned().collect();
    c.sort_by(|a, b| a.code.cmp(&b.code));
    Json(json!({ "items": c }))
}

fn query_location(q: &RawQuery) -> ApiResult<LatLon> {
    let lat = q.parse::<f64>("lat", "a number")?.ok_or_else(|| ApiError::field("lat", "is required"))?;
    let lon = q.parse::<f64>("lon", "a number")?.ok_or_else(|| ApiError::field("lon", "is required"))?;
    Ok(LatLon::new(lat, lon)?)
}

// ---------------------------------------------------------------- media

fn media_json(m: &Media) -> Value {
    json!({
        "id": m.id,
        "content_type": m.content_type,
        "width": m.width,
        "height": m.height,
        "bytes": m.bytes,
        "url": format!("/api/v1/media/{}", m.id),
        "thumbnail_url": format!("/api/v1/media/{}/thumbnail", m.id),
        "suggested_location": m.gps_lat.zip(m.gps_lon).map(|(lat, lon)| json!({ "lat": lat, "lon": lon })),
    })
}

#[utoipa::path(post, path = "/media", tag = "media", summary = "Upload a photo; its metadata is removed", security((), ("bearer" = []), ("session_cookie" = [])), request_body(content = crate::openapi::MediaUpload, description = "An image in `file` (or `photo`; several at once are allowed); its metadata is removed", content_type = "multipart/form-data"), responses((status = 201, description = "The stored photo; with several files, `{ items: [...] }`", body = inline(crate::openapi::MediaView)), (status = 400, description = "Malformed body or query, or an unknown parameter"), (status = 413, description = "The upload is too large"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn upload_media(
    State(app): State<AppState>,
    auth: MaybeAuth,
    mut mp: Multipart,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let by = auth.0.map(|a| a.person.id);
    let mut out = vec![];
    while let Some(field) = mp.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_string();
        if name != "file" && name != "photo" {
            return Err(ApiError::field(&name, "unknown field; send the image as `file`"));
        }
        let bytes = field.bytes().await.map_err(multipart_error)?;
        out.push(media_json(&app.store_photo(&name, bytes, by).await?));
        if out.len() > gridkeeper_domain::MAX_PHOTOS {
            return Err(ApiError::field("file", format!("at most {} photos at once", gridkeeper_domain::MAX_PHOTOS)));
        }
    }
    match out.len() {
        0 => Err(ApiError::field("file", "no image was sent")),
        1 => Ok((StatusCode::CREATED, Json(out.remove(0)))),
        _ => Ok((StatusCode::CREATED, Json(json!({ "items": out })))),
    }
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::too_large("the upload is too large")
    } else {
        ApiError::bad_request(format!("the multipart body is malformed: {}", e.body_text()))
    }
}

async fn media_file(app: &AppState, auth: MaybeAuth, id: &str, thumb: bool) -> ApiResult<Response> {
    let m = app.store.media(id).await?.ok_or_else(|| ApiError::not_found("photo"))?;
    let actor = auth.0.map(|a| a.actor).unwrap_or_default();
    let visible = match m.case_id {
        None => m.uploaded_by.is_none() || m.uploaded_by == actor.person,
        Some(case) => match app.store.case(case).await? {
            Some(c) => gridkeeper_domain::can_see(&actor, &c) || public_visible(&c),
            None => false,
        },
    };
    if !visible {
        return Err(ApiError::not_found("photo"));
    }
    let bytes = app.photo_bytes(&m, thumb).await?;
    let ct = if thumb { "image/jpeg" } else { m.content_type.as_str() };
    Ok(([(header::CONTENT_TYPE, ct.to_string()), (header::CACHE_CONTROL, "private, max-age=86400".into())], bytes)
        .into_response())
}

#[utoipa::path(get, path = "/media/{id}", tag = "media", summary = "A photo", security((), ("bearer" = []), ("session_cookie" = [])), params(("id" = String, Path, description = "Photo id")), responses((status = 200, description = "The image (JPEG, PNG or WebP)", content_type = "image/*"), (status = 404, description = "Not found, or outside one's scope")))]
async fn media_original(State(app): State<AppState>, auth: MaybeAuth, Path(id): Path<String>) -> ApiResult<Response> {
    media_file(&app, auth, &id, false).await
}

#[utoipa::path(get, path = "/media/{id}/thumbnail", tag = "media", summary = "A photo's thumbnail", security((), ("bearer" = []), ("session_cookie" = [])), params(("id" = String, Path, description = "Photo id")), responses((status = 200, description = "A JPEG thumbnail", content_type = "image/jpeg"), (status = 404, description = "Not found, or outside one's scope")))]
async fn media_thumbnail(State(app): State<AppState>, auth: MaybeAuth, Path(id): Path<String>) -> ApiResult<Response> {
    media_file(&app, auth, &id, true).await
}

// ---------------------------------------------------------------- reporting

// The JSON body of `POST /api/v1/cases` (also parsed by the ceiling servers of `gridkeeper-bench intake`).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    pub description: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub address: Option<String>,
    pub urgency: Option<Urgency>,
    pub category: Option<i64>,
    #[serde(default)]
    pub photos: Vec<String>,
    #[serde(default)]
    pub anonymous: bool,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    /// The coordinate system of `lat`/`lon`: `wgs84` (GPS, the default), `gcj02` (AMap, Tencent,
    /// WeChat) or `bd09` (Baidu). Stored as WGS-84.
    pub crs: Option<String>,
}

fn contact(name: Option<String>, phone: Option<String>) -> Option<gridkeeper_domain::Contact> {
    let c = gridkeeper_domain::Contact { name, phone };
    (!c.is_empty()).then_some(c)
}

/// Reads a report sent as multipart/form-data: text fields plus up to nine `photos` files.
async fn report_from_multipart(app: &AppState, mut mp: Multipart, by: Option<i64>) -> ApiResult<ReportInput> {
    let mut input = ReportInput::default();
    let (mut lat, mut lon) = (None, None);
    let mut crs: Option<String> = None;
    let mut described = false;
    let (mut contact_name, mut contact_phone) = (None, None);
    while let Some(field) = mp.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "photos" || name == "photo" {
            if input.photos.len() == gridkeeper_domain::MAX_PHOTOS {
                return Err(ApiError::field("photos", format!("at most {} photos", gridkeeper_domain::MAX_PHOTOS)));
            }
            let bytes = field.bytes().await.map_err(multipart_error)?;
            input.photos.push(app.store_photo("photos", bytes, by).await?.id);
            continue;
        }
        let text = field.text().await.map_err(multipart_error)?;
        let number =
            |v: &str| v.trim().parse::<f64>().map_err(|_| ApiError::field(&name, format!("`{v}` is not a number")));
        match name.as_str() {
            "description" => {
                input.description = text;
                described = true;
            }
            "lat" if !text.is_empty() => lat = Some(number(&text)?),
            "lon" if !text.is_empty() => lon = Some(number(&text)?),
            "lat" | "lon" => {}
            "crs" if !text.is_empty() => crs = Some(text),
            "crs" => {}
            "address" => input.address = Some(text),
            "urgency" if !text.is_empty() => input.urgency = Some(Urgency::parse(text.trim())?),
            "category" if !text.is_empty() => {
                input.category =
                    Some(text.trim().parse().map_err(|_| ApiError::field("category", "must be a category id"))?)
            }
            "urgency" | "category" => {}
            "anonymous" => input.anonymous = matches!(text.trim(), "true" | "1" | "on" | "yes"),
            "contact_name" if !text.trim().is_empty() => contact_name = Some(text),
            "contact_phone" if !text.trim().is_empty() => contact_phone = Some(text),
            "contact_name" | "contact_phone" => {}
            _ => return Err(ApiError::field(&name, "unknown field")),
        }
    }
    if !described {
        return Err(ApiError::field("description", "is required"));
    }
    input.location = crate::regions::stored_location(parse_location(lat, lon)?, crs.as_deref())?;
    input.contact = contact(contact_name, contact_phone);
    Ok(input)
}

#[utoipa::path(post, path = "/cases", tag = "cases", summary = "Report a problem (JSON or multipart with photos)", security((), ("bearer" = []), ("session_cookie" = [])), request_body(content((ReportBody = "application/json"), (ReportBody = "multipart/form-data")), description = "The report as JSON, or as multipart/form-data with up to nine `photos` files"), responses((status = 201, description = "The case, a tracking code and possible duplicates", body = crate::openapi::ReportAnswer), (status = 400, description = "Malformed body or query, or an unknown parameter"), (status = 413, description = "The upload is too large"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn create_case(
    State(app): State<AppState>,
    auth: MaybeAuth,
    req: Request,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let actor = auth.0.map(|a| a.actor).unwrap_or_default();
    let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let input = if ct.starts_with("multipart/form-data") {
        let mp = Multipart::from_request(req, &app).await.map_err(|e| ApiError::bad_request(e.body_text()))?;
        report_from_multipart(&app, mp, actor.person).await?
    } else {
        let ApiJson(b) = ApiJson::<ReportBody>::from_request(req, &app).await?;
        ReportInput {
            location: crate::regions::stored_location(parse_location(b.lat, b.lon)?, b.crs.as_deref())?,
            address: b.address,
            description: b.description,
            urgency: b.urgency,
            category: b.category,
            photos: b.photos,
            anonymous: b.anonymous,
            contact: contact(b.contact_name, b.contact_phone),
        }
    };
    let r = app.report(&actor, input).await?;
    let outside = r.case.grid.is_none();
    let dups: Vec<Value> = r.possible_duplicates.iter().map(|(c, d)| duplicate_json(&actor, c, *d)).collect();
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "case": case_json(&app, &r.case, &actor),
            "tracking_code": r.tracking_code,
            "outside_jurisdiction": outside,
            "possible_duplicates": dups,
        })),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct OnTheSpotBody {
    lat: f64,
    lon: f64,
    address: Option<String>,
    description: String,
    category: i64,
    #[serde(default)]
    photos: Vec<String>,
    evidence: Vec<String>,
    note: String,
}

#[utoipa::path(post, path = "/cases/on-the-spot", tag = "cases", summary = "Report and handle on the spot in one step (grid members)", request_body = OnTheSpotBody, responses((status = 201, description = "The case, handled", body = crate::openapi::CaseAnswer), (status = 400, description = "Malformed body or query, or an unknown parameter"), (status = 401, description = "Not signed in"), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn create_on_the_spot(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(b): ApiJson<OnTheSpotBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let input = OnTheSpotInput {
        location: LatLon::new(b.lat, b.lon)?,
        address: b.address,
        description: b.description,
        category: b.category,
        photos: b.photos,
        evidence: b.evidence,
        note: b.note,
    };
    let case = app.on_the_spot(&auth.actor, input).await?;
    Ok((StatusCode::CREATED, Json(json!({ "case": case_json(&app, &case, &auth.actor) }))))
}

// ---------------------------------------------------------------- reading cases

/// A case as `viewer` may see it: the reporter and contact details masked (138****1234), or
/// absent for those who may not see them at all (departments, when the reporter asked); with the
/// workflow actions the viewer may take on it now (`workflow::allowed`).
fn case_json(app: &AppState, c: &Case, viewer: &Actor) -> Value {
    let mut v = serde_json::to_value(c).unwrap_or(Value::Null);
    if gridkeeper_domain::may(viewer, gridkeeper_domain::Permission::SeeMaskedReporter { case: c }).is_ok() {
        if let Some(contact) = &c.contact {
            v["contact"] = json!({
                "name": contact.name.as_deref().map(gridkeeper_store::vault::mask_name),
                "phone": contact.phone.as_deref().map(gridkeeper_store::vault::mask_phone),
            });
        }
    } else {
        v["reporter"] = Value::Null;
    }
    v["overdue"] = json!(c.is_overdue(app.now()));
    v["outside_jurisdiction"] = json!(c.grid.is_none());
    v["allowed_actions"] = json!(gridkeeper_domain::allowed(c, viewer));
    v
}

fn event_json(e: &CaseEvent) -> Value {
    json!({
        "seq": e.seq, "action": e.event.action, "at": to_rfc3339(e.event.at), "actor": e.event.actor,
        "from": e.event.from, "to": e.event.to, "data": e.event.data,
    })
}

fn duplicate_json(actor: &Actor, c: &Case, distance: f64) -> Value {
    if gridkeeper_domain::may(actor, gridkeeper_domain::Permission::ReviewDuplicates).is_ok() {
        json!({ "id": c.id, "reference": c.reference, "state": c.state, "description": c.description,
                "reported_at": to_rfc3339(c.reported_at), "distance_m": distance.round() })
    } else {
        json!({ "reference": c.reference, "state": c.state, "reported_at": to_rfc3339(c.reported_at), "distance_m": distance.round() })
    }
}

fn link_json(l: &CaseLink) -> Value {
    json!({ "id": l.id, "reference": l.reference, "state": l.state })
}

#[utoipa::path(get, path = "/cases/{key}", tag = "cases", summary = "A case with its timeline, photos and duplicate links", params(("key" = String, Path, description = "Case id or reference")), responses((status = 200, description = "The case with its timeline, photos and duplicate links; `ETag` is its version", body = crate::openapi::CaseDetail), (status = 401, description = "Not signed in"), (status = 404, description = "Not found, or outside one's scope")))]
#[tracing::instrument(skip_all, fields(case = %key, person = auth.person.id))]
async fn case_detail(State(app): State<AppState>, auth: Auth, Path(key): Path<String>) -> ApiResult<Response> {
    let case = app.find_case(&auth.actor, &key).await?;
    let staff = gridkeeper_domain::may(&auth.actor, gridkeeper_domain::Permission::ReadInternalEvents).is_ok();
    let timeline: Vec<Value> = app
        .store
        .events(case.id)
        .await?
        .iter()
        .filter(|e| staff || !e.event.action.is_internal())
        .map(event_json)
        .collect();
    let media: Vec<Value> = app.store.case_media(case.id).await?.iter().map(media_json).collect();
    let duplicates: Vec<Value> = app.store.duplicates_of(case.id).await?.iter().map(link_json).collect();
    let duplicate_of = match case.duplicate_of {
        Some(id) => {
            app.store.case(id).await?.map(|o| json!({ "id": o.id, "reference": o.reference, "state": o.state }))
        }
        None => None,
    };
    let reporter = match case.reporter {
        Some(id)
            if gridkeeper_domain::may(
                &auth.actor,
                gridkeeper_domain::Permission::SeeMaskedReporter { case: &case },
            )
            .is_ok() =>
        {
            app.store.person(id).await?.map(|p| crate::accounts::person_json(&p, auth.person.id == p.id))
        }
        _ => None,
    };
    let reveal = gridkeeper_domain::Permission::RevealPersonalData { case: &case };
    let body = json!({
        "case": case_json(&app, &case, &auth.actor), "reporter": reporter, "timeline": timeline, "media": media,
        "duplicates": duplicates, "duplicate_of": duplicate_of,
        "may_reveal": gridkeeper_domain::may(&auth.actor, reveal).is_ok(),
    });
    let mut resp = Json(body).into_response();
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", case.version)) {
        resp.headers_mut().insert(header::ETAG, etag);
    }
    Ok(resp)
}

/// The filters of a case list, shared by the list and the exports.
pub(crate) const FILTER_PARAMS: &[&str] =
    &["state", "region", "department", "category", "urgency", "overdue", "supervised", "from", "to", "q"];
const LIST_PARAMS: &[&str] = &[
    "state",
    "region",
    "department",
    "category",
    "urgency",
    "overdue",
    "supervised",
    "from",
    "to",
    "q",
    "attention",
    "sort",
    "cursor",
    "limit",
];

#[utoipa::path(get, path = "/cases", tag = "cases", summary = "Cases in one's scope, newest first or by deadline, with keyset pagination", params(("state" = Option<Vec<String>>, Query, description = "States (repeatable)"), ("region" = Option<String>, Query, description = "Region code: the region and everything under it"), ("department" = Option<i64>, Query, description = "Lead or co-department id"), ("category" = Option<Vec<i64>>, Query, description = "Category ids (repeatable; a class means its subclasses)"), ("urgency" = Option<String>, Query, description = "routine, urgent or emergency"), ("overdue" = Option<bool>, Query, description = "Only overdue (true) or not overdue (false) cases"), ("supervised" = Option<bool>, Query, description = "Only cases under supervision (true) or not (false)"), ("from" = Option<String>, Query, description = "Reported at or after (RFC 3339)"), ("to" = Option<String>, Query, description = "Reported before (RFC 3339)"), ("q" = Option<String>, Query, description = "Text in the description, address or reference"), ("attention" = Option<bool>, Query, description = "Only cases that need the center's attention (true): new reports awaiting acceptance and open cases whose clock has passed; or only the others (false)"), ("sort" = Option<String>, Query, description = "`newest` (default: reported last first) or `deadline` (the current clock soonest first, cases without a running clock last); with `attention=true` and `region`, the dispatcher's queue"), ("limit" = Option<u32>, Query, description = "1 to 200 (default 50)"), ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page, with the same `sort`")), responses((status = 200, description = "Cases in one's scope, in the order asked for", body = crate::openapi::CaseList), (status = 400, description = "Malformed body or query, or an unknown parameter"), (status = 401, description = "Not signed in"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn list_cases(State(app): State<AppState>, auth: Auth, q: RawQuery) -> ApiResult<Json<Value>> {
    q.only(LIST_PARAMS)?;
    let mut query = CaseQuery { visibility: visibility(&auth.actor), now: app.now(), limit: 50, ..Default::default() };
    case_filters(&app, &q, &mut query)?;
    if let Some(limit) = q.parse::<u32>("limit", "a whole number")? {
        if !(1..=200).contains(&limit) {
            return Err(ApiError::field("limit", "must be between 1 and 200"));
        }
        query.limit = limit;
    }
    query.attention = q.parse::<bool>("attention", "true or false")?;
    query.order = match q.get("sort").map(str::trim) {
        None | Some("newest") => CaseOrder::Newest,
        Some("deadline") => CaseOrder::Deadline,
        Some(v) => return Err(ApiError::field("sort", format!("`{v}` is not newest or deadline"))),
    };
    query.after = q.get("cursor").map(|c| decode_cursor(query.order, c)).transpose()?;
    let items = app.store.list_cases(&query).await?;
    let next = (items.len() == query.limit as usize)
        .then(|| items.last().map(|c| encode_cursor(query.order, query.cursor(c))))
        .flatten();
    let out: Vec<Value> = items.iter().map(|c| case_json(&app, c, &auth.actor)).collect();
    Ok(Json(json!({ "items": out, "next_cursor": next })))
}

/// Reads the list filters (`FILTER_PARAMS`) of `q` into `query`, each bad value refused by name.
pub(crate) fn case_filters(app: &App, q: &RawQuery, query: &mut CaseQuery) -> ApiResult<()> {
    query.states = q.all("state").into_iter().map(CaseState::parse).collect::<Result<_, _>>()?;
    query.region =
        q.get("region").map(|r| RegionCode::parse(r).map_err(|e| FieldError::new("region", e.reason))).transpose()?;
    if let Some(d) = q.parse::<i64>("department", "a department id")? {
        app.department("department", d)?;
        query.department = Some(d);
    }
    query.categories = app.category_filter(&q.all("category"))?;
    query.urgency = q.get("urgency").map(Urgency::parse).transpose()?;
    query.overdue = q.parse::<bool>("overdue", "true or false")?;
    query.supervised = q.parse::<bool>("supervised", "true or false")?;
    query.reported_from = q.get("from").map(|v| parse_rfc3339("from", v)).transpose()?;
    query.reported_to = q.get("to").map(|v| parse_rfc3339("to", v)).transpose()?;
    if let (Some(f), Some(t)) = (query.reported_from, query.reported_to) {
        if t <= f {
            return Err(ApiError::field("to", "must lie after `from`"));
        }
    }
    query.text = q.get("q").map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
    Ok(())
}

/// A page's cursor: `{reported_at}.{id}` newest first (as before there were orders),
/// `d{due_at}.{id}` by deadline, so that a cursor is not taken for one of the other order.
fn encode_cursor(order: CaseOrder, (at, id): (i64, i64)) -> String {
    let prefix = if order == CaseOrder::Deadline { "d" } else { "" };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{prefix}{at}.{id}"))
}

fn decode_cursor(order: CaseOrder, s: &str) -> ApiResult<(i64, i64)> {
    let bad = || ApiError::field("cursor", "is not a cursor from a previous page of this sort");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let text = match order {
        CaseOrder::Newest => text.as_str(),
        CaseOrder::Deadline => text.strip_prefix('d').ok_or_else(bad)?,
    };
    let (a, b) = text.split_once('.').ok_or_else(bad)?;
    Ok((a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?))
}

#[utoipa::path(get, path = "/cases/{key}/possible-duplicates", tag = "cases", summary = "Possible duplicates of a case", params(("key" = String, Path, description = "Case id or reference")), responses((status = 200, description = "Open cases of the same category nearby", body = crate::openapi::PossibleDuplicates), (status = 401, description = "Not signed in"), (status = 404, description = "Not found, or outside one's scope")))]
async fn case_duplicates(State(app): State<AppState>, auth: Auth, Path(key): Path<String>) -> ApiResult<Json<Value>> {
    let case = app.find_case(&auth.actor, &key).await?;
    let (Some(cat), Some(at)) = (case.category.or(case.suggested_category), case.location) else {
        return Ok(Json(json!({ "items": [] })));
    };
    let category = app.category("category", cat)?;
    let found = app.possible_duplicates(&auth.actor, &category, at, case.id).await?;
    let items: Vec<Value> = found.iter().map(|(c, d)| duplicate_json(&auth.actor, c, *d)).collect();
    Ok(Json(json!({ "items": items })))
}

#[utoipa::path(get, path = "/duplicates", tag = "cases", summary = "Open cases of a category near a point, before reporting", security((), ("bearer" = []), ("session_cookie" = [])), params(("lat" = f64, Query, description = "Latitude (WGS-84)"), ("lon" = f64, Query, description = "Longitude (WGS-84)"), ("category" = i64, Query, description = "Category id")), responses((status = 200, description = "Open cases of the category near the point", body = crate::openapi::PossibleDuplicates), (status = 400, description = "Malformed body or query, or an unknown parameter"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn check_duplicates(State(app): State<AppState>, auth: MaybeAuth, q: RawQuery) -> ApiResult<Json<Value>> {
    q.only(&["lat", "lon", "category"])?;
    let actor = auth.0.map(|a| a.actor).unwrap_or_default();
    let at = query_location(&q)?;
    let cat = q.parse::<i64>("category", "a category id")?.ok_or_else(|| ApiError::field("category", "is required"))?;
    let category = app.category("category", cat)?;
    let found = app.possible_duplicates(&actor, &category, at, 0).await?;
    let items: Vec<Value> = found.iter().map(|(c, d)| duplicate_json(&actor, c, *d)).collect();
    Ok(Json(json!({ "items": items })))
}

// ---------------------------------------------------------------- public and tracking views

pub(crate) fn public_visible(c: &Case) -> bool {
    c.public && !matches!(c.state, CaseState::Reported | CaseState::Rejected)
}

/// What anyone may see: no personal data, no internal events, and for a category that is not
/// public (a neighbour dispute, a rental house) a location coarsened to about 200 m.
fn public_json(app: &AppState, c: &Case, events: &[CaseEvent]) -> Value {
    let location = c.location.map(|l| if c.public { l } else { crate::public_map::coarse(l) });
    let reference = app.reference();
    let category = c.category.and_then(|id| reference.categories.get(&id));
    let timeline: Vec<Value> = events
        .iter()
        .filter(|e| !e.event.action.is_internal())
        .map(|e| json!({ "action": e.event.action, "at": to_rfc3339(e.event.at), "state": e.event.to }))
        .collect();
    json!({
        "reference": c.reference, "state": c.state, "description": c.description,
        "category": category.map(|k| json!({ "id": k.id, "name": k.name, "name_en": k.name_en })),
        "grid": c.grid, "location": location, "reported_at": to_rfc3339(c.reported_at),
        "closed_at": c.closed_at.map(to_rfc3339), "rating": c.rating, "timeline": timeline,
    })
}

#[utoipa::path(get, path = "/public/cases/{reference}", tag = "public", summary = "The public view of a public case", security(()), params(("reference" = String, Path, description = "Case reference")), responses((status = 200, description = "The public view", body = crate::openapi::PublicCase), (status = 404, description = "Not found, or outside one's scope")))]
async fn public_case(State(app): State<AppState>, Path(reference): Path<String>) -> ApiResult<Json<Value>> {
    let c = app
        .store
        .case_by_reference(reference.trim())
        .await?
        .filter(public_visible)
        .ok_or_else(|| ApiError::not_found("case"))?;
    let events = app.store.events(c.id).await?;
    let mut v = public_json(&app, &c, &events);
    with_photos(&app, &mut v, &c, &events).await?;
    Ok(Json(v))
}

/// Adds the thumbnails of the report's photos (`before`) and of the evidence (`after`).
async fn with_photos(app: &AppState, v: &mut Value, c: &Case, events: &[CaseEvent]) -> ApiResult<()> {
    let media = if c.public { app.store.case_media(c.id).await? } else { vec![] };
    let (before, after) = crate::public_map::before_after(c, events, &media);
    v["before"] = json!(before);
    v["after"] = json!(after);
    Ok(())
}

/// The reporter's view through the tracking code: the public view plus the answers addressed to
/// the reporter (rejection reason, result).
#[utoipa::path(get, path = "/track/{code}", tag = "public", security(()), params(("code" = String, Path, description = "Tracking code")), responses((status = 200, description = "The reporter's view", body = crate::openapi::TrackedCase), (status = 404, description = "Not found, or outside one's scope")))]
async fn track(State(app): State<AppState>, Path(code): Path<String>) -> ApiResult<Json<Value>> {
    let c = app.tracked_case(&code).await?;
    let events = app.store.events(c.id).await?;
    let mut v = public_json(&app, &c, &events);
    with_photos(&app, &mut v, &c, &events).await?;
    let answers: Vec<Value> = events
        .iter()
        .filter(|e| matches!(e.event.action, Action::Reject | Action::SubmitResult | Action::Close | Action::Verify))
        .map(|e| json!({ "action": e.event.action, "at": to_rfc3339(e.event.at), "note": e.event.data.get("note") }))
        .collect();
    v["answers"] = json!(answers);
    v["rejection"] = json!(c.rejection);
    v["duplicate_of"] = match c.duplicate_of {
        Some(id) => app.store.case(id).await?.map(|o| json!(o.reference)).unwrap_or(Value::Null),
        None => Value::Null,
    };
    Ok(Json(v))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RateBody {
    score: u8,
    comment: Option<String>,
}

#[utoipa::path(post, path = "/track/{code}/rate", tag = "public", summary = "Rate a case with its tracking code", security(()), params(("code" = String, Path, description = "Tracking code")), request_body = RateBody, responses((status = 200, description = "Rated", body = crate::openapi::RateAnswer), (status = 400, description = "Malformed body or query, or an unknown parameter"), (status = 404, description = "Not found, or outside one's scope"), (status = 409, description = "Wrong state or stale version; `current` holds the case as it is"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn track_rate(
    State(app): State<AppState>,
    Path(code): Path<String>,
    ApiJson(b): ApiJson<RateBody>,
) -> ApiResult<Json<Value>> {
    let c = app.tracked_case(&code).await?;
    let actor = Actor::tracking(c.id);
    let case = app.act(&actor, c, None, Command::Rate { score: b.score, comment: b.comment }).await?;
    Ok(Json(json!({ "state": case.state, "rating": case.rating })))
}

// ---------------------------------------------------------------- workflow actions

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    version: Option<i64>,
    category: Option<i64>,
    urgency: Option<Urgency>,
    reason: Option<String>,
    /// The original case: its id or reference.
    #[schema(value_type = Option<String>)]
    duplicate_of: Option<Value>,
    lead_department: Option<i64>,
    #[serde(default)]
    co_departments: Vec<i64>,
    deadline: Option<String>,
    until: Option<String>,
    note: Option<String>,
    text: Option<String>,
    #[serde(default)]
    evidence: Vec<String>,
    passed: Option<bool>,
    score: Option<u8>,
    comment: Option<String>,
}

/// The fields each action accepts besides `version`: anything else is refused by name.
fn allowed_fields(action: Action) -> &'static [&'static str] {
    match action {
        Action::Accept => &["category", "urgency", "note"],
        Action::Reject => &["reason", "duplicate_of", "note"],
        Action::Dispatch => &["lead_department", "co_departments", "deadline", "note"],
        Action::Sign => &[],
        Action::Return => &["reason"],
        Action::RequestExtension => &["until", "reason"],
        Action::ApproveExtension => &["note"],
        Action::DenyExtension => &["reason"],
        Action::ReportPart | Action::SubmitResult => &["note", "evidence"],
        Action::Verify => &["passed", "note", "evidence"],
        Action::Close => &["note"],
        Action::Rate => &["score", "comment"],
        Action::Reopen => &["reason"],
        Action::Supervise => &["note", "deadline"],
        Action::Note => &["text"],
        Action::Respond => &["note"],
        Action::Report
        | Action::OnTheSpot
        | Action::Anonymise
        | Action::Warn
        | Action::MarkOverdue
        | Action::Escalate => &[],
    }
}

fn required<T>(field: &str, v: Option<T>) -> ApiResult<T> {
    v.ok_or_else(|| ApiError::field(field, "is required"))
}

#[utoipa::path(post, path = "/cases/{key}/actions/{action}", tag = "cases", summary = "Act on a case: one transition of the state machine", params(("key" = String, Path, description = "Case id or reference"), ("action" = String, Path, description = "accept, reject, dispatch, sign, return, request_extension, approve_extension, deny_extension, report_part, submit_result, verify, close, rate, reopen, supervise, respond or note")), request_body = ActionBody, responses((status = 200, description = "The case after the action", body = crate::openapi::CaseAnswer), (status = 400, description = "Malformed body or query, or an unknown parameter"), (status = 401, description = "Not signed in"), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "Not found, or outside one's scope"), (status = 409, description = "Wrong state or stale version; `current` holds the case as it is"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
#[tracing::instrument(skip_all, fields(case = %path.0 .0, action = %path.0 .1, person = auth.person.id))]
async fn case_action(
    State(app): State<AppState>,
    auth: Auth,
    path: Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let Path((key, action)) = path;
    let action = Action::parse(&action).map_err(|_| ApiError::not_found("action"))?;
    let case = app.find_case(&auth.actor, &key).await?;
    let raw: Value = if body.iter().all(u8::is_ascii_whitespace) { json!({}) } else { parse_json(&body)? };
    if let Some(obj) = raw.as_object() {
        let allowed = allowed_fields(action);
        if let Some(k) = obj.keys().find(|k| *k != "version" && !allowed.contains(&k.as_str())) {
            return Err(ApiError::field(
                k,
                format!("is not a field of `{}`; it takes: {}", action.as_str(), allowed.join(", ")),
            ));
        }
    }
    let b: ActionBody =
        parse_json(&body).or_else(|e| if raw == json!({}) { Ok(ActionBody::default()) } else { Err(e) })?;
    let note = b.note.clone();
    let cmd = match action {
        Action::Accept => Command::Accept {
            category: app.category("category", required("category", b.category)?)?,
            urgency: required("urgency", b.urgency)?,
            note,
        },
        Action::Reject => {
            let reason = Rejection::parse(&required("reason", b.reason)?)?;
            let original = match &b.duplicate_of {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(app.original(&auth.actor, s).await?),
                Some(Value::Number(n)) => Some(app.original(&auth.actor, &n.to_string()).await?),
                Some(_) => return Err(ApiError::field("duplicate_of", "must be a case id or reference")),
            };
            Command::Reject { reason, original, note }
        }
        Action::Dispatch => {
            let lead = app.department("lead_department", required("lead_department", b.lead_department)?)?;
            let co = b
                .co_departments
                .iter()
                .enumerate()
                .map(|(i, d)| app.department(&format!("co_departments[{i}]"), *d))
                .collect::<ApiResult<Vec<_>>>()?;
            let deadline = b.deadline.as_deref().map(|d| parse_rfc3339("deadline", d)).transpose()?;
            Command::Dispatch { lead, co, deadline, note }
        }
        Action::Sign => Command::Sign,
        Action::Return => Command::Return { reason: required("reason", b.reason)? },
        Action::RequestExtension => Command::RequestExtension {
            until: parse_rfc3339("until", &required("until", b.until)?)?,
            reason: required("reason", b.reason)?,
        },
        Action::ApproveExtension => Command::ApproveExtension { note },
        Action::DenyExtension => Command::DenyExtension { reason: required("reason", b.reason)? },
        Action::ReportPart => Command::ReportPart { note: required("note", note)?, evidence: b.evidence },
        Action::SubmitResult => Command::SubmitResult { note: required("note", note)?, evidence: b.evidence },
        Action::Verify => Command::Verify { passed: required("passed", b.passed)?, note, evidence: b.evidence },
        Action::Close => Command::Close { note },
        Action::Rate => Command::Rate { score: required("score", b.score)?, comment: b.comment },
        Action::Reopen => Command::Reopen { reason: required("reason", b.reason)? },
        Action::Supervise => Command::Supervise {
            note: required("note", note)?,
            deadline: b.deadline.as_deref().map(|d| parse_rfc3339("deadline", d)).transpose()?,
        },
        Action::Note => Command::Note { text: required("text", b.text)? },
        Action::Respond => Command::Respond { note: required("note", note)? },
        Action::Report
        | Action::OnTheSpot
        | Action::Anonymise
        | Action::Warn
        | Action::MarkOverdue
        | Action::Escalate => return Err(ApiError::not_found("action")),
    };
    let case = app.act(&auth.actor, case, b.version, cmd).await?;
    Ok(Json(json!({ "case": case_json(&app, &case, &auth.actor) })))
}
