//! Notifications in the server: the worker that fans the outbox out into notices and delivers
//! the SMS and e-mails among them (retries with backoff, a dead-letter list, at least once, each
//! with its notice id as the idempotency key), and the endpoints of the inbox, people's choices,
//! follows, the admin's texts and undelivered notices, and one-click unsubscribe.
//!
//! Who is told what is `gridkeeper_domain::notices`; the outbox is written with every case event
//! in its transaction (the store), so a crash loses no notice.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gridkeeper_domain::notices::{default_channels, Channel, NoticeKind, NoticeSettings, Template};
use gridkeeper_domain::{may, LatLon, Millis, Permission, RegionCode};
use gridkeeper_store::{Follow, FollowTarget, NoticeAttempt, NoticeContext, NoticeRow, StoreError, TemplateRow};
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Auth;
use crate::channels::Channels;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Query};
use crate::{App, AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(inbox))
        .routes(routes!(read_one))
        .routes(routes!(read_all))
        .routes(routes!(my_settings, put_my_settings))
        .routes(routes!(bind_wechat, unbind_wechat))
        .routes(routes!(my_follows, follow))
        .routes(routes!(unfollow))
        .routes(routes!(templates))
        .routes(routes!(put_template, reset_template))
        .routes(routes!(undelivered))
        .routes(routes!(retry))
        .routes(routes!(unsubscribe))
}

/// The `[server.notices]` section of the configuration: how notices leave the platform.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NoticeDelivery {
    /// Run the delivery worker in this process.
    pub enabled: bool,
    /// How often the worker looks for new events and due notices, in milliseconds.
    pub poll_ms: u64,
    /// The first retry waits this long; each further one twice as long (at most 6 hours).
    pub retry_base_ms: u64,
    /// Attempts before a notice goes to the dead-letter list.
    pub max_attempts: u32,
    /// Time a gateway or mail server has to take one notice.
    pub timeout_seconds: u64,
    /// An SMS gateway that takes `POST {"id", "to", "text"}` (JSON) with the notice's id also in
    /// `Idempotency-Key`; 2xx is sent, 4xx (but 408 and 429) is refused for good, anything else
    /// is tried again. Without it, SMS go through the server's own sender (the log, in the demo).
    pub sms_gateway_url: Option<String>,
    /// Sent as `Authorization: Bearer …` to the gateway.
    pub sms_gateway_token: Option<String>,
    /// The mail server: `smtp://host:587?tls=required`, `smtps://user:password@host`, or
    /// `smtp://127.0.0.1:2525` for a local relay. Without it, nobody can choose e-mail.
    pub smtp_url: Option<String>,
    /// The sender of e-mails.
    pub mail_from: String,
    /// A WeChat official account's API (`https://api.weixin.qq.com`): template messages to those
    /// who bound their WeChat. Without it (or the id and secret), nobody can choose WeChat.
    pub wechat_api_url: Option<String>,
    pub wechat_app_id: Option<String>,
    pub wechat_app_secret: Option<String>,
    /// The template message used (fields `first`, `keyword1` the case, `keyword2` the time,
    /// `remark` the text).
    pub wechat_template_id: Option<String>,
}

impl Default for NoticeDelivery {
    fn default() -> Self {
        Self {
            enabled: true,
            poll_ms: 1000,
            retry_base_ms: 30_000,
            max_attempts: 8,
            timeout_seconds: 10,
            sms_gateway_url: None,
            sms_gateway_token: None,
            smtp_url: None,
            mail_from: "gridkeeper <noreply@localhost>".into(),
            wechat_api_url: None,
            wechat_app_id: None,
            wechat_app_secret: None,
            wechat_template_id: None,
        }
    }
}

impl NoticeDelivery {
    /// Checks the section at start, naming the setting at fault.
    pub fn validate(&self) -> Result<(), crate::StartupError> {
        if let Some(url) = &self.sms_gateway_url {
            crate::http::http_url(url).map_err(|reason| format!("server.notices.sms_gateway_url: `{url}` {reason}"))?;
        }
        if let Some(url) = &self.smtp_url {
            AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .map_err(|e| format!("server.notices.smtp_url: `{}` is not a mail server URL ({e})", mask_url(url)))?;
        }
        self.mail_from
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| format!("server.notices.mail_from: `{}` is not an address ({e})", self.mail_from))?;
        if let Some(url) = &self.wechat_api_url {
            crate::http::http_url(url).map_err(|reason| format!("server.notices.wechat_api_url: `{url}` {reason}"))?;
            for (name, v) in [
                ("wechat_app_id", &self.wechat_app_id),
                ("wechat_app_secret", &self.wechat_app_secret),
                ("wechat_template_id", &self.wechat_template_id),
            ] {
                if v.as_deref().is_none_or(|v| v.trim().is_empty()) {
                    return Err(format!("server.notices.{name}: needed with wechat_api_url").into());
                }
            }
        }
        Ok(())
    }

    /// Whether WeChat template messages can be sent.
    pub fn wechat(&self) -> bool {
        self.wechat_api_url.is_some()
    }

    /// When to try again after `attempts` failed attempts; `None` when it is time to give up.
    pub fn retry_at(&self, now: Millis, attempts: u32) -> Option<Millis> {
        crate::webhooks::backoff(self.retry_base_ms, self.max_attempts, now, attempts)
    }
}

/// A URL without its password, for messages.
fn mask_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

// ---------------------------------------------------------------- the worker

/// Starts the worker on the runtime; it runs until the process ends.
pub fn start(app: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let s = app.settings.notices.clone();
        let channels = match Channels::new(&app) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "the notice worker cannot start");
                return;
            }
        };
        loop {
            if let Err(e) = round(&app, &s, &channels).await {
                tracing::warn!(error = %e, "a round of notices failed; trying again");
            }
            tokio::time::sleep(Duration::from_millis(s.poll_ms.max(10))).await;
        }
    })
}

/// One round: fan new events out into notices, then send what is due. Answers how many were
/// sent (tests run rounds themselves).
pub async fn round_once(app: &AppState) -> Result<usize, StoreError> {
    let s = app.settings.notices.clone();
    let channels =
        Channels::new(app).map_err(|e| StoreError::Invalid(gridkeeper_domain::FieldError::new("server.notices", e)))?;
    round(app, &s, &channels).await
}

async fn round(app: &App, s: &NoticeDelivery, channels: &Channels) -> Result<usize, StoreError> {
    let base = app.settings.public_url().unwrap_or_default();
    loop {
        let ctx = NoticeContext { now: app.now(), base_url: &base, utc_offset_hours: app.settings.utc_offset_hours };
        if app.store.fan_out_notices(200, &ctx).await? < 200 {
            break;
        }
    }
    loop {
        let ctx = NoticeContext { now: app.now(), base_url: &base, utc_offset_hours: app.settings.utc_offset_hours };
        if app.store.push_urgent_articles(20, &ctx, &|p| app.locate(p)).await? < 20 {
            break;
        }
    }
    let mut sent = 0;
    loop {
        let now = app.now();
        // The batch is sent concurrently, each send bounded by the timeout: a lease of the
        // timeout and a margin covers it; a worker that dies leaves it to expire, and the
        // notices are sent again (with the same id) after it.
        let lease = now + (s.timeout_seconds.max(1) as Millis + 5) * 1000;
        let due = app.store.claim_notices(now, lease, 20).await?;
        if due.is_empty() {
            return Ok(sent);
        }
        let results = futures::future::join_all(due.iter().map(|n| channels.send(app, n))).await;
        for (n, result) in due.iter().zip(results) {
            let attempt = match result {
                Ok(()) => {
                    sent += 1;
                    NoticeAttempt::Sent
                }
                Err(f) => {
                    let retry_at = if f.again { s.retry_at(app.now(), n.attempts + 1) } else { None };
                    tracing::warn!(notice = n.id, channel = n.channel.as_str(), error = %f.error, dead = retry_at.is_none(), "a notice was not sent");
                    NoticeAttempt::Failed { error: f.error, retry_at }
                }
            };
            record(app, n.id, &attempt).await?;
        }
    }
}

/// Records an outcome, trying again a few times when the database is busy: the message has
/// left, and an outcome left unrecorded would send it once more when the lease runs out.
async fn record(app: &App, id: i64, attempt: &NoticeAttempt) -> Result<(), StoreError> {
    let mut wait = Duration::from_millis(50);
    for _ in 0..5 {
        match app.store.record_notice(id, attempt, app.now()).await {
            Ok(()) => return Ok(()),
            Err(e) => tracing::warn!(notice = id, error = %e, "recording a notice's delivery failed; trying again"),
        }
        tokio::time::sleep(wait).await;
        wait *= 2;
    }
    app.store.record_notice(id, attempt, app.now()).await
}

/// The token of a one-click unsubscribe from e-mails of `kind`: who, what, and a signature.
pub(crate) fn unsubscribe_token(app: &App, person: i64, kind: NoticeKind) -> String {
    let text = format!("unsubscribe:{person}:{}", kind.as_str());
    format!("{person}.{}.{}", kind.as_str(), &app.store.sign(&text)[..32])
}

// ---------------------------------------------------------------- the inbox

/// A notice in the inbox.
#[derive(Serialize, ToSchema)]
pub struct InboxNotice {
    pub id: i64,
    pub kind: NoticeKind,
    /// The case it tells of (none for an urgent notice or an overdue inspection).
    pub case_id: Option<i64>,
    /// The urgent article it pushes.
    pub article_id: Option<i64>,
    pub subject: String,
    pub body: String,
    /// Where the notice leads: the case, the reporter's list, the article, or the safety file of
    /// an overdue inspection.
    pub link: String,
    pub created_at: String,
    pub read: bool,
}

impl From<NoticeRow> for InboxNotice {
    fn from(n: NoticeRow) -> Self {
        Self {
            id: n.id,
            kind: n.kind,
            case_id: n.case_id,
            article_id: n.article_id,
            subject: n.subject,
            body: n.body,
            link: n.link,
            created_at: gridkeeper_domain::time::to_rfc3339(n.created_at),
            read: n.read_at.is_some(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Inbox {
    /// Newest first.
    pub items: Vec<InboxNotice>,
    /// Notices not read yet, in all.
    pub unread: u64,
    /// The `before` of the next page, when there may be one.
    pub next_before: Option<i64>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// Notices older than this one (the `next_before` of the previous page).
    #[param(minimum = 1)]
    pub before: Option<i64>,
    /// At most this many (1–100, default 30).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/inbox", tag = "notices", operation_id = "inbox", summary = "One's notices, newest first, and how many are unread",
    params(InboxQuery),
    responses((status = 200, description = "A page of the inbox", body = Inbox)))]
async fn inbox(State(app): State<AppState>, auth: Auth, Query(q): Query<InboxQuery>) -> ApiResult<Json<Inbox>> {
    let limit = q.limit.unwrap_or(30);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::field("limit", "a whole number from 1 to 100"));
    }
    if q.before.is_some_and(|b| b < 1) {
        return Err(ApiError::field("before", "a notice id (1 or more)"));
    }
    let rows = app.store.inbox(auth.person.id, q.before, limit).await?;
    let next_before = (rows.len() == limit as usize).then(|| rows.last().map(|n| n.id)).flatten();
    Ok(Json(Inbox {
        unread: app.store.unread_notices(auth.person.id).await?,
        items: rows.into_iter().map(InboxNotice::from).collect(),
        next_before,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct ReadAnswer {
    /// Notices marked read now.
    pub changed: u64,
    /// Notices still unread.
    pub unread: u64,
}

#[utoipa::path(post, path = "/inbox/{id}/read", tag = "notices", operation_id = "read_notice", summary = "Mark a notice read",
    params(("id" = i64, Path, description = "Notice id")),
    responses((status = 200, description = "Marked read (`changed` is 0 when it was read already)", body = ReadAnswer), (status = 404, description = "Not found, or outside one's scope")))]
async fn read_one(State(app): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<Json<ReadAnswer>> {
    let changed = app.store.mark_notices_read(auth.person.id, Some(id), app.now()).await?;
    if changed == 0 && !app.store.inbox(auth.person.id, Some(id.saturating_add(1)), 1).await?.iter().any(|n| n.id == id)
    {
        return Err(ApiError::not_found("notice"));
    }
    Ok(Json(ReadAnswer { changed, unread: app.store.unread_notices(auth.person.id).await? }))
}

#[utoipa::path(post, path = "/inbox/read", tag = "notices", operation_id = "read_all_notices", summary = "Mark every notice read",
    responses((status = 200, description = "Marked read", body = ReadAnswer)))]
async fn read_all(State(app): State<AppState>, auth: Auth) -> ApiResult<Json<ReadAnswer>> {
    let changed = app.store.mark_notices_read(auth.person.id, None, app.now()).await?;
    Ok(Json(ReadAnswer { changed, unread: 0 }))
}

// ---------------------------------------------------------------- choices

/// One kind of notice as the settings page lists it.
#[derive(Serialize, ToSchema)]
pub struct KindChoice {
    pub kind: NoticeKind,
    /// The channels chosen (or the default, when nothing was chosen), besides the inbox.
    pub channels: Vec<Channel>,
    pub default: Vec<Channel>,
}

#[derive(Serialize, ToSchema)]
pub struct MyNoticeSettings {
    pub settings: NoticeSettings,
    /// The kinds that concern this person (residents: their reports; staff: their work too).
    pub kinds: Vec<KindChoice>,
    /// The e-mail address notices go to, if given.
    pub email: Option<String>,
    /// Whether the platform can send e-mail (a mail server is configured).
    pub email_available: bool,
    /// Whether the person has a phone number for SMS (masked).
    pub phone: Option<String>,
    /// Whether the platform sends WeChat template messages.
    pub wechat_available: bool,
    /// Whether the person bound their WeChat.
    pub wechat_bound: bool,
    /// Where to send the person to bind their WeChat (opened inside WeChat; it comes back to
    /// `/wechat/bind` with a code for `POST /me/wechat`).
    pub wechat_authorize_url: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeSettingsBody {
    pub settings: NoticeSettings,
    /// An e-mail address for notices (needed when e-mail is chosen); empty or absent: none.
    #[schema(format = Email)]
    pub email: Option<String>,
}

async fn settings_answer(app: &App, auth: &Auth) -> ApiResult<MyNoticeSettings> {
    let (settings, addresses) = app.store.notice_settings(auth.person.id).await?;
    let staff = auth.actor.is_staff();
    let kinds = NoticeKind::ALL
        .into_iter()
        .filter(|k| staff || k.is_for_residents())
        .map(|kind| {
            let default: Vec<Channel> =
                default_channels(kind, staff).into_iter().filter(|c| *c != Channel::Inbox).collect();
            KindChoice {
                kind,
                channels: settings.channels.get(&kind).cloned().unwrap_or_else(|| default.clone()),
                default,
            }
        })
        .collect();
    let n = &app.settings.notices;
    let wechat_authorize_url = match (n.wechat(), &n.wechat_app_id) {
        (true, Some(app_id)) => {
            let back = format!("{}/wechat/bind", app.settings.public_url().unwrap_or_default());
            let back: String = url_encode(&back);
            Some(format!(
                "https://open.weixin.qq.com/connect/oauth2/authorize?appid={app_id}&redirect_uri={back}&response_type=code&scope=snsapi_base#wechat_redirect"
            ))
        }
        _ => None,
    };
    Ok(MyNoticeSettings {
        settings,
        kinds,
        email: addresses.email,
        email_available: n.smtp_url.is_some(),
        phone: auth.person.phone.as_deref().map(gridkeeper_store::vault::mask_phone),
        wechat_available: n.wechat(),
        wechat_bound: addresses.wechat.is_some(),
        wechat_authorize_url,
    })
}

#[utoipa::path(get, path = "/me/notices", tag = "notices", operation_id = "my_notice_settings", summary = "How one is told: channels per kind, quiet hours, daily cap, language",
    responses((status = 200, description = "One's choices (the defaults until changed)", body = MyNoticeSettings)))]
async fn my_settings(State(app): State<AppState>, auth: Auth) -> ApiResult<Json<MyNoticeSettings>> {
    Ok(Json(settings_answer(&app, &auth).await?))
}

#[utoipa::path(put, path = "/me/notices", tag = "notices", operation_id = "put_my_notice_settings", summary = "Choose how one is told",
    request_body = NoticeSettingsBody,
    responses((status = 200, description = "Stored", body = MyNoticeSettings), (status = 409, description = "A channel chosen that the platform does not send, or the person cannot receive yet (no phone, WeChat not bound)"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn put_my_settings(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<NoticeSettingsBody>,
) -> ApiResult<Json<MyNoticeSettings>> {
    body.settings.validate().map_err(ApiError::invalid)?;
    let email = body.email.as_deref().map(str::trim).filter(|e| !e.is_empty());
    if let Some(e) = email {
        if e.len() > 254 || e.parse::<lettre::Address>().is_err() {
            return Err(ApiError::field("email", "not an e-mail address (name@example.com)"));
        }
    }
    let wants_email = body.settings.channels.values().any(|c| c.contains(&Channel::Email));
    if wants_email && email.is_none() {
        return Err(ApiError::field("email", "give an e-mail address to be told by e-mail"));
    }
    // A channel the platform or the person cannot use yet: the request is valid, the state is not.
    if wants_email && app.settings.notices.smtp_url.is_none() {
        return Err(ApiError::conflicting("channels", "this platform sends no e-mail (no mail server is configured)"));
    }
    if body.settings.channels.values().any(|c| c.contains(&Channel::Sms)) && auth.person.phone.is_none() {
        return Err(ApiError::conflicting("channels", "SMS needs a phone number on your account"));
    }
    if body.settings.channels.values().any(|c| c.contains(&Channel::Wechat)) {
        if !app.settings.notices.wechat() {
            return Err(ApiError::conflicting("channels", "this platform sends no WeChat messages"));
        }
        if app.store.notice_settings(auth.person.id).await?.1.wechat.is_none() {
            return Err(ApiError::conflicting("channels", "bind your WeChat first"));
        }
    }
    app.store.put_notice_settings(auth.person.id, &body.settings, email, app.now()).await?;
    Ok(Json(settings_answer(&app, &auth).await?))
}

/// `https%3A%2F%2F…`: a URL as a query value.
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WechatCode {
    /// The code WeChat gave `/wechat/bind` after the person agreed.
    pub code: String,
}

#[utoipa::path(post, path = "/me/wechat", tag = "notices", operation_id = "bind_wechat", summary = "Bind one's WeChat (the code of WeChat's web authorisation) to be told by WeChat",
    request_body = WechatCode,
    responses((status = 200, description = "Bound", body = MyNoticeSettings), (status = 409, description = "This platform sends no WeChat messages"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn bind_wechat(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(b): ApiJson<WechatCode>,
) -> ApiResult<Json<MyNoticeSettings>> {
    let client = crate::channels::http_client(&app).map_err(ApiError::internal)?;
    let Some(api) = crate::channels::WechatApi::of(&app, client) else {
        return Err(ApiError::conflicting("code", "this platform sends no WeChat messages"));
    };
    let code = b.code.trim();
    if code.is_empty() || code.len() > 512 {
        return Err(ApiError::field("code", "the code WeChat gave, 1 to 512 characters"));
    }
    let openid = api.openid(code).await.map_err(|e| ApiError::field("code", e))?;
    app.store.set_wechat(auth.person.id, Some(&openid), app.now()).await?;
    Ok(Json(settings_answer(&app, &auth).await?))
}

#[utoipa::path(delete, path = "/me/wechat", tag = "notices", operation_id = "unbind_wechat", summary = "Unbind one's WeChat",
    responses((status = 200, description = "Unbound; WeChat is no longer chosen for anything", body = MyNoticeSettings)))]
async fn unbind_wechat(State(app): State<AppState>, auth: Auth) -> ApiResult<Json<MyNoticeSettings>> {
    let (mut settings, addresses) = app.store.notice_settings(auth.person.id).await?;
    for chosen in settings.channels.values_mut() {
        chosen.retain(|c| *c != Channel::Wechat);
    }
    app.store.put_notice_settings(auth.person.id, &settings, addresses.email.as_deref(), app.now()).await?;
    app.store.set_wechat(auth.person.id, None, app.now()).await?;
    Ok(Json(settings_answer(&app, &auth).await?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UnsubscribeQuery {
    /// The token of the e-mail's unsubscribe link.
    pub token: String,
}

#[derive(Serialize, ToSchema)]
pub struct Unsubscribed {
    pub kind: NoticeKind,
    /// The channels that kind still comes by (the inbox always).
    pub channels: Vec<Channel>,
}

#[utoipa::path(post, path = "/notices/unsubscribe", tag = "notices", operation_id = "unsubscribe", summary = "Stop e-mails of one kind, from the link in one of them (no sign-in)",
    security(()),
    params(UnsubscribeQuery),
    responses((status = 200, description = "No more e-mails of this kind", body = Unsubscribed), (status = 404, description = "Not found, or outside one's scope")))]
async fn unsubscribe(State(app): State<AppState>, Query(q): Query<UnsubscribeQuery>) -> ApiResult<Json<Unsubscribed>> {
    let bad = || ApiError::not_found("unsubscribe link");
    let mut parts = q.token.splitn(3, '.');
    let (Some(person), Some(kind), Some(_)) = (parts.next(), parts.next(), parts.next()) else { return Err(bad()) };
    let person: i64 = person.parse().map_err(|_| bad())?;
    let kind = NoticeKind::parse(kind).map_err(|_| bad())?;
    if unsubscribe_token(&app, person, kind) != q.token {
        return Err(bad());
    }
    let (mut settings, addresses) = app.store.notice_settings(person).await?;
    let staff = app.store.person(person).await?.is_some_and(|p| p.grants.iter().any(|g| g.role.is_staff()));
    let mut channels = settings.channels.get(&kind).cloned().unwrap_or_else(|| default_channels(kind, staff));
    channels.retain(|c| *c != Channel::Email && *c != Channel::Inbox);
    settings.channels.insert(kind, channels.clone());
    app.store.put_notice_settings(person, &settings, addresses.email.as_deref(), app.now()).await?;
    channels.insert(0, Channel::Inbox);
    Ok(Json(Unsubscribed { kind, channels }))
}

// ---------------------------------------------------------------- follows

/// A case or an area one follows.
#[derive(Serialize, ToSchema)]
pub struct FollowView {
    pub id: i64,
    /// The case followed.
    pub case_id: Option<i64>,
    /// The region followed (a grid, a community…).
    pub region: Option<String>,
    pub region_name: Option<String>,
    /// The centre of the circle followed.
    pub point: Option<LatLon>,
    pub radius_m: Option<u32>,
    pub created_at: String,
}

fn follow_view(app: &App, f: Follow) -> FollowView {
    let r = app.reference();
    let (case_id, region, point, radius_m) = match f.target {
        FollowTarget::Case(c) => (Some(c), None, None, None),
        FollowTarget::Region(code) => (None, Some(code), None, None),
        FollowTarget::Around { point, radius_m } => (None, None, Some(point), Some(radius_m)),
    };
    FollowView {
        id: f.id,
        case_id,
        region_name: region.as_ref().and_then(|c| r.regions.get(c)).map(|x| x.name.clone()),
        region: region.map(|c| c.as_str().to_string()),
        point,
        radius_m,
        created_at: gridkeeper_domain::time::to_rfc3339(f.created_at),
    }
}

/// What to follow: exactly one of a case, a region, or a point (`lat` and `lon`) with `radius_m`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowBody {
    /// A case id or reference (one must be able to see it).
    pub case: Option<String>,
    /// A region code (a grid, a community, a street).
    pub region: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// Metres around the point (1–5000), with `lat` and `lon`.
    #[schema(minimum = 1, maximum = 5000)]
    pub radius_m: Option<u32>,
}

#[utoipa::path(get, path = "/follows", tag = "notices", operation_id = "my_follows", summary = "The cases and areas one follows",
    responses((status = 200, description = "Newest first", body = Vec<FollowView>)))]
async fn my_follows(State(app): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<FollowView>>> {
    let follows = app.store.follows(auth.person.id).await?;
    Ok(Json(follows.into_iter().map(|f| follow_view(&app, f)).collect()))
}

#[utoipa::path(post, path = "/follows", tag = "notices", operation_id = "follow", summary = "Follow a case, or an area: be told of its progress, or of new problems there",
    request_body = FollowBody,
    responses((status = 201, description = "Followed (following a case again answers the first follow)", body = FollowView), (status = 404, description = "Not found, or outside one's scope"), (status = 409, description = "Too many follows"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn follow(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(b): ApiJson<FollowBody>,
) -> ApiResult<(StatusCode, Json<FollowView>)> {
    let target = match (b.case, b.region, b.lat.zip(b.lon), b.radius_m) {
        (Some(key), None, None, None) => {
            // A case one may see, or one on the public map.
            let case = app.find_case_if(&key, |c| c.public || gridkeeper_domain::can_see(&auth.actor, c)).await?;
            FollowTarget::Case(case.id)
        }
        (None, Some(code), None, None) => {
            let code = RegionCode::parse(&code).map_err(ApiError::invalid)?;
            if !app.reference().regions.contains_key(&code) {
                return Err(ApiError::unknown("region", "no such region"));
            }
            FollowTarget::Region(code)
        }
        (None, None, Some((lat, lon)), radius) => {
            let point = LatLon::new(lat, lon).map_err(ApiError::invalid)?;
            let radius_m = radius.ok_or_else(|| ApiError::field("radius_m", "say how many metres around the point"))?;
            FollowTarget::Around { point, radius_m }
        }
        (None, None, None, _) if b.lat.is_some() || b.lon.is_some() => {
            return Err(ApiError::field(if b.lat.is_some() { "lon" } else { "lat" }, "give both lat and lon"))
        }
        (None, None, None, _) => {
            return Err(ApiError::field("case", "say what to follow: a case, a region, or a point"))
        }
        (Some(_), None, None, Some(_)) | (None, Some(_), None, Some(_)) => {
            return Err(ApiError::field(
                "radius_m",
                "a radius goes with a point (lat and lon), not with a case or a region",
            ))
        }
        _ => return Err(ApiError::field("case", "follow one thing at a time: a case, a region, or a point")),
    };
    let f = app.store.follow(auth.person.id, &target, app.now()).await?;
    Ok((StatusCode::CREATED, Json(follow_view(&app, f))))
}

#[utoipa::path(delete, path = "/follows/{id}", tag = "notices", operation_id = "unfollow", summary = "Stop following",
    params(("id" = i64, Path, description = "Follow id")),
    responses((status = 204, description = "No longer followed"), (status = 404, description = "Not found, or outside one's scope")))]
async fn unfollow(State(app): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    if app.store.unfollow(auth.person.id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("follow"))
    }
}

// ---------------------------------------------------------------- the admin's side

#[derive(Serialize, ToSchema)]
pub struct TemplateView {
    pub kind: NoticeKind,
    pub locale: String,
    pub subject: String,
    pub body: String,
    /// Changed by an admin (else the default text).
    pub custom: bool,
}

impl From<TemplateRow> for TemplateView {
    fn from(t: TemplateRow) -> Self {
        Self { kind: t.kind, locale: t.locale, subject: t.template.subject, body: t.template.body, custom: t.custom }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Templates {
    pub templates: Vec<TemplateView>,
    /// The placeholders a text may use, each written `{name}`.
    pub placeholders: Vec<&'static str>,
}

#[utoipa::path(get, path = "/notices/templates", tag = "notices", operation_id = "notice_templates", summary = "The texts of notices, per kind and language",
    responses((status = 200, description = "Every kind in zh and en", body = Templates), (status = 403, description = "Not allowed (role, scope or CSRF token)")))]
async fn templates(State(app): State<AppState>, auth: Auth) -> ApiResult<Json<Templates>> {
    may(&auth.actor, Permission::ManageNotices).map_err(|r| ApiError::refusal(r, None))?;
    let templates = app.store.notice_templates().await?.into_iter().map(TemplateView::from).collect();
    Ok(Json(Templates { templates, placeholders: gridkeeper_domain::notices::PLACEHOLDERS.to_vec() }))
}

fn template_key(kind: &str, locale: &str) -> ApiResult<NoticeKind> {
    let kind = NoticeKind::parse(kind).map_err(|_| ApiError::not_found("kind of notice"))?;
    if !gridkeeper_domain::notices::LOCALES.contains(&locale) {
        return Err(ApiError::not_found("language"));
    }
    Ok(kind)
}

async fn template_answer(app: &App, kind: NoticeKind, locale: &str) -> ApiResult<Json<TemplateView>> {
    let t = app.store.notice_templates().await?.into_iter().find(|t| t.kind == kind && t.locale == locale);
    t.map(|t| Json(t.into())).ok_or_else(|| ApiError::not_found("template"))
}

#[utoipa::path(put, path = "/notices/templates/{kind}/{locale}", tag = "notices", operation_id = "put_notice_template", summary = "Change the text of one kind of notice in one language",
    params(("kind" = String, Path, description = "Kind of notice (accepted, solved, …)"), ("locale" = String, Path, description = "zh or en")),
    request_body = Template,
    responses((status = 200, description = "Stored; used for notices from now on", body = TemplateView), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "Not found, or outside one's scope"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn put_template(
    State(app): State<AppState>,
    auth: Auth,
    Path((kind, locale)): Path<(String, String)>,
    ApiJson(t): ApiJson<Template>,
) -> ApiResult<Json<TemplateView>> {
    may(&auth.actor, Permission::ManageNotices).map_err(|r| ApiError::refusal(r, None))?;
    let kind = template_key(&kind, &locale)?;
    t.validate().map_err(ApiError::invalid)?;
    app.store.put_notice_template(kind, &locale, Some(&t), auth.person.id, app.now()).await?;
    template_answer(&app, kind, &locale).await
}

#[utoipa::path(delete, path = "/notices/templates/{kind}/{locale}", tag = "notices", operation_id = "reset_notice_template", summary = "Go back to the default text",
    params(("kind" = String, Path, description = "Kind of notice"), ("locale" = String, Path, description = "zh or en")),
    responses((status = 200, description = "The default text, in use again", body = TemplateView), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "Not found, or outside one's scope")))]
async fn reset_template(
    State(app): State<AppState>,
    auth: Auth,
    Path((kind, locale)): Path<(String, String)>,
) -> ApiResult<Json<TemplateView>> {
    may(&auth.actor, Permission::ManageNotices).map_err(|r| ApiError::refusal(r, None))?;
    let kind = template_key(&kind, &locale)?;
    app.store.put_notice_template(kind, &locale, None, auth.person.id, app.now()).await?;
    template_answer(&app, kind, &locale).await
}

/// A notice that could not be delivered.
#[derive(Serialize, ToSchema)]
pub struct Undelivered {
    pub id: i64,
    pub kind: NoticeKind,
    pub channel: Channel,
    /// The case it tells of (none for an urgent notice or an overdue inspection).
    pub case_id: Option<i64>,
    /// The urgent article it pushes.
    pub article_id: Option<i64>,
    pub subject: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: String,
}

#[utoipa::path(get, path = "/notices/undelivered", tag = "notices", operation_id = "undelivered_notices", summary = "SMS and e-mails given up on after their retries (newest 200)",
    responses((status = 200, description = "The dead-letter list", body = Vec<Undelivered>), (status = 403, description = "Not allowed (role, scope or CSRF token)")))]
async fn undelivered(State(app): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<Undelivered>>> {
    may(&auth.actor, Permission::ManageNotices).map_err(|r| ApiError::refusal(r, None))?;
    let rows = app.store.notices_with_status("dead", 200).await?;
    Ok(Json(
        rows.into_iter()
            .map(|n| Undelivered {
                id: n.id,
                kind: n.kind,
                channel: n.channel,
                case_id: n.case_id,
                article_id: n.article_id,
                subject: n.subject,
                attempts: n.attempts,
                last_error: n.last_error,
                created_at: gridkeeper_domain::time::to_rfc3339(n.created_at),
            })
            .collect(),
    ))
}

#[utoipa::path(post, path = "/notices/{id}/retry", tag = "notices", operation_id = "retry_notice", summary = "Send an undelivered notice again",
    params(("id" = i64, Path, description = "Notice id")),
    responses((status = 204, description = "Queued to be sent again"), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "Not found, or outside one's scope")))]
async fn retry(State(app): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    may(&auth.actor, Permission::ManageNotices).map_err(|r| ApiError::refusal(r, None))?;
    if app.store.retry_notice(id, app.now()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("undelivered notice"))
    }
}
