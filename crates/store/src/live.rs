//! Live notices of case changes, for the linkage center's queue (`GET /api/v1/events`).
//!
//! After each successful case write the server publishes one [`CaseNotice`]; each listener
//! subscribes and filters the notices by its own scope ([`gridkeeper_domain::sees`] over
//! [`CaseNotice::sight`]). A notice carries only what a queue needs to refresh a row and what
//! decides who may see it, so it fits a PostgreSQL `NOTIFY` payload (8,000 bytes) as JSON.
//!
//! [`LocalFeed`] delivers within one process (SQLite, a single server). A scale-out backend
//! implements [`LiveFeed`] over a shared channel (PostgreSQL `LISTEN`/`NOTIFY`): `publish` sends
//! the notice's JSON, a listener task feeds what arrives into its own `broadcast` channel, and
//! `subscribe` hands out receivers of that channel — so every instance's listeners see every
//! instance's writes.
//!
//! [`PgFeed`] is the feed across server instances: PostgreSQL `LISTEN`/`NOTIFY`.
//!
//! `publish` sends the notice's JSON on the channel `gridkeeper_cases` (after the write's commit,
//! so listeners never hear of a change they cannot read yet); one listening connection per
//! instance feeds what arrives, from every instance including this one, into the instance's
//! `broadcast` channel that its SSE streams subscribe to. When the listening connection is lost,
//! sqlx's `PgListener` reconnects; notices sent meanwhile are lost, which is why listeners
//! refetch their queue when their stream (re)opens.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use gridkeeper_domain::{Action, Case, CaseId, CaseSight, CaseState, DepartmentId, Millis, PersonId, RegionCode};
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use tokio::sync::broadcast;

use crate::Result;

/// One thing that happened to a case, as live listeners learn it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseNotice {
    pub case: CaseId,
    pub reference: String,
    /// The case's version after the event.
    pub version: i64,
    /// What happened (the event's action).
    pub action: Action,
    /// The state after the event.
    pub state: CaseState,
    /// The grid, or the district when the case lies outside every grid.
    pub region: RegionCode,
    /// Lead and co-departments after the event (for the listeners' scope).
    pub departments: Vec<DepartmentId>,
    /// The reporter (for the listeners' scope); never sent to a client.
    pub reporter: Option<PersonId>,
    /// When it happened (milliseconds since the epoch).
    pub at: Millis,
}

impl CaseNotice {
    /// The notice of `action` at `at` on `case` as stored after it.
    pub fn of(case: &Case, action: Action, at: Millis) -> Self {
        let sight = case.sight();
        Self {
            case: case.id,
            reference: case.reference.clone(),
            version: case.version,
            action,
            state: case.state,
            region: sight.region,
            departments: sight.departments,
            reporter: sight.reporter,
            at,
        }
    }

    /// What decides who may see it.
    pub fn sight(&self) -> CaseSight {
        CaseSight {
            case: self.case,
            region: self.region.clone(),
            departments: self.departments.clone(),
            reporter: self.reporter,
        }
    }
}

/// Where case notices are published and subscribed to. Publishing never fails the write it
/// follows: a backend that cannot deliver logs it, and listeners refetch when they reconnect.
#[async_trait]
pub trait LiveFeed: Send + Sync {
    /// Sends a notice to every subscriber (of every server instance sharing the feed).
    async fn publish(&self, notice: CaseNotice);
    /// A receiver of every notice published from now on. A receiver that falls behind by more
    /// than the channel's capacity gets `RecvError::Lagged` and should refetch.
    fn subscribe(&self) -> broadcast::Receiver<CaseNotice>;
}

/// The in-process feed: one `tokio::sync::broadcast` channel.
pub struct LocalFeed {
    sender: broadcast::Sender<CaseNotice>,
}

impl LocalFeed {
    /// A feed whose slowest listener may fall `capacity` notices behind before it lags.
    pub fn new(capacity: usize) -> Self {
        Self { sender: broadcast::channel(capacity.max(1)).0 }
    }
}

impl Default for LocalFeed {
    fn default() -> Self {
        Self::new(1024)
    }
}

#[async_trait]
impl LiveFeed for LocalFeed {
    async fn publish(&self, notice: CaseNotice) {
        // No subscriber is not an error: nobody is watching.
        let _ = self.sender.send(notice);
    }

    fn subscribe(&self) -> broadcast::Receiver<CaseNotice> {
        self.sender.subscribe()
    }
}

/// The channel of case notices.
pub const CHANNEL: &str = "gridkeeper_cases";

pub struct PgFeed {
    pool: PgPool,
    sender: broadcast::Sender<CaseNotice>,
    listener: tokio::task::JoinHandle<()>,
}

impl PgFeed {
    /// Connects to `url` (a pool of its own: one connection listens, one publishes) and starts
    /// listening before it returns, so nothing published after this is missed.
    pub async fn start(url: &str, capacity: usize) -> Result<Arc<Self>> {
        let pool = PgPoolOptions::new().max_connections(3).acquire_timeout(crate::ACQUIRE_TIMEOUT).connect(url).await?;
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(CHANNEL).await?;
        let sender = broadcast::channel(capacity.max(1)).0;
        let tx = sender.clone();
        let listener = tokio::spawn(async move {
            loop {
                match listener.try_recv().await {
                    Ok(Some(n)) => match serde_json::from_str::<CaseNotice>(n.payload()) {
                        Ok(notice) => {
                            let _ = tx.send(notice);
                        }
                        Err(e) => tracing::warn!(error = %e, "an unreadable case notice on {CHANNEL}"),
                    },
                    // The connection was lost; the next call reconnects and listens again.
                    Ok(None) => tracing::warn!("live feed: lost the listening connection; reconnecting"),
                    Err(e) => {
                        tracing::warn!(error = %e, "live feed: cannot listen; retrying in a second");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(Arc::new(Self { pool, sender, listener }))
    }
}

impl Drop for PgFeed {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

#[async_trait]
impl LiveFeed for PgFeed {
    async fn publish(&self, notice: CaseNotice) {
        let payload = match serde_json::to_string(&notice) {
            Ok(p) => p,
            Err(e) => return tracing::warn!(error = %e, "cannot serialise a case notice"),
        };
        if let Err(e) = sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(payload).execute(&self.pool).await {
            // Never fails the write it follows: listeners refetch when they reconnect.
            tracing::warn!(error = %e, case = notice.case, "cannot publish a case notice");
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<CaseNotice> {
        self.sender.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(case: CaseId) -> CaseNotice {
        CaseNotice {
            case,
            reference: format!("330483-2026-{case:06}"),
            version: 1,
            action: Action::Report,
            state: CaseState::Reported,
            region: RegionCode::parse("330483101001001").unwrap(),
            departments: vec![3],
            reporter: Some(9),
            at: 1_700_000_000_000,
        }
    }

    #[tokio::test]
    async fn every_subscriber_gets_what_is_published_after_it_subscribed() {
        let feed = LocalFeed::new(8);
        feed.publish(notice(1)).await; // nobody listens yet: dropped, no error
        let mut a = feed.subscribe();
        let mut b = feed.subscribe();
        feed.publish(notice(2)).await;
        assert_eq!(a.recv().await.unwrap().case, 2);
        assert_eq!(b.recv().await.unwrap().case, 2);
        assert!(a.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_slow_subscriber_is_told_it_lagged() {
        let feed = LocalFeed::new(2);
        let mut slow = feed.subscribe();
        for i in 0..5 {
            feed.publish(notice(i)).await;
        }
        assert!(matches!(slow.recv().await, Err(broadcast::error::RecvError::Lagged(3))));
        assert_eq!(slow.recv().await.unwrap().case, 3);
    }

    #[test]
    fn a_notice_travels_as_json_and_keeps_its_sight() {
        let n = notice(7);
        let json = serde_json::to_string(&n).unwrap();
        assert!(json.len() < 8000, "fits a NOTIFY payload");
        let back: CaseNotice = serde_json::from_str(&json).unwrap();
        assert_eq!(back, n);
        assert_eq!(back.sight().departments, vec![3]);
        assert_eq!(back.sight().region.as_str(), "330483101001001");
    }
}
