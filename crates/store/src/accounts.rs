//! Accounts and their protection: one-time codes, rate limits, API tokens, and the hash-chained
//! audit log.

use async_trait::async_trait;
use gridkeeper_domain::{Case, Millis, PersonId};
use serde::Serialize;

use crate::{Person, Result};

/// The outcome of checking a one-time code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OtpCheck {
    Valid,
    /// Wrong code; the code is burned when no attempts are left.
    Wrong {
        attempts_left: u32,
    },
    /// No live code for this phone (never sent, expired, used, or burned).
    Missing,
}

/// A failure counter in a window, with a lockout once it passes a maximum.
#[derive(Debug, Clone, Copy)]
pub struct LimitRule {
    pub window: Millis,
    pub max_failures: u32,
    pub lockout: Millis,
}

#[derive(Debug, Clone)]
pub struct NewAudit {
    pub at: Millis,
    pub actor: Option<PersonId>,
    /// `sign_in`, `sign_in_failed`, `reveal`, `role_change`, `export`, `config`, ...
    pub action: String,
    /// What it was done to: `case:123`, `person:7`.
    pub object: Option<String>,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    #[serde(with = "gridkeeper_domain::time::rfc3339")]
    pub at: Millis,
    pub actor: Option<PersonId>,
    pub action: String,
    pub object: Option<String>,
    pub detail: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub actor: Option<PersonId>,
    pub action: Option<String>,
    pub object: Option<String>,
    pub from: Option<Millis>,
    pub to: Option<Millis>,
    /// Entries with an id below this (keyset pagination, newest first).
    pub before: Option<i64>,
    pub limit: u32,
}

/// The result of walking the audit chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum AuditCheck {
    Intact {
        entries: i64,
    },
    /// The first entry that does not match the chain, and why.
    Broken {
        id: i64,
        reason: String,
    },
}

#[async_trait]
pub trait AccountStore: Send + Sync {
    /// The person registered with this phone number (found by its blind index).
    async fn person_by_phone(&self, phone: &str) -> Result<Option<Person>>;
    /// Stores a new one-time code for `phone`, replacing any earlier one.
    async fn put_otp(&self, phone: &str, code: &str, now: Millis, expires_at: Millis) -> Result<()>;
    /// When the last code for `phone` was sent.
    async fn otp_sent_at(&self, phone: &str) -> Result<Option<Millis>>;
    /// Checks a code; a valid code is used up, a code with too many wrong attempts is burned.
    async fn check_otp(&self, phone: &str, code: &str, now: Millis, max_attempts: u32) -> Result<OtpCheck>;

    /// Until when `key` is locked out, if it is.
    async fn locked_until(&self, key: &str, now: Millis) -> Result<Option<Millis>>;
    /// Counts a failure for `key`; returns the lockout end if this failure locked it.
    async fn record_failure(&self, key: &str, now: Millis, rule: LimitRule) -> Result<Option<Millis>>;
    async fn clear_failures(&self, key: &str) -> Result<()>;

    /// A named, non-expiring token for another system, acting as `person`.
    async fn create_api_token(&self, token_hash: &str, person: PersonId, name: &str, now: Millis) -> Result<()>;
    async fn set_totp(&self, person: PersonId, secret: Option<&str>) -> Result<()>;
    async fn totp_secret(&self, person: PersonId) -> Result<Option<String>>;

    /// Finished cases closed before `before` that still hold personal data.
    async fn cases_to_anonymise(&self, before: Millis, limit: u32) -> Result<Vec<Case>>;
    /// Re-seals every sealed value with the current key; returns how many values changed.
    async fn reseal_all(&self) -> Result<u64>;

    /// Appends an entry to the audit log, chained to the previous one.
    async fn audit(&self, entry: &NewAudit) -> Result<i64>;
    async fn audit_search(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>>;
    /// Walks the whole chain and names the first entry that was changed, inserted or removed.
    async fn audit_verify(&self) -> Result<AuditCheck>;
}

/// The hash of an audit entry: SHA-256 over the previous hash and every field.
pub fn audit_hash(
    prev: &str,
    id: i64,
    at: Millis,
    actor: Option<PersonId>,
    action: &str,
    object: Option<&str>,
    detail: &str,
) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [
        prev,
        &id.to_string(),
        &at.to_string(),
        &actor.map(|a| a.to_string()).unwrap_or_default(),
        action,
        object.unwrap_or(""),
        detail,
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}
