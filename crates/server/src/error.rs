//! One error type for the API, rendered as `application/problem+json` (RFC 9457).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use gridkeeper_domain::{Case, FieldError, Refusal};
use gridkeeper_store::StoreError;
use serde_json::{json, Value};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// A short machine-readable slug: `invalid`, `not-found`, `conflict`, ...
    pub kind: &'static str,
    pub title: String,
    pub detail: String,
    pub field: Option<String>,
    pub reason: Option<String>,
    /// For conflicts: the case as it is now.
    pub current: Option<Box<Case>>,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, title: &str, detail: impl Into<String>) -> Self {
        Self { status, kind, title: title.into(), detail: detail.into(), field: None, reason: None, current: None }
    }
    pub fn invalid(e: FieldError) -> Self {
        Self {
            field: Some(e.field.clone()),
            reason: Some(e.reason.clone()),
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", "Invalid input", e.to_string())
        }
    }
    pub fn field(field: &str, reason: impl Into<String>) -> Self {
        Self::invalid(FieldError::new(field, reason))
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
    /// A refusal of the state machine; `current` is the case it was asked of.
    pub fn refusal(r: Refusal, current: Option<&Case>) -> Self {
        match r {
            Refusal::OutOfScope => Self::not_found("case"),
            Refusal::NotAllowed { .. } => Self::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed", r.to_string()),
            Refusal::WrongState { .. } => Self {
                current: current.map(|c| Box::new(c.clone())),
                ..Self::new(StatusCode::CONFLICT, "conflict", "Conflict", r.to_string())
            },
            Refusal::Invalid(e) => Self::invalid(e),
        }
    }
    fn with_current(mut self, c: Box<Case>) -> Self {
        self.current = Some(c);
        self
    }
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
            StoreError::Conflict(current) => Self {
                ..Self::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    "Conflict",
                    format!(
                        "someone else changed this case first; it is now {} (version {})",
                        current.state.as_str(),
                        current.version
                    ),
                )
                .with_current(current)
            },
            StoreError::Invalid(f) => Self::invalid(f),
            other => Self::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": format!("https://gridkeeper.org/problems/{}", self.kind),
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let (Some(field), Some(reason)) = (&self.field, &self.reason) {
            body["field"] = json!(field);
            body["reason"] = json!(reason);
            body["errors"] = json!([{ "field": field, "reason": reason }]);
        }
        if let Some(c) = &self.current {
            body["current"] = serde_json::to_value(c).unwrap_or(Value::Null);
        }
        (self.status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
