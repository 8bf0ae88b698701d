//! The store's writes, and the turn to make them.
//!
//! SQLite takes one writer at a time. Inside the process, writers queue for
//! the turn instead of failing with `SQLITE_BUSY` or polling SQLite's lock:
//! every transaction on the write pool's one connection, and the ledger's
//! committer thread, which writes through a connection of its own
//! (`ledger/sqlite_commit.rs`), takes the turn first and holds it until it
//! commits. The turn is a mutex rather than the pool connection itself:
//! the pool tests every connection it gets back with a round trip to the
//! connection's worker thread, which the committer paid once per batch.
//!
//! Whoever holds the turn is the only writer that takes the ledger's
//! frontier, so the lock order is always: turn, then frontier.
//!
//! On PostgreSQL writers run concurrently (the ledger's head row serialises
//! appends) and there is no turn.

use std::ops::{Deref, DerefMut};

use sqlx::{Any, AnyConnection, AnyPool, Transaction};
use tokio::sync::{Mutex, MutexGuard};

use crate::Result;

pub(crate) struct Writer {
    pool: AnyPool,
    turn: Option<Mutex<()>>,
}

impl Writer {
    /// Writes through `pool`; `serialised` where the database takes one
    /// writer at a time.
    pub(crate) fn new(pool: AnyPool, serialised: bool) -> Writer {
        Writer { pool, turn: serialised.then(|| Mutex::new(())) }
    }

    /// Waits for the turn, then begins a transaction.
    pub(crate) async fn begin(&self) -> Result<TurnTx<'_>> {
        let turn = match &self.turn {
            Some(turn) => Some(turn.lock().await),
            None => None,
        };
        let tx = self.pool.begin().await?;
        Ok(TurnTx { tx, _turn: turn })
    }

    /// Waits for the turn outside the runtime, for a writer with its own
    /// connection.
    pub(crate) fn blocking_turn(&self) -> Option<MutexGuard<'_, ()>> {
        self.turn.as_ref().map(Mutex::blocking_lock)
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }
}

/// A transaction on the write pool, holding the turn until it ends.
pub(crate) struct TurnTx<'w> {
    // Fields drop in order: the transaction ends (rolls back, if it was not
    // committed) before the turn passes on.
    tx: Transaction<'static, Any>,
    _turn: Option<MutexGuard<'w, ()>>,
}

impl TurnTx<'_> {
    pub(crate) async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
}

impl Deref for TurnTx<'_> {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl DerefMut for TurnTx<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}
