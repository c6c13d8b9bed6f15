//! Storage for data exchange: Open311 service attributes, API keys and queries, imported cases
//! found by their original id, and webhooks (subscriptions, the outbox, deliveries).

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use gridkeeper_domain::exchange::{ServiceAttribute, WebhookFilter};
use gridkeeper_domain::{Case, CaseEvent, CaseId, CategoryId, Millis, PersonId, RegionCode};
use serde::Serialize;

use crate::{Result, Visibility};

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
