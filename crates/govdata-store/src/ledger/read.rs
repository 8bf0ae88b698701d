//! Reading the ledger: entries (by index, by range, filtered) and the
//! inclusion and consistency proofs, each from one batched node fetch.

use govdata_ledger::entry::Entry;
use govdata_ledger::hash::Hash;
use govdata_ledger::tree::{self, NodeRef};
use govdata_model::FieldError;
use sqlx::Row;

use super::{fetch_nodes, filter, head_size, to_hash};
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
        let rows = if conditions.is_empty() {
            sqlx::query(&format!(
                "SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx LIMIT {}",
                limit + 1
            ))
            .bind(filter.from as i64)
            .bind(to as i64)
            .fetch_all(&mut *conn)
            .await?
        } else {
            // Below the filter index's end through the index, above it by
            // scanning the unindexed tail: the same bounds for both halves,
            // so no entry is found twice or missed while the indexer runs.
            let upto = filter::indexed_upto(&mut conn).await?;
            let matching = conditions
                .iter()
                .enumerate()
                .map(|(i, (column, _))| format!(" AND {column} = ${}", i + 5))
                .collect::<String>();
            let sql = format!(
                "SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE idx IN \
                 (SELECT idx FROM ledger_filter WHERE idx >= $1 AND idx < $2{matching} ORDER BY idx LIMIT {page}) \
                 UNION ALL \
                 SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE idx >= $3 AND idx < $4{matching} \
                 ORDER BY idx LIMIT {page}",
                page = limit + 1
            );
            let mut query = sqlx::query(&sql)
                .bind(filter.from as i64)
                .bind(to.min(upto) as i64)
                .bind(filter.from.max(upto) as i64)
                .bind(to as i64);
            for (_, value) in &conditions {
                query = query.bind(*value);
            }
            query.fetch_all(&mut *conn).await?
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
