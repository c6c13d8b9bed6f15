//! Reporting: a problem reported (JSON, or multipart with photos) by anyone, a problem handled
//! on the spot by a grid member, and the open cases near a point before reporting.

use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::{header, StatusCode};
use axum::Json;
use gridkeeper_domain::{LatLon, Urgency};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::auth::{Auth, MaybeAuth};
use crate::cases::{CaseAnswer, CaseView, PossibleDuplicate, PossibleDuplicates};
use crate::error::{ApiError, ApiResult};
use crate::extract::{worded, ApiJson, Query};
use crate::http::{multipart_error, upload_body};
use crate::service::{parse_location, OnTheSpotInput, ReportInput};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_case).layer(DefaultBodyLimit::disable()))
        .routes(routes!(create_on_the_spot))
        .routes(routes!(check_duplicates))
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

// The JSON body of `POST /api/v1/cases` (also parsed by the ceiling servers of `gridkeeper-bench intake`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    #[schema(max_length = 4000)]
    pub description: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    #[schema(max_length = 300)]
    pub address: Option<String>,
    pub urgency: Option<Urgency>,
    pub category: Option<i64>,
    /// Ids of photos uploaded before (`POST /media`), at most nine.
    #[serde(default)]
    #[schema(max_items = 9)]
    pub photos: Vec<String>,
    #[serde(default)]
    pub anonymous: bool,
    #[schema(max_length = 50)]
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    /// The coordinate system of `lat`/`lon`: `wgs84` (GPS, the default), `gcj02` (AMap, Tencent,
    /// WeChat) or `bd09` (Baidu). Stored as WGS-84.
    pub crs: Option<String>,
}

/// `POST /api/v1/cases` as multipart/form-data: the fields of [`ReportBody`] as form fields, and
/// the photos themselves. (Documentation only: `report_from_multipart` reads the form.)
#[allow(dead_code)]
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ReportForm {
    #[schema(max_length = 4000)]
    description: String,
    // A form has no null: a field is sent or left out.
    #[schema(nullable = false)]
    lat: Option<f64>,
    #[schema(nullable = false)]
    lon: Option<f64>,
    #[schema(nullable = false, max_length = 300)]
    address: Option<String>,
    #[schema(nullable = false)]
    urgency: Option<Urgency>,
    #[schema(nullable = false)]
    category: Option<i64>,
    /// Up to nine image files (JPEG, PNG or WebP).
    #[serde(default)]
    #[schema(value_type = Vec<String>, format = Binary, max_items = 9)]
    photos: Vec<Vec<u8>>,
    #[schema(nullable = false)]
    anonymous: Option<bool>,
    #[schema(nullable = false, max_length = 50)]
    contact_name: Option<String>,
    #[schema(nullable = false)]
    contact_phone: Option<String>,
    /// `wgs84` (the default), `gcj02` or `bd09`.
    #[schema(nullable = false)]
    crs: Option<String>,
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
            let declared = field.content_type().map(str::to_string);
            let bytes = field.bytes().await.map_err(multipart_error)?;
            input.photos.push(app.store_upload("photos", bytes, declared.as_deref(), by).await?.id);
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

#[utoipa::path(post, path = "/cases", tag = "cases", summary = "Report a problem (JSON or multipart with photos)", security((), ("bearer" = []), ("session_cookie" = [])),
    request_body(content((ReportBody = "application/json"), (ReportForm = "multipart/form-data")), description = "The report as JSON, or as multipart/form-data with up to nine `photos` files"),
    responses((status = 201, description = "The case, a tracking code and possible duplicates", body = ReportAnswer), (status = 413, description = "The upload is too large"), (status = 404, description = "`category` names no category")))]
async fn create_case(
    State(app): State<AppState>,
    auth: MaybeAuth,
    req: Request,
) -> ApiResult<(StatusCode, Json<ReportAnswer>)> {
    let req = upload_body(&app, req);
    let actor = auth.0.map(|a| a.actor).unwrap_or_default();
    let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let input = if ct.starts_with("multipart/form-data") {
        let mp = Multipart::from_request(req, &app).await.map_err(crate::http::multipart_rejection)?;
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
            source: None,
        }
    };
    let r = app.report(&actor, input).await?;
    let outside = r.case.grid.is_none();
    let possible_duplicates = r.possible_duplicates.iter().map(|(c, d)| PossibleDuplicate::of(&actor, c, *d)).collect();
    Ok((
        StatusCode::CREATED,
        Json(ReportAnswer {
            case: CaseView::of(&app, &r.case, &actor),
            tracking_code: r.tracking_code,
            outside_jurisdiction: outside,
            possible_duplicates,
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct OnTheSpotBody {
    lat: f64,
    lon: f64,
    #[schema(max_length = 300)]
    address: Option<String>,
    #[schema(max_length = 4000)]
    description: String,
    category: i64,
    #[serde(default)]
    #[schema(max_items = 9)]
    photos: Vec<String>,
    #[schema(max_items = 9)]
    evidence: Vec<String>,
    #[schema(max_length = 2000)]
    note: String,
}

#[utoipa::path(post, path = "/cases/on-the-spot", tag = "cases", summary = "Report and handle on the spot in one step (grid members)", request_body = OnTheSpotBody,
    responses((status = 201, description = "The case, handled", body = CaseAnswer), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "`category` names no category")))]
async fn create_on_the_spot(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(b): ApiJson<OnTheSpotBody>,
) -> ApiResult<(StatusCode, Json<CaseAnswer>)> {
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
    Ok((StatusCode::CREATED, Json(CaseAnswer { case: CaseView::of(&app, &case, &auth.actor) })))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct NearQuery {
    /// Latitude (WGS-84)
    #[param(required = true)]
    lat: Option<f64>,
    /// Longitude (WGS-84)
    #[param(required = true)]
    lon: Option<f64>,
    /// Category id
    #[serde(default, deserialize_with = "worded::category_id")]
    #[param(required = true)]
    category: Option<i64>,
}

#[utoipa::path(get, path = "/duplicates", tag = "cases", summary = "Open cases of a category near a point, before reporting", security((), ("bearer" = []), ("session_cookie" = [])),
    params(NearQuery),
    responses((status = 200, description = "Open cases of the category near the point", body = PossibleDuplicates), (status = 404, description = "`category` names no category")))]
async fn check_duplicates(
    State(app): State<AppState>,
    auth: MaybeAuth,
    Query(q): Query<NearQuery>,
) -> ApiResult<Json<PossibleDuplicates>> {
    let actor = auth.0.map(|a| a.actor).unwrap_or_default();
    let lat = q.lat.ok_or_else(|| ApiError::field("lat", "is required"))?;
    let lon = q.lon.ok_or_else(|| ApiError::field("lon", "is required"))?;
    let at = LatLon::new(lat, lon)?;
    let cat = q.category.ok_or_else(|| ApiError::field("category", "is required"))?;
    let category = app.category("category", cat)?;
    let found = app.possible_duplicates(&actor, &category, at, 0).await?;
    let items = found.iter().map(|(c, d)| PossibleDuplicate::of(&actor, c, *d)).collect();
    Ok(Json(PossibleDuplicates { items }))
}
