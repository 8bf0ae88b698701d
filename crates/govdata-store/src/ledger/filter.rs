//! The ledger's filter index: entries by kind, actor and subject.
//!
//! An append writes only where the log ends. A secondary index per filter
//! would take a write at a random place for every entry, three times: at
//! tens of thousands of entries a second those scattered page writes, not
//! the appends, were what the disk did. So the index is built from runs.
//! A run is `run_size` consecutive entries (4,096; stored in
//! `ledger_filter_head`, as a property of the index), starting at a
//! multiple of it. Once a run's last entry is committed, one indexer writes
//! it in one transaction: a row per distinct term (`kind:…`, `actor:…`,
//! `subject:…`) with the offsets of the entries in the run that carry it
//! ([`Postings`]). Rows are keyed (run, term), so a run's rows go to the
//! end of the table, written once; a filtered listing looks a term up in a
//! few dozen runs per query, one seek each. Entries in the same run under a
//! common term (one consumer's gateway calls, one grant) share a row.
//!
//! `ledger_filter_head.upto` says how far the runs reach. A filtered read
//! looks entries below it up in the runs and scans the tail above it (less
//! than a run, plus whatever the indexer has not caught up with)
//! ([`Store::ledger_entries`]), so results never lag the log.
//!
//! The index is derived: `govdata ledger verify` recomputes every run from
//! the entries and compares it with the stored one (see [`super::audit`]).

use std::collections::BTreeMap;
use std::sync::Weak;
use std::time::Duration;

use govdata_ledger::entry::Entry;
use sqlx::{AnyConnection, Row};
use tokio::sync::watch;

use super::head_size;
use crate::rows::{chunk_len, values_sql};
use crate::{Backend, Inner, Result, Store, StoreError};

/// How long the indexer lets entries gather after a commit before it
/// indexes them.
const DELAY: Duration = Duration::from_millis(200);

/// The filters' columns, in the order terms name them.
pub(super) const FIELDS: [&str; 3] = ["kind", "actor", "subject"];

/// An entry's values of [`FIELDS`], in that order.
pub(super) fn filter_values(entry: &Entry) -> [&str; 3] {
    [entry.kind.as_str(), entry.actor.as_str(), entry.subject.as_str()]
}

/// The term under which an entry whose `field` is `value` is indexed.
pub(super) fn term(field: &str, value: &str) -> String {
    format!("{field}:{value}")
}

/// Where the runs end (entries below it are indexed) and their size.
#[derive(Debug, Clone, Copy)]
pub(super) struct IndexHead {
    pub upto: u64,
    pub run_size: u64,
}

impl IndexHead {
    pub(super) async fn read(conn: &mut AnyConnection) -> Result<IndexHead> {
        let row = sqlx::query("SELECT upto, run_size FROM ledger_filter_head WHERE id = 1")
            .fetch_one(&mut *conn)
            .await?;
        Ok(IndexHead {
            upto: row.try_get::<i64, _>("upto")? as u64,
            run_size: row.try_get::<i64, _>("run_size")?.max(1) as u64,
        })
    }

    /// The first index of the run holding `index`.
    pub(super) fn run_of(&self, index: u64) -> u64 {
        index - index % self.run_size
    }
}

/// The entries of one run that carry a term: their offsets from the run's
/// first index, ascending, each stored as the LEB128 varint of its distance
/// from the one before.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Postings(Vec<u8>);

impl Postings {
    pub(super) fn from_bytes(bytes: Vec<u8>) -> Postings {
        Postings(bytes)
    }

    pub(super) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Encodes ascending `offsets`.
    pub(super) fn encode(offsets: &[u64]) -> Postings {
        let mut bytes = Vec::with_capacity(offsets.len() * 2);
        let mut last = 0;
        for (i, &offset) in offsets.iter().enumerate() {
            let mut delta = if i == 0 { offset } else { offset - last };
            last = offset;
            loop {
                let low = (delta & 0x7f) as u8;
                delta >>= 7;
                if delta == 0 {
                    bytes.push(low);
                    break;
                }
                bytes.push(low | 0x80);
            }
        }
        Postings(bytes)
    }

    /// The offsets; `None` if the bytes are not a well-formed list.
    pub(super) fn decode(&self) -> Option<Vec<u64>> {
        let mut offsets = Vec::new();
        let (mut value, mut shift, mut last) = (0u64, 0u32, None::<u64>);
        for &byte in &self.0 {
            value |= u64::from(byte & 0x7f).checked_shl(shift)?;
            if byte & 0x80 != 0 {
                shift += 7;
                if shift > 63 {
                    return None;
                }
                continue;
            }
            let offset = match last {
                None => value,
                Some(last) if value > 0 => last.checked_add(value)?,
                Some(_) => return None,
            };
            offsets.push(offset);
            last = Some(offset);
            (value, shift) = (0, 0);
        }
        (shift == 0).then_some(offsets)
    }
}

/// The rows of one run: each term of its entries and their offsets.
#[derive(Debug, Default)]
pub(super) struct RunTerms(BTreeMap<String, Vec<u64>>);

impl RunTerms {
    /// Adds the entry at `offset` (offsets come in ascending order).
    pub(super) fn add(&mut self, offset: u64, values: [&str; 3]) {
        for (field, value) in FIELDS.into_iter().zip(values) {
            self.0.entry(term(field, value)).or_default().push(offset);
        }
    }

    pub(super) fn rows(&self) -> impl Iterator<Item = (&str, Postings)> {
        self.0.iter().map(|(term, offsets)| (term.as_str(), Postings::encode(offsets)))
    }
}

/// The filter values of the entries from `$1` up to `$2` as one JSON text,
/// `[[idx, kind, actor, subject], …]` in log order.
fn run_entries_sql(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "SELECT json_group_array(json_array(idx, kind, actor, subject) ORDER BY idx) \
             FROM ledger_entries WHERE idx >= $1 AND idx < $2"
        }
        Backend::Postgres => {
            "SELECT CAST(json_agg(json_build_array(idx, kind, actor, subject) ORDER BY idx) AS TEXT) \
             FROM ledger_entries WHERE idx >= $1 AND idx < $2"
        }
    }
}

impl Store {
    /// Indexes the next complete run the index does not hold yet, if any;
    /// says whether it did. The entries are read before the write
    /// transaction (they never change), so the transaction only inserts.
    pub(super) async fn index_ledger_filter_run(&self) -> Result<bool> {
        let mut conn = self.read().acquire().await?;
        let head = IndexHead::read(&mut conn).await?;
        let end = head.upto + head.run_size;
        if head_size(&mut conn).await? < end {
            return Ok(false);
        }
        // The run comes back as one JSON text: through the `Any` driver each
        // row is a message from SQLite's thread and a conversion, which for
        // 4,096 rows cost a busy gateway a tenth of its CPU.
        let entries: Option<String> = sqlx::query_scalar(run_entries_sql(self.backend()))
            .bind(head.upto as i64)
            .bind(end as i64)
            .fetch_one(&mut *conn)
            .await?;
        drop(conn);
        let entries: Vec<(u64, String, String, String)> =
            serde_json::from_str(entries.as_deref().unwrap_or("[]"))
                .map_err(|e| StoreError::Corrupt(format!("ledger filter run at {}: {e}", head.upto)))?;
        let mut run = RunTerms::default();
        for (index, kind, actor, subject) in &entries {
            run.add(index - head.upto, [kind.as_str(), actor.as_str(), subject.as_str()]);
        }
        let mut tx = self.inner.write.begin().await?;
        // Another process's indexer may have written this run meanwhile.
        let claimed = sqlx::query("UPDATE ledger_filter_head SET upto = $1 WHERE id = 1 AND upto = $2")
            .bind(end as i64)
            .bind(head.upto as i64)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if claimed == 1 {
            let rows: Vec<(&str, Postings)> = run.rows().collect();
            let mut rest = rows.as_slice();
            while !rest.is_empty() {
                let (chunk, tail) = rest.split_at(chunk_len(rest.len()));
                let sql = values_sql(
                    "INSERT INTO ledger_filter_runs (term, run, postings) VALUES",
                    3,
                    chunk.len(),
                    self.backend().numbered_params(),
                );
                let mut query = sqlx::query(&sql);
                for (term, postings) in chunk {
                    query = query.bind(*term).bind(head.upto as i64).bind(postings.as_bytes());
                }
                query.execute(&mut *tx).await?;
                rest = tail;
            }
            tx.commit().await?;
        }
        Ok(true)
    }

    /// Indexes every complete run of the log.
    pub async fn index_ledger_filter(&self) -> Result<()> {
        while self.index_ledger_filter_run().await? {}
        Ok(())
    }
}

/// Runs until the store is dropped (its sender of `appended` with it):
/// indexes whatever is committed, then waits for the next commit and
/// [`DELAY`]. Holds only a weak reference between runs.
pub(super) async fn run_indexer(store: Weak<Inner>, mut appended: watch::Receiver<u64>) {
    loop {
        let Some(inner) = store.upgrade() else { return };
        if let Err(err) = (Store { inner }).index_ledger_filter().await {
            // The entries stay findable through the unindexed tail; the
            // next run takes them.
            tracing::warn!(error = %err, "ledger filter indexing failed");
        }
        if appended.changed().await.is_err() {
            return;
        }
        tokio::time::sleep(DELAY).await;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::Postings;

    proptest! {
        #[test]
        fn postings_round_trip(mut offsets in proptest::collection::vec(0u64..1 << 40, 0..200)) {
            offsets.sort_unstable();
            offsets.dedup();
            prop_assert_eq!(Postings::encode(&offsets).decode(), Some(offsets));
        }
    }

    #[test]
    fn malformed_postings_do_not_decode() {
        // A continuation byte at the end; a repeated offset (zero distance).
        assert_eq!(Postings::from_bytes(vec![0x80]).decode(), None);
        assert_eq!(Postings::from_bytes(vec![3, 0]).decode(), None);
        assert_eq!(Postings::from_bytes(vec![3, 2]).decode(), Some(vec![3, 5]));
    }
}
