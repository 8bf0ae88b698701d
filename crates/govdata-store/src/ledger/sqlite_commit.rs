//! The group committer on SQLite: a thread with a connection of its own,
//! and a second thread that makes its commits durable.
//!
//! Through the pool every statement is a message to the connection's worker
//! thread and a wake-up back, five per batch (begin, head, entries, nodes,
//! commit). On a 2-core machine those hand-offs, not the fsync, set the
//! batch rate. The committer instead runs a batch start to end on its own
//! connection with cached statements.
//!
//! Nor does it wait for the disk. Its connection commits with
//! `synchronous = NORMAL`, which writes the batch to the WAL without
//! flushing it, and hands the batch to the syncer, which flushes the WAL
//! file (`fdatasync`, covering every batch written before it) and only then
//! answers the callers. So the next batch is written while the last
//! one reaches the disk, and one flush makes several batches durable. Until
//! then a batch is visible to readers but not yet acknowledged; a power
//! loss in that window loses whole batches from the end of the WAL (SQLite
//! keeps only the prefix of commits whose checksums hold), never an
//! acknowledged one. Every other commit in the store is `FULL`, and its own
//! flush of the WAL covers the batches before it: a checkpoint is never
//! stored before the entries it signs are on disk.
//!
//! It still takes the store's turn to write ([`crate::write`]) for each
//! batch, so it and the other writers of the process — state changes, the
//! filter indexer — queue fairly instead of polling SQLite's lock.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};

use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use tokio::runtime::Handle;
use tokio::sync::mpsc;

use super::group::{answer, split, AccessRequest, Reply, MAX_BATCH};
use super::{extend, load_frontier, Appended, PreparedEntry};
use crate::{wal, Inner, Result, StoreError};

/// A committed batch waiting for the WAL to reach the disk.
struct Written {
    replies: Vec<Reply>,
    indices: Vec<u64>,
}

/// Opens the committer's connection to `file` and starts its threads.
pub(super) fn start(inner: &Arc<Inner>, file: &Path, queue: mpsc::Receiver<AccessRequest>) -> Result<()> {
    let conn = open(file).map_err(sqlite_error)?;
    let failed = |e: std::io::Error| StoreError::Config(format!("cannot start the ledger committer: {e}"));
    let wal = Arc::new(Wal::open(file).map_err(failed)?);
    let store = Arc::downgrade(inner);
    let runtime = Handle::current();
    let handoff = Arc::new(Handoff::default());
    let thread = |name: &str| std::thread::Builder::new().name(name.into());
    let (syncer_store, syncer_wal, to_sync) = (store.clone(), wal.clone(), handoff.clone());
    thread("ledger-sync").spawn(move || sync(syncer_store, &syncer_wal, &to_sync)).map_err(failed)?;
    thread("ledger-commit")
        .spawn(move || run(store, conn, &wal, runtime, queue, &handoff))
        .map_err(failed)?;
    Ok(())
}

/// The database's write-ahead log, opened once for both threads: the
/// committer starts its writeback, the syncer flushes it. SQLite removes the
/// file only when its last connection closes, and the committer's stays
/// open; the store's own connections have created it by now.
struct Wal {
    file: File,
    path: PathBuf,
}

impl Wal {
    fn open(database: &Path) -> std::io::Result<Wal> {
        let mut path = database.as_os_str().to_owned();
        path.push("-wal");
        let path = PathBuf::from(path);
        Ok(Wal { file: File::open(&path)?, path })
    }

    /// Starts writing the log's new pages to the disk without waiting for
    /// them. The syncer's flush then finds them under way and waits mostly
    /// for the disk's cache flush: on this disk 85–100 µs instead of
    /// 175–225 µs for a batch's 40 KB. Advisory: the flush alone makes the
    /// batch durable, so a failure here changes nothing.
    fn start_writeback(&self) {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: only reads the descriptor, which `self.file` keeps open.
            unsafe { libc::sync_file_range(self.file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
        }
    }

    fn flush(&self) -> std::io::Result<()> {
        self.file.sync_data()
    }
}

/// The pool's cache settings; commits are flushed by the syncer.
fn open(file: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        file,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.execute_batch(&format!(
        "PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY; \
         PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = {};",
        wal::AUTOCHECKPOINT_PAGES
    ))?;
    Ok(conn)
}

fn sqlite_error(err: rusqlite::Error) -> StoreError {
    StoreError::Sqlite(err.to_string())
}

/// Runs until every sender of `queue` is gone (the store was dropped).
fn run(
    store: Weak<Inner>,
    mut conn: Connection,
    wal: &Wal,
    runtime: Handle,
    mut queue: mpsc::Receiver<AccessRequest>,
    handoff: &Handoff,
) {
    let mut requests = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.blocking_recv() {
        handoff.wait_taken();
        requests.push(first);
        while requests.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(request) => requests.push(request),
                Err(_) => break,
            }
        }
        let Some(inner) = store.upgrade() else { break };
        let (entries, replies) = split(&mut requests);
        match commit(&inner, &mut conn, &runtime, &entries) {
            Ok(indices) => {
                wal.start_writeback();
                handoff.put(Written { replies, indices });
            }
            Err(err) => answer(replies, Err(err)),
        }
    }
    handoff.close();
}

/// Committed batches on their way from the committer to the syncer.
///
/// At most one batch waits for a flush: while one does, the committer lets
/// requests gather in its queue, then commits them as one batch once the
/// syncer has taken the last. Committing them one small batch at a time
/// instead would not make them durable sooner — none is flushed before the
/// flush under way ends — but cost a commit each: under a busy gateway, 5
/// entries a commit and a fifth of the process's time.
#[derive(Default)]
struct Handoff {
    state: Mutex<Waiting>,
    changed: Condvar,
}

#[derive(Default)]
struct Waiting {
    batches: Vec<Written>,
    /// The committer stopped.
    closed: bool,
}

impl Handoff {
    fn lock(&self) -> MutexGuard<'_, Waiting> {
        self.state.lock().expect("the ledger handoff lock is never poisoned")
    }

    /// The committer: waits until no committed batch waits for a flush.
    fn wait_taken(&self) {
        let waiting = self.lock();
        drop(self.changed.wait_while(waiting, |waiting| !waiting.batches.is_empty()));
    }

    fn put(&self, batch: Written) {
        self.lock().batches.push(batch);
        self.changed.notify_all();
    }

    /// The committer stopped: the syncer ends after the batches it left.
    fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }

    /// The syncer: every waiting batch, once there is one; `None` once the
    /// committer stopped and none is left.
    fn take(&self) -> Option<Vec<Written>> {
        let waiting = self.lock();
        let mut waiting = self
            .changed
            .wait_while(waiting, |waiting| waiting.batches.is_empty() && !waiting.closed)
            .expect("the ledger handoff lock is never poisoned");
        let batches = std::mem::take(&mut waiting.batches);
        drop(waiting);
        self.changed.notify_all();
        (!batches.is_empty()).then_some(batches)
    }
}

/// Flushes the WAL for every batch written since the last flush, then
/// answers their callers.
fn sync(store: Weak<Inner>, wal: &Wal, handoff: &Handoff) {
    while let Some(pending) = handoff.take() {
        match wal.flush() {
            Ok(()) => {
                let inner = store.upgrade();
                for batch in pending {
                    if let Some(inner) = &inner {
                        inner.ledger.count_group_commit(batch.indices.len());
                    }
                    answer(batch.replies, Ok(batch.indices));
                }
            }
            Err(err) => {
                let err = Arc::new(StoreError::Sqlite(format!("flushing {}: {err}", wal.path.display())));
                for batch in pending {
                    answer(batch.replies, Err(StoreError::BatchFailed(err.clone())));
                }
            }
        }
    }
}

fn commit(
    inner: &Inner,
    conn: &mut Connection,
    runtime: &Handle,
    entries: &[PreparedEntry],
) -> Result<Vec<u64>> {
    let _turn = inner.write.blocking_turn();
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
        runtime.block_on(async {
            let mut read = inner.read.acquire().await?;
            load_frontier(&mut read, ledger.config.hash, first_index).await
        })?
    };
    let nodes = extend(&mut next, entries);
    (|| {
        let mut insert = tx.prepare_cached(
            "INSERT INTO ledger_entries (idx, leaf_hash, canonical, payload, kind, actor, subject, at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for (index, prepared) in (first_index..).zip(entries) {
            insert.execute(rusqlite::params![
                index as i64,
                prepared.leaf.as_slice(),
                prepared.canonical,
                prepared.payload,
                prepared.entry.kind,
                prepared.entry.actor,
                prepared.entry.subject,
                prepared.entry.at,
            ])?;
        }
        let mut insert =
            tx.prepare_cached("INSERT INTO ledger_nodes (leaf_end, level, hash) VALUES (?1, ?2, ?3)")?;
        for node in &nodes {
            insert.execute(rusqlite::params![
                node.id().end() as i64,
                i64::from(node.level),
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
