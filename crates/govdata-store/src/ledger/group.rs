//! Group commit of data-access entries.
//!
//! Reads (gateway calls, downloads) are not state changes, so no
//! [`crate::WriteTx`] carries their entries; yet each must be durable before
//! the read is answered. One transaction per read would cost one fsync per
//! read. Instead every caller builds and hashes its entry, queues it, and one
//! committer takes whatever has queued (up to [`MAX_BATCH`]), appends it all
//! in one transaction through the same frontier lock as `WriteTx`, commits,
//! and only then answers each caller with its index. While a batch commits
//! the next one queues, so the batch grows with the load and the fsync cost
//! per entry falls.
//!
//! On PostgreSQL the committer is a task on the runtime; on SQLite it is a
//! thread with a connection of its own ([`super::sqlite_commit`]), since
//! there every statement through the pool is a round trip to another
//! thread, and those round trips, not the disk, bounded the batch rate.
//!
//! A failed batch answers every caller in it with the error; its
//! transaction rolled back and the frontier was never replaced, so the next
//! batch starts from the last committed state.

use std::sync::{Arc, Weak};

use tokio::sync::{mpsc, oneshot};

use super::{check_record, sqlite_commit, LedgerRecord, PreparedEntry};
use crate::{timestamp, Backend, Inner, Result, Store, StoreError};

/// Most entries in one transaction: bounds the memory and the time a batch
/// holds the write connection.
pub(super) const MAX_BATCH: usize = 1024;

/// Queue length at which callers wait (back-pressure) instead of piling up.
const QUEUE: usize = 4 * MAX_BATCH;

pub(crate) struct AccessRequest {
    entry: PreparedEntry,
    reply: Reply,
}

/// Where a caller waits for its index.
pub(super) type Reply = oneshot::Sender<Result<u64>>;

impl Store {
    /// Appends a data-access entry (a read that changes no state: gateway
    /// calls, downloads) and returns its index once the entry is durably
    /// committed. Concurrent calls share one transaction (group commit).
    ///
    /// Entries of state changes go through [`crate::WriteTx`] instead, in
    /// the change's own transaction.
    pub async fn record_access(&self, record: LedgerRecord) -> Result<u64> {
        check_record(&record)?;
        let ledger = &self.inner.ledger;
        let queue = match ledger.committer.get() {
            Some(queue) => queue,
            None => {
                let (sender, receiver) = mpsc::channel(QUEUE);
                match (self.inner.backend, &ledger.sqlite_file) {
                    (Backend::Sqlite, Some(file)) => sqlite_commit::start(&self.inner, file, receiver)?,
                    _ => drop(tokio::spawn(run_committer(Arc::downgrade(&self.inner), receiver))),
                }
                // Two first callers at once: the loser's committer ends with
                // its queue, which nobody ever sends to.
                let _ = ledger.committer.set(sender);
                ledger.committer.get().expect("set just now")
            }
        };
        let entry = ledger.prepare(&record, &timestamp::now());
        let (reply, answer) = oneshot::channel();
        queue.send(AccessRequest { entry, reply }).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    async fn commit_batch(&self, entries: &[PreparedEntry]) -> Result<Vec<u64>> {
        let mut tx = self.inner.write.begin().await?;
        let mut appended = self.inner.ledger.append_prepared(&mut tx, entries).await?;
        tx.commit().await?;
        Ok(appended.publish())
    }
}

/// The committer only stops once every handle on the store is gone.
fn stopped() -> StoreError {
    StoreError::Database(sqlx::Error::PoolClosed)
}

/// Splits queued requests into their entries and where to answer.
pub(super) fn split(requests: &mut Vec<AccessRequest>) -> (Vec<PreparedEntry>, Vec<Reply>) {
    requests.drain(..).map(|r| (r.entry, r.reply)).unzip()
}

/// Answers every caller of a batch: its index, or the batch's error.
pub(super) fn answer(replies: Vec<Reply>, outcome: Result<Vec<u64>>) {
    match outcome {
        Ok(indices) => {
            for (reply, index) in replies.into_iter().zip(indices) {
                // A caller that gave up waiting still has its entry recorded.
                let _ = reply.send(Ok(index));
            }
        }
        Err(err) => {
            tracing::error!(error = %err, entries = replies.len(), "ledger group commit failed");
            let err = Arc::new(err);
            for reply in replies {
                let _ = reply.send(Err(StoreError::BatchFailed(err.clone())));
            }
        }
    }
}

/// Holds only a weak reference, so dropping the last [`Store`] drops the
/// queue's sender and ends this task.
async fn run_committer(store: Weak<Inner>, mut queue: mpsc::Receiver<AccessRequest>) {
    let mut requests = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut requests, MAX_BATCH).await > 0 {
        let Some(inner) = store.upgrade() else { break };
        let store = Store { inner };
        let (entries, replies) = split(&mut requests);
        let outcome = store.commit_batch(&entries).await;
        if outcome.is_ok() {
            store.inner.ledger.count_group_commit(entries.len());
        }
        answer(replies, outcome);
    }
}
