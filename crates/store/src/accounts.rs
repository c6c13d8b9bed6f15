//! Accounts and their protection: one-time codes, rate limits, API tokens, and the hash-chained
//! audit log.

use async_trait::async_trait;
use gridkeeper_domain::{Case, Millis, PersonId};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::dialect::generic;
use crate::sql::Sql;
use crate::{corrupt, Person, Result};

/// The audit chain starts from this hash.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

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

    /// The key under which the sign-in limits count failures for what someone typed (`purpose`:
    /// `login` or `phone`), and under which the audit log names a refused sign-in to an unknown
    /// login: its blind index, so neither keeps what was typed (a password typed into the login
    /// field, a stranger's phone number) and each phone or login has a counter of its own.
    fn limit_key(&self, purpose: &str, typed: &str) -> String;
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
    /// The id and hash of the newest entry of the chain (none while it is empty), or of entry `id`.
    async fn audit_hash_of(&self, id: Option<i64>) -> Result<Option<(i64, String)>>;
    /// A keyed signature of `text` (HMAC-SHA256 with the vault's index key), for the audit
    /// checkpoints written outside the database: whoever rewrites one without the key is found out.
    fn sign(&self, text: &str) -> String;
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

generic! {
    impl SqlStore {
        fn otp_hash(&self, phone_index: &str, code: &str) -> String {
            hex::encode(Sha256::digest(format!("{phone_index}:{code}").as_bytes()))
        }

        /// Appends an entry to the hash-chained audit log inside `tx`, so that the entry and the change it
        /// records commit together. One writer of the chain at a time (SQLite's write transaction; on
        /// PostgreSQL a lock of the log across every server instance, held to the end of `tx`, so callers
        /// append last); readers go on.
        pub(crate) async fn append_audit(tx: &mut D::Connection, e: &NewAudit) -> Result<i64> {
            Self::lock(&mut *tx, "audit_log", "SHARE ROW EXCLUSIVE").await?;
            let last: Option<(i64, String)> =
                sqlx::query_as("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetch_optional(&mut *tx).await?;
            let (id, prev) = match last {
                Some((id, hash)) => (id + 1, hash),
                None => (1, GENESIS.to_string()),
            };
            let detail = e.detail.to_string();
            let hash = audit_hash(&prev, id, e.at, e.actor, &e.action, e.object.as_deref(), &detail);
            sqlx::query(
                "INSERT INTO audit_log (id, at, actor, action, object, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id)
            .bind(e.at)
            .bind(e.actor)
            .bind(&e.action)
            .bind(&e.object)
            .bind(&detail)
            .bind(&prev)
            .bind(&hash)
            .execute(&mut *tx)
            .await?;
            Ok(id)
        }

        fn audit_row(r: &D::Row) -> Result<AuditEntry> {
            let detail: String = r.try_get("detail")?;
            Ok(AuditEntry {
                id: r.try_get("id")?,
                at: r.try_get("at")?,
                actor: r.try_get("actor")?,
                action: r.try_get("action")?,
                object: r.try_get("object")?,
                // A changed detail that is no longer JSON must still be shown (and flagged by verify).
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
                prev_hash: r.try_get("prev_hash")?,
                hash: r.try_get("hash")?,
            })
        }
    }
}

generic! {
    #[async_trait]
    impl AccountStore for SqlStore {
        async fn person_by_phone(&self, phone: &str) -> Result<Option<Person>> {
            self.person_where("phone_index", self.vault.blind_index("phone", phone)).await
        }

        async fn put_otp(&self, phone: &str, code: &str, now: Millis, expires_at: Millis) -> Result<()> {
            let index = self.vault.blind_index("phone", phone);
            sqlx::query(
                "INSERT INTO otp_codes (phone_index, code_hash, sent_at, expires_at, attempts) VALUES ($1, $2, $3, $4, 0) \
                 ON CONFLICT (phone_index) DO UPDATE SET code_hash = excluded.code_hash, sent_at = excluded.sent_at, \
                 expires_at = excluded.expires_at, attempts = 0",
            )
            .bind(&index)
            .bind(self.otp_hash(&index, code))
            .bind(now)
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
            Ok(())
        }

        async fn otp_sent_at(&self, phone: &str) -> Result<Option<Millis>> {
            Ok(sqlx::query_scalar("SELECT sent_at FROM otp_codes WHERE phone_index = $1")
                .bind(self.vault.blind_index("phone", phone))
                .fetch_optional(&self.pool)
                .await?)
        }

        async fn check_otp(&self, phone: &str, code: &str, now: Millis, max_attempts: u32) -> Result<OtpCheck> {
            let index = self.vault.blind_index("phone", phone);
            let mut tx = self.begin_write().await?;
            let row =
                sqlx::query(&format!("SELECT code_hash, expires_at, attempts FROM otp_codes WHERE phone_index = $1{}", D::FOR_UPDATE))
                    .bind(&index)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(row) = row else { return Ok(OtpCheck::Missing) };
            let (hash, expires_at, attempts): (String, Millis, i64) =
                (row.try_get("code_hash")?, row.try_get("expires_at")?, row.try_get("attempts")?);
            if expires_at <= now || attempts >= i64::from(max_attempts) {
                sqlx::query("DELETE FROM otp_codes WHERE phone_index = $1").bind(&index).execute(&mut *tx).await?;
                tx.commit().await?;
                return Ok(OtpCheck::Missing);
            }
            let result = if hash == self.otp_hash(&index, code.trim()) {
                sqlx::query("DELETE FROM otp_codes WHERE phone_index = $1").bind(&index).execute(&mut *tx).await?;
                OtpCheck::Valid
            } else {
                sqlx::query("UPDATE otp_codes SET attempts = attempts + 1 WHERE phone_index = $1")
                    .bind(&index)
                    .execute(&mut *tx)
                    .await?;
                OtpCheck::Wrong { attempts_left: (i64::from(max_attempts) - attempts - 1).max(0) as u32 }
            };
            tx.commit().await?;
            Ok(result)
        }

        fn limit_key(&self, purpose: &str, typed: &str) -> String {
            format!("{purpose}:{}", self.vault.blind_index(purpose, typed))
        }

        async fn locked_until(&self, key: &str, now: Millis) -> Result<Option<Millis>> {
            let until: Option<Option<Millis>> = sqlx::query_scalar("SELECT locked_until FROM auth_limits WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
            Ok(until.flatten().filter(|u| *u > now))
        }

        async fn record_failure(&self, key: &str, now: Millis, rule: LimitRule) -> Result<Option<Millis>> {
            let mut tx = self.begin_write().await?;
            let row = sqlx::query(&format!("SELECT window_start, failures FROM auth_limits WHERE key = $1{}", D::FOR_UPDATE))
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?;
            let (start, failures) = match row {
                Some(r) if now - r.try_get::<Millis, _>("window_start")? < rule.window => {
                    (r.try_get::<Millis, _>("window_start")?, r.try_get::<i64, _>("failures")? + 1)
                }
                _ => (now, 1),
            };
            let locked = (failures >= i64::from(rule.max_failures)).then_some(now + rule.lockout);
            sqlx::query(
                "INSERT INTO auth_limits (key, window_start, failures, locked_until) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (key) DO UPDATE SET window_start = excluded.window_start, failures = excluded.failures, \
                 locked_until = coalesce(excluded.locked_until, auth_limits.locked_until)",
            )
            .bind(key)
            .bind(if locked.is_some() { now } else { start })
            .bind(if locked.is_some() { 0 } else { failures })
            .bind(locked)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(locked)
        }

        async fn clear_failures(&self, key: &str) -> Result<()> {
            sqlx::query("DELETE FROM auth_limits WHERE key = $1").bind(key).execute(&self.pool).await?;
            Ok(())
        }

        async fn create_api_token(&self, token_hash: &str, person: PersonId, name: &str, now: Millis) -> Result<()> {
            sqlx::query(
                "INSERT INTO sessions (token_hash, person_id, created_at, expires_at, kind, name) VALUES ($1, $2, $3, $4, 'api', $5)",
            )
            .bind(token_hash)
            .bind(person)
            .bind(now)
            .bind(i64::MAX)
            .bind(name)
            .execute(&self.pool)
            .await?;
            Ok(())
        }

        async fn set_totp(&self, person: PersonId, secret: Option<&str>) -> Result<()> {
            sqlx::query("UPDATE people SET totp_secret = $1, totp_enabled = $2 WHERE id = $3")
                .bind(self.vault.seal_opt("people.totp_secret", secret))
                .bind(secret.is_some())
                .bind(person)
                .execute(&self.pool)
                .await?;
            Ok(())
        }

        async fn totp_secret(&self, person: PersonId) -> Result<Option<String>> {
            let sealed: Option<Option<String>> = sqlx::query_scalar("SELECT totp_secret FROM people WHERE id = $1")
                .bind(person)
                .fetch_optional(&self.pool)
                .await?;
            self.vault.open_opt("people.totp_secret", sealed.flatten().as_deref()).map_err(corrupt)
        }

        async fn cases_to_anonymise(&self, before: Millis, limit: u32) -> Result<Vec<Case>> {
            let ids: Vec<i64> = sqlx::query_scalar(
                "SELECT id FROM cases WHERE state IN ('closed', 'rated', 'rejected') AND closed_at < $1 \
                 AND (reporter IS NOT NULL OR contact_name IS NOT NULL OR contact_phone IS NOT NULL \
                 OR id IN (SELECT case_id FROM case_callers WHERE phone IS NOT NULL OR name IS NOT NULL)) ORDER BY id LIMIT $2",
            )
            .bind(before)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(c) = crate::CaseStore::case(self, id).await? {
                    out.push(c);
                }
            }
            Ok(out)
        }

        async fn reseal_all(&self) -> Result<u64> {
            let columns = [
                ("people", "id", "name"),
                ("people", "id", "phone"),
                ("people", "id", "id_number"),
                ("people", "id", "totp_secret"),
                ("cases", "id", "contact_name"),
                ("cases", "id", "contact_phone"),
                ("case_callers", "id", "phone"),
                ("case_callers", "id", "name"),
                ("webhooks", "id", "secret"),
                ("houses", "id", "owner_name"),
                ("houses", "id", "owner_phone"),
                ("houses", "id", "owner_id_number"),
                ("tenancies", "id", "tenant_name"),
                ("tenancies", "id", "tenant_phone"),
                ("tenancies", "id", "tenant_id_number"),
                ("places", "id", "responsible_name"),
                ("places", "id", "responsible_phone"),
                ("places", "id", "responsible_id_number"),
                ("care_people", "id", "person_name"),
                ("care_people", "id", "person_phone"),
                ("care_people", "id", "person_id_number"),
                ("care_visits", "id", "note"),
                ("notice_settings", "person_id", "email"),
                ("notice_settings", "person_id", "wechat"),
                ("notices", "id", "address"),
                ("contact_messages", "id", "sender_name"),
                ("contact_messages", "id", "sender_phone"),
                ("contact_messages", "id", "body"),
            ];
            let mut changed = 0;
            let mut tx = self.begin_write().await?;
            Self::lock(
                &mut tx,
                "people, cases, case_callers, webhooks, houses, tenancies, places, care_people, care_visits, notice_settings, notices, contact_messages",
                "SHARE ROW EXCLUSIVE",
            )
            .await?;
            for (table, key, column) in columns {
                let rows = sqlx::query(&format!("SELECT {key}, {column} FROM {table} WHERE {column} IS NOT NULL"))
                    .fetch_all(&mut *tx)
                    .await?;
                let name = format!("{table}.{column}");
                for r in rows {
                    let (id, sealed): (i64, String) = (r.try_get(0)?, r.try_get(1)?);
                    if !self.vault.needs_reseal(&sealed) {
                        continue;
                    }
                    let plain = self.vault.open(&name, &sealed).map_err(corrupt)?;
                    sqlx::query(&format!("UPDATE {table} SET {column} = $1 WHERE {key} = $2"))
                        .bind(self.vault.seal(&name, &plain))
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    changed += 1;
                }
            }
            tx.commit().await?;
            Ok(changed)
        }

        async fn audit(&self, e: &NewAudit) -> Result<i64> {
            let mut tx = self.begin_write().await?;
            let id = Self::append_audit(&mut tx, e).await?;
            tx.commit().await?;
            Ok(id)
        }

        async fn audit_search(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
            let mut b = Sql::new("SELECT * FROM audit_log WHERE TRUE");
            if let Some(a) = q.actor {
                b.push(" AND actor = ").push_bind(a);
            }
            if let Some(a) = &q.action {
                b.push(" AND action = ").push_bind(a.clone());
            }
            if let Some(o) = &q.object {
                b.push(" AND object = ").push_bind(o.clone());
            }
            if let Some(f) = q.from {
                b.push(" AND at >= ").push_bind(f);
            }
            if let Some(t) = q.to {
                b.push(" AND at < ").push_bind(t);
            }
            if let Some(id) = q.before {
                b.push(" AND id < ").push_bind(id);
            }
            b.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(q.limit.clamp(1, 500)));
            Self::query_of(&b).fetch_all(&self.pool).await?.iter().map(Self::audit_row).collect()
        }

        async fn audit_hash_of(&self, id: Option<i64>) -> Result<Option<(i64, String)>> {
            let row = match id {
                Some(id) => sqlx::query("SELECT id, hash FROM audit_log WHERE id = $1").bind(id),
                None => sqlx::query("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1"),
            }
            .fetch_optional(&self.pool)
            .await?;
            row.map(|r| Ok((r.try_get("id")?, r.try_get("hash")?))).transpose()
        }

        fn sign(&self, text: &str) -> String {
            self.vault.blind_index("audit-checkpoint", text)
        }

        async fn audit_verify(&self) -> Result<AuditCheck> {
            use futures::TryStreamExt;
            let mut rows = sqlx::query("SELECT * FROM audit_log ORDER BY id").fetch(&self.pool);
            let (mut expected_id, mut prev) = (1i64, GENESIS.to_string());
            while let Some(r) = rows.try_next().await? {
                let e = Self::audit_row(&r)?;
                let broken = |reason: &str| Ok(AuditCheck::Broken { id: e.id, reason: reason.to_string() });
                if e.id != expected_id {
                    return Ok(AuditCheck::Broken {
                        id: expected_id,
                        reason: format!("entry {expected_id} is missing (next is {})", e.id),
                    });
                }
                if e.prev_hash != prev {
                    return broken(
                        "its link to the previous entry does not match: an entry before it was changed or removed",
                    );
                }
                let detail = r.try_get::<String, _>("detail")?;
                if audit_hash(&prev, e.id, e.at, e.actor, &e.action, e.object.as_deref(), &detail) != e.hash {
                    return broken("its content does not match its hash: the entry was changed");
                }
                prev = e.hash;
                expected_id += 1;
            }
            Ok(AuditCheck::Intact { entries: expected_id - 1 })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::on_both;

    fn entry(i: i64) -> NewAudit {
        NewAudit {
            at: i,
            actor: Some(1),
            action: "reveal".into(),
            object: Some(format!("case:{i}")),
            detail: serde_json::json!({"i": i}),
        }
    }

    #[tokio::test]
    async fn the_audit_chain_detects_changes_and_removals() {
        let s = crate::testing::sqlite().await;
        for i in 1..=5 {
            s.audit(&entry(i)).await.unwrap();
        }
        assert_eq!(s.audit_verify().await.unwrap(), AuditCheck::Intact { entries: 5 });
        // Someone with the file drops the triggers and edits row 3.
        sqlx::query("DROP TRIGGER audit_log_append_only_update").execute(&s.pool).await.unwrap();
        sqlx::query("UPDATE audit_log SET detail = '{\"i\":33}' WHERE id = 3").execute(&s.pool).await.unwrap();
        assert!(matches!(s.audit_verify().await.unwrap(), AuditCheck::Broken { id: 3, .. }));
        sqlx::query("UPDATE audit_log SET detail = '{\"i\":3}' WHERE id = 3").execute(&s.pool).await.unwrap();
        sqlx::query("DROP TRIGGER audit_log_append_only_delete").execute(&s.pool).await.unwrap();
        sqlx::query("DELETE FROM audit_log WHERE id = 2").execute(&s.pool).await.unwrap();
        assert!(matches!(s.audit_verify().await.unwrap(), AuditCheck::Broken { id: 2, .. }));
        let found = s
            .audit_search(&AuditQuery { object: Some("case:4".into()), limit: 10, ..Default::default() })
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
    }

    on_both! {
        async fn one_time_codes_are_used_once_and_burn_after_wrong_tries(s) {
            s.put_otp("13812341234", "123456", 0, 1000).await.unwrap();
            assert_eq!(s.check_otp("13812341234", "000000", 1, 3).await.unwrap(), OtpCheck::Wrong { attempts_left: 2 });
            assert_eq!(s.check_otp("13812341234", "123456", 2, 3).await.unwrap(), OtpCheck::Valid);
            assert_eq!(s.check_otp("13812341234", "123456", 3, 3).await.unwrap(), OtpCheck::Missing, "used once");
            s.put_otp("13812341234", "123456", 0, 1000).await.unwrap();
            for _ in 0..3 {
                s.check_otp("13812341234", "999999", 1, 3).await.unwrap();
            }
            assert_eq!(s.check_otp("13812341234", "123456", 2, 3).await.unwrap(), OtpCheck::Missing, "burned");
            s.put_otp("13812341234", "123456", 0, 1000).await.unwrap();
            assert_eq!(s.check_otp("13812341234", "123456", 1000, 3).await.unwrap(), OtpCheck::Missing, "expired");
        }
    }

    on_both! {
        async fn failures_lock_out_and_expire(s) {
            let rule = LimitRule { window: 100, max_failures: 3, lockout: 1000 };
            assert_eq!(s.record_failure("login:a", 0, rule).await.unwrap(), None);
            assert_eq!(s.record_failure("login:a", 10, rule).await.unwrap(), None);
            assert_eq!(s.record_failure("login:a", 20, rule).await.unwrap(), Some(1020));
            assert_eq!(s.locked_until("login:a", 500).await.unwrap(), Some(1020));
            assert_eq!(s.locked_until("login:a", 1021).await.unwrap(), None);
            // Failures outside the window start a new count.
            s.record_failure("login:b", 0, rule).await.unwrap();
            s.record_failure("login:b", 10, rule).await.unwrap();
            assert_eq!(s.record_failure("login:b", 500, rule).await.unwrap(), None);
        }
    }
}
