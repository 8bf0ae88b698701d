//! Whole-ledger verification (`govdata ledger verify`): stream every stored
//! entry in index order through [`LogVerifier`] (leaf hashes, the tree, every
//! stored checkpoint and its signature), and also check what the verifier
//! does not see: each entry's stored payload against its digest, each stored
//! tree node against the one recomputed from the entries (proofs are built
//! from those nodes), the kind, actor and subject that filters search by
//! (the entry row's) against the entry, every run of the filter index
//! against the one recomputed from its entries, and the head row against
//! the entries.
//!
//! Only the signed checkpoints are trustworthy anchors: an attacker who
//! rewrites entries, nodes and head consistently is caught by the first
//! checkpoint after the change, which bounds the change to the entries
//! since the previous good checkpoint. The node table usually narrows it
//! further, to the subtree that holds the change.

use std::collections::HashMap;
use std::fmt;

use govdata_ledger::ed25519_dalek::VerifyingKey;
use govdata_ledger::entry::{payload_digest, Entry};
use govdata_ledger::hash::{Hash, HashAlg};
use govdata_ledger::note::Checkpoint;
use govdata_ledger::tree::{Frontier, NodeId};
use govdata_ledger::verify::{Divergence, LogVerifier, StoredCheckpoint};
use sqlx::{AnyConnection, Row};

use super::filter::{filter_values, IndexHead, RunTerms, FIELDS as FILTER_FIELDS};
use super::{head_size, stored_node_id, to_hash};
use crate::{Backend, Result, Store};

/// Entries read per query.
const PAGE: i64 = 4096;

/// A clean verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    /// Entries verified.
    pub size: u64,
    /// Root recomputed from all of them.
    pub root: Hash,
    /// Checkpoints whose signature and root were verified.
    pub checkpoints: usize,
    pub latest_checkpoint: Option<Checkpoint>,
    /// Stored tree nodes compared with their recomputed hash.
    pub nodes: u64,
}

/// The first place where the stored ledger stops being self-consistent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditFinding {
    /// Found by the log verifier: a gap or reorder in the indices, a leaf
    /// hash or entry that does not match its bytes, a checkpoint that does
    /// not verify or does not match the entries, entries missing below a
    /// checkpoint.
    Log(Divergence),
    /// An entry row that cannot even be read as an entry.
    Unreadable { index: u64, reason: String },
    /// The stored payload is not the one whose digest the entry carries.
    Payload { index: u64 },
    /// A stored tree node is missing or differs from the one recomputed
    /// from the entries it covers.
    Node { level: u8, node: u64, missing: bool },
    /// The kind, actor or subject a filter searches by, in the entry's row,
    /// is not the entry's.
    Filter { index: u64 },
    /// A run of the filter index (from entry `run` on) is missing, or is
    /// not the one its entries make.
    FilterRun { run: u64 },
    /// The head row disagrees with the entries stored.
    Head { head: u64, entries: u64 },
}

impl AuditFinding {
    /// The first entry index at which history may diverge.
    pub fn index(&self) -> u64 {
        match self {
            AuditFinding::Log(Divergence::CheckpointRootMismatch { since, .. }) => *since,
            AuditFinding::Log(d) => d.index(),
            AuditFinding::Unreadable { index, .. }
            | AuditFinding::Payload { index }
            | AuditFinding::Filter { index } => *index,
            AuditFinding::FilterRun { run } => *run,
            AuditFinding::Node { level, node, .. } => NodeId::new(*level, *node).start(),
            AuditFinding::Head { head, entries } => (*head).min(*entries),
        }
    }
}

impl fmt::Display for AuditFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditFinding::Log(Divergence::IndexGap { index, found }) if found < index => {
                write!(f, "entry {index} expected, found {found} again or out of order")
            }
            AuditFinding::Log(Divergence::IndexGap { index, found }) => {
                write!(f, "entry {index} is missing (the next stored entry is {found})")
            }
            AuditFinding::Log(d) => write!(f, "{d}"),
            AuditFinding::Unreadable { index, reason } => write!(f, "entry {index} is unreadable: {reason}"),
            AuditFinding::Payload { index } => {
                write!(f, "entry {index}: the stored payload does not match the entry's payload digest")
            }
            AuditFinding::Filter { index } => write!(
                f,
                "entry {index}: the kind, actor or subject stored for filtering is not the entry's \
                 (filtered listings would hide or misattribute it)"
            ),
            AuditFinding::FilterRun { run } => write!(
                f,
                "the filter index's run from entry {run} on is missing or not the one its entries make \
                 (filtered listings would hide or misattribute them)"
            ),
            AuditFinding::Node { level, node, missing } => {
                let id = NodeId::new(*level, *node);
                let what = if *missing { "is missing" } else { "differs from the hash of the entries" };
                write!(
                    f,
                    "stored tree node (level {level}, index {node}) over entries {}..{} {what}: \
                     one of those entries (or the node) was changed, moved or inserted",
                    id.start(),
                    id.end() - 1
                )
            }
            AuditFinding::Head { head, entries } => write!(
                f,
                "the ledger head says {head} entries but {entries} are stored in sequence \
                 (entries were truncated, or added behind the head's back)"
            ),
        }
    }
}

/// The stored nodes completed by entries `[start, end)`: those whose
/// leaves end in `(start, end]`.
async fn stored_nodes(conn: &mut AnyConnection, start: u64, end: u64) -> Result<HashMap<NodeId, Vec<u8>>> {
    let rows =
        sqlx::query("SELECT leaf_end, level, hash FROM ledger_nodes WHERE leaf_end > $1 AND leaf_end <= $2")
            .bind(start as i64)
            .bind(end as i64)
            .fetch_all(&mut *conn)
            .await?;
    let mut found = HashMap::with_capacity(rows.len());
    for row in rows {
        if let Some(id) = stored_node_id(&row)? {
            found.insert(id, row.try_get("hash")?);
        }
    }
    Ok(found)
}

/// Whether the entry row's filter columns name the entry's own kind, actor
/// and subject.
fn filter_columns_match(row: &sqlx::any::AnyRow, entry: &Entry) -> bool {
    FILTER_FIELDS
        .iter()
        .zip(filter_values(entry))
        .all(|(field, value)| row.try_get::<String, _>(*field).is_ok_and(|v| v == value))
}

/// One run's rows, folded into one hash: the XOR of a hash of each row, so
/// the stored rows can be added up in any order.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct RunDigest([u8; 32]);

impl RunDigest {
    fn add(&mut self, term: &str, postings: &[u8]) {
        let row = HashAlg::Sha256.digest_parts(&[term.as_bytes(), &[0], postings]);
        self.0.iter_mut().zip(row).for_each(|(acc, byte)| *acc ^= byte);
    }
}

fn run_digest(run: &RunTerms) -> RunDigest {
    let mut digest = RunDigest::default();
    for (term, postings) in run.rows() {
        digest.add(term, postings.as_bytes());
    }
    digest
}

/// The first run whose stored rows are not `expected` (the runs recomputed
/// from the entries below the index's end), reading every stored row once.
async fn first_wrong_run(
    conn: &mut AnyConnection,
    expected: &HashMap<u64, RunDigest>,
) -> Result<Option<u64>> {
    let mut stored: HashMap<u64, RunDigest> = HashMap::with_capacity(expected.len());
    let (mut after_run, mut after_term) = (-1i64, String::new());
    loop {
        let rows = sqlx::query(
            "SELECT run, term, postings FROM ledger_filter_runs \
             WHERE run > $1 OR (run = $1 AND term > $2) ORDER BY run, term LIMIT $3",
        )
        .bind(after_run)
        .bind(after_term.as_str())
        .bind(PAGE)
        .fetch_all(&mut *conn)
        .await?;
        let Some(last) = rows.last() else { break };
        (after_run, after_term) = (last.try_get("run")?, last.try_get("term")?);
        for row in &rows {
            let term: String = row.try_get("term")?;
            let postings: Vec<u8> = row.try_get("postings")?;
            stored.entry(row.try_get::<i64, _>("run")? as u64).or_default().add(&term, &postings);
        }
    }
    Ok(expected.keys().chain(stored.keys()).filter(|run| expected.get(run) != stored.get(run)).min().copied())
}

fn payload_matches(alg: HashAlg, entry: &Entry, stored: &str) -> bool {
    // Stored payloads are the digested canonical JSON itself; anything else
    // must at least canonicalise to it.
    hex::encode(alg.digest(stored.as_bytes())) == entry.payload_digest
        || serde_json::from_str(stored).is_ok_and(|value| payload_digest(alg, &value) == entry.payload_digest)
}

impl Store {
    /// Verifies the whole stored ledger against the node keys `keys` (every
    /// key the node has had: a checkpoint verifies under the one that signed
    /// it; see the [module docs](self)). The outer error is a failure to read; the inner
    /// one the first divergence found. `progress` is told the number of
    /// entries checked after each page.
    pub async fn audit_ledger(
        &self,
        keys: &[VerifyingKey],
        mut progress: impl FnMut(u64),
    ) -> Result<std::result::Result<AuditReport, AuditFinding>> {
        let alg = self.ledger_hash();
        let mut tx = self.read().begin().await?;
        if self.backend() == Backend::Postgres {
            // One snapshot for the whole walk, whatever is appended meanwhile.
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        let head = head_size(&mut tx).await?;
        let index_head = IndexHead::read(&mut tx).await?;
        let mut expected_runs = HashMap::new();
        let mut run = RunTerms::default();
        let mut checkpoints = Vec::new();
        for row in sqlx::query("SELECT size, root, note FROM ledger_checkpoints").fetch_all(&mut *tx).await? {
            let size: i64 = row.try_get("size")?;
            let root: Vec<u8> = row.try_get("root")?;
            checkpoints.push(StoredCheckpoint {
                size: size as u64,
                // A malformed root never equals the signed one; the verifier says so.
                root: root.try_into().unwrap_or([0; 32]),
                signed_note: row.try_get("note")?,
            });
        }
        let mut verifier = LogVerifier::new(
            alg,
            keys.iter().map(|key| self.ledger_verifier_key(key)).collect(),
            checkpoints,
        )
        .with_origin(self.ledger_origin());
        let mut frontier = Frontier::new(alg);
        let mut nodes_checked = 0u64;
        let mut next_idx = 0i64;
        loop {
            let rows = sqlx::query(
                "SELECT idx, leaf_hash, canonical, payload, kind, actor, subject \
                 FROM ledger_entries WHERE idx >= $1 ORDER BY idx LIMIT $2",
            )
            .bind(next_idx)
            .bind(PAGE)
            .fetch_all(&mut *tx)
            .await?;
            let Some(last) = rows.last() else { break };
            next_idx = last.try_get::<i64, _>("idx")? + 1;
            let start = frontier.size();
            let stored = stored_nodes(&mut tx, start, start + rows.len() as u64).await?;
            for row in &rows {
                let index = row.try_get::<i64, _>("idx")? as u64;
                let leaf = match row.try_get::<Vec<u8>, _>("leaf_hash").map_err(Into::into).and_then(to_hash)
                {
                    Ok(leaf) => leaf,
                    Err(err) => return Ok(Err(AuditFinding::Unreadable { index, reason: err.to_string() })),
                };
                let (canonical, payload) =
                    match (row.try_get::<Vec<u8>, _>("canonical"), row.try_get::<String, _>("payload")) {
                        (Ok(c), Ok(p)) => (c, p),
                        (Err(err), _) | (_, Err(err)) => {
                            return Ok(Err(AuditFinding::Unreadable { index, reason: err.to_string() }))
                        }
                    };
                if let Err(divergence) = verifier.push(index, &canonical, &leaf) {
                    return Ok(Err(AuditFinding::Log(divergence)));
                }
                let entry = Entry::parse_canonical(&canonical).expect("the verifier accepted it");
                if !payload_matches(alg, &entry, &payload) {
                    return Ok(Err(AuditFinding::Payload { index }));
                }
                if !filter_columns_match(row, &entry) {
                    return Ok(Err(AuditFinding::Filter { index }));
                }
                if index < index_head.upto {
                    let start = index_head.run_of(index);
                    run.add(index - start, filter_values(&entry));
                    if index + 1 == start + index_head.run_size {
                        expected_runs.insert(start, run_digest(&std::mem::take(&mut run)));
                    }
                }
                for node in frontier.append(leaf).into_iter().filter(|n| n.level > 0) {
                    nodes_checked += 1;
                    let found = stored.get(&node.id());
                    if found.is_none_or(|hash| hash.as_slice() != node.hash.as_slice()) {
                        let missing = found.is_none();
                        return Ok(Err(AuditFinding::Node { level: node.level, node: node.index, missing }));
                    }
                }
            }
            progress(frontier.size());
        }
        let report = match verifier.finish() {
            Ok(report) => report,
            Err(divergence) => return Ok(Err(AuditFinding::Log(divergence))),
        };
        if head != report.size {
            return Ok(Err(AuditFinding::Head { head, entries: report.size }));
        }
        if let Some(run) = first_wrong_run(&mut tx, &expected_runs).await? {
            return Ok(Err(AuditFinding::FilterRun { run }));
        }
        Ok(Ok(AuditReport {
            size: report.size,
            root: report.root,
            checkpoints: report.checkpoints,
            latest_checkpoint: report.latest_checkpoint,
            nodes: nodes_checked,
        }))
    }
}
