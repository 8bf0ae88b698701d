//! The tamper-evident ledger over HTTP (DESIGN.md §9).
//!
//! Access: the checkpoint, the log's keys and the proofs are public. They
//! reveal sizes and hashes, no data, and witnesses, parent nodes and outside
//! verifiers must fetch them without an account. Entries say who did what
//! to which subject, so they need [`Action::ReadLedger`] (auditor or data
//! authority), and each such read is itself recorded in the ledger.

use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use govdata_ledger::hash::proof_to_hex;
use govdata_store::{EntryFilter, LedgerEntry, LedgerRecord};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::Principal;
use crate::error::{ApiResult, HttpError};
use crate::extract::{Path, Query};
use crate::policy::Action;
use crate::state::AppState;

/// How often the background checkpointer signs the tree when it has grown.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// What a client needs to verify this node's checkpoints and cosignatures
/// offline.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LedgerKeys {
    /// First line of every checkpoint: `govdata/<node id>`.
    pub origin: String,
    /// Hash of leaves, nodes and payload digests: `sha256` or `sm3`.
    pub hash: String,
    /// Note verifier key of checkpoints, `name+hexid+base64(0x01 ‖ key)`.
    pub verifier_key: String,
    /// Verifier key of this node's witness cosignatures (C2SP
    /// tlog-cosignature v1), `name+hexid+base64(0x04 ‖ key)`.
    pub witness_key: String,
}

/// The keys and hash algorithm of this node's ledger.
#[utoipa::path(get, path = "/api/v1/ledger/key", tag = "ledger",
    responses((status = 200, body = LedgerKeys)))]
pub async fn key(State(state): State<AppState>) -> Json<LedgerKeys> {
    let public = state.node().key.verifying_key();
    Json(LedgerKeys {
        origin: state.store.ledger_origin().to_owned(),
        hash: state.store.ledger_hash().to_string(),
        verifier_key: state.store.ledger_verifier_key(&public).to_string(),
        witness_key: state.store.witness_verifier_key(&public).to_string(),
    })
}

/// The latest signed checkpoint (C2SP tlog-checkpoint in a signed note),
/// made on demand when the tree grew since the last one.
#[utoipa::path(get, path = "/api/v1/ledger/checkpoint", tag = "ledger",
    responses((status = 200, description = "`origin\\nsize\\nbase64(root)\\n\\n— origin base64(key id ‖ signature)\\n`",
               body = String, content_type = "text/plain; charset=utf-8")))]
pub async fn checkpoint(State(state): State<AppState>) -> ApiResult<impl IntoResponse> {
    let checkpoint = state.store.checkpoint(&state.node().key).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], checkpoint.note))
}

/// One entry, with what is needed to recompute its leaf hash.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EntryView {
    pub index: u64,
    /// Hex of `H(0x00 ‖ canonical bytes)`.
    pub leaf_hash: String,
    /// Base64 of the exact bytes hashed.
    pub canonical: String,
    /// The canonical bytes, decoded: `{v, node, at, actor, kind, subject, payload_digest}`.
    #[schema(value_type = Object)]
    pub entry: govdata_ledger::Entry,
    /// The payload; its canonical JSON hashes to `entry.payload_digest`.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

impl From<LedgerEntry> for EntryView {
    fn from(e: LedgerEntry) -> Self {
        EntryView {
            index: e.index,
            leaf_hash: hex::encode(e.leaf_hash),
            canonical: BASE64.encode(&e.canonical),
            entry: e.entry,
            payload: e.payload,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EntriesQuery {
    /// First index (default 0).
    pub from: Option<u64>,
    /// End of the range, exclusive (default: the current size).
    pub to: Option<u64>,
    /// Only entries by this actor (`user:<name>`, `key:<prefix>`, `cli:<login>`…).
    pub actor: Option<String>,
    /// Only entries of this kind (`user.create`, `gateway.read`…).
    pub kind: Option<String>,
    /// Only entries about this subject.
    pub subject: Option<String>,
    /// Page size, at most 1000 (the default).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EntryPageView {
    pub from: u64,
    pub to: u64,
    pub entries: Vec<EntryView>,
    /// `from` of the next page, when there is one.
    pub next: Option<u64>,
}

/// Entries with indices in `[from, to)`, in order, optionally filtered.
#[utoipa::path(get, path = "/api/v1/ledger/entries", tag = "ledger", params(EntriesQuery),
    responses((status = 200, body = EntryPageView), (status = 400, body = HttpError),
              (status = 401, body = HttpError), (status = 403, body = HttpError), (status = 422, body = HttpError)))]
pub async fn entries(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<EntriesQuery>,
) -> ApiResult<Json<EntryPageView>> {
    principal.authorize(Action::ReadLedger)?;
    let filter = EntryFilter {
        from: query.from.unwrap_or(0),
        to: query.to,
        actor: query.actor,
        kind: query.kind,
        subject: query.subject,
        limit: query.limit,
    };
    let page = state.store.ledger_entries(&filter).await?;
    record_read(
        &state,
        &principal,
        "entries",
        json!({
            "from": page.from, "to": page.to, "actor": filter.actor, "kind": filter.kind,
            "subject": filter.subject, "returned": page.entries.len(),
        }),
    )
    .await?;
    Ok(Json(EntryPageView {
        from: page.from,
        to: page.to,
        entries: page.entries.into_iter().map(EntryView::from).collect(),
        next: page.next,
    }))
}

/// One entry.
#[utoipa::path(get, path = "/api/v1/ledger/entries/{index}", tag = "ledger",
    params(("index" = u64, Path, description = "entry index")),
    responses((status = 200, body = EntryView), (status = 400, body = HttpError), (status = 401, body = HttpError),
              (status = 403, body = HttpError), (status = 404, body = HttpError)))]
pub async fn entry(
    State(state): State<AppState>,
    principal: Principal,
    Path(index): Path<u64>,
) -> ApiResult<Json<EntryView>> {
    principal.authorize(Action::ReadLedger)?;
    let entry = state.store.ledger_entry(index).await?;
    record_read(&state, &principal, &format!("entries/{index}"), json!({ "index": index })).await?;
    Ok(Json(entry.into()))
}

/// Reading who did what is itself recorded, durably, before the answer.
async fn record_read(
    state: &AppState,
    principal: &Principal,
    subject: &str,
    payload: serde_json::Value,
) -> Result<(), HttpError> {
    let record = LedgerRecord {
        actor: principal.actor.clone(),
        kind: "ledger.read".into(),
        subject: subject.to_owned(),
        payload,
    };
    state.store.record_access(record).await?;
    Ok(())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    /// Entry index.
    pub index: u64,
    /// Tree size (of a checkpoint); must be greater than `index`.
    pub size: u64,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    pub index: u64,
    pub size: u64,
    /// Hex hashes, RFC 9162 §2.1.3 order (leaf to root).
    pub hashes: Vec<String>,
}

/// RFC 9162 inclusion proof of entry `index` in the tree of `size` entries.
#[utoipa::path(get, path = "/api/v1/ledger/proof/inclusion", tag = "ledger", params(InclusionQuery),
    responses((status = 200, body = InclusionProof), (status = 400, body = HttpError), (status = 422, body = HttpError)))]
pub async fn inclusion(
    State(state): State<AppState>,
    Query(query): Query<InclusionQuery>,
) -> ApiResult<Json<InclusionProof>> {
    let hashes = state.store.inclusion_proof(query.index, query.size).await?;
    Ok(Json(InclusionProof { index: query.index, size: query.size, hashes: proof_to_hex(&hashes) }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// Older tree size.
    pub from: u64,
    /// Newer tree size.
    pub to: u64,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    /// Hex hashes, RFC 9162 §2.1.4 order.
    pub hashes: Vec<String>,
}

/// RFC 9162 consistency proof from the tree of `from` entries to the tree of `to`.
#[utoipa::path(get, path = "/api/v1/ledger/proof/consistency", tag = "ledger", params(ConsistencyQuery),
    responses((status = 200, body = ConsistencyProof), (status = 400, body = HttpError), (status = 422, body = HttpError)))]
pub async fn consistency(
    State(state): State<AppState>,
    Query(query): Query<ConsistencyQuery>,
) -> ApiResult<Json<ConsistencyProof>> {
    let hashes = state.store.consistency_proof(query.from, query.to).await?;
    Ok(Json(ConsistencyProof { from: query.from, to: query.to, hashes: proof_to_hex(&hashes) }))
}
