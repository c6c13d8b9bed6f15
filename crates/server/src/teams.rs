//! The five teams (五支队伍) in the server: the teams of a grid or community with their members
//! and duties, kept by the community's grid leaders and admins (`policy::KeepTeams`); the
//! volunteers' service hours, logged by the member (`LogServiceHours`) and confirmed or refused by
//! the team's leader or a grid leader (`ConfirmServiceHours`; a confirmation earns points through
//! the ledger by the rules of points); and the measures per team and person (docs/MEASURES.md).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gridkeeper_domain::teams::{
    self, check_period, check_region, check_service_date, figures, local_date, parse_date, parse_duties, Duty,
    MonthFigures, ServiceState, TeamKind, MAX_WHAT,
};
use gridkeeper_domain::time::to_rfc3339;
use gridkeeper_domain::{
    may, optional_text, parse_phone, required_text, Actor, Grant, Permission, PersonId, Refusal, RegionCode, Role,
    Scope,
};
use gridkeeper_store::vault::{mask_name, mask_phone};
use gridkeeper_store::{
    Member, NewAudit, NewMember, NewPerson, NewServiceLog, NewTeam, ServiceLog, ServiceQuery, Team,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Query};
use crate::{App, AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(measures))
        .routes(routes!(team))
        .routes(routes!(add_member))
        .routes(routes!(update_member, remove_member))
        .routes(routes!(team_logs))
        .routes(routes!(my_service, log_hours))
        .routes(routes!(confirm))
        .routes(routes!(refuse))
}

/// A policy refusal: "not found" (naming `what`) outside one's scope, 403 otherwise.
fn refused(what: &'static str) -> impl Fn(Refusal) -> ApiError {
    move |r| match r {
        Refusal::OutOfScope => ApiError::not_found(what),
        r => ApiError::refusal(r, None),
    }
}

/// A region code that exists (404 naming `field` otherwise).
fn known_region(app: &App, field: &str, code: &str) -> ApiResult<RegionCode> {
    let code = RegionCode::parse(code.trim()).map_err(|e| ApiError::field(field, e.reason))?;
    if !app.reference().regions.contains_key(&code) {
        return Err(ApiError::unknown(field, format!("no region {code}")));
    }
    Ok(code)
}

fn region_name(app: &App, code: &RegionCode) -> String {
    app.reference().regions.get(code).map(|r| r.name.clone()).unwrap_or_else(|| code.to_string())
}

fn audit(app: &App, auth: &Auth, action: &str) -> NewAudit {
    NewAudit { at: app.now(), actor: Some(auth.person.id), action: action.into(), object: None, detail: json!({}) }
}

fn keeps(actor: &Actor, region: &RegionCode) -> bool {
    may(actor, Permission::KeepTeams { region }).is_ok()
}

fn leads(actor: &Actor, team: i64) -> bool {
    actor.teams.iter().any(|t| t.team == team && t.leader)
}

/// A member of a team. Names in clear for those who keep or lead the team, masked for others;
/// phones always masked.
#[derive(Serialize, ToSchema)]
pub struct MemberView {
    pub person_id: i64,
    pub name: String,
    /// 138****1234
    pub phone: Option<String>,
    pub duties: Vec<Duty>,
    pub leader: bool,
    /// YYYY-MM-DD
    pub joined: String,
}

fn member_view(m: &Member, clear: bool) -> MemberView {
    MemberView {
        person_id: m.person_id,
        name: if clear { m.name.clone() } else { mask_name(&m.name) },
        phone: m.phone.as_deref().map(mask_phone),
        duties: m.duties.clone(),
        leader: m.leader,
        joined: m.joined.format("%Y-%m-%d").to_string(),
    }
}

/// A team with its current members.
#[derive(Serialize, ToSchema)]
pub struct TeamView {
    pub id: i64,
    pub kind: TeamKind,
    /// The grid or community it works in.
    pub region: String,
    pub region_name: String,
    pub name: String,
    /// The leader first, then by when they joined.
    pub members: Vec<MemberView>,
    /// Service logs awaiting confirmation.
    pub pending: i64,
    /// One may add and remove members and set their duties.
    pub may_keep: bool,
    /// One may confirm the hours its members log (a grid leader of its region, or its leader).
    pub may_confirm: bool,
}

fn team_view(app: &App, actor: &Actor, t: &Team) -> TeamView {
    let keep = keeps(actor, &t.region);
    let confirm = leads(actor, t.id) || actor.holds_for_region(Role::GridLeader, &t.region);
    TeamView {
        id: t.id,
        kind: t.kind,
        region: t.region.to_string(),
        region_name: region_name(app, &t.region),
        name: t.name.clone(),
        members: t.members.iter().map(|m| member_view(m, keep || confirm)).collect(),
        pending: t.pending,
        may_keep: keep,
        may_confirm: confirm,
    }
}

/// The team `id` if the actor sees it (404 otherwise).
async fn seen(app: &App, actor: &Actor, id: i64) -> ApiResult<Team> {
    let t = app.store.team(id).await?.ok_or_else(|| ApiError::not_found("team"))?;
    may(actor, Permission::SeeTeams { region: &t.region }).map_err(refused("team"))?;
    Ok(t)
}

/// The team `id` if the actor keeps it: 404 when they do not see it, 403 when they only see it.
async fn kept(app: &App, actor: &Actor, id: i64) -> ApiResult<Team> {
    let t = seen(app, actor, id).await?;
    may(actor, Permission::KeepTeams { region: &t.region }).map_err(refused("team"))?;
    Ok(t)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// The community (or grid) whose teams to list, with those of the grids in it
    #[param(required = true)]
    region: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TeamList {
    /// By region, kind and when they were created.
    pub items: Vec<TeamView>,
    /// One may create teams here.
    pub may_keep: bool,
}

#[utoipa::path(get, path = "/teams", tag = "teams", summary = "The teams (五支队伍) of a community or grid, with their members and duties",
    params(ListQuery),
    responses((status = 200, description = "The teams", body = TeamList), (status = 404, description = "No such region, or outside one's scope"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn list(State(app): State<AppState>, auth: Auth, Query(q): Query<ListQuery>) -> ApiResult<Json<TeamList>> {
    let region =
        known_region(&app, "region", q.region.as_deref().ok_or_else(|| ApiError::field("region", "is required"))?)?;
    may(&auth.actor, Permission::SeeTeams { region: &region }).map_err(refused("region"))?;
    let items = app.store.teams(&region).await?.iter().map(|t| team_view(&app, &auth.actor, t)).collect();
    Ok(Json(TeamList { items, may_keep: keeps(&auth.actor, &region) }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamInput {
    pub kind: TeamKind,
    /// A grid or a community.
    #[schema(pattern = "^(?!000000)[0-9]{6}((?!000)[0-9]{3}){2,3}$", max_length = 15)]
    pub region: String,
    /// Default: the region's name and the kind's (乌镇社区志愿者队伍).
    #[schema(max_length = 60)]
    pub name: Option<String>,
}

#[utoipa::path(post, path = "/teams", tag = "teams", summary = "Create a team of a grid or community (its grid leaders and admins)",
    request_body = TeamInput,
    responses((status = 201, description = "Created (audited)", body = TeamView), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "No such region, or one does not keep its teams"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn create(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(b): ApiJson<TeamInput>,
) -> ApiResult<(StatusCode, Json<TeamView>)> {
    let region = known_region(&app, "region", &b.region)?;
    check_region(&region)?;
    may(&auth.actor, Permission::KeepTeams { region: &region }).map_err(refused("region"))?;
    let name = match optional_text("name", b.name.as_deref(), 60)? {
        Some(n) => n,
        None => format!("{}{}", region_name(&app, &region), b.kind.name_zh()),
    };
    let t = app
        .store
        .create_team(&NewTeam { kind: b.kind, region, name }, auth.person.id, &audit(&app, &auth, "team"))
        .await?;
    Ok((StatusCode::CREATED, Json(team_view(&app, &auth.actor, &t))))
}

#[utoipa::path(get, path = "/teams/{id}", tag = "teams", summary = "A team with its members and duties",
    params(("id" = i64, Path, description = "Team id")),
    responses((status = 200, description = "The team", body = TeamView), (status = 404, description = "No such team, or outside one's scope")))]
async fn team(State(app): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<Json<TeamView>> {
    let t = seen(&app, &auth.actor, id).await?;
    Ok(Json(team_view(&app, &auth.actor, &t)))
}

/// Who to add: an account by its phone or login. A phone with no account makes one (a resident's
/// account, which signs in with a code sent to the phone) when `name` is given.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberInput {
    /// A mobile number (one of `phone` and `login`).
    pub phone: Option<String>,
    /// A login (one of `phone` and `login`).
    #[schema(max_length = 40)]
    pub login: Option<String>,
    /// The name for a new account, when no account has this phone.
    #[schema(max_length = 50)]
    pub name: Option<String>,
    /// patrol, inspect, report (any of them, or none).
    #[schema(value_type = Vec<Duty>, max_items = 3)]
    pub duties: Vec<String>,
    /// The member leads the team (taking over from the current leader).
    #[serde(default)]
    pub leader: bool,
    /// YYYY-MM-DD; default today.
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub joined: Option<String>,
}

#[utoipa::path(post, path = "/teams/{id}/members", tag = "teams", summary = "Add a member to a team with their duties (making a volunteer's account from a phone if needed)",
    params(("id" = i64, Path, description = "Team id")),
    request_body = MemberInput,
    responses((status = 201, description = "Added (audited)", body = MemberView), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "No such team one keeps, or no account with this phone or login"), (status = 409, description = "A member of the team already (`field`: `person`)"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn add_member(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<MemberInput>,
) -> ApiResult<(StatusCode, Json<MemberView>)> {
    let t = kept(&app, &auth.actor, id).await?;
    let duties = parse_duties(&b.duties)?;
    let today = local_date(app.now());
    let joined = match b.joined.as_deref() {
        Some(s) => parse_date("joined", s)?,
        None => today,
    };
    check_period(joined, None)?;
    let person = match (b.phone.as_deref().map(str::trim).filter(|s| !s.is_empty()), b.login.as_deref()) {
        (Some(phone), None) => {
            let phone = parse_phone(phone)?;
            match app.store.person_by_phone(&phone).await? {
                Some(p) => p.id,
                None => {
                    let Some(name) = optional_text("name", b.name.as_deref(), 50)? else {
                        return Err(ApiError::unknown("phone", "no account has this phone; give a name to make one"));
                    };
                    volunteer_account(&app, &name, &phone).await?
                }
            }
        }
        (None, Some(login)) => {
            app.store
                .person_by_login(login.trim())
                .await?
                .ok_or_else(|| ApiError::unknown("login", "no such account"))?
                .id
        }
        _ => return Err(ApiError::field("phone", "give a phone or a login, one of them")),
    };
    let m = NewMember { person, duties, leader: b.leader, joined };
    let m = app.store.add_member(t.id, &m, auth.person.id, &audit(&app, &auth, "team")).await?;
    Ok((StatusCode::CREATED, Json(member_view(&m, true))))
}

/// A resident's account for a new volunteer: they sign in with a code sent to their phone.
async fn volunteer_account(app: &App, name: &str, phone: &str) -> ApiResult<PersonId> {
    let district = app.reference().district.clone().ok_or_else(|| ApiError::internal("no district configured"))?;
    let scope = Scope::Region { code: RegionCode::parse(&district)? };
    let new = NewPerson {
        login: format!("resident-{}", crate::auth::new_token(6).to_lowercase()),
        name: name.to_string(),
        phone: Some(phone.to_string()),
        id_number: None,
        password_hash: None,
        grants: vec![Grant::new(Role::Resident, scope)?],
    };
    Ok(app.store.create_person(&new, app.now()).await?)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberChange {
    /// patrol, inspect, report (any of them, or none).
    #[schema(value_type = Vec<Duty>, max_items = 3)]
    pub duties: Vec<String>,
    #[serde(default)]
    pub leader: bool,
}

#[utoipa::path(put, path = "/teams/{id}/members/{person}", tag = "teams", summary = "Set a member's duties and whether they lead the team",
    params(("id" = i64, Path, description = "Team id"), ("person" = i64, Path, description = "Person id")),
    request_body = MemberChange,
    responses((status = 200, description = "Changed (audited)", body = MemberView), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "No such team one keeps, or no such current member"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn update_member(
    State(app): State<AppState>,
    auth: Auth,
    Path((id, person)): Path<(i64, PersonId)>,
    ApiJson(b): ApiJson<MemberChange>,
) -> ApiResult<Json<MemberView>> {
    let t = kept(&app, &auth.actor, id).await?;
    let duties = parse_duties(&b.duties)?;
    let m = app
        .store
        .update_member(t.id, person, &duties, b.leader, &audit(&app, &auth, "team"))
        .await?
        .ok_or_else(|| ApiError::not_found("member"))?;
    Ok(Json(member_view(&m, true)))
}

#[utoipa::path(delete, path = "/teams/{id}/members/{person}", tag = "teams", summary = "Remove a member: their membership ends today (kept for the measures)",
    params(("id" = i64, Path, description = "Team id"), ("person" = i64, Path, description = "Person id")),
    responses((status = 204, description = "Removed (audited)"), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "No such team one keeps, or no such current member")))]
async fn remove_member(
    State(app): State<AppState>,
    auth: Auth,
    Path((id, person)): Path<(i64, PersonId)>,
) -> ApiResult<StatusCode> {
    let t = kept(&app, &auth.actor, id).await?;
    let today = local_date(app.now());
    if !app.store.remove_member(t.id, person, today, &audit(&app, &auth, "team")).await? {
        return Err(ApiError::not_found("member"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// A service log.
#[derive(Serialize, ToSchema)]
pub struct ServiceLogView {
    pub id: i64,
    pub team_id: i64,
    pub team_name: String,
    pub person_id: i64,
    /// In clear for the volunteer and those who confirm.
    pub person_name: String,
    /// YYYY-MM-DD
    pub date: String,
    pub hours: i64,
    pub what: String,
    pub region: String,
    pub place_id: Option<i64>,
    pub state: ServiceState,
    /// RFC 3339
    pub logged_at: String,
    pub decided_at: Option<String>,
    /// Why it was refused.
    pub reason: Option<String>,
    /// What the confirmation earned (0 when the day's cap of points was reached).
    pub points: Option<i64>,
}

fn log_view(l: &ServiceLog) -> ServiceLogView {
    ServiceLogView {
        id: l.id,
        team_id: l.team_id,
        team_name: l.team_name.clone(),
        person_id: l.person_id,
        person_name: l.person_name.clone(),
        date: l.date.format("%Y-%m-%d").to_string(),
        hours: l.hours,
        what: l.what.clone(),
        region: l.region.to_string(),
        place_id: l.place_id,
        state: l.state,
        logged_at: to_rfc3339(l.logged_at),
        decided_at: l.decided_at.map(to_rfc3339),
        reason: l.reason.clone(),
        points: l.points,
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct LogsQuery {
    /// pending, confirmed or refused (default: all)
    #[param(pattern = "^(pending|confirmed|refused)$")]
    state: Option<String>,
    /// At most this many (default 100, at most 500)
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/teams/{id}/service-logs", tag = "teams", summary = "The hours a team's members logged, newest day first (those who keep or confirm for the team)",
    params(("id" = i64, Path, description = "Team id"), LogsQuery),
    responses((status = 200, description = "The logs", body = Vec<ServiceLogView>), (status = 403, description = "Not allowed"), (status = 404, description = "No such team, or outside one's scope"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn team_logs(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Query(q): Query<LogsQuery>,
) -> ApiResult<Json<Vec<ServiceLogView>>> {
    let t = seen(&app, &auth.actor, id).await?;
    let confirm = leads(&auth.actor, t.id) || auth.actor.holds_for_region(Role::GridLeader, &t.region);
    if !confirm && !keeps(&auth.actor, &t.region) {
        return Err(ApiError::refusal(
            Refusal::NotAllowed {
                action: "see service logs",
                reason: "the team's leader, and those who keep its teams, see its members' hours".into(),
            },
            None,
        ));
    }
    let state = q.state.as_deref().map(ServiceState::parse).transpose()?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::field("limit", "must lie between 1 and 500"));
    }
    let logs = app.store.service_logs(&ServiceQuery { teams: Some(vec![t.id]), person: None, state, limit }).await?;
    Ok(Json(logs.iter().map(log_view).collect()))
}

/// One of one's seats in a team.
#[derive(Serialize, ToSchema)]
pub struct MyTeam {
    pub id: i64,
    pub kind: TeamKind,
    pub name: String,
    pub region: String,
    pub region_name: String,
    pub duties: Vec<Duty>,
    pub leader: bool,
}

/// One's service: teams, recent logs, hours by month, points.
#[derive(Serialize, ToSchema)]
pub struct MyService {
    pub teams: Vec<MyTeam>,
    /// The newest 100, newest day first.
    pub logs: Vec<ServiceLogView>,
    /// The last twelve months (`members_active`: 1 in a month one was a member).
    pub months: Vec<MonthFigures>,
    /// Confirmed hours in the last twelve months.
    pub hours_confirmed: i64,
    /// Points earned by confirmed hours in the last twelve months.
    pub points_from_service: i64,
    /// One's balance of points.
    pub balance: i64,
}

#[utoipa::path(get, path = "/me/service", tag = "teams", summary = "My service (我的服务): my teams, the hours I logged, confirmed hours and points",
    responses((status = 200, description = "One's own service (empty for someone in no team)", body = MyService), (status = 401, description = "Not signed in")))]
async fn my_service(State(app): State<AppState>, auth: Auth) -> ApiResult<Json<MyService>> {
    let me = auth.person.id;
    let mut mine = vec![];
    for role in &auth.actor.teams {
        if let Some(t) = app.store.team(role.team).await? {
            mine.push(MyTeam {
                id: t.id,
                kind: t.kind,
                name: t.name.clone(),
                region: t.region.to_string(),
                region_name: region_name(&app, &t.region),
                duties: role.duties.clone(),
                leader: role.leader,
            });
        }
    }
    let logs = app.store.service_logs(&ServiceQuery { teams: None, person: Some(me), state: None, limit: 100 }).await?;
    let today = local_date(app.now());
    let first = today.checked_sub_months(chrono::Months::new(11)).unwrap_or(today);
    let months = teams::months(first, today)?;
    let from = months[0];
    // Every team one logged for, also those one left.
    let mut team_ids: Vec<i64> = logs.iter().map(|l| l.team_id).chain(mine.iter().map(|t| t.id)).collect();
    team_ids.sort_unstable();
    team_ids.dedup();
    let spans: Vec<_> =
        app.store.member_spans(&team_ids).await?.into_iter().map(|(_, s)| s).filter(|s| s.person == me).collect();
    let hours: Vec<_> =
        app.store.logged_hours(&team_ids, Some(me), from, today).await?.into_iter().map(|(_, h)| h).collect();
    let (start, end) = (day_start(from), day_start(today.succ_opt().unwrap_or(today)));
    let reports: Vec<_> =
        app.store.reports_by(&[me], start, end).await?.into_iter().map(|(p, at)| (p, local_date(at))).collect();
    let figs = figures(&months, &spans, &hours, &reports);
    let since = from.format("%Y-%m-%d").to_string();
    let recent =
        logs.iter().filter(|l| l.state == ServiceState::Confirmed && l.date.format("%Y-%m-%d").to_string() >= since);
    let points_from_service = recent.clone().filter_map(|l| l.points).sum();
    let balance = app.store.point_account(me).await?.balance;
    Ok(Json(MyService {
        teams: mine,
        hours_confirmed: figs.iter().map(|f| f.hours_confirmed).sum(),
        logs: logs.iter().map(log_view).collect(),
        months: figs,
        points_from_service,
        balance,
    }))
}

/// The instant local day `d` begins (UTC+8).
fn day_start(d: chrono::NaiveDate) -> i64 {
    use chrono::Datelike;
    let day = i64::from(d.num_days_from_ce()) - 719_163;
    gridkeeper_domain::time::local_day_start(day, 8)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogInput {
    /// The team one served for (one of one's own).
    pub team: i64,
    /// YYYY-MM-DD: the day of the service (today or up to 90 days back).
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub date: String,
    /// Whole hours, 1 to 24; all logs of one day together at most 24.
    #[schema(minimum = 1, maximum = 24)]
    pub hours: i64,
    /// What one did (巡逻, 清理河道, 文明劝导…).
    #[schema(max_length = 200)]
    pub what: String,
    /// Where: a grid or community within the team's region (default: the team's region).
    pub region: Option<String>,
    /// A registered place where it was done.
    pub place: Option<i64>,
}

#[utoipa::path(post, path = "/me/service", tag = "teams", summary = "Log my service hours for one of my teams (awaiting confirmation)",
    request_body = LogInput,
    responses((status = 201, description = "Logged, awaiting confirmation", body = ServiceLogView), (status = 403, description = "Not a member of this team"), (status = 404, description = "No such place or region"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn log_hours(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(b): ApiJson<LogInput>,
) -> ApiResult<(StatusCode, Json<ServiceLogView>)> {
    may(&auth.actor, Permission::LogServiceHours { team: b.team }).map_err(refused("team"))?;
    let t = app.store.team(b.team).await?.ok_or_else(|| ApiError::not_found("team"))?;
    let date = parse_date("date", &b.date)?;
    check_service_date(date, local_date(app.now()))?;
    teams::check_hours(b.hours, 0)?;
    let what = required_text("what", &b.what, MAX_WHAT)?;
    let region = match b.region.as_deref() {
        Some(r) => {
            let r = known_region(&app, "region", r)?;
            if !t.region.contains(&r) {
                return Err(ApiError::field("region", "lies outside the team's region"));
            }
            r
        }
        None => t.region.clone(),
    };
    let new = NewServiceLog { team: t.id, person: auth.person.id, date, hours: b.hours, what, region, place: b.place };
    let l = app.store.log_service(&new, app.now()).await?;
    Ok((StatusCode::CREATED, Json(log_view(&l))))
}

/// The log `id` if the actor may decide it (404 when they do not see it).
async fn decidable(app: &App, actor: &Actor, id: i64) -> ApiResult<ServiceLog> {
    let l = app.store.service_log(id).await?.ok_or_else(|| ApiError::not_found("service log"))?;
    let p = Permission::ConfirmServiceHours { region: &l.team_region, team: l.team_id, volunteer: l.person_id };
    may(actor, p).map_err(refused("service log"))?;
    Ok(l)
}

#[utoipa::path(post, path = "/service-logs/{id}/confirm", tag = "teams", summary = "Confirm a member's service hours: they earn points by the rules (volunteer hours)",
    params(("id" = i64, Path, description = "Service log id")),
    responses((status = 200, description = "Confirmed; `points` earned (audited)", body = ServiceLogView), (status = 403, description = "Not allowed (one's own hours, role or CSRF token)"), (status = 404, description = "No such log, or outside one's scope"), (status = 409, description = "Decided already (`field`: `state`)")))]
async fn confirm(State(app): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<Json<ServiceLogView>> {
    decidable(&app, &auth.actor, id).await?;
    let now = app.now();
    let l = app.store.decide_service(id, true, None, auth.person.id, now, &audit(&app, &auth, "points")).await?;
    Ok(Json(log_view(&l)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefuseInput {
    /// Why (told to the volunteer).
    #[schema(max_length = 200)]
    pub reason: String,
}

#[utoipa::path(post, path = "/service-logs/{id}/refuse", tag = "teams", summary = "Refuse a member's service hours, with a reason: they earn nothing",
    params(("id" = i64, Path, description = "Service log id")),
    request_body = RefuseInput,
    responses((status = 200, description = "Refused (audited)", body = ServiceLogView), (status = 403, description = "Not allowed (one's own hours, role or CSRF token)"), (status = 404, description = "No such log, or outside one's scope"), (status = 409, description = "Decided already (`field`: `state`)"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn refuse(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<RefuseInput>,
) -> ApiResult<Json<ServiceLogView>> {
    decidable(&app, &auth.actor, id).await?;
    let reason = required_text("reason", &b.reason, 200)?;
    let now = app.now();
    let l =
        app.store.decide_service(id, false, Some(&reason), auth.person.id, now, &audit(&app, &auth, "points")).await?;
    Ok(Json(log_view(&l)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct MeasuresQuery {
    /// The community (or grid, street, district) whose teams to measure
    #[param(required = true)]
    region: Option<String>,
    /// The first month, YYYY-MM
    #[param(required = true, pattern = "^[0-9]{4}-[0-9]{2}$")]
    from: Option<String>,
    /// The last month, YYYY-MM (at most 36 months in all)
    #[param(required = true, pattern = "^[0-9]{4}-[0-9]{2}$")]
    to: Option<String>,
}

/// A team's figures month by month.
#[derive(Serialize, ToSchema)]
pub struct TeamFigures {
    pub team_id: i64,
    pub kind: TeamKind,
    pub name: String,
    pub region: String,
    pub months: Vec<MonthFigures>,
}

/// A person's figures over the period, in one team.
#[derive(Serialize, ToSchema)]
pub struct PersonFigures {
    pub team_id: i64,
    pub person_id: i64,
    pub name: String,
    /// Months of the period in which they were a member.
    pub months_active: i64,
    pub hours_logged: i64,
    pub hours_confirmed: i64,
    pub cases_reported: i64,
}

#[derive(Serialize, ToSchema)]
pub struct TeamMeasures {
    pub region: String,
    pub from: String,
    pub to: String,
    pub teams: Vec<TeamFigures>,
    /// Per member and team, most confirmed hours first.
    pub people: Vec<PersonFigures>,
}

#[utoipa::path(get, path = "/teams/measures", tag = "teams", summary = "Measures of the teams of a region per month and per person: members active, hours logged and confirmed, cases reported by members",
    params(MeasuresQuery),
    responses((status = 200, description = "The figures (docs/MEASURES.md)", body = TeamMeasures), (status = 403, description = "Not allowed"), (status = 404, description = "No such region"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn measures(
    State(app): State<AppState>,
    auth: Auth,
    Query(q): Query<MeasuresQuery>,
) -> ApiResult<Json<TeamMeasures>> {
    let required = |v: Option<String>, f: &str| v.ok_or_else(|| ApiError::field(f, "is required"));
    let region = known_region(&app, "region", &required(q.region, "region")?)?;
    may(&auth.actor, Permission::ReadMeasures { region: &region }).map_err(refused("region"))?;
    let (first, _) = teams::parse_month("from", &required(q.from, "from")?)?;
    let (_, last) = teams::parse_month("to", &required(q.to, "to")?)?;
    let months = teams::months(first, last)?;
    let list = app.store.teams(&region).await?;
    let ids: Vec<i64> = list.iter().map(|t| t.id).collect();
    let spans = app.store.member_spans(&ids).await?;
    let hours = app.store.logged_hours(&ids, None, first, last).await?;
    let mut people: Vec<PersonId> = spans.iter().map(|(_, s)| s.person).collect();
    people.sort_unstable();
    people.dedup();
    let reports: Vec<_> = app
        .store
        .reports_by(&people, day_start(first), day_start(last.succ_opt().unwrap_or(last)))
        .await?
        .into_iter()
        .map(|(p, at)| (p, local_date(at)))
        .collect();
    let mut names: BTreeMap<PersonId, String> = BTreeMap::new();
    for t in &list {
        for m in &t.members {
            names.insert(m.person_id, m.name.clone());
        }
    }
    let mut teams_out = vec![];
    let mut people_out = vec![];
    for t in &list {
        let spans: Vec<_> = spans.iter().filter(|(id, _)| *id == t.id).map(|(_, s)| s.clone()).collect();
        let logs: Vec<_> = hours.iter().filter(|(id, _)| *id == t.id).map(|(_, h)| h.clone()).collect();
        teams_out.push(TeamFigures {
            team_id: t.id,
            kind: t.kind,
            name: t.name.clone(),
            region: t.region.to_string(),
            months: figures(&months, &spans, &logs, &reports),
        });
        let mut members: Vec<PersonId> = spans.iter().map(|s| s.person).collect();
        members.sort_unstable();
        members.dedup();
        for p in members {
            let own: Vec<_> = spans.iter().filter(|s| s.person == p).cloned().collect();
            let own_logs: Vec<_> = logs.iter().filter(|l| l.person == p).cloned().collect();
            let f = figures(&months, &own, &own_logs, &reports);
            let name = match names.get(&p) {
                Some(n) => n.clone(),
                None => app.store.person(p).await?.map(|x| x.name).unwrap_or_default(),
            };
            people_out.push(PersonFigures {
                team_id: t.id,
                person_id: p,
                name,
                months_active: f.iter().map(|m| m.members_active).sum(),
                hours_logged: f.iter().map(|m| m.hours_logged).sum(),
                hours_confirmed: f.iter().map(|m| m.hours_confirmed).sum(),
                cases_reported: f.iter().map(|m| m.cases_reported).sum(),
            });
        }
    }
    people_out.sort_by(|a, b| b.hours_confirmed.cmp(&a.hours_confirmed).then(a.person_id.cmp(&b.person_id)));
    Ok(Json(TeamMeasures {
        region: region.to_string(),
        from: first.format("%Y-%m").to_string(),
        to: last.format("%Y-%m").to_string(),
        teams: teams_out,
        people: people_out,
    }))
}
