//! Group commit of new cases. Every new case (a report over the API or Open311, an on-the-spot
//! handling) has been decided by the state machine before it gets here; it then waits in a
//! bounded queue for the one writer task, which takes every intake waiting (up to
//! `server.intake_batch`), stores them with [`Store::insert_cases`] in one transaction, commits,
//! and only then answers each one. With SQLite's `synchronous = FULL` the commit is on disk
//! before any of them is acknowledged, so throughput grows with concurrency (one fsync for the
//! whole group) without giving up durability.
//!
//! A refused intake (a photo that belongs to someone else) is refused alone: the store keeps
//! each intake in its own savepoint.

use std::sync::Arc;

use gridkeeper_domain::{Case, Decision, MediaId};
use gridkeeper_store::{Intake, Result, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

/// Intakes that may wait for the writer before senders wait for room.
const QUEUE: usize = 4096;

/// A new case waiting for the writer, and where its answer goes.
struct Request {
    decision: Decision,
    year: i32,
    tracking_hash: Option<String>,
    media: Vec<MediaId>,
    reply: oneshot::Sender<Result<Case>>,
}

/// The sending side of the writer's queue. Dropping the last one ends the writer.
#[derive(Clone)]
pub struct IntakeQueue {
    tx: mpsc::Sender<Request>,
}

impl IntakeQueue {
    /// Starts the writer task over `store`; it commits at most `max_batch` intakes at a time
    /// (1: one transaction per intake).
    pub fn start(store: Arc<dyn Store>, max_batch: usize) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(writer(store, rx, max_batch.max(1)));
        Self { tx }
    }

    /// Stores a new case; returns once its transaction has committed.
    pub async fn insert(&self, intake: Intake<'_>) -> Result<Case> {
        let (reply, answer) = oneshot::channel();
        let request = Request {
            decision: intake.decision.clone(),
            year: intake.year,
            tracking_hash: intake.tracking_hash.map(str::to_string),
            media: intake.media.to_vec(),
            reply,
        };
        let stopped = || StoreError::Unavailable("the case writer has stopped".into());
        self.tx.send(request).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn writer(store: Arc<dyn Store>, mut rx: mpsc::Receiver<Request>, max_batch: usize) {
    let mut batch: Vec<Request> = Vec::with_capacity(max_batch);
    while rx.recv_many(&mut batch, max_batch).await > 0 {
        let intakes: Vec<Intake> = batch
            .iter()
            .map(|r| Intake {
                decision: &r.decision,
                year: r.year,
                tracking_hash: r.tracking_hash.as_deref(),
                media: &r.media,
            })
            .collect();
        let results = store.insert_cases(&intakes).await;
        tracing::debug!(cases = intakes.len(), "group commit");
        drop(intakes);
        for (request, result) in batch.drain(..).zip(results) {
            // A client that went away meanwhile just does not hear that its case was stored.
            let _ = request.reply.send(result);
        }
    }
}
