//! Points and rewards (积分): a resident's balance and history, the catalogue and its
//! redemption, the staff's hand-over, the admin's rules and rewards, volunteer hours and
//! consultations, the leaderboard of a grid, leaders' commendations, and the points issued and
//! redeemed per grid. Points for reports are earned by the store in the verification's own
//! transaction (`gridkeeper_domain::points::entry_for_event`); nothing here earns them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gridkeeper_domain::points::{Award, EntryKind, PointRules, Points, RedemptionState, RewardData, MAX_NOTE};
use gridkeeper_domain::time::to_rfc3339;
use gridkeeper_domain::workflow::{optional_text, required_text};
use gridkeeper_domain::{may, policy, Actor, Permission, PersonId, Refusal, RegionCode, Role, Scope};
use gridkeeper_store::vault::mask_name;
use gridkeeper_store::{
    Commendation, LedgerEntry, NewAudit, PointFlow, Redemption, RedemptionQuery, Reward, MAX_POINTS_PAGE,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Query};
use crate::measures::{period, region_in_scope};
use crate::{App, AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(my_points))
        .routes(routes!(set_leaderboard))
        .routes(routes!(my_redemptions))
        .routes(routes!(rewards, create_reward))
        .routes(routes!(update_reward))
        .routes(routes!(redeem))
        .routes(routes!(redemptions))
        .routes(routes!(hand_over))
        .routes(routes!(cancel))
        .routes(routes!(rules, put_rules))
        .routes(routes!(award))
        .routes(routes!(leaderboard))
        .routes(routes!(flows))
        .routes(routes!(commendations, commend))
}

/// Rows of a page unless `limit` says otherwise.
const DEFAULT_PAGE: u32 = 50;

fn page(limit: Option<u32>) -> ApiResult<u32> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_POINTS_PAGE).contains(&limit) {
        return Err(ApiError::field("limit", format!("must lie between 1 and {MAX_POINTS_PAGE}")));
    }
    Ok(limit)
}

/// A refusal about `what`: outside one's scope is "not found" for it.
fn refused(what: &'static str) -> impl Fn(Refusal) -> ApiError {
    move |r| match r {
        Refusal::OutOfScope => ApiError::not_found(what),
        r => ApiError::refusal(r, None),
    }
}

/// A region code that exists.
fn known_region(app: &App, field: &str, code: &str) -> ApiResult<RegionCode> {
    let code = RegionCode::parse(code.trim()).map_err(|e| ApiError::field(field, e.reason))?;
    if !app.reference().regions.contains_key(&code) {
        return Err(ApiError::unknown(field, format!("no region {code}")));
    }
    Ok(code)
}

/// The regions where the actor holds one of `roles`.
fn regions_of(actor: &Actor, roles: &[Role]) -> Vec<String> {
    actor
        .grants
        .iter()
        .filter(|g| roles.contains(&g.role))
        .filter_map(|g| match &g.scope {
            Scope::Region { code } => Some(code.as_str().to_string()),
            _ => None,
        })
        .collect()
}

fn audit(app: &App, auth: &Auth, action: &str, detail: serde_json::Value) -> NewAudit {
    NewAudit { at: app.now(), actor: Some(auth.person.id), action: action.into(), object: None, detail }
}

/// An entry of one's ledger.
#[derive(Serialize, ToSchema)]
pub struct EntryView {
    pub id: i64,
    pub kind: EntryKind,
    /// Positive earned, negative spent or taken back.
    pub points: Points,
    /// RFC 3339
    pub at: String,
    /// The reference of the case that earned (or lost) them.
    pub case_reference: Option<String>,
    /// Where they were earned (the case's grid) or spent (where the reward is handed over).
    pub region: Option<String>,
    pub redemption: Option<i64>,
    pub note: Option<String>,
}

impl From<LedgerEntry> for EntryView {
    fn from(e: LedgerEntry) -> Self {
        EntryView {
            id: e.id,
            kind: e.kind,
            points: e.points,
            at: to_rfc3339(e.at),
            case_reference: e.case_reference,
            region: e.region,
            redemption: e.redemption_id,
            note: e.note,
        }
    }
}

/// One's points: balance, the day's cap, and a page of the history.
#[derive(Serialize, ToSchema)]
pub struct MyPoints {
    pub balance: Points,
    /// One's name shows on the leaderboard (otherwise masked, 张*).
    pub on_leaderboard: bool,
    /// Points earned today that count towards the daily cap.
    pub earned_today: Points,
    pub daily_cap: Points,
    /// Newest first.
    pub entries: Vec<EntryView>,
    /// Pass as `before` for the next page; none: this was the last.
    pub next_before: Option<i64>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct LedgerQuery {
    /// Entries older than this id (the `next_before` of the page before)
    before: Option<i64>,
    /// At most this many entries (default 50, at most 200)
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/me/points", tag = "points", operation_id = "my_points", summary = "One's balance of points and its history",
    params(LedgerQuery),
    responses((status = 200, description = "The balance and a page of the ledger, newest first", body = MyPoints), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
#[tracing::instrument(skip_all, fields(person = auth.person.id))]
async fn my_points(State(app): State<AppState>, auth: Auth, Query(q): Query<LedgerQuery>) -> ApiResult<Json<MyPoints>> {
    let limit = page(q.limit)?;
    let me = auth.person.id;
    let account = app.store.point_account(me).await?;
    let rules = app.store.point_rules().await?;
    let mut entries = app.store.ledger(me, q.before, limit + 1).await?;
    let more = entries.len() > limit as usize;
    entries.truncate(limit as usize);
    let earned_today = app.store.points_earned_on(me, app.now()).await?;
    Ok(Json(MyPoints {
        balance: account.balance,
        on_leaderboard: account.on_leaderboard,
        earned_today,
        daily_cap: rules.daily_cap,
        next_before: if more { entries.last().map(|e| e.id) } else { None },
        entries: entries.into_iter().map(EntryView::from).collect(),
    }))
}

/// Whether one's name shows on the leaderboards.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaderboardChoice {
    pub on_leaderboard: bool,
}

#[utoipa::path(put, path = "/me/points/leaderboard", tag = "points", operation_id = "set_my_leaderboard", summary = "Show one's name on the leaderboards, or hide it (masked, 张*)",
    request_body = LeaderboardChoice,
    responses((status = 200, description = "Stored", body = LeaderboardChoice), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn set_leaderboard(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(b): ApiJson<LeaderboardChoice>,
) -> ApiResult<Json<LeaderboardChoice>> {
    app.store.set_on_leaderboard(auth.person.id, b.on_leaderboard).await?;
    Ok(Json(b))
}

/// A reward of the catalogue.
#[derive(Serialize, ToSchema)]
pub struct RewardView {
    pub id: i64,
    /// Where it is handed over (a community or grid).
    pub region: String,
    pub name: String,
    pub name_en: Option<String>,
    pub description: Option<String>,
    pub cost: Points,
    /// How many are left.
    pub stock: i64,
    pub active: bool,
    /// One may change it (`PUT /rewards/{id}`).
    pub may_edit: bool,
}

fn reward_view(r: Reward, actor: &Actor) -> RewardView {
    let may_edit = RegionCode::parse(&r.region)
        .is_ok_and(|region| may(actor, Permission::ManageRewards { region: &region }).is_ok());
    RewardView {
        id: r.id,
        region: r.region,
        name: r.data.name,
        name_en: r.data.name_en,
        description: r.data.description,
        cost: r.data.cost,
        stock: r.data.stock,
        active: r.data.active,
        may_edit,
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct RewardsQuery {
    /// Only the rewards handed over in this region's subtree
    region: Option<String>,
    /// Also the rewards not offered now (only those one may change)
    include_inactive: Option<bool>,
}

#[utoipa::path(get, path = "/rewards", tag = "points", operation_id = "rewards", summary = "The catalogue of rewards",
    params(RewardsQuery),
    responses((status = 200, description = "Rewards offered, cheapest first; with `include_inactive`, also those one may change that are not offered", body = Vec<RewardView>), (status = 404, description = "No such region"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn rewards(
    State(app): State<AppState>,
    auth: Auth,
    Query(q): Query<RewardsQuery>,
) -> ApiResult<Json<Vec<RewardView>>> {
    let under = q.region.as_deref().map(|r| known_region(&app, "region", r)).transpose()?.map(|r| vec![r.to_string()]);
    let all = q.include_inactive.unwrap_or(false);
    let found = app.store.rewards(under.as_deref(), !all).await?;
    Ok(Json(found.into_iter().map(|r| reward_view(r, &auth.actor)).filter(|r| r.active || r.may_edit).collect()))
}

/// A new reward.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRewardBody {
    /// Where it is handed over: a region one is an admin of.
    pub region: String,
    /// 1 to 100 characters.
    #[schema(max_length = 100)]
    pub name: String,
    #[schema(max_length = 100)]
    pub name_en: Option<String>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// 1 to 100,000 points.
    #[schema(value_type = i64, minimum = 1, maximum = 100_000)]
    pub cost: Points,
    /// 0 to 100,000.
    #[schema(minimum = 0, maximum = 100_000)]
    pub stock: i64,
    /// Offered now (default true).
    pub active: Option<bool>,
}

#[utoipa::path(post, path = "/rewards", tag = "points", operation_id = "create_reward", summary = "Add a reward to the catalogue",
    request_body = NewRewardBody,
    responses((status = 201, description = "Added (audited)", body = RewardView), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "No such region, or outside one's scope"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn create_reward(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(b): ApiJson<NewRewardBody>,
) -> ApiResult<(StatusCode, Json<RewardView>)> {
    let region = known_region(&app, "region", &b.region)?;
    may(&auth.actor, Permission::ManageRewards { region: &region }).map_err(refused("region"))?;
    let data = RewardData {
        name: b.name,
        name_en: b.name_en,
        description: b.description,
        cost: b.cost,
        stock: b.stock,
        active: b.active.unwrap_or(true),
    }
    .checked()?;
    let reward =
        app.store.insert_reward(region.as_str(), &data, app.now(), &audit(&app, &auth, "reward", json!(data))).await?;
    Ok((StatusCode::CREATED, Json(reward_view(reward, &auth.actor))))
}

#[utoipa::path(put, path = "/rewards/{id}", tag = "points", operation_id = "update_reward", summary = "Change a reward: its name, cost, stock, whether it is offered",
    params(("id" = i64, Path, description = "Reward id")),
    request_body = RewardData,
    responses((status = 200, description = "Changed (audited)", body = RewardView), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "Not found, or outside one's scope"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn update_reward(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<RewardData>,
) -> ApiResult<Json<RewardView>> {
    let reward = app.store.reward(id).await?.ok_or_else(|| ApiError::not_found("reward"))?;
    let region = RegionCode::parse(&reward.region).map_err(ApiError::internal)?;
    may(&auth.actor, Permission::ManageRewards { region: &region }).map_err(refused("reward"))?;
    let data = b.checked()?;
    let changed = app
        .store
        .update_reward(id, &data, app.now(), &audit(&app, &auth, "reward", json!(data)))
        .await?
        .ok_or_else(|| ApiError::not_found("reward"))?;
    Ok(Json(reward_view(changed, &auth.actor)))
}

/// A reward redeemed.
#[derive(Serialize, ToSchema)]
pub struct RedemptionView {
    pub id: i64,
    pub reward: i64,
    pub reward_name: String,
    pub reward_name_en: Option<String>,
    pub person: i64,
    /// In clear to the staff who hand it over and to the person; masked (张*) otherwise.
    pub person_name: String,
    /// Where it is handed over.
    pub region: String,
    pub cost: Points,
    pub state: RedemptionState,
    /// RFC 3339
    pub at: String,
    /// When it was handed over or cancelled (RFC 3339).
    pub done_at: Option<String>,
    pub note: Option<String>,
    /// One may hand it over now.
    pub may_hand_over: bool,
    /// One may cancel it now (points and stock given back).
    pub may_cancel: bool,
}

fn redemption_view(r: Redemption, actor: &Actor) -> RedemptionView {
    let staff = RegionCode::parse(&r.region)
        .is_ok_and(|region| may(actor, Permission::HandOverRewards { region: &region }).is_ok());
    let own = actor.person == Some(r.person_id);
    let pending = r.state == RedemptionState::Pending;
    RedemptionView {
        id: r.id,
        reward: r.reward_id,
        reward_name: r.reward_name,
        reward_name_en: r.reward_name_en,
        person: r.person_id,
        person_name: if staff || own { r.person_name } else { mask_name(&r.person_name) },
        region: r.region,
        cost: r.cost,
        state: r.state,
        at: to_rfc3339(r.at),
        done_at: r.done_at.map(to_rfc3339),
        note: r.note,
        may_hand_over: staff && pending,
        may_cancel: (staff || own) && pending,
    }
}

#[utoipa::path(post, path = "/rewards/{id}/redeem", tag = "points", operation_id = "redeem_reward", summary = "Redeem a reward with one's points",
    params(("id" = i64, Path, description = "Reward id")),
    responses((status = 201, description = "Redeemed: the points are taken and the reward waits to be handed over (audited)", body = RedemptionView), (status = 404, description = "No such reward is offered"), (status = 409, description = "Not enough points (`field`: `balance`) or none left (`field`: `stock`)")))]
#[tracing::instrument(skip_all, fields(person = auth.person.id, reward = id))]
async fn redeem(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<(StatusCode, Json<RedemptionView>)> {
    let done = app.store.redeem(auth.person.id, id, app.now(), &audit(&app, &auth, "points", json!({}))).await?;
    Ok((StatusCode::CREATED, Json(redemption_view(done, &auth.actor))))
}

#[utoipa::path(get, path = "/me/redemptions", tag = "points", operation_id = "my_redemptions", summary = "The rewards one redeemed",
    params(LedgerQuery),
    responses((status = 200, description = "Newest first", body = Vec<RedemptionView>), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn my_redemptions(
    State(app): State<AppState>,
    auth: Auth,
    Query(q): Query<LedgerQuery>,
) -> ApiResult<Json<Vec<RedemptionView>>> {
    let query =
        RedemptionQuery { person: Some(auth.person.id), before: q.before, limit: page(q.limit)?, ..Default::default() };
    let found = app.store.redemptions(&query).await?;
    Ok(Json(found.into_iter().map(|r| redemption_view(r, &auth.actor)).collect()))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct RedemptionsQuery {
    /// pending, handed_over or cancelled
    #[param(pattern = "^(pending|handed_over|cancelled)$")]
    state: Option<String>,
    /// Redemptions older than this id
    before: Option<i64>,
    /// At most this many (default 50, at most 200)
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/redemptions", tag = "points", operation_id = "redemptions", summary = "The redemptions to hand over in one's regions",
    params(RedemptionsQuery),
    responses((status = 200, description = "Newest first, in the regions where one hands rewards over", body = Vec<RedemptionView>), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn redemptions(
    State(app): State<AppState>,
    auth: Auth,
    Query(q): Query<RedemptionsQuery>,
) -> ApiResult<Json<Vec<RedemptionView>>> {
    let state = q.state.as_deref().map(RedemptionState::parse).transpose()?;
    let limit = page(q.limit)?;
    let under = regions_of(&auth.actor, &[Role::GridMember, Role::GridLeader, Role::Admin]);
    if under.is_empty() {
        return Err(ApiError::refusal(
            Refusal::NotAllowed {
                action: "see redemptions",
                reason: "grid members, grid leaders and admins hand rewards over".into(),
            },
            None,
        ));
    }
    let at = policy::hands_over_in(&auth.actor).iter().map(|c| c.as_str().to_string()).collect();
    let query = RedemptionQuery { under: Some(under), at, state, before: q.before, limit, ..Default::default() };
    let found = app.store.redemptions(&query).await?;
    Ok(Json(found.into_iter().map(|r| redemption_view(r, &auth.actor)).collect()))
}

/// A note with a hand-over or cancellation.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct FinishBody {
    /// Up to 500 characters.
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

async fn finish(
    app: &App,
    auth: &Auth,
    id: i64,
    to: RedemptionState,
    note: Option<String>,
) -> ApiResult<RedemptionView> {
    let r = app.store.redemption(id).await?.ok_or_else(|| ApiError::not_found("redemption"))?;
    let region = RegionCode::parse(&r.region).map_err(ApiError::internal)?;
    let own = auth.actor.person == Some(r.person_id);
    if !(own && to == RedemptionState::Cancelled) {
        may(&auth.actor, Permission::HandOverRewards { region: &region }).map_err(|e| match e {
            Refusal::NotAllowed { .. } if !own => ApiError::not_found("redemption"),
            e => refused("redemption")(e),
        })?;
    }
    let note = optional_text("note", note.as_deref(), MAX_NOTE)?;
    let action = if to == RedemptionState::Cancelled { "points" } else { "reward_handed_over" };
    let done = app
        .store
        .finish_redemption(id, to, app.now(), auth.person.id, note.as_deref(), &audit(app, auth, action, json!({})))
        .await?;
    let mut view = redemption_view(done, &auth.actor);
    view.state = to;
    view.done_at = Some(to_rfc3339(app.now()));
    view.note = note;
    view.may_hand_over = false;
    view.may_cancel = false;
    Ok(view)
}

#[utoipa::path(post, path = "/redemptions/{id}/hand-over", tag = "points", operation_id = "hand_over_redemption", summary = "Mark a redemption handed over",
    params(("id" = i64, Path, description = "Redemption id")),
    request_body = FinishBody,
    responses((status = 200, description = "Handed over (audited)", body = RedemptionView), (status = 404, description = "Not found, or outside one's scope"), (status = 409, description = "Handed over or cancelled already (`field`: `state`)"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn hand_over(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<FinishBody>,
) -> ApiResult<Json<RedemptionView>> {
    Ok(Json(finish(&app, &auth, id, RedemptionState::HandedOver, b.note).await?))
}

#[utoipa::path(post, path = "/redemptions/{id}/cancel", tag = "points", operation_id = "cancel_redemption", summary = "Cancel a redemption before hand-over: its points are refunded and its item goes back in stock",
    params(("id" = i64, Path, description = "Redemption id")),
    request_body = FinishBody,
    responses((status = 200, description = "Cancelled: a refund entry written (audited)", body = RedemptionView), (status = 404, description = "Not found, or outside one's scope"), (status = 409, description = "Handed over or cancelled already (`field`: `state`)"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn cancel(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<FinishBody>,
) -> ApiResult<Json<RedemptionView>> {
    Ok(Json(finish(&app, &auth, id, RedemptionState::Cancelled, b.note).await?))
}

#[utoipa::path(get, path = "/points/rules", tag = "points", operation_id = "point_rules", summary = "How points are earned: per category and urgency, the daily cap, volunteering, consultations",
    responses((status = 200, description = "The rules (the defaults until an admin sets them)", body = PointRules)))]
async fn rules(State(app): State<AppState>, _auth: Auth) -> ApiResult<Json<PointRules>> {
    Ok(Json(app.store.point_rules().await?))
}

#[utoipa::path(put, path = "/points/rules", tag = "points", operation_id = "put_point_rules", summary = "Set the rules of points",
    request_body = PointRules,
    responses((status = 200, description = "Stored (audited); they apply to verifications from now on", body = PointRules), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "A rule names a category that does not exist"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn put_rules(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(b): ApiJson<PointRules>,
) -> ApiResult<Json<PointRules>> {
    may(&auth.actor, Permission::ManagePointRules).map_err(|r| ApiError::refusal(r, None))?;
    b.validate()?;
    let reference = app.reference();
    for (i, r) in b.rules.iter().enumerate() {
        if r.category.is_some_and(|c| !reference.categories.contains_key(&c)) {
            return Err(ApiError::unknown(&format!("rules[{i}].category"), "no such category"));
        }
    }
    app.store.set_point_rules(&b, &audit(&app, &auth, "point_rules", json!(b))).await?;
    Ok(Json(b))
}

/// Volunteer hours, a consultation or a correction for a person.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AwardBody {
    /// The grid (or region) where it was earned: one of one's own.
    pub region: String,
    pub award: Award,
}

#[utoipa::path(post, path = "/people/{id}/points", tag = "points", operation_id = "award_points", summary = "Record volunteer hours or a consultation for a person (points by the rules, within the daily cap), or correct their points (admins, with a reason)",
    params(("id" = i64, Path, description = "Person id")),
    request_body = AwardBody,
    responses((status = 201, description = "The entry written (audited)", body = EntryView), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "No such person or region, or outside one's scope"), (status = 409, description = "The person reached today's cap (`field`: `daily_cap`)"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn award(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<PersonId>,
    ApiJson(b): ApiJson<AwardBody>,
) -> ApiResult<(StatusCode, Json<EntryView>)> {
    let region = known_region(&app, "region", &b.region)?;
    let p = match b.award {
        Award::Adjustment { .. } => Permission::AdjustPoints { region: &region },
        _ => Permission::AwardPoints { region: &region },
    };
    may(&auth.actor, p).map_err(refused("region"))?;
    let entry = app
        .store
        .award_points(
            id,
            region.as_str(),
            &b.award,
            app.now(),
            auth.person.id,
            &audit(&app, &auth, "points", json!({})),
        )
        .await?
        .ok_or_else(|| ApiError::conflicting("daily_cap", "the person earned today's most points already"))?;
    Ok((StatusCode::CREATED, Json(entry.into())))
}

/// A row of a leaderboard.
#[derive(Serialize, ToSchema)]
pub struct LeaderView {
    pub rank: u32,
    /// In clear for those who chose to show it; masked (张*) for the others.
    pub name: String,
    pub points: Points,
    /// This row is one's own.
    pub me: bool,
}

/// The people who earned most in a region this year.
#[derive(Serialize, ToSchema)]
pub struct Leaderboard {
    pub region: String,
    /// RFC 3339: the start of the local year counted.
    pub from: String,
    pub rows: Vec<LeaderView>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct LeaderboardQuery {
    /// The grid (or community) whose leaderboard to show
    #[param(required = true)]
    region: Option<String>,
    /// At most this many rows (default 50, at most 200)
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/points/leaderboard", tag = "points", operation_id = "point_leaderboard", summary = "Who earned most points in a grid this year (names masked unless they chose to show them)",
    params(LeaderboardQuery),
    responses((status = 200, description = "Most first", body = Leaderboard), (status = 404, description = "No such region"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn leaderboard(
    State(app): State<AppState>,
    auth: Auth,
    Query(q): Query<LeaderboardQuery>,
) -> ApiResult<Json<Leaderboard>> {
    let limit = page(q.limit)?;
    let region =
        known_region(&app, "region", q.region.as_deref().ok_or_else(|| ApiError::field("region", "is required"))?)?;
    let from = year_start(app.now());
    let rows = app.store.leaderboard(region.as_str(), from, limit).await?;
    Ok(Json(Leaderboard {
        region: region.to_string(),
        from: to_rfc3339(from),
        rows: rows
            .into_iter()
            .enumerate()
            .map(|(i, r)| LeaderView {
                rank: i as u32 + 1,
                me: r.person_id == auth.person.id,
                name: if r.on_leaderboard || r.person_id == auth.person.id { r.name } else { mask_name(&r.name) },
                points: r.points,
            })
            .collect(),
    }))
}

/// The start of the local (UTC+8) year of `now`.
fn year_start(now: i64) -> i64 {
    use chrono::{Datelike, TimeZone};
    let tz = chrono::FixedOffset::east_opt(8 * 3600).expect("a valid offset");
    let local = tz.timestamp_millis_opt(now).single().unwrap_or_else(|| tz.timestamp_millis_opt(0).unwrap());
    tz.with_ymd_and_hms(local.year(), 1, 1, 0, 0, 0).single().map(|d| d.timestamp_millis()).unwrap_or(0)
}

/// Points issued and redeemed in a region.
#[derive(Serialize, ToSchema)]
pub struct PointFlowView {
    /// The grid (or the region where a reward was handed over).
    pub region: String,
    /// Earned (reports, volunteering, consultations, corrections), net of reversals.
    pub issued: Points,
    /// Spent on rewards, net of refunds.
    pub redeemed: Points,
}

/// Points issued and redeemed per grid of a region over a period.
#[derive(Serialize, ToSchema)]
pub struct PointFlows {
    pub region: String,
    pub issued: Points,
    pub redeemed: Points,
    pub rows: Vec<PointFlowView>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct FlowsQuery {
    /// Region code (default: the district)
    region: Option<String>,
    /// RFC 3339
    #[param(required = true)]
    from: Option<String>,
    /// RFC 3339, after `from`
    #[param(required = true)]
    to: Option<String>,
}

#[utoipa::path(get, path = "/points/flows", tag = "points", operation_id = "point_flows", summary = "Points issued and redeemed per grid (docs/MEASURES.md)",
    params(FlowsQuery),
    responses((status = 200, description = "Per grid, and the totals", body = PointFlows), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn flows(State(app): State<AppState>, auth: Auth, Query(q): Query<FlowsQuery>) -> ApiResult<Json<PointFlows>> {
    let (from, to) = period(q.from.as_deref(), q.to.as_deref())?;
    let region = region_in_scope(&app, &auth, q.region.as_deref())?;
    let rows: Vec<PointFlow> = app.store.point_flows(region.as_str(), from, to).await?;
    Ok(Json(PointFlows {
        region: region.to_string(),
        issued: rows.iter().map(|r| r.issued).sum(),
        redeemed: rows.iter().map(|r| r.redeemed).sum(),
        rows: rows
            .into_iter()
            .map(|r| PointFlowView { region: r.region, issued: r.issued, redeemed: r.redeemed })
            .collect(),
    }))
}

/// A commendation shown on a person's profile.
#[derive(Serialize, ToSchema)]
pub struct CommendationView {
    pub id: i64,
    pub person: i64,
    pub region: String,
    pub text: String,
    /// RFC 3339
    pub at: String,
    /// Who commended.
    pub by_name: String,
}

impl From<Commendation> for CommendationView {
    fn from(c: Commendation) -> Self {
        CommendationView {
            id: c.id,
            person: c.person_id,
            region: c.region,
            text: c.text,
            at: to_rfc3339(c.at),
            by_name: c.by_name,
        }
    }
}

/// A commendation.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommendBody {
    /// The region of the work commended: one of one's own.
    pub region: String,
    /// 1 to 500 characters.
    #[schema(max_length = 500)]
    pub text: String,
}

#[utoipa::path(post, path = "/people/{id}/commendations", tag = "points", operation_id = "commend", summary = "Commend a grid member or volunteer for their work in a region",
    params(("id" = i64, Path, description = "Person id")),
    request_body = CommendBody,
    responses((status = 201, description = "Commended (audited); shown on their profile", body = CommendationView), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "No such person or region, or outside one's scope"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn commend(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<PersonId>,
    ApiJson(b): ApiJson<CommendBody>,
) -> ApiResult<(StatusCode, Json<CommendationView>)> {
    let region = known_region(&app, "region", &b.region)?;
    may(&auth.actor, Permission::Commend { region: &region }).map_err(refused("region"))?;
    let text = required_text("text", &b.text, MAX_NOTE)?;
    if id == auth.person.id {
        return Err(ApiError::field("person", "one does not commend oneself"));
    }
    let c = app
        .store
        .commend(id, region.as_str(), &text, app.now(), auth.person.id, &audit(&app, &auth, "commend", json!({})))
        .await?;
    Ok((StatusCode::CREATED, Json(c.into())))
}

#[utoipa::path(get, path = "/people/{id}/commendations", tag = "points", operation_id = "commendations", summary = "A person's commendations (one's own, or anyone's for staff)",
    params(("id" = i64, Path, description = "Person id")),
    responses((status = 200, description = "Newest first", body = Vec<CommendationView>), (status = 404, description = "Not found, or outside one's scope")))]
async fn commendations(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<PersonId>,
) -> ApiResult<Json<Vec<CommendationView>>> {
    if id != auth.person.id && !auth.actor.is_staff() {
        return Err(ApiError::not_found("person"));
    }
    Ok(Json(app.store.commendations(id).await?.into_iter().map(CommendationView::from).collect()))
}
