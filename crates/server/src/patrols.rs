//! Patrols (巡查) in the server: a grid member (or grid leader) starts a patrol in one of their
//! grids, the phone sends its positions in batches (an instant stored once, so a batch sent twice
//! does not double; far and implausible positions kept and flagged), and ends it; the server ends
//! a patrol left running after `max_hours` at its last position and deletes positions after
//! `positions_days` (the summary stays). A patrol shows the places visited and cases reported by
//! its patroller meanwhile. The month's quota met (hours, visits) per member, grid and community.
//! Tracks are personal data: the patroller and the grid leaders of the grid's community see them
//! (`policy::SeePatrol`), reading another's track is audited.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gridkeeper_domain::patrols::{
    group_met, judge, outline_of, Fix, Month, PatrolRules, Position, Quota, QuotaMet, MAX_BATCH,
};
use gridkeeper_domain::time::{parse_rfc3339, to_rfc3339};
use gridkeeper_domain::{may, Actor, Millis, Permission, PersonId, RegionCode, RegionLevel, Role, HOUR, MINUTE};
use gridkeeper_store::{AssignmentQuery, EndedBy, NewAudit, Patrol, PatrolQuery, PatrolTally};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Query};
use crate::http::administer;
use crate::participation::{more, page, region_name};
use crate::{App, AppState, StartupError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, start))
        .routes(routes!(patrol))
        .routes(routes!(positions))
        .routes(routes!(end))
        .routes(routes!(my_quota))
        .routes(routes!(quotas))
        .routes(routes!(set_quota))
}

/// The `[server.patrols]` section of the configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PatrolSettings {
    /// A position farther than this many metres outside its patrol's grid is flagged (and kept).
    pub outside_m: f64,
    /// A position reached faster than this (metres a second) is flagged implausible.
    pub max_speed_mps: f64,
    /// Positions less accurate than this (metres) do not count towards a track's length.
    pub max_accuracy_m: f64,
    /// A patrol left running this many hours is ended by the server at its last position.
    pub max_hours: u32,
    /// Days the positions of an ended patrol are kept (personal data); its summary stays.
    pub positions_days: u32,
    /// The monthly quota of a grid member where no region above their grid has one set.
    pub quota_hours: u32,
    pub quota_visits: u32,
}

impl Default for PatrolSettings {
    fn default() -> Self {
        let r = PatrolRules::default();
        let q = Quota::default();
        Self {
            outside_m: r.outside_m,
            max_speed_mps: r.max_speed_mps,
            max_accuracy_m: r.max_accuracy_m,
            max_hours: r.max_hours,
            positions_days: 90,
            quota_hours: q.hours,
            quota_visits: q.visits,
        }
    }
}

impl PatrolSettings {
    pub fn rules(&self) -> PatrolRules {
        PatrolRules {
            outside_m: self.outside_m,
            max_speed_mps: self.max_speed_mps,
            max_accuracy_m: self.max_accuracy_m,
            max_hours: self.max_hours,
        }
    }

    pub fn quota(&self) -> Quota {
        Quota { hours: self.quota_hours, visits: self.quota_visits }
    }

    pub fn validate(&self) -> Result<(), StartupError> {
        self.rules().validate().map_err(|e| format!("server.patrols.{}: {}", e.field, e.reason))?;
        let q = self.quota();
        q.validate().map_err(|e| format!("server.patrols.quota_{}: {}", e.field, e.reason))?;
        if !(1..=3650).contains(&self.positions_days) {
            return Err("server.patrols.positions_days: between 1 and 3650 days".to_string().into());
        }
        Ok(())
    }
}

/// Who ended a patrol.
#[derive(Serialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum EndedByView {
    /// The patroller.
    Member,
    /// The server, after the longest a patrol may run (at its last position).
    Server,
}

/// A patrol's summary.
#[derive(Serialize, ToSchema)]
pub struct PatrolView {
    pub id: i64,
    pub person: i64,
    pub person_name: String,
    pub grid: String,
    pub grid_name: String,
    #[schema(format = DateTime)]
    pub started_at: String,
    /// `null` while it runs.
    #[schema(format = DateTime)]
    pub ended_at: Option<String>,
    pub ended_by: Option<EndedByView>,
    pub running: bool,
    /// When the server ends it if it is still running then.
    #[schema(format = DateTime)]
    pub ends_by: Option<String>,
    /// Seconds on patrol (to now while it runs).
    pub duration_s: i64,
    /// Metres walked (implausible and inaccurate positions left out).
    pub distance_m: f64,
    pub positions: i64,
    /// Positions farther outside the grid than allowed (kept, flagged).
    pub far: i64,
    /// Positions reached implausibly fast (kept, flagged).
    pub implausible: i64,
    #[schema(format = DateTime)]
    pub last_at: Option<String>,
    pub last: Option<gridkeeper_domain::LatLon>,
    /// `false` once its positions were deleted after their retention (the summary stays).
    pub track_kept: bool,
}

/// A stored position.
#[derive(Serialize, ToSchema)]
pub struct PositionView {
    #[schema(format = DateTime)]
    pub at: String,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
    /// Metres outside the grid (0 inside).
    pub outside_m: f64,
    pub far: bool,
    pub implausible: bool,
}

#[derive(Serialize, ToSchema)]
pub struct PatrolVisitLink {
    pub place: i64,
    pub name: String,
    #[schema(format = DateTime)]
    pub at: String,
}

#[derive(Serialize, ToSchema)]
pub struct PatrolCaseLink {
    pub id: i64,
    pub reference: String,
    #[schema(format = DateTime)]
    pub at: String,
    pub state: String,
}

/// A patrol with its track and what its patroller did meanwhile.
#[derive(Serialize, ToSchema)]
pub struct PatrolDetail {
    pub patrol: PatrolView,
    /// In time order (empty once deleted after their retention).
    pub track: Vec<PositionView>,
    /// Places the patroller visited during the patrol.
    pub visits: Vec<PatrolVisitLink>,
    /// Cases the patroller reported during the patrol (hazards their inspections found among them).
    pub cases: Vec<PatrolCaseLink>,
    /// Inspections the patroller made during the patrol.
    pub inspections: Vec<PatrolInspectionLink>,
    /// The grid's outline (GeoJSON), to draw the track on.
    #[schema(value_type = Option<Object>)]
    pub grid_geometry: Option<serde_json::Value>,
}

/// An inspection made during a patrol.
#[derive(Serialize, ToSchema)]
pub struct PatrolInspectionLink {
    pub id: i64,
    pub subject: gridkeeper_domain::inspections::SubjectKind,
    pub subject_id: i64,
    /// What was inspected.
    pub name: String,
    pub at: String,
    pub failed: u32,
}

#[derive(Serialize, ToSchema)]
pub struct PatrolPage {
    /// Newest first.
    pub items: Vec<PatrolView>,
    pub more: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartInput {
    /// One of one's own grids (a grid member's grid, or a grid of a grid leader's community).
    #[schema(pattern = "^(?!000000)[0-9]{6}((?!000)[0-9]{3}){3}$", max_length = 15)]
    pub grid: String,
}

/// A position as the phone sampled it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PositionInput {
    /// When it was sampled (RFC 3339 with milliseconds): its identity within the patrol.
    #[schema(format = DateTime)]
    pub at: String,
    #[schema(minimum = -90, maximum = 90)]
    pub lat: f64,
    #[schema(minimum = -180, maximum = 180)]
    pub lon: f64,
    /// The phone's accuracy radius in metres.
    #[schema(minimum = 0, maximum = 100000)]
    pub accuracy: f64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchInput {
    /// 1 to 500 positions, in any order; one already stored (the same `at`) is skipped.
    #[schema(min_items = 1, max_items = 500)]
    pub positions: Vec<PositionInput>,
}

/// What a batch did.
#[derive(Serialize, ToSchema)]
pub struct BatchResult {
    /// Positions stored now.
    pub added: u32,
    /// Positions stored before (a batch sent again).
    pub duplicates: u32,
    /// Of this batch, positions flagged far outside the grid.
    pub far: u32,
    /// Of this batch, positions flagged implausible.
    pub implausible: u32,
    pub patrol: PatrolView,
}

/// A grid member's month against their quota.
#[derive(Serialize, ToSchema)]
pub struct QuotaView {
    pub person: i64,
    pub name: String,
    /// Their grids.
    pub grids: Vec<String>,
    pub quota: Quota,
    /// Hours on patrol (patrols started this month; a running one to now).
    pub hours: f64,
    pub patrols: i64,
    pub distance_m: f64,
    /// Places visited this month.
    pub visits: u32,
    /// Share of the hours met, 0 to 1.
    pub hours_share: f64,
    /// Share of the visits met, 0 to 1.
    pub visits_share: f64,
    /// Both met in full.
    pub met: bool,
}

/// A grid's or community's members against their quotas.
#[derive(Serialize, ToSchema)]
pub struct QuotaGroup {
    pub region: String,
    pub name: String,
    pub members: usize,
    /// Mean of the members' shares of hours met.
    pub hours_share: f64,
    /// Mean of the members' shares of visits met.
    pub visits_share: f64,
    /// Members who met both in full.
    pub met: usize,
}

#[derive(Serialize, ToSchema)]
pub struct QuotaReport {
    /// `YYYY-MM`.
    pub month: String,
    pub region: String,
    pub members: Vec<QuotaView>,
    pub grids: Vec<QuotaGroup>,
    pub communities: Vec<QuotaGroup>,
}

#[derive(Serialize, ToSchema)]
pub struct MyQuota {
    pub month: String,
    pub quota: QuotaView,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Patrols in the grids of this region (a grid leader's community or one of its grids);
    /// without it, one's own patrols
    region: Option<String>,
    /// Only this person's (with `region`; without it, only oneself: another person is 404)
    person: Option<i64>,
    /// Only patrols started in this month (`YYYY-MM`, local time)
    #[param(pattern = "^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])$")]
    month: Option<String>,
    /// Only running (`true`) or ended (`false`) patrols
    running: Option<bool>,
    /// Skip this many (at most 10000)
    #[param(maximum = 10000)]
    offset: Option<u32>,
    /// At most this many (default 20, at most 100)
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct MonthQuery {
    /// The month (`YYYY-MM`, local time; default: this month)
    #[param(pattern = "^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])$")]
    month: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct QuotasQuery {
    /// The region (a community, street or district; a grid)
    #[param(required = true)]
    region: Option<String>,
    /// The month (`YYYY-MM`, local time; default: this month)
    #[param(pattern = "^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])$")]
    month: Option<String>,
}

fn view(app: &App, p: &Patrol) -> PatrolView {
    let now = app.now();
    let rules = app.settings.patrols.rules();
    PatrolView {
        id: p.id,
        person: p.person,
        person_name: p.person_name.clone(),
        grid: p.grid.to_string(),
        grid_name: region_name(app, &p.grid),
        started_at: to_rfc3339(p.started_at),
        ended_at: p.ended_at.map(to_rfc3339),
        ended_by: p.ended_by.map(|b| match b {
            EndedBy::Member => EndedByView::Member,
            EndedBy::Server => EndedByView::Server,
        }),
        running: p.ended_at.is_none(),
        ends_by: p.ended_at.is_none().then(|| to_rfc3339(rules.ends_by(p.started_at))),
        duration_s: p.duration(now) / 1000,
        distance_m: p.distance_m.round(),
        positions: p.positions,
        far: p.far,
        implausible: p.implausible,
        last_at: p.last.map(|(at, _)| to_rfc3339(at)),
        last: p.last.map(|(_, l)| l),
        track_kept: p.purged_at.is_none(),
    }
}

fn month_of(app: &App, month: Option<&str>) -> ApiResult<Month> {
    match month {
        Some(m) => Ok(Month::parse("month", m)?),
        None => Ok(Month::of(app.now(), app.settings.utc_offset_hours)),
    }
}

/// A patrol the actor may see (404 for anyone else: its existence is not revealed).
async fn seen(app: &App, actor: &Actor, id: i64) -> ApiResult<Patrol> {
    let p = app.store.patrol(id).await?.ok_or_else(|| ApiError::not_found("patrol"))?;
    may(actor, Permission::SeePatrol { patroller: p.person, grid: &p.grid })
        .map_err(|_| ApiError::not_found("patrol"))?;
    Ok(p)
}

/// One's own patrol (positions and the end are the patroller's alone; 404 for anyone else).
async fn own(app: &App, auth: &Auth, id: i64) -> ApiResult<Patrol> {
    match app.store.patrol(id).await? {
        Some(p) if p.person == auth.person.id => Ok(p),
        _ => Err(ApiError::not_found("patrol")),
    }
}

#[utoipa::path(get, path = "/patrols", tag = "patrols", summary = "Patrols: one's own, or (grid leaders) those of the grids of a region of theirs",
    params(ListQuery),
    responses((status = 200, description = "Newest first", body = PatrolPage), (status = 404, description = "No such region, or not one whose patrols one sees")))]
async fn list(State(app): State<AppState>, auth: Auth, Query(q): Query<ListQuery>) -> ApiResult<Json<PatrolPage>> {
    let (offset, limit) = page(q.offset, q.limit)?;
    let (from, to) = match q.month.as_deref() {
        Some(m) => {
            let (f, t) = Month::parse("month", m)?.bounds(app.settings.utc_offset_hours);
            (Some(f), Some(t))
        }
        None => (None, None),
    };
    let mut query = PatrolQuery { from, to, running: q.running, offset, limit: limit + 1, ..Default::default() };
    match q.region.as_deref() {
        Some(r) => {
            let region = RegionCode::parse(r).map_err(|e| ApiError::field("region", e.reason))?;
            if !app.reference().regions.contains_key(&region) {
                return Err(ApiError::unknown("region", format!("no region {region}")));
            }
            // The region's patrols, as its grid leaders see them (nobody's own patrol in particular).
            may(&auth.actor, Permission::SeePatrol { patroller: 0, grid: &region })
                .map_err(|_| ApiError::unknown("region", "not a region whose patrols you see"))?;
            query.under = Some(region);
            query.person = q.person;
        }
        None => {
            if q.person.is_some_and(|p| p != auth.person.id) {
                // Another's patrols are read through a region one leads.
                return Err(ApiError::unknown("person", "not a person whose patrols you see without a region"));
            }
            query.person = Some(auth.person.id);
        }
    }
    let found = app.store.patrols(&query).await?;
    let (found, more) = more(found, limit);
    Ok(Json(PatrolPage { items: found.iter().map(|p| view(&app, p)).collect(), more }))
}

#[utoipa::path(post, path = "/patrols", tag = "patrols", summary = "Start a patrol in one of one's grids",
    request_body = StartInput,
    responses((status = 201, description = "Started", body = PatrolView), (status = 403, description = "Only grid members and grid leaders patrol (or CSRF token)"), (status = 404, description = "No such grid"), (status = 409, description = "A patrol of one's own is running (field `patrol`)"), (status = 422, description = "Not a grid of one's own (field `grid`)")))]
async fn start(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<StartInput>,
) -> ApiResult<(StatusCode, Json<PatrolView>)> {
    let grid = RegionCode::parse(&input.grid).map_err(|e| ApiError::field("grid", e.reason))?;
    if grid.level() != RegionLevel::Grid {
        return Err(ApiError::field("grid", "must be the code of a grid (15 digits)"));
    }
    if !app.reference().regions.contains_key(&grid) {
        return Err(ApiError::unknown("grid", format!("no grid {grid}")));
    }
    match may(&auth.actor, Permission::Patrol { grid: &grid }) {
        Ok(()) => {}
        Err(gridkeeper_domain::Refusal::OutOfScope) => {
            return Err(ApiError::field("grid", "not one of your grids: patrol a grid of your own"))
        }
        Err(r) => return Err(ApiError::refusal(r, None)),
    }
    let p = app.store.start_patrol(auth.person.id, &grid, app.now()).await?;
    Ok((StatusCode::CREATED, Json(view(&app, &p))))
}

#[utoipa::path(get, path = "/patrols/{id}", tag = "patrols", summary = "A patrol with its track, the places visited, the cases reported and the inspections made during it (the patroller and their grid leaders; audited for the leaders)",
    params(("id" = i64, Path, description = "Patrol id")),
    responses((status = 200, description = "The patrol", body = PatrolDetail), (status = 404, description = "No such patrol one may see")))]
async fn patrol(State(app): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<Json<PatrolDetail>> {
    let p = seen(&app, &auth.actor, id).await?;
    let now = app.now();
    if p.person != auth.person.id {
        app.store
            .audit(&NewAudit {
                at: now,
                actor: Some(auth.person.id),
                action: "read_patrol".into(),
                object: Some(format!("patrol:{}", p.id)),
                detail: serde_json::json!({ "patroller": p.person, "grid": p.grid.as_str() }),
            })
            .await?;
    }
    let track = app.store.patrol_positions(p.id).await?;
    let (visits, cases) = app.store.patrol_links(p.person, p.started_at, p.ended_at.unwrap_or(now)).await?;
    let inspections = app
        .store
        .inspections_by(p.person, p.started_at, p.ended_at.unwrap_or(now), 500)
        .await?
        .into_iter()
        .map(|(i, name)| PatrolInspectionLink {
            id: i.id.0,
            subject: i.subject,
            subject_id: i.subject_id,
            name,
            at: to_rfc3339(i.at),
            failed: i.failed,
        })
        .collect();
    let geometry = app.reference().regions.get(&p.grid).and_then(|r| r.geometry.clone());
    Ok(Json(PatrolDetail {
        patrol: view(&app, &p),
        track: track
            .iter()
            .map(|x| PositionView {
                at: to_rfc3339(x.fix.at),
                lat: x.fix.point.lat,
                lon: x.fix.point.lon,
                accuracy_m: x.fix.accuracy_m,
                outside_m: x.outside_m.round(),
                far: x.far,
                implausible: x.implausible,
            })
            .collect(),
        visits: visits
            .into_iter()
            .map(|v| PatrolVisitLink { place: v.place, name: v.name, at: to_rfc3339(v.at) })
            .collect(),
        cases: cases
            .into_iter()
            .map(|c| PatrolCaseLink { id: c.id, reference: c.reference, at: to_rfc3339(c.at), state: c.state })
            .collect(),
        inspections,
        grid_geometry: geometry,
    }))
}

/// How far a position's time may lie before its patrol's start, or after now (phone clocks).
const CLOCK_SLACK: Millis = 5 * MINUTE;

#[utoipa::path(post, path = "/patrols/{id}/positions", tag = "patrols", summary = "Send a batch of one's running patrol's positions (a position already stored is skipped: sending a batch again is safe)",
    params(("id" = i64, Path, description = "Patrol id")),
    request_body = BatchInput,
    responses((status = 200, description = "Stored; far and implausible positions kept and flagged", body = BatchResult), (status = 403, description = "CSRF token missing"), (status = 404, description = "No such patrol of one's own"), (status = 409, description = "The patrol has ended (field `patrol`)"), (status = 422, description = "Bad positions, or too many (field `positions`)")))]
async fn positions(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<BatchInput>,
) -> ApiResult<Json<BatchResult>> {
    let p = own(&app, &auth, id).await?;
    if input.positions.is_empty() || input.positions.len() > MAX_BATCH {
        return Err(ApiError::field("positions", format!("send 1 to {MAX_BATCH} positions at a time")));
    }
    if p.ended_at.is_some() {
        return Err(ApiError::conflicting("patrol", "the patrol has ended; positions after its end are not taken"));
    }
    let now = app.now();
    let mut fixes = Vec::with_capacity(input.positions.len());
    for (i, x) in input.positions.iter().enumerate() {
        let field = format!("positions[{i}]");
        let at = parse_rfc3339(&format!("{field}.at"), &x.at)?;
        if at < p.started_at - CLOCK_SLACK || at > now + CLOCK_SLACK {
            return Err(ApiError::field(
                &format!("{field}.at"),
                "lies outside the patrol (before its start or in the future)",
            ));
        }
        fixes.push(Fix::new(&field, at, x.lat, x.lon, x.accuracy)?);
    }
    let rules = app.settings.patrols.rules();
    let outline =
        app.reference().regions.get(&p.grid).and_then(|r| r.geometry.as_ref()).and_then(outline_of).unwrap_or_default();
    let first = fixes.iter().map(|f| f.at).min().unwrap_or(now);
    let before = app.store.position_before(p.id, first - 1).await?;
    let judged: Vec<Position> = judge(&rules, &outline, before.as_ref(), fixes);
    let added = app.store.add_positions(p.id, &judged, &rules).await?;
    Ok(Json(BatchResult {
        added: added.added,
        duplicates: added.duplicates,
        far: judged.iter().filter(|p| p.far).count() as u32,
        implausible: judged.iter().filter(|p| p.implausible).count() as u32,
        patrol: view(&app, &added.patrol),
    }))
}

#[utoipa::path(post, path = "/patrols/{id}/end", tag = "patrols", summary = "End one's running patrol",
    params(("id" = i64, Path, description = "Patrol id")),
    responses((status = 200, description = "Ended", body = PatrolView), (status = 403, description = "CSRF token missing"), (status = 404, description = "No such patrol of one's own"), (status = 409, description = "It has ended already (field `patrol`)")))]
async fn end(State(app): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<Json<PatrolView>> {
    let p = own(&app, &auth, id).await?;
    let p = app.store.end_patrol(p.id, app.now(), EndedBy::Member).await?;
    Ok(Json(view(&app, &p)))
}

/// The quota of a member of `grids`: the one set for the nearest region above (or at) a grid,
/// else the configuration's.
fn quota_for(app: &App, set: &BTreeMap<RegionCode, Quota>, grids: &[RegionCode]) -> Quota {
    grids
        .iter()
        .flat_map(|g| g.and_ancestors())
        .filter_map(|r| set.get(&r).map(|q| (r.level(), *q)))
        .max_by_key(|(level, _)| *level)
        .map(|(_, q)| q)
        .unwrap_or_else(|| app.settings.patrols.quota())
}

fn quota_view(person: PersonId, name: String, grids: &[RegionCode], quota: Quota, t: &PatrolTally) -> QuotaView {
    let met = QuotaMet { quota, hours: t.patrol_ms as f64 / HOUR as f64, visits: t.visits };
    QuotaView {
        person,
        name,
        grids: grids.iter().map(|g| g.to_string()).collect(),
        quota,
        hours: (met.hours * 10.0).round() / 10.0,
        patrols: t.patrols,
        distance_m: t.distance_m.round(),
        visits: t.visits,
        hours_share: round3(met.hours_share()),
        visits_share: round3(met.visits_share()),
        met: met.met(),
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The grid members of `region` in `month` (assigned at its end, or now), by person with their
/// grids; with their quotas and what they did.
pub(crate) async fn month_report(
    app: &App,
    region: &RegionCode,
    month: Month,
) -> ApiResult<Vec<(QuotaView, QuotaMet)>> {
    let (from, to) = month.bounds(app.settings.utc_offset_hours);
    let now = app.now();
    let at = (to - 1).min(now).max(from);
    let assignments =
        app.store.assignments(&AssignmentQuery { under: Some(region.clone()), person: None, at: Some(at) }).await?;
    let mut members: BTreeMap<PersonId, Vec<RegionCode>> = BTreeMap::new();
    for a in assignments.into_iter().filter(|a| a.role == Role::GridMember && a.region.level() == RegionLevel::Grid) {
        members.entry(a.person).or_default().push(a.region);
    }
    let people: Vec<PersonId> = members.keys().copied().collect();
    let tallies = app.store.patrol_tallies(&people, from, to, now).await?;
    let set = app.store.patrol_quotas().await?;
    let mut out = Vec::with_capacity(members.len());
    for (person, grids) in members {
        let name = app.store.person(person).await?.map(|p| p.name).unwrap_or_default();
        let quota = quota_for(app, &set, &grids);
        let t = tallies.get(&person).cloned().unwrap_or_default();
        let met = QuotaMet { quota, hours: t.patrol_ms as f64 / HOUR as f64, visits: t.visits };
        out.push((quota_view(person, name, &grids, quota, &t), met));
    }
    Ok(out)
}

#[utoipa::path(get, path = "/patrols/quota", tag = "patrols", summary = "One's own patrol quota of a month and the share met (grid members and grid leaders)",
    params(MonthQuery),
    responses((status = 200, description = "The month", body = MyQuota), (status = 403, description = "Only grid members and grid leaders patrol")))]
async fn my_quota(State(app): State<AppState>, auth: Auth, Query(q): Query<MonthQuery>) -> ApiResult<Json<MyQuota>> {
    let month = month_of(&app, q.month.as_deref())?;
    let grids: Vec<RegionCode> = auth
        .actor
        .grants
        .iter()
        .filter(|g| matches!(g.role, Role::GridMember | Role::GridLeader))
        .filter_map(|g| match &g.scope {
            gridkeeper_domain::Scope::Region { code } => Some(code.clone()),
            _ => None,
        })
        .collect();
    if grids.is_empty() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Not allowed",
            "only grid members and grid leaders patrol",
        ));
    }
    let (from, to) = month.bounds(app.settings.utc_offset_hours);
    let tallies = app.store.patrol_tallies(&[auth.person.id], from, to, app.now()).await?;
    let set = app.store.patrol_quotas().await?;
    let quota = quota_for(&app, &set, &grids);
    let t = tallies.get(&auth.person.id).cloned().unwrap_or_default();
    Ok(Json(MyQuota {
        month: month.to_string(),
        quota: quota_view(auth.person.id, auth.person.name.clone(), &grids, quota, &t),
    }))
}

#[utoipa::path(get, path = "/patrols/quotas", tag = "patrols", summary = "Patrol quota met in a month per grid member, grid and community of a region (docs/MEASURES.md)",
    params(QuotasQuery),
    responses((status = 200, description = "Members by name order of their ids; grids and communities by code", body = QuotaReport), (status = 403, description = "Not one who sees this region's measures"), (status = 404, description = "No such region")))]
async fn quotas(State(app): State<AppState>, auth: Auth, Query(q): Query<QuotasQuery>) -> ApiResult<Json<QuotaReport>> {
    let code = q.region.as_deref().ok_or_else(|| ApiError::field("region", "is required"))?;
    let region = RegionCode::parse(code).map_err(|e| ApiError::field("region", e.reason))?;
    if !app.reference().regions.contains_key(&region) {
        return Err(ApiError::unknown("region", format!("no region {region}")));
    }
    administer(&auth.actor, Permission::ReadMeasures { region: &region })?;
    let month = month_of(&app, q.month.as_deref())?;
    let rows = month_report(&app, &region, month).await?;
    let group = |level: RegionLevel| -> Vec<QuotaGroup> {
        let mut by: BTreeMap<RegionCode, Vec<QuotaMet>> = BTreeMap::new();
        for (v, met) in &rows {
            let mut regions: Vec<RegionCode> = v
                .grids
                .iter()
                .filter_map(|g| RegionCode::parse(g).ok())
                .filter_map(|g| g.and_ancestors().into_iter().find(|r| r.level() == level))
                .collect();
            regions.sort();
            regions.dedup();
            for r in regions {
                by.entry(r).or_default().push(*met);
            }
        }
        by.into_iter()
            .filter_map(|(r, members)| {
                let (hours, visits, met) = group_met(&members)?;
                Some(QuotaGroup {
                    name: region_name(&app, &r),
                    region: r.to_string(),
                    members: members.len(),
                    hours_share: round3(hours),
                    visits_share: round3(visits),
                    met,
                })
            })
            .collect()
    };
    let grids = group(RegionLevel::Grid);
    let communities = group(RegionLevel::Community);
    Ok(Json(QuotaReport {
        month: month.to_string(),
        region: region.to_string(),
        members: rows.into_iter().map(|(v, _)| v).collect(),
        grids,
        communities,
    }))
}

#[utoipa::path(put, path = "/patrols/quotas/{region}", tag = "patrols", summary = "Set the monthly patrol quota of the grid members of a region (its grid leaders and admins; the nearest region above a grid with one decides)",
    params(("region" = String, Path, description = "Region code", pattern = "^(?!000000)[0-9]{6}((?!000)[0-9]{3}){0,3}(000){0,3}$", max_length = 15)),
    request_body = Quota,
    responses((status = 200, description = "Set", body = Quota), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "No such region")))]
async fn set_quota(
    State(app): State<AppState>,
    auth: Auth,
    Path(region): Path<String>,
    ApiJson(quota): ApiJson<Quota>,
) -> ApiResult<Json<Quota>> {
    let region = RegionCode::parse(&region).map_err(|e| ApiError::field("region", e.reason))?;
    if !app.reference().regions.contains_key(&region) {
        return Err(ApiError::unknown("region", format!("no region {region}")));
    }
    administer(&auth.actor, Permission::SetPatrolQuota { region: &region })?;
    quota.validate()?;
    let now = app.now();
    app.store.set_patrol_quota(&region, quota, auth.person.id, now).await?;
    app.store
        .audit(&NewAudit {
            at: now,
            actor: Some(auth.person.id),
            action: "patrol_quota".into(),
            object: Some(format!("region:{region}")),
            detail: serde_json::json!({ "hours": quota.hours, "visits": quota.visits }),
        })
        .await?;
    Ok(Json(quota))
}

/// The server's part: ends patrols left running past `max_hours` (at their last position) and
/// deletes positions older than `positions_days`; returns (patrols ended, positions deleted).
pub async fn keep_patrols(app: &App, now: Millis) -> ApiResult<(u64, u64)> {
    let s = &app.settings.patrols;
    let ended = app.store.end_stale_patrols(now - i64::from(s.max_hours) * HOUR).await?;
    let purged = app.store.purge_patrol_positions(now - i64::from(s.positions_days) * 24 * HOUR, now).await?;
    Ok((ended, purged))
}

/// Every minute, [`keep_patrols`].
pub async fn keep_patrols_periodically(app: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        match keep_patrols(&app, app.now()).await {
            Ok((0, 0)) => {}
            Ok((ended, purged)) => {
                tracing::info!(ended, purged, "patrols kept: left running ended, old positions deleted")
            }
            Err(e) => tracing::warn!(error = %e.problem().detail, "keeping patrols failed; will retry"),
        }
    }
}
