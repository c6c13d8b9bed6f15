//! What anyone may see of cases: the public view of one case (`GET /public/cases/{reference}`)
//! and the public map (public supervision, as FixMyStreet does it): `GET /api/v1/public/cases`,
//! the recent cases in a box or around a point, for anyone, signed in or not.
//!
//! What it shows follows the rules of the public case view (`GET /public/cases/{reference}`):
//! only cases accepted into a category (never a raw report, never a rejected one); no reporter,
//! no contact, no internal event. A case of a **public** category comes with its description, its
//! exact location and the thumbnails of its report's photos ("before") and of the evidence the
//! department or grid member submitted ("after"). A case of a category that is **not public** (a
//! neighbour dispute, a rental house) shows only that a problem of that category exists about
//! there: its location coarsened to about 200 m, no description, no photos.

use axum::extract::{Path, State};
use axum::Json;
use gridkeeper_domain::time::to_rfc3339;
use gridkeeper_domain::{Action, Case, CaseEvent, CaseState, LatLon, RegionCode};
use gridkeeper_store::Media;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult};
use crate::extract::{worded, Query};
use crate::{App, AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(public_case)).routes(routes!(public_cases))
}

/// Whether anyone may see the case: accepted into a public view, not rejected.
pub(crate) fn public_visible(c: &Case) -> bool {
    c.public && !matches!(c.state, CaseState::Reported | CaseState::Rejected)
}

/// About 200 m: where a case of a non-public category is shown.
pub(crate) fn coarse(l: LatLon) -> LatLon {
    let c = |v: f64| (v / 0.002).round() * 0.002;
    LatLon { lat: c(l.lat), lon: c(l.lon) }
}

/// A photo anyone may see: the original and its thumbnail.
#[derive(Serialize, ToSchema)]
pub struct PublicPhoto {
    pub id: String,
    pub url: String,
    pub thumbnail_url: String,
}

impl PublicPhoto {
    fn of(m: &Media) -> Self {
        PublicPhoto {
            id: m.id.clone(),
            url: format!("/api/v1/media/{}", m.id),
            thumbnail_url: format!("/api/v1/media/{}/thumbnail", m.id),
        }
    }
}

/// The photos of a public case split into the report's ("before") and the evidence of its
/// handling ("after": the result, an on-the-spot handling, a verification). Photos of internal
/// events (a co-department's part) are left out; a non-public case has none to show.
pub(crate) fn before_after(c: &Case, events: &[CaseEvent], media: &[Media]) -> (Vec<PublicPhoto>, Vec<PublicPhoto>) {
    if !c.public {
        return (vec![], vec![]);
    }
    let ids = |actions: &[Action], key: &str| -> Vec<String> {
        events
            .iter()
            .filter(|e| actions.contains(&e.event.action))
            .filter_map(|e| e.event.data.get(key).and_then(Value::as_array))
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    let before = ids(&[Action::Report, Action::OnTheSpot], "photos");
    let after = ids(&[Action::SubmitResult, Action::OnTheSpot, Action::Verify], "evidence");
    let pick = |wanted: &[String]| media.iter().filter(|m| wanted.contains(&m.id)).map(PublicPhoto::of).collect();
    (pick(&before), pick(&after))
}

#[derive(Serialize, ToSchema)]
pub struct CategoryName {
    pub id: i64,
    pub name: String,
    pub name_en: String,
}

fn category_name(app: &App, c: &Case) -> Option<CategoryName> {
    let reference = app.reference();
    let k = c.category.and_then(|id| reference.categories.get(&id))?;
    Some(CategoryName { id: k.id, name: k.name.clone(), name_en: k.name_en.clone() })
}

#[derive(Serialize, ToSchema)]
pub struct PublicEvent {
    pub action: Action,
    #[schema(format = DateTime)]
    pub at: String,
    pub state: CaseState,
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

impl PublicCase {
    /// What anyone may see: no personal data, no internal events, and for a category that is not
    /// public (a neighbour dispute, a rental house) a location coarsened to about 200 m; with the
    /// thumbnails of the report's photos (`before`) and of the evidence (`after`).
    pub(crate) async fn of(app: &App, c: &Case, events: &[CaseEvent]) -> ApiResult<Self> {
        let media = if c.public { app.store.case_media(c.id).await? } else { vec![] };
        let (before, after) = before_after(c, events, &media);
        Ok(PublicCase {
            reference: c.reference.clone(),
            state: c.state,
            description: c.description.clone(),
            category: category_name(app, c),
            grid: c.grid.clone(),
            location: c.location.map(|l| if c.public { l } else { coarse(l) }),
            reported_at: to_rfc3339(c.reported_at),
            closed_at: c.closed_at.map(to_rfc3339),
            rating: c.rating,
            timeline: events
                .iter()
                .filter(|e| !e.event.action.is_internal())
                .map(|e| PublicEvent { action: e.event.action, at: to_rfc3339(e.event.at), state: e.event.to })
                .collect(),
            before,
            after,
        })
    }
}

#[utoipa::path(get, path = "/public/cases/{reference}", tag = "public", summary = "The public view of a public case", security(()),
    params(("reference" = String, Path, description = "Case reference")),
    responses((status = 200, description = "The public view", body = PublicCase), (status = 404, description = "Not found, or outside one's scope")))]
async fn public_case(State(app): State<AppState>, Path(reference): Path<String>) -> ApiResult<Json<PublicCase>> {
    let c = app
        .store
        .case_by_reference(reference.trim())
        .await?
        .filter(public_visible)
        .ok_or_else(|| ApiError::not_found("case"))?;
    let events = app.store.events(c.id).await?;
    Ok(Json(PublicCase::of(&app, &c, &events).await?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct MapQuery {
    /// west,south,east,north (WGS-84), at most one degree each way
    #[param(pattern = "^-?[0-9]{1,3}(\\.[0-9]{1,12})?(,-?[0-9]{1,3}(\\.[0-9]{1,12})?){3}$")]
    bbox: Option<String>,
    /// Instead of bbox: the point's latitude
    lat: Option<f64>,
    /// Instead of bbox: the point's longitude
    lon: Option<f64>,
    /// Around lat/lon, 1 to 5,000 m (default 1,000)
    #[serde(default, deserialize_with = "worded::metres")]
    #[param(minimum = 1, maximum = 5000)]
    radius_m: Option<f64>,
    /// Reported in the last 1 to 365 days (default 90)
    #[serde(default, deserialize_with = "worded::days")]
    #[param(value_type = Option<u32>, minimum = 1, maximum = 365)]
    days: Option<i64>,
    /// 1 to 200 (default 100)
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
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

const MAX_DAYS: i64 = 365;
const MAX_LIMIT: u32 = 200;
const MAX_RADIUS_M: f64 = 5000.0;

/// The box to look in: `bbox=west,south,east,north` (Leaflet's `toBBoxString`, GeoJSON's order),
/// or `lat`, `lon` and `radius_m` (default 1,000 m). Returns `[min_lat, min_lon, max_lat, max_lon]`.
fn area(q: &MapQuery) -> ApiResult<[f64; 4]> {
    if let Some(b) = &q.bbox {
        if q.lat.is_some() || q.lon.is_some() {
            return Err(ApiError::field("bbox", "give either bbox or lat and lon, not both"));
        }
        let parts: Vec<f64> = b
            .split(',')
            .map(|p| p.trim().parse::<f64>().ok().filter(|v| v.is_finite()))
            .collect::<Option<_>>()
            .ok_or_else(|| ApiError::field("bbox", "is four numbers: west,south,east,north"))?;
        let [w, s, e, n] = parts[..] else {
            return Err(ApiError::field("bbox", "is four numbers: west,south,east,north"));
        };
        if !(-90.0..=90.0).contains(&s) || !(-90.0..=90.0).contains(&n) {
            return Err(ApiError::field("bbox", "latitudes lie between -90 and 90"));
        }
        if !(-180.0..=180.0).contains(&w) || !(-180.0..=180.0).contains(&e) {
            return Err(ApiError::field("bbox", "longitudes lie between -180 and 180"));
        }
        if s >= n || w >= e {
            return Err(ApiError::field("bbox", "south must lie below north and west left of east"));
        }
        if n - s > 1.0 || e - w > 1.0 {
            return Err(ApiError::field("bbox", "spans at most one degree each way; zoom in"));
        }
        return Ok([s, w, n, e]);
    }
    let lat = q.lat.ok_or_else(|| ApiError::field("bbox", "or lat and lon is required"))?;
    let lon = q.lon.ok_or_else(|| ApiError::field("lon", "is required with lat"))?;
    let at = LatLon::new(lat, lon)?;
    let radius = q.radius_m.unwrap_or(1000.0);
    if !(1.0..=MAX_RADIUS_M).contains(&radius) {
        return Err(ApiError::field("radius_m", format!("must be between 1 and {MAX_RADIUS_M} metres")));
    }
    let dlat = radius / 111_320.0;
    let dlon = radius / (111_320.0 * at.lat.to_radians().cos().max(0.01));
    Ok([at.lat - dlat, at.lon - dlon, at.lat + dlat, at.lon + dlon])
}

#[utoipa::path(get, path = "/public/cases", tag = "public", summary = "The public map: recent cases in a box or near a point", description = "Anyone. Cases accepted into a category (never raw or rejected reports), newest first. A case of a public category shows its description, exact location and thumbnails of its report's photos (`before`) and of the evidence of its handling (`after`); one of a non-public category only its category, state, dates and a location coarsened to about 200 m (`public: false`). No personal data.", security(()),
    params(MapQuery),
    responses((status = 200, description = "Cases on the public map", body = PublicMap)))]
async fn public_cases(State(app): State<AppState>, Query(q): Query<MapQuery>) -> ApiResult<Json<PublicMap>> {
    let bbox = area(&q)?;
    let days = q.days.unwrap_or(90);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(ApiError::field("days", format!("must be between 1 and {MAX_DAYS}")));
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::field("limit", format!("must be between 1 and {MAX_LIMIT}")));
    }
    let since = app.now() - days * 24 * gridkeeper_domain::HOUR;
    let cases = app.store.public_cases_in(bbox, since, limit).await?;
    let mut items = Vec::with_capacity(cases.len());
    for c in &cases {
        let (before, after) = if c.public {
            let events = app.store.events(c.id).await?;
            let media = app.store.case_media(c.id).await?;
            before_after(c, &events, &media)
        } else {
            (vec![], vec![])
        };
        items.push(PublicMapItem {
            reference: c.reference.clone(),
            state: c.state,
            public: c.public,
            description: c.public.then(|| c.description.clone()),
            category: category_name(&app, c),
            grid: c.grid.clone(),
            location: c.location.map(|l| if c.public { l } else { coarse(l) }),
            reported_at: to_rfc3339(c.reported_at),
            closed_at: c.closed_at.map(to_rfc3339),
            before,
            after,
        });
    }
    Ok(Json(PublicMap { items }))
}
