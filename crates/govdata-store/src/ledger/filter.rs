//! The ledger's filter index: entries by kind, actor and subject.
//!
//! An append writes only where the log ends (the entry rows and the tree
//! nodes grow at their tails). Kept in the append's own transaction, the
//! three filter indexes would take each batch at as many places as it has
//! actors and subjects, and every commit would rewrite those pages. So they
//! live in `ledger_filter`, filled from the committed log by one indexer
//! task, [`BATCH`] entries per transaction at most, at most every [`DELAY`]:
//! a page of the index is then rewritten once per indexing run, not once
//! per commit. `ledger_filter_head.upto` says how far it got; a filtered
//! read looks entries below it up in the index and scans the short tail
//! above it ([`Store::ledger_entries`]), so results never lag the log.
//!
//! The index is derived: `govdata ledger verify` checks every row of it
//! against the entry it names (see [`super::audit`]).

use std::sync::Weak;
use std::time::Duration;

use sqlx::{AnyConnection, Row};
use tokio::sync::watch;

use super::head_size;
use crate::{Inner, Result, Store};

/// Most entries indexed in one transaction: bounds how long it holds the
/// write connection (on SQLite, the appends wait meanwhile).
const BATCH: i64 = 1024;

/// How long the indexer lets entries gather after a commit before it
/// indexes them.
const DELAY: Duration = Duration::from_millis(200);

/// Where the filter index ends: entries below it are in `ledger_filter`.
pub(super) async fn indexed_upto(conn: &mut AnyConnection) -> Result<u64> {
    let upto: i64 = sqlx::query("SELECT upto FROM ledger_filter_head WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?
        .try_get("upto")?;
    Ok(upto as u64)
}

impl Store {
    /// Indexes up to [`BATCH`] committed entries the filter index does not
    /// hold yet, in one transaction; says whether more are waiting.
    pub(super) async fn index_ledger_filter_batch(&self) -> Result<bool> {
        let mut tx = self.inner.write.begin().await?;
        // Locks the row, so two processes on one database never index the
        // same entries.
        let upto: i64 = sqlx::query("UPDATE ledger_filter_head SET upto = upto WHERE id = 1 RETURNING upto")
            .fetch_one(&mut *tx)
            .await?
            .try_get("upto")?;
        let size = head_size(&mut tx).await? as i64;
        let until = size.min(upto + BATCH);
        if until <= upto {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO ledger_filter (idx, kind, actor, subject) \
             SELECT idx, kind, actor, subject FROM ledger_entries WHERE idx >= $1 AND idx < $2",
        )
        .bind(upto)
        .bind(until)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE ledger_filter_head SET upto = $1 WHERE id = 1")
            .bind(until)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(until < size)
    }

    /// Brings the filter index up to the end of the log.
    pub async fn index_ledger_filter(&self) -> Result<()> {
        while self.index_ledger_filter_batch().await? {}
        Ok(())
    }
}

/// Runs until the store is dropped (its sender of `appended` with it):
/// indexes whatever is committed, then waits for the next commit and
/// [`DELAY`]. Holds only a weak reference between runs.
pub(super) async fn run_indexer(store: Weak<Inner>, mut appended: watch::Receiver<u64>) {
    loop {
        let Some(inner) = store.upgrade() else { return };
        if let Err(err) = (Store { inner }).index_ledger_filter().await {
            // The entries stay findable through the unindexed tail; the
            // next run takes them.
            tracing::warn!(error = %err, "ledger filter indexing failed");
        }
        if appended.changed().await.is_err() {
            return;
        }
        tokio::time::sleep(DELAY).await;
    }
}
