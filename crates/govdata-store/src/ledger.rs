//! Persistence of the ledger (see `govdata-ledger` for the tree math).
//!
//! Tables: `ledger_entries` holds one row per leaf (index, leaf hash, the
//! canonical bytes that were hashed, and the payload JSON they commit to);
//! `ledger_nodes` holds the perfect-subtree hashes above the leaves (level
//! ≥ 1), written once when they complete; `ledger_head` holds the size and
//! is the row every appender locks, so indices are gap-free and assigned in
//! commit order even with several processes on one PostgreSQL database.
//!
//! The in-memory [`Frontier`] makes an append need no reads; it is only
//! replaced after the transaction commits, and reloaded from `ledger_nodes`
//! when the head shows another process appended meanwhile.

use std::collections::HashMap;

use govdata_ledger::entry::{payload_digest, Entry};
use govdata_ledger::hash::{Hash, HashAlg};
use govdata_ledger::tree::{self, Frontier, NodeId, NodeReader, StoredNode};
use sqlx::{AnyConnection, AnyPool, Row};
use tokio::sync::{Mutex, MutexGuard};

use crate::{timestamp, Result, Store, StoreError};

/// What the ledger of this node is.
#[derive(Debug, Clone)]
pub struct LedgerConfig {
    /// Written into every entry.
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

pub(crate) struct Ledger {
    config: LedgerConfig,
    frontier: Mutex<Frontier>,
}

/// Entries appended inside an open transaction; [`Appended::publish`] after
/// the commit makes the new frontier current.
pub(crate) struct Appended<'a> {
    guard: MutexGuard<'a, Frontier>,
    next: Frontier,
    first_index: u64,
}

impl Appended<'_> {
    pub(crate) fn publish(&mut self) -> Vec<u64> {
        let indices = (self.first_index..self.next.size()).collect();
        *self.guard = self.next.clone();
        indices
    }
}

const HASH_SETTING: &str = "ledger.hash";

impl Ledger {
    pub(crate) async fn load(pool: &AnyPool, config: LedgerConfig) -> Result<Ledger> {
        let mut conn = pool.acquire().await?;
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
        let size: i64 = sqlx::query("SELECT size FROM ledger_head WHERE id = 1")
            .fetch_one(&mut *conn)
            .await?
            .try_get("size")?;
        let frontier = load_frontier(&mut conn, config.hash, size as u64).await?;
        Ok(Ledger { config, frontier: Mutex::new(frontier) })
    }

    /// Appends `records` inside `conn`'s open transaction.
    pub(crate) async fn append(
        &self,
        conn: &mut AnyConnection,
        records: &[LedgerRecord],
    ) -> Result<Appended<'_>> {
        let guard = self.frontier.lock().await;
        let new_size: i64 =
            sqlx::query("UPDATE ledger_head SET size = size + $1 WHERE id = 1 RETURNING size")
                .bind(records.len() as i64)
                .fetch_one(&mut *conn)
                .await?
                .try_get("size")?;
        let first_index = new_size as u64 - records.len() as u64;
        let mut next = if guard.size() == first_index {
            guard.clone()
        } else {
            load_frontier(conn, self.config.hash, first_index).await?
        };
        let at = timestamp::now();
        let mut nodes: Vec<StoredNode> = Vec::new();
        for record in records {
            let entry = Entry {
                v: 1,
                node: self.config.node_id.clone(),
                at: at.clone(),
                actor: record.actor.clone(),
                kind: record.kind.clone(),
                subject: record.subject.clone(),
                payload_digest: payload_digest(self.config.hash, &record.payload),
            };
            let canonical = entry.canonical_bytes();
            let (leaf, completed) = next.append_bytes(&canonical);
            sqlx::query(
                "INSERT INTO ledger_entries (idx, leaf_hash, canonical, payload, kind, actor, subject, at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(completed[0].index as i64)
            .bind(leaf.to_vec())
            .bind(canonical)
            .bind(record.payload.to_string())
            .bind(&record.kind)
            .bind(&record.actor)
            .bind(&record.subject)
            .bind(&at)
            .execute(&mut *conn)
            .await?;
            nodes.extend(completed.into_iter().filter(|n| n.level > 0));
        }
        for node in nodes {
            sqlx::query("INSERT INTO ledger_nodes (level, idx, hash) VALUES ($1, $2, $3)")
                .bind(i64::from(node.level))
                .bind(node.index as i64)
                .bind(node.hash.to_vec())
                .execute(&mut *conn)
                .await?;
        }
        Ok(Appended { guard, next, first_index })
    }
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

fn to_hash(bytes: Vec<u8>) -> Result<Hash> {
    bytes.try_into().map_err(|_| StoreError::Corrupt("ledger hash is not 32 bytes".into()))
}

/// Reads the given perfect nodes: leaves from `ledger_entries`, the rest
/// from `ledger_nodes`, one query each.
async fn fetch_nodes(conn: &mut AnyConnection, ids: &[NodeId]) -> Result<FetchedNodes> {
    let mut found = HashMap::with_capacity(ids.len());
    let (leaves, inner): (Vec<NodeId>, Vec<NodeId>) = ids.iter().partition(|id| id.level == 0);
    if !leaves.is_empty() {
        let placeholders = (1..=leaves.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
        let sql = format!("SELECT idx, leaf_hash FROM ledger_entries WHERE idx IN ({placeholders})");
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
            .map(|i| format!("(level = ${} AND idx = ${})", 2 * i + 1, 2 * i + 2))
            .collect::<Vec<_>>()
            .join(" OR ");
        let sql = format!("SELECT level, idx, hash FROM ledger_nodes WHERE {conditions}");
        let mut query = sqlx::query(&sql);
        for id in &inner {
            query = query.bind(i64::from(id.level)).bind(id.index as i64);
        }
        for row in query.fetch_all(&mut *conn).await? {
            let level: i64 = row.try_get("level")?;
            let idx: i64 = row.try_get("idx")?;
            found.insert(NodeId::new(level as u8, idx as u64), to_hash(row.try_get("hash")?)?);
        }
    }
    Ok(FetchedNodes(found))
}

async fn load_frontier(conn: &mut AnyConnection, alg: HashAlg, size: u64) -> Result<Frontier> {
    let nodes = fetch_nodes(conn, &Frontier::needed_nodes(size)).await?;
    Frontier::load(alg, size, &nodes)
}

impl Store {
    /// The ledger's hash algorithm.
    pub fn ledger_hash(&self) -> HashAlg {
        self.inner.ledger.config.hash
    }

    /// Number of committed entries.
    pub async fn ledger_size(&self) -> Result<u64> {
        let size: i64 = sqlx::query("SELECT size FROM ledger_head WHERE id = 1")
            .fetch_one(self.read())
            .await?
            .try_get("size")?;
        Ok(size as u64)
    }

    /// The root hash of the tree of `size` entries.
    pub async fn ledger_root(&self, size: u64) -> Result<Hash> {
        let refs = [tree::root_nodes(size)];
        let mut conn = self.read().acquire().await?;
        let nodes = fetch_nodes(&mut conn, &tree::nodes_to_fetch(&refs)).await?;
        refs[0].hash(self.ledger_hash(), &nodes)
    }
}
