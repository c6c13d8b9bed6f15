//! What the handlers of several modules share about HTTP: the CSRF check, the readiness probe,
//! a policy refusal as an answer, the size limit of uploads, a multipart error as an answer.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use gridkeeper_domain::{may, Actor, Permission};

use crate::auth::SESSION_COOKIE;
use crate::error::{ApiError, ApiResult};
use crate::{App, AppState};

/// CSRF protection for cookie sessions (double submit): a state-changing request that relies on
/// the session cookie must echo the `gk_csrf` cookie in an `X-CSRF-Token` header. Requests with a
/// bearer token are not exposed to CSRF and need no header.
pub async fn csrf(req: Request, next: axum::middleware::Next) -> Response {
    let unsafe_method = !matches!(req.method().as_str(), "GET" | "HEAD" | "OPTIONS");
    let h = req.headers();
    let bearer = h.contains_key(header::AUTHORIZATION);
    let cookie = |name: &str| crate::auth::cookie(h, name);
    if unsafe_method && !bearer && cookie(SESSION_COOKIE).is_some() {
        let sent = h.get("x-csrf-token").and_then(|v| v.to_str().ok());
        if sent.is_none() || sent.map(str::to_string) != cookie(crate::auth::CSRF_COOKIE) {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "Missing CSRF token",
                "requests signed in by cookie must send the gk_csrf cookie's value in an X-CSRF-Token header",
            )
            .into_response();
        }
    }
    next.run(req).await
}

/// `GET /readyz`: the database answers.
pub async fn ready(State(app): State<AppState>) -> ApiResult<&'static str> {
    app.store.count_cases().await?;
    Ok("ready")
}

/// Asks the policy; a refusal is a 403 (or 404 for what lies outside one's scope).
pub fn administer(actor: &Actor, p: Permission<'_>) -> ApiResult<()> {
    may(actor, p).map_err(|r| ApiError::refusal(r, None))
}

/// The routes that take photos lift the default 1 MiB limit (`DefaultBodyLimit::disable()`) and
/// read the body through this: up to nine photos of the configured size, and some text.
pub fn upload_body(app: &App, req: Request) -> Request {
    let max = (app.settings.max_photo_mb as usize + 1) * 1024 * 1024 * 9 + 64 * 1024;
    req.map(|b| Body::new(http_body_util::Limited::new(b, max)))
}

pub fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::too_large("the upload is too large")
    } else {
        ApiError::bad_request(format!("the multipart body is malformed: {}", e.body_text()))
    }
}
