//! An in-memory index by entity key over an entry's data, for gateway
//! lookups and verifications at API rates.
//!
//! The structure: the entry's whole table as Arrow batches in memory, and a
//! hash map from the normalised key to the (batch, row) positions holding
//! it. A lookup is a hash probe and a zero-copy slice per row, instead of a
//! DataFusion plan over the Delta table per call. Built on first use, kept
//! while [`Resources::entry_data_token`] says the data is unchanged (checked
//! at most every [`RECHECK`]), and rebuilt when a job writes new data.
//! Tables over `sharing.index_max_rows` rows, and logical resources (their
//! data changes in place), are not indexed: calls on them read through
//! DataFusion.
//!
//! [`Resources::entry_data_token`]: govdata_lake::service::Resources::entry_data_token

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use govdata_lake::arrow::array::{BooleanArray, RecordBatch};
use govdata_lake::arrow::compute::{concat_batches, filter_record_batch};
use govdata_lake::conform::EntityKey;
use govdata_lake::LakeError;

use crate::masking::map_text;
use crate::service::{Result, Sharing};
use crate::terms::RowFilter;

/// How often an index asks whether its data changed.
pub const RECHECK: Duration = Duration::from_secs(1);

/// One entry's data held for key lookups.
pub(crate) struct KeyIndex {
    pub(crate) entity_key: EntityKey,
    batches: Vec<RecordBatch>,
    positions: HashMap<String, Vec<(u32, u32)>>,
}

/// What the cache knows of one entry.
enum Indexed {
    /// Indexed data and the token it was built from.
    Ready { token: String, index: Arc<KeyIndex> },
    /// Read through DataFusion: too large, logical, keyless or empty.
    Unindexed { token: Option<String> },
}

struct Slot {
    state: Option<Indexed>,
    checked_at: Instant,
}

/// Indexes by entry code; one build at a time per entry.
#[derive(Default)]
pub(crate) struct IndexCache {
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Slot>>>>,
}

impl KeyIndex {
    fn build(entity_key: EntityKey, batches: Vec<RecordBatch>) -> Result<KeyIndex> {
        let mut positions: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
        for (b, batch) in batches.iter().enumerate() {
            let Some(column) = batch.column_by_name(&entity_key.item) else {
                return Err(LakeError::invalid("keys", "the entity key is not a column of the table").into());
            };
            for (row, key) in map_text(column, |key| key.map(str::to_owned))?.into_iter().enumerate() {
                if let Some(key) = key {
                    positions.entry(key).or_default().push((b as u32, row as u32));
                }
            }
        }
        Ok(KeyIndex { entity_key, batches, positions })
    }

    /// Memory held by the hash map (keys, position lists, table slots).
    fn map_bytes(&self) -> usize {
        let slot = std::mem::size_of::<String>() + std::mem::size_of::<Vec<(u32, u32)>>() + 1;
        self.positions.capacity() * slot
            + self.positions.iter().map(|(key, at)| key.capacity() + at.capacity() * 8).sum::<usize>()
    }

    /// The rows of `keys` within `filter`, with the key first (as
    /// `key_column`) and then `items`, raw. At most `limit` rows.
    pub(crate) fn rows(
        &self,
        keys: &[String],
        items: &[String],
        filter: &Option<RowFilter>,
        key_column: &str,
        limit: usize,
    ) -> Result<Vec<RecordBatch>> {
        let mut out = Vec::new();
        let mut taken = 0;
        for key in keys {
            let Some(found) = self.positions.get(key) else { continue };
            let slices: Vec<RecordBatch> =
                found.iter().map(|&(b, row)| self.batches[b as usize].slice(row as usize, 1)).collect();
            let schema = slices[0].schema();
            // Most keys name one row: its slice needs no copy.
            let mut rows = match <[RecordBatch; 1]>::try_from(slices) {
                Ok([row]) => row,
                Err(slices) => concat_batches(&schema, &slices).map_err(LakeError::from)?,
            };
            if let Some(filter) = filter {
                let column = rows.column_by_name(&filter.item).ok_or_else(|| {
                    LakeError::invalid("row_filter.item", format!("no column {}", filter.item))
                })?;
                let inside = BooleanArray::from(map_text(column, |value| {
                    value.is_some_and(|v| filter.prefixes.iter().any(|p| v.starts_with(p.as_str())))
                })?);
                rows = filter_record_batch(&rows, &inside).map_err(LakeError::from)?;
            }
            let mut columns = vec![schema.index_of(&self.entity_key.item).map_err(LakeError::from)?];
            for item in items {
                columns.push(schema.index_of(item).map_err(LakeError::from)?);
            }
            let mut projected = rows.project(&columns).map_err(LakeError::from)?;
            let mut fields: Vec<_> = projected.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
            fields[0] = fields[0].clone().with_name(key_column);
            projected = RecordBatch::try_new(
                Arc::new(govdata_lake::arrow::datatypes::Schema::new(fields)),
                projected.columns().to_vec(),
            )
            .map_err(LakeError::from)?;
            let room = limit - taken;
            if projected.num_rows() > room {
                projected = projected.slice(0, room);
            }
            taken += projected.num_rows();
            out.push(projected);
            if taken == limit {
                break;
            }
        }
        Ok(out)
    }
}

impl Sharing {
    /// The key index of an entry's data, when it has one.
    pub(crate) async fn key_index(&self, entry_code: &str) -> Result<Option<Arc<KeyIndex>>> {
        let slot = {
            let mut slots = self.indexes.slots.lock().expect("index cache lock");
            slots
                .entry(entry_code.to_owned())
                .or_insert_with(|| {
                    Arc::new(tokio::sync::Mutex::new(Slot { state: None, checked_at: Instant::now() }))
                })
                .clone()
        };
        let mut slot = slot.lock().await;
        let fresh = slot.checked_at.elapsed() < RECHECK;
        match &slot.state {
            Some(Indexed::Ready { index, .. }) if fresh => return Ok(Some(index.clone())),
            Some(Indexed::Unindexed { .. }) if fresh => return Ok(None),
            _ => {}
        }
        let token = self.resources.entry_data_token(entry_code).await?;
        slot.checked_at = Instant::now();
        let unchanged = match &slot.state {
            Some(Indexed::Ready { token: built, .. }) => Some(built) == token.as_ref(),
            Some(Indexed::Unindexed { token: seen }) => seen.is_some() && *seen == token,
            None => false,
        };
        if unchanged {
            return Ok(match &slot.state {
                Some(Indexed::Ready { index, .. }) => Some(index.clone()),
                _ => None,
            });
        }
        let built = match &token {
            Some(token) => self.build_index(entry_code).await?.map(|index| (token.clone(), Arc::new(index))),
            None => None,
        };
        slot.state = Some(match built {
            Some((token, index)) => Indexed::Ready { token, index },
            None => Indexed::Unindexed { token },
        });
        Ok(match &slot.state {
            Some(Indexed::Ready { index, .. }) => Some(index.clone()),
            _ => None,
        })
    }

    async fn build_index(&self, entry_code: &str) -> Result<Option<KeyIndex>> {
        let Some(data) = self.resources.open_entry(entry_code).await? else { return Ok(None) };
        let Some(entity_key) = data.entity_key.clone() else { return Ok(None) };
        let started = Instant::now();
        let frame = data.ctx.read_table(data.provider.clone()).map_err(LakeError::from)?;
        let rows = frame.clone().count().await.map_err(LakeError::from)?;
        if rows > self.config.index_max_rows {
            tracing::info!(entry = entry_code, rows, "entry too large to index; lookups read the table");
            return Ok(None);
        }
        let batches = frame.collect().await.map_err(LakeError::from)?;
        let table_bytes: usize = batches.iter().map(RecordBatch::get_array_memory_size).sum();
        let index = KeyIndex::build(entity_key, batches)?;
        tracing::info!(
            entry = entry_code,
            rows,
            keys = index.positions.len(),
            table_kib = table_bytes / 1024,
            index_kib = index.map_bytes() / 1024,
            millis = started.elapsed().as_millis() as u64,
            "indexed entry data by entity key"
        );
        Ok(Some(index))
    }
}
