//! Webhook delivery: a worker that turns the outbox (filled by a trigger in the transaction of
//! every case event) into deliveries per matching subscription, and sends each one, signed with
//! HMAC-SHA256, retrying with exponential backoff until the receiver answers 2xx or the attempts
//! run out (then it waits on the dead-letter list for an admin to replay it).
//!
//! A delivery is leased while it is being sent, so several server processes may run the worker
//! over one database. A process that dies mid-send leaves the lease to expire and the delivery is
//! sent again: receivers see each event at least once and recognise repeats by
//! `X-Gridkeeper-Event-Id`; a delivery answered 2xx is never sent again.

use std::time::Duration;

use gridkeeper_domain::time::to_rfc3339;
use gridkeeper_domain::Millis;
use gridkeeper_store::{Attempt, DueDelivery};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;

use crate::AppState;

/// The `[webhooks]` section of the configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    /// Run the delivery worker in this process.
    pub enabled: bool,
    /// How often the worker looks for new events and due retries, in milliseconds.
    pub poll_ms: u64,
    /// The first retry waits this long; each further one twice as long (at most 6 hours).
    pub retry_base_ms: u64,
    /// Attempts before a delivery goes to the dead-letter list.
    pub max_attempts: u32,
    /// Time a receiver has to answer one delivery.
    pub timeout_seconds: u64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self { enabled: true, poll_ms: 1000, retry_base_ms: 30_000, max_attempts: 8, timeout_seconds: 10 }
    }
}

impl WebhookSettings {
    /// When to try again after `attempts` failed attempts; `None` when it is time to give up.
    pub fn retry_at(&self, now: Millis, attempts: u32) -> Option<Millis> {
        backoff(self.retry_base_ms, self.max_attempts, now, attempts)
    }
}

/// When to try again after `attempts` failed attempts: `base_ms`, doubled after each further
/// failure, at most 6 hours; `None` once `max_attempts` were made.
pub fn backoff(base_ms: u64, max_attempts: u32, now: Millis, attempts: u32) -> Option<Millis> {
    if attempts >= max_attempts {
        return None;
    }
    let factor = 1u64 << attempts.saturating_sub(1).min(20);
    let wait = base_ms.saturating_mul(factor).min(6 * 3_600_000);
    Some(now + wait as Millis)
}

/// `sha256=<hex>` of HMAC-SHA256(secret, "{timestamp}.{body}").
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The stable id of an event: the case reference and the event's number.
pub fn event_id(reference: &str, seq: i64) -> String {
    format!("{reference}.{seq}")
}

/// The body of a delivery: only what the event itself says (it never changes, so a retry sends
/// the same body) and which case it belongs to.
fn payload(d: &DueDelivery) -> serde_json::Value {
    let e = &d.event.event;
    json!({
        "id": event_id(&d.reference, d.event.seq),
        "type": e.action.as_str(),
        "case": { "id": d.event.case_id, "reference": d.reference, "district": d.district, "grid": d.grid },
        "event": {
            "seq": d.event.seq, "action": e.action, "at": to_rfc3339(e.at), "actor": e.actor,
            "from": e.from, "to": e.to, "data": e.data,
        },
    })
}

/// Starts the delivery worker on the runtime; it runs until the process ends.
pub fn start(app: AppState, settings: WebhookSettings) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = match reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.timeout_seconds.max(1)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("gridkeeper-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "webhook worker cannot start");
                return;
            }
        };
        loop {
            if let Err(e) = round(&app, &settings, &client).await {
                tracing::warn!(error = %e, "webhook round failed; trying again");
            }
            tokio::time::sleep(Duration::from_millis(settings.poll_ms.max(10))).await;
        }
    })
}

/// One round: fan out new events, then send what is due.
async fn round(
    app: &AppState,
    s: &WebhookSettings,
    client: &reqwest::Client,
) -> Result<(), gridkeeper_store::StoreError> {
    while app.store.fan_out(500, app.now()).await? == 500 {}
    loop {
        let now = app.now();
        // The batch is sent concurrently, each send bounded by the timeout: a lease of the timeout
        // and a margin covers it; a worker that dies leaves it to expire.
        let lease = now + (s.timeout_seconds.max(1) as Millis + 30) * 1000;
        let due = app.store.claim_deliveries(now, lease, 20).await?;
        if due.is_empty() {
            return Ok(());
        }
        let sent = futures::future::join_all(due.iter().map(|d| send(client, d, app.now())));
        for (d, attempt) in due.iter().zip(sent.await) {
            let attempt = match attempt {
                Ok(status) if (200..300).contains(&status) => Attempt::Delivered { status },
                other => {
                    let (status, error) = match other {
                        Ok(status) => (Some(status), format!("the receiver answered {status}")),
                        Err(e) => (None, e),
                    };
                    let tried = u32::try_from(d.delivery.attempts + 1).unwrap_or(u32::MAX);
                    Attempt::Failed { status, error, retry_at: s.retry_at(app.now(), tried) }
                }
            };
            match &attempt {
                Attempt::Delivered { .. } => {
                    tracing::info!(delivery = d.delivery.id, url = %d.url, "webhook delivered")
                }
                Attempt::Failed { error, retry_at, .. } => {
                    tracing::warn!(delivery = d.delivery.id, url = %d.url, %error, dead = retry_at.is_none(), "webhook failed")
                }
            }
            record(app, d.delivery.id, &attempt).await?;
        }
    }
}

/// Records what came of an attempt, trying again a few times when the database is busy: the
/// receiver has answered, and an outcome left unrecorded would hold the delivery under its lease
/// and then send it once more.
async fn record(app: &AppState, delivery: i64, attempt: &Attempt) -> Result<(), gridkeeper_store::StoreError> {
    let mut wait = Duration::from_millis(50);
    for _ in 0..5 {
        match app.store.record_attempt(delivery, attempt, app.now()).await {
            Ok(()) => return Ok(()),
            Err(e) => tracing::warn!(delivery, error = %e, "recording a webhook attempt failed; trying again"),
        }
        tokio::time::sleep(wait).await;
        wait *= 2;
    }
    app.store.record_attempt(delivery, attempt, app.now()).await
}

async fn send(client: &reqwest::Client, d: &DueDelivery, now: Millis) -> Result<u16, String> {
    let body = payload(d).to_string();
    let timestamp = now / 1000;
    let r = client
        .post(&d.url)
        .header("content-type", "application/json")
        .header("x-gridkeeper-event", d.event.event.action.as_str())
        .header("x-gridkeeper-event-id", event_id(&d.reference, d.event.seq))
        .header("x-gridkeeper-delivery", d.delivery.id.to_string())
        .header("x-gridkeeper-timestamp", timestamp.to_string())
        .header("x-gridkeeper-signature", signature(&d.secret, timestamp, body.as_bytes()))
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    Ok(r.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_gives_up() {
        let s = WebhookSettings { retry_base_ms: 1000, max_attempts: 4, ..Default::default() };
        assert_eq!(s.retry_at(0, 1), Some(1000));
        assert_eq!(s.retry_at(0, 2), Some(2000));
        assert_eq!(s.retry_at(0, 3), Some(4000));
        assert_eq!(s.retry_at(0, 4), None);
        let long = WebhookSettings { retry_base_ms: 3_600_000, max_attempts: 50, ..Default::default() };
        assert_eq!(long.retry_at(0, 30), Some(6 * 3_600_000), "capped at six hours");
    }

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_and_body() {
        // Computed independently: Python's hmac.new(b"Jefe", b"1700000000.what do ya want for
        // nothing?", hashlib.sha256).hexdigest().
        assert_eq!(
            signature("Jefe", 1_700_000_000, b"what do ya want for nothing?"),
            "sha256=1cdd0650c8be1cb0974b1788d458b1e781206cfef59b85faafc582d2e182c57e"
        );
        assert_ne!(
            signature("Jefe", 1_700_000_001, b"what do ya want for nothing?"),
            signature("Jefe", 1_700_000_000, b"what do ya want for nothing?"),
            "the timestamp is signed"
        );
    }
}
