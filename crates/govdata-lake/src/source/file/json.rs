//! JSON records: NDJSON (one object per line) and a top-level array of
//! objects, both read record by record; also the JSON value and key-to-column
//! mapping the HTTP connector shares.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use deltalake::arrow::datatypes::SchemaRef;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::open_file;
use super::text::{column_names, text_schema, BatchSink, TextBatchBuilder};
use crate::{LakeError, RejectSink};

/// How many records the schema is taken from.
pub const SCHEMA_SAMPLE: usize = 1000;

/// A JSON value that keeps object keys in document order (serde_json's own
/// `Value` sorts them), so that columns come in first-seen order and nested
/// values keep their text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum JsonValue {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<JsonValue>),
    Object(Vec<(String, JsonValue)>),
}

impl JsonValue {
    /// The value at a dot path (`data.items`; numeric segments index arrays).
    pub(crate) fn at_path(self, path: &str) -> Option<JsonValue> {
        path.split('.').try_fold(self, |value, segment| match value {
            JsonValue::Object(fields) => {
                fields.into_iter().rev().find(|(key, _)| key == segment).map(|(_, v)| v)
            }
            JsonValue::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.into_iter().nth(i)),
            _ => None,
        })
    }

    /// The value at a dot path, borrowed.
    pub(crate) fn get_path(&self, path: &str) -> Option<&JsonValue> {
        path.split('.').try_fold(self, |value, segment| match value {
            JsonValue::Object(fields) => fields.iter().rev().find(|(key, _)| key == segment).map(|(_, v)| v),
            JsonValue::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        })
    }

    /// For messages: what kind of value this is.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            JsonValue::Null => "null",
            JsonValue::Bool(_) => "a boolean",
            JsonValue::Number(_) => "a number",
            JsonValue::String(_) => "a string",
            JsonValue::Array(_) => "an array",
            JsonValue::Object(_) => "an object",
        }
    }

    /// The cell text: strings as they are, numbers and booleans in their JSON
    /// form, arrays and objects as JSON text, null as NULL.
    pub(crate) fn into_text(self) -> Option<String> {
        match self {
            JsonValue::Null => None,
            JsonValue::Bool(value) => Some(value.to_string()),
            JsonValue::Number(value) => Some(value.to_string()),
            JsonValue::String(value) => Some(value),
            nested => serde_json::to_string(&nested).ok(),
        }
    }

    /// The fields of a record, or why it is not one.
    pub(crate) fn into_record(self) -> Result<Vec<(String, JsonValue)>, String> {
        match self {
            JsonValue::Object(fields) => Ok(fields),
            other => Err(format!("not a JSON object but {}", other.kind())),
        }
    }
}

impl<'de> Deserialize<'de> for JsonValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonValueVisitor)
    }
}

struct JsonValueVisitor;

impl<'de> Visitor<'de> for JsonValueVisitor {
    type Value = JsonValue;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<JsonValue, E> {
        Ok(JsonValue::Null)
    }

    fn visit_none<E>(self) -> Result<JsonValue, E> {
        Ok(JsonValue::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<JsonValue, D::Error> {
        Deserialize::deserialize(deserializer)
    }

    fn visit_bool<E>(self, value: bool) -> Result<JsonValue, E> {
        Ok(JsonValue::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<JsonValue, E> {
        Ok(JsonValue::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<JsonValue, E> {
        Ok(JsonValue::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<JsonValue, E> {
        // serde_json yields only finite floats.
        Ok(serde_json::Number::from_f64(value).map_or(JsonValue::Null, JsonValue::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<JsonValue, E> {
        Ok(JsonValue::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<JsonValue, E> {
        Ok(JsonValue::String(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JsonValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(JsonValue::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonValue, A::Error> {
        let mut fields = Vec::new();
        while let Some(field) = map.next_entry()? {
            fields.push(field);
        }
        Ok(JsonValue::Object(fields))
    }
}

impl Serialize for JsonValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            JsonValue::Null => serializer.serialize_unit(),
            JsonValue::Bool(value) => serializer.serialize_bool(*value),
            JsonValue::Number(value) => value.serialize(serializer),
            JsonValue::String(value) => serializer.serialize_str(value),
            JsonValue::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            JsonValue::Object(fields) => {
                let mut map = serializer.serialize_map(Some(fields.len()))?;
                for (key, value) in fields {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

/// Parses one record's bytes; the error is the reason to reject it.
pub(crate) fn parse_record(bytes: &[u8]) -> Result<Vec<(String, JsonValue)>, String> {
    serde_json::from_slice::<JsonValue>(bytes)
        .map_err(|error| format!("invalid JSON: {error}"))?
        .into_record()
}

/// Record keys in first-seen order.
#[derive(Default)]
pub(crate) struct KeyCollector {
    keys: Vec<String>,
    seen: HashSet<String>,
}

impl KeyCollector {
    pub(crate) fn add(&mut self, fields: &[(String, JsonValue)]) {
        for (key, _) in fields {
            if !self.seen.contains(key) {
                self.seen.insert(key.clone());
                self.keys.push(key.clone());
            }
        }
    }

    pub(crate) fn into_keys(self) -> Vec<String> {
        self.keys
    }
}

/// Places record fields in the columns taken from the first records' keys.
pub(crate) struct RecordColumns {
    index: HashMap<String, usize>,
    warned: HashSet<String>,
}

impl RecordColumns {
    pub(crate) fn new(keys: &[String]) -> Self {
        let index = keys.iter().enumerate().map(|(i, key)| (key.clone(), i)).collect();
        RecordColumns { index, warned: HashSet::new() }
    }

    /// One cell per column; a repeated key's last value wins.
    pub(crate) fn cells(&mut self, fields: Vec<(String, JsonValue)>) -> Vec<Option<String>> {
        let mut cells = vec![None; self.index.len()];
        for (key, value) in fields {
            match self.index.get(&key) {
                Some(&i) => cells[i] = value.into_text(),
                None => {
                    // The schema is fixed by the first records; say once which data a later key loses.
                    if self.warned.insert(key.clone()) {
                        tracing::warn!(key = %key, "key absent from the first records; its values are not read");
                    }
                }
            }
        }
        cells
    }
}

/// The text schema for keys collected from the first records.
pub(crate) fn keys_schema(keys: &[String]) -> SchemaRef {
    text_schema(&column_names(keys))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Layout {
    /// One object per line.
    Lines,
    /// A top-level array of objects.
    Array,
}

/// An opened JSON or NDJSON file whose columns are known.
pub(super) struct JsonFile {
    path: PathBuf,
    layout: Layout,
    keys: Vec<String>,
    schema: SchemaRef,
}

impl JsonFile {
    /// Reads the first [`SCHEMA_SAMPLE`] records for their keys.
    pub(super) fn open(path: &Path, layout: Layout) -> Result<Self, LakeError> {
        let mut records = RecordReader::open(path, layout)?;
        let mut keys = KeyCollector::default();
        let mut bytes = Vec::new();
        let mut count = 0;
        while count < SCHEMA_SAMPLE && records.next(&mut bytes)?.is_some() {
            count += 1;
            if let Ok(fields) = parse_record(&bytes) {
                keys.add(&fields);
            }
        }
        let keys = keys.into_keys();
        if keys.is_empty() {
            let message = if count == 0 {
                "the file holds no JSON records".to_owned()
            } else {
                format!("none of the first {count} records is a JSON object with keys, so the columns are unknown")
            };
            return Err(LakeError::invalid("format", message));
        }
        let schema = keys_schema(&keys);
        Ok(JsonFile { path: path.to_owned(), layout, keys, schema })
    }

    pub(super) fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    pub(super) fn read(
        self,
        batch_size: usize,
        rejects: &RejectSink,
        sink: &BatchSink,
    ) -> Result<(), LakeError> {
        let mut records = RecordReader::open(&self.path, self.layout)?;
        let mut columns = RecordColumns::new(&self.keys);
        let mut batch = TextBatchBuilder::new(self.schema, batch_size);
        let mut bytes = Vec::new();
        while let Some(row) = records.next(&mut bytes)? {
            match parse_record(&bytes) {
                Ok(fields) => batch.append(row, columns.cells(fields)),
                Err(reason) => rejects.reject(row, None, reason),
            }
            if !sink.flush(&mut batch, false)? {
                return Ok(());
            }
        }
        sink.flush(&mut batch, true)?;
        Ok(())
    }
}

/// Yields the raw bytes of one record at a time, with its row number: the
/// line number for NDJSON, the element's 1-based position for an array.
enum RecordReader {
    Lines { reader: Box<dyn BufRead + Send>, line: u64 },
    Array(ArrayElements<Box<dyn BufRead + Send>>),
}

impl RecordReader {
    fn open(path: &Path, layout: Layout) -> Result<Self, LakeError> {
        // JSON is UTF-8, but a BOM (UTF-8 or UTF-16) is honoured and stripped.
        let decoded = encoding_rs_io::DecodeReaderBytesBuilder::new().strip_bom(true).build(open_file(path)?);
        let reader: Box<dyn BufRead + Send> = Box::new(BufReader::with_capacity(1 << 16, decoded));
        Ok(match layout {
            Layout::Lines => RecordReader::Lines { reader, line: 0 },
            Layout::Array => RecordReader::Array(ArrayElements::new(reader)),
        })
    }

    fn next(&mut self, record: &mut Vec<u8>) -> Result<Option<u64>, LakeError> {
        match self {
            RecordReader::Lines { reader, line } => loop {
                record.clear();
                if reader.read_until(b'\n', record)? == 0 {
                    return Ok(None);
                }
                *line += 1;
                if !record.iter().all(u8::is_ascii_whitespace) {
                    return Ok(Some(*line));
                }
            },
            RecordReader::Array(elements) => elements.next(record),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArrayState {
    BeforeOpen,
    Inside,
    Closed,
}

/// Splits a top-level JSON array into its elements' bytes without parsing
/// them, so that the file streams and a malformed element is rejected alone.
struct ArrayElements<R> {
    reader: R,
    state: ArrayState,
    ordinal: u64,
}

impl<R: BufRead> ArrayElements<R> {
    fn new(reader: R) -> Self {
        ArrayElements { reader, state: ArrayState::BeforeOpen, ordinal: 0 }
    }

    fn next(&mut self, element: &mut Vec<u8>) -> Result<Option<u64>, LakeError> {
        element.clear();
        if self.state == ArrayState::BeforeOpen {
            self.open()?;
        }
        if self.state == ArrayState::Closed {
            return Ok(None);
        }
        let mut depth = 0u32;
        let mut in_string = false;
        let mut escaped = false;
        loop {
            let (used, end) = {
                let buffer = self.reader.fill_buf()?;
                if buffer.is_empty() {
                    return Err(LakeError::invalid(
                        "format",
                        "the JSON array is not closed: the file ends inside it",
                    ));
                }
                let mut end = None;
                for (i, &byte) in buffer.iter().enumerate() {
                    if in_string {
                        match byte {
                            _ if escaped => escaped = false,
                            b'\\' => escaped = true,
                            b'"' => in_string = false,
                            _ => {}
                        }
                        continue;
                    }
                    match byte {
                        b'"' => in_string = true,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' if depth > 0 => depth -= 1,
                        b']' | b',' if depth == 0 => {
                            end = Some((i, byte == b']'));
                            break;
                        }
                        _ => {}
                    }
                }
                match end {
                    Some((i, closed)) => {
                        element.extend_from_slice(&buffer[..i]);
                        (i + 1, Some(closed))
                    }
                    None => {
                        element.extend_from_slice(buffer);
                        (buffer.len(), None)
                    }
                }
            };
            self.reader.consume(used);
            if let Some(closed) = end {
                if closed {
                    self.state = ArrayState::Closed;
                    // `[]`, or a trailing comma before `]`.
                    if element.iter().all(u8::is_ascii_whitespace) {
                        return Ok(None);
                    }
                }
                self.ordinal += 1;
                return Ok(Some(self.ordinal));
            }
        }
    }

    /// Skips whitespace up to the opening `[`.
    fn open(&mut self) -> Result<(), LakeError> {
        loop {
            let (used, found) = {
                let buffer = self.reader.fill_buf()?;
                match buffer.iter().position(|byte| !byte.is_ascii_whitespace()) {
                    _ if buffer.is_empty() => return Err(LakeError::invalid("format", "the file is empty")),
                    Some(i) if buffer[i] == b'[' => (i + 1, true),
                    Some(_) => {
                        return Err(LakeError::invalid(
                            "format",
                            "the file is not a JSON array of objects: it does not start with '['",
                        ))
                    }
                    None => (buffer.len(), false),
                }
            };
            self.reader.consume(used);
            if found {
                self.state = ArrayState::Inside;
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elements(text: &str) -> Result<Vec<String>, LakeError> {
        // A tiny buffer so that elements straddle refills.
        let mut elements = ArrayElements::new(BufReader::with_capacity(3, text.as_bytes()));
        let mut out = Vec::new();
        let mut bytes = Vec::new();
        while elements.next(&mut bytes)?.is_some() {
            out.push(String::from_utf8_lossy(&bytes).trim().to_owned());
        }
        Ok(out)
    }

    #[test]
    fn splits_top_level_elements_only() {
        let text = r#" [ {"a": [1, 2], "b": "x,]\"y"}, 3 , {"c": {"d": "}"}} ] "#;
        assert_eq!(
            elements(text).expect("array"),
            vec![r#"{"a": [1, 2], "b": "x,]\"y"}"#, "3", r#"{"c": {"d": "}"}}"#]
        );
        assert_eq!(elements("[]").expect("empty"), Vec::<String>::new());
        assert_eq!(elements("[{},]").expect("trailing comma"), vec!["{}"]);
    }

    #[test]
    fn refuses_what_is_not_an_array() {
        assert!(matches!(elements("{\"a\": 1}"), Err(LakeError::Invalid { field, .. }) if field == "format"));
        assert!(matches!(elements("  "), Err(LakeError::Invalid { .. })));
        assert!(matches!(elements("[{\"a\": 1}, {"), Err(LakeError::Invalid { .. })));
    }

    #[test]
    fn keeps_key_order_and_nested_text() {
        let fields =
            parse_record(br#"{"z": 1, "a": {"y": true, "b": null}, "m": 1.5, "n": null}"#).expect("object");
        let keys: Vec<_> = fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["z", "a", "m", "n"]);
        let texts: Vec<_> = fields.into_iter().map(|(_, v)| v.into_text()).collect();
        assert_eq!(
            texts,
            [Some("1".to_owned()), Some(r#"{"y":true,"b":null}"#.to_owned()), Some("1.5".to_owned()), None]
        );
        assert!(parse_record(b"[1]").unwrap_err().contains("not a JSON object"));
    }
}
