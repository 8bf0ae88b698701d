//! Signed checkpoints: the C2SP signed note `origin\nsize\nbase64(root)\n`
//! plus the node key's signature line, one per tree size it was made at.
//!
//! A checkpoint is made only when the tree grew since the latest one: by the
//! background [`Checkpointer`] once a second, and on demand when someone
//! asks for the current checkpoint before the checkpointer ran. Making one
//! is not itself a ledger entry (that would grow the tree it describes).

use std::time::Duration;

use govdata_ledger::ed25519_dalek::SigningKey;
use govdata_ledger::hash::Hash;
use govdata_ledger::note::Checkpoint;
use sqlx::Row;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::to_hash;
use crate::{timestamp, Result, Store, StoreError};

/// A stored checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub size: u64,
    pub root: Hash,
    /// The signed note, as served.
    pub note: String,
    pub created_at: String,
}

fn checkpoint_from_row(row: &sqlx::any::AnyRow) -> Result<SignedCheckpoint> {
    Ok(SignedCheckpoint {
        size: row.try_get::<i64, _>("size")? as u64,
        root: to_hash(row.try_get("root")?)?,
        note: row.try_get("note")?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// The checkpoint of the largest size, if any was made.
    pub async fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>> {
        sqlx::query("SELECT size, root, note, created_at FROM ledger_checkpoints ORDER BY size DESC LIMIT 1")
            .fetch_optional(self.read())
            .await?
            .as_ref()
            .map(checkpoint_from_row)
            .transpose()
    }

    /// The checkpoint made at exactly `size`, if any.
    pub async fn checkpoint_at(&self, size: u64) -> Result<Option<SignedCheckpoint>> {
        let Ok(size) = i64::try_from(size) else { return Ok(None) };
        sqlx::query("SELECT size, root, note, created_at FROM ledger_checkpoints WHERE size = $1")
            .bind(size)
            .fetch_optional(self.read())
            .await?
            .as_ref()
            .map(checkpoint_from_row)
            .transpose()
    }

    /// The checkpoint of the current tree: the latest one if the tree has not
    /// grown since, otherwise a new one signed with the node key `key` and
    /// stored.
    pub async fn checkpoint(&self, key: &SigningKey) -> Result<SignedCheckpoint> {
        // Latest first: the size read after it can only be larger.
        let latest = self.latest_checkpoint().await?;
        let size = self.ledger_size().await?;
        match &latest {
            Some(cp) if cp.size == size => return Ok(cp.clone()),
            Some(cp) if cp.size > size => {
                return Err(StoreError::Corrupt(format!(
                    "a checkpoint covers {} entries but the ledger holds {size}: refusing to sign a shorter history",
                    cp.size
                )))
            }
            _ => {}
        }
        let root = self.ledger_root(size).await?;
        let origin = self.ledger_origin();
        let note = Checkpoint::new(origin, size, root)
            .sign(origin, key)
            .map_err(|e| StoreError::Config(format!("signing a checkpoint: {e}")))?;
        // Another process may have signed the same size meanwhile: Ed25519
        // signatures are deterministic, so its note is this one.
        let mut tx = self.inner.write.begin().await?;
        sqlx::query(
            "INSERT INTO ledger_checkpoints (size, root, note, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (size) DO NOTHING",
        )
        .bind(size as i64)
        .bind(root.as_slice())
        .bind(note.as_str())
        .bind(timestamp::now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.checkpoint_at(size)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("checkpoint at size {size} vanished after insert")))
    }

    /// Starts a task that makes a checkpoint every `every` when the tree has
    /// grown, and a last one when stopped.
    /// `key` gives the node key at each checkpoint (it changes when rotated).
    pub fn start_checkpointer(
        &self,
        key: impl Fn() -> SigningKey + Send + 'static,
        every: Duration,
    ) -> Checkpointer {
        let store = self.clone();
        let (stop, mut stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = tick.tick() => {}
                }
                if let Err(err) = store.checkpoint(&key()).await {
                    tracing::warn!(error = %err, "ledger checkpoint failed");
                }
            }
            if let Err(err) = store.checkpoint(&key()).await {
                tracing::warn!(error = %err, "final ledger checkpoint failed");
            }
        });
        Checkpointer { stop, task }
    }
}

/// The running background checkpointer; [`Checkpointer::stop`] it before
/// closing the store.
pub struct Checkpointer {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Checkpointer {
    /// Stops the task after one last checkpoint.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        if let Err(err) = self.task.await {
            tracing::error!(error = %err, "ledger checkpointer panicked");
        }
    }
}
