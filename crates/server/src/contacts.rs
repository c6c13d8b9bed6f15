//! "Your grid member" (issue 17): the public card of who answers for a point — the grid, its grid
//! members and the community's leaders with photo, office hours and the work phone of those who
//! consented (`GET /grid-card`) —, short messages to them through the platform
//! (`POST /grid-card/messages`), read by their recipient (`/me/messages`), and the card kept by
//! its person (`/me/card`) or an admin (`/admin/people/{id}/card`).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::Json;
use gridkeeper_domain::time::{to_rfc3339, DAY};
use gridkeeper_domain::{parse_phone, LatLon, Permission, PersonId, RegionCode, RegionLevel, Role};
use gridkeeper_geo::Crs;
use gridkeeper_store::vault::mask_phone;
use gridkeeper_store::{Assignment, CardProfile, ContactMessage, MessageLimit, NewAudit, NewContactMessage};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, MaybeAuth};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Query};
use crate::http::administer;
use crate::responsibility::RegionName;
use crate::{regions, App, AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(grid_card))
        .routes(routes!(send_message))
        .routes(routes!(my_card, put_my_card))
        .routes(routes!(get_card, put_card))
        .routes(routes!(my_messages))
        .routes(routes!(read_message))
        .routes(routes!(reveal_sender))
}

/// The most characters of a message, and of office hours.
pub const MAX_MESSAGE: usize = 500;
pub const MAX_OFFICE_HOURS: usize = 200;
/// Messages one sender (a person, or the phone left) may send a day.
pub const MESSAGES_PER_DAY: u32 = 5;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct CardQuery {
    /// Latitude
    lat: f64,
    /// Longitude
    lon: f64,
    /// wgs84 (default), gcj02 or bd09
    crs: Option<String>,
}

/// A grid member or leader as the public card shows them.
#[derive(Serialize, ToSchema)]
pub struct CardPerson {
    /// Whom to send a message to (`POST /grid-card/messages`).
    pub person: i64,
    /// grid_member or grid_leader
    #[schema(value_type = String)]
    pub role: Role,
    pub name: String,
    /// The photo's thumbnail, if they gave one.
    pub photo_url: Option<String>,
    pub office_hours: Option<String>,
    /// Their work phone: only when they consented to show it.
    pub phone: Option<String>,
    /// A message through the platform reaches them (always; the only way when `phone` is null).
    pub message: bool,
}

/// `GET /grid-card`: the grid of a point and who answers for it.
#[derive(Serialize, ToSchema)]
pub struct GridCard {
    /// The point converted to WGS-84.
    pub wgs84: LatLon,
    pub grid: RegionName,
    pub community: Option<RegionName>,
    /// The grid's members.
    pub grid_members: Vec<CardPerson>,
    /// The community's grid leaders.
    pub community_leaders: Vec<CardPerson>,
    /// The grid has no grid member: its community's leaders answer for it.
    pub fallback: bool,
}

fn region_name(app: &App, code: &RegionCode) -> Option<RegionName> {
    app.reference().regions.get(code).map(|x| RegionName {
        code: x.code.clone(),
        name: x.name.clone(),
        name_en: x.name_en.clone(),
        level: x.level(),
    })
}

async fn card_person(app: &App, a: &Assignment) -> ApiResult<Option<CardPerson>> {
    let Some(p) = app.store.person(a.person).await? else { return Ok(None) };
    if p.disabled {
        return Ok(None);
    }
    let card = app.store.card_profile(p.id).await?.unwrap_or_default();
    Ok(Some(CardPerson {
        person: p.id,
        role: a.role,
        name: p.name,
        photo_url: card.photo.map(|m| format!("/api/v1/media/{m}/thumbnail")),
        office_hours: card.office_hours,
        // Never a phone the person did not consent to show.
        phone: if card.phone_public { p.phone } else { None },
        message: true,
    }))
}

async fn card_people(app: &App, list: &[Assignment]) -> ApiResult<Vec<CardPerson>> {
    let mut out = Vec::with_capacity(list.len());
    for a in list {
        if let Some(c) = card_person(app, a).await? {
            out.push(c);
        }
    }
    Ok(out)
}

/// The grid of a point (404 naming `lat` outside every grid).
fn grid_at(app: &App, lat: f64, lon: f64, crs: Option<&str>) -> ApiResult<(LatLon, RegionCode)> {
    let crs = crs.map(Crs::parse).transpose()?.unwrap_or_default();
    let wgs84 = crs.to_wgs84(LatLon::new(lat, lon)?);
    let grid =
        app.reference().grids.locate(wgs84).ok_or_else(|| {
            ApiError::unknown("lat", "the point (lat, lon) lies outside every grid of the jurisdiction")
        })?;
    Ok((wgs84, grid))
}

/// `GET /grid-card?lat=&lon=&crs=`: the grid containing a point, its grid members and the
/// community's leaders, with their photos, office hours and — where they consented — work phones.
#[utoipa::path(get, path = "/grid-card", tag = "geo", operation_id = "grid_card", summary = "Your grid member: who answers for a point, and how to reach them",
    security((), ("bearer" = []), ("session_cookie" = [])), params(CardQuery),
    responses((status = 200, description = "The grid and its people (a phone only where its owner consented)", body = GridCard), (status = 404, description = "The point lies outside every grid (names `lat`)")))]
async fn grid_card(State(app): State<AppState>, Query(q): Query<CardQuery>) -> ApiResult<Json<GridCard>> {
    let (wgs84, grid) = grid_at(&app, q.lat, q.lon, q.crs.as_deref())?;
    let resp = regions::responsible_for(app.store.as_ref(), &grid, app.now()).await?;
    Ok(Json(GridCard {
        wgs84,
        grid: region_name(&app, &grid).ok_or_else(|| ApiError::not_found("grid"))?,
        community: grid.at_level(RegionLevel::Community).and_then(|c| region_name(&app, &c)),
        grid_members: card_people(&app, &resp.grid_members).await?,
        community_leaders: card_people(&app, &resp.grid_leaders).await?,
        fallback: resp.fallback,
    }))
}

/// `POST /grid-card/messages`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MessageRequest {
    /// The grid the card was shown for.
    #[schema(pattern = r"^(?!000000)[0-9]{6}(?!000)[0-9]{3}(?!000)[0-9]{3}(?!000)[0-9]{3}$")]
    grid: String,
    /// The person of the card (`person` of a `CardPerson`).
    to: i64,
    /// The message: 1 to 500 characters.
    #[schema(max_length = 500)]
    text: String,
    /// How the grid member may call them back: required when not signed in (a signed-in
    /// person's own phone is used when this is left out).
    phone: Option<String>,
    /// Their name, if they wish.
    #[schema(max_length = 50)]
    name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MessageSent {
    pub id: i64,
}

/// `POST /grid-card/messages`: a short message to a grid member or leader of a grid, delivered to
/// their messages on the platform. Anyone may send one; without signing in, a phone is required.
/// Each sender may send five a day, each address as many as it may ask for sign-in codes.
#[utoipa::path(post, path = "/grid-card/messages", tag = "geo", operation_id = "message_grid_member", summary = "Send a message to a grid member or leader",
    security((), ("bearer" = []), ("session_cookie" = [])), request_body = MessageRequest,
    responses((status = 201, description = "Sent", body = MessageSent), (status = 401, description = "Not signed in and no phone left to be called back on (names `phone`)"), (status = 404, description = "`to` does not answer for `grid` now, or `grid` is no grid"), (status = 429, description = "Too many messages")))]
async fn send_message(
    State(app): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    auth: MaybeAuth,
    ApiJson(b): ApiJson<MessageRequest>,
) -> ApiResult<(StatusCode, Json<MessageSent>)> {
    let text = gridkeeper_domain::required_text("text", &b.text, MAX_MESSAGE)?;
    let text = text.as_str();
    let name = gridkeeper_domain::optional_text("name", b.name.as_deref(), 50)?;
    let phone = b.phone.as_deref().map(parse_phone).transpose()?;
    let sender = auth.0.as_ref().map(|a| a.person.id);
    let phone = phone.or_else(|| auth.0.as_ref().and_then(|a| a.person.phone.clone()));
    if sender.is_none() && phone.is_none() {
        // Who sends it must be reachable: signed in, or by the phone left (401, not 422: the
        // same message from someone signed in is fine).
        let mut e = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Sign in required",
            "sign in, or leave a phone so that you can be called back",
        );
        e.set_field("phone", "sign in, or leave a phone so that you can be called back");
        return Err(e);
    }
    let grid = RegionCode::parse(&b.grid).map_err(|e| ApiError::field("grid", e.reason))?;
    if grid.level() != RegionLevel::Grid || !app.reference().regions.contains_key(&grid) {
        return Err(ApiError::unknown("grid", format!("no grid {grid}")));
    }
    let now = app.now();
    let resp = regions::responsible_for(app.store.as_ref(), &grid, now).await?;
    if !resp.grid_members.iter().chain(&resp.grid_leaders).any(|a| a.person == b.to) {
        return Err(ApiError::unknown("to", format!("person {} does not answer for grid {grid}", b.to)));
    }
    // Anonymous messages count against the address as sign-in code requests do.
    if sender.is_none() {
        let ip = format!("ip:{}", addr.ip());
        let (_, per_ip) = app.limits();
        if let Some(until) = app.store.locked_until(&ip, now).await? {
            return Err(crate::accounts::too_many(until, now));
        }
        if let Some(until) = app.store.record_failure(&ip, now, per_ip).await? {
            return Err(crate::accounts::too_many(until, now));
        }
    }
    let m = NewContactMessage {
        recipient: b.to,
        grid,
        sender,
        sender_name: name.or_else(|| auth.0.as_ref().map(|a| a.person.name.clone())),
        sender_phone: phone,
        body: text.to_string(),
        created_at: now,
    };
    let id = app
        .store
        .send_contact_message(&m, MessageLimit { since: now - DAY, max: MESSAGES_PER_DAY })
        .await?
        .ok_or_else(|| {
            ApiError::too_many(
                "too-many-messages",
                "Too many messages",
                format!("at most {MESSAGES_PER_DAY} messages a day; call the hotline if it is urgent"),
                3600,
            )
        })?;
    Ok((StatusCode::CREATED, Json(MessageSent { id })))
}

/// One's own card, as the public sees it and as one edits it.
#[derive(Serialize, ToSchema)]
pub struct CardView {
    pub person: i64,
    /// The media id of the photo (upload it with `POST /media`).
    pub photo: Option<String>,
    pub photo_url: Option<String>,
    pub office_hours: Option<String>,
    /// Whether the work phone is shown on the card.
    pub phone_public: bool,
    /// The work phone on the account (shown on the card only with `phone_public`).
    pub phone: Option<String>,
}

/// `PUT /me/card`, `PUT /admin/people/{id}/card`: the whole card.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CardBody {
    /// The media id of an image uploaded with `POST /media` (by the person, or the admin); null: none.
    photo: Option<String>,
    /// Free text, at most 200 characters; null: none.
    office_hours: Option<String>,
    /// Show the work phone on the card (default no).
    #[serde(default)]
    phone_public: bool,
}

async fn card_view(app: &App, person: PersonId, phone: Option<String>) -> ApiResult<CardView> {
    let card = app.store.card_profile(person).await?.ok_or_else(|| ApiError::not_found("person"))?;
    Ok(CardView {
        person,
        photo_url: card.photo.as_ref().map(|m| format!("/api/v1/media/{m}/thumbnail")),
        photo: card.photo,
        office_hours: card.office_hours,
        phone_public: card.phone_public,
        phone,
    })
}

/// Checks a card's fields: the photo an image uploaded by `uploader` or the person.
async fn card_of(app: &App, b: CardBody, person: PersonId, uploader: PersonId) -> ApiResult<CardProfile> {
    let office_hours = b.office_hours.as_deref().map(str::trim).filter(|h| !h.is_empty()).map(str::to_string);
    if office_hours.as_ref().is_some_and(|h| h.chars().count() > MAX_OFFICE_HOURS) {
        return Err(ApiError::field("office_hours", format!("at most {MAX_OFFICE_HOURS} characters")));
    }
    if let Some(photo) = &b.photo {
        let m = app.store.media(photo).await?;
        let own = m.as_ref().is_some_and(|m| {
            m.case_id.is_none()
                && m.content_type.starts_with("image/")
                && (m.uploaded_by == Some(uploader) || m.uploaded_by == Some(person))
        });
        // Someone else's photo, or one of a case, is refused as if it did not exist.
        if !own && app.store.card_profile(person).await?.and_then(|c| c.photo).as_ref() != Some(photo) {
            return Err(ApiError::unknown("photo", "no image of yours with this id (upload it with POST /media)"));
        }
    }
    Ok(CardProfile { photo: b.photo, office_hours, phone_public: b.phone_public })
}

#[utoipa::path(get, path = "/me/card", tag = "geo", operation_id = "my_card", summary = "One's own contact card (grid members and leaders)",
    responses((status = 200, description = "The card", body = CardView), (status = 403, description = "Not allowed (role, scope or CSRF token)")))]
async fn my_card(State(app): State<AppState>, auth: Auth) -> ApiResult<Json<CardView>> {
    administer(&auth.actor, Permission::EditOwnCard { person: auth.person.id })?;
    Ok(Json(card_view(&app, auth.person.id, auth.person.phone.clone()).await?))
}

#[utoipa::path(put, path = "/me/card", tag = "geo", operation_id = "put_my_card", summary = "Change one's own contact card: photo, office hours, whether the work phone is shown",
    request_body = CardBody,
    responses((status = 200, description = "The card", body = CardView), (status = 403, description = "Not allowed (role, scope or CSRF token)")))]
async fn put_my_card(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(b): ApiJson<CardBody>,
) -> ApiResult<Json<CardView>> {
    let me = auth.person.id;
    administer(&auth.actor, Permission::EditOwnCard { person: me })?;
    let card = card_of(&app, b, me, me).await?;
    app.store.put_card_profile(me, &card, None).await?;
    Ok(Json(card_view(&app, me, auth.person.phone.clone()).await?))
}

#[utoipa::path(get, path = "/admin/people/{id}/card", tag = "admin", operation_id = "get_card", summary = "A person's contact card",
    params(("id" = i64, Path, description = "Person id")),
    responses((status = 200, description = "The card", body = CardView), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "Not found, or outside one's scope")))]
async fn get_card(State(app): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<CardView>> {
    let p = crate::admin::managed_person(&app, &auth, &id).await?;
    Ok(Json(card_view(&app, p.id, p.phone).await?))
}

#[utoipa::path(put, path = "/admin/people/{id}/card", tag = "admin", operation_id = "put_card", summary = "Change a person's contact card (audited)",
    params(("id" = i64, Path, description = "Person id")), request_body = CardBody,
    responses((status = 200, description = "The card", body = CardView), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "Not found, or outside one's scope")))]
async fn put_card(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<CardBody>,
) -> ApiResult<Json<CardView>> {
    let p = crate::admin::managed_person(&app, &auth, &id).await?;
    let card = card_of(&app, b, p.id, auth.person.id).await?;
    let now = app.now();
    let audit = NewAudit {
        at: now,
        actor: Some(auth.person.id),
        action: "card".into(),
        object: Some(format!("person:{}", p.id)),
        detail: json!({ "photo": card.photo, "office_hours": card.office_hours, "phone_public": card.phone_public }),
    };
    app.store.put_card_profile(p.id, &card, Some(&audit)).await?;
    Ok(Json(card_view(&app, p.id, p.phone).await?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct MessagesQuery {
    /// Messages older than this one (the `next_before` of the previous page).
    #[param(minimum = 1)]
    before: Option<i64>,
}

/// A message to one, with who sent it and how to reach them (the phone masked until revealed).
#[derive(Serialize, ToSchema)]
pub struct MessageView {
    pub id: i64,
    #[schema(value_type = String)]
    pub grid: RegionCode,
    /// The sender's account, if they were signed in.
    pub sender: Option<i64>,
    pub sender_name: Option<String>,
    /// Masked (138****5678); `POST /me/messages/{id}/reveal` shows it (audited).
    pub sender_phone: Option<String>,
    pub text: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub read_at: Option<String>,
}

impl From<ContactMessage> for MessageView {
    fn from(m: ContactMessage) -> Self {
        MessageView {
            id: m.id,
            grid: m.grid,
            sender: m.sender,
            sender_name: m.sender_name,
            sender_phone: m.sender_phone.as_deref().map(mask_phone),
            text: m.body,
            created_at: to_rfc3339(m.created_at),
            read_at: m.read_at.map(to_rfc3339),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MessageList {
    pub items: Vec<MessageView>,
    pub unread: u64,
    pub next_before: Option<i64>,
}

const MESSAGE_PAGE: u32 = 30;

#[utoipa::path(get, path = "/me/messages", tag = "notices", operation_id = "my_messages", summary = "The messages people sent one through one's contact card, newest first",
    params(MessagesQuery),
    responses((status = 200, description = "A page of messages", body = MessageList)))]
async fn my_messages(
    State(app): State<AppState>,
    auth: Auth,
    Query(q): Query<MessagesQuery>,
) -> ApiResult<Json<MessageList>> {
    if q.before.is_some_and(|b| b < 1) {
        return Err(ApiError::field("before", "a message id (1 or more)"));
    }
    let rows = app.store.contact_messages(auth.person.id, q.before, MESSAGE_PAGE).await?;
    let next_before = (rows.len() == MESSAGE_PAGE as usize).then(|| rows.last().map(|m| m.id)).flatten();
    Ok(Json(MessageList {
        unread: app.store.unread_contact_messages(auth.person.id).await?,
        items: rows.into_iter().map(MessageView::from).collect(),
        next_before,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct MessageRead {
    /// Messages still unread.
    pub unread: u64,
}

#[utoipa::path(post, path = "/me/messages/{id}/read", tag = "notices", operation_id = "read_message", summary = "Mark a message read",
    params(("id" = i64, Path, description = "Message id")),
    responses((status = 200, description = "Marked read", body = MessageRead), (status = 404, description = "Not found, or outside one's scope")))]
async fn read_message(State(app): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<Json<MessageRead>> {
    if !app.store.read_contact_message(auth.person.id, id, app.now()).await? {
        return Err(ApiError::not_found("message"));
    }
    Ok(Json(MessageRead { unread: app.store.unread_contact_messages(auth.person.id).await? }))
}

#[derive(Serialize, ToSchema)]
pub struct SenderRevealed {
    pub sender_name: Option<String>,
    pub sender_phone: Option<String>,
}

/// The sender's phone in clear, to call them back; written to the audit log as `reveal`.
#[utoipa::path(post, path = "/me/messages/{id}/reveal", tag = "notices", operation_id = "reveal_sender", summary = "The sender's phone in clear (audited)",
    params(("id" = i64, Path, description = "Message id")),
    responses((status = 200, description = "The sender's details", body = SenderRevealed), (status = 404, description = "Not found, or outside one's scope")))]
async fn reveal_sender(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<SenderRevealed>> {
    let m = app
        .store
        .contact_messages(auth.person.id, Some(id.saturating_add(1)), 1)
        .await?
        .into_iter()
        .find(|m| m.id == id)
        .ok_or_else(|| ApiError::not_found("message"))?;
    app.store
        .audit(&NewAudit {
            at: app.now(),
            actor: Some(auth.person.id),
            action: "reveal".into(),
            object: Some(format!("message:{id}")),
            detail: json!({ "fields": ["sender_name", "sender_phone"] }),
        })
        .await?;
    Ok(Json(SenderRevealed { sender_name: m.sender_name, sender_phone: m.sender_phone }))
}
