//! Signing in (password with optional TOTP, or phone and one-time code), rate limits and
//! lockouts, revealing personal data, and the audit log search. Every sign-in, failure, reveal
//! and search is written to the hash-chained audit log.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gridkeeper_domain::{may, parse_phone, time::parse_rfc3339, Grant, Permission, Role, Scope, HOUR, MINUTE};
use gridkeeper_store::vault::{mask_name, mask_phone};
use gridkeeper_store::{AuditEntry, AuditQuery, LimitRule, NewAudit, NewPerson, OtpCheck, Person};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{hash_password, new_token, token_hash, verify_password, Auth, CSRF_COOKIE, SESSION_COOKIE};
use crate::error::{ApiError, ApiResult};
use crate::extract::{worded, ApiJson, Query};
use crate::AppState;

/// Limits on signing in, per account and per address.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// Wrong passwords or codes per account within the window before it is locked.
    pub max_failures: u32,
    /// Failures per client address within the window before the address is slowed down: its
    /// sign-ins then pass one at a time, each after `address_delay_seconds` (a whole office
    /// behind one address still signs in with correct passwords; guessing from it crawls). Code
    /// requests from such an address are refused (each would send a text message).
    pub max_failures_per_address: u32,
    pub address_delay_seconds: u32,
    pub window_minutes: u32,
    pub lockout_minutes: u32,
    /// Seconds between two one-time codes to the same phone.
    pub otp_resend_seconds: u32,
    pub otp_valid_minutes: u32,
    /// Wrong tries before a one-time code is burned.
    pub otp_max_attempts: u32,
    /// Admins and dispatchers must have a TOTP second factor to sign in.
    pub require_totp: bool,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            max_failures: 5,
            max_failures_per_address: 50,
            address_delay_seconds: 2,
            window_minutes: 15,
            lockout_minutes: 15,
            otp_resend_seconds: 60,
            otp_valid_minutes: 5,
            otp_max_attempts: 5,
            require_totp: false,
        }
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login, logout))
        .routes(routes!(request_code))
        .routes(routes!(login_with_code))
        .routes(routes!(me))
        .routes(routes!(reveal))
        .routes(routes!(audit_search))
}

pub(crate) fn too_many(until: i64, now: i64) -> ApiError {
    let seconds = (until - now).max(0) as u64 / 1000;
    let minutes = ((until - now) as f64 / MINUTE as f64).ceil().max(1.0);
    ApiError::too_many(
        "locked",
        "Too many attempts",
        format!("too many failed attempts; try again in {minutes} minutes"),
        seconds,
    )
}

/// What a password is checked against when the login is unknown, disabled or has no password,
/// so that the answer takes as long as a wrong password of a known login: its timing must not
/// tell which logins exist.
static NO_PASSWORD: LazyLock<String> =
    LazyLock::new(|| hash_password("no account has this password").expect("argon2 hashes a constant"));

/// The addresses whose sign-ins are slowed down, each with the gate its sign-ins pass one at a
/// time.
#[derive(Default)]
pub struct Gates(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl Gates {
    fn gate(&self, ip: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut gates = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // Gates nobody waits at are forgotten.
        if gates.len() > 256 {
            gates.retain(|_, g| Arc::strong_count(g) > 1);
        }
        gates.entry(ip.to_string()).or_default().clone()
    }
}

impl crate::App {
    pub(crate) fn limits(&self) -> (LimitRule, LimitRule) {
        let a = &self.settings.auth;
        let window = i64::from(a.window_minutes) * MINUTE;
        let lockout = i64::from(a.lockout_minutes) * MINUTE;
        (
            LimitRule { window, max_failures: a.max_failures, lockout },
            LimitRule { window, max_failures: a.max_failures_per_address, lockout },
        )
    }

    /// Refuses when the account is locked out. An address over its limit is not refused but
    /// slowed down: the sign-in waits its turn at the address's gate and then the delay, and
    /// holds the gate (the guard returned) until it is answered.
    async fn check_unlocked(&self, account: &str, ip: &str) -> ApiResult<Option<tokio::sync::OwnedMutexGuard<()>>> {
        let now = self.now();
        if let Some(until) = self.store.locked_until(account, now).await? {
            return Err(too_many(until, now));
        }
        if self.store.locked_until(&format!("ip:{ip}"), now).await?.is_none() {
            return Ok(None);
        }
        let turn = self.gates.gate(ip).lock_owned().await;
        tokio::time::sleep(Duration::from_secs(self.settings.auth.address_delay_seconds.into())).await;
        Ok(Some(turn))
    }

    /// Counts a failure for the account and the address; answers as a lockout if it locked the
    /// account (an address over its limit is only slowed down from then on).
    async fn failed(&self, account: &str, ip: &str, audit: NewAudit) -> ApiResult<Option<ApiError>> {
        let now = self.now();
        let (per_account, per_ip) = self.limits();
        self.store.audit(&audit).await?;
        let locked = self.store.record_failure(account, now, per_account).await?;
        self.store.record_failure(&format!("ip:{ip}"), now, per_ip).await?;
        Ok(locked.map(|until| too_many(until, now)))
    }

    /// Opens a session and answers with its token and an HttpOnly cookie.
    async fn open_session(&self, person: &Person, how: &str, ip: &str) -> ApiResult<Response> {
        let token = new_token(32);
        let now = self.now();
        let hours = i64::from(self.settings.session_hours.max(1));
        self.store.create_session(&token_hash(&token), person.id, now, now + hours * HOUR).await?;
        self.store
            .audit(&NewAudit {
                at: now,
                actor: Some(person.id),
                action: "sign_in".into(),
                object: Some(format!("person:{}", person.id)),
                detail: json!({ "method": how, "address": ip }),
            })
            .await?;
        let cookie = format!(
            "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
            hours * 3600,
            if self.settings.secure_cookies { "; Secure" } else { "" }
        );
        let csrf = format!(
            "{CSRF_COOKIE}={}; Path=/; SameSite=Strict; Max-Age={}{}",
            new_token(16),
            hours * 3600,
            if self.settings.secure_cookies { "; Secure" } else { "" }
        );
        let mut resp = Json(SessionAnswer { token, person: PersonView::of(person, true) }).into_response();
        for c in [cookie, csrf] {
            resp.headers_mut().append(header::SET_COOKIE, HeaderValue::from_str(&c).map_err(ApiError::internal)?);
        }
        Ok(resp)
    }
}

/// A person: name masked and phone masked unless it is oneself.
#[derive(Serialize, ToSchema)]
pub struct PersonView {
    pub id: i64,
    pub login: String,
    pub name: String,
    pub phone: Option<String>,
    /// Roles with the region or department they hold them in.
    #[schema(value_type = Vec<Object>)]
    pub grants: Vec<Grant>,
    pub totp_enabled: bool,
}

impl PersonView {
    /// A person as shown to themselves (`own`: the name in clear) or to others.
    pub fn of(p: &Person, own: bool) -> Self {
        PersonView {
            id: p.id,
            login: p.login.clone(),
            name: if own { p.name.clone() } else { mask_name(&p.name) },
            phone: p.phone.as_deref().map(mask_phone),
            grants: p.grants.clone(),
            totp_enabled: p.totp_enabled,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SessionAnswer {
    /// A bearer token; also set as the HttpOnly `gk_session` cookie (with the `gk_csrf` cookie).
    pub token: String,
    pub person: PersonView,
}

#[derive(Serialize, ToSchema)]
pub struct CodeSent {
    pub sent: bool,
    pub valid_minutes: u32,
}

#[utoipa::path(delete, path = "/session", tag = "session", summary = "Sign out",
    responses((status = 204, description = "Signed out; the session cookie is cleared"), (status = 403, description = "Not allowed (role, scope or CSRF token)")))]
async fn logout(State(app): State<AppState>, req: Request) -> ApiResult<Response> {
    let (mut parts, _) = req.into_parts();
    let auth = <Auth as axum::extract::FromRequestParts<AppState>>::from_request_parts(&mut parts, &app).await?;
    let token = crate::auth::token_of(&parts.headers);
    if let Some(t) = token {
        app.store.delete_session(&token_hash(&t)).await?;
    }
    tracing::info!(person = auth.person.id, "signed out");
    let mut resp = StatusCode::NO_CONTENT.into_response();
    for gone in
        ["gk_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0", "gk_csrf=; Path=/; SameSite=Strict; Max-Age=0"]
    {
        resp.headers_mut().append(header::SET_COOKIE, HeaderValue::from_static(gone));
    }
    Ok(resp)
}

/// The signed-in person as the store holds them: name, phone and ID number in clear (it is
/// oneself), roles, whether the account is disabled and has a second factor.
#[derive(Serialize, ToSchema)]
pub struct Me {
    pub id: i64,
    pub login: String,
    pub name: String,
    pub phone: Option<String>,
    pub id_number: Option<String>,
    pub disabled: bool,
    pub totp_enabled: bool,
    #[schema(value_type = Vec<Object>)]
    pub grants: Vec<Grant>,
}

#[derive(Serialize, ToSchema)]
pub struct MeAnswer {
    pub person: Me,
    /// The regions whose measures (and dashboard) the person may see, as the policy decides:
    /// the widest of each of their scopes, widest first. Empty for those who may see none.
    pub measures: Vec<String>,
    /// The teams (五支队伍) the person is a member of now: they log service hours (我的服务).
    pub teams: Vec<i64>,
}

/// The regions of `actor`'s grants whose measures they may read, none inside another.
fn measure_regions(actor: &gridkeeper_domain::Actor) -> Vec<String> {
    use gridkeeper_domain::{may, Permission, Scope};
    let mut codes: Vec<&gridkeeper_domain::RegionCode> = actor
        .grants
        .iter()
        .filter_map(|g| match &g.scope {
            Scope::Region { code } => Some(code),
            _ => None,
        })
        .filter(|code| may(actor, Permission::ReadMeasures { region: code }).is_ok())
        .collect();
    codes.sort_by_key(|c| (c.as_str().len(), c.as_str().to_string()));
    codes.dedup();
    let mut out: Vec<&gridkeeper_domain::RegionCode> = vec![];
    for c in codes {
        if !out.iter().any(|o| o.contains(c)) {
            out.push(c);
        }
    }
    out.into_iter().map(|c| c.to_string()).collect()
}

#[utoipa::path(get, path = "/me", tag = "session", summary = "The signed-in person",
    responses((status = 200, description = "The signed-in person", body = MeAnswer)))]
async fn me(auth: Auth) -> Json<MeAnswer> {
    let measures = measure_regions(&auth.actor);
    let teams = auth.actor.teams.iter().map(|t| t.team).collect();
    let p = auth.person;
    Json(MeAnswer {
        measures,
        teams,
        person: Me {
            id: p.id,
            login: p.login,
            name: p.name,
            phone: p.phone,
            id_number: p.id_number,
            disabled: p.disabled,
            totp_enabled: p.totp_enabled,
            grants: p.grants,
        },
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    login: String,
    password: String,
    totp: Option<String>,
}

#[utoipa::path(post, path = "/session", tag = "session", summary = "Sign in with login and password (and TOTP)", security(()),
    request_body = LoginBody,
    responses((status = 200, description = "Signed in; also sets the gk_session and gk_csrf cookies", body = SessionAnswer), (status = 401, description = "Not signed in"), (status = 403, description = "Second factor required, or the account is disabled"), (status = 429, description = "Locked out after too many failures")))]
async fn login(
    State(app): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<Response> {
    let ip = addr.ip().to_string();
    let login = body.login.trim().to_string();
    let account = app.store.limit_key("login", &login);
    let _turn = app.check_unlocked(&account, &ip).await?;
    let person = app.store.person_by_login(&login).await?;
    let hash = person.as_ref().filter(|p| !p.disabled).and_then(|p| p.password_hash.as_deref());
    let ok = verify_password(&body.password, hash.unwrap_or(&NO_PASSWORD)) && hash.is_some();
    let refused = NewAudit {
        at: app.now(),
        actor: person.as_ref().map(|p| p.id),
        action: "sign_in_failed".into(),
        // A login nobody has is kept as its blind index: it may be a mistyped password.
        object: Some(match &person {
            Some(_) => format!("login:{login}"),
            None => format!("unknown-{account}"),
        }),
        detail: json!({ "address": ip }),
    };
    let Some(person) = person.filter(|_| ok) else {
        if let Some(locked) = app.failed(&account, &ip, refused).await? {
            return Err(locked);
        }
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "sign-in-failed",
            "Sign-in failed",
            "wrong login or password",
        ));
    };
    let needs_factor = gridkeeper_domain::needs_second_factor(&person.grants);
    if person.totp_enabled {
        let secret =
            app.store.totp_secret(person.id).await?.ok_or_else(|| ApiError::internal("TOTP secret missing"))?;
        let code = body
            .totp
            .as_deref()
            .ok_or_else(|| ApiError::field("totp", "enter the 6-digit code of your authenticator app"))?;
        if !crate::auth::check_totp(&secret, code) {
            if let Some(locked) = app.failed(&account, &ip, refused).await? {
                return Err(locked);
            }
            return Err(ApiError::field("totp", "the code is wrong or has expired"));
        }
    } else if app.settings.auth.require_totp && needs_factor {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "second-factor-required",
            "Second factor required",
            format!("admins and dispatchers need a second factor: ask an admin to run `gridkeeper user totp {login}`"),
        ));
    }
    app.store.clear_failures(&account).await?;
    app.open_session(&person, "password", &ip).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CodeRequest {
    phone: String,
}

/// Sends a one-time code to a phone (residents sign up and sign in with it).
#[utoipa::path(post, path = "/session/code", tag = "session", security(()),
    request_body = CodeRequest,
    responses((status = 202, description = "A code was sent", body = CodeSent), (status = 429, description = "Locked out after too many failures")))]
async fn request_code(
    State(app): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<CodeRequest>,
) -> ApiResult<(StatusCode, Json<CodeSent>)> {
    let ip = addr.ip().to_string();
    let phone = parse_phone(&body.phone)?;
    let now = app.now();
    for key in [app.store.limit_key("phone", &phone), format!("ip:{ip}")] {
        if let Some(until) = app.store.locked_until(&key, now).await? {
            return Err(too_many(until, now));
        }
    }
    let resend = i64::from(app.settings.auth.otp_resend_seconds) * 1000;
    if let Some(sent) = app.store.otp_sent_at(&phone).await?.filter(|s| now - s < resend) {
        let wait = (resend - (now - sent)) / 1000 + 1;
        return Err(ApiError::too_many(
            "too-soon",
            "Too soon",
            format!("a code was just sent; ask again in {wait} seconds"),
            wait as u64,
        ));
    }
    // Code requests count against the address, so one client cannot flood many phones.
    let (_, per_ip) = app.limits();
    if let Some(until) = app.store.record_failure(&format!("ip:{ip}"), now, per_ip).await? {
        return Err(too_many(until, now));
    }
    let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
    let valid = i64::from(app.settings.auth.otp_valid_minutes) * MINUTE;
    app.store.put_otp(&phone, &code, now, now + valid).await?;
    let text =
        format!("【网格管家】验证码 {code}，{} 分钟内有效。Your gridkeeper code.", app.settings.auth.otp_valid_minutes);
    app.sms.send(&phone, &text).map_err(ApiError::internal)?;
    Ok((StatusCode::ACCEPTED, Json(CodeSent { sent: true, valid_minutes: app.settings.auth.otp_valid_minutes })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CodeLogin {
    phone: String,
    code: String,
    name: Option<String>,
}

/// Signs a resident in with a one-time code; a first sign-in creates the resident's account.
#[utoipa::path(post, path = "/session/phone", tag = "session", security(()),
    request_body = CodeLogin,
    responses((status = 200, description = "Signed in (a first sign-in creates the account); also sets the cookies", body = SessionAnswer), (status = 401, description = "Not signed in"), (status = 403, description = "Second factor required, or the account is disabled"), (status = 429, description = "Locked out after too many failures")))]
async fn login_with_code(
    State(app): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<CodeLogin>,
) -> ApiResult<Response> {
    let ip = addr.ip().to_string();
    let phone = parse_phone(&body.phone)?;
    let existing = app.store.person_by_phone(&phone).await?;
    let account = app.store.limit_key("phone", &phone);
    let _turn = app.check_unlocked(&account, &ip).await?;
    let now = app.now();
    match app.store.check_otp(&phone, &body.code, now, app.settings.auth.otp_max_attempts).await? {
        OtpCheck::Valid => {}
        other => {
            let refused = NewAudit {
                at: now,
                actor: existing.as_ref().map(|p| p.id),
                action: "sign_in_failed".into(),
                object: Some(format!("phone:{}", mask_phone(&phone))),
                detail: json!({ "address": ip, "method": "code" }),
            };
            if let Some(locked) = app.failed(&account, &ip, refused).await? {
                return Err(locked);
            }
            return Err(match other {
                // Like a wrong password: the credentials do not sign in (401), naming the field.
                OtpCheck::Wrong { attempts_left } => {
                    wrong_code(format!("wrong code; {attempts_left} tries left before it expires"))
                }
                _ => wrong_code("no valid code for this phone; ask for a new one".into()),
            });
        }
    }
    let person = match existing {
        Some(p) if p.disabled => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "disabled",
                "Account disabled",
                "this account is disabled",
            ))
        }
        Some(p) => p,
        None => {
            let district =
                app.reference().district.clone().ok_or_else(|| ApiError::internal("no district configured"))?;
            let scope = Scope::Region { code: gridkeeper_domain::RegionCode::parse(&district)? };
            let new = NewPerson {
                login: format!("resident-{}", new_token(6).to_lowercase()),
                name: gridkeeper_domain::optional_text("name", body.name.as_deref(), 50)?
                    .unwrap_or_else(|| "居民".into()),
                phone: Some(phone.clone()),
                id_number: None,
                password_hash: None,
                grants: vec![Grant::new(Role::Resident, scope)?],
            };
            let id = app.store.create_person(&new, now).await?;
            app.store.person(id).await?.ok_or_else(|| ApiError::internal("new person vanished"))?
        }
    };
    app.store.clear_failures(&account).await?;
    app.open_session(&person, "code", &ip).await
}

/// Shows the reporter's name and phone in clear, and writes who saw them to the audit log.
#[utoipa::path(post, path = "/cases/{key}/reveal", tag = "session",
    params(("key" = String, Path, description = "Case id or reference")),
    responses((status = 200, description = "The reporter and contact in clear; audited", body = RevealAnswer), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "Not found, or outside one's scope")))]
async fn reveal(State(app): State<AppState>, auth: Auth, Path(key): Path<String>) -> ApiResult<Json<RevealAnswer>> {
    let case = app.find_case(&auth.actor, &key).await?;
    may(&auth.actor, Permission::RevealPersonalData { case: &case }).map_err(|r| ApiError::refusal(r, Some(&case)))?;
    let reporter = match case.reporter {
        Some(id) => app.store.person(id).await?,
        None => None,
    };
    let contact = case.contact.clone().unwrap_or_default();
    app.store
        .audit(&NewAudit {
            at: app.now(),
            actor: Some(auth.person.id),
            action: "reveal".into(),
            object: Some(format!("case:{}", case.id)),
            detail: json!({ "reference": case.reference, "fields": ["reporter.name", "reporter.phone", "contact"] }),
        })
        .await?;
    Ok(Json(RevealAnswer {
        reporter: reporter.map(|p| RevealedReporter { id: p.id, name: p.name, phone: p.phone }),
        contact: ContactView { name: contact.name, phone: contact.phone },
    }))
}

#[derive(Serialize, ToSchema)]
pub struct RevealedReporter {
    pub id: i64,
    pub name: String,
    pub phone: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RevealAnswer {
    pub reporter: Option<RevealedReporter>,
    /// The contact details left with the report, in clear.
    pub contact: ContactView,
}

/// A reporter's contact details: masked in a case (`138****1234`), in clear when revealed.
#[derive(Serialize, ToSchema)]
pub struct ContactView {
    pub name: Option<String>,
    pub phone: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AuditSearch {
    /// Person id
    #[serde(default, deserialize_with = "worded::person_id")]
    actor: Option<i64>,
    /// Action
    action: Option<String>,
    /// Object, e.g. case:12
    object: Option<String>,
    /// RFC 3339
    from: Option<String>,
    /// RFC 3339
    to: Option<String>,
    /// Entries before this id (paging)
    #[serde(default, deserialize_with = "worded::entry_id")]
    before: Option<i64>,
    /// Page size
    limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditList {
    /// Audit entries, newest first: `id`, `at`, `actor`, `action`, `object`, `detail`, `prev_hash`, `hash`.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<AuditEntry>,
}

#[utoipa::path(get, path = "/audit", tag = "session", summary = "Search the audit log (auditors)", params(AuditSearch),
    responses((status = 200, description = "Audit entries, newest first", body = AuditList), (status = 403, description = "Not allowed (role, scope or CSRF token)")))]
async fn audit_search(
    State(app): State<AppState>,
    auth: Auth,
    Query(q): Query<AuditSearch>,
) -> ApiResult<Json<AuditList>> {
    may(&auth.actor, Permission::SearchAudit).map_err(|r| ApiError::refusal(r, None))?;
    let query = AuditQuery {
        actor: q.actor,
        action: q.action,
        object: q.object,
        from: q.from.map(|v| parse_rfc3339("from", &v)).transpose()?,
        to: q.to.map(|v| parse_rfc3339("to", &v)).transpose()?,
        before: q.before,
        limit: q.limit.unwrap_or(100),
    };
    let entries = app.store.audit_search(&query).await?;
    app.store
        .audit(&NewAudit {
            at: app.now(),
            actor: Some(auth.person.id),
            action: "audit_search".into(),
            object: None,
            detail: json!({ "actor": query.actor, "action": query.action, "object": query.object, "results": entries.len() }),
        })
        .await?;
    Ok(Json(AuditList { items: entries }))
}

/// A one-time code that does not sign in: 401, naming `code` and why.
fn wrong_code(reason: String) -> ApiError {
    let mut e = ApiError::new(
        axum::http::StatusCode::UNAUTHORIZED,
        "unauthorized",
        "Sign in failed",
        format!("code: {reason}"),
    );
    e.set_field("code", reason);
    e
}
