//! [`AccountStore`] for PostgreSQL.

use async_trait::async_trait;
use gridkeeper_domain::{Case, Millis, PersonId};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::accounts::{audit_hash, AccountStore, AuditCheck, AuditEntry, AuditQuery, LimitRule, NewAudit, OtpCheck};
use crate::pg::PgStore;
use crate::sqlite::corrupt;
use crate::{Person, Result};

/// The audit chain starts from this hash.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

impl PgStore {
    fn otp_hash(&self, phone_index: &str, code: &str) -> String {
        hex::encode(Sha256::digest(format!("{phone_index}:{code}").as_bytes()))
    }
}

#[async_trait]
impl AccountStore for PgStore {
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
            sqlx::query("SELECT code_hash, expires_at, attempts FROM otp_codes WHERE phone_index = $1 FOR UPDATE")
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

    async fn locked_until(&self, key: &str, now: Millis) -> Result<Option<Millis>> {
        let until: Option<Option<Millis>> = sqlx::query_scalar("SELECT locked_until FROM auth_limits WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(until.flatten().filter(|u| *u > now))
    }

    async fn record_failure(&self, key: &str, now: Millis, rule: LimitRule) -> Result<Option<Millis>> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("SELECT window_start, failures FROM auth_limits WHERE key = $1 FOR UPDATE")
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
             AND (reporter IS NOT NULL OR contact_name IS NOT NULL OR contact_phone IS NOT NULL) ORDER BY id LIMIT $2",
        )
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(c) = crate::Store::case(self, id).await? {
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
        ];
        let mut changed = 0;
        let mut tx = self.begin_write().await?;
        sqlx::query("LOCK TABLE people, cases IN SHARE ROW EXCLUSIVE MODE").execute(&mut *tx).await?;
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
        let id = append_audit(&mut tx, e).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn audit_search(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
        let mut b = sqlx::QueryBuilder::<sqlx::Postgres>::new("SELECT * FROM audit_log WHERE TRUE");
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
        b.build().fetch_all(&self.pool).await?.iter().map(audit_row).collect()
    }

    async fn audit_verify(&self) -> Result<AuditCheck> {
        use futures::TryStreamExt;
        let mut rows = sqlx::query("SELECT * FROM audit_log ORDER BY id").fetch(&self.pool);
        let (mut expected_id, mut prev) = (1i64, GENESIS.to_string());
        while let Some(r) = rows.try_next().await? {
            let e = audit_row(&r)?;
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

/// Appends an entry to the hash-chained audit log inside `tx`, so that the entry and the change it
/// records commit together. One writer of the chain at a time (across every server instance):
/// the lock is held to the end of `tx`, so callers append last; readers go on.
pub(crate) async fn append_audit(tx: &mut sqlx::Transaction<'static, sqlx::Postgres>, e: &NewAudit) -> Result<i64> {
    sqlx::query("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE").execute(&mut **tx).await?;
    let last: Option<(i64, String)> =
        sqlx::query_as("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetch_optional(&mut **tx).await?;
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
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

fn audit_row(r: &sqlx::postgres::PgRow) -> Result<AuditEntry> {
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
