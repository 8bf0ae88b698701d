//! The data gateway: lookup by entity key, verification (核验) and batch
//! export, each through a grant.
//!
//! Every call names a grant and goes through [`Sharing::live_grant`]
//! (department, revocation, expiry, delivery mode, daily quota) before any
//! read; the table is read with the grant's row filter and only the granted
//! items, and masked before anything leaves. Every call — served or refused
//! — is a ledger entry (`gateway.<mode>`, subject the grant) that is
//! committed before the answer: when it cannot be written the call fails.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use futures::channel::mpsc;
use futures::{SinkExt, Stream, StreamExt};
use govdata_catalog::Caller;
use govdata_lake::arrow::array::{Array, RecordBatch};
use govdata_lake::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use govdata_lake::arrow::util::display::{ArrayFormatter, FormatOptions};
use govdata_lake::datafusion::logical_expr::{self, col, lit, Expr};
use govdata_lake::datafusion::prelude::DataFrame;
use govdata_lake::mapping::EntityKind;
use govdata_lake::parquet::arrow::ArrowWriter;
use govdata_lake::parquet::basic::Compression;
use govdata_lake::parquet::file::properties::WriterProperties;
use govdata_lake::profile::{to_json_rows, to_raw_json_rows};
use govdata_lake::service::EntryData;
use govdata_lake::table::quote;
use govdata_lake::LakeError;
use govdata_model::org::Role;
use govdata_model::{ApiError, FieldError};
use govdata_store::{GrantRecord, LedgerRecord};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::masking::{map_text, mask_batch, MaskRule};
use crate::service::{Result, Sharing, SharingError};
use crate::terms::{DeliveryMode, GrantTerms, RowFilter};

/// Most keys in one lookup.
pub const MAX_LOOKUP_KEYS: usize = 100;
/// Most rows one lookup returns (a key may match several records).
pub const MAX_LOOKUP_ROWS: usize = 1_000;
/// Most fields in one verification.
pub const MAX_VERIFY_FIELDS: usize = 50;
/// The key column carried beside the granted items while grouping.
const KEY_COLUMN: &str = "__gateway_key";

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupRequest {
    /// Entity keys: citizen ID numbers (GB 11643) or USCCs (GB 32100), as
    /// the entry's data is keyed.
    pub keys: Vec<String>,
    /// A subset of the granted items; all of them when absent.
    #[serde(default)]
    pub items: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LookupAnswer {
    pub grant_id: String,
    pub items: Vec<String>,
    /// The masking applied to each returned item.
    pub masking: BTreeMap<String, MaskRule>,
    /// One result per key asked, in the order asked.
    pub results: Vec<KeyResult>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KeyResult {
    /// The key as normalised (18-character ID, upper-case letters).
    pub key: String,
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<Box<serde_json::value::RawValue>>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    pub key: String,
    /// Values to check, by granted item name.
    pub values: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Match,
    Mismatch,
}

/// A verification answer: no data, only whether the values agree.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VerifyAnswer {
    pub grant_id: String,
    /// Whether the key has a record within the grant's scope.
    pub found: bool,
    /// Per item; empty when nothing was found.
    pub fields: BTreeMap<String, Verdict>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Csv,
    Ndjson,
    /// One row group per batch read, the footer once the last batch is sent.
    Parquet,
}

impl ExportFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Ndjson => "application/x-ndjson",
            ExportFormat::Parquet => "application/vnd.apache.parquet",
        }
    }
}

/// What a served call read, for its audit record.
pub(crate) struct Served {
    pub(crate) purpose: String,
    pub(crate) rows: u64,
    pub(crate) items: Vec<String>,
}

/// A grant with its parsed terms: as the gateway caches it, and as it
/// serves a call once every check passed.
#[derive(Clone)]
pub(crate) struct LiveGrant {
    pub(crate) record: Arc<GrantRecord>,
    pub(crate) terms: Arc<GrantTerms>,
}

/// The terms of a grant that serves `mode` now.
pub(crate) fn serving_terms(record: &GrantRecord, mode: DeliveryMode) -> Result<GrantTerms> {
    let terms = parse_terms(record)?;
    check_serving(record, &terms, mode)?;
    Ok(terms)
}

/// A grant's stored terms.
pub(crate) fn parse_terms(record: &GrantRecord) -> Result<GrantTerms> {
    Ok(GrantTerms::deserialize(&record.terms)
        .map_err(|e| govdata_store::StoreError::Corrupt(format!("grant terms: {e}")))?)
}

/// Refuses a grant that is closed or does not allow `mode`.
fn check_serving(record: &GrantRecord, terms: &GrantTerms, mode: DeliveryMode) -> Result<()> {
    if let Some(reason) = grant_closed(record) {
        return Err(SharingError::forbidden(reason));
    }
    if !terms.delivery.contains(&mode) {
        return Err(SharingError::forbidden(format!(
            "grant {} does not allow {} delivery",
            record.id,
            mode.as_str()
        )));
    }
    Ok(())
}

/// Why a grant no longer serves, if it does not.
fn grant_closed(record: &GrantRecord) -> Option<String> {
    if let Some(at) = &record.revoked_at {
        return Some(format!(
            "grant {} was revoked at {at}: {}",
            record.id,
            record.revoke_reason.as_deref().unwrap_or("no reason given")
        ));
    }
    if record.expires_at <= govdata_store::timestamp::now() {
        return Some(format!(
            "grant {} expired at {}; ask the provider to renew it",
            record.id, record.expires_at
        ));
    }
    None
}

impl Sharing {
    /// Loads the grant and checks it for this caller and mode; counts the
    /// call against the rate limit and the daily quota.
    pub(crate) async fn live_grant(
        &self,
        caller: &Caller,
        grant_id: &str,
        mode: DeliveryMode,
    ) -> Result<LiveGrant> {
        let grant = self.usable_grant(caller, grant_id, mode).await?;
        if let Some(rate) = grant.terms.rate_per_second {
            self.take_rate(grant_id, rate)?;
        }
        if let Some(quota) = grant.terms.daily_quota {
            self.take_quota(grant_id, quota).await?;
        }
        Ok(grant)
    }

    /// The grant, if this caller may use it for `mode` now; counts nothing.
    pub(crate) async fn usable_grant(
        &self,
        caller: &Caller,
        grant_id: &str,
        mode: DeliveryMode,
    ) -> Result<LiveGrant> {
        if !caller.context.roles.contains(&Role::Consumer) {
            return Err(SharingError::forbidden("the gateway serves consumer applications and users"));
        }
        let grant = self.cached_grant(grant_id).await?;
        self.saw_grant(grant_id);
        if grant.record.consumer_department_id != caller.context.department_id {
            return Err(SharingError::forbidden(format!("grant {grant_id} belongs to another department")));
        }
        check_serving(&grant.record, &grant.terms, mode)?;
        Ok(grant)
    }

    /// Writes the call's audit record and returns the answer only if it was
    /// written.
    pub(crate) async fn audited<T>(
        &self,
        caller: &Caller,
        grant_id: &str,
        mode: DeliveryMode,
        asked: Value,
        started: Instant,
        result: Result<(T, Served)>,
    ) -> Result<T> {
        let mut payload = json!({"grant": grant_id, "mode": mode.as_str(), "asked": asked});
        match &result {
            Ok((_, served)) => {
                payload["outcome"] = json!("served");
                payload["purpose"] = json!(served.purpose);
                payload["rows"] = json!(served.rows);
                payload["items"] = json!(served.items);
            }
            Err(error) => {
                payload["outcome"] = json!("refused");
                payload["error"] = json!({"code": error.code().as_str(), "message": error.public_message()});
            }
        }
        let latency_us = started.elapsed().as_micros() as u64;
        payload["latency_us"] = json!(latency_us);
        let kind = format!("gateway.{}", mode.as_str());
        self.store.record_access(LedgerRecord::new(&caller.actor, &kind, grant_id, payload)).await?;
        let rows = result.as_ref().map_or(0, |(_, served)| served.rows);
        self.count_call(grant_id, result.is_ok(), rows, latency_us);
        result.map(|(answer, _)| answer)
    }

    /// Rows of the granted items for each key, masked.
    pub async fn lookup(
        &self,
        caller: &Caller,
        grant_id: &str,
        request: LookupRequest,
    ) -> Result<LookupAnswer> {
        let started = Instant::now();
        let asked = json!({"keys": request.keys, "items": request.items});
        let result = self.lookup_rows(caller, grant_id, request).await;
        self.audited(caller, grant_id, DeliveryMode::Lookup, asked, started, result).await
    }

    async fn lookup_rows(
        &self,
        caller: &Caller,
        grant_id: &str,
        request: LookupRequest,
    ) -> Result<(LookupAnswer, Served)> {
        let grant = self.live_grant(caller, grant_id, DeliveryMode::Lookup).await?;
        if request.keys.is_empty() || request.keys.len() > MAX_LOOKUP_KEYS {
            return Err(FieldError::new("keys", format!("give 1 to {MAX_LOOKUP_KEYS} keys")).into());
        }
        let items = chosen_items(&grant.terms, request.items.as_deref())?;
        let masking = masking_of(&grant.terms, &items);
        let results = match self.key_index(&grant.record.entry_code).await? {
            Some(index) => {
                let rules: Vec<MaskRule> = items.iter().map(|item| masking[item]).collect();
                let mask_key = grant.record.mask_key.as_bytes();
                let mut results = Vec::with_capacity(request.keys.len());
                let mut room = MAX_LOOKUP_ROWS;
                for key in normalise_keys(index.entity_key.kind, &request.keys, "keys")? {
                    let rows =
                        index.json_rows(&key, &items, &rules, mask_key, &grant.terms.row_filter, room)?;
                    room -= rows.len();
                    results.push(KeyResult { key, rows });
                }
                results
            }
            None => self.table_lookup(&grant, &request.keys, &items, &masking).await?,
        };
        let rows = results.iter().map(|result| result.rows.len() as u64).sum();
        let served = Served { purpose: grant.terms.purpose.clone(), rows, items: items.clone() };
        Ok((LookupAnswer { grant_id: grant_id.to_owned(), items, masking, results }, served))
    }

    /// [`Self::lookup_rows`] for an entry without a key index: the keys'
    /// rows read from the table, masked a batch at a time.
    async fn table_lookup(
        &self,
        grant: &LiveGrant,
        keys: &[String],
        items: &[String],
        masking: &BTreeMap<String, MaskRule>,
    ) -> Result<Vec<KeyResult>> {
        let Some((keys, batches)) = self.table_rows(grant, keys, items, "keys").await? else {
            return Ok(keys
                .iter()
                .map(|key| KeyResult { key: key.trim().to_owned(), rows: Vec::new() })
                .collect());
        };
        let mut by_key: BTreeMap<String, Vec<Box<serde_json::value::RawValue>>> = BTreeMap::new();
        for batch in &batches {
            let row_keys = map_text(batch.column(0), |key| key.unwrap_or_default().to_owned())?;
            let values = without_key(batch)?;
            let masked = mask_batch(&values, masking, grant.record.mask_key.as_bytes())?;
            for (key, json_row) in row_keys.into_iter().zip(to_raw_json_rows(std::slice::from_ref(&masked))?)
            {
                by_key.entry(key).or_default().push(json_row);
            }
        }
        Ok(keys
            .into_iter()
            .map(|key| KeyResult { rows: by_key.remove(&key).unwrap_or_default(), key })
            .collect())
    }

    /// Whether the submitted values agree with the record of `key`; returns
    /// no data.
    pub async fn verify(
        &self,
        caller: &Caller,
        grant_id: &str,
        request: VerifyRequest,
    ) -> Result<VerifyAnswer> {
        let started = Instant::now();
        // The submitted values are the consumer's own claims about a person:
        // the audit keeps which fields were checked, not the values.
        let asked = json!({"key": request.key, "items": request.values.keys().collect::<Vec<_>>()});
        let result = self.verify_values(caller, grant_id, request).await;
        self.audited(caller, grant_id, DeliveryMode::Verify, asked, started, result).await
    }

    async fn verify_values(
        &self,
        caller: &Caller,
        grant_id: &str,
        request: VerifyRequest,
    ) -> Result<(VerifyAnswer, Served)> {
        let grant = self.live_grant(caller, grant_id, DeliveryMode::Verify).await?;
        if request.values.is_empty() || request.values.len() > MAX_VERIFY_FIELDS {
            return Err(FieldError::new("values", format!("give 1 to {MAX_VERIFY_FIELDS} values")).into());
        }
        for item in request.values.keys() {
            if !grant.terms.items.contains(item) {
                return Err(not_granted(&format!("values.{item}"), item));
            }
            // An item the consumer may never see even partly is no oracle either.
            if matches!(grant.terms.masking.get(item), None | Some(MaskRule::Null | MaskRule::Hash)) {
                return Err(SharingError::Forbidden {
                    field: Some(format!("values.{item}")),
                    message: format!("item '{item}' is masked as null or hash: it cannot be verified"),
                });
            }
        }
        let items: Vec<String> = request.values.keys().cloned().collect();
        let mut fields = BTreeMap::new();
        let mut rows = 0;
        let keys = std::slice::from_ref(&request.key);
        let records: Option<Vec<serde_json::Map<String, Value>>> = match self
            .key_index(&grant.record.entry_code)
            .await?
        {
            Some(index) => {
                let key = normalise_keys(index.entity_key.kind, keys, "key")?.remove(0);
                let clear = vec![MaskRule::Clear; items.len()];
                let rows =
                    index.json_rows(&key, &items, &clear, &[], &grant.terms.row_filter, MAX_LOOKUP_ROWS)?;
                let parsed: serde_json::Result<_> =
                    rows.iter().map(|row| serde_json::from_str(row.get())).collect();
                Some(parsed.map_err(|e| LakeError::from(std::io::Error::from(e)))?)
            }
            None => match self.table_rows(&grant, keys, &items, "key").await? {
                Some((_, batches)) => {
                    Some(to_json_rows(&batches.iter().map(without_key).collect::<Result<Vec<_>>>()?)?)
                }
                None => None,
            },
        };
        if let Some(records) = records {
            rows = records.len() as u64;
            if !records.is_empty() {
                for (item, claimed) in &request.values {
                    let claimed = canonical(claimed);
                    let agrees = records.iter().any(|record| {
                        record.get(item).and_then(value_text).map(|v| canonical(&v)) == Some(claimed.clone())
                    });
                    fields.insert(item.clone(), if agrees { Verdict::Match } else { Verdict::Mismatch });
                }
            }
        }
        let served = Served { purpose: grant.terms.purpose.clone(), rows, items };
        Ok((VerifyAnswer { grant_id: grant_id.to_owned(), found: rows > 0, fields }, served))
    }

    /// Raw rows of `items` for `keys` inside the grant's row filter, read
    /// from the table, with the normalised key as the first column; `None`
    /// while the entry has no data. For entries without a key index.
    async fn table_rows(
        &self,
        grant: &LiveGrant,
        keys: &[String],
        items: &[String],
        field: &str,
    ) -> Result<Option<(Vec<String>, Vec<RecordBatch>)>> {
        let entry = &grant.record.entry_code;
        let filter = &grant.terms.row_filter;
        let Some(data) = self.resources.open_entry(entry).await? else { return Ok(None) };
        let key = data
            .entity_key
            .as_ref()
            .ok_or_else(|| FieldError::new(field, "this entry's data has no entity key; use batch export"))?;
        let keys = normalise_keys(key.kind, keys, field)?;
        let mut selection = vec![col(quote(&key.item)).alias(KEY_COLUMN)];
        selection.extend(items.iter().map(|item| col(quote(item))));
        let batches = read_scoped(&data, filter)?
            .filter(col(quote(&key.item)).in_list(keys.iter().map(|k| lit(k.clone())).collect(), false))
            .and_then(|f| f.select(selection))
            .and_then(|f| f.limit(0, Some(MAX_LOOKUP_ROWS)))
            .map_err(LakeError::from)?
            .collect()
            .await
            .map_err(LakeError::from)?;
        Ok(Some((keys, batches)))
    }

    /// The granted table as CSV or NDJSON, streamed. The grant is checked
    /// again before each batch: a revocation or expiry ends the stream with
    /// an error. A `started` ledger entry is committed before the first byte
    /// leaves, and the outcome (rows, or why it stopped) before the stream's
    /// end; a client that goes away is recorded too.
    pub async fn export(
        &self,
        caller: &Caller,
        grant_id: &str,
        format: ExportFormat,
        items: Option<Vec<String>>,
    ) -> Result<impl Stream<Item = Result<Vec<u8>>> + Send + 'static> {
        let started = Instant::now();
        let asked = json!({"format": format!("{format:?}").to_lowercase(), "items": items});
        let opened = match self.open_export(caller, grant_id, items.as_deref()).await {
            Ok((grant, items, Some(frame))) => match frame.execute_stream().await {
                Ok(stream) => Ok((grant, items, Some(stream))),
                Err(error) => Err(LakeError::from(error).into()),
            },
            Ok((grant, items, None)) => Ok((grant, items, None)),
            Err(error) => Err(error),
        };
        let (grant, items, stream) = match opened {
            Ok(opened) => opened,
            Err(error) => {
                return Err(self
                    .audited::<()>(caller, grant_id, DeliveryMode::Batch, asked, started, Err(error))
                    .await
                    .unwrap_err());
            }
        };
        let masking = masking_of(&grant.terms, &items);
        // The schema as delivered: masked columns become text.
        let schema = match &stream {
            Some(stream) => mask_batch(&RecordBatch::new_empty(stream.schema()), &masking, &[])?.schema(),
            None => Arc::new(Schema::new(
                items.iter().map(|item| Field::new(item, DataType::Utf8, true)).collect::<Vec<_>>(),
            )),
        };
        let mut encoder = Encoder::new(format, &items, schema)?;
        // Recorded before the first byte leaves; the outcome follows at the end.
        let start = json!({"grant": grant_id, "mode": "batch", "asked": asked, "outcome": "started",
                           "purpose": grant.terms.purpose, "items": items});
        self.store.record_access(LedgerRecord::new(&caller.actor, "gateway.batch", grant_id, start)).await?;
        let (mut sender, receiver) = mpsc::channel::<Result<Vec<u8>>>(2);
        let this = self.clone();
        let caller = caller.clone();
        let grant_id = grant_id.to_owned();
        tokio::spawn(async move {
            let mut rows = 0u64;
            let mut outcome: Result<(), SharingError> = Ok(());
            let mut delivered = true;
            let head = encoder.head();
            if !head.is_empty() {
                delivered = sender.send(Ok(head)).await.is_ok();
            }
            if let (Some(mut stream), true) = (stream, delivered) {
                while let Some(batch) = stream.next().await {
                    let chunk = async {
                        let batch = batch.map_err(LakeError::from)?;
                        let current = this.store.grant(&grant_id).await?;
                        if let Some(reason) = grant_closed(&current) {
                            return Err(SharingError::forbidden(reason));
                        }
                        let masked = mask_batch(&batch, &masking, grant.record.mask_key.as_bytes())?;
                        encoder.batch(&masked).map(|bytes| (bytes, masked.num_rows() as u64))
                    }
                    .await;
                    match chunk {
                        Ok((bytes, n)) => {
                            if sender.send(Ok(bytes)).await.is_err() {
                                delivered = false;
                                break;
                            }
                            rows += n;
                        }
                        Err(error) => {
                            outcome = Err(error);
                            break;
                        }
                    }
                }
            }
            // The tail (Parquet's footer) completes the file: it leaves only
            // once the outcome is in the ledger.
            let mut tail = Vec::new();
            if outcome.is_ok() && delivered {
                match encoder.finish() {
                    Ok(bytes) => tail = bytes,
                    Err(error) => outcome = Err(error),
                }
            }
            let served = Served { purpose: grant.terms.purpose.clone(), rows, items: items.clone() };
            let mut asked = asked;
            asked["client_disconnected"] = json!(!delivered);
            // What left before a failure (a revocation mid-stream) is recorded too.
            asked["rows_delivered"] = json!(rows);
            let result = match outcome {
                Ok(()) => Ok(((), served)),
                Err(error) => Err(error),
            };
            match this.audited(&caller, &grant_id, DeliveryMode::Batch, asked, started, result).await {
                Ok(()) if !tail.is_empty() => {
                    let _ = sender.send(Ok(tail)).await;
                }
                Ok(()) => {}
                Err(error) => {
                    let _ = sender.send(Err(error)).await;
                }
            }
        });
        Ok(receiver)
    }

    async fn open_export(
        &self,
        caller: &Caller,
        grant_id: &str,
        items: Option<&[String]>,
    ) -> Result<(LiveGrant, Vec<String>, Option<DataFrame>)> {
        let grant = self.live_grant(caller, grant_id, DeliveryMode::Batch).await?;
        let items = chosen_items(&grant.terms, items)?;
        let frame = match self.resources.open_entry(&grant.record.entry_code).await? {
            Some(data) => Some(
                read_scoped(&data, &grant.terms.row_filter)?
                    .select(items.iter().map(|item| col(quote(item))).collect::<Vec<_>>())
                    .map_err(LakeError::from)?,
            ),
            None => None,
        };
        Ok((grant, items, frame))
    }
}

/// The rule of each item; an item without one is withheld entirely
/// (fail closed), which a grant made by this service never has.
pub(crate) fn masking_of(terms: &GrantTerms, items: &[String]) -> BTreeMap<String, MaskRule> {
    items
        .iter()
        .map(|item| (item.clone(), terms.masking.get(item).copied().unwrap_or(MaskRule::Null)))
        .collect()
}

fn not_granted(field: &str, item: &str) -> SharingError {
    SharingError::Forbidden {
        field: Some(field.to_owned()),
        message: format!("item '{item}' is not granted"),
    }
}

/// The items asked for, all granted; every granted item when none are named.
fn chosen_items(terms: &GrantTerms, asked: Option<&[String]>) -> Result<Vec<String>> {
    let Some(asked) = asked else { return Ok(terms.items.clone()) };
    if asked.is_empty() {
        return Err(FieldError::new("items", "name at least one item, or leave items out for all").into());
    }
    for (i, item) in asked.iter().enumerate() {
        if !terms.items.contains(item) {
            return Err(not_granted(&format!("items[{i}]"), item));
        }
    }
    Ok(asked.to_vec())
}

/// Keys normalised for the data's entity kind; a bad key names its place
/// (`keys[i]`, or `key` for a single one).
fn normalise_keys(kind: EntityKind, keys: &[String], field: &str) -> Result<Vec<String>> {
    keys.iter()
        .enumerate()
        .map(|(i, key)| {
            let checked = match kind {
                EntityKind::Person => govdata_model::validate::id_number(key),
                EntityKind::Enterprise => govdata_model::validate::uscc(key),
            };
            let field = if field == "keys" { format!("keys[{i}]") } else { field.to_owned() };
            checked.normalized.ok_or_else(|| FieldError::new(field, checked.errors.join("; ")).into())
        })
        .collect()
}

/// A keyed batch without its key column.
fn without_key(batch: &RecordBatch) -> Result<RecordBatch> {
    Ok(batch.project(&(1..batch.num_columns()).collect::<Vec<_>>()).map_err(LakeError::from)?)
}

/// The entry's table limited to the grant's rows.
fn read_scoped(data: &EntryData, filter: &Option<RowFilter>) -> Result<DataFrame> {
    scoped(data.ctx.read_table(data.provider.clone()).map_err(LakeError::from)?, filter)
}

/// Rows of `frame` inside the grant's row filter.
pub(crate) fn scoped(frame: DataFrame, filter: &Option<RowFilter>) -> Result<DataFrame> {
    let Some(filter) = filter else { return Ok(frame) };
    let text = logical_expr::cast(col(quote(&filter.item)), DataType::Utf8);
    let inside = filter
        .prefixes
        .iter()
        .map(|prefix| text.clone().like(lit(format!("{prefix}%"))))
        .reduce(Expr::or)
        .expect("a row filter has at least one prefix");
    Ok(frame.filter(inside).map_err(LakeError::from)?)
}

fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// A comparable form: dates and times by their digits, decimals without
/// trailing fractional zeros, other text trimmed. Integer digits are never
/// reinterpreted (no floating point: 18-digit IDs must compare exactly, and
/// leading zeros matter in codes).
fn canonical(value: &str) -> String {
    let value = value.trim();
    let date_like =
        value.contains(['-', '/', ':']) && value.chars().all(|c| c.is_ascii_digit() || "-/: T.".contains(c));
    if date_like {
        return value.chars().filter(char::is_ascii_digit).collect();
    }
    let digits = value.strip_prefix('-').unwrap_or(value);
    match digits.split_once('.') {
        Some((whole, fraction))
            if !whole.is_empty()
                && whole.chars().all(|c| c.is_ascii_digit())
                && fraction.chars().all(|c| c.is_ascii_digit()) =>
        {
            value.trim_end_matches('0').trim_end_matches('.').to_owned()
        }
        _ => value.to_owned(),
    }
}

fn csv_header(items: &[String]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(items).expect("writing to memory");
    writer.into_inner().expect("writing to memory")
}

/// A Parquet row group closes once it holds this many rows or bytes.
const PARQUET_ROW_GROUP_ROWS: usize = 1_000_000;
const PARQUET_ROW_GROUP_BYTES: usize = 64 * 1024 * 1024;

/// Turns masked batches into one export format's bytes. CSV and NDJSON
/// encode each batch alone; Parquet keeps one writer for the whole export.
enum Encoder {
    Csv(Vec<String>),
    Ndjson,
    Parquet { writer: Box<ArrowWriter<SharedBuffer>>, written: SharedBuffer },
}

impl Encoder {
    fn new(format: ExportFormat, items: &[String], schema: SchemaRef) -> Result<Encoder> {
        Ok(match format {
            ExportFormat::Csv => Encoder::Csv(items.to_vec()),
            ExportFormat::Ndjson => Encoder::Ndjson,
            ExportFormat::Parquet => {
                let written = SharedBuffer::default();
                let properties = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
                let writer =
                    ArrowWriter::try_new(written.clone(), schema, Some(properties)).map_err(parquet_error)?;
                Encoder::Parquet { writer: Box::new(writer), written }
            }
        })
    }

    /// What comes before the first row: the CSV header.
    fn head(&self) -> Vec<u8> {
        match self {
            Encoder::Csv(items) => csv_header(items),
            Encoder::Ndjson | Encoder::Parquet { .. } => Vec::new(),
        }
    }

    fn batch(&mut self, batch: &RecordBatch) -> Result<Vec<u8>> {
        match self {
            Encoder::Ndjson => {
                let mut writer = govdata_lake::arrow::json::WriterBuilder::new()
                    .with_explicit_nulls(true)
                    .build::<_, govdata_lake::arrow::json::writer::LineDelimited>(Vec::new());
                writer.write(batch).map_err(LakeError::from)?;
                writer.finish().map_err(LakeError::from)?;
                Ok(writer.into_inner())
            }
            Encoder::Parquet { writer, written } => {
                writer.write(batch).map_err(parquet_error)?;
                // A row group closes at a useful size (readers slow down, and the
                // footer grows, with many small ones); its bytes then go out.
                if writer.in_progress_rows() >= PARQUET_ROW_GROUP_ROWS
                    || writer.in_progress_size() >= PARQUET_ROW_GROUP_BYTES
                {
                    writer.flush().map_err(parquet_error)?;
                }
                Ok(written.take())
            }
            Encoder::Csv(_) => {
                let options = FormatOptions::default();
                let formatters = batch
                    .columns()
                    .iter()
                    .map(|column| ArrayFormatter::try_new(column.as_ref(), &options))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(LakeError::from)?;
                let mut writer = csv::Writer::from_writer(Vec::new());
                for row in 0..batch.num_rows() {
                    let record: Vec<String> = batch
                        .columns()
                        .iter()
                        .zip(&formatters)
                        .map(|(column, formatter)| {
                            if column.is_null(row) {
                                String::new()
                            } else {
                                formatter.value(row).to_string()
                            }
                        })
                        .collect();
                    writer.write_record(&record).map_err(|e| LakeError::Io(std::io::Error::other(e)))?;
                }
                writer.into_inner().map_err(|e| LakeError::Io(std::io::Error::other(e.to_string())).into())
            }
        }
    }

    /// What comes after the last row: the Parquet footer.
    fn finish(self) -> Result<Vec<u8>> {
        match self {
            Encoder::Parquet { writer, written } => {
                writer.close().map_err(parquet_error)?;
                Ok(written.take())
            }
            Encoder::Csv(_) | Encoder::Ndjson => Ok(Vec::new()),
        }
    }
}

fn parquet_error(error: govdata_lake::parquet::errors::ParquetError) -> SharingError {
    LakeError::Io(std::io::Error::other(error.to_string())).into()
}

/// The bytes the Parquet writer has produced so far, taken as they are sent.
#[derive(Clone, Default)]
struct SharedBuffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl SharedBuffer {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().expect("export buffer lock is never poisoned"))
    }
}

impl std::io::Write for SharedBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("export buffer lock is never poisoned").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms_compare_dates_and_numbers_by_value() {
        assert_eq!(canonical("1990-03-07"), canonical("19900307"));
        assert_eq!(canonical(" 100.50 "), canonical("100.5"));
        assert_eq!(canonical("100.0"), canonical("100"));
        assert_ne!(canonical("110101199003070012"), canonical("110101199003070019"));
        assert_ne!(canonical("0101"), canonical("101"));
        assert_ne!(canonical("1e3"), canonical("1000"));
        assert_ne!(canonical("张三"), canonical("张四"));
        assert_eq!(canonical("正常参保"), "正常参保");
    }
}
