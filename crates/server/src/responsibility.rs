//! Who answers for which place: locate a point (in WGS-84, GCJ-02 or BD-09) in its grid and the
//! regions above, with the grid members and leaders responsible now; the assignments of grid
//! members to grids and grid leaders to communities, with their periods; and the grids nobody
//! answers for. Each handler parses, asks the policy, calls `regions.rs` or the store, renders.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gridkeeper_domain::time::{parse_rfc3339, to_rfc3339};
use gridkeeper_domain::{may, FieldError, LatLon, Permission, PersonId, RegionCode, RegionLevel, Role};
use gridkeeper_geo::Crs;
use gridkeeper_store::vault::mask_name;
use gridkeeper_store::{Assignment, AssignmentQuery, NewAssignment, NewAudit};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, MaybeAuth};
use crate::error::{ApiError, ApiResult};
use crate::extract::{worded, ApiJson, Query};
use crate::http::administer;
use crate::regions;
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(locate))
        .routes(routes!(list_assignments, add_assignment))
        .routes(routes!(end_assignment))
        .routes(routes!(gaps))
}

/// A region code given in the query as `field`, if any.
pub(crate) fn code_param(v: Option<&str>, field: &str) -> ApiResult<Option<RegionCode>> {
    v.map(|v| RegionCode::parse(v).map_err(|e| ApiError::invalid(FieldError::new(field, e.reason)))).transpose()
}

/// A region code required in the query as `field`.
pub(crate) fn required_code(v: Option<&str>, field: &str) -> ApiResult<RegionCode> {
    code_param(v, field)?.ok_or_else(|| ApiError::field(field, "is required"))
}

/// A person assigned to a region: the name masked for those who are not staff.
#[derive(Serialize, ToSchema)]
pub struct AssignedPerson {
    /// The assignment's id.
    pub assignment: i64,
    pub person: i64,
    pub name: Option<String>,
    /// grid_member or grid_leader
    #[schema(value_type = String)]
    pub role: Role,
    #[schema(format = DateTime)]
    pub since: String,
    #[schema(format = DateTime)]
    pub until: Option<String>,
}

/// A person as shown beside a region: staff see the name, others a masked one.
async fn assigned(app: &AppState, staff: bool, a: &Assignment) -> ApiResult<AssignedPerson> {
    let name = app.store.person(a.person).await?.map(|p| if staff { p.name } else { mask_name(&p.name) });
    Ok(AssignedPerson {
        assignment: a.id,
        person: a.person,
        name,
        role: a.role,
        since: to_rfc3339(a.starts_at),
        until: a.ends_at.map(to_rfc3339),
    })
}

async fn assigned_all(app: &AppState, staff: bool, list: &[Assignment]) -> ApiResult<Vec<AssignedPerson>> {
    let mut v = Vec::with_capacity(list.len());
    for a in list {
        v.push(assigned(app, staff, a).await?);
    }
    Ok(v)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct LocateQuery {
    /// Latitude
    lat: f64,
    /// Longitude
    lon: f64,
    /// wgs84 (default), gcj02 or bd09
    crs: Option<String>,
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
    pub name_en: Option<String>,
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

/// `GET /locate?lat=&lon=&crs=`: the grid containing a point, its community, street and
/// district, and who is responsible for it now.
#[utoipa::path(get, path = "/locate", tag = "geo", security((), ("bearer" = []), ("session_cookie" = [])), params(LocateQuery),
    responses((status = 200, description = "The grid, community, street and district of the point and who is responsible (names masked for the public)", body = LocateAnswer)))]
async fn locate(
    State(app): State<AppState>,
    auth: MaybeAuth,
    Query(q): Query<LocateQuery>,
) -> ApiResult<Json<LocateAnswer>> {
    let crs = q.crs.as_deref().map(Crs::parse).transpose()?.unwrap_or_default();
    let given = LatLon::new(q.lat, q.lon)?;
    let wgs84 = crs.to_wgs84(given);
    let r = app.reference();
    let mut out = LocateAnswer {
        input: LocateInput { lat: q.lat, lon: q.lon, crs: crs.as_str().to_string() },
        wgs84: LatLon { lat: wgs84.lat, lon: wgs84.lon },
        grid: None,
        community: None,
        street: None,
        district: None,
        outside_jurisdiction: true,
        responsible: None,
    };
    let Some(grid) = r.grids.locate(wgs84) else { return Ok(Json(out)) };
    for level in [RegionLevel::District, RegionLevel::Street, RegionLevel::Community, RegionLevel::Grid] {
        if let Some(x) = grid.at_level(level).and_then(|c| r.regions.get(&c)) {
            let name =
                RegionName { code: x.code.clone(), name: x.name.clone(), name_en: x.name_en.clone(), level: x.level() };
            match level {
                RegionLevel::District => out.district = Some(name),
                RegionLevel::Street => out.street = Some(name),
                RegionLevel::Community => out.community = Some(name),
                _ => out.grid = Some(name),
            }
        }
    }
    out.outside_jurisdiction = false;
    let staff = auth.0.as_ref().is_some_and(|a| may(&a.actor, Permission::SeeResponsibleNames).is_ok());
    let resp = regions::responsible_for(app.store.as_ref(), &grid, app.now()).await?;
    out.responsible = Some(Responsible {
        grid_members: assigned_all(&app, staff, &resp.grid_members).await?,
        grid_leaders: assigned_all(&app, staff, &resp.grid_leaders).await?,
        accountable: assigned_all(&app, staff, resp.accountable()).await?,
        // No grid member: the community's grid leaders answer for the grid (属地兜底).
        fallback: resp.fallback,
    });
    Ok(Json(out))
}

/// An assignment: a grid member to a grid, or a grid leader to a community, for a period.
#[derive(Serialize, ToSchema)]
pub struct AssignmentView {
    pub id: i64,
    pub person: i64,
    pub name: Option<String>,
    #[schema(value_type = String)]
    pub region: RegionCode,
    /// grid_member or grid_leader
    #[schema(value_type = String)]
    pub role: Role,
    #[schema(format = DateTime)]
    pub starts_at: String,
    #[schema(format = DateTime)]
    pub ends_at: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub created_by: Option<i64>,
}

impl AssignmentView {
    fn of(a: &Assignment, name: Option<String>) -> Self {
        AssignmentView {
            id: a.id,
            person: a.person,
            name,
            region: a.region.clone(),
            role: a.role,
            starts_at: to_rfc3339(a.starts_at),
            ends_at: a.ends_at.map(to_rfc3339),
            created_at: to_rfc3339(a.created_at),
            created_by: a.created_by,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AssignmentAnswer {
    pub assignment: AssignmentView,
}

#[derive(Serialize, ToSchema)]
pub struct AssignmentList {
    pub items: Vec<AssignmentView>,
}

/// `POST /assignments`: a grid member to a grid, or a grid leader to a community.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AssignRequest {
    #[schema(value_type = i64)]
    person: PersonId,
    /// A grid (grid member) or a community (grid leader).
    region: String,
    /// grid_member or grid_leader
    #[schema(value_type = String, pattern = "^(grid_member|grid_leader)$")]
    role: Role,
    /// RFC 3339; default now.
    #[schema(format = DateTime)]
    starts_at: Option<String>,
    #[schema(format = DateTime)]
    ends_at: Option<String>,
}

/// `POST /assignments/{id}/end`.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
struct EndRequest {
    /// RFC 3339; default now.
    #[schema(format = DateTime)]
    at: Option<String>,
}

/// `POST /assignments`: a grid member to a grid, or a grid leader to a community, for a period.
#[utoipa::path(post, path = "/assignments", tag = "geo", request_body = AssignRequest,
    responses((status = 201, description = "The assignment", body = AssignmentAnswer), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "Not found, or outside one's scope"), (status = 409, description = "The person is disabled, or already assigned there for part of the period")))]
async fn add_assignment(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(b): ApiJson<AssignRequest>,
) -> ApiResult<(StatusCode, Json<AssignmentAnswer>)> {
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
        .ok_or_else(|| ApiError::unknown("person", format!("no person {}", b.person)))?;
    if person.disabled {
        return Err(ApiError::conflicting("person", format!("{} is disabled", person.login)));
    }
    // The role over the region follows the assignment (the store writes both together).
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
    Ok((StatusCode::CREATED, Json(AssignmentAnswer { assignment: AssignmentView::of(&a, Some(person.name)) })))
}

/// `POST /assignments/{id}/end`: ends an assignment (now, or at `at`).
#[utoipa::path(post, path = "/assignments/{id}/end", tag = "geo",
    params(("id" = i64, Path, description = "Assignment id")),
    request_body(content = Option<EndRequest>, description = "Optional: when it ends (default now)"),
    responses((status = 200, description = "The ended assignment", body = AssignmentAnswer), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "Not found, or outside one's scope"), (status = 409, description = "`at` lies before the assignment starts or after it already ended")))]
async fn end_assignment(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: Bytes,
) -> ApiResult<Json<AssignmentAnswer>> {
    let b: EndRequest = if body.iter().all(u8::is_ascii_whitespace) {
        EndRequest::default()
    } else {
        crate::extract::parse_json::<Option<EndRequest>>(&body)?.unwrap_or_default()
    };
    let a = app.store.assignment(id).await?.ok_or_else(|| ApiError::not_found("assignment"))?;
    administer(&auth.actor, Permission::ManageAssignments { region: &a.region })?;
    let now = app.now();
    let at = b.at.as_deref().map(|s| parse_rfc3339("at", s)).transpose()?.unwrap_or(now);
    let ended = app.store.end_assignment(id, at).await.map_err(|e| match e {
        gridkeeper_store::StoreError::Conflicts(f) => ApiError::conflicting("at", f.reason),
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
    Ok(Json(AssignmentAnswer { assignment: AssignmentView::of(&ended, None) }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AssignmentsQuery {
    /// Region code
    under: Option<String>,
    /// Person id
    #[serde(default, deserialize_with = "worded::person_id")]
    person: Option<i64>,
    /// RFC 3339: in force at
    at: Option<String>,
}

/// `GET /assignments?under=&person=&at=`: assignments in a subtree (staff).
#[utoipa::path(get, path = "/assignments", tag = "geo", params(AssignmentsQuery),
    responses((status = 200, description = "Assignments", body = AssignmentList), (status = 403, description = "Not allowed (role, scope or CSRF token)")))]
async fn list_assignments(
    State(app): State<AppState>,
    auth: Auth,
    Query(q): Query<AssignmentsQuery>,
) -> ApiResult<Json<AssignmentList>> {
    administer(&auth.actor, Permission::SeeAssignments)?;
    let query = AssignmentQuery {
        under: code_param(q.under.as_deref(), "under")?,
        person: q.person,
        at: q.at.as_deref().map(|v| parse_rfc3339("at", v)).transpose()?,
    };
    let mut items = Vec::new();
    for a in app.store.assignments(&query).await? {
        let name = app.store.person(a.person).await?.map(|p| p.name);
        items.push(AssignmentView::of(&a, name));
    }
    Ok(Json(AssignmentList { items }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct GapsQuery {
    /// Region code
    #[param(required = true)]
    under: Option<String>,
    /// RFC 3339
    at: Option<String>,
}

/// A grid without a grid member.
#[derive(Serialize, ToSchema)]
pub struct GridGap {
    #[schema(value_type = String)]
    pub grid: RegionCode,
    pub name: String,
    /// `fallback` (the community's grid leaders answer for it) or `unassigned` (nobody does).
    pub status: String,
    pub accountable: Vec<AssignedPerson>,
}

#[derive(Serialize, ToSchema)]
pub struct GapsAnswer {
    #[schema(value_type = String)]
    pub under: RegionCode,
    #[schema(format = DateTime)]
    pub at: String,
    /// Grids with their status and who answers for them.
    pub grids: Vec<GridGap>,
    #[schema(value_type = Vec<String>)]
    pub communities_without_leader: Vec<RegionCode>,
}

/// `GET /responsibility/gaps?under=&at=`: grids with no grid member (and who answers for them
/// instead), and communities with no grid leader (admins).
#[utoipa::path(get, path = "/responsibility/gaps", tag = "geo", params(GapsQuery),
    responses((status = 200, description = "Grids without a grid member, communities without a leader", body = GapsAnswer), (status = 403, description = "Not allowed (role, scope or CSRF token)")))]
async fn gaps(State(app): State<AppState>, auth: Auth, Query(q): Query<GapsQuery>) -> ApiResult<Json<GapsAnswer>> {
    let under = required_code(q.under.as_deref(), "under")?;
    administer(&auth.actor, Permission::SeeResponsibilityGaps { under: &under })?;
    let at = q.at.as_deref().map(|v| parse_rfc3339("at", v)).transpose()?.unwrap_or(app.now());
    let r = app.reference();
    let (grids, leaderless) = regions::responsibility_gaps(app.store.as_ref(), &r.regions, &under, at).await?;
    let mut items = Vec::new();
    for g in grids {
        let accountable = assigned_all(&app, true, &g.accountable).await?;
        let status = if accountable.is_empty() { "unassigned" } else { "fallback" };
        items.push(GridGap { grid: g.grid, name: g.name, status: status.into(), accountable });
    }
    Ok(Json(GapsAnswer { under, at: to_rfc3339(at), grids: items, communities_without_leader: leaderless }))
}
