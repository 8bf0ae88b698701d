//! An in-memory index by entity key over an entry's data, for gateway
//! lookups and verifications at API rates.
//!
//! The structure: the entry's whole table in memory — its string columns
//! as Arrow read them, every other column rendered once, when the index is
//! built, as text (what masking and row filters read) and as JSON — and a
//! hash map from the normalised key to the (batch, row) positions holding
//! it. A lookup is a hash probe, then each of its rows is written as JSON
//! a cell at a time ([`KeyIndex::json_rows`]), instead of a DataFusion plan
//! over the Delta table per call. Built on first use, kept
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

use govdata_lake::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray, StringBuilder};
use govdata_lake::arrow::compute::cast;
use govdata_lake::arrow::datatypes::{DataType, FieldRef, Schema, SchemaRef};
use govdata_lake::arrow::json::writer::{make_encoder, EncoderOptions};
use govdata_lake::conform::EntityKey;
use govdata_lake::LakeError;

use serde_json::value::RawValue;

use crate::masking::{map_text, MaskRule};
use crate::service::{Result, Sharing};
use crate::terms::RowFilter;

/// How often an index asks whether its data changed.
pub const RECHECK: Duration = Duration::from_secs(1);

/// One entry's data held for key lookups.
pub(crate) struct KeyIndex {
    pub(crate) entity_key: EntityKey,
    /// The table's schema, which every batch of one scan shares: where each
    /// column is among a batch's cells.
    schema: SchemaRef,
    /// Per batch, per column: its cells as lookups read them.
    cells: Vec<Vec<Cells>>,
    positions: HashMap<String, Vec<(u32, u32)>>,
}

/// One column of one batch, readable a cell at a time.
struct Cells {
    /// The values as text, as [`map_text`] reads them: the column itself
    /// when it holds strings (views or plain), else its cast.
    text: ArrayRef,
    /// For a column that does not hold strings, each value as arrow's JSON
    /// writer renders it (numbers bare, dates quoted).
    json: Option<StringArray>,
}

impl Cells {
    fn new(field: &FieldRef, column: &ArrayRef) -> Result<Cells> {
        match column.data_type() {
            DataType::Utf8 | DataType::Utf8View => return Ok(Cells { text: column.clone(), json: None }),
            DataType::LargeUtf8 => {
                return Ok(Cells {
                    text: cast(column, &DataType::Utf8).map_err(LakeError::from)?,
                    json: None,
                })
            }
            _ => {}
        }
        let options = EncoderOptions::default();
        let mut encoder = make_encoder(field, column.as_ref(), &options).map_err(LakeError::from)?;
        let (mut json, mut buffer) = (StringBuilder::new(), Vec::new());
        for row in 0..column.len() {
            if encoder.is_null(row) {
                json.append_null();
            } else {
                buffer.clear();
                encoder.encode(row, &mut buffer);
                json.append_value(String::from_utf8_lossy(&buffer));
            }
        }
        Ok(Cells { text: cast(column, &DataType::Utf8).map_err(LakeError::from)?, json: Some(json.finish()) })
    }

    fn text(&self, row: usize) -> Option<&str> {
        if self.text.is_null(row) {
            return None;
        }
        Some(match self.text.as_string_view_opt() {
            Some(view) => view.value(row),
            None => self.text.as_string::<i32>().value(row),
        })
    }

    /// Appends the cell's JSON, masked by `rule`, to `out`.
    fn write_json(&self, row: usize, rule: MaskRule, mask_key: &[u8], out: &mut Vec<u8>) {
        let masked;
        let text = match (rule, &self.json) {
            (MaskRule::Null, _) => None,
            (MaskRule::Clear, Some(json)) => {
                out.extend_from_slice(if json.is_null(row) { "null" } else { json.value(row) }.as_bytes());
                return;
            }
            (MaskRule::Clear, None) => self.text(row),
            (rule, _) => {
                masked = self.text(row).and_then(|value| rule.apply(value, mask_key));
                masked.as_deref()
            }
        };
        match text {
            Some(text) => write_json_string(out, text),
            None => out.extend_from_slice(b"null"),
        }
    }
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
    fn build(entity_key: EntityKey, batches: &[RecordBatch]) -> Result<KeyIndex> {
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
        let schema = batches.first().map_or_else(|| Arc::new(Schema::empty()), RecordBatch::schema);
        let cells = batches
            .iter()
            .map(|batch| schema.fields().iter().zip(batch.columns()).map(|(f, c)| Cells::new(f, c)).collect())
            .collect::<Result<_>>()?;
        Ok(KeyIndex { entity_key, schema, cells, positions })
    }

    /// The rows of `key` within `filter`, each a JSON object of `items`
    /// masked by `rules` (one per item), at most `limit`.
    pub(crate) fn json_rows(
        &self,
        key: &str,
        items: &[String],
        rules: &[MaskRule],
        mask_key: &[u8],
        filter: &Option<RowFilter>,
        limit: usize,
    ) -> Result<Vec<Box<RawValue>>> {
        let Some(found) = self.positions.get(key) else { return Ok(Vec::new()) };
        let position = |name: &str, field: &str| {
            self.schema.index_of(name).map_err(|_| {
                crate::service::SharingError::from(LakeError::invalid(field, format!("no column {name}")))
            })
        };
        let mut rows = Vec::new();
        for &(b, row) in found {
            if rows.len() == limit {
                break;
            }
            let (cells, row) = (&self.cells[b as usize], row as usize);
            if let Some(filter) = filter {
                let value = cells[position(&filter.item, "row_filter.item")?].text(row);
                if !value.is_some_and(|v| filter.prefixes.iter().any(|p| v.starts_with(p.as_str()))) {
                    continue;
                }
            }
            let mut json = vec![b'{'];
            for (i, (item, rule)) in items.iter().zip(rules).enumerate() {
                if i > 0 {
                    json.push(b',');
                }
                write_json_string(&mut json, item);
                json.push(b':');
                cells[position(item, "items")?].write_json(row, *rule, mask_key, &mut json);
            }
            json.push(b'}');
            let json = String::from_utf8(json).map_err(std::io::Error::other).map_err(LakeError::from)?;
            rows.push(RawValue::from_string(json).map_err(|e| LakeError::from(std::io::Error::from(e)))?);
        }
        Ok(rows)
    }

    /// Memory held by the hash map (keys, position lists, table slots).
    fn map_bytes(&self) -> usize {
        let slot = std::mem::size_of::<String>() + std::mem::size_of::<Vec<(u32, u32)>>() + 1;
        self.positions.capacity() * slot
            + self.positions.iter().map(|(key, at)| key.capacity() + at.capacity() * 8).sum::<usize>()
    }

    /// Memory held by the string columns, kept as they were read.
    fn table_bytes(&self) -> usize {
        let kept = |cells: &Cells| if cells.json.is_none() { cells.text.get_array_memory_size() } else { 0 };
        self.cells.iter().flatten().map(kept).sum()
    }

    /// Memory held by the text and JSON rendered for the other columns.
    fn rendered_bytes(&self) -> usize {
        let rendered = |cells: &Cells| {
            cells
                .json
                .as_ref()
                .map_or(0, |json| json.get_array_memory_size() + cells.text.get_array_memory_size())
        };
        self.cells.iter().flatten().map(rendered).sum()
    }
}

fn write_json_string(out: &mut Vec<u8>, text: &str) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(out, text);
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
        let index = KeyIndex::build(entity_key, &batches)?;
        tracing::info!(
            entry = entry_code,
            rows,
            keys = index.positions.len(),
            table_kib = index.table_bytes() / 1024,
            index_kib = index.map_bytes() / 1024,
            rendered_kib = index.rendered_bytes() / 1024,
            millis = started.elapsed().as_millis() as u64,
            "indexed entry data by entity key"
        );
        Ok(Some(index))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use govdata_lake::arrow::array::{
        BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int64Array, StringViewArray,
        TimestampMicrosecondArray,
    };
    use govdata_lake::arrow::datatypes::{Field, TimeUnit};
    use govdata_lake::mapping::EntityKind;
    use govdata_lake::profile::to_raw_json_rows;
    use serde_json::Value;

    use super::*;
    use crate::masking::mask_batch;

    fn table() -> RecordBatch {
        let schema = Schema::new(vec![
            Field::new("身份证号", DataType::Utf8, false),
            Field::new("姓名", DataType::Utf8View, true),
            Field::new("出生日期", DataType::Date32, true),
            Field::new("人数", DataType::Int64, true),
            Field::new("金额", DataType::Decimal128(10, 2), true),
            Field::new("在册", DataType::Boolean, true),
            Field::new("比例", DataType::Float64, true),
            Field::new("区划", DataType::Utf8, true),
            Field::new("登记时间", DataType::Timestamp(TimeUnit::Microsecond, None), true),
            Field::new("照片", DataType::Binary, true),
        ]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(StringArray::from(vec![
                    "110101199003070012",
                    "110101199003070012",
                    "44030019800101001X",
                ])),
                Arc::new(StringViewArray::from(vec![Some("张三丰"), Some("\"引号\"\n"), None])),
                Arc::new(Date32Array::from(vec![Some(7370), None, Some(3652)])),
                Arc::new(Int64Array::from(vec![Some(5), Some(-7), None])),
                Arc::new(
                    Decimal128Array::from(vec![Some(12345), None, Some(-5)])
                        .with_precision_and_scale(10, 2)
                        .unwrap(),
                ),
                Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])),
                Arc::new(Float64Array::from(vec![Some(0.1), Some(1e21), None])),
                Arc::new(StringArray::from(vec![Some("110101"), Some("440300"), None])),
                Arc::new(TimestampMicrosecondArray::from(vec![Some(1_700_000_000_123_456), None, Some(0)])),
                Arc::new(BinaryArray::from(vec![Some(&b"\xff\x00"[..]), Some(&b"ok"[..]), None])),
            ],
        )
        .unwrap()
    }

    /// What the table path serves for the same rows: the batch masked,
    /// then written by arrow's JSON writer.
    fn table_path(rows: &RecordBatch, items: &[String], rules: &[MaskRule]) -> Vec<Value> {
        let columns: Vec<usize> = items.iter().map(|item| rows.schema().index_of(item).unwrap()).collect();
        let masking: BTreeMap<String, MaskRule> = items.iter().cloned().zip(rules.iter().copied()).collect();
        let masked = mask_batch(&rows.project(&columns).unwrap(), &masking, b"k").unwrap();
        to_raw_json_rows(&[masked])
            .unwrap()
            .iter()
            .map(|row| serde_json::from_str(row.get()).unwrap())
            .collect()
    }

    #[test]
    fn rows_written_a_cell_at_a_time_equal_the_masked_batch_as_arrow_writes_it() {
        let batch = table();
        let key = EntityKey { item: "身份证号".into(), kind: EntityKind::Person };
        let index = KeyIndex::build(key, std::slice::from_ref(&batch)).unwrap();
        let items: Vec<String> = batch.schema().fields().iter().map(|f| f.name().clone()).collect();
        let rules = [
            MaskRule::Clear,
            MaskRule::Name,
            MaskRule::IdNumber,
            MaskRule::Phone,
            MaskRule::Hash,
            MaskRule::Null,
            MaskRule::Year,
        ];
        for shift in 0..rules.len() {
            // Every rule on every column, clear on every column too.
            for all_clear in [false, true] {
                let rule =
                    |i: usize| if all_clear { MaskRule::Clear } else { rules[(i + shift) % rules.len()] };
                let chosen: Vec<MaskRule> = (0..items.len()).map(rule).collect();
                for (key, rows) in
                    [("110101199003070012", batch.slice(0, 2)), ("44030019800101001X", batch.slice(2, 1))]
                {
                    let served: Vec<Value> = index
                        .json_rows(key, &items, &chosen, b"k", &None, 10)
                        .unwrap()
                        .iter()
                        .map(|row| serde_json::from_str(row.get()).unwrap())
                        .collect();
                    assert_eq!(served, table_path(&rows, &items, &chosen), "{key} under {chosen:?}");
                }
            }
        }
    }

    #[test]
    fn a_row_filter_and_the_limit_hold_back_rows() {
        let key = EntityKey { item: "身份证号".into(), kind: EntityKind::Person };
        let index = KeyIndex::build(key, &[table()]).unwrap();
        let items = ["人数".to_owned()];
        let rows = |filter: Option<RowFilter>, limit: usize| {
            index
                .json_rows("110101199003070012", &items, &[MaskRule::Clear], b"k", &filter, limit)
                .unwrap()
                .iter()
                .map(|row| row.get().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(rows(None, 10), [r#"{"人数":5}"#, r#"{"人数":-7}"#]);
        assert_eq!(rows(None, 1), [r#"{"人数":5}"#]);
        let guangdong = RowFilter { item: "区划".into(), prefixes: vec!["44".into()] };
        assert_eq!(rows(Some(guangdong), 10), [r#"{"人数":-7}"#]);
        let missing = RowFilter { item: "无此列".into(), prefixes: vec!["44".into()] };
        assert!(index
            .json_rows("110101199003070012", &items, &[MaskRule::Clear], b"k", &Some(missing), 10)
            .is_err());
        assert!(rows(None, 10).iter().all(|row| !row.contains("身份证号")));
    }
}
