//! One error type for the API, rendered as `application/problem+json` (RFC 9457).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use gridkeeper_domain::{Case, FieldError, Refusal};
use gridkeeper_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// A problem to report to the client. Boxed, so that `Result<_, ApiError>` stays small.
#[derive(Debug)]
pub struct ApiError(Box<Problem>);

#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    /// A short machine-readable slug: `invalid`, `not-found`, `conflict`, ...
    pub kind: &'static str,
    pub title: &'static str,
    pub detail: String,
    /// The offending field and why, for invalid input.
    pub field: Option<(String, String)>,
    /// For conflicts: the case as it is now.
    pub current: Option<Case>,
    /// Seconds after which trying again may succeed (`Retry-After`).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        Self(Box::new(Problem {
            status,
            kind,
            title,
            detail: detail.into(),
            field: None,
            current: None,
            retry_after: None,
        }))
    }
    /// Names the field to blame (and why) in an answer of any status.
    pub fn set_field(&mut self, field: &str, reason: impl Into<String>) {
        self.0.field = Some((field.to_string(), reason.into()));
    }
    pub fn problem(&self) -> &Problem {
        &self.0
    }
    pub fn invalid(e: FieldError) -> Self {
        let mut p = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", "Invalid input", e.to_string());
        p.0.field = Some((e.field, e.reason));
        p
    }
    pub fn field(field: &str, reason: impl Into<String>) -> Self {
        Self::invalid(FieldError::new(field, reason))
    }
    /// A field names something that does not exist (a category, a department, a region): 404
    /// naming the field. The request was well formed; what it refers to is not there.
    pub fn unknown(field: &str, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        let mut p = Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", format!("{field}: {reason}"));
        p.0.field = Some((field.to_string(), reason));
        p
    }
    /// A field is well formed but conflicts with what is stored (a code already taken, a class of
    /// another kind): 409 naming the field.
    pub fn conflicting(field: &str, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        let mut p = Self::new(StatusCode::CONFLICT, "conflict", "Conflict", format!("{field}: {reason}"));
        p.0.field = Some((field.to_string(), reason));
        p
    }
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", "Bad request", detail)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", format!("{what} not found"))
    }
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Sign in required",
            "sign in first: send a session cookie or `Authorization: Bearer <token>`",
        )
    }
    pub fn too_large(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", "Too large", detail)
    }
    /// Too many requests: try again after `seconds` (sent as `Retry-After`).
    pub fn too_many(kind: &'static str, title: &'static str, detail: impl Into<String>, seconds: u64) -> Self {
        let mut p = Self::new(StatusCode::TOO_MANY_REQUESTS, kind, title, detail);
        p.0.retry_after = Some(seconds.max(1));
        p
    }
    fn conflict(detail: String, current: Option<Case>) -> Self {
        let mut p = Self::new(StatusCode::CONFLICT, "conflict", "Conflict", detail);
        p.0.current = current;
        p
    }
    /// A refusal of the state machine; `current` is the case it was asked of.
    pub fn refusal(r: Refusal, current: Option<&Case>) -> Self {
        match r {
            Refusal::OutOfScope => Self::not_found("case"),
            Refusal::NotAllowed { .. } => Self::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed", r.to_string()),
            Refusal::WrongState { .. } => Self::conflict(r.to_string(), current.cloned()),
            Refusal::Invalid(e) => Self::invalid(e),
        }
    }
    /// The database cannot be reached now (or has no connection to spare): try again shortly.
    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %cause, "database unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
            "the database cannot be reached just now; try again in a few seconds",
        )
    }
    /// An unexpected failure: the client gets an opaque id, the log gets the cause.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let id = uuid::Uuid::new_v4();
        tracing::error!(error.id = %id, error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            format!("something went wrong on our side; quote error id {id} when you report it"),
        )
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        Self::invalid(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(current) => Self::conflict(
                format!(
                    "someone else changed this case first; it is now {} (version {})",
                    current.state.as_str(),
                    current.version
                ),
                Some(*current),
            ),
            StoreError::Invalid(f) => Self::invalid(f),
            StoreError::Missing(f) => Self::unknown(&f.field, f.reason),
            StoreError::Conflicts(f) => Self::conflicting(&f.field, f.reason),
            other if other.is_unavailable() => Self::unavailable(other),
            other => Self::internal(other),
        }
    }
}

/// An error (RFC 9457 problem details), sent as `application/problem+json`.
#[derive(Serialize, ToSchema)]
#[schema(as = Problem)]
pub struct ProblemBody {
    /// `https://gridkeeper.org/problems/<kind>`
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The bad field, when one is to blame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Why the field is bad.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The bad field and reason again, as a list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldReason>>,
    /// With a 409 (stale version, wrong state): the case as it is now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<Case>,
}

#[derive(Serialize, ToSchema)]
pub struct FieldReason {
    pub field: String,
    pub reason: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let p = *self.0;
        let (field, reason) = p.field.clone().unzip();
        let body = ProblemBody {
            kind: format!("https://gridkeeper.org/problems/{}", p.kind),
            title: p.title.to_string(),
            status: p.status.as_u16(),
            detail: p.detail,
            errors: p.field.map(|(field, reason)| vec![FieldReason { field, reason }]),
            field,
            reason,
            current: p.current,
        };
        let body = serde_json::to_string(&body).unwrap_or_default();
        let mut resp = (p.status, [(header::CONTENT_TYPE, "application/problem+json")], body).into_response();
        let retry_after = p.retry_after.or((p.status == StatusCode::SERVICE_UNAVAILABLE).then_some(5));
        if let Some(seconds) = retry_after {
            resp.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A layer of `/api/v1`: an error that axum answered itself (a path segment that does not parse,
/// a method not allowed, a body its extractors refused) comes as `text/plain` or with no body;
/// it is sent as `application/problem+json` like every other error.
pub async fn problem_for_plain(resp: Response) -> Response {
    let status = resp.status();
    let problem = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/problem+json"));
    if !(status.is_client_error() || status.is_server_error()) || problem {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let detail = String::from_utf8_lossy(&text).trim().to_string();
    let detail = if detail.is_empty() { status.canonical_reason().unwrap_or("error").to_lowercase() } else { detail };
    let (kind, title) = match status {
        StatusCode::NOT_FOUND => ("not-found", "Not found"),
        StatusCode::METHOD_NOT_ALLOWED => ("method-not-allowed", "Method not allowed"),
        StatusCode::PAYLOAD_TOO_LARGE => ("too-large", "Too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported-media-type", "Unsupported media type"),
        StatusCode::UNPROCESSABLE_ENTITY => ("invalid", "Invalid input"),
        s if s.is_server_error() => ("internal", "Internal error"),
        _ => ("bad-request", "Bad request"),
    };
    let mut out = ApiError::new(status, kind, title, detail).into_response();
    for (name, value) in
        parts.headers.iter().filter(|(n, _)| *n != header::CONTENT_TYPE && *n != header::CONTENT_LENGTH)
    {
        out.headers_mut().insert(name.clone(), value.clone());
    }
    out
}
