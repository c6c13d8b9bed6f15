//! The live feed across server instances: PostgreSQL `LISTEN`/`NOTIFY`.
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
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use tokio::sync::broadcast;

use crate::live::{CaseNotice, LiveFeed};
use crate::Result;

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
