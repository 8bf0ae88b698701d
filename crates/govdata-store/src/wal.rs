//! Checkpoints of SQLite's write-ahead log, off the write path.
//!
//! By default the commit that takes the log past 1,000 pages copies them
//! into the database file itself, on the one write connection, while every
//! other write waits. Here a reader connection does it instead, in PASSIVE
//! mode (it blocks neither the writer nor the readers), [`DELAY`] after the
//! commits that wake it; the writer's own automatic checkpoint stays as a
//! backstop at [`AUTOCHECKPOINT_PAGES`], for when this task falls behind.

use std::sync::Weak;
use std::time::Duration;

use tokio::sync::watch;

use crate::Inner;

/// The writer checkpoints by itself only once the log holds this many
/// pages (200 MiB). Under a busy gateway the log grows by about 9,500
/// pages between two of this task's checkpoints; at 10,000 the ledger's
/// committer kept crossing the mark first and checkpointing inside its
/// commits, 6–12 ms each while every gateway call waited.
pub(crate) const AUTOCHECKPOINT_PAGES: u32 = 50_000;

/// How long commits gather between two checkpoints.
const DELAY: Duration = Duration::from_millis(250);

/// Runs until the store is dropped (the sender of `committed` with it).
pub(crate) async fn run_checkpointer(store: Weak<Inner>, mut committed: watch::Receiver<u64>) {
    while committed.changed().await.is_ok() {
        tokio::time::sleep(DELAY).await;
        let Some(inner) = store.upgrade() else { return };
        if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&inner.read).await {
            tracing::warn!(error = %err, "checkpoint of the write-ahead log failed");
        }
    }
}
