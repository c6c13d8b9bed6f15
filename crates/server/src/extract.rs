//! Request extractors that answer bad input with a problem naming the field.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body. Unknown fields, wrong types and missing fields are refused with the path of the
/// offending field (`co_departments[1]`).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json") || v.contains("+json"));
        if !is_json {
            return Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "send the body as application/json",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large("the request body is too large")
            } else {
                ApiError::bad_request(e.body_text())
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::bad_request(format!("the body is not valid JSON: {inner}"));
        }
        let msg = inner.to_string();
        // serde reports a missing field at the parent path; name the field itself.
        if let Some(rest) = msg.strip_prefix("missing field `") {
            let name = rest.split('`').next().unwrap_or_default();
            let field = if path == "." { name.to_string() } else { format!("{path}.{name}") };
            return ApiError::field(&field, "is required");
        }
        let field = if path == "." { "body".to_string() } else { path };
        let reason = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        ApiError::field(&field, reason)
    })
}

/// The raw query string as key/value pairs, for handlers that parse each value themselves.
pub struct RawQuery(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for RawQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str::<Vec<(String, String)>>(q)
            .map(RawQuery)
            .map_err(|e| ApiError::bad_request(format!("the query string is malformed: {e}")))
    }
}

impl RawQuery {
    /// The single value of `key`, if given and not empty (an empty parameter counts as absent).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, v)| k == key && !v.is_empty()).map(|(_, v)| v.as_str())
    }
    /// Every value of `key`, also comma-separated ones.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect()
    }
    /// Refuses parameters this endpoint does not know, so a typo is not silently ignored.
    pub fn only(&self, known: &[&str]) -> Result<(), ApiError> {
        match self.0.iter().find(|(k, _)| !known.contains(&k.as_str())) {
            Some((k, _)) => Err(ApiError::field(k, format!("unknown parameter; known: {}", known.join(", ")))),
            None => Ok(()),
        }
    }
    pub fn parse<T: std::str::FromStr>(&self, key: &str, what: &str) -> Result<Option<T>, ApiError> {
        self.get(key)
            .map(|v| v.trim().parse::<T>().map_err(|_| ApiError::field(key, format!("`{v}` is not {what}"))))
            .transpose()
    }
}
