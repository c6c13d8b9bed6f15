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

/// The most a report sent as JSON or as a form may hold: its text fields (a description is at
/// most 4,000 characters) with room to spare. Photos come as multipart, with their own limit.
pub const FORM_LIMIT: usize = 64 * 1024;

/// Reads the body of `req` through a limit of `max` bytes: reading stops, and the request is
/// answered 413, once more arrives — nothing larger is ever buffered.
/// `url` as an http or https URL with a host (where the platform sends webhooks and notices),
/// else why not.
pub fn http_url(url: &str) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err("must be an http or https URL with a host".into());
    }
    Ok(parsed)
}

pub fn limit_body(req: Request, max: usize) -> Request {
    req.map(|b| Body::new(http_body_util::Limited::new(b, max)))
}

/// The routes that take photos lift the default 1 MiB limit (`DefaultBodyLimit::disable()`) and
/// read the body through this: a multipart body up to nine photos of the configured size and
/// some text, anything else (a JSON report, a form) up to [`FORM_LIMIT`].
pub fn upload_body(app: &App, req: Request) -> Request {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let photos = (app.settings.max_photo_mb as usize + 1) * 9;
    let video = app.settings.max_video_mb as usize + 1;
    let max = if multipart { photos.max(video) * 1024 * 1024 + FORM_LIMIT } else { FORM_LIMIT };
    limit_body(req, max)
}

pub fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::too_large("the upload is too large")
    } else {
        ApiError::bad_request(format!("the multipart body is malformed: {}", e.body_text()))
    }
}

/// A body that is not multipart where only multipart is read is 415; a malformed one 400.
pub fn multipart_rejection(e: axum::extract::multipart::MultipartRejection) -> ApiError {
    use axum::extract::multipart::MultipartRejection;
    match e {
        MultipartRejection::InvalidBoundary(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            "send the body as multipart/form-data with a boundary",
        ),
        other => ApiError::bad_request(other.body_text()),
    }
}
