//! The directory of notable natives (乡贤) in the server: entries kept by the staff who run
//! participation in the native's home region, each field shown by the native's consent (public:
//! the public directory; staff; private: only those keepers); what they bring (advice,
//! investment leads, donations) with its follow-up; and invitations to consultations and
//! proposals sent to their phone by SMS.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gridkeeper_domain::participation::{shown, Consent, LeadKind, LeadStatus, MAX_TEXT, MAX_TITLE};
use gridkeeper_domain::time::to_rfc3339;
use gridkeeper_domain::{optional_text, parse_phone, required_text, Actor};
use gridkeeper_store::{Invitation, Lead, Native, NewNative};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, MaybeAuth};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Query};
use crate::participation::{managed_region, manages, more, page, region_name, region_or_district};
use crate::{App, AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(native, update))
        .routes(routes!(leads, add_lead))
        .routes(routes!(follow_up))
        .routes(routes!(invite))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Natives whose home lies in this region (default: the jurisdiction's district)
    region: Option<String>,
    /// Skip this many (at most 10000)
    #[param(maximum = 10000)]
    offset: Option<u32>,
    /// At most this many (default 20, at most 100)
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

/// A notable native as the person asking may see them: each field by the native's consent.
#[derive(Serialize, ToSchema)]
pub struct NativeView {
    pub id: i64,
    /// `null` when not shown to the person asking.
    pub name: Option<String>,
    pub home_region: String,
    pub home_name: String,
    pub expertise: Option<String>,
    pub city: Option<String>,
    pub organisation: Option<String>,
    pub phone: Option<String>,
    /// The consent per field (for those who keep the directory; empty otherwise).
    pub consent: BTreeMap<String, Consent>,
    /// Leads recorded (for those who keep the directory).
    pub leads: Option<i64>,
    pub may_manage: bool,
}

#[derive(Serialize, ToSchema)]
pub struct NativePage {
    /// By home region, then in the order they were entered.
    pub items: Vec<NativeView>,
    pub more: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NativeInput {
    #[schema(max_length = 50)]
    pub name: String,
    /// The home village or community (a region code).
    #[schema(pattern = "^(?!000000)[0-9]{6}((?!000)[0-9]{3}){0,3}(000){0,3}$", max_length = 15)]
    pub home_region: String,
    /// Field of expertise (教育, 医疗, 企业经营…).
    #[schema(max_length = 100)]
    pub expertise: Option<String>,
    /// The city they live in now.
    #[schema(max_length = 50)]
    pub city: Option<String>,
    #[schema(max_length = 100)]
    pub organisation: Option<String>,
    pub phone: Option<String>,
    /// Who may see each field; a field left out is private.
    #[serde(default)]
    pub consent: ConsentInput,
}

/// Who may see each field of an entry (`null` or left out: private).
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    pub name: Option<Consent>,
    pub expertise: Option<Consent>,
    pub city: Option<Consent>,
    pub organisation: Option<Consent>,
    pub phone: Option<Consent>,
}

impl ConsentInput {
    fn into_map(self) -> BTreeMap<String, Consent> {
        [
            ("name", self.name),
            ("expertise", self.expertise),
            ("city", self.city),
            ("organisation", self.organisation),
            ("phone", self.phone),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
        .collect()
    }
}

/// A lead and its follow-up.
#[derive(Serialize, ToSchema)]
pub struct LeadView {
    pub id: i64,
    pub native_id: i64,
    pub kind: LeadKind,
    pub title: String,
    pub body: String,
    pub status: LeadStatus,
    pub created_at: String,
    pub updated_at: String,
    /// Each step: who answered, what happened.
    pub notes: Vec<LeadNoteView>,
}

#[derive(Serialize, ToSchema)]
pub struct LeadNoteView {
    pub by: String,
    pub at: String,
    pub note: String,
    pub status: LeadStatus,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadInput {
    pub kind: LeadKind,
    #[schema(max_length = 120)]
    pub title: String,
    #[schema(max_length = 4000)]
    pub body: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUpInput {
    /// What was done, who answered.
    #[schema(max_length = 4000)]
    pub note: String,
    pub status: LeadStatus,
}

/// What a native is invited to: a consultation or a proposal (one of them), by id.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationInput {
    pub consultation: Option<i64>,
    pub proposal: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct InvitationView {
    pub target: String,
    pub at: String,
    /// An SMS with the link went to the native's phone.
    pub sent: bool,
}

fn view(app: &App, actor: &Actor, n: &Native) -> NativeView {
    let keeper = manages(actor, &n.entry.home_region);
    let staff = actor.is_staff();
    let show = |field: &str, value: &str| -> Option<String> {
        (shown(n.consent(field), staff, keeper) && !value.is_empty()).then(|| value.to_string())
    };
    NativeView {
        id: n.id,
        name: show("name", &n.entry.name),
        home_region: n.entry.home_region.to_string(),
        home_name: region_name(app, &n.entry.home_region),
        expertise: show("expertise", &n.entry.expertise),
        city: show("city", &n.entry.city),
        organisation: show("organisation", &n.entry.organisation),
        phone: n.entry.phone.as_deref().and_then(|p| show("phone", p)),
        consent: if keeper { n.entry.consent.clone() } else { BTreeMap::new() },
        leads: keeper.then_some(n.leads),
        may_manage: keeper,
    }
}

fn lead_view(l: &Lead) -> LeadView {
    LeadView {
        id: l.id,
        native_id: l.native_id,
        kind: l.kind,
        title: l.title.clone(),
        body: l.body.clone(),
        status: l.status,
        created_at: to_rfc3339(l.created_at),
        updated_at: to_rfc3339(l.updated_at),
        notes: l
            .notes
            .iter()
            .map(|n| LeadNoteView {
                by: n.by_name.clone(),
                at: to_rfc3339(n.at),
                note: n.note.clone(),
                status: n.status,
            })
            .collect(),
    }
}

impl NativeInput {
    fn into_new(self, app: &App, actor: &Actor) -> ApiResult<NewNative> {
        let home_region = managed_region(app, actor, "home_region", &self.home_region)?;
        Ok(NewNative {
            name: required_text("name", &self.name, 50)?,
            home_region,
            expertise: optional_text("expertise", self.expertise.as_deref(), 100)?.unwrap_or_default(),
            city: optional_text("city", self.city.as_deref(), 50)?.unwrap_or_default(),
            organisation: optional_text("organisation", self.organisation.as_deref(), 100)?.unwrap_or_default(),
            phone: self.phone.as_deref().filter(|p| !p.trim().is_empty()).map(parse_phone).transpose()?,
            consent: self.consent.into_map(),
        })
    }
}

/// An entry the actor keeps (404 for anyone else: its existence is not a secret, but its
/// management is theirs only).
async fn kept(app: &App, actor: &Actor, id: i64) -> ApiResult<Native> {
    match app.store.native(id).await? {
        Some(n) if manages(actor, &n.entry.home_region) => Ok(n),
        _ => Err(ApiError::not_found("native")),
    }
}

#[utoipa::path(get, path = "/natives", tag = "participation", summary = "The directory of notable natives (乡贤) of a region, each field by their consent",
    security((), ("bearer" = []), ("session_cookie" = [])),
    params(ListQuery),
    responses((status = 200, description = "Those whose name one may see", body = NativePage), (status = 404, description = "No such region")))]
async fn list(State(app): State<AppState>, auth: MaybeAuth, Query(q): Query<ListQuery>) -> ApiResult<Json<NativePage>> {
    let region = region_or_district(&app, q.region.as_deref())?;
    let (offset, limit) = page(q.offset, q.limit)?;
    let actor = auth.0.map(|a| a.actor).unwrap_or_default();
    let found = app.store.natives(&region, offset, limit + 1).await?;
    let (found, more) = more(found, limit);
    let items = found.iter().map(|n| view(&app, &actor, n)).filter(|v| v.name.is_some()).collect();
    Ok(Json(NativePage { items, more }))
}

#[utoipa::path(post, path = "/natives", tag = "participation", summary = "Enter a notable native in the directory of their home region",
    request_body = NativeInput,
    responses((status = 201, description = "Entered", body = NativeView), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "No such region")))]
async fn create(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<NativeInput>,
) -> ApiResult<(StatusCode, Json<NativeView>)> {
    let new = input.into_new(&app, &auth.actor)?;
    let n = app.store.create_native(&new, auth.person.id, app.now()).await?;
    Ok((StatusCode::CREATED, Json(view(&app, &auth.actor, &n))))
}

#[utoipa::path(get, path = "/natives/{id}", tag = "participation", summary = "A notable native, each field by their consent",
    security((), ("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "Entry id")),
    responses((status = 200, description = "The entry", body = NativeView), (status = 404, description = "No such entry, or its name is not public")))]
async fn native(State(app): State<AppState>, auth: MaybeAuth, Path(id): Path<i64>) -> ApiResult<Json<NativeView>> {
    let actor = auth.0.map(|a| a.actor).unwrap_or_default();
    let n = app.store.native(id).await?.ok_or_else(|| ApiError::not_found("native"))?;
    let v = view(&app, &actor, &n);
    if v.name.is_none() {
        return Err(ApiError::not_found("native"));
    }
    Ok(Json(v))
}

#[utoipa::path(put, path = "/natives/{id}", tag = "participation", summary = "Change a notable native's entry and consent",
    params(("id" = i64, Path, description = "Entry id")),
    request_body = NativeInput,
    responses((status = 200, description = "Changed", body = NativeView), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "No such entry one keeps, or no such region")))]
async fn update(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<NativeInput>,
) -> ApiResult<Json<NativeView>> {
    kept(&app, &auth.actor, id).await?;
    let new = input.into_new(&app, &auth.actor)?;
    let n = app.store.update_native(id, &new, app.now()).await?.ok_or_else(|| ApiError::not_found("native"))?;
    Ok(Json(view(&app, &auth.actor, &n)))
}

#[utoipa::path(get, path = "/natives/{id}/leads", tag = "participation", summary = "What a notable native brought, with its follow-up (those who keep the directory)",
    params(("id" = i64, Path, description = "Entry id")),
    responses((status = 200, description = "Newest first", body = Vec<LeadView>), (status = 404, description = "No such entry one keeps")))]
async fn leads(State(app): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<Json<Vec<LeadView>>> {
    kept(&app, &auth.actor, id).await?;
    Ok(Json(app.store.leads(id).await?.iter().map(lead_view).collect()))
}

#[utoipa::path(post, path = "/natives/{id}/leads", tag = "participation", summary = "Record advice, an investment lead or a donation a notable native brings",
    params(("id" = i64, Path, description = "Entry id")),
    request_body = LeadInput,
    responses((status = 201, description = "Recorded", body = LeadView), (status = 404, description = "No such entry one keeps")))]
async fn add_lead(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<LeadInput>,
) -> ApiResult<(StatusCode, Json<LeadView>)> {
    kept(&app, &auth.actor, id).await?;
    let title = required_text("title", &input.title, MAX_TITLE)?;
    let body = required_text("body", &input.body, MAX_TEXT)?;
    let l = app.store.add_lead(id, input.kind, &title, &body, auth.person.id, app.now()).await?;
    Ok((StatusCode::CREATED, Json(lead_view(&l))))
}

#[utoipa::path(post, path = "/leads/{id}/follow-up", tag = "participation", summary = "A step of a lead's follow-up: what was done, who answered, where it stands",
    params(("id" = i64, Path, description = "Lead id")),
    request_body = FollowUpInput,
    responses((status = 200, description = "The lead with its follow-up", body = LeadView), (status = 404, description = "No such lead of an entry one keeps")))]
async fn follow_up(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<FollowUpInput>,
) -> ApiResult<Json<LeadView>> {
    let lead = app.store.lead(id).await?.ok_or_else(|| ApiError::not_found("lead"))?;
    kept(&app, &auth.actor, lead.native_id).await.map_err(|_| ApiError::not_found("lead"))?;
    let note = required_text("note", &input.note, MAX_TEXT)?;
    let l = app.store.follow_up(id, &note, input.status, auth.person.id, app.now()).await?;
    Ok(Json(lead_view(&l)))
}

#[utoipa::path(post, path = "/natives/{id}/invitations", tag = "participation", summary = "Invite a notable native to a consultation or a proposal (an SMS with the link, when they left a phone)",
    params(("id" = i64, Path, description = "Entry id")),
    request_body = InvitationInput,
    responses((status = 201, description = "Invited", body = InvitationView), (status = 404, description = "No such entry one keeps, consultation or proposal")))]
async fn invite(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<InvitationInput>,
) -> ApiResult<(StatusCode, Json<InvitationView>)> {
    let n = kept(&app, &auth.actor, id).await?;
    let (target, title, path) = match (input.consultation, input.proposal) {
        (Some(c), None) => {
            let c = app
                .store
                .consultation(c)
                .await?
                .ok_or_else(|| ApiError::unknown("consultation", "no such consultation"))?;
            (format!("consultation:{}", c.id), c.title, format!("/consultations/{}", c.id))
        }
        (None, Some(p)) => {
            let p = app.store.proposal(p).await?.ok_or_else(|| ApiError::unknown("proposal", "no such proposal"))?;
            (format!("proposal:{}", p.id), p.title, format!("/proposals/{}", p.id))
        }
        _ => return Err(ApiError::field("consultation", "name a consultation or a proposal, one of them")),
    };
    let base = app.settings.public_url().map_err(ApiError::internal)?;
    let sent = match &n.entry.phone {
        Some(phone) => {
            let text = format!(
                "【{}】{}，诚邀您参与“{}”：{}{}",
                region_name(&app, &n.entry.home_region),
                n.entry.name,
                title,
                base,
                path
            );
            app.sms.send(phone, &text).map_err(ApiError::unavailable)?;
            true
        }
        None => false,
    };
    let now = app.now();
    app.store
        .record_invitation(&Invitation { native_id: id, target: target.clone(), by: auth.person.id, at: now, sent })
        .await?;
    Ok((StatusCode::CREATED, Json(InvitationView { target, at: to_rfc3339(now), sent })))
}
