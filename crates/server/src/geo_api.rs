//! Geography over HTTP: locate a point (in WGS-84, GCJ-02 or BD-09), import and validate region
//! trees, export a subtree as GeoJSON with live figures, region history, and who is responsible
//! for which grid when. Each handler parses, calls `regions.rs` or the store, and renders.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use gridkeeper_domain::time::{parse_rfc3339, to_rfc3339};
use gridkeeper_domain::{
    may, Actor, FieldError, LatLon, Millis, Permission, PersonId, RegionCode, RegionLevel, Role, Scope,
};
use gridkeeper_geo::import::ImportOptions;
use gridkeeper_geo::tree::Tolerances;
use gridkeeper_geo::Crs;
use gridkeeper_store::vault::mask_name;
use gridkeeper_store::{Assignment, AssignmentQuery, NewAssignment, NewAudit};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::{Auth, MaybeAuth};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, RawQuery};
use crate::regions::{self, ImportRequest};
use crate::AppState;

/// Largest GeoJSON file accepted by `POST /regions/import`.
const IMPORT_LIMIT: usize = 64 * 1024 * 1024;
/// How often a server checks whether another process (`gridkeeper import`) changed the regions.
const WATCH_SECONDS: u64 = 5;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/locate", get(locate))
        .route("/regions/import", post(import).layer(DefaultBodyLimit::max(IMPORT_LIMIT)))
        .route("/regions/imports", get(imports))
        .route("/regions/validate", get(validate))
        .route("/regions/export", get(export))
        .route("/regions/{code}/history", get(history))
        .route("/assignments", get(list_assignments).post(add_assignment))
        .route("/assignments/{id}/end", post(end_assignment))
        .route("/responsibility/gaps", get(gaps))
}

/// Keeps the grid index and the reference data current when another process imports regions
/// or changes departments or categories in the same database (`App::refresh_reference`).
pub async fn watch_regions(app: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(WATCH_SECONDS));
    loop {
        tick.tick().await;
        match app.refresh_reference().await {
            Ok(true) => tracing::info!("regions, departments or categories changed elsewhere; reloaded"),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "checking for reference changes failed; will retry"),
        }
    }
}

fn code_param(q: &RawQuery, field: &str) -> ApiResult<Option<RegionCode>> {
    q.get(field)
        .map(|v| RegionCode::parse(v).map_err(|e| ApiError::invalid(FieldError::new(field, e.reason))))
        .transpose()
}

fn required_code(q: &RawQuery, field: &str) -> ApiResult<RegionCode> {
    code_param(q, field)?.ok_or_else(|| ApiError::field(field, "is required"))
}

/// Asks the policy; a refusal is a 403 (or 404 for what lies outside one's scope).
fn administer(actor: &Actor, p: Permission<'_>) -> ApiResult<()> {
    may(actor, p).map_err(|r| ApiError::refusal(r, None))
}

fn instant(q: &RawQuery, field: &str, default: Millis) -> ApiResult<Millis> {
    Ok(q.get(field).map(|v| parse_rfc3339(field, v)).transpose()?.unwrap_or(default))
}

/// A person as shown beside a region: staff see the name, others a masked one.
async fn person_json(app: &AppState, staff: bool, a: &Assignment) -> ApiResult<Value> {
    let name = app.store.person(a.person).await?.map(|p| if staff { p.name } else { mask_name(&p.name) });
    Ok(json!({
        "assignment": a.id, "person": a.person, "name": name, "role": a.role,
        "since": to_rfc3339(a.starts_at), "until": a.ends_at.map(to_rfc3339),
    }))
}

fn point_json(p: LatLon) -> Value {
    json!({ "lat": p.lat, "lon": p.lon })
}

/// `GET /locate?lat=&lon=&crs=`: the grid containing a point, its community, street and
/// district, and who is responsible for it now.
#[utoipa::path(get, path = "/locate", tag = "geo", security((), ("bearer" = []), ("session_cookie" = [])), params(("lat" = f64, Query, description = "Latitude"), ("lon" = f64, Query, description = "Longitude"), ("crs" = Option<String>, Query, description = "wgs84 (default), gcj02 or bd09")), responses((status = 200, description = "The grid, community, street and district of the point and who is responsible (names masked for the public)", body = crate::openapi::LocateAnswer), (status = 400, description = "Malformed body or query, or an unknown parameter"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn locate(State(app): State<AppState>, auth: MaybeAuth, q: RawQuery) -> ApiResult<Json<Value>> {
    q.only(&["lat", "lon", "crs"])?;
    let crs = q.get("crs").map(Crs::parse).transpose()?.unwrap_or_default();
    let lat = q.parse::<f64>("lat", "a number")?.ok_or_else(|| ApiError::field("lat", "is required"))?;
    let lon = q.parse::<f64>("lon", "a number")?.ok_or_else(|| ApiError::field("lon", "is required"))?;
    let given = LatLon::new(lat, lon)?;
    let wgs84 = crs.to_wgs84(given);
    let r = app.reference();
    let mut out = json!({
        "input": { "lat": lat, "lon": lon, "crs": crs.as_str() }, "wgs84": point_json(wgs84),
        "grid": null, "community": null, "street": null, "district": null, "outside_jurisdiction": true,
        "responsible": null,
    });
    let Some(grid) = r.grids.locate(wgs84) else { return Ok(Json(out)) };
    for level in [RegionLevel::District, RegionLevel::Street, RegionLevel::Community, RegionLevel::Grid] {
        if let Some(x) = grid.at_level(level).and_then(|c| r.regions.get(&c)) {
            out[level.as_str()] = json!({ "code": x.code, "name": x.name, "name_en": x.name_en, "level": x.level() });
        }
    }
    out["outside_jurisdiction"] = json!(false);
    let staff = auth.0.as_ref().is_some_and(|a| may(&a.actor, Permission::SeeResponsibleNames).is_ok());
    let resp = regions::responsible_for(app.store.as_ref(), &grid, app.now()).await?;
    let people = |list: &[Assignment]| {
        let list = list.to_vec();
        let app = app.clone();
        async move {
            let mut v = Vec::new();
            for a in &list {
                v.push(person_json(&app, staff, a).await?);
            }
            ApiResult::Ok(v)
        }
    };
    out["responsible"] = json!({
        "grid_members": people(&resp.grid_members).await?,
        "grid_leaders": people(&resp.grid_leaders).await?,
        "accountable": people(resp.accountable()).await?,
        // No grid member: the community's grid leaders answer for the grid (属地兜底).
        "fallback": resp.fallback,
    });
    Ok(Json(out))
}

fn tolerances(q: &RawQuery) -> ApiResult<Tolerances> {
    let d = Tolerances::default();
    let t = Tolerances {
        min_area_m2: q.parse("min_area_m2", "a number of square metres")?.unwrap_or(d.min_area_m2),
        max_gap_width_m: q.parse("max_gap_width_m", "a number of metres")?.unwrap_or(d.max_gap_width_m),
    };
    if !(t.min_area_m2.is_finite() && t.min_area_m2 >= 0.0) {
        return Err(ApiError::field("min_area_m2", "must be zero or more"));
    }
    if !(t.max_gap_width_m.is_finite() && t.max_gap_width_m >= 0.0) {
        return Err(ApiError::field("max_gap_width_m", "must be zero or more"));
    }
    Ok(t)
}

const IMPORT_PARAMS: &[&str] = &[
    "level",
    "code_property",
    "name_property",
    "parent_property",
    "under",
    "under_name",
    "repair",
    "dry_run",
    "min_area_m2",
    "max_gap_width_m",
];

/// `POST /regions/import?level=&code_property=&...` with a GeoJSON FeatureCollection as the body.
/// A tree that would not be valid is refused with 422 and the report (unless `repair=true`).
#[utoipa::path(post, path = "/regions/import", tag = "geo", params(("level" = String, Query, description = "Level of the features"), ("code_property" = String, Query, description = "Feature property holding the key"), ("name_property" = Option<String>, Query, description = "Feature property holding the name"), ("parent_property" = Option<String>, Query, description = "Feature property holding the parent key"), ("under" = Option<String>, Query, description = "Parent region code"), ("under_name" = Option<String>, Query, description = "Name of a new parent"), ("repair" = Option<bool>, Query, description = "Repair what can be repaired"), ("dry_run" = Option<bool>, Query, description = "Plan only")), request_body(content = Object, description = "A GeoJSON FeatureCollection", content_type = "application/json"), responses((status = 200, description = "The dry run's plan and report", body = Object), (status = 201, description = "Imported: the plan and report", body = Object), (status = 400, description = "Malformed body or query, or an unknown parameter"), (status = 401, description = "Not signed in"), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 413, description = "The upload is too large"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn import(State(app): State<AppState>, auth: Auth, q: RawQuery, body: Bytes) -> ApiResult<Response> {
    q.only(IMPORT_PARAMS)?;
    let level = RegionLevel::parse(q.get("level").ok_or_else(|| ApiError::field("level", "is required"))?)?;
    let code_property = q.get("code_property").ok_or_else(|| ApiError::field("code_property", "is required"))?;
    let options = ImportOptions {
        level,
        code_property: code_property.to_string(),
        name_property: q.get("name_property").map(str::to_string),
        parent_property: q.get("parent_property").map(str::to_string),
        under: code_param(&q, "under")?,
        under_name: q.get("under_name").map(str::to_string),
        repair: q.parse("repair", "true or false")?.unwrap_or(false),
        tolerances: tolerances(&q)?,
    };
    let dry_run = q.parse("dry_run", "true or false")?.unwrap_or(false);
    let text = String::from_utf8(body.to_vec()).map_err(|_| ApiError::field("body", "is not UTF-8 text"))?;
    for scope in regions::import_scopes(&text, &options)? {
        administer(&auth.actor, Permission::ImportRegions { under: &scope })?;
    }
    let now = app.now();
    let request = ImportRequest { text, source: "api".into(), options, dry_run, by: Some(auth.person.id), now };
    let outcome = regions::import_regions(app.store.as_ref(), request, Box::new(|_: &str, _: u64, _: u64| {})).await?;
    if let Some(id) = outcome.import_id {
        app.store
            .audit(&NewAudit {
                at: now,
                actor: Some(auth.person.id),
                action: "region_import".into(),
                object: Some(format!("region_import:{id}")),
                detail: json!({ "summary": outcome.plan.summary, "retired": outcome.plan.retire }),
            })
            .await?;
        app.reload_reference().await.map_err(ApiError::internal)?;
    }
    if !outcome.accepted {
        let body = json!({
            "type": "https://gridkeeper.org/problems/invalid-tree",
            "title": "The regions would not tile",
            "status": 422,
            "detail": format!("the import was refused: {} issue(s); see `report` (or import with repair=true)", outcome.plan.report.issues.len()),
            "report": outcome.plan.report,
            "summary": outcome.plan.summary,
        });
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response());
    }
    let status = if outcome.import_id.is_some() { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(json!(outcome))).into_response())
}

/// `GET /regions/imports`: the latest imports with their reports (admins).
#[utoipa::path(get, path = "/regions/imports", tag = "geo", params(("limit" = Option<u32>, Query, description = "Page size")), responses((status = 200, description = "Past imports with their reports", body = crate::openapi::Items), (status = 400, description = "Malformed body or query, or an unknown parameter"), (status = 401, description = "Not signed in"), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn imports(State(app): State<AppState>, auth: Auth, q: RawQuery) -> ApiResult<Json<Value>> {
    q.only(&["limit"])?;
    administer(&auth.actor, Permission::SeeRegionImports)?;
    let limit = q.parse::<u32>("limit", "a whole number")?.unwrap_or(20).clamp(1, 200);
    let items: Vec<Value> = app
        .store
        .region_imports(limit)
        .await?
        .into_iter()
        .map(|i| json!({ "id": i.id, "at": to_rfc3339(i.at), "by": i.by, "source": i.source, "options": i.options, "summary": i.summary, "report": i.report }))
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// `GET /regions/validate?under=`: the validation report of the stored tree under a region.
#[utoipa::path(get, path = "/regions/validate", tag = "geo", params(("under" = Option<String>, Query, description = "Region code"), ("min_area_m2" = Option<f64>, Query, description = "Smallest area reported"), ("max_gap_width_m" = Option<f64>, Query, description = "Widest gap reported")), responses((status = 200, description = "The validation report of the stored tree", body = crate::openapi::ValidationAnswer), (status = 400, description = "Malformed body or query, or an unknown parameter"), (status = 401, description = "Not signed in"), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn validate(State(app): State<AppState>, auth: Auth, q: RawQuery) -> ApiResult<Json<Value>> {
    q.only(&["under", "min_area_m2", "max_gap_width_m"])?;
    let under = required_code(&q, "under")?;
    administer(&auth.actor, Permission::ValidateRegions { under: &under })?;
    let report = regions::validate_stored(app.store.as_ref(), Some(&under), tolerances(&q)?).await?;
    Ok(Json(json!({ "under": under, "valid": report.is_valid(), "report": report })))
}

/// `GET /regions/export?under=&zoom=`: the subtree as GeoJSON; staff also get live figures per grid.
#[utoipa::path(get, path = "/regions/export", tag = "geo", operation_id = "export_regions", security((), ("bearer" = []), ("session_cookie" = [])), params(("under" = Option<String>, Query, description = "Region code"), ("zoom" = Option<u8>, Query, description = "Map zoom to simplify for")), responses((status = 200, description = "The subtree as a GeoJSON FeatureCollection with figures per grid (staff)", body = Object, content_type = "application/geo+json"), (status = 400, description = "Malformed body or query, or an unknown parameter"), (status = 404, description = "Not found, or outside one's scope"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn export(State(app): State<AppState>, auth: MaybeAuth, q: RawQuery) -> ApiResult<Response> {
    q.only(&["under", "zoom"])?;
    let under = required_code(&q, "under")?;
    let zoom = q.parse::<u8>("zoom", "a zoom level")?;
    if zoom.is_some_and(|z| z > 24) {
        return Err(ApiError::field("zoom", "must be between 0 and 24"));
    }
    let staff = auth.0.as_ref().is_some_and(|a| may(&a.actor, Permission::SeeGridFigures).is_ok());
    let r = app.reference();
    let fc = regions::export(app.store.as_ref(), &r.regions, &under, zoom, staff, app.now()).await?;
    Ok(([(header::CONTENT_TYPE, "application/geo+json")], fc.to_string()).into_response())
}

/// `GET /regions/{code}/history`: earlier names and geometries, and where its area went or came from.
#[utoipa::path(get, path = "/regions/{code}/history", tag = "geo", security(()), params(("code" = String, Path, description = "Region code")), responses((status = 200, description = "`{ region, versions, successors, predecessors }`", body = Object), (status = 404, description = "Not found, or outside one's scope"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn history(State(app): State<AppState>, Path(code): Path<String>) -> ApiResult<Json<Value>> {
    let code = RegionCode::parse(&code).map_err(|e| ApiError::field("code", e.reason))?;
    let h = app.store.region_history(&code).await?.ok_or_else(|| ApiError::not_found("region"))?;
    let lineage = |l: &gridkeeper_store::LineageRecord| json!({ "from": l.from, "to": l.to, "area_m2": l.area_m2, "at": to_rfc3339(l.at), "import": l.import_id });
    Ok(Json(json!({
        "region": {
            "code": h.region.region.code, "name": h.region.region.name, "level": h.region.region.code.level(),
            "geometry": h.region.region.geometry, "derived": h.region.derived, "key": h.region.key,
            "retired_at": h.region.retired_at.map(to_rfc3339), "updated_at": h.region.updated_at.map(to_rfc3339),
        },
        "versions": h.versions.iter().map(|v| json!({
            "name": v.name, "geometry": v.geometry, "valid_from": v.valid_from.map(to_rfc3339),
            "valid_to": to_rfc3339(v.valid_to), "import": v.import_id,
        })).collect::<Vec<_>>(),
        "successors": h.successors.iter().map(lineage).collect::<Vec<_>>(),
        "predecessors": h.predecessors.iter().map(lineage).collect::<Vec<_>>(),
    })))
}

fn assignment_json(a: &Assignment, name: Option<String>) -> Value {
    json!({
        "id": a.id, "person": a.person, "name": name, "region": a.region, "role": a.role,
        "starts_at": to_rfc3339(a.starts_at), "ends_at": a.ends_at.map(to_rfc3339),
        "created_at": to_rfc3339(a.created_at), "created_by": a.created_by,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    person: PersonId,
    region: String,
    role: Role,
    starts_at: Option<String>,
    ends_at: Option<String>,
}

/// `POST /assignments`: a grid member to a grid, or a grid leader to a community, for a period.
#[utoipa::path(post, path = "/assignments", tag = "geo", request_body = crate::openapi::AssignRequest, responses((status = 201, description = "The assignment", body = crate::openapi::AssignmentAnswer), (status = 400, description = "Malformed body or query, or an unknown parameter"), (status = 401, description = "Not signed in"), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "Not found, or outside one's scope"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn add_assignment(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(b): ApiJson<AssignBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let region = RegionCode::parse(&b.region).map_err(|e| ApiError::field("region", e.reason))?;
    let wanted = match b.role {
        Role::GridMember => RegionLevel::Grid,
        Role::GridLeader => RegionLevel::Community,
        _ => return Err(ApiError::field("role", "must be grid_member (of a grid) or grid_leader (of a community)")),
    };
    if region.level() != wanted {
        return Err(ApiError::field("region", format!("a {} is assigned to a {}", b.role.as_str(), wanted.as_str())));
    }
    administer(&auth.actor, Permission::ManageAssignments { region: &region })?;
    let now = app.now();
    let starts_at = b.starts_at.as_deref().map(|s| parse_rfc3339("starts_at", s)).transpose()?.unwrap_or(now);
    let ends_at = b.ends_at.as_deref().map(|s| parse_rfc3339("ends_at", s)).transpose()?;
    let person = app
        .store
        .person(b.person)
        .await?
        .ok_or_else(|| ApiError::field("person", format!("no person {}", b.person)))?;
    let holds = person
        .grants
        .iter()
        .any(|g| g.role == b.role && matches!(&g.scope, Scope::Region { code } if code.contains(&region)));
    if !holds {
        return Err(ApiError::field(
            "person",
            format!("{} holds no {} role covering {region}; grant it first", person.login, b.role.as_str()),
        ));
    }
    let a = app
        .store
        .add_assignment(&NewAssignment {
            person: person.id,
            region,
            role: b.role,
            starts_at,
            ends_at,
            created_at: now,
            created_by: Some(auth.person.id),
        })
        .await?;
    app.store
        .audit(&NewAudit {
            at: now,
            actor: Some(auth.person.id),
            action: "assignment".into(),
            object: Some(format!("assignment:{}", a.id)),
            detail: json!({ "person": a.person, "region": a.region, "role": a.role, "starts_at": a.starts_at, "ends_at": a.ends_at }),
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "assignment": assignment_json(&a, Some(person.name)) }))))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct EndBody {
    at: Option<String>,
}

/// `POST /assignments/{id}/end`: ends an assignment (now, or at `at`).
#[utoipa::path(post, path = "/assignments/{id}/end", tag = "geo", params(("id" = i64, Path, description = "Assignment id")), request_body(content = Option<crate::openapi::EndRequest>, description = "Optional: when it ends (default now)"), responses((status = 200, description = "The ended assignment", body = crate::openapi::AssignmentAnswer), (status = 400, description = "Malformed body or query, or an unknown parameter"), (status = 401, description = "Not signed in"), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "Not found, or outside one's scope"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn end_assignment(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let b: EndBody =
        if body.iter().all(u8::is_ascii_whitespace) { EndBody::default() } else { crate::extract::parse_json(&body)? };
    let a = app.store.assignment(id).await?.ok_or_else(|| ApiError::not_found("assignment"))?;
    administer(&auth.actor, Permission::ManageAssignments { region: &a.region })?;
    let now = app.now();
    let at = b.at.as_deref().map(|s| parse_rfc3339("at", s)).transpose()?.unwrap_or(now);
    let ended = app.store.end_assignment(id, at).await.map_err(|e| match e {
        gridkeeper_store::StoreError::Invalid(f) => ApiError::field("at", f.reason),
        other => other.into(),
    })?;
    let ended = ended.ok_or_else(|| ApiError::not_found("assignment"))?;
    app.store
        .audit(&NewAudit {
            at: now,
            actor: Some(auth.person.id),
            action: "assignment".into(),
            object: Some(format!("assignment:{id}")),
            detail: json!({ "ended_at": at }),
        })
        .await?;
    Ok(Json(json!({ "assignment": assignment_json(&ended, None) })))
}

/// `GET /assignments?under=&person=&at=`: assignments in a subtree (staff).
#[utoipa::path(get, path = "/assignments", tag = "geo", params(("under" = Option<String>, Query, description = "Region code"), ("person" = Option<i64>, Query, description = "Person id"), ("at" = Option<String>, Query, description = "RFC 3339: in force at")), responses((status = 200, description = "Assignments", body = crate::openapi::Items), (status = 400, description = "Malformed body or query, or an unknown parameter"), (status = 401, description = "Not signed in"), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn list_assignments(State(app): State<AppState>, auth: Auth, q: RawQuery) -> ApiResult<Json<Value>> {
    q.only(&["under", "person", "at"])?;
    administer(&auth.actor, Permission::SeeAssignments)?;
    let query = AssignmentQuery {
        under: code_param(&q, "under")?,
        person: q.parse::<PersonId>("person", "a person id")?,
        at: q.get("at").map(|v| parse_rfc3339("at", v)).transpose()?,
    };
    let mut items = Vec::new();
    for a in app.store.assignments(&query).await? {
        let name = app.store.person(a.person).await?.map(|p| p.name);
        items.push(assignment_json(&a, name));
    }
    Ok(Json(json!({ "items": items })))
}

/// `GET /responsibility/gaps?under=&at=`: grids with no grid member (and who answers for them
/// instead), and communities with no grid leader (admins).
#[utoipa::path(get, path = "/responsibility/gaps", tag = "geo", params(("under" = Option<String>, Query, description = "Region code"), ("at" = Option<String>, Query, description = "RFC 3339")), responses((status = 200, description = "Grids without a grid member, communities without a leader", body = crate::openapi::GapsAnswer), (status = 400, description = "Malformed body or query, or an unknown parameter"), (status = 401, description = "Not signed in"), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn gaps(State(app): State<AppState>, auth: Auth, q: RawQuery) -> ApiResult<Json<Value>> {
    q.only(&["under", "at"])?;
    let under = required_code(&q, "under")?;
    administer(&auth.actor, Permission::SeeResponsibilityGaps { under: &under })?;
    let at = instant(&q, "at", app.now())?;
    let r = app.reference();
    let (grids, leaderless) = regions::responsibility_gaps(app.store.as_ref(), &r.regions, &under, at).await?;
    let mut items = Vec::new();
    for g in grids {
        let mut accountable = Vec::new();
        for a in &g.accountable {
            accountable.push(person_json(&app, true, a).await?);
        }
        let status = if accountable.is_empty() { "unassigned" } else { "fallback" };
        items.push(json!({ "grid": g.grid, "name": g.name, "status": status, "accountable": accountable }));
    }
    Ok(Json(json!({ "under": under, "at": to_rfc3339(at), "grids": items, "communities_without_leader": leaderless })))
}
