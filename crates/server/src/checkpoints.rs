//! Audit checkpoints. The hash chain of the audit log proves that what remains was not changed,
//! but not that nothing was cut from its end: whoever owns the database can delete the newest
//! entries unseen. So every few minutes the server writes the chain's head (its newest entry's
//! number and hash), signed with the vault's index key, where the database's owner cannot
//! rewrite it: a folder of another machine, or an object store with retention (S3 object lock).
//! `gridkeeper audit verify` then checks the chain against the newest checkpoint.

use std::sync::Arc;

use futures::TryStreamExt;
use gridkeeper_domain::time::to_rfc3339;
use gridkeeper_domain::Millis;
use gridkeeper_store::Store;
use object_store::path::Path;
use object_store::ObjectStore;
use serde::{Deserialize, Serialize};

/// `[server.audit_checkpoints]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CheckpointSettings {
    /// Where checkpoints are written: a folder, or `s3://BUCKET[/PREFIX]` (configured like the
    /// photos' store). None: no checkpoints.
    pub url: Option<String>,
    /// Minutes between two checkpoints (one is written only when the log has grown).
    pub every_minutes: u32,
}

impl Default for CheckpointSettings {
    fn default() -> Self {
        Self { url: None, every_minutes: 10 }
    }
}

/// The head of the chain at a moment, signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// The number of the newest entry (entries are numbered from 1 without gaps).
    pub entries: i64,
    /// Its hash.
    pub hash: String,
    pub written_at: String,
    /// HMAC-SHA256 of the three fields above with the vault's index key.
    pub signature: String,
}

impl Checkpoint {
    fn signed_text(entries: i64, hash: &str, written_at: &str) -> String {
        format!("{entries}\n{hash}\n{written_at}")
    }
}

/// What the newest checkpoint says of the chain.
#[derive(Debug, PartialEq, Eq)]
pub enum Anchored {
    /// No checkpoint was written yet.
    NoCheckpoint,
    /// The chain holds every entry of the newest checkpoint, unchanged.
    Holds(Checkpoint),
    /// It does not: why.
    Broken(String),
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{0}")]
    Store(#[from] gridkeeper_store::StoreError),
    #[error("the checkpoint store: {0}")]
    Objects(#[from] object_store::Error),
}

/// Where the checkpoints are written.
pub struct Checkpoints {
    objects: Arc<dyn ObjectStore>,
}

const FOLDER: &str = "audit-checkpoints";

impl Checkpoints {
    /// The configured checkpoint store, if any.
    pub fn open(settings: &crate::Settings) -> Result<Option<Self>, crate::StartupError> {
        let Some(url) = &settings.audit_checkpoints.url else { return Ok(None) };
        let objects = crate::media::object_store_at(url, settings, "server.audit_checkpoints.url")?;
        Ok(Some(Self { objects }))
    }

    /// Writes the chain's head as a new checkpoint, unless the newest one already holds it.
    pub async fn write(&self, store: &dyn Store, now: Millis) -> Result<Option<Checkpoint>, CheckpointError> {
        let Some((entries, hash)) = store.audit_hash_of(None).await? else { return Ok(None) };
        if self.latest(store).await?.is_some_and(|c| c.entries >= entries) {
            return Ok(None);
        }
        let written_at = to_rfc3339(now);
        let signature = store.sign(&Checkpoint::signed_text(entries, &hash, &written_at));
        let checkpoint = Checkpoint { entries, hash, written_at, signature };
        let body = serde_json::to_vec_pretty(&checkpoint).expect("a checkpoint serialises");
        // Named by the entry number, zero-padded: names sort as the chain grows, and a new
        // checkpoint never overwrites an older one.
        let path = Path::from(format!("{FOLDER}/{entries:012}.json"));
        self.objects.put(&path, body.into()).await?;
        Ok(Some(checkpoint))
    }

    /// The newest checkpoint whose signature holds (a forged or damaged one is skipped).
    async fn latest(&self, store: &dyn Store) -> Result<Option<Checkpoint>, CheckpointError> {
        let mut names: Vec<Path> =
            self.objects.list(Some(&Path::from(FOLDER))).map_ok(|m| m.location).try_collect().await?;
        names.sort();
        for name in names.iter().rev() {
            let bytes = self.objects.get(name).await?.bytes().await?;
            match serde_json::from_slice::<Checkpoint>(&bytes) {
                Ok(c) if store.sign(&Checkpoint::signed_text(c.entries, &c.hash, &c.written_at)) == c.signature => {
                    return Ok(Some(c));
                }
                _ => tracing::warn!(checkpoint = %name, "an audit checkpoint does not hold its signature; skipped"),
            }
        }
        Ok(None)
    }

    /// Checks the chain against the newest checkpoint: its entry must still be there, with the
    /// same hash (the chain itself, walked by `audit_verify`, then vouches for every entry
    /// before it).
    pub async fn verify(&self, store: &dyn Store) -> Result<Anchored, CheckpointError> {
        let Some(c) = self.latest(store).await? else { return Ok(Anchored::NoCheckpoint) };
        Ok(match store.audit_hash_of(Some(c.entries)).await? {
            Some((_, hash)) if hash == c.hash => Anchored::Holds(c),
            Some(_) => {
                Anchored::Broken(format!("entry {} differs from the checkpoint written at {}", c.entries, c.written_at))
            }
            None => {
                let now = store.audit_hash_of(None).await?.map_or(0, |(id, _)| id);
                Anchored::Broken(format!(
                    "the checkpoint written at {} holds {} entries but the log has {now}: the newest entries were removed",
                    c.written_at, c.entries
                ))
            }
        })
    }
}
