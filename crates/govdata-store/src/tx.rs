use sqlx::{Any, AnyConnection, Transaction};

use crate::ledger::LedgerRecord;
use crate::{Result, Store};

/// One state change: the rows it writes and the ledger entries that record
/// it, committed together or not at all.
pub struct WriteTx<'s> {
    store: &'s Store,
    tx: Transaction<'static, Any>,
    actor: String,
    records: Vec<LedgerRecord>,
}

impl<'s> WriteTx<'s> {
    pub(crate) async fn begin(store: &'s Store, actor: &str) -> Result<WriteTx<'s>> {
        let tx = store.inner.write.begin().await?;
        Ok(WriteTx { store, tx, actor: actor.to_owned(), records: Vec::new() })
    }

    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// Adds a ledger entry describing this change. `payload` is what changed;
    /// secrets never go into it.
    pub(crate) fn record(&mut self, kind: &str, subject: &str, payload: serde_json::Value) {
        self.records.push(LedgerRecord::new(&self.actor, kind, subject, payload));
    }

    /// Appends the recorded ledger entries and commits. Returns their indices.
    pub(crate) async fn commit(mut self) -> Result<Vec<u64>> {
        debug_assert!(!self.records.is_empty(), "every state change is recorded in the ledger");
        let ledger = &self.store.inner.ledger;
        let mut appended = ledger.append(&mut self.tx, &self.records).await?;
        self.tx.commit().await?;
        Ok(appended.publish())
    }
}
