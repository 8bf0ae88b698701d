//! The group committer on SQLite: one thread with a connection of its own.
//!
//! Through the pool every statement is a message to the connection's worker
//! thread and a wake-up back, five per batch (begin, head, entries, nodes,
//! commit). On a 2-core machine those hand-offs, not the fsync, set the
//! batch rate. This thread instead runs a batch start to end on its own
//! connection with cached statements, and only sleeps in the fsync.
//!
//! It still takes its turn on the store's one write connection (holding it,
//! unused, while it writes through its own), so it and the other writers of
//! the process — state changes, the filter indexer — queue fairly on the
//! pool instead of polling SQLite's lock. Whoever holds that connection is
//! the only one who takes the frontier, so the lock order is always: write
//! turn, then frontier.

use std::path::Path;
use std::sync::{Arc, Weak};

use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use tokio::runtime::Handle;
use tokio::sync::mpsc;

use super::group::{answer, split, AccessRequest, MAX_BATCH};
use super::{extend, load_frontier, Appended, PreparedEntry};
use crate::{wal, Inner, Result, StoreError};

/// Opens the committer's connection to `file` and starts its thread.
pub(super) fn start(inner: &Arc<Inner>, file: &Path, queue: mpsc::Receiver<AccessRequest>) -> Result<()> {
    let conn = open(file).map_err(sqlite_error)?;
    let store = Arc::downgrade(inner);
    let runtime = Handle::current();
    std::thread::Builder::new()
        .name("ledger-commit".into())
        .spawn(move || run(store, conn, runtime, queue))
        .map_err(|e| StoreError::Config(format!("cannot start the ledger committer: {e}")))?;
    Ok(())
}

/// The same durability and cache settings as the pool's connections.
fn open(file: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        file,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.execute_batch(&format!(
        "PRAGMA busy_timeout = 10000; PRAGMA synchronous = FULL; PRAGMA temp_store = MEMORY; \
         PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = {};",
        wal::AUTOCHECKPOINT_PAGES
    ))?;
    Ok(conn)
}

fn sqlite_error(err: rusqlite::Error) -> StoreError {
    StoreError::Sqlite(err.to_string())
}

/// Runs until every sender of `queue` is gone (the store was dropped).
fn run(store: Weak<Inner>, mut conn: Connection, runtime: Handle, mut queue: mpsc::Receiver<AccessRequest>) {
    // The pool returns the write turn through a task on the runtime.
    let _runtime = runtime.enter();
    let mut requests = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.blocking_recv() {
        requests.push(first);
        while requests.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(request) => requests.push(request),
                Err(_) => break,
            }
        }
        let Some(inner) = store.upgrade() else { break };
        let (entries, replies) = split(&mut requests);
        answer(replies, commit(&inner, &mut conn, &runtime, &entries));
    }
}

fn commit(
    inner: &Inner,
    conn: &mut Connection,
    runtime: &Handle,
    entries: &[PreparedEntry],
) -> Result<Vec<u64>> {
    let mut turn = runtime.block_on(inner.write.acquire())?;
    let ledger = &inner.ledger;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sqlite_error)?;
    let guard = ledger.frontier.blocking_lock();
    let size: i64 = tx
        .prepare_cached("SELECT size FROM ledger_head WHERE id = 1")
        .and_then(|mut head| head.query_row([], |row| row.get(0)))
        .map_err(sqlite_error)?;
    let first_index = size as u64;
    // Another process appended since this one last did.
    let mut next = if guard.size() == first_index {
        guard.clone()
    } else {
        runtime.block_on(load_frontier(&mut turn, ledger.config.hash, first_index))?
    };
    let nodes = extend(&mut next, entries);
    (|| {
        let mut insert = tx.prepare_cached(
            "INSERT INTO ledger_entries (idx, leaf_hash, canonical, payload, kind, actor, subject, at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for (index, entry) in (first_index..).zip(entries) {
            insert.execute(rusqlite::params![
                index as i64,
                entry.leaf.as_slice(),
                entry.canonical,
                entry.payload,
                entry.record.kind,
                entry.record.actor,
                entry.record.subject,
                entry.at,
            ])?;
        }
        let mut insert =
            tx.prepare_cached("INSERT INTO ledger_nodes (level, idx, hash) VALUES (?1, ?2, ?3)")?;
        for node in &nodes {
            insert.execute(rusqlite::params![
                i64::from(node.level),
                node.index as i64,
                node.hash.as_slice()
            ])?;
        }
        tx.prepare_cached("UPDATE ledger_head SET size = ?1 WHERE id = 1")?.execute([next.size() as i64])?;
        Ok(())
    })()
    .map_err(sqlite_error)?;
    tx.commit().map_err(sqlite_error)?;
    Ok(Appended { guard, next, first_index, appended: &ledger.appended }.publish())
}
