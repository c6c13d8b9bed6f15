//! Reading and acting on cases: the list (filters, orders, keyset pages), a case with its
//! timeline, its possible duplicates, and the workflow actions. Each case answer is the case as
//! the viewer may see it ([`CaseView`]) with the actions the viewer may take on it now.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use gridkeeper_domain::time::{parse_rfc3339, to_rfc3339};
use gridkeeper_domain::{
    may, Action, Actor, Case, CaseEvent, CaseState, Command, FieldError, Permission, RegionCode, Rejection, Urgency,
};
use gridkeeper_store::{CaseLink, CaseOrder, CaseQuery};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::{ContactView, PersonView};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{parse_json, worded, Both, Query};
use crate::media::MediaView;
use crate::service::visibility;
use crate::{App, AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_cases))
        .routes(routes!(case_detail))
        .routes(routes!(case_duplicates))
        .routes(routes!(case_action))
}

/// A case as the viewer may see it: the reporter and contact masked, or absent for those who may
/// not see them.
#[derive(Serialize, ToSchema)]
pub struct CaseView {
    #[serde(flatten)]
    pub case: Case,
    /// Masked contact details (`138****1234`); only for those who may see the reporter masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<ContactView>,
    pub overdue: bool,
    /// The location lies outside every grid.
    pub outside_jurisdiction: bool,
    /// The workflow actions the viewer may take on the case now, as the state machine decides
    /// them, in the order a case page offers them: `POST /cases/{key}/actions/{action}`. Each may
    /// still be refused for its data, or because the case changed meanwhile.
    pub allowed_actions: Vec<Action>,
}

impl CaseView {
    /// A case as `viewer` may see it: the reporter and contact details masked (138****1234), or
    /// absent for those who may not see them at all (departments, when the reporter asked); with
    /// the workflow actions the viewer may take on it now (`workflow::allowed`).
    pub fn of(app: &App, c: &Case, viewer: &Actor) -> Self {
        let mut case = c.clone();
        let mut contact = None;
        if may(viewer, Permission::SeeMaskedReporter { case: c }).is_ok() {
            contact = c.contact.as_ref().map(|contact| ContactView {
                name: contact.name.as_deref().map(gridkeeper_store::vault::mask_name),
                phone: contact.phone.as_deref().map(gridkeeper_store::vault::mask_phone),
            });
        } else {
            case.reporter = None;
        }
        CaseView {
            overdue: c.is_overdue(app.now()),
            outside_jurisdiction: c.grid.is_none(),
            allowed_actions: gridkeeper_domain::allowed(c, viewer),
            contact,
            case,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CaseAnswer {
    pub case: CaseView,
}

#[derive(Serialize, ToSchema)]
pub struct CaseList {
    pub items: Vec<CaseView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// An open case of the same category nearby; `id` and `description` for staff only.
#[derive(Serialize, ToSchema)]
pub struct PossibleDuplicate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub reference: String,
    pub state: CaseState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[schema(format = DateTime)]
    pub reported_at: String,
    pub distance_m: f64,
}

impl PossibleDuplicate {
    pub fn of(actor: &Actor, c: &Case, distance: f64) -> Self {
        let staff = may(actor, Permission::ReviewDuplicates).is_ok();
        PossibleDuplicate {
            id: staff.then_some(c.id),
            reference: c.reference.clone(),
            state: c.state,
            description: staff.then(|| c.description.clone()),
            reported_at: to_rfc3339(c.reported_at),
            distance_m: distance.round(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PossibleDuplicates {
    pub items: Vec<PossibleDuplicate>,
}

/// An event of a case's timeline (internal events only for staff).
#[derive(Serialize, ToSchema)]
pub struct TimelineEvent {
    pub seq: i64,
    pub action: Action,
    #[schema(format = DateTime)]
    pub at: String,
    pub actor: Option<i64>,
    pub from: Option<CaseState>,
    pub to: CaseState,
    /// The action's data: note, reason, deadline, departments, evidence, score...
    #[schema(value_type = Object)]
    pub data: Value,
}

impl TimelineEvent {
    fn of(e: &CaseEvent) -> Self {
        TimelineEvent {
            seq: e.seq,
            action: e.event.action,
            at: to_rfc3339(e.event.at),
            actor: e.event.actor,
            from: e.event.from,
            to: e.event.to,
            data: e.event.data.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CaseLinkView {
    pub id: i64,
    pub reference: String,
    pub state: CaseState,
}

impl CaseLinkView {
    fn of(l: &CaseLink) -> Self {
        CaseLinkView { id: l.id, reference: l.reference.clone(), state: l.state }
    }
}

/// A case with its timeline, photos and duplicate links. The `ETag` header is the version.
#[derive(Serialize, ToSchema)]
pub struct CaseDetail {
    pub case: CaseView,
    /// The reporter (masked), for those who may see it.
    pub reporter: Option<PersonView>,
    pub timeline: Vec<TimelineEvent>,
    pub media: Vec<MediaView>,
    /// Cases rejected as duplicates of this one.
    pub duplicates: Vec<CaseLinkView>,
    pub duplicate_of: Option<CaseLinkView>,
    /// Whether the viewer may see the reporter's name and phone in clear, audited:
    /// `POST /cases/{key}/reveal`.
    pub may_reveal: bool,
    /// For a case placed by GPS or on the map, without an address: the nearest building of the
    /// registry in its grid, within 200 m ("near …").
    pub near: Option<NearPlace>,
}

/// A known address near a point.
#[derive(Serialize, ToSchema)]
pub struct NearPlace {
    pub address: String,
    /// Metres from the case's point, rounded.
    pub distance_m: f64,
}

/// How far a building may be to name a case's place "near" it.
const NEAR_M: f64 = 200.0;

/// The registry's nearest building to a case without an address, in its grid.
async fn near_place(app: &App, case: &Case) -> ApiResult<Option<NearPlace>> {
    let (Some(at), Some(grid)) = (case.location, case.grid.as_ref()) else { return Ok(None) };
    if case.address.as_deref().is_some_and(|a| !a.trim().is_empty()) {
        return Ok(None);
    }
    let buildings = app
        .store
        .buildings(&gridkeeper_store::BuildingQuery { under: Some(grid.clone()), after: None, limit: 1000 })
        .await?;
    Ok(buildings
        .iter()
        .map(|b| (b.data.location.distance_m(&at), b))
        .filter(|(d, _)| *d <= NEAR_M)
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(d, b)| NearPlace { address: b.data.address.to_string(), distance_m: d.round() }))
}

#[utoipa::path(get, path = "/cases/{key}", tag = "cases", summary = "A case with its timeline, photos and duplicate links",
    params(("key" = String, Path, description = "Case id or reference")),
    responses((status = 200, description = "The case with its timeline, photos and duplicate links; `ETag` is its version", body = CaseDetail), (status = 404, description = "Not found, or outside one's scope")))]
#[tracing::instrument(skip_all, fields(case = %key, person = auth.person.id))]
async fn case_detail(State(app): State<AppState>, auth: Auth, Path(key): Path<String>) -> ApiResult<Response> {
    let case = app.find_case(&auth.actor, &key).await?;
    let staff = may(&auth.actor, Permission::ReadInternalEvents).is_ok();
    let timeline: Vec<TimelineEvent> = app
        .store
        .events(case.id)
        .await?
        .iter()
        .filter(|e| staff || !e.event.action.is_internal())
        .map(TimelineEvent::of)
        .collect();
    let media = app.store.case_media(case.id).await?.iter().map(MediaView::of).collect();
    let duplicates = app.store.duplicates_of(case.id).await?.iter().map(CaseLinkView::of).collect();
    let duplicate_of = match case.duplicate_of {
        Some(id) => {
            app.store.case(id).await?.map(|o| CaseLinkView { id: o.id, reference: o.reference, state: o.state })
        }
        None => None,
    };
    let reporter = match case.reporter {
        Some(id) if may(&auth.actor, Permission::SeeMaskedReporter { case: &case }).is_ok() => {
            app.store.person(id).await?.map(|p| PersonView::of(&p, auth.person.id == p.id))
        }
        _ => None,
    };
    let body = CaseDetail {
        case: CaseView::of(&app, &case, &auth.actor),
        reporter,
        timeline,
        media,
        duplicates,
        duplicate_of,
        may_reveal: may(&auth.actor, Permission::RevealPersonalData { case: &case }).is_ok(),
        near: near_place(&app, &case).await?,
    };
    let mut resp = Json(body).into_response();
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", case.version)) {
        resp.headers_mut().insert(header::ETAG, etag);
    }
    Ok(resp)
}

/// The filters of a case list, shared by the list and the exports.
#[derive(Deserialize, IntoParams, Default)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CaseFilters {
    /// States (repeatable)
    #[serde(default)]
    #[param(value_type = Option<Vec<CaseState>>)]
    state: Vec<String>,
    /// Region code: the region and everything under it
    region: Option<String>,
    /// Lead or co-department id
    #[serde(default, deserialize_with = "worded::department_id")]
    department: Option<i64>,
    /// Category ids (repeatable; a class means its subclasses)
    #[serde(default)]
    #[param(value_type = Option<Vec<i64>>)]
    category: Vec<String>,
    /// routine, urgent or emergency
    #[param(value_type = Option<Urgency>)]
    urgency: Option<String>,
    /// Only overdue (true) or not overdue (false) cases
    overdue: Option<bool>,
    /// Only cases under supervision (true) or not (false)
    supervised: Option<bool>,
    /// Reported at or after (RFC 3339)
    from: Option<String>,
    /// Reported before (RFC 3339)
    to: Option<String>,
    /// Text in the description, address or reference
    q: Option<String>,
}

impl CaseFilters {
    /// Reads the filters into `query`, each bad value refused by name.
    pub fn apply(&self, app: &App, query: &mut CaseQuery) -> ApiResult<()> {
        query.states = self.state.iter().map(|s| CaseState::parse(s)).collect::<Result<_, _>>()?;
        query.region = self
            .region
            .as_deref()
            .map(|r| RegionCode::parse(r).map_err(|e| FieldError::new("region", e.reason)))
            .transpose()?;
        if let Some(d) = self.department {
            app.department("department", d)?;
            query.department = Some(d);
        }
        let categories: Vec<&str> = self.category.iter().map(String::as_str).collect();
        query.categories = app.category_filter(&categories)?;
        query.urgency = self.urgency.as_deref().map(Urgency::parse).transpose()?;
        query.overdue = self.overdue;
        query.supervised = self.supervised;
        query.reported_from = self.from.as_deref().map(|v| parse_rfc3339("from", v)).transpose()?;
        query.reported_to = self.to.as_deref().map(|v| parse_rfc3339("to", v)).transpose()?;
        if let (Some(f), Some(t)) = (query.reported_from, query.reported_to) {
            if t <= f {
                return Err(ApiError::field("to", "must lie after `from`"));
            }
        }
        query.text = self.q.as_deref().map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
        Ok(())
    }
}

/// The order and the page of a case list.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListPage {
    /// Only cases that need the center's attention (true): new reports awaiting acceptance and open cases whose clock has passed; or only the others (false)
    attention: Option<bool>,
    /// `newest` (default: reported last first) or `deadline` (the current clock soonest first, cases without a running clock last); with `attention=true` and `region`, the dispatcher's queue
    #[param(pattern = "^(newest|deadline)$")]
    sort: Option<String>,
    /// `next_cursor` of the previous page, with the same `sort`
    cursor: Option<String>,
    /// 1 to 200 (default 50)
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/cases", tag = "cases", summary = "Cases in one's scope, newest first or by deadline, with keyset pagination",
    params(CaseFilters, ListPage),
    responses((status = 200, description = "Cases in one's scope, in the order asked for", body = CaseList), (status = 404, description = "`department` or `category` names nothing that exists")))]
async fn list_cases(
    State(app): State<AppState>,
    auth: Auth,
    Query(Both(filters, page)): Query<Both<CaseFilters, ListPage>>,
) -> ApiResult<Json<CaseList>> {
    let mut query = CaseQuery { visibility: visibility(&auth.actor), now: app.now(), limit: 50, ..Default::default() };
    filters.apply(&app, &mut query)?;
    if let Some(limit) = page.limit {
        if !(1..=200).contains(&limit) {
            return Err(ApiError::field("limit", "must be between 1 and 200"));
        }
        query.limit = limit;
    }
    query.attention = page.attention;
    query.order = match page.sort.as_deref().map(str::trim) {
        None | Some("newest") => CaseOrder::Newest,
        Some("deadline") => CaseOrder::Deadline,
        Some(v) => return Err(ApiError::field("sort", format!("`{v}` is not newest or deadline"))),
    };
    query.after = page.cursor.as_deref().map(|c| decode_cursor(query.order, c)).transpose()?;
    let items = app.store.list_cases(&query).await?;
    let next_cursor = (items.len() == query.limit as usize)
        .then(|| items.last().map(|c| encode_cursor(query.order, query.cursor(c))))
        .flatten();
    let items = items.iter().map(|c| CaseView::of(&app, c, &auth.actor)).collect();
    Ok(Json(CaseList { items, next_cursor }))
}

/// A page's cursor: `{reported_at}.{id}` newest first (as before there were orders),
/// `d{due_at}.{id}` by deadline, so that a cursor is not taken for one of the other order.
fn encode_cursor(order: CaseOrder, (at, id): (i64, i64)) -> String {
    let prefix = if order == CaseOrder::Deadline { "d" } else { "" };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{prefix}{at}.{id}"))
}

fn decode_cursor(order: CaseOrder, s: &str) -> ApiResult<(i64, i64)> {
    let bad = || ApiError::field("cursor", "is not a cursor from a previous page of this sort");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let text = match order {
        CaseOrder::Newest => text.as_str(),
        CaseOrder::Deadline => text.strip_prefix('d').ok_or_else(bad)?,
    };
    let (a, b) = text.split_once('.').ok_or_else(bad)?;
    Ok((a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?))
}

#[utoipa::path(get, path = "/cases/{key}/possible-duplicates", tag = "cases", summary = "Possible duplicates of a case",
    params(("key" = String, Path, description = "Case id or reference")),
    responses((status = 200, description = "Open cases of the same category nearby", body = PossibleDuplicates), (status = 404, description = "Not found, or outside one's scope")))]
async fn case_duplicates(
    State(app): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
) -> ApiResult<Json<PossibleDuplicates>> {
    let case = app.find_case(&auth.actor, &key).await?;
    let (Some(cat), Some(at)) = (case.category.or(case.suggested_category), case.location) else {
        return Ok(Json(PossibleDuplicates { items: vec![] }));
    };
    let category = app.category("category", cat)?;
    let found = app.possible_duplicates(&auth.actor, &category, at, case.id).await?;
    let items = found.iter().map(|(c, d)| PossibleDuplicate::of(&auth.actor, c, *d)).collect();
    Ok(Json(PossibleDuplicates { items }))
}

// ---------------------------------------------------------------- workflow actions

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    version: Option<i64>,
    category: Option<i64>,
    urgency: Option<Urgency>,
    reason: Option<String>,
    /// The original case: its id or reference.
    #[schema(value_type = Option<String>)]
    duplicate_of: Option<Value>,
    lead_department: Option<i64>,
    #[serde(default)]
    co_departments: Vec<i64>,
    deadline: Option<String>,
    until: Option<String>,
    note: Option<String>,
    text: Option<String>,
    #[serde(default)]
    evidence: Vec<String>,
    passed: Option<bool>,
    #[schema(minimum = 1, maximum = 5)]
    score: Option<u8>,
    comment: Option<String>,
}

/// The fields each action accepts besides `version`: anything else is refused by name.
fn allowed_fields(action: Action) -> &'static [&'static str] {
    match action {
        Action::Accept => &["category", "urgency", "note"],
        Action::Reject => &["reason", "duplicate_of", "note"],
        Action::Dispatch => &["lead_department", "co_departments", "deadline", "note"],
        Action::Sign => &[],
        Action::Return => &["reason"],
        Action::RequestExtension => &["until", "reason"],
        Action::ApproveExtension => &["note"],
        Action::DenyExtension => &["reason"],
        Action::ReportPart | Action::SubmitResult => &["note", "evidence"],
        Action::Verify => &["passed", "note", "evidence"],
        Action::Close => &["note"],
        Action::Rate => &["score", "comment"],
        Action::Reopen => &["reason"],
        Action::Supervise => &["note", "deadline"],
        Action::Note => &["text"],
        Action::Respond => &["note"],
        Action::Report
        | Action::OnTheSpot
        | Action::Anonymise
        | Action::Warn
        | Action::MarkOverdue
        | Action::Escalate
        | Action::AddCaller
        | Action::FindHazard
        | Action::Reinspect => &[],
    }
}

fn required<T>(field: &str, v: Option<T>) -> ApiResult<T> {
    v.ok_or_else(|| ApiError::field(field, "is required"))
}

#[utoipa::path(post, path = "/cases/{key}/actions/{action}", tag = "cases", summary = "Act on a case: one transition of the state machine",
    params(("key" = String, Path, description = "Case id or reference"), ("action" = String, Path, description = "accept, reject, dispatch, sign, return, request_extension, approve_extension, deny_extension, report_part, submit_result, verify, close, rate, reopen, supervise, respond or note")),
    request_body = ActionBody,
    responses((status = 200, description = "The case after the action", body = CaseAnswer), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "Not found, or outside one's scope"), (status = 409, description = "Wrong state or stale version; `current` holds the case as it is")))]
#[tracing::instrument(skip_all, fields(case = %path.0 .0, action = %path.0 .1, person = auth.person.id))]
async fn case_action(
    State(app): State<AppState>,
    auth: Auth,
    path: Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult<Json<CaseAnswer>> {
    let Path((key, action)) = path;
    let action = Action::parse(&action).map_err(|_| ApiError::not_found("action"))?;
    let case = app.find_case(&auth.actor, &key).await?;
    let raw: Value = if body.iter().all(u8::is_ascii_whitespace) { json!({}) } else { parse_json(&body)? };
    if let Some(obj) = raw.as_object() {
        let allowed = allowed_fields(action);
        if let Some(k) = obj.keys().find(|k| *k != "version" && !allowed.contains(&k.as_str())) {
            return Err(ApiError::field(
                k,
                format!("is not a field of `{}`; it takes: {}", action.as_str(), allowed.join(", ")),
            ));
        }
    }
    let b: ActionBody =
        parse_json(&body).or_else(|e| if raw == json!({}) { Ok(ActionBody::default()) } else { Err(e) })?;
    let note = b.note.clone();
    let cmd = match action {
        Action::Accept => Command::Accept {
            category: app.category("category", required("category", b.category)?)?,
            urgency: required("urgency", b.urgency)?,
            note,
        },
        Action::Reject => {
            let reason = Rejection::parse(&required("reason", b.reason)?)?;
            let original = match &b.duplicate_of {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(app.original(&auth.actor, s).await?),
                Some(Value::Number(n)) => Some(app.original(&auth.actor, &n.to_string()).await?),
                Some(_) => return Err(ApiError::field("duplicate_of", "must be a case id or reference")),
            };
            Command::Reject { reason, original, note }
        }
        Action::Dispatch => {
            let lead = app.department("lead_department", required("lead_department", b.lead_department)?)?;
            let co = b
                .co_departments
                .iter()
                .enumerate()
                .map(|(i, d)| app.department(&format!("co_departments[{i}]"), *d))
                .collect::<ApiResult<Vec<_>>>()?;
            let deadline = b.deadline.as_deref().map(|d| parse_rfc3339("deadline", d)).transpose()?;
            Command::Dispatch { lead, co, deadline, note }
        }
        Action::Sign => Command::Sign,
        Action::Return => Command::Return { reason: required("reason", b.reason)? },
        Action::RequestExtension => Command::RequestExtension {
            until: parse_rfc3339("until", &required("until", b.until)?)?,
            reason: required("reason", b.reason)?,
        },
        Action::ApproveExtension => Command::ApproveExtension { note },
        Action::DenyExtension => Command::DenyExtension { reason: required("reason", b.reason)? },
        Action::ReportPart => Command::ReportPart { note: required("note", note)?, evidence: b.evidence },
        Action::SubmitResult => Command::SubmitResult { note: required("note", note)?, evidence: b.evidence },
        Action::Verify => Command::Verify { passed: required("passed", b.passed)?, note, evidence: b.evidence },
        Action::Close => Command::Close { note },
        Action::Rate => Command::Rate { score: required("score", b.score)?, comment: b.comment },
        Action::Reopen => Command::Reopen { reason: required("reason", b.reason)? },
        Action::Supervise => Command::Supervise {
            note: required("note", note)?,
            deadline: b.deadline.as_deref().map(|d| parse_rfc3339("deadline", d)).transpose()?,
        },
        Action::Note => Command::Note { text: required("text", b.text)? },
        Action::Respond => Command::Respond { note: required("note", note)? },
        Action::Report
        | Action::OnTheSpot
        | Action::Anonymise
        | Action::Warn
        | Action::MarkOverdue
        | Action::Escalate
        // Their own doors: `POST /cases/{key}/callers`, `POST /inspections`.
        | Action::AddCaller
        | Action::FindHazard
        | Action::Reinspect => return Err(ApiError::not_found("action")),
    };
    let case = app.act(&auth.actor, case, b.version, cmd).await?;
    Ok(Json(CaseAnswer { case: CaseView::of(&app, &case, &auth.actor) }))
}
