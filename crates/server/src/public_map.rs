//! The public map (public supervision, as FixMyStreet does it): `GET /api/v1/public/cases`, the
//! recent cases in a box or around a point, for anyone, signed in or not.
//!
//! What it shows follows the rules of the public case view (`GET /public/cases/{reference}`):
//! only cases accepted into a category (never a raw report, never a rejected one); no reporter,
//! no contact, no internal event. A case of a **public** category comes with its description, its
//! exact location and the thumbnails of its report's photos ("before") and of the evidence the
//! department or grid member submitted ("after"). A case of a category that is **not public** (a
//! neighbour dispute, a rental house) shows only that a problem of that category exists about
//! there: its location coarsened to about 200 m, no description, no photos.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use gridkeeper_domain::time::to_rfc3339;
use gridkeeper_domain::{Action, Case, CaseEvent, LatLon};
use gridkeeper_store::Media;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::extract::RawQuery;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/public/cases", get(public_cases))
}

/// About 200 m: where a case of a non-public category is shown.
pub(crate) fn coarse(l: LatLon) -> LatLon {
    let c = |v: f64| (v / 0.002).round() * 0.002;
    LatLon { lat: c(l.lat), lon: c(l.lon) }
}

fn photo_json(m: &Media) -> Value {
    json!({
        "id": m.id,
        "url": format!("/api/v1/media/{}", m.id),
        "thumbnail_url": format!("/api/v1/media/{}/thumbnail", m.id),
    })
}

/// The photos of a public case split into the report's ("before") and the evidence of its
/// handling ("after": the result, an on-the-spot handling, a verification). Photos of internal
/// events (a co-department's part) are left out; a non-public case has none to show.
pub(crate) fn before_after(c: &Case, events: &[CaseEvent], media: &[Media]) -> (Vec<Value>, Vec<Value>) {
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
    let pick = |wanted: &[String]| media.iter().filter(|m| wanted.contains(&m.id)).map(photo_json).collect();
    (pick(&before), pick(&after))
}

const MAX_DAYS: i64 = 365;
const MAX_LIMIT: u32 = 200;
const MAX_RADIUS_M: f64 = 5000.0;

/// The box to look in: `bbox=west,south,east,north` (Leaflet's `toBBoxString`, GeoJSON's order),
/// or `lat`, `lon` and `radius_m` (default 1,000 m). Returns `[min_lat, min_lon, max_lat, max_lon]`.
fn area(q: &RawQuery) -> ApiResult<[f64; 4]> {
    if let Some(b) = q.get("bbox") {
        if q.get("lat").is_some() || q.get("lon").is_some() {
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
    let lat =
        q.parse::<f64>("lat", "a number")?.ok_or_else(|| ApiError::field("bbox", "or lat and lon is required"))?;
    let lon = q.parse::<f64>("lon", "a number")?.ok_or_else(|| ApiError::field("lon", "is required with lat"))?;
    let at = LatLon::new(lat, lon)?;
    let radius = q.parse::<f64>("radius_m", "a number of metres")?.unwrap_or(1000.0);
    if !(1.0..=MAX_RADIUS_M).contains(&radius) {
        return Err(ApiError::field("radius_m", format!("must be between 1 and {MAX_RADIUS_M} metres")));
    }
    let dlat = radius / 111_320.0;
    let dlon = radius / (111_320.0 * at.lat.to_radians().cos().max(0.01));
    Ok([at.lat - dlat, at.lon - dlon, at.lat + dlat, at.lon + dlon])
}

#[utoipa::path(get, path = "/public/cases", tag = "public", summary = "The public map: recent cases in a box or near a point", description = "Anyone. Cases accepted into a category (never raw or rejected reports), newest first. A case of a public category shows its description, exact location and thumbnails of its report's photos (`before`) and of the evidence of its handling (`after`); one of a non-public category only its category, state, dates and a location coarsened to about 200 m (`public: false`). No personal data.", security(()), params(("bbox" = Option<String>, Query, description = "west,south,east,north (WGS-84), at most one degree each way"), ("lat" = Option<f64>, Query, description = "Instead of bbox: the point's latitude"), ("lon" = Option<f64>, Query, description = "Instead of bbox: the point's longitude"), ("radius_m" = Option<f64>, Query, description = "Around lat/lon, 1 to 5,000 m (default 1,000)"), ("days" = Option<u32>, Query, description = "Reported in the last 1 to 365 days (default 90)"), ("limit" = Option<u32>, Query, description = "1 to 200 (default 100)")), responses((status = 200, description = "Cases on the public map", body = crate::openapi::PublicMap), (status = 400, description = "Malformed body or query, or an unknown parameter"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn public_cases(State(app): State<AppState>, q: RawQuery) -> ApiResult<Json<Value>> {
    q.only(&["bbox", "lat", "lon", "radius_m", "days", "limit"])?;
    let bbox = area(&q)?;
    let days = q.parse::<i64>("days", "a whole number of days")?.unwrap_or(90);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(ApiError::field("days", format!("must be between 1 and {MAX_DAYS}")));
    }
    let limit = q.parse::<u32>("limit", "a whole number")?.unwrap_or(100);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::field("limit", format!("must be between 1 and {MAX_LIMIT}")));
    }
    let since = app.now() - days * 24 * gridkeeper_domain::HOUR;
    let cases = app.store.public_cases_in(bbox, since, limit).await?;
    let reference = app.reference();
    let mut items = Vec::with_capacity(cases.len());
    for c in &cases {
        let category = c.category.and_then(|id| reference.categories.get(&id));
        let (before, after) = if c.public {
            let events = app.store.events(c.id).await?;
            let media = app.store.case_media(c.id).await?;
            before_after(c, &events, &media)
        } else {
            (vec![], vec![])
        };
        let location = c.location.map(|l| if c.public { l } else { coarse(l) });
        items.push(json!({
            "reference": c.reference, "state": c.state, "public": c.public,
            "description": if c.public { json!(c.description) } else { Value::Null },
            "category": category.map(|k| json!({ "id": k.id, "name": k.name, "name_en": k.name_en })),
            "grid": c.grid, "location": location, "reported_at": to_rfc3339(c.reported_at),
            "closed_at": c.closed_at.map(to_rfc3339), "before": before, "after": after,
        }));
    }
    Ok(Json(json!({ "items": items })))
}
