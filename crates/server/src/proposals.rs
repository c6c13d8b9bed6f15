//! Residents' proposals: a resident proposes something for their community; others support it
//! (one support each); at the threshold (`[server.participation] proposal_threshold`) it goes on
//! the community's agenda with a deadline, where staff answer it — accepted (perhaps handled as a
//! case) or declined with a reason — or its proposer withdraws it. Every state is public.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gridkeeper_domain::participation::{ProposalAnswer, ProposalStatus, MAX_TEXT, MAX_TITLE};
use gridkeeper_domain::time::{to_rfc3339, DAY};
use gridkeeper_domain::{may, required_text, Permission};
use gridkeeper_store::vault::mask_name;
use gridkeeper_store::{NewProposal, Proposal, ProposalScope};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, MaybeAuth};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Query};
use crate::http::administer;
use crate::participation::{grid_named, managed_region, manages, more, page, region_name, required};
use crate::{App, AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, propose))
        .routes(routes!(region_proposals))
        .routes(routes!(mine))
        .routes(routes!(proposal))
        .routes(routes!(support))
        .routes(routes!(answer))
        .routes(routes!(withdraw))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct GridQuery {
    /// The grid whose community's proposals to list
    #[param(required = true, pattern = r"^(?!000000)[0-9]{6}(?!000)[0-9]{3}(?!000)[0-9]{3}(?!000)[0-9]{3}$")]
    grid: Option<String>,
    status: Option<ProposalStatus>,
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
struct StatusQuery {
    /// Only these (`agenda`: the soonest due first)
    status: Option<ProposalStatus>,
    /// Skip this many (at most 10000)
    #[param(maximum = 10000)]
    offset: Option<u32>,
    /// At most this many (default 20, at most 100)
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

/// A proposal as anyone sees it.
#[derive(Serialize, ToSchema)]
pub struct ProposalView {
    pub id: i64,
    /// The community whose agenda it goes on.
    pub region: String,
    pub region_name: String,
    pub title: String,
    pub body: String,
    /// The proposer, masked (`张*`) unless it is oneself.
    pub proposer: String,
    pub created_at: String,
    pub status: ProposalStatus,
    pub supports: i64,
    /// Supporters it needs to go on the agenda.
    pub threshold: i64,
    /// When it went on the agenda.
    pub agenda_at: Option<String>,
    /// When staff must have answered it.
    pub due_at: Option<String>,
    /// It is on the agenda past its deadline, unanswered.
    pub overdue: bool,
    /// The answer (accepted) or the reason (declined).
    pub answer: Option<String>,
    pub answered_at: Option<String>,
    /// The case it is handled as, when accepted as one.
    pub case_id: Option<i64>,
    /// The person asking supports it.
    pub supported: bool,
    pub mine: bool,
    pub may_support: bool,
    pub may_answer: bool,
    pub may_withdraw: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ProposalPage {
    /// Newest first; on the agenda, the soonest due first.
    pub items: Vec<ProposalView>,
    pub more: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalInput {
    /// The proposer's grid: the proposal goes on its community's agenda.
    #[schema(pattern = r"^(?!000000)[0-9]{6}(?!000)[0-9]{3}(?!000)[0-9]{3}(?!000)[0-9]{3}$")]
    pub grid: String,
    #[schema(max_length = 120)]
    pub title: String,
    /// What is proposed, and why.
    #[schema(max_length = 4000)]
    pub body: String,
}

/// Staff's decision.
#[derive(Deserialize, ToSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Accept,
    Decline,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalAnswerInput {
    pub decision: Decision,
    /// What will be done (accepted) or why not (declined); shown to everyone.
    #[schema(max_length = 4000)]
    pub answer: String,
    /// When accepted: the case (id or reference) it is handled as, reported through the usual
    /// way.
    #[schema(max_length = 40)]
    pub case: Option<String>,
}

fn view(app: &App, auth: Option<&Auth>, p: &Proposal, supported: bool) -> ProposalView {
    let now = app.now();
    let mine = auth.is_some_and(|a| a.person.id == p.proposer);
    let resident = auth.is_some_and(|a| may(&a.actor, Permission::Participate).is_ok());
    ProposalView {
        id: p.id,
        region: p.region.to_string(),
        region_name: region_name(app, &p.region),
        title: p.title.clone(),
        body: p.body.clone(),
        proposer: if mine { p.proposer_name.clone() } else { mask_name(&p.proposer_name) },
        created_at: to_rfc3339(p.created_at),
        status: p.status,
        supports: p.supports,
        threshold: p.threshold,
        agenda_at: p.agenda_at.map(to_rfc3339),
        due_at: p.due_at.map(to_rfc3339),
        overdue: p.status == ProposalStatus::Agenda && p.due_at.is_some_and(|d| d < now),
        answer: p.answer.clone(),
        answered_at: p.answered_at.filter(|_| p.status != ProposalStatus::Withdrawn).map(to_rfc3339),
        case_id: p.case_id,
        supported,
        mine,
        may_support: resident && !supported && p.status.supportable(),
        may_answer: auth.is_some_and(|a| manages(&a.actor, &p.region)) && p.status.answerable(),
        may_withdraw: mine && p.status.answerable(),
    }
}

async fn views(app: &App, auth: Option<&Auth>, found: Vec<Proposal>) -> ApiResult<Vec<ProposalView>> {
    let mut out = Vec::with_capacity(found.len());
    for p in &found {
        let supported = match auth {
            Some(a) => app.store.supports(p.id, a.person.id).await?,
            None => false,
        };
        out.push(view(app, auth, p, supported));
    }
    Ok(out)
}

async fn find(app: &App, id: i64) -> ApiResult<Proposal> {
    app.store.proposal(id).await?.ok_or_else(|| ApiError::not_found("proposal"))
}

fn answer_within(app: &App) -> i64 {
    app.settings.participation.proposal_answer_days * DAY
}

#[utoipa::path(get, path = "/proposals", tag = "participation", summary = "The proposals of a grid's community (and of regions above it)",
    security((), ("bearer" = []), ("session_cookie" = [])),
    params(GridQuery),
    responses((status = 200, description = "Newest first; on the agenda, the soonest due first", body = ProposalPage), (status = 404, description = "No such grid")))]
async fn list(
    State(app): State<AppState>,
    auth: MaybeAuth,
    Query(q): Query<GridQuery>,
) -> ApiResult<Json<ProposalPage>> {
    let grid = grid_named(&app, "grid", required(q.grid.as_deref(), "grid")?)?;
    let (offset, limit) = page(q.offset, q.limit)?;
    let found = app.store.proposals(&ProposalScope::Grid(grid), q.status, offset, limit + 1).await?;
    let (found, more) = more(found, limit);
    Ok(Json(ProposalPage { items: views(&app, auth.0.as_ref(), found).await?, more }))
}

#[utoipa::path(get, path = "/regions/{code}/proposals", tag = "participation", summary = "The proposals of a region and under it: the agenda of staff who answer them there",
    params(("code" = String, Path, description = "Region code"), StatusQuery),
    responses((status = 200, description = "Newest first; on the agenda, the soonest due first", body = ProposalPage), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "No such region")))]
async fn region_proposals(
    State(app): State<AppState>,
    auth: Auth,
    Path(code): Path<String>,
    Query(q): Query<StatusQuery>,
) -> ApiResult<Json<ProposalPage>> {
    let region = managed_region(&app, &auth.actor, "code", &code)?;
    let (offset, limit) = page(q.offset, q.limit)?;
    let found = app.store.proposals(&ProposalScope::Under(region), q.status, offset, limit + 1).await?;
    let (found, more) = more(found, limit);
    Ok(Json(ProposalPage { items: views(&app, Some(&auth), found).await?, more }))
}

#[utoipa::path(get, path = "/me/proposals", tag = "participation", summary = "The proposals one made",
    params(StatusQuery),
    responses((status = 200, description = "Newest first", body = ProposalPage)))]
async fn mine(State(app): State<AppState>, auth: Auth, Query(q): Query<StatusQuery>) -> ApiResult<Json<ProposalPage>> {
    let (offset, limit) = page(q.offset, q.limit)?;
    let found = app.store.proposals(&ProposalScope::By(auth.person.id), q.status, offset, limit + 1).await?;
    let (found, more) = more(found, limit);
    Ok(Json(ProposalPage { items: views(&app, Some(&auth), found).await?, more }))
}

#[utoipa::path(post, path = "/proposals", tag = "participation", summary = "Propose something for one's community",
    request_body = ProposalInput,
    responses((status = 201, description = "Proposed; gathering support", body = ProposalView), (status = 403, description = "Not a resident, or the CSRF token is missing"), (status = 404, description = "No such grid")))]
async fn propose(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<ProposalInput>,
) -> ApiResult<(StatusCode, Json<ProposalView>)> {
    administer(&auth.actor, Permission::Participate)?;
    let grid = grid_named(&app, "grid", &input.grid)?;
    let community = grid.parent().ok_or_else(|| ApiError::field("grid", "has no community above it"))?;
    let title = required_text("title", &input.title, MAX_TITLE)?;
    let body = required_text("body", &input.body, MAX_TEXT)?;
    let settings = &app.settings.participation;
    let new = NewProposal {
        region: community,
        title,
        body,
        threshold: settings.proposal_threshold,
        answer_within: answer_within(&app),
    };
    let p = app.store.create_proposal(&new, auth.person.id, app.now()).await?;
    tracing::info!(proposal = p.id, region = %p.region, "proposal made");
    Ok((StatusCode::CREATED, Json(view(&app, Some(&auth), &p, false))))
}

#[utoipa::path(get, path = "/proposals/{id}", tag = "participation", summary = "A proposal and where it stands",
    security((), ("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "Proposal id")),
    responses((status = 200, description = "The proposal", body = ProposalView), (status = 404, description = "No such proposal")))]
async fn proposal(State(app): State<AppState>, auth: MaybeAuth, Path(id): Path<i64>) -> ApiResult<Json<ProposalView>> {
    let p = find(&app, id).await?;
    Ok(Json(views(&app, auth.0.as_ref(), vec![p]).await?.remove(0)))
}

#[utoipa::path(post, path = "/proposals/{id}/support", tag = "participation", summary = "Support a proposal (once; it goes on the agenda at its threshold)",
    params(("id" = i64, Path, description = "Proposal id")),
    responses((status = 200, description = "Supported (supporting twice changes nothing)", body = ProposalView), (status = 403, description = "Not a resident, or the CSRF token is missing"), (status = 404, description = "No such proposal"), (status = 409, description = "Answered or withdrawn already")))]
async fn support(State(app): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<Json<ProposalView>> {
    administer(&auth.actor, Permission::Participate)?;
    find(&app, id).await?;
    let p = app.store.support(id, auth.person.id, answer_within(&app), app.now()).await?;
    Ok(Json(view(&app, Some(&auth), &p, true)))
}

#[utoipa::path(post, path = "/proposals/{id}/answer", tag = "participation", summary = "Answer a proposal: accept it (perhaps as a case) or decline it with a reason (once; audited)",
    params(("id" = i64, Path, description = "Proposal id")),
    request_body = ProposalAnswerInput,
    responses((status = 200, description = "Answered", body = ProposalView), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "No such proposal, or no such case one sees"), (status = 409, description = "Answered or withdrawn already")))]
async fn answer(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<ProposalAnswerInput>,
) -> ApiResult<Json<ProposalView>> {
    let p = find(&app, id).await?;
    administer(&auth.actor, Permission::ManageParticipation { region: &p.region })?;
    let text = required_text("answer", &input.answer, MAX_TEXT)?;
    let case_key = input.case.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let answer = match input.decision {
        Decision::Accept => {
            let case = match case_key {
                Some(key) => Some(
                    app.find_case(&auth.actor, key)
                        .await
                        .map_err(|_| ApiError::unknown("case", format!("no case {key} that one sees")))?
                        .id,
                ),
                None => None,
            };
            ProposalAnswer::Accept { answer: text, case }
        }
        Decision::Decline if case_key.is_some() => {
            return Err(ApiError::field("case", "only an accepted proposal is handled as a case"))
        }
        Decision::Decline => ProposalAnswer::Decline { reason: text },
    };
    let p = app.store.answer_proposal(id, &answer, auth.person.id, app.now()).await?;
    let supported = app.store.supports(id, auth.person.id).await?;
    Ok(Json(view(&app, Some(&auth), &p, supported)))
}

#[utoipa::path(post, path = "/proposals/{id}/withdraw", tag = "participation", summary = "Withdraw one's own proposal before it is answered",
    params(("id" = i64, Path, description = "Proposal id")),
    responses((status = 200, description = "Withdrawn", body = ProposalView), (status = 403, description = "Not one's own proposal, or the CSRF token is missing"), (status = 404, description = "No such proposal"), (status = 409, description = "Answered or withdrawn already")))]
async fn withdraw(State(app): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<Json<ProposalView>> {
    let p = find(&app, id).await?;
    administer(&auth.actor, Permission::WithdrawProposal { proposer: p.proposer })?;
    let p = app.store.withdraw_proposal(id, app.now()).await?;
    let supported = app.store.supports(id, auth.person.id).await?;
    Ok(Json(view(&app, Some(&auth), &p, supported)))
}
