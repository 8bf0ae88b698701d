//! Group commit of data-access entries.
//!
//! Reads (gateway calls, downloads) are not state changes, so no
//! [`crate::WriteTx`] carries their entries; yet each must be durable before
//! the read is answered. One transaction per read would cost one fsync per
//! read. Instead every caller queues its record and one committer task
//! takes whatever has queued (up to [`MAX_BATCH`]), appends it all in one
//! transaction through the same frontier lock as `WriteTx`, commits, and
//! only then answers each caller with its index. While a batch commits the
//! next one queues, so the batch grows with the load and the fsync cost per
//! entry falls.
//!
//! A failed batch answers every caller in it with the error; its
//! transaction rolled back and the frontier was never replaced, so the next
//! batch starts from the last committed state.

use std::sync::{Arc, Weak};

use tokio::sync::{mpsc, oneshot};

use super::{check_record, LedgerRecord};
use crate::{Inner, Result, Store, StoreError};

/// Most entries in one transaction: bounds the memory, the time a batch
/// holds the write connection, and the hashing a batch does on the async
/// runtime (about 2 µs an entry).
const MAX_BATCH: usize = 1024;

/// Queue length at which callers wait (back-pressure) instead of piling up.
const QUEUE: usize = 4 * MAX_BATCH;

pub(crate) struct AccessRequest {
    record: LedgerRecord,
    reply: oneshot::Sender<Result<u64>>,
}

impl Store {
    /// Appends a data-access entry (a read that changes no state: gateway
    /// calls, downloads) and returns its index once the entry is durably
    /// committed. Concurrent calls share one transaction (group commit).
    ///
    /// Entries of state changes go through [`crate::WriteTx`] instead, in
    /// the change's own transaction.
    pub async fn record_access(&self, record: LedgerRecord) -> Result<u64> {
        check_record(&record)?;
        let queue = self.inner.ledger.committer.get_or_init(|| {
            let (sender, receiver) = mpsc::channel(QUEUE);
            tokio::spawn(run_committer(Arc::downgrade(&self.inner), receiver));
            sender
        });
        let (reply, answer) = oneshot::channel();
        queue.send(AccessRequest { record, reply }).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    async fn commit_batch(&self, records: &[LedgerRecord]) -> Result<Vec<u64>> {
        let mut tx = self.inner.write.begin().await?;
        let mut appended = self.inner.ledger.append(&mut tx, records).await?;
        tx.commit().await?;
        Ok(appended.publish())
    }
}

/// The committer only stops once every handle on the store is gone.
fn stopped() -> StoreError {
    StoreError::Database(sqlx::Error::PoolClosed)
}

/// Holds only a weak reference, so dropping the last [`Store`] drops the
/// queue's sender and ends this task.
async fn run_committer(store: Weak<Inner>, mut queue: mpsc::Receiver<AccessRequest>) {
    let mut requests = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut requests, MAX_BATCH).await > 0 {
        let Some(inner) = store.upgrade() else { break };
        let store = Store { inner };
        let (records, replies): (Vec<LedgerRecord>, Vec<_>) =
            requests.drain(..).map(|r| (r.record, r.reply)).unzip();
        match store.commit_batch(&records).await {
            Ok(indices) => {
                for (reply, index) in replies.into_iter().zip(indices) {
                    // A caller that gave up waiting still has its entry recorded.
                    let _ = reply.send(Ok(index));
                }
            }
            Err(err) => {
                tracing::error!(error = %err, entries = records.len(), "ledger group commit failed");
                let err = Arc::new(err);
                for reply in replies {
                    let _ = reply.send(Err(StoreError::BatchFailed(err.clone())));
                }
            }
        }
    }
}
