use sqlx::AnyConnection;

use crate::ledger::LedgerRecord;
use crate::write::TurnTx;
use crate::{Result, Store};

/// One state change: the rows it writes and the ledger entries that record
/// it, committed together or not at all.
pub struct WriteTx<'s> {
    store: &'s Store,
    tx: TurnTx<'s>,
    actor: String,
    records: Vec<LedgerRecord>,
    /// Whether the change put rows into the federation outbox.
    outbox_written: bool,
}

impl<'s> WriteTx<'s> {
    pub(crate) async fn begin(store: &'s Store, actor: &str) -> Result<WriteTx<'s>> {
        let tx = store.inner.write.begin().await?;
        Ok(WriteTx { store, tx, actor: actor.to_owned(), records: Vec::new(), outbox_written: false })
    }

    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// Adds a ledger entry describing this change. `payload` is what changed;
    /// secrets never go into it.
    pub(crate) fn record(&mut self, kind: &str, subject: &str, payload: serde_json::Value) {
        self.records.push(LedgerRecord::new(&self.actor, kind, subject, payload));
    }

    /// Marks that this change puts rows into the federation outbox: the
    /// sync task is woken once it commits.
    pub(crate) fn outbox_written(&mut self) {
        self.outbox_written = true;
    }

    /// Appends the recorded ledger entries and commits. Returns their indices.
    pub(crate) async fn commit(mut self) -> Result<Vec<u64>> {
        debug_assert!(!self.records.is_empty(), "every state change is recorded in the ledger");
        let ledger = &self.store.inner.ledger;
        let mut appended = ledger.append(&mut self.tx, &self.records).await?;
        self.tx.commit().await?;
        if self.outbox_written {
            self.store.inner.outbox.notify_one();
        }
        Ok(appended.publish())
    }
}
