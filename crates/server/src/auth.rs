//! Sign-in with a password, sessions by cookie or bearer token, and the `Auth` extractors.
//!
//! Passwords are hashed with argon2id. Session tokens are 32 random bytes; only their SHA-256
//! is stored, so a copy of the database does not let anyone sign in.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts, HeaderMap};
use base64::Engine;
use gridkeeper_domain::Actor;
use gridkeeper_store::Person;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::AppState;

pub const SESSION_COOKIE: &str = "gk_session";
/// Readable by the page's script, echoed in `X-CSRF-Token` (double-submit CSRF protection).
pub const CSRF_COOKIE: &str = "gk_csrf";

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default().hash_password(password.as_bytes(), &salt)?.to_string())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A new random secret (session token or tracking code), URL-safe.
pub fn new_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn totp(secret_base32: &str) -> Option<totp_rs::TOTP> {
    let bytes = totp_rs::Secret::Encoded(secret_base32.to_string()).to_bytes().ok()?;
    totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes).ok()
}

/// Checks a TOTP code (RFC 6238: SHA-1, 6 digits, 30 s, one step of clock skew).
pub fn check_totp(secret_base32: &str, code: &str) -> bool {
    totp(secret_base32).is_some_and(|t| t.check_current(code.trim()).unwrap_or(false))
}

/// The current TOTP code of a secret (for tests and enrolment checks).
pub fn current_totp(secret_base32: &str) -> Option<String> {
    totp(secret_base32)?.generate_current().ok()
}

/// A new TOTP secret (base32) and its `otpauth://` URL for authenticator apps.
pub fn new_totp_secret(login: &str) -> (String, String) {
    let secret = totp_rs::Secret::generate_secret().to_encoded().to_string();
    let url = format!("otpauth://totp/gridkeeper:{login}?secret={secret}&issuer=gridkeeper&digits=6&period=30");
    (secret, url)
}

/// A signed-in person and the actor the state machine sees.
#[derive(Debug, Clone)]
pub struct Auth {
    pub person: Person,
    pub actor: Actor,
    /// The hash of the session's token (long-lived answers such as the live feed check that
    /// the session still holds).
    pub session: String,
}

/// Signed in or anonymous. A token that is present but not valid is refused, not ignored.
pub struct MaybeAuth(pub Option<Auth>);

/// The value of the cookie `name` among the request's headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The session token of a request: its bearer token, or else its session cookie.
pub fn token_of(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        return v.strip_prefix("Bearer ").map(|t| t.trim().to_string());
    }
    cookie(headers, SESSION_COOKIE)
}

impl FromRequestParts<AppState> for MaybeAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(token) = token_of(&parts.headers) else { return Ok(MaybeAuth(None)) };
        let now = state.now();
        let session = token_hash(&token);
        let person = match state.store.session_person(&session, now).await? {
            Some(id) => state.store.person(id).await?,
            None => None,
        };
        let Some(person) = person.filter(|p| !p.disabled) else {
            return Err(ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Session expired",
                "the session is unknown or has expired; sign in again",
            ));
        };
        // The person's current seats in teams (their duties reach the policy).
        let teams = state.store.team_roles(person.id).await?;
        let actor = Actor::person(person.id, person.grants.clone()).with_teams(teams);
        Ok(MaybeAuth(Some(Auth { person, actor, session })))
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        MaybeAuth::from_request_parts(parts, state).await?.0.ok_or_else(ApiError::unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn totp_codes_check() {
        let (secret, url) = new_totp_secret("chen");
        assert!(url.starts_with("otpauth://totp/gridkeeper:chen?secret="));
        let code = current_totp(&secret).unwrap();
        assert!(check_totp(&secret, &code));
        let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
        assert!(!check_totp(&secret, &wrong));
        assert!(!check_totp("not base32!", &code));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (new_token(32), new_token(32));
        assert_ne!(a, b);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }
}
