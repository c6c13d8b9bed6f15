//! Storage for data exchange: Open311 service attributes, API keys and queries, imported cases
//! found by their original id, and webhooks (subscriptions, the outbox, deliveries).

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use gridkeeper_domain::exchange::{Datatype, ServiceAttribute, WebhookFilter};
use gridkeeper_domain::{
    Action, Case, CaseEvent, CaseId, CategoryId, DepartmentId, FieldError, Millis, PersonId, RegionCode,
};
use serde::Serialize;
use sqlx::types::Json;
use sqlx::Row;

use crate::cases::{CASE_COLUMNS, EVENT_COLUMNS};
use crate::dialect::generic;
use crate::sql::Sql;
use crate::{corrupt, json, parse_field, unsigned, Result, StoreError, Visibility};

/// What `POST requests` answers for a key: the id of the new case, or a token to look it up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Respond {
    Id,
    Token,
}

impl Respond {
    pub fn as_str(self) -> &'static str {
        match self {
            Respond::Id => "id",
            Respond::Token => "token",
        }
    }
}

/// An Open311 client's API key (only its hash is stored).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Open311Key {
    pub id: i64,
    pub name: String,
    /// Requests posted with the key are filed as this person, with their roles.
    pub person_id: PersonId,
    pub respond: Respond,
    pub created_at: Millis,
}

/// Which cases an Open311 query returns, newest first.
#[derive(Debug, Clone, Default)]
pub struct Open311Query {
    /// Case references or ids (`service_request_id`); when given, other filters are ignored.
    pub keys: Vec<String>,
    pub categories: Vec<CategoryId>,
    /// Only cases of this district (`jurisdiction_id`).
    pub district: Option<String>,
    pub reported_from: Option<Millis>,
    pub reported_to: Option<Millis>,
    /// `Some(true)`: open cases only; `Some(false)`: closed, rated or rejected only.
    pub open: Option<bool>,
    /// Besides what anyone may see (public cases, and the bare status of reports not yet
    /// accepted or rejected), the cases this visibility covers (the API key's person).
    pub visibility: Option<Visibility>,
    pub offset: u32,
    pub limit: u32,
}

/// Case events in a time window, for `GET servicerequestupdates`.
#[derive(Debug, Clone, Default)]
pub struct UpdatesQuery {
    pub from: Millis,
    pub to: Millis,
    pub district: Option<String>,
    pub visibility: Option<Visibility>,
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    /// The HMAC key; shown once when the subscription is made.
    #[serde(skip)]
    pub secret: String,
    #[serde(flatten)]
    pub filter: WebhookFilter,
    pub active: bool,
    pub created_by: Option<PersonId>,
    #[serde(with = "gridkeeper_domain::time::rfc3339")]
    pub created_at: Millis,
}

#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: String,
    pub secret: String,
    pub filter: WebhookFilter,
    pub created_by: Option<PersonId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    /// Gave up after the last retry: on the dead-letter list until replayed.
    Dead,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }
}

/// One event for one subscription.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: i64,
    pub case_id: CaseId,
    pub seq: i64,
    pub status: DeliveryStatus,
    pub attempts: i64,
    #[serde(with = "gridkeeper_domain::time::rfc3339")]
    pub next_attempt_at: Millis,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    #[serde(with = "gridkeeper_domain::time::rfc3339")]
    pub created_at: Millis,
    #[serde(with = "gridkeeper_domain::time::rfc3339_opt")]
    pub delivered_at: Option<Millis>,
}

/// A delivery taken for sending, with what its request needs.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub delivery: Delivery,
    pub url: String,
    pub secret: String,
    pub event: CaseEvent,
    pub reference: String,
    pub district: String,
    pub grid: Option<RegionCode>,
}

/// How an attempt went.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    /// The receiver answered 2xx.
    Delivered { status: u16 },
    /// Try again at `retry_at`, or (`None`) give up: the delivery goes to the dead-letter list.
    Failed { status: Option<u16>, error: String, retry_at: Option<Millis> },
}

#[async_trait]
pub trait ExchangeStore: Send + Sync {
    // Open311 service attributes.
    async fn category_attributes(&self, category: CategoryId) -> Result<Vec<ServiceAttribute>>;
    /// Categories that have at least one attribute.
    async fn categories_with_attributes(&self) -> Result<HashSet<CategoryId>>;
    /// Replaces the attributes of a category (checked by the caller).
    async fn set_category_attributes(&self, category: CategoryId, attrs: &[ServiceAttribute]) -> Result<()>;

    // Open311 API keys.
    async fn create_open311_key(
        &self,
        name: &str,
        key_hash: &str,
        person: PersonId,
        respond: Respond,
        now: Millis,
    ) -> Result<i64>;
    /// The live (not revoked) key with this hash.
    async fn open311_key(&self, key_hash: &str) -> Result<Option<Open311Key>>;
    async fn open311_keys(&self) -> Result<Vec<Open311Key>>;
    /// Revokes the key named `name`; false when there is no live key of that name.
    async fn revoke_open311_key(&self, name: &str, now: Millis) -> Result<bool>;

    // Queries of other systems.
    async fn open311_requests(&self, q: &Open311Query) -> Result<Vec<Case>>;
    /// The events of several cases at once, each list in order.
    async fn events_of(&self, cases: &[CaseId]) -> Result<HashMap<CaseId, Vec<CaseEvent>>>;
    /// Non-internal events in `[from, to)` of the cases the query may see, oldest first.
    async fn case_updates(&self, q: &UpdatesQuery) -> Result<Vec<(Case, CaseEvent)>>;
    /// Of these original ids (`exchange.external_id`), the ones already imported.
    async fn imported_external_ids(&self, ids: &[String]) -> Result<HashSet<String>>;
    /// The event another system sent with this update id (`exchange.update_id`), if any.
    async fn event_by_update_id(&self, update_id: &str) -> Result<Option<CaseEvent>>;

    // Webhooks.
    async fn create_webhook(&self, w: &NewWebhook, now: Millis) -> Result<Webhook>;
    async fn webhooks(&self) -> Result<Vec<Webhook>>;
    /// Stops a subscription (its history stays); false when there is no active one with this id.
    async fn deactivate_webhook(&self, id: i64) -> Result<bool>;
    /// Turns up to `limit` outbox rows into deliveries for the matching subscriptions, in one
    /// transaction; returns the number of outbox rows handled.
    async fn fan_out(&self, limit: u32, now: Millis) -> Result<usize>;
    /// Takes up to `limit` pending deliveries that are due, leasing them until `lease_until` so
    /// that no other worker sends them meanwhile.
    async fn claim_deliveries(&self, now: Millis, lease_until: Millis, limit: u32) -> Result<Vec<DueDelivery>>;
    async fn record_attempt(&self, delivery: i64, attempt: &Attempt, now: Millis) -> Result<()>;
    /// Deliveries of a subscription (all of them, or with this status), oldest first.
    async fn deliveries(
        &self,
        webhook: Option<i64>,
        status: Option<DeliveryStatus>,
        limit: u32,
    ) -> Result<Vec<Delivery>>;
    async fn delivery(&self, id: i64) -> Result<Option<Delivery>>;
    /// Puts a dead delivery back in the queue, due now; false when it is not dead.
    async fn replay_delivery(&self, delivery: i64, now: Millis) -> Result<bool>;
}

/// Actions never shown outside the organisation (see `Action::is_internal`).
fn internal_actions() -> String {
    Action::ALL.iter().filter(|a| a.is_internal()).map(|a| format!("'{}'", a.as_str())).collect::<Vec<_>>().join(", ")
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

/// Rows written or read in one statement at most, to stay far below either database's limit of
/// bound parameters.
const CHUNK: usize = 500;
/// The vault's name of the webhooks' HMAC keys, sealed at rest like personal data.
const WEBHOOK_SECRET: &str = "webhooks.secret";

generic! {
    impl SqlStore {
        /// `exchange.external_id` of an event's `data`, as the index `case_events_external_id` has it.
        fn external_id_sql() -> String {
            D::json_text("data", "exchange.external_id")
        }

        /// `exchange.update_id` of an event's `data`, as the index `case_events_external_update` has it.
        fn update_id_sql() -> String {
            D::json_text("data", "exchange.update_id")
        }

        /// The original ids among `ids` of cases already imported: the first events that carry
        /// them, found through the index `case_events_external_id`.
        fn imported_sql(ids: &[String]) -> Sql {
            let ext = Self::external_id_sql();
            let mut b = Sql::new(format!("SELECT {ext} FROM case_events WHERE seq = 1 AND {ext} IN "));
            b.push_in(ids);
            b
        }

        /// The event with the update id `$1`, found through the index `case_events_external_update`
        /// (whose condition the query repeats, so that the partial index applies).
        fn update_sql() -> String {
            let upd = Self::update_id_sql();
            format!("SELECT {EVENT_COLUMNS} FROM case_events WHERE {upd} IS NOT NULL AND {upd} = $1")
        }

        /// `AND (what anyone may see OR what `v` covers)`: public cases, and reports not yet
        /// accepted or rejected (shown as a bare status by the caller).
        fn push_open311_visibility(b: &mut Sql, v: &Option<Visibility>) {
            b.push(" AND (public OR state IN ('reported', 'rejected')");
            if let Some(v) = v {
                b.push(" OR (TRUE");
                Self::push_visibility(b, v);
                b.push(")");
            }
            b.push(")");
        }

        fn key_row(r: &D::Row) -> Result<Open311Key> {
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

        /// Seals the webhook secrets stored in clear before they were sealed (at migration).
        pub(crate) async fn seal_webhook_secrets(&self) -> Result<()> {
            let plain = sqlx::query("SELECT id, secret FROM webhooks WHERE secret NOT LIKE 'enc:%'")
                .fetch_all(&self.pool)
                .await?;
            for r in plain {
                let (id, secret): (i64, String) = (r.try_get("id")?, r.try_get("secret")?);
                sqlx::query("UPDATE webhooks SET secret = $1 WHERE id = $2 AND secret = $3")
                    .bind(self.vault.seal(WEBHOOK_SECRET, &secret))
                    .bind(id)
                    .bind(&secret)
                    .execute(&self.pool)
                    .await?;
            }
            Ok(())
        }

        fn webhook_row(&self, r: &D::Row) -> Result<Webhook> {
            let actions: String = r.try_get("actions")?;
            let region: Option<String> = r.try_get("region")?;
            Ok(Webhook {
                id: r.try_get("id")?,
                url: r.try_get("url")?,
                secret: self.vault.open(WEBHOOK_SECRET, r.try_get("secret")?).map_err(corrupt)?,
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

        fn delivery_row(r: &D::Row) -> Result<Delivery> {
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
    }
}

generic! {
    #[async_trait]
    impl ExchangeStore for SqlStore {
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
            sqlx::query("DELETE FROM category_attributes WHERE category_id = $1")
                .bind(category)
                .execute(&mut *tx)
                .await?;
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
                .map(Self::key_row)
                .transpose()
        }

        async fn open311_keys(&self) -> Result<Vec<Open311Key>> {
            sqlx::query("SELECT * FROM open311_keys WHERE revoked_at IS NULL ORDER BY name")
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(Self::key_row)
                .collect()
        }

        async fn revoke_open311_key(&self, name: &str, now: Millis) -> Result<bool> {
            let done = sqlx::query("UPDATE open311_keys SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(name)
                .execute(&self.pool)
                .await?;
            Ok(D::rows_affected(&done) == 1)
        }

        #[tracing::instrument(skip_all)]
        async fn open311_requests(&self, q: &Open311Query) -> Result<Vec<Case>> {
            let mut b = Sql::new(format!("SELECT {CASE_COLUMNS} FROM cases WHERE TRUE"));
            Self::push_open311_visibility(&mut b, &q.visibility);
            if let Some(d) = &q.district {
                b.push(" AND district = ").push_bind(d);
            }
            if !q.keys.is_empty() {
                b.push(" AND (reference IN ").push_in(&q.keys);
                b.push(" OR id IN ").push_in(q.keys.iter().map(|k| k.parse::<i64>().unwrap_or(-1))).push(")");
            } else {
                if !q.categories.is_empty() {
                    b.push(" AND coalesce(category, suggested_category) IN ").push_in(q.categories.iter().copied());
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
            Self::query_of(&b).fetch_all(&self.pool).await?.iter().map(|r| self.case_row(r)).collect()
        }

        async fn events_of(&self, cases: &[CaseId]) -> Result<HashMap<CaseId, Vec<CaseEvent>>> {
            let mut out: HashMap<CaseId, Vec<CaseEvent>> = HashMap::new();
            for chunk in cases.chunks(CHUNK) {
                let mut b = Sql::new(format!("SELECT {EVENT_COLUMNS} FROM case_events WHERE case_id IN "));
                b.push_in(chunk.iter().copied()).push(" ORDER BY case_id, seq");
                for r in Self::query_of(&b).fetch_all(&self.pool).await? {
                    let e = Self::event_row(&r)?;
                    out.entry(e.case_id).or_default().push(e);
                }
            }
            Ok(out)
        }

        #[tracing::instrument(skip_all)]
        async fn case_updates(&self, q: &UpdatesQuery) -> Result<Vec<(Case, CaseEvent)>> {
            let mut b = Sql::new(format!(
                "SELECT {CASE_COLUMNS}, e.case_id, e.seq, e.action, e.at, e.actor, e.from_state, e.to_state, e.data \
                 FROM case_events e JOIN cases ON cases.id = e.case_id WHERE e.action NOT IN ({})",
                internal_actions()
            ));
            b.push(" AND e.at >= ").push_bind(q.from).push(" AND e.at < ").push_bind(q.to);
            Self::push_open311_visibility(&mut b, &q.visibility);
            if let Some(d) = &q.district {
                b.push(" AND district = ").push_bind(d);
            }
            b.push(" ORDER BY e.at, e.case_id, e.seq LIMIT ").push_bind(i64::from(q.limit.clamp(1, 1000)));
            Self::query_of(&b)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| Ok((self.case_row(r)?, Self::event_row(r)?)))
                .collect()
        }

        async fn imported_external_ids(&self, ids: &[String]) -> Result<HashSet<String>> {
            let mut out = HashSet::new();
            for chunk in ids.chunks(CHUNK) {
                let b = Self::imported_sql(chunk);
                for r in Self::query_of(&b).fetch_all(&self.pool).await? {
                    out.insert(r.try_get::<String, _>(0)?);
                }
            }
            Ok(out)
        }

        async fn event_by_update_id(&self, update_id: &str) -> Result<Option<CaseEvent>> {
            sqlx::query(&Self::update_sql())
                .bind(update_id)
                .fetch_optional(&self.pool)
                .await?
                .as_ref()
                .map(Self::event_row)
                .transpose()
        }

        async fn create_webhook(&self, w: &NewWebhook, now: Millis) -> Result<Webhook> {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO webhooks (url, secret, actions, region, department_id, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(&w.url)
            .bind(self.vault.seal(WEBHOOK_SECRET, &w.secret))
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
            sqlx::query("SELECT * FROM webhooks ORDER BY id")
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| self.webhook_row(r))
                .collect()
        }

        async fn deactivate_webhook(&self, id: i64) -> Result<bool> {
            let done = sqlx::query("UPDATE webhooks SET active = FALSE WHERE id = $1 AND active")
                .bind(id)
                .execute(&self.pool)
                .await?;
            Ok(D::rows_affected(&done) == 1)
        }

        #[tracing::instrument(skip(self))]
        async fn fan_out(&self, limit: u32, now: Millis) -> Result<usize> {
            let mut tx = self.begin_write().await?;
            // On PostgreSQL, rows another instance is fanning out are skipped (and not waited
            // for); SQLite's write transaction already keeps every other writer out.
            let rows = sqlx::query(&format!(
                "SELECT o.id AS outbox_id, e.case_id, e.action, e.seq, e.data, c.scope_region FROM webhook_outbox o \
                 JOIN case_events e ON e.case_id = o.case_id AND e.seq = o.seq JOIN cases c ON c.id = o.case_id \
                 ORDER BY o.id LIMIT $1{}",
                D::skip_locked("o")
            ))
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
            if rows.is_empty() {
                return Ok(0);
            }
            // Exactly the rows read here are removed (not every id up to the last one: on
            // PostgreSQL, one below it may be another instance's).
            let taken: Vec<i64> = rows.iter().map(|r| r.try_get::<i64, _>("outbox_id")).collect::<Result<_, _>>()?;
            let hooks: Vec<Webhook> = sqlx::query("SELECT * FROM webhooks WHERE active")
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| self.webhook_row(r))
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
                let Json(data): Json<serde_json::Value> = r.try_get("data")?;
                let departments = event_departments(&links[&case], &data);
                for h in hooks.iter().filter(|h| h.filter.matches(action, &region, &departments)) {
                    sqlx::query(
                        "INSERT INTO webhook_deliveries (webhook_id, case_id, seq, status, next_attempt_at, created_at) \
                         VALUES ($1, $2, $3, 'pending', $4, $4) ON CONFLICT (webhook_id, case_id, seq) DO NOTHING",
                    )
                    .bind(h.id)
                    .bind(case)
                    .bind(seq)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            Self::delete_ids(&mut tx, "webhook_outbox", &taken).await?;
            tx.commit().await?;
            Ok(rows.len())
        }

        async fn claim_deliveries(&self, now: Millis, lease_until: Millis, limit: u32) -> Result<Vec<DueDelivery>> {
            let mut tx = self.begin_write().await?;
            // On PostgreSQL, deliveries another worker is claiming are skipped; SQLite's write
            // transaction already keeps every other writer out.
            let rows = sqlx::query(&format!(
                "SELECT d.*, w.url, w.secret, c.reference, c.district, c.grid FROM webhook_deliveries d \
                 JOIN webhooks w ON w.id = d.webhook_id JOIN cases c ON c.id = d.case_id \
                 WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND w.active \
                 ORDER BY d.next_attempt_at, d.id LIMIT $2{}",
                D::skip_locked("d")
            ))
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let delivery = Self::delivery_row(r)?;
                sqlx::query("UPDATE webhook_deliveries SET next_attempt_at = $1 WHERE id = $2")
                    .bind(lease_until)
                    .bind(delivery.id)
                    .execute(&mut *tx)
                    .await?;
                let event = sqlx::query(&format!("SELECT {EVENT_COLUMNS} FROM case_events WHERE case_id = $1 AND seq = $2"))
                    .bind(delivery.case_id)
                    .bind(delivery.seq)
                    .fetch_one(&mut *tx)
                    .await?;
                let grid: Option<String> = r.try_get("grid")?;
                out.push(DueDelivery {
                    url: r.try_get("url")?,
                    secret: self.vault.open(WEBHOOK_SECRET, r.try_get("secret")?).map_err(corrupt)?,
                    event: Self::event_row(&event)?,
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
                    "UPDATE webhook_deliveries SET attempts = attempts + 1, status = $1, last_status = $2, \
                     last_error = $3, next_attempt_at = $4 WHERE id = $5",
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
            let mut b = Sql::new("SELECT * FROM webhook_deliveries WHERE TRUE");
            if let Some(w) = webhook {
                b.push(" AND webhook_id = ").push_bind(w);
            }
            if let Some(s) = status {
                b.push(" AND status = ").push_bind(s.as_str());
            }
            b.push(" ORDER BY id LIMIT ").push_bind(i64::from(limit.clamp(1, 1000)));
            Self::query_of(&b).fetch_all(&self.pool).await?.iter().map(Self::delivery_row).collect()
        }

        async fn delivery(&self, id: i64) -> Result<Option<Delivery>> {
            sqlx::query("SELECT * FROM webhook_deliveries WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .as_ref()
                .map(Self::delivery_row)
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
            Ok(D::rows_affected(&done) == 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use gridkeeper_domain::exchange::Choice;
    use gridkeeper_domain::{report, Actor, Category, CategoryKind, Deadlines, LatLon, NewReport};
    use serde_json::json;

    use super::*;
    use crate::testing::on_both;
    use crate::{CaseStore, Intake, NewPerson, PeopleStore, ReferenceData, ReferenceStore};

    /// A new report of district 330483 at `at`, its first event carrying `exchange` when given.
    async fn new_case(s: &impl CaseStore, at: Millis, exchange: Option<serde_json::Value>) -> Case {
        let r = NewReport::new("330483", Some(LatLon { lat: 30.0, lon: 120.0 }), "broken");
        let mut d = report(&Actor::anonymous(), r, at).unwrap();
        if let Some(x) = exchange {
            d.event.data["exchange"] = x;
        }
        s.insert_case(Intake { decision: &d, year: 2026, tracking_hash: None, media: &[] }).await.unwrap()
    }

    fn attribute(code: &str, order: u32, variable: bool) -> ServiceAttribute {
        ServiceAttribute {
            code: code.into(),
            variable,
            datatype: Datatype::Singlevaluelist,
            required: !variable,
            datatype_description: variable.then(|| "pick one".to_string()),
            order,
            description: format!("attribute {code}"),
            values: vec![Choice { key: "a".into(), name: "A".into() }],
        }
    }

    #[test]
    fn an_event_concerns_the_linked_departments_and_those_its_data_names() {
        let data = json!({"lead_department": 3, "department": 4, "co_departments": [5, 6]});
        assert_eq!(event_departments(&[1, 2], &data), [1, 2, 3, 4, 5, 6]);
        assert_eq!(event_departments(&[1], &json!({})), [1]);
    }

    on_both! {
        async fn category_attributes_are_replaced_as_a_whole(s) {
            let category = Category {
                id: 7,
                code: "C01".into(),
                name: "路灯".into(),
                name_en: "Street lights".into(),
                kind: CategoryKind::Component,
                parent_id: None,
                default_department: None,
                public: true,
                deadlines: Deadlines { routine_hours: 72, urgent_hours: 24, emergency_hours: 4 },
                duplicate_radius_m: 50,
                duplicate_window_hours: 24,
            };
            s.load_reference(&ReferenceData { categories: vec![category], ..Default::default() }).await.unwrap();
            let attrs = vec![attribute("b", 2, false), attribute("a", 1, true)];
            s.set_category_attributes(7, &attrs).await.unwrap();
            // By position.
            assert_eq!(s.category_attributes(7).await.unwrap(), [attrs[1].clone(), attrs[0].clone()]);
            assert_eq!(s.categories_with_attributes().await.unwrap(), HashSet::from([7]));
            s.set_category_attributes(7, &[attribute("c", 1, true)]).await.unwrap();
            assert_eq!(s.category_attributes(7).await.unwrap(), [attribute("c", 1, true)]);
            s.set_category_attributes(7, &[]).await.unwrap();
            assert!(s.categories_with_attributes().await.unwrap().is_empty());
        }

        async fn an_open311_key_is_found_by_its_hash_until_revoked(s) {
            let p = NewPerson {
                login: "client".into(),
                name: "client".into(),
                phone: None,
                id_number: None,
                password_hash: None,
                grants: vec![],
            };
            let person = s.create_person(&p, 0).await.unwrap();
            let id = s.create_open311_key("city", "h1", person, Respond::Token, 5).await.unwrap();
            let err = s.create_open311_key("city", "h2", person, Respond::Id, 6).await.unwrap_err();
            assert!(matches!(err, StoreError::Invalid(f) if f.field == "name"));
            let key = Open311Key { id, name: "city".into(), person_id: person, respond: Respond::Token, created_at: 5 };
            assert_eq!(s.open311_key("h1").await.unwrap(), Some(key.clone()));
            assert_eq!(s.open311_keys().await.unwrap(), [key]);
            assert!(s.revoke_open311_key("city", 7).await.unwrap());
            assert!(!s.revoke_open311_key("city", 8).await.unwrap());
            assert_eq!(s.open311_key("h1").await.unwrap(), None);
            assert!(s.open311_keys().await.unwrap().is_empty());
        }

        async fn other_systems_find_cases_events_and_imported_ids(s) {
            let a = new_case(&s, 10, Some(json!({"external_id": "EXT-1", "update_id": "U-1"}))).await;
            let b = new_case(&s, 20, None).await;
            let ids = ["EXT-1".to_string(), "EXT-2".to_string()];
            assert_eq!(s.imported_external_ids(&ids).await.unwrap(), HashSet::from(["EXT-1".to_string()]));
            let event = s.event_by_update_id("U-1").await.unwrap().unwrap();
            assert_eq!((event.case_id, event.seq), (a.id, 1));
            assert_eq!(s.event_by_update_id("U-2").await.unwrap(), None);

            let events = s.events_of(&[a.id, b.id, 999]).await.unwrap();
            assert_eq!(events.len(), 2);
            assert_eq!(events[&a.id], [event]);

            // New reports are shown to anyone (as a bare status), newest first.
            let q = Open311Query { limit: 10, ..Default::default() };
            let found = |q: Open311Query| {
                let s = s.clone();
                async move { s.open311_requests(&q).await.unwrap().iter().map(|c| c.id).collect::<Vec<_>>() }
            };
            assert_eq!(found(q.clone()).await, [b.id, a.id]);
            assert_eq!(found(Open311Query { keys: vec![a.reference.clone()], ..q.clone() }).await, [a.id]);
            assert_eq!(found(Open311Query { keys: vec![b.id.to_string(), "x".into()], ..q.clone() }).await, [b.id]);
            assert_eq!(found(Open311Query { open: Some(false), ..q.clone() }).await, Vec::<CaseId>::new());
            assert_eq!(found(Open311Query { reported_from: Some(15), open: Some(true), ..q.clone() }).await, [b.id]);
            assert_eq!(found(Open311Query { categories: vec![7], ..q.clone() }).await, Vec::<CaseId>::new());
            assert_eq!(found(Open311Query { district: Some("330482".into()), ..q.clone() }).await, Vec::<CaseId>::new());
            assert_eq!(found(Open311Query { offset: 1, ..q }).await, [a.id]);

            let updates = s.case_updates(&UpdatesQuery { from: 0, to: 20, limit: 10, ..Default::default() }).await.unwrap();
            assert_eq!(updates.len(), 1);
            assert_eq!((updates[0].0.id, updates[0].1.seq), (a.id, 1));
        }

        async fn a_delivery_goes_from_the_outbox_to_the_dead_letters_and_back(s) {
            let hook = |region: &str| NewWebhook {
                url: format!("https://example.org/{region}"),
                secret: "s3cret".into(),
                filter: WebhookFilter {
                    actions: vec![],
                    region: Some(RegionCode::parse(region).unwrap()),
                    department: None,
                },
                created_by: None,
            };
            let w = s.create_webhook(&hook("330483"), 1).await.unwrap();
            let other = s.create_webhook(&hook("330482"), 1).await.unwrap();
            assert_eq!(s.webhooks().await.unwrap(), [w.clone(), other.clone()]);
            let case = new_case(&s, 2, None).await;

            // One outbox row, one delivery: only the subscription of the case's district matches.
            assert_eq!(s.fan_out(10, 5).await.unwrap(), 1);
            assert_eq!(s.fan_out(10, 6).await.unwrap(), 0);
            let all = s.deliveries(None, None, 10).await.unwrap();
            assert_eq!(all.len(), 1);
            let d = &all[0];
            assert_eq!((d.webhook_id, d.case_id, d.seq, d.status), (w.id, case.id, 1, DeliveryStatus::Pending));
            assert_eq!((d.attempts, d.next_attempt_at, d.created_at, d.delivered_at), (0, 5, 5, None));

            // Claimed, it is leased: not claimed again before the lease ends.
            let due = s.claim_deliveries(5, 100, 10).await.unwrap();
            assert_eq!(due.len(), 1);
            assert_eq!((due[0].url.as_str(), due[0].secret.as_str()), (w.url.as_str(), "s3cret"));
            assert_eq!((due[0].event.case_id, due[0].event.seq), (case.id, 1));
            assert_eq!((due[0].reference.as_str(), due[0].district.as_str()), (case.reference.as_str(), "330483"));
            assert_eq!(due[0].delivery.next_attempt_at, 5);
            assert!(s.claim_deliveries(50, 150, 10).await.unwrap().is_empty());
            assert_eq!(s.delivery(d.id).await.unwrap().unwrap().next_attempt_at, 100);

            // A failure without a retry puts it on the dead-letter list.
            let failed = Attempt::Failed { status: Some(500), error: "x".repeat(600), retry_at: None };
            s.record_attempt(d.id, &failed, 60).await.unwrap();
            let dead = s.delivery(d.id).await.unwrap().unwrap();
            assert_eq!((dead.status, dead.attempts, dead.last_status), (DeliveryStatus::Dead, 1, Some(500)));
            assert_eq!(dead.last_error.map(|e| e.len()), Some(500));
            assert_eq!(s.deliveries(Some(w.id), Some(DeliveryStatus::Dead), 10).await.unwrap().len(), 1);
            assert!(s.deliveries(Some(other.id), None, 10).await.unwrap().is_empty());
            assert!(s.claim_deliveries(200, 300, 10).await.unwrap().is_empty());

            // Replayed, it is due at once and starts over.
            assert!(s.replay_delivery(d.id, 300).await.unwrap());
            assert!(!s.replay_delivery(d.id, 301).await.unwrap());
            let due = s.claim_deliveries(300, 400, 10).await.unwrap();
            assert_eq!(due.len(), 1);
            s.record_attempt(d.id, &Attempt::Delivered { status: 204 }, 310).await.unwrap();
            let done = s.delivery(d.id).await.unwrap().unwrap();
            assert_eq!((done.status, done.attempts, done.last_status), (DeliveryStatus::Delivered, 1, Some(204)));
            assert_eq!((done.last_error, done.delivered_at), (None, Some(310)));

            // A stopped subscription is neither stopped twice nor fed.
            assert!(s.deactivate_webhook(w.id).await.unwrap());
            assert!(!s.deactivate_webhook(w.id).await.unwrap());
            assert!(!s.webhooks().await.unwrap()[0].active);
        }
    }

    #[tokio::test]
    async fn sqlite_finds_imported_ids_and_updates_through_their_indexes() {
        let s = crate::testing::sqlite().await;
        let plan = |sql: Sql| {
            let pool = s.pool.clone();
            async move {
                let mut sql = sql;
                sql.prepend("EXPLAIN QUERY PLAN ");
                let rows = crate::SqliteStore::query_of(&sql).fetch_all(&pool).await.unwrap();
                rows.iter().map(|r| r.get::<String, _>("detail")).collect::<Vec<_>>().join("; ")
            }
        };
        let ids = ["a".to_string(), "b".to_string()];
        let p = plan(crate::SqliteStore::imported_sql(&ids)).await;
        assert!(p.contains("USING INDEX case_events_external_id"), "{p}");
        let mut update = Sql::new(crate::SqliteStore::update_sql());
        update.args.push("u".into());
        let p = plan(update).await;
        assert!(p.contains("USING INDEX case_events_external_update"), "{p}");
    }

    #[tokio::test]
    async fn postgres_finds_imported_ids_and_updates_through_their_indexes() {
        let db = crate::testing::postgres().await;
        let mut tx = db.store.pool.begin().await.unwrap();
        // The tables are empty: make the planner show whether it could use the indexes at all.
        sqlx::query("SET LOCAL enable_seqscan = off").execute(&mut *tx).await.unwrap();
        async fn plan(conn: &mut sqlx::PgConnection, sql: Sql) -> String {
            let mut sql = sql;
            sql.prepend("EXPLAIN ");
            let rows = crate::PgStore::query_of(&sql).fetch_all(conn).await.unwrap();
            rows.iter().map(|r| r.get::<String, _>(0)).collect::<Vec<_>>().join("; ")
        }
        let ids = ["a".to_string(), "b".to_string()];
        let p = plan(&mut tx, crate::PgStore::imported_sql(&ids)).await;
        assert!(p.contains("case_events_external_id"), "{p}");
        let mut update = Sql::new(crate::PgStore::update_sql());
        update.args.push("u".into());
        let p = plan(&mut tx, update).await;
        assert!(p.contains("case_events_external_update"), "{p}");
    }
}
