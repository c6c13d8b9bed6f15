//! The PostgreSQL implementation of [`ExchangeStore`].

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use gridkeeper_domain::exchange::{Datatype, ServiceAttribute, WebhookFilter};
use gridkeeper_domain::{
    Action, Case, CaseEvent, CaseId, CategoryId, DepartmentId, FieldError, Millis, PersonId, RegionCode,
};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row};

use crate::exchange::*;
use crate::pg::{case_row, event_row, push_visibility, unsigned, CASE_COLUMNS};
use crate::sqlite::{corrupt, json, parse_field};
use crate::{CaseQuery, PgStore, Result, StoreError, Visibility};

/// Actions never shown outside the organisation (see `Action::is_internal`).
fn internal_actions() -> String {
    Action::ALL.iter().filter(|a| a.is_internal()).map(|a| format!("'{}'", a.as_str())).collect::<Vec<_>>().join(", ")
}

/// `AND (what anyone may see OR what `v` covers)`: public cases, and reports not yet accepted or
/// rejected (shown as a bare status by the caller).
fn push_open311_visibility(b: &mut QueryBuilder<'_, Postgres>, v: &Option<Visibility>) {
    b.push(" AND (public OR state IN ('reported', 'rejected')");
    if let Some(v) = v {
        b.push(" OR (TRUE");
        push_visibility(b, &CaseQuery { visibility: v.clone(), ..Default::default() });
        b.push(")");
    }
    b.push(")");
}

fn key_row(r: &PgRow) -> Result<Open311Key> {
    let respond: String = r.try_get("respond")?;
    Ok(Open311Key {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        person_id: r.try_get("person_id")?,
        respond: match respond.as_str() {
            "token" => Respond::Token,
            "id" => Respond::Id,
            other => return Err(corrupt(format!("open311 key answers `{other}`"))),
        },
        created_at: r.try_get("created_at")?,
    })
}

fn webhook_row(r: &PgRow) -> Result<Webhook> {
    let actions: String = r.try_get("actions")?;
    let region: Option<String> = r.try_get("region")?;
    Ok(Webhook {
        id: r.try_get("id")?,
        url: r.try_get("url")?,
        secret: r.try_get("secret")?,
        filter: WebhookFilter {
            actions: serde_json::from_str(&actions).map_err(corrupt)?,
            region: region.map(|c| parse_field(RegionCode::parse(&c))).transpose()?,
            department: r.try_get("department_id")?,
        },
        active: r.try_get("active")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

fn delivery_row(r: &PgRow) -> Result<Delivery> {
    let status: String = r.try_get("status")?;
    Ok(Delivery {
        id: r.try_get("id")?,
        webhook_id: r.try_get("webhook_id")?,
        case_id: r.try_get("case_id")?,
        seq: r.try_get("seq")?,
        status: match status.as_str() {
            "pending" => DeliveryStatus::Pending,
            "delivered" => DeliveryStatus::Delivered,
            "dead" => DeliveryStatus::Dead,
            other => return Err(corrupt(format!("delivery status `{other}`"))),
        },
        attempts: r.try_get("attempts")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        last_status: r.try_get("last_status")?,
        last_error: r.try_get("last_error")?,
        created_at: r.try_get("created_at")?,
        delivered_at: r.try_get("delivered_at")?,
    })
}

/// The departments an event concerns: those linked to the case now, and those its data names
/// (a return names the department that gave the case back).
fn event_departments(linked: &[DepartmentId], data: &serde_json::Value) -> Vec<DepartmentId> {
    let mut out = linked.to_vec();
    for key in ["lead_department", "department"] {
        out.extend(data.get(key).and_then(|v| v.as_i64()));
    }
    if let Some(co) = data.get("co_departments").and_then(|v| v.as_array()) {
        out.extend(co.iter().filter_map(|v| v.as_i64()));
    }
    out
}

#[async_trait]
impl ExchangeStore for PgStore {
    async fn category_attributes(&self, category: CategoryId) -> Result<Vec<ServiceAttribute>> {
        let rows = sqlx::query("SELECT * FROM category_attributes WHERE category_id = $1 ORDER BY position")
            .bind(category)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let choices: String = r.try_get("choices")?;
                Ok(ServiceAttribute {
                    code: r.try_get("code")?,
                    variable: r.try_get("variable")?,
                    datatype: parse_field(Datatype::parse(r.try_get("datatype")?))?,
                    required: r.try_get("required")?,
                    datatype_description: r.try_get("datatype_description")?,
                    order: unsigned(r.try_get("position")?)?,
                    description: r.try_get("description")?,
                    values: serde_json::from_str(&choices).map_err(corrupt)?,
                })
            })
            .collect()
    }

    async fn categories_with_attributes(&self) -> Result<HashSet<CategoryId>> {
        let ids: Vec<CategoryId> =
            sqlx::query_scalar("SELECT DISTINCT category_id FROM category_attributes").fetch_all(&self.pool).await?;
        Ok(ids.into_iter().collect())
    }

    async fn set_category_attributes(&self, category: CategoryId, attrs: &[ServiceAttribute]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM category_attributes WHERE category_id = $1").bind(category).execute(&mut *tx).await?;
        for a in attrs {
            sqlx::query(
                "INSERT INTO category_attributes (category_id, code, variable, datatype, required, \
                 datatype_description, position, description, choices) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(category)
            .bind(&a.code)
            .bind(a.variable)
            .bind(a.datatype.as_str())
            .bind(a.required)
            .bind(&a.datatype_description)
            .bind(i64::from(a.order))
            .bind(&a.description)
            .bind(json(&a.values))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn create_open311_key(
        &self,
        name: &str,
        key_hash: &str,
        person: PersonId,
        respond: Respond,
        now: Millis,
    ) -> Result<i64> {
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO open311_keys (name, key_hash, person_id, respond, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (name) DO NOTHING RETURNING id",
        )
        .bind(name)
        .bind(key_hash)
        .bind(person)
        .bind(respond.as_str())
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        id.ok_or_else(|| StoreError::Invalid(FieldError::new("name", format!("a key named `{name}` exists already"))))
    }

    async fn open311_key(&self, key_hash: &str) -> Result<Option<Open311Key>> {
        sqlx::query("SELECT * FROM open311_keys WHERE key_hash = $1 AND revoked_at IS NULL")
            .bind(key_hash)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(key_row)
            .transpose()
    }

    async fn open311_keys(&self) -> Result<Vec<Open311Key>> {
        sqlx::query("SELECT * FROM open311_keys WHERE revoked_at IS NULL ORDER BY name")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(key_row)
            .collect()
    }

    async fn revoke_open311_key(&self, name: &str, now: Millis) -> Result<bool> {
        let done = sqlx::query("UPDATE open311_keys SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    #[tracing::instrument(skip_all)]
    async fn open311_requests(&self, q: &Open311Query) -> Result<Vec<Case>> {
        let mut b = QueryBuilder::<Postgres>::new(format!("SELECT {CASE_COLUMNS} FROM cases WHERE TRUE"));
        push_open311_visibility(&mut b, &q.visibility);
        if let Some(d) = &q.district {
            b.push(" AND district = ").push_bind(d.clone());
        }
        if !q.keys.is_empty() {
            b.push(" AND (reference IN (");
            let mut s = b.separated(", ");
            for k in &q.keys {
                s.push_bind(k.clone());
            }
            b.push(") OR id IN (");
            let mut s = b.separated(", ");
            for k in &q.keys {
                s.push_bind(k.parse::<i64>().unwrap_or(-1));
            }
            b.push("))");
        } else {
            if !q.categories.is_empty() {
                b.push(" AND coalesce(category, suggested_category) IN (");
                let mut s = b.separated(", ");
                for c in &q.categories {
                    s.push_bind(*c);
                }
                b.push(")");
            }
            if let Some(f) = q.reported_from {
                b.push(" AND reported_at >= ").push_bind(f);
            }
            if let Some(t) = q.reported_to {
                b.push(" AND reported_at <= ").push_bind(t);
            }
            match q.open {
                Some(true) => b.push(" AND state NOT IN ('closed', 'rated', 'rejected')"),
                Some(false) => b.push(" AND state IN ('closed', 'rated', 'rejected')"),
                None => &mut b,
            };
        }
        b.push(" ORDER BY reported_at DESC, id DESC LIMIT ")
            .push_bind(i64::from(q.limit.clamp(1, 1000)))
            .push(" OFFSET ")
            .push_bind(i64::from(q.offset));
        b.build().fetch_all(&self.pool).await?.iter().map(|r| case_row(r, &self.vault)).collect()
    }

    async fn events_of(&self, cases: &[CaseId]) -> Result<HashMap<CaseId, Vec<CaseEvent>>> {
        let mut out: HashMap<CaseId, Vec<CaseEvent>> = HashMap::new();
        for chunk in cases.chunks(500) {
            let mut b = QueryBuilder::<Postgres>::new("SELECT * FROM case_events WHERE case_id IN (");
            let mut s = b.separated(", ");
            for id in chunk {
                s.push_bind(*id);
            }
            b.push(") ORDER BY case_id, seq");
            for r in b.build().fetch_all(&self.pool).await? {
                let e = event_row(&r)?;
                out.entry(e.case_id).or_default().push(e);
            }
        }
        Ok(out)
    }

    #[tracing::instrument(skip_all)]
    async fn case_updates(&self, q: &UpdatesQuery) -> Result<Vec<(Case, CaseEvent)>> {
        let mut b = QueryBuilder::<Postgres>::new(format!(
            "SELECT {CASE_COLUMNS}, e.case_id, e.seq, e.action, e.at, e.actor, e.from_state, e.to_state, e.data \
             FROM case_events e JOIN cases ON cases.id = e.case_id WHERE e.action NOT IN ({})",
            internal_actions()
        ));
        b.push(" AND e.at >= ").push_bind(q.from).push(" AND e.at < ").push_bind(q.to);
        push_open311_visibility(&mut b, &q.visibility);
        if let Some(d) = &q.district {
            b.push(" AND district = ").push_bind(d.clone());
        }
        b.push(" ORDER BY e.at, e.case_id, e.seq LIMIT ").push_bind(i64::from(q.limit.clamp(1, 1000)));
        b.build().fetch_all(&self.pool).await?.iter().map(|r| Ok((case_row(r, &self.vault)?, event_row(r)?))).collect()
    }

    async fn imported_external_ids(&self, ids: &[String]) -> Result<HashSet<String>> {
        let mut out = HashSet::new();
        for chunk in ids.chunks(500) {
            let mut b = QueryBuilder::<Postgres>::new(
                "SELECT data #>> '{exchange,external_id}' FROM case_events WHERE seq = 1 \
                 AND (data #>> '{exchange,external_id}') IN (",
            );
            let mut s = b.separated(", ");
            for id in chunk {
                s.push_bind(id.clone());
            }
            b.push(")");
            let found: Vec<String> = b.build_query_scalar().fetch_all(&self.pool).await?;
            out.extend(found);
        }
        Ok(out)
    }

    async fn event_by_update_id(&self, update_id: &str) -> Result<Option<CaseEvent>> {
        sqlx::query(
            "SELECT * FROM case_events WHERE (data #>> '{exchange,update_id}') IS NOT NULL \
             AND (data #>> '{exchange,update_id}') = $1",
        )
        .bind(update_id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(event_row)
        .transpose()
    }

    async fn create_webhook(&self, w: &NewWebhook, now: Millis) -> Result<Webhook> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO webhooks (url, secret, actions, region, department_id, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&w.url)
        .bind(&w.secret)
        .bind(json(&w.filter.actions))
        .bind(w.filter.region.as_ref().map(|r| r.to_string()))
        .bind(w.filter.department)
        .bind(w.created_by)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(Webhook {
            id,
            url: w.url.clone(),
            secret: w.secret.clone(),
            filter: w.filter.clone(),
            active: true,
            created_by: w.created_by,
            created_at: now,
        })
    }

    async fn webhooks(&self) -> Result<Vec<Webhook>> {
        sqlx::query("SELECT * FROM webhooks ORDER BY id").fetch_all(&self.pool).await?.iter().map(webhook_row).collect()
    }

    async fn deactivate_webhook(&self, id: i64) -> Result<bool> {
        let done = sqlx::query("UPDATE webhooks SET active = FALSE WHERE id = $1 AND active")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    #[tracing::instrument(skip(self))]
    async fn fan_out(&self, limit: u32, now: Millis) -> Result<usize> {
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(
            "SELECT o.id AS outbox_id, e.case_id, e.action, e.seq, e.data, c.scope_region FROM webhook_outbox o \
             JOIN case_events e ON e.case_id = o.case_id AND e.seq = o.seq JOIN cases c ON c.id = o.case_id \
             ORDER BY o.id LIMIT $1 FOR UPDATE OF o SKIP LOCKED",
        )
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        // Rows another instance holds are skipped, so exactly the rows read here are removed.
        let taken: Vec<i64> = rows.iter().map(|r| r.try_get::<i64, _>("outbox_id")).collect::<Result<_, _>>()?;
        let hooks: Vec<Webhook> = sqlx::query("SELECT * FROM webhooks WHERE active")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(webhook_row)
            .collect::<Result<_>>()?;
        let mut links: HashMap<CaseId, Vec<DepartmentId>> = HashMap::new();
        for r in &rows {
            let case: CaseId = r.try_get("case_id")?;
            if let std::collections::hash_map::Entry::Vacant(slot) = links.entry(case) {
                let depts: Vec<DepartmentId> =
                    sqlx::query_scalar("SELECT department_id FROM case_departments WHERE case_id = $1")
                        .bind(case)
                        .fetch_all(&mut *tx)
                        .await?;
                slot.insert(depts);
            }
        }
        for r in &rows {
            let case: CaseId = r.try_get("case_id")?;
            let seq: i64 = r.try_get("seq")?;
            let action = parse_field(Action::parse(r.try_get("action")?))?;
            let region = parse_field(RegionCode::parse(r.try_get("scope_region")?))?;
            let sqlx::types::Json(data): sqlx::types::Json<serde_json::Value> = r.try_get("data")?;
            let departments = event_departments(&links[&case], &data);
            for h in hooks.iter().filter(|h| h.filter.matches(action, &region, &departments)) {
                sqlx::query(
                    "INSERT INTO webhook_deliveries (webhook_id, case_id, seq, status, next_attempt_at, created_at) \
                     VALUES ($1, $2, $3, 'pending', $4, $5) ON CONFLICT DO NOTHING",
                )
                .bind(h.id)
                .bind(case)
                .bind(seq)
                .bind(now)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        }
        sqlx::query("DELETE FROM webhook_outbox WHERE id = ANY($1)").bind(&taken).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(rows.len())
    }

    async fn claim_deliveries(&self, now: Millis, lease_until: Millis, limit: u32) -> Result<Vec<DueDelivery>> {
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(
            "SELECT d.*, w.url, w.secret, c.reference, c.district, c.grid FROM webhook_deliveries d \
             JOIN webhooks w ON w.id = d.webhook_id JOIN cases c ON c.id = d.case_id \
             WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND w.active \
             ORDER BY d.next_attempt_at, d.id LIMIT $2 FOR UPDATE OF d SKIP LOCKED",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let delivery = delivery_row(r)?;
            sqlx::query("UPDATE webhook_deliveries SET next_attempt_at = $1 WHERE id = $2")
                .bind(lease_until)
                .bind(delivery.id)
                .execute(&mut *tx)
                .await?;
            let event = sqlx::query("SELECT * FROM case_events WHERE case_id = $1 AND seq = $2")
                .bind(delivery.case_id)
                .bind(delivery.seq)
                .fetch_one(&mut *tx)
                .await?;
            let grid: Option<String> = r.try_get("grid")?;
            out.push(DueDelivery {
                url: r.try_get("url")?,
                secret: r.try_get("secret")?,
                event: event_row(&event)?,
                reference: r.try_get("reference")?,
                district: r.try_get("district")?,
                grid: grid.map(|g| parse_field(RegionCode::parse(&g))).transpose()?,
                delivery,
            });
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn record_attempt(&self, delivery: i64, attempt: &Attempt, now: Millis) -> Result<()> {
        let q = match attempt {
            Attempt::Delivered { status } => sqlx::query(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, status = 'delivered', last_status = $1, \
                 last_error = NULL, delivered_at = $2 WHERE id = $3",
            )
            .bind(i64::from(*status))
            .bind(now),
            Attempt::Failed { status, error, retry_at } => sqlx::query(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, status = $1, last_status = $2, last_error = $3, \
                 next_attempt_at = $4 WHERE id = $5",
            )
            .bind(if retry_at.is_some() { "pending" } else { "dead" })
            .bind(status.map(i64::from))
            .bind(error.chars().take(500).collect::<String>())
            .bind(retry_at.unwrap_or(now)),
        };
        q.bind(delivery).execute(&self.pool).await?;
        Ok(())
    }

    async fn deliveries(
        &self,
        webhook: Option<i64>,
        status: Option<DeliveryStatus>,
        limit: u32,
    ) -> Result<Vec<Delivery>> {
        let mut b = QueryBuilder::<Postgres>::new("SELECT * FROM webhook_deliveries WHERE TRUE");
        if let Some(w) = webhook {
            b.push(" AND webhook_id = ").push_bind(w);
        }
        if let Some(s) = status {
            b.push(" AND status = ").push_bind(s.as_str());
        }
        b.push(" ORDER BY id LIMIT ").push_bind(i64::from(limit.clamp(1, 1000)));
        b.build().fetch_all(&self.pool).await?.iter().map(delivery_row).collect()
    }

    async fn delivery(&self, id: i64) -> Result<Option<Delivery>> {
        sqlx::query("SELECT * FROM webhook_deliveries WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(delivery_row)
            .transpose()
    }

    async fn replay_delivery(&self, delivery: i64, now: Millis) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $1, last_error = NULL \
             WHERE id = $2 AND status = 'dead'",
        )
        .bind(now)
        .bind(delivery)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
