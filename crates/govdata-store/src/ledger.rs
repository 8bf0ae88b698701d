//! Persistence of the ledger (see `govdata-ledger` for the tree math).
//!
//! Tables: `ledger_entries` holds one row per leaf (index, leaf hash, the
//! canonical bytes that were hashed, and the payload JSON they commit to, in
//! the exact canonical form whose digest the entry carries); `ledger_nodes`
//! holds the perfect-subtree hashes above the leaves (level ≥ 1), written
//! once when they complete; `ledger_head` holds the size and is the row every
//! appender locks, so indices are gap-free and assigned in commit order even
//! with several processes on one PostgreSQL database; `ledger_checkpoints`
//! holds the signed checkpoints; `ledger_witnessed` what this node cosigned
//! for its children.
//!
//! Appends come two ways, both through [`Ledger::append`] inside an open
//! transaction: a [`crate::WriteTx`] appends the entries of its own state
//! change, and [`Store::record_access`] batches data-access entries of
//! concurrent callers into one transaction ([`group`]).
//!
//! The in-memory [`Frontier`] makes an append need no reads; it is only
//! replaced after the transaction commits, and reloaded from `ledger_nodes`
//! when the head shows another process appended meanwhile.
//!
//! An append writes only at the tails of `ledger_entries` and
//! `ledger_nodes` (nodes are keyed by where they end, then level, so the
//! nodes one batch completes are neighbours); the kind, actor and subject
//! index is filled behind it ([`filter`]).

mod audit;
mod checkpoint;
mod filter;
mod group;
mod read;
mod sqlite_commit;
mod witness;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use govdata_ledger::ed25519_dalek::VerifyingKey;
use govdata_ledger::entry::{canonical_json, Entry};
use govdata_ledger::hash::{leaf_hash, Hash, HashAlg};
use govdata_ledger::note::{is_valid_key_name, VerifierKey};
use govdata_ledger::tree::{self, Frontier, NodeId, NodeReader, StoredNode};
use sqlx::{AnyConnection, AnyPool, Row};
use tokio::sync::{mpsc, watch, Mutex, MutexGuard};

pub use audit::{AuditFinding, AuditReport};
pub use checkpoint::{Checkpointer, SignedCheckpoint};
pub use read::{EntryFilter, EntryPage, LedgerEntry, MAX_ENTRY_PAGE};
pub use witness::WitnessedCheckpoint;

use crate::rows::{chunk_len, param_list, values_sql};
use crate::{timestamp, Backend, Inner, Result, Store, StoreError};

/// What the ledger of this node is.
#[derive(Debug, Clone)]
pub struct LedgerConfig {
    /// Written into every entry; the log's origin is `govdata/<node_id>`.
    pub node_id: String,
    pub hash: HashAlg,
}

/// A state change or data access to record.
#[derive(Debug, Clone)]
pub struct LedgerRecord {
    pub actor: String,
    pub kind: String,
    pub subject: String,
    pub payload: serde_json::Value,
}

impl LedgerRecord {
    pub fn new(actor: &str, kind: &str, subject: &str, payload: serde_json::Value) -> LedgerRecord {
        LedgerRecord { actor: actor.to_owned(), kind: kind.to_owned(), subject: subject.to_owned(), payload }
    }
}

pub(crate) struct Ledger {
    config: LedgerConfig,
    origin: String,
    /// `$N` placeholders or anonymous `?` ([`Backend::numbered_params`]).
    numbered: bool,
    /// The database file on SQLite, where the group committer opens a
    /// connection of its own ([`sqlite_commit`]).
    sqlite_file: Option<PathBuf>,
    frontier: Mutex<Frontier>,
    /// The group committer's queue, started on first use.
    committer: OnceLock<mpsc::Sender<group::AccessRequest>>,
    /// Batches the group committer made durable, and the entries in them.
    group_commits: GroupCommitCounters,
    /// The size after each committed append; wakes the filter indexer.
    appended: watch::Sender<u64>,
}

/// Entries appended inside an open transaction; [`Appended::publish`] after
/// the commit makes the new frontier current. Dropping it instead (the
/// transaction failed) leaves the frontier as it was.
pub(crate) struct Appended<'a> {
    guard: MutexGuard<'a, Frontier>,
    next: Frontier,
    first_index: u64,
    appended: &'a watch::Sender<u64>,
}

impl Appended<'_> {
    pub(crate) fn publish(&mut self) -> Vec<u64> {
        let indices = (self.first_index..self.next.size()).collect();
        *self.guard = self.next.clone();
        self.appended.send_replace(self.next.size());
        indices
    }
}

const HASH_SETTING: &str = "ledger.hash";

/// A record turned into its entry, hashed and ready to insert: everything
/// but the index and the tree nodes, which only the sequencer knows. Callers
/// build their own ([`Ledger::prepare`]), so the one committer only orders
/// them.
pub(crate) struct PreparedEntry {
    entry: Entry,
    /// The canonical payload JSON whose digest the entry carries.
    payload: String,
    canonical: Vec<u8>,
    leaf: Hash,
}

impl Ledger {
    pub(crate) async fn load(
        pool: &AnyPool,
        backend: Backend,
        sqlite_file: Option<PathBuf>,
        config: LedgerConfig,
    ) -> Result<Ledger> {
        let origin = format!("govdata/{}", config.node_id);
        if !is_valid_key_name(&origin) {
            return Err(StoreError::Config(format!(
                "node id {:?} cannot name a ledger: it must not hold spaces, '+' or control characters",
                config.node_id
            )));
        }
        let mut conn = pool.acquire().await?;
        let numbered = backend.numbered_params();
        let stored: Option<String> = sqlx::query("SELECT value FROM node_settings WHERE key = $1")
            .bind(HASH_SETTING)
            .fetch_optional(&mut *conn)
            .await?
            .map(|row| row.try_get("value"))
            .transpose()?;
        match stored {
            Some(alg) if alg != config.hash.as_str() => {
                return Err(StoreError::Config(format!(
                    "the ledger was created with {alg}; ledger.hash = {} cannot change it",
                    config.hash.as_str()
                )))
            }
            Some(_) => {}
            None => {
                sqlx::query("INSERT INTO node_settings (key, value) VALUES ($1, $2)")
                    .bind(HASH_SETTING)
                    .bind(config.hash.as_str())
                    .execute(&mut *conn)
                    .await?;
            }
        }
        let size = head_size(&mut conn).await?;
        let frontier = load_frontier(&mut conn, config.hash, size).await?;
        Ok(Ledger {
            config,
            origin,
            numbered,
            sqlite_file,
            frontier: Mutex::new(frontier),
            committer: OnceLock::new(),
            group_commits: GroupCommitCounters::default(),
            appended: watch::Sender::new(size),
        })
    }

    /// Counts a batch of `entries` made durable by the group committer.
    fn count_group_commit(&self, entries: usize) {
        self.group_commits.batches.fetch_add(1, Ordering::Relaxed);
        self.group_commits.entries.fetch_add(entries as u64, Ordering::Relaxed);
    }

    /// Changes once every committed append (whatever its transaction).
    pub(crate) fn subscribe_appended(&self) -> watch::Receiver<u64> {
        self.appended.subscribe()
    }

    /// Starts the filter indexer of `store`'s ledger; it ends when the store
    /// is dropped.
    pub(crate) fn start_indexer(store: &Arc<Inner>) {
        tokio::spawn(filter::run_indexer(Arc::downgrade(store), store.ledger.subscribe_appended()));
    }

    /// Builds the entry of `record` made at `at`.
    pub(crate) fn prepare(&self, record: &LedgerRecord, at: &str) -> PreparedEntry {
        let alg = self.config.hash;
        let payload = canonical_json(&record.payload);
        let entry = Entry::new(
            self.config.node_id.as_str(),
            at,
            record.actor.as_str(),
            record.kind.as_str(),
            record.subject.as_str(),
            hex::encode(alg.digest(payload.as_bytes())),
        );
        debug_assert_eq!(entry.validate(), Ok(()), "records are checked before they are appended");
        let canonical = entry.canonical_bytes();
        let leaf = leaf_hash(alg, &canonical);
        PreparedEntry { entry, payload, canonical, leaf }
    }

    /// Appends `records` inside `conn`'s open transaction (one state
    /// change: one time for all of them).
    pub(crate) async fn append(
        &self,
        conn: &mut AnyConnection,
        records: &[LedgerRecord],
    ) -> Result<Appended<'_>> {
        let at = timestamp::now();
        let entries: Vec<PreparedEntry> = records.iter().map(|r| self.prepare(r, &at)).collect();
        self.append_prepared(conn, &entries).await
    }

    /// Appends `entries` inside `conn`'s open transaction, with a few
    /// multi-row INSERTs per table (see [`chunk_len`]). The head row is
    /// taken before the frontier: whoever holds the frontier already holds
    /// the database's write lock, so no two appenders wait on each other in
    /// opposite order.
    pub(crate) async fn append_prepared(
        &self,
        conn: &mut AnyConnection,
        entries: &[PreparedEntry],
    ) -> Result<Appended<'_>> {
        let new_size: i64 =
            sqlx::query("UPDATE ledger_head SET size = size + $1 WHERE id = 1 RETURNING size")
                .bind(entries.len() as i64)
                .fetch_one(&mut *conn)
                .await?
                .try_get("size")?;
        let first_index = new_size as u64 - entries.len() as u64;
        let guard = self.frontier.lock().await;
        let mut next = if guard.size() == first_index {
            guard.clone()
        } else {
            load_frontier(conn, self.config.hash, first_index).await?
        };
        let nodes = extend(&mut next, entries);
        insert_entries(conn, first_index, entries, self.numbered).await?;
        insert_nodes(conn, &nodes, self.numbered).await?;
        Ok(Appended { guard, next, first_index, appended: &self.appended })
    }
}

/// Appends the leaves of `entries` to `frontier`; returns the inner nodes
/// (level ≥ 1) they completed, to store.
fn extend(frontier: &mut Frontier, entries: &[PreparedEntry]) -> Vec<StoredNode> {
    let mut nodes = Vec::with_capacity(entries.len());
    for entry in entries {
        nodes.extend(frontier.append(entry.leaf).into_iter().filter(|n| n.level > 0));
    }
    nodes
}

/// Checks what a caller asks to record, so one bad record cannot fail a
/// whole batch: the same rules [`Entry::validate`] applies to the fields
/// that come from the caller.
pub(crate) fn check_record(record: &LedgerRecord) -> Result<()> {
    let probe =
        Entry::new("node", "2000-01-01T00:00:00.000Z", &record.actor, &record.kind, "", "0".repeat(64));
    probe.validate().map_err(|err| match err {
        govdata_ledger::EntryError::Invalid { field, reason } => {
            StoreError::Invalid(govdata_model::FieldError::new(field, reason))
        }
        other => StoreError::Invalid(govdata_model::FieldError::new("record", other.to_string())),
    })
}

async fn insert_entries(
    conn: &mut AnyConnection,
    first_index: u64,
    entries: &[PreparedEntry],
    numbered: bool,
) -> Result<()> {
    let mut rest = entries;
    let mut index = first_index;
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(chunk_len(rest.len()));
        let sql = values_sql(
            "INSERT INTO ledger_entries (idx, leaf_hash, canonical, payload, kind, actor, subject, at) VALUES",
            8,
            chunk.len(),
            numbered,
        );
        let mut query = sqlx::query(&sql);
        for prepared in chunk {
            query = query
                .bind(index as i64)
                .bind(prepared.leaf.as_slice())
                .bind(prepared.canonical.as_slice())
                .bind(prepared.payload.as_str())
                .bind(prepared.entry.kind.as_str())
                .bind(prepared.entry.actor.as_str())
                .bind(prepared.entry.subject.as_str())
                .bind(prepared.entry.at.as_str());
            index += 1;
        }
        query.execute(&mut *conn).await?;
        rest = tail;
    }
    Ok(())
}

async fn insert_nodes(conn: &mut AnyConnection, nodes: &[StoredNode], numbered: bool) -> Result<()> {
    let mut rest = nodes;
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(chunk_len(rest.len()));
        let sql =
            values_sql("INSERT INTO ledger_nodes (leaf_end, level, hash) VALUES", 3, chunk.len(), numbered);
        let mut query = sqlx::query(&sql);
        for node in chunk {
            query = query.bind(node.id().end() as i64).bind(i64::from(node.level)).bind(node.hash.as_slice());
        }
        query.execute(&mut *conn).await?;
        rest = tail;
    }
    Ok(())
}

/// Stored hashes fetched for one computation.
struct FetchedNodes(HashMap<NodeId, Hash>);

impl NodeReader for FetchedNodes {
    type Error = StoreError;
    fn node(&self, level: u8, index: u64) -> Result<Hash> {
        self.0.get(&NodeId::new(level, index)).copied().ok_or_else(|| {
            StoreError::Corrupt(format!("ledger node (level {level}, index {index}) is missing"))
        })
    }
}

/// The node a `ledger_nodes` row stores, from its `leaf_end` and `level`;
/// `None` for an end that is no node's.
fn stored_node_id(row: &sqlx::any::AnyRow) -> Result<Option<NodeId>> {
    let leaf_end: i64 = row.try_get("leaf_end")?;
    let level: i64 = row.try_get("level")?;
    Ok(u8::try_from(level).ok().and_then(|level| NodeId::ending_at(level, leaf_end as u64)))
}

fn to_hash(bytes: Vec<u8>) -> Result<Hash> {
    bytes.try_into().map_err(|_| StoreError::Corrupt("ledger hash is not 32 bytes".into()))
}

/// Reads the given perfect nodes: leaves from `ledger_entries`, the rest
/// from `ledger_nodes`, one query each.
async fn fetch_nodes(conn: &mut AnyConnection, ids: &[NodeId]) -> Result<FetchedNodes> {
    let mut found = HashMap::with_capacity(ids.len());
    let (leaves, inner): (Vec<NodeId>, Vec<NodeId>) = ids.iter().partition(|id| id.level == 0);
    if !leaves.is_empty() {
        let sql = format!(
            "SELECT idx, leaf_hash FROM ledger_entries WHERE idx IN ({})",
            param_list(1, leaves.len(), true)
        );
        let mut query = sqlx::query(&sql);
        for id in &leaves {
            query = query.bind(id.index as i64);
        }
        for row in query.fetch_all(&mut *conn).await? {
            let idx: i64 = row.try_get("idx")?;
            found.insert(NodeId::leaf(idx as u64), to_hash(row.try_get("leaf_hash")?)?);
        }
    }
    if !inner.is_empty() {
        let conditions = (0..inner.len())
            .map(|i| format!("(leaf_end = ${} AND level = ${})", 2 * i + 1, 2 * i + 2))
            .collect::<Vec<_>>()
            .join(" OR ");
        let sql = format!("SELECT leaf_end, level, hash FROM ledger_nodes WHERE {conditions}");
        let mut query = sqlx::query(&sql);
        for id in &inner {
            query = query.bind(id.end() as i64).bind(i64::from(id.level));
        }
        for row in query.fetch_all(&mut *conn).await? {
            if let Some(id) = stored_node_id(&row)? {
                found.insert(id, to_hash(row.try_get("hash")?)?);
            }
        }
    }
    Ok(FetchedNodes(found))
}

async fn load_frontier(conn: &mut AnyConnection, alg: HashAlg, size: u64) -> Result<Frontier> {
    let nodes = fetch_nodes(conn, &Frontier::needed_nodes(size)).await?;
    Frontier::load(alg, size, &nodes)
}

async fn head_size(conn: &mut AnyConnection) -> Result<u64> {
    let size: i64 = sqlx::query("SELECT size FROM ledger_head WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?
        .try_get("size")?;
    Ok(size as u64)
}

#[derive(Default)]
struct GroupCommitCounters {
    batches: AtomicU64,
    entries: AtomicU64,
}

/// What the group committer has done since the store opened: how well
/// concurrent data-access entries share their commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupCommits {
    /// Durable batches.
    pub batches: u64,
    /// Entries in them.
    pub entries: u64,
}

impl Store {
    /// The group committer's batches and entries so far.
    pub fn ledger_group_commits(&self) -> GroupCommits {
        let counters = &self.inner.ledger.group_commits;
        GroupCommits {
            batches: counters.batches.load(Ordering::Relaxed),
            entries: counters.entries.load(Ordering::Relaxed),
        }
    }

    /// The ledger's hash algorithm.
    pub fn ledger_hash(&self) -> HashAlg {
        self.inner.ledger.config.hash
    }

    /// The log's origin, `govdata/<node id>`: the first line of every
    /// checkpoint and the name of the keys that sign them.
    pub fn ledger_origin(&self) -> &str {
        &self.inner.ledger.origin
    }

    /// The note verifier key (`name+hexid+base64`) of checkpoints signed
    /// with the node key `key`.
    pub fn ledger_verifier_key(&self, key: &VerifyingKey) -> VerifierKey {
        VerifierKey::ed25519(self.ledger_origin(), *key)
            .expect("the origin was checked when the store opened")
    }

    /// The key that verifies this node's witness cosignatures.
    pub fn witness_verifier_key(&self, key: &VerifyingKey) -> VerifierKey {
        VerifierKey::cosignature_v1(self.ledger_origin(), *key)
            .expect("the origin was checked when the store opened")
    }

    /// Number of committed entries.
    pub async fn ledger_size(&self) -> Result<u64> {
        let mut conn = self.read().acquire().await?;
        head_size(&mut conn).await
    }

    /// The root hash of the tree of `size` entries.
    pub async fn ledger_root(&self, size: u64) -> Result<Hash> {
        let refs = [tree::root_nodes(size)];
        let mut conn = self.read().acquire().await?;
        let nodes = fetch_nodes(&mut conn, &tree::nodes_to_fetch(&refs)).await?;
        refs[0].hash(self.ledger_hash(), &nodes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_are_cut_into_powers_of_two() {
        let mut sizes = Vec::new();
        let mut rest = 1300;
        while rest > 0 {
            let n = chunk_len(rest);
            sizes.push(n);
            rest -= n;
        }
        assert_eq!(sizes, [512, 512, 256, 16, 4]);
        assert_eq!(chunk_len(1), 1);
        assert_eq!(values_sql("V", 2, 2, true), "V ($1, $2), ($3, $4)");
        assert_eq!(values_sql("V", 2, 2, false), "V (?, ?), (?, ?)");
    }
}
