//! Consultations: staff open a draft (a rule, a civil agreement, a community plan) to a region's
//! residents for a period; residents signed in vote for or against it (one vote each, changeable
//! until it closes) and comment; staff hide a comment with a reason (audited) and publish the
//! official summary and answer once it closes. Anyone reads it, the tally and the comments.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gridkeeper_domain::participation::{
    check_body, check_period, ConsultationKind, ConsultationPhase, Stance, MAX_COMMENT, MAX_TEXT, MAX_TITLE,
};
use gridkeeper_domain::time::{parse_rfc3339, to_rfc3339};
use gridkeeper_domain::{may, required_text, Permission};
use gridkeeper_store::vault::mask_name;
use gridkeeper_store::{Consultation, ConsultationScope, NewConsultation};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, MaybeAuth};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Query};
use crate::http::administer;
use crate::participation::{grid_named, managed_region, manages, more, page, region_name, required, sanitize_html};
use crate::{App, AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, open))
        .routes(routes!(region_consultations))
        .routes(routes!(consultation))
        .routes(routes!(vote))
        .routes(routes!(comments, comment))
        .routes(routes!(hide))
        .routes(routes!(answer))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct GridQuery {
    /// The grid whose consultations to list: those asked of it, its community, street or district
    #[param(required = true, pattern = r"^(?!000000)[0-9]{6}(?!000)[0-9]{3}(?!000)[0-9]{3}(?!000)[0-9]{3}$")]
    grid: Option<String>,
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
struct PageQuery {
    /// Skip this many (at most 10000)
    #[param(maximum = 10000)]
    offset: Option<u32>,
    /// At most this many (default 20, at most 100)
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

/// A consultation in a list.
#[derive(Serialize, ToSchema)]
pub struct ConsultationSummary {
    pub id: i64,
    /// Asked of this region and everything under it.
    pub region: String,
    pub region_name: String,
    pub kind: ConsultationKind,
    pub title: String,
    pub opens_at: String,
    pub closes_at: String,
    pub phase: ConsultationPhase,
    pub support: i64,
    pub oppose: i64,
    /// Comments shown (not hidden).
    pub comments: i64,
}

/// The votes of one grid.
#[derive(Serialize, ToSchema)]
pub struct GridTally {
    pub grid: String,
    pub grid_name: String,
    pub support: i64,
    pub oppose: i64,
}

/// A consultation with its draft, tally and answer.
#[derive(Serialize, ToSchema)]
pub struct ConsultationView {
    pub consultation: ConsultationSummary,
    /// The draft (sanitised HTML).
    pub body: String,
    /// The official summary of what residents said, once answered.
    pub summary: Option<String>,
    /// The official answer, once answered.
    pub answer: Option<String>,
    pub answered_at: Option<String>,
    /// The votes per grid (once it closed, or for staff who run it).
    pub by_grid: Option<Vec<GridTally>>,
    /// The vote of the person asking, if any.
    pub my_vote: Option<Stance>,
    /// The person asking may vote and comment now.
    pub may_take_part: bool,
    /// The person asking runs it (moderates, answers).
    pub may_manage: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ConsultationPage {
    /// Newest first (by when they open).
    pub items: Vec<ConsultationSummary>,
    pub more: bool,
}

/// A comment on a consultation.
#[derive(Serialize, ToSchema)]
pub struct CommentView {
    pub id: i64,
    /// The commenter, masked (`张*`) unless it is oneself.
    pub name: String,
    pub grid_name: String,
    /// `null` when hidden (but for staff who run it).
    pub body: Option<String>,
    pub created_at: String,
    pub hidden: bool,
    /// Why staff hid it.
    pub hidden_reason: Option<String>,
    pub mine: bool,
}

#[derive(Serialize, ToSchema)]
pub struct CommentPage {
    /// Oldest first.
    pub items: Vec<CommentView>,
    pub more: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsultationInput {
    /// Asked of this region and everything under it.
    pub region: String,
    pub kind: ConsultationKind,
    #[schema(max_length = 120)]
    pub title: String,
    /// The draft: HTML, reduced to an allow-list.
    #[schema(max_length = 100000)]
    pub body: String,
    /// When it opens for votes and comments (default now).
    #[schema(format = DateTime)]
    pub opens_at: Option<String>,
    /// When it closes: after it opens, at most 180 days later.
    #[schema(format = DateTime)]
    pub closes_at: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoteInput {
    pub stance: Stance,
    /// The voter's grid (in the region consulted), for the tally per grid.
    #[schema(pattern = r"^(?!000000)[0-9]{6}(?!000)[0-9]{3}(?!000)[0-9]{3}(?!000)[0-9]{3}$")]
    pub grid: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentInput {
    #[schema(max_length = 2000)]
    pub body: String,
    /// The commenter's grid (in the region consulted).
    #[schema(pattern = r"^(?!000000)[0-9]{6}(?!000)[0-9]{3}(?!000)[0-9]{3}(?!000)[0-9]{3}$")]
    pub grid: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HideInput {
    /// Why it is hidden (shown in its place, and kept in the audit log).
    #[schema(max_length = 500)]
    pub reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerInput {
    /// What residents said, in short.
    #[schema(max_length = 4000)]
    pub summary: String,
    /// The official answer: what was decided and why.
    #[schema(max_length = 4000)]
    pub answer: String,
}

fn phase(c: &Consultation, now: i64) -> ConsultationPhase {
    ConsultationPhase::at(c.opens_at, c.closes_at, c.answered_at.is_some(), now)
}

fn summary_of(app: &App, c: &Consultation, now: i64) -> ConsultationSummary {
    ConsultationSummary {
        id: c.id,
        region: c.region.to_string(),
        region_name: region_name(app, &c.region),
        kind: c.kind,
        title: c.title.clone(),
        opens_at: to_rfc3339(c.opens_at),
        closes_at: to_rfc3339(c.closes_at),
        phase: phase(c, now),
        support: c.support,
        oppose: c.oppose,
        comments: c.comments,
    }
}

async fn find(app: &App, id: i64) -> ApiResult<Consultation> {
    app.store.consultation(id).await?.ok_or_else(|| ApiError::not_found("consultation"))
}

/// The grid a resident takes part from: a grid in the region consulted.
fn grid_in(app: &App, c: &Consultation, grid: &str) -> ApiResult<gridkeeper_domain::RegionCode> {
    let grid = grid_named(app, "grid", grid)?;
    if !c.region.contains(&grid) {
        return Err(ApiError::field(
            "grid",
            format!("is not in {}, the region consulted", region_name(app, &c.region)),
        ));
    }
    Ok(grid)
}

/// A resident may take part now: signed in as a resident, while it is open (409 otherwise).
fn taking_part(auth: &Auth, c: &Consultation, now: i64) -> ApiResult<()> {
    administer(&auth.actor, Permission::Participate)?;
    if phase(c, now) != ConsultationPhase::Open {
        return Err(ApiError::conflicting("id", "the consultation is not open"));
    }
    Ok(())
}

#[utoipa::path(get, path = "/consultations", tag = "participation", summary = "The consultations asked of a grid (published to it or a region above it)",
    security((), ("bearer" = []), ("session_cookie" = [])),
    params(GridQuery),
    responses((status = 200, description = "Newest first", body = ConsultationPage), (status = 404, description = "No such grid")))]
async fn list(State(app): State<AppState>, Query(q): Query<GridQuery>) -> ApiResult<Json<ConsultationPage>> {
    let grid = grid_named(&app, "grid", required(q.grid.as_deref(), "grid")?)?;
    let (offset, limit) = page(q.offset, q.limit)?;
    let found = app.store.consultations(&ConsultationScope::Grid(grid), offset, limit + 1).await?;
    let (found, more) = more(found, limit);
    let now = app.now();
    Ok(Json(ConsultationPage { items: found.iter().map(|c| summary_of(&app, c, now)).collect(), more }))
}

#[utoipa::path(get, path = "/regions/{code}/consultations", tag = "participation", summary = "The consultations of a region and under it (staff who run them there)",
    params(("code" = String, Path, description = "Region code"), PageQuery),
    responses((status = 200, description = "Newest first", body = ConsultationPage), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "No such region")))]
async fn region_consultations(
    State(app): State<AppState>,
    auth: Auth,
    Path(code): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<ConsultationPage>> {
    let region = managed_region(&app, &auth.actor, "code", &code)?;
    let (offset, limit) = page(q.offset, q.limit)?;
    let found = app.store.consultations(&ConsultationScope::Under(region), offset, limit + 1).await?;
    let (found, more) = more(found, limit);
    let now = app.now();
    Ok(Json(ConsultationPage { items: found.iter().map(|c| summary_of(&app, c, now)).collect(), more }))
}

#[utoipa::path(post, path = "/consultations", tag = "participation", summary = "Open a draft to a region's residents for a period",
    request_body = ConsultationInput,
    responses((status = 201, description = "Opened (or to open at `opens_at`)", body = ConsultationView), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "No such region")))]
async fn open(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<ConsultationInput>,
) -> ApiResult<(StatusCode, Json<ConsultationView>)> {
    let region = managed_region(&app, &auth.actor, "region", &input.region)?;
    let now = app.now();
    let title = required_text("title", &input.title, MAX_TITLE)?;
    let body = sanitize_html(&input.body);
    check_body("body", &body)?;
    let opens_at = input.opens_at.as_deref().map(|v| parse_rfc3339("opens_at", v)).transpose()?.unwrap_or(now);
    let closes_at = parse_rfc3339("closes_at", &input.closes_at)?;
    check_period(opens_at, closes_at)?;
    let new = NewConsultation { region, kind: input.kind, title, body, opens_at, closes_at };
    let c = app.store.create_consultation(&new, auth.person.id, now).await?;
    tracing::info!(consultation = c.id, region = %c.region, "consultation opened");
    Ok((StatusCode::CREATED, Json(view(&app, Some(&auth), &c).await?)))
}

async fn view(app: &App, auth: Option<&Auth>, c: &Consultation) -> ApiResult<ConsultationView> {
    let now = app.now();
    let may_manage = auth.is_some_and(|a| manages(&a.actor, &c.region));
    let ph = phase(c, now);
    let by_grid = if may_manage || matches!(ph, ConsultationPhase::Closed | ConsultationPhase::Answered) {
        let rows = app.store.votes_by_grid(c.id).await?;
        Some(
            rows.into_iter()
                .map(|g| GridTally {
                    grid_name: region_name(app, &g.grid),
                    grid: g.grid.to_string(),
                    support: g.support,
                    oppose: g.oppose,
                })
                .collect(),
        )
    } else {
        None
    };
    let my_vote = match auth {
        Some(a) => app.store.my_vote(c.id, a.person.id).await?,
        None => None,
    };
    let may_take_part =
        auth.is_some_and(|a| may(&a.actor, Permission::Participate).is_ok()) && ph == ConsultationPhase::Open;
    Ok(ConsultationView {
        consultation: summary_of(app, c, now),
        body: c.body.clone(),
        summary: c.summary.clone(),
        answer: c.answer.clone(),
        answered_at: c.answered_at.map(to_rfc3339),
        by_grid,
        my_vote,
        may_take_part,
        may_manage,
    })
}

#[utoipa::path(get, path = "/consultations/{id}", tag = "participation", summary = "A consultation: its draft, the tally, one's own vote, the answer",
    security((), ("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "Consultation id")),
    responses((status = 200, description = "The consultation", body = ConsultationView), (status = 404, description = "No such consultation")))]
async fn consultation(
    State(app): State<AppState>,
    auth: MaybeAuth,
    Path(id): Path<i64>,
) -> ApiResult<Json<ConsultationView>> {
    let c = find(&app, id).await?;
    Ok(Json(view(&app, auth.0.as_ref(), &c).await?))
}

#[utoipa::path(put, path = "/consultations/{id}/vote", tag = "participation", summary = "Vote for or against (one vote per resident, changeable until it closes)",
    params(("id" = i64, Path, description = "Consultation id")),
    request_body = VoteInput,
    responses((status = 200, description = "The vote counted; the consultation as it stands", body = ConsultationView), (status = 403, description = "Not a resident, or the CSRF token is missing"), (status = 404, description = "No such consultation or grid"), (status = 409, description = "Not open")))]
async fn vote(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<VoteInput>,
) -> ApiResult<Json<ConsultationView>> {
    let c = find(&app, id).await?;
    let now = app.now();
    taking_part(&auth, &c, now)?;
    let grid = grid_in(&app, &c, &input.grid)?;
    app.store.vote(id, auth.person.id, input.stance, &grid, now).await?;
    let c = find(&app, id).await?;
    Ok(Json(view(&app, Some(&auth), &c).await?))
}

#[utoipa::path(get, path = "/consultations/{id}/comments", tag = "participation", summary = "The comments on a consultation, oldest first",
    security((), ("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "Consultation id"), PageQuery),
    responses((status = 200, description = "Hidden comments show why, not what", body = CommentPage), (status = 404, description = "No such consultation")))]
async fn comments(
    State(app): State<AppState>,
    auth: MaybeAuth,
    Path(id): Path<i64>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<CommentPage>> {
    let c = find(&app, id).await?;
    let (offset, limit) = page(q.offset, q.limit)?;
    let may_manage = auth.0.as_ref().is_some_and(|a| manages(&a.actor, &c.region));
    let me = auth.0.as_ref().map(|a| a.person.id);
    let found = app.store.comments(id, offset, limit + 1).await?;
    let (found, more) = more(found, limit);
    let items = found
        .into_iter()
        .map(|m| {
            let mine = Some(m.person) == me;
            let hidden = m.hidden_at.is_some();
            CommentView {
                id: m.id,
                name: if mine { m.name.clone() } else { mask_name(&m.name) },
                grid_name: region_name(&app, &m.grid),
                body: if hidden && !may_manage && !mine { None } else { Some(m.body) },
                created_at: to_rfc3339(m.created_at),
                hidden,
                hidden_reason: m.hidden_reason,
                mine,
            }
        })
        .collect();
    Ok(Json(CommentPage { items, more }))
}

#[utoipa::path(post, path = "/consultations/{id}/comments", tag = "participation", summary = "Comment on an open consultation",
    params(("id" = i64, Path, description = "Consultation id")),
    request_body = CommentInput,
    responses((status = 201, description = "The comment", body = CommentView), (status = 403, description = "Not a resident, or the CSRF token is missing"), (status = 404, description = "No such consultation or grid"), (status = 409, description = "Not open")))]
async fn comment(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<CommentInput>,
) -> ApiResult<(StatusCode, Json<CommentView>)> {
    let c = find(&app, id).await?;
    let now = app.now();
    taking_part(&auth, &c, now)?;
    let grid = grid_in(&app, &c, &input.grid)?;
    let body = required_text("body", &input.body, MAX_COMMENT)?;
    let m = app.store.comment(id, auth.person.id, &grid, &body, now).await?;
    Ok((
        StatusCode::CREATED,
        Json(CommentView {
            id: m.id,
            name: m.name,
            grid_name: region_name(&app, &m.grid),
            body: Some(m.body),
            created_at: to_rfc3339(m.created_at),
            hidden: false,
            hidden_reason: None,
            mine: true,
        }),
    ))
}

#[utoipa::path(post, path = "/consultations/{id}/comments/{comment}/hide", tag = "participation", summary = "Hide a comment, with the reason shown in its place (audited)",
    params(("id" = i64, Path, description = "Consultation id"), ("comment" = i64, Path, description = "Comment id")),
    request_body = HideInput,
    responses((status = 204, description = "Hidden"), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "No such consultation or comment"), (status = 409, description = "Hidden already")))]
async fn hide(
    State(app): State<AppState>,
    auth: Auth,
    Path((id, comment)): Path<(i64, i64)>,
    ApiJson(input): ApiJson<HideInput>,
) -> ApiResult<StatusCode> {
    let c = find(&app, id).await?;
    administer(&auth.actor, Permission::ManageParticipation { region: &c.region })?;
    let reason = required_text("reason", &input.reason, 500)?;
    app.store.hide_comment(id, comment, &reason, auth.person.id, app.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/consultations/{id}/answer", tag = "participation", summary = "Publish the official summary and answer of a closed consultation (once; audited)",
    params(("id" = i64, Path, description = "Consultation id")),
    request_body = AnswerInput,
    responses((status = 200, description = "Answered", body = ConsultationView), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "No such consultation"), (status = 409, description = "Still open, or answered already")))]
async fn answer(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<AnswerInput>,
) -> ApiResult<Json<ConsultationView>> {
    let c = find(&app, id).await?;
    administer(&auth.actor, Permission::ManageParticipation { region: &c.region })?;
    let summary = required_text("summary", &input.summary, MAX_TEXT)?;
    let answer = required_text("answer", &input.answer, MAX_TEXT)?;
    app.store.answer_consultation(id, &summary, &answer, auth.person.id, app.now()).await?;
    let c = find(&app, id).await?;
    Ok(Json(view(&app, Some(&auth), &c).await?))
}
