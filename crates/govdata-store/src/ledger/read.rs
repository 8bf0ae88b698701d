//! Reading the ledger: entries (by index, by range, filtered) and the
//! inclusion and consistency proofs, each from one batched node fetch.

use govdata_ledger::entry::Entry;
use govdata_ledger::hash::Hash;
use govdata_ledger::tree::{self, NodeRef};
use govdata_model::FieldError;
use sqlx::{AnyConnection, Row};

use super::filter::{term, IndexHead, Postings};
use super::{fetch_nodes, head_size, to_hash};
use crate::rows::param_list;
use crate::{Result, Store, StoreError};

/// Most entries one page returns.
pub const MAX_ENTRY_PAGE: u32 = 1000;

/// One stored entry.
#[derive(Debug, Clone)]
pub struct LedgerEntry {
    pub index: u64,
    pub leaf_hash: Hash,
    /// The exact bytes hashed into the leaf.
    pub canonical: Vec<u8>,
    /// The canonical bytes, decoded.
    pub entry: Entry,
    /// The payload whose digest the entry carries.
    pub payload: serde_json::Value,
}

/// Which entries to list: indices in `[from, to)` (`to` defaults to the
/// current size), optionally only those of one actor, kind and/or subject.
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    pub from: u64,
    pub to: Option<u64>,
    pub actor: Option<String>,
    pub kind: Option<String>,
    pub subject: Option<String>,
    /// Page size, 1..=[`MAX_ENTRY_PAGE`]; defaults to the maximum.
    pub limit: Option<u32>,
}

/// A page of entries in index order.
#[derive(Debug, Clone)]
pub struct EntryPage {
    pub from: u64,
    /// The end of the range listed (exclusive).
    pub to: u64,
    pub entries: Vec<LedgerEntry>,
    /// Where the next page starts (`from`), when the range holds more.
    pub next: Option<u64>,
}

fn invalid(field: &str, message: String) -> StoreError {
    StoreError::Invalid(FieldError::new(field, message))
}

/// The columns [`entry_from_row`] reads.
const ENTRY_COLUMNS: &str = "idx, leaf_hash, canonical, payload";

fn entry_from_row(row: &sqlx::any::AnyRow) -> Result<LedgerEntry> {
    let index: i64 = row.try_get("idx")?;
    let canonical: Vec<u8> = row.try_get("canonical")?;
    let entry = Entry::parse_canonical(&canonical)
        .map_err(|e| StoreError::Corrupt(format!("ledger entry {index}: {e}")))?;
    let payload: String = row.try_get("payload")?;
    let payload = serde_json::from_str(&payload)
        .map_err(|e| StoreError::Corrupt(format!("ledger entry {index} payload: {e}")))?;
    Ok(LedgerEntry {
        index: index as u64,
        leaf_hash: to_hash(row.try_get("leaf_hash")?)?,
        canonical,
        entry,
        payload,
    })
}

/// Runs of a term read per query.
const RUNS_PER_QUERY: usize = 64;

/// The first `wanted` indices in `[from, to)` (below the runs' end) of
/// entries that meet every condition, from the runs: [`RUNS_PER_QUERY`]
/// runs at a time, each condition's rows for them read and intersected.
async fn indexed_matches(
    conn: &mut AnyConnection,
    numbered: bool,
    head: IndexHead,
    conditions: &[(&str, &str)],
    from: u64,
    to: u64,
    wanted: usize,
) -> Result<Vec<u64>> {
    let terms: Vec<String> = conditions.iter().map(|(field, value)| term(field, value)).collect();
    let mut found = Vec::new();
    let mut next_run = head.run_of(from);
    while found.len() < wanted && next_run < to {
        let runs: Vec<u64> = (next_run..to).step_by(head.run_size as usize).take(RUNS_PER_QUERY).collect();
        let driver = term_runs(conn, numbered, &terms[0], &runs).await?;
        let mut others = Vec::with_capacity(terms.len() - 1);
        for term in &terms[1..] {
            let rows = term_runs(conn, numbered, term, &runs).await?;
            others.push(rows.into_iter().collect::<std::collections::HashMap<u64, Vec<u64>>>());
        }
        for (run, offsets) in driver {
            for offset in offsets {
                let index = run + offset;
                if (from..to).contains(&index)
                    && others
                        .iter()
                        .all(|other| other.get(&run).is_some_and(|o| o.binary_search(&offset).is_ok()))
                {
                    found.push(index);
                    if found.len() == wanted {
                        return Ok(found);
                    }
                }
            }
        }
        next_run = runs[runs.len() - 1] + head.run_size;
    }
    Ok(found)
}

/// The rows of `term` among `runs`, in order of their runs, with their
/// decoded offsets.
async fn term_runs(
    conn: &mut AnyConnection,
    numbered: bool,
    term: &str,
    runs: &[u64],
) -> Result<Vec<(u64, Vec<u64>)>> {
    let sql = format!(
        "SELECT run, postings FROM ledger_filter_runs WHERE term = {} AND run IN ({}) ORDER BY run",
        param_list(1, 1, numbered),
        param_list(2, runs.len(), numbered)
    );
    let mut query = sqlx::query(&sql).bind(term);
    for run in runs {
        query = query.bind(*run as i64);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|row| {
            let run = row.try_get::<i64, _>("run")? as u64;
            let offsets = Postings::from_bytes(row.try_get("postings")?).decode().ok_or_else(|| {
                StoreError::Corrupt(format!("ledger filter index: run {run} of {term:?} does not decode"))
            })?;
            Ok((run, offsets))
        })
        .collect()
}

impl Store {
    /// The entry at `index`.
    pub async fn ledger_entry(&self, index: u64) -> Result<LedgerEntry> {
        let index_i64 =
            i64::try_from(index).map_err(|_| StoreError::NotFound(format!("ledger entry {index}")))?;
        let row = sqlx::query(&format!("SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE idx = $1"))
            .bind(index_i64)
            .fetch_optional(self.read())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("ledger entry {index}")))?;
        entry_from_row(&row)
    }

    /// A page of entries (see [`EntryFilter`]).
    pub async fn ledger_entries(&self, filter: &EntryFilter) -> Result<EntryPage> {
        let limit = filter.limit.unwrap_or(MAX_ENTRY_PAGE);
        if !(1..=MAX_ENTRY_PAGE).contains(&limit) {
            return Err(invalid("limit", format!("must be between 1 and {MAX_ENTRY_PAGE}")));
        }
        let mut conn = self.read().acquire().await?;
        let size = head_size(&mut conn).await?;
        let to = filter.to.unwrap_or(size);
        if to > size {
            return Err(invalid("to", format!("is beyond the end of the ledger ({size} entries)")));
        }
        if filter.from > to {
            return Err(invalid("from", format!("must not be greater than to ({to})")));
        }
        let conditions: Vec<(&str, &str)> =
            [("actor", &filter.actor), ("kind", &filter.kind), ("subject", &filter.subject)]
                .into_iter()
                .filter_map(|(column, value)| Some((column, value.as_deref()?)))
                .collect();
        // One row past the page says whether another page follows.
        let wanted = limit as usize + 1;
        let rows = if conditions.is_empty() {
            sqlx::query(&format!(
                "SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx LIMIT {wanted}"
            ))
            .bind(filter.from as i64)
            .bind(to as i64)
            .fetch_all(&mut *conn)
            .await?
        } else {
            // Below the runs' end through the runs, above it by scanning the
            // unindexed tail: the same bound for both halves, so no entry is
            // found twice or missed while the indexer runs.
            let head = IndexHead::read(&mut conn).await?;
            let numbered = self.backend().numbered_params();
            let indexed_end = to.min(head.upto);
            let mut found = if filter.from < indexed_end {
                indexed_matches(&mut conn, numbered, head, &conditions, filter.from, indexed_end, wanted)
                    .await?
            } else {
                Vec::new()
            };
            let tail_start = filter.from.max(head.upto);
            if found.len() < wanted && tail_start < to {
                let matching = conditions
                    .iter()
                    .enumerate()
                    .map(|(i, (column, _))| format!(" AND {column} = ${}", i + 3))
                    .collect::<String>();
                let sql = format!(
                    "SELECT idx FROM ledger_entries WHERE idx >= $1 AND idx < $2{matching} ORDER BY idx LIMIT {}",
                    wanted - found.len()
                );
                let mut query = sqlx::query(&sql).bind(tail_start as i64).bind(to as i64);
                for (_, value) in &conditions {
                    query = query.bind(*value);
                }
                for row in query.fetch_all(&mut *conn).await? {
                    found.push(row.try_get::<i64, _>("idx")? as u64);
                }
            }
            if found.is_empty() {
                Vec::new()
            } else {
                let sql = format!(
                    "SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE idx IN ({}) ORDER BY idx",
                    param_list(1, found.len(), numbered)
                );
                let mut query = sqlx::query(&sql);
                for index in &found {
                    query = query.bind(*index as i64);
                }
                query.fetch_all(&mut *conn).await?
            }
        };
        let mut entries = rows.iter().map(entry_from_row).collect::<Result<Vec<_>>>()?;
        let next = if entries.len() > limit as usize { entries.pop().map(|extra| extra.index) } else { None };
        Ok(EntryPage { from: filter.from, to, entries, next })
    }

    /// The RFC 9162 inclusion proof of entry `index` in the tree of `size`
    /// entries, leaf to root.
    pub async fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>> {
        let mut conn = self.read().acquire().await?;
        let current = head_size(&mut conn).await?;
        if size > current {
            return Err(invalid("size", format!("is beyond the end of the ledger ({current} entries)")));
        }
        let refs = tree::inclusion_proof_nodes(index, size)
            .map_err(|_| invalid("index", format!("must be below size ({size})")))?;
        self.assemble(&mut conn, &refs).await
    }

    /// The RFC 9162 consistency proof from the tree of `from` entries to the
    /// tree of `to` entries.
    pub async fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>> {
        let mut conn = self.read().acquire().await?;
        let current = head_size(&mut conn).await?;
        if to > current {
            return Err(invalid("to", format!("is beyond the end of the ledger ({current} entries)")));
        }
        let refs = tree::consistency_proof_nodes(from, to)
            .map_err(|_| invalid("from", format!("must not be greater than to ({to})")))?;
        self.assemble(&mut conn, &refs).await
    }

    async fn assemble(&self, conn: &mut sqlx::AnyConnection, refs: &[NodeRef]) -> Result<Vec<Hash>> {
        let nodes = fetch_nodes(conn, &tree::nodes_to_fetch(refs)).await?;
        tree::assemble(self.ledger_hash(), refs, &nodes)
    }
}
