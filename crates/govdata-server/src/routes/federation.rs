//! Federation endpoints (DESIGN.md §5): join tokens and joining, the
//! catalog cascade and checkpoint witnessing between nodes (signed, see
//! [`crate::federation`]), the topology, and descendants' entries.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::Json;
use govdata_ledger::hash::{proof_from_hex, HashAlg};
use govdata_ledger::note::{add_signatures, Checkpoint, VerifierKey};
use govdata_ledger::witness::{Witness, WitnessError};
use govdata_model::catalog::CatalogEntry;
use govdata_model::org::{Level, NodeInfo};
use govdata_model::validate::divisions;
use govdata_model::ErrorCode;
use govdata_sharing::gateway::LookupRequest;
use govdata_sharing::subscription::{ChangesQuery, SubscribeRequest};
use govdata_sharing::terms::{ApplyRequest, DeliveryMode, EntryWanted, RowFilter};
use govdata_store::{
    CascadeChange, Descendant, FederationNode, HomeNode, LedgerRecord, NewDepartment, NodeRelation,
    NodeStatus, RemoteApplication,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::auth::Principal;
use crate::error::{ApiResult, HttpError};
use crate::extract::{parse_json, Json as JsonBody, Path, Query};
use crate::federation::client::PeerClient;
use crate::federation::{self, keys, peer_error, routing, signature, SignedRequest};
use crate::policy::Action;
use crate::routes::catalog::caller;
use crate::routes::ledger::ConsistencyProof;
use crate::routes::sharing::SubscriptionsParams;
use crate::routes::system::node_info;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinTokenRequest {
    /// Id of the child node that will join with the token.
    pub node_id: String,
    /// The level the child must declare (below this node's).
    pub level: govdata_model::org::Level,
    /// The GB/T 2260 region the child must declare (inside this node's).
    pub region: String,
}

/// Issues a one-time join token for a child node (administrator).
#[utoipa::path(post, path = "/api/v1/federation/join-tokens", tag = "federation", request_body = JoinTokenRequest,
    responses((status = 201, body = federation::JoinToken), (status = 403, body = HttpError), (status = 422, body = HttpError)))]
pub async fn create_join_token(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(request): JsonBody<JoinTokenRequest>,
) -> ApiResult<(StatusCode, Json<federation::JoinToken>)> {
    principal.authorize(Action::ManageFederation)?;
    let token = federation::issue_join_token(
        &state.store,
        &state.node(),
        &state.config,
        &principal.actor,
        &request.node_id,
        request.level,
        &request.region,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(token)))
}

/// A child joins with a join token. The request is signed (RFC 9421) with
/// the key it names; that key is pinned. Answers this node's identity.
#[utoipa::path(post, path = "/api/v1/federation/join", tag = "federation", request_body = federation::JoinRequest,
    responses((status = 200, body = NodeInfo), (status = 401, body = HttpError), (status = 409, body = HttpError),
              (status = 422, body = HttpError)))]
pub async fn join(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<NodeInfo>> {
    let request: federation::JoinRequest = parse_json(&body)?;
    let child = request.validate(&state.node().info)?;
    let now = SystemTime::now();
    let presented = signature::inspect(
        &state.node().info.id,
        method.as_str(),
        uri.path(),
        uri.query(),
        &headers,
        &body,
        now,
    )
    .map_err(|e| HttpError::new(ErrorCode::Unauthenticated, format!("signed request refused: {e}")))?;
    if presented.key_id() != child.id {
        return Err(HttpError::new(
            ErrorCode::Unauthenticated,
            "the signature's keyid is not the joining node's id",
        ));
    }
    let key = signature::verifying_key(&child.public_key).expect("validated above");
    presented.verify(&key).map_err(|e| HttpError::new(ErrorCode::Unauthenticated, e.to_string()))?;
    // No nonce is kept: the token is single-use (taken by compare-and-set),
    // so a replayed join fails on it, and strangers cause no write.
    match state.store.join_child(&federation::token_hash(&request.token), child).await {
        Err(govdata_store::StoreError::NotFound(_)) => {
            Err(HttpError::field(ErrorCode::Unauthenticated, "token", "no such join token"))
        }
        Err(govdata_store::StoreError::Conflict(message)) => {
            Err(HttpError::field(ErrorCode::Conflict, "token", message))
        }
        other => {
            other?;
            Ok(Json(node_info(&state).await?))
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParentRequest {
    /// The parent's base URL; defaults to `node.parent_url` of the configuration.
    pub parent_url: Option<String>,
    /// The join token the parent's administrator issued for this node.
    pub token: String,
}

/// Joins this node to its parent (administrator of this node).
#[utoipa::path(post, path = "/api/v1/federation/parent", tag = "federation", request_body = ParentRequest,
    responses((status = 200, body = FederationNode), (status = 403, body = HttpError), (status = 422, body = HttpError),
              (status = 503, body = HttpError)))]
pub async fn join_parent(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(request): JsonBody<ParentRequest>,
) -> ApiResult<Json<FederationNode>> {
    principal.authorize(Action::ManageFederation)?;
    if request.token.trim().is_empty() {
        return Err(HttpError::invalid("token", "must not be empty"));
    }
    let url = request
        .parent_url
        .or_else(|| state.config.node.parent_url.clone())
        .ok_or_else(|| HttpError::invalid("parent_url", "required: node.parent_url is not configured"))?;
    let parent = federation::join_parent(
        &state.store,
        &state.node(),
        &state.config,
        &principal.actor,
        &url,
        &request.token,
    )
    .await?;
    Ok(Json(parent))
}

/// A batch of published catalog changes, as a child sends it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CascadeBatch {
    pub changes: Vec<CascadeChange>,
    /// How many more changes the sender holds after this batch.
    pub backlog: u64,
    /// The nodes below the sender, so changes of a node that joined below
    /// it since its last checkpoint are known to be its own.
    #[serde(default)]
    pub descendants: Vec<Descendant>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CascadeAnswer {
    /// The highest sender sequence of the batch: everything up to it is held.
    pub acked_seq: u64,
    /// Changes that were new here.
    pub applied: u64,
    /// Changes already held (a resent batch).
    pub skipped: u64,
}

/// Most changes accepted in one batch.
const MAX_BATCH: usize = 5000;

/// Receives published catalog changes from a child (signed).
#[utoipa::path(post, path = "/api/v1/federation/catalog", tag = "federation", request_body = CascadeBatch,
    responses((status = 200, body = CascadeAnswer), (status = 401, body = HttpError), (status = 403, body = HttpError),
              (status = 422, body = HttpError)))]
pub async fn receive_catalog(
    State(state): State<AppState>,
    signed: SignedRequest,
) -> ApiResult<Json<CascadeAnswer>> {
    let from = require_child(&signed.node)?;
    let batch: CascadeBatch = parse_json(&signed.body)?;
    if batch.changes.is_empty() || batch.changes.len() > MAX_BATCH {
        return Err(HttpError::invalid("changes", format!("must hold 1 to {MAX_BATCH} changes")));
    }
    record_descendants(&state, from, &batch.descendants).await?;
    let below: std::collections::HashSet<String> =
        batch.descendants.iter().map(|d| d.id.clone()).chain([from.id.clone()]).collect();
    for (i, change) in batch.changes.iter().enumerate() {
        check_change(from, &below, change)
            .map_err(|message| HttpError::invalid(format!("changes[{i}]"), message))?;
    }
    let relay = state.node().info.level != Level::National;
    let applied = state.catalog.apply_cascade(&from.id, &batch.changes, batch.backlog, relay).await?;
    metrics::counter!("govdata_federation_changes_applied_total").increment(applied.applied.len() as u64);
    Ok(Json(CascadeAnswer {
        acked_seq: applied.acked_seq,
        applied: applied.applied.len() as u64,
        skipped: applied.skipped as u64,
    }))
}

fn require_child(node: &FederationNode) -> Result<&FederationNode, HttpError> {
    if node.relation == NodeRelation::Child {
        Ok(node)
    } else {
        Err(HttpError::forbidden(format!("node {} is not a child of this node", node.id)))
    }
}

/// A change must come from the child's own subtree: its own entries, or
/// those of a node it reports below it (`below`: accepted by
/// [`record_descendants`], so inside its region and nobody else's).
fn check_change(
    from: &FederationNode,
    below: &std::collections::HashSet<String>,
    change: &CascadeChange,
) -> Result<(), String> {
    if !below.contains(&change.home.id) {
        return Err(format!("node {} is not below the sending node {}", change.home.id, from.id));
    }
    if change.home.id == from.id && change.home.region != from.region {
        return Err(format!("home region {} is not the sending node's {}", change.home.region, from.region));
    }
    if !divisions::contains(&from.region, &change.home.region) {
        return Err(format!(
            "home region {} is outside the sending node's region {}",
            change.home.region, from.region
        ));
    }
    if change.code.is_empty() || change.code.len() > 64 {
        return Err("the code must be 1 to 64 characters".into());
    }
    match (&change.action, &change.entry) {
        (govdata_store::CascadeAction::Publish, Some(entry)) if entry.code.to_string() == change.code => {
            Ok(())
        }
        (govdata_store::CascadeAction::Publish, Some(_)) => {
            Err("the entry's code is not the change's code".into())
        }
        (govdata_store::CascadeAction::Publish, None) => {
            Err("a publish change carries the published entry".into())
        }
        (govdata_store::CascadeAction::Withdraw, _) => Ok(()),
    }
}

/// Checks and keeps what a child reports below it: node ids inside its
/// region that are not this node, its parent, another child, or reached
/// through another child.
async fn record_descendants(
    state: &AppState,
    child: &FederationNode,
    reported: &[Descendant],
) -> ApiResult<()> {
    let known = state.store.federation_nodes().await?;
    for (i, node) in reported.iter().enumerate() {
        let field = format!("descendants[{i}]");
        federation::check_node_id(&format!("{field}.id"), &node.id)?;
        let refuse = |message: String| Err(HttpError::invalid(field.clone(), message));
        if node.id == state.node().info.id || known.iter().any(|n| n.id == node.id) {
            return refuse(format!("node {} cannot be below {}", node.id, child.id));
        }
        if state.store.route_via(&node.id).await?.is_some_and(|via| via != child.id) {
            return refuse(format!("node {} is reached through another child", node.id));
        }
        if !divisions::contains(&child.region, &node.region) {
            return refuse(format!("region {} is outside the child's region {}", node.region, child.region));
        }
        crate::routes::text_field(&format!("{field}.name"), &node.name, 100)?;
    }
    Ok(state.store.report_descendants(&child.id, reported).await?)
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckpointPresentation {
    /// The child's signed checkpoint note, as `GET /api/v1/ledger/checkpoint` serves it.
    pub checkpoint: String,
    /// The child's ledger hash: `sha256` or `sm3`.
    pub hash: String,
    /// The nodes below the child (its children and theirs), for routing.
    #[serde(default)]
    pub descendants: Vec<Descendant>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CosignAnswer {
    /// The checkpoint with this node's cosignature line appended.
    pub cosigned_checkpoint: String,
    pub size: u64,
}

/// Cosigns a child's checkpoint when it is consistent with the last one
/// cosigned (the proof is read from the child); flags the child when not.
#[utoipa::path(post, path = "/api/v1/federation/checkpoints", tag = "federation", request_body = CheckpointPresentation,
    responses((status = 200, body = CosignAnswer), (status = 401, body = HttpError), (status = 409, body = HttpError),
              (status = 422, body = HttpError)))]
pub async fn cosign_checkpoint(
    State(state): State<AppState>,
    signed: SignedRequest,
) -> ApiResult<Json<CosignAnswer>> {
    let child = require_child(&signed.node)?;
    let presentation: CheckpointPresentation = parse_json(&signed.body)?;
    record_descendants(&state, child, &presentation.descendants).await?;
    let hash: HashAlg =
        presentation.hash.parse().map_err(|_| HttpError::invalid("hash", "must be sha256 or sm3"))?;
    let key = signature::verifying_key(&child.public_key).ok_or_else(|| {
        HttpError::from(govdata_store::StoreError::Corrupt(format!("pinned key of {}", child.id)))
    })?;
    let origin = format!("govdata/{}", child.id);
    let log_key =
        VerifierKey::ed25519(&origin, key).map_err(|e| HttpError::invalid("checkpoint", e.to_string()))?;
    let (presented, _) =
        Checkpoint::open(&presentation.checkpoint, std::slice::from_ref(&log_key)).map_err(|e| {
            HttpError::invalid("checkpoint", format!("does not verify under node {}'s key: {e}", child.id))
        })?;
    let last = state.store.witnessed(&origin).await?.map(|w| w.checkpoint);
    let proof = match &last {
        Some(last) if last.size > 0 && last.size < presented.size => {
            let client = PeerClient::new(&state.node().key, &state.node().info.id);
            let path = format!("/api/v1/ledger/proof/consistency?from={}&to={}", last.size, presented.size);
            let proof: ConsistencyProof = client.get(&child.url, &path).await.map_err(peer_error)?;
            proof_from_hex(&proof.hashes)
                .map_err(|e| HttpError::invalid("checkpoint", format!("child's proof: {e}")))?
        }
        _ => Vec::new(),
    };
    let witness = Witness::new(state.store.ledger_origin(), state.node().key.clone(), hash, vec![log_key])
        .map_err(|e| HttpError::invalid("checkpoint", e.to_string()))?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    match witness.witness(last.as_ref(), &presentation.checkpoint, &proof, now) {
        Ok((cosigned, line)) => {
            state
                .store
                .record_cosigned(
                    &format!("node:{}", child.id),
                    last.as_ref(),
                    &cosigned,
                    &presentation.checkpoint,
                    &line,
                )
                .await?;
            Ok(Json(CosignAnswer {
                cosigned_checkpoint: add_signatures(&presentation.checkpoint, &[line]),
                size: cosigned.size,
            }))
        }
        Err(WitnessError::Note(e)) => Err(HttpError::invalid("checkpoint", e.to_string())),
        Err(refusal) => {
            let reason = refusal.to_string();
            tracing::error!(child = %child.id, %reason, "child's ledger history is inconsistent with what was cosigned");
            state.store.flag_witness_alarm(&child.id, &reason).await?;
            Err(HttpError::field(ErrorCode::Conflict, "checkpoint", format!("refused to cosign: {reason}")))
        }
    }
}

/// A joined node as the topology shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TopologyNode {
    #[serde(flatten)]
    pub node: FederationNode,
    /// Parent: changes of this node not yet acknowledged. Child: what it reported.
    pub backlog: u64,
    /// Child: its subtree's published entries held here.
    pub entries: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Topology {
    pub node: NodeInfo,
    pub nodes: Vec<TopologyNode>,
    /// Nodes below the children, as the children reported them.
    pub descendants: Vec<Descendant>,
    /// Published entries held here per home node (descendants only).
    pub federated_entries: Vec<NodeEntries>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NodeEntries {
    pub node_id: String,
    pub entries: u64,
}

/// This node, its parent and children: level, region, status, last sync, backlog.
#[utoipa::path(get, path = "/api/v1/federation/nodes", tag = "federation",
    responses((status = 200, body = Topology), (status = 401, body = HttpError)))]
pub async fn topology(State(state): State<AppState>, _principal: Principal) -> ApiResult<Json<Topology>> {
    let counts = state.store.federated_counts().await?;
    let by_child: std::collections::HashMap<String, u64> =
        state.store.federated_counts_by_child().await?.into_iter().collect();
    let mut nodes = Vec::new();
    for node in state.store.federation_nodes().await? {
        let (backlog, entries) = match node.relation {
            NodeRelation::Parent => (state.store.outbox_backlog(node.synced_seq).await?, 0),
            NodeRelation::Child => (node.reported_backlog, by_child.get(&node.id).copied().unwrap_or(0)),
        };
        nodes.push(TopologyNode { node, backlog, entries });
    }
    Ok(Json(Topology {
        node: node_info(&state).await?,
        nodes,
        descendants: state.store.descendants().await?,
        federated_entries: counts
            .into_iter()
            .map(|(node_id, entries)| NodeEntries { node_id, entries })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeStatusRequest {
    pub status: NodeStatus,
    /// Why (kept in the ledger).
    pub reason: String,
}

/// Suspends or resumes a joined node (administrator): a suspended node's
/// signed requests are refused, and nothing is sent to a suspended parent.
#[utoipa::path(post, path = "/api/v1/federation/nodes/{id}/status", tag = "federation", request_body = NodeStatusRequest,
    params(("id" = String, Path, description = "node id")),
    responses((status = 200, body = FederationNode), (status = 403, body = HttpError), (status = 404, body = HttpError)))]
pub async fn set_status(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<NodeStatusRequest>,
) -> ApiResult<Json<FederationNode>> {
    principal.authorize(Action::ManageFederation)?;
    let reason = crate::routes::text_field("reason", &request.reason, 500)?;
    Ok(Json(state.store.set_node_status(&principal.actor, &id, request.status, &reason).await?))
}

/// This node's key history: its key now and each rotation, signed by the
/// key it retired. Public, as the keys are: peers that pinned an older key
/// follow the chain from it.
#[utoipa::path(get, path = "/api/v1/federation/keys", tag = "federation",
    responses((status = 200, body = keys::KeyHistory)))]
pub async fn key_history(State(state): State<AppState>) -> ApiResult<Json<keys::KeyHistory>> {
    let node = state.node();
    Ok(Json(keys::KeyHistory {
        node_id: node.info.id.clone(),
        public_key: node.info.public_key.clone(),
        rotations: state.store.key_rotations().await?,
    }))
}

/// Rotates this node's key (administrator). The parent and children learn
/// the next key from the key history when they next receive a request
/// signed with it; bearer tokens issued under the retired key end.
#[utoipa::path(post, path = "/api/v1/federation/keys/rotate", tag = "federation",
    responses((status = 201, body = govdata_store::KeyRotation), (status = 403, body = HttpError)))]
pub async fn rotate_key(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<(StatusCode, Json<govdata_store::KeyRotation>)> {
    principal.authorize(Action::ManageFederation)?;
    Ok((StatusCode::CREATED, Json(keys::rotate(&state, &principal.actor).await?)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClearAlarmRequest {
    /// What the operator found and did (e.g. the child was restored from a
    /// backup and its history re-verified).
    pub reason: String,
}

/// Clears a child's witness alarm after it was looked into: the checkpoint
/// last cosigned for the child is forgotten (kept in the ledger entry), and
/// the history the child presents next is cosigned from there on.
#[utoipa::path(post, path = "/api/v1/federation/nodes/{id}/witness-alarm/clear", tag = "federation",
    request_body = ClearAlarmRequest, params(("id" = String, Path, description = "child node id")),
    responses((status = 200, body = FederationNode), (status = 403, body = HttpError), (status = 404, body = HttpError),
              (status = 409, body = HttpError), (status = 422, body = HttpError)))]
pub async fn clear_witness_alarm(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<ClearAlarmRequest>,
) -> ApiResult<Json<FederationNode>> {
    principal.authorize(Action::ManageFederation)?;
    let reason = crate::routes::text_field("reason", &request.reason, 500)?;
    let origin = format!("govdata/{id}");
    Ok(Json(state.store.clear_witness_alarm(&principal.actor, &id, &origin, &reason).await?))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WitnessView {
    /// The parent that cosigned; absent before this node joined one.
    pub parent: Option<String>,
    /// The last checkpoint the parent cosigned, with its cosignature line.
    pub checkpoint: Option<String>,
    /// The parent's witness key (C2SP tlog-cosignature v1) to verify it.
    pub witness_key: Option<String>,
}

/// The parent's latest cosignature of this node's ledger (public, like the checkpoint).
#[utoipa::path(get, path = "/api/v1/federation/witness", tag = "federation",
    responses((status = 200, body = WitnessView)))]
pub async fn witness(State(state): State<AppState>) -> ApiResult<Json<WitnessView>> {
    let Some(parent) = state.store.federation_parent().await? else {
        return Ok(Json(WitnessView { parent: None, checkpoint: None, witness_key: None }));
    };
    let witness_key = signature::verifying_key(&parent.public_key)
        .and_then(|key| VerifierKey::cosignature_v1(&format!("govdata/{}", parent.id), key).ok())
        .map(|key| key.to_string());
    Ok(Json(WitnessView { parent: Some(parent.id), checkpoint: parent.cosigned_checkpoint, witness_key }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FederatedEntryView {
    /// The node that owns the entry.
    pub home: HomeNode,
    pub provider_name: String,
    /// The child it arrived through.
    pub via_node: String,
    #[schema(value_type = Object)]
    pub entry: CatalogEntry,
}

/// A descendant node's published entry, as held in this node's one ledger.
#[utoipa::path(get, path = "/api/v1/federation/entries/{node}/{code}", tag = "federation",
    params(("node" = String, Path, description = "home node id"),
           ("code" = String, Path, description = "resource code, `/` percent-encoded")),
    responses((status = 200, body = FederatedEntryView), (status = 404, body = HttpError)))]
pub async fn federated_entry(
    State(state): State<AppState>,
    principal: Option<Principal>,
    Path((node, code)): Path<(String, String)>,
) -> ApiResult<Json<FederatedEntryView>> {
    let caller = principal.as_ref().map(caller);
    let held = state.catalog.federated_entry(caller.as_ref(), &node, &code).await?;
    Ok(Json(FederatedEntryView {
        home: held.home,
        provider_name: held.provider_name,
        via_node: held.via_node,
        entry: held.entry,
    }))
}

/// Carries an application, a status request or a gateway read to the node
/// that owns the entry, one hop at a time (signed by the previous hop).
#[utoipa::path(post, path = "/api/v1/federation/route", tag = "federation", request_body = routing::Envelope,
    responses((status = 200, description = "the owner's answer", body = Object), (status = 401, body = HttpError),
              (status = 403, body = HttpError), (status = 404, body = HttpError)))]
pub async fn route(State(state): State<AppState>, signed: SignedRequest) -> ApiResult<Json<Value>> {
    let envelope: routing::Envelope = parse_json(&signed.body)?;
    routing::check_origin(&state, &signed.node, &envelope.origin.node).await?;
    Ok(Json(routing::deliver(&state, envelope).await?))
}

/// Who an envelope speaks for: the caller's department, or this node as a
/// whole (the locality data is returned to).
enum Speaker {
    Department,
    Node,
}

/// The envelope origin for a caller of this node.
async fn origin(state: &AppState, principal: &Principal, speaker: Speaker) -> ApiResult<routing::Origin> {
    let info = &state.node().info;
    let (department_id, department_name, department_uscc, department_region) = match speaker {
        Speaker::Department => {
            let department = state.store.department(&principal.department_id).await?;
            (department.id, department.name, department.uscc, department.region)
        }
        Speaker::Node => (
            routing::NODE_DEPARTMENT.to_owned(),
            info.name.clone(),
            format!("node:{}", info.id),
            info.region.clone(),
        ),
    };
    Ok(routing::Origin {
        node: info.id.clone(),
        node_name: info.name.clone(),
        department_id,
        department_name,
        department_uscc,
        department_region,
        actor: principal.actor.clone(),
    })
}

async fn send(
    state: &AppState,
    principal: &Principal,
    speaker: Speaker,
    to: &str,
    operation: routing::Operation,
) -> ApiResult<Value> {
    federation::check_node_id("home_node", to)?;
    if to == state.node().info.id {
        return Err(HttpError::invalid("home_node", "is this node: use the sharing API"));
    }
    let envelope = routing::Envelope {
        to: to.to_owned(),
        origin: origin(state, principal, speaker).await?,
        hops: Vec::new(),
        operation,
    };
    routing::deliver(state, envelope).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoteApplyRequest {
    /// The node that owns the entries (a search hit's `node_id`).
    pub home_node: String,
    pub application: ApplyRequest,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RemoteApplicationView {
    pub application: RemoteApplication,
    /// The applications as the home node holds them now (status, steps, terms).
    #[schema(value_type = Vec<Object>)]
    pub at_home: Vec<Value>,
}

/// Applies for entries owned at another node: the application travels to
/// that node and is decided there under its rules (consumer role).
#[utoipa::path(post, path = "/api/v1/federation/applications", tag = "federation", request_body = RemoteApplyRequest,
    responses((status = 201, body = RemoteApplicationView), (status = 403, body = HttpError), (status = 404, body = HttpError),
              (status = 422, body = HttpError), (status = 503, body = HttpError)))]
pub async fn apply_remote(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(request): JsonBody<RemoteApplyRequest>,
) -> ApiResult<(StatusCode, Json<RemoteApplicationView>)> {
    principal.authorize(Action::UseOtherNodes)?;
    let body = serde_json::to_value(&request.application)
        .map_err(|e| HttpError::invalid("application", e.to_string()))?;
    let answer = send(
        &state,
        &principal,
        Speaker::Department,
        &request.home_node,
        routing::Operation::Apply { request: request.application },
    )
    .await?;
    let at_home: Vec<Value> = serde_json::from_value(answer).map_err(|e| {
        HttpError::new(ErrorCode::Unavailable, format!("the home node answered unexpectedly: {e}"))
    })?;
    let application = RemoteApplication {
        id: uuid::Uuid::new_v4().to_string(),
        home_node: request.home_node,
        consumer_department_id: principal.department_id.clone(),
        actor: principal.actor.clone(),
        request: body,
        remote_ids: at_home.iter().filter_map(|a| a["id"].as_str().map(str::to_owned)).collect(),
        created_at: govdata_store::timestamp::now(),
    };
    state.store.record_remote_application(&application).await?;
    Ok((StatusCode::CREATED, Json(RemoteApplicationView { application, at_home })))
}

/// The applications the caller's department sent to other nodes.
#[utoipa::path(get, path = "/api/v1/federation/applications", tag = "federation",
    responses((status = 200, body = Vec<RemoteApplication>), (status = 403, body = HttpError)))]
pub async fn remote_applications(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<Vec<RemoteApplication>>> {
    principal.authorize(Action::UseOtherNodes)?;
    Ok(Json(state.store.remote_applications(&principal.department_id).await?))
}

/// One application sent to another node, with its state there now.
#[utoipa::path(get, path = "/api/v1/federation/applications/{id}", tag = "federation",
    params(("id" = String, Path, description = "id of the application at this node")),
    responses((status = 200, body = RemoteApplicationView), (status = 403, body = HttpError), (status = 404, body = HttpError)))]
pub async fn remote_application(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<RemoteApplicationView>> {
    principal.authorize(Action::UseOtherNodes)?;
    let application = state.store.remote_application(&id).await?;
    if application.consumer_department_id != principal.department_id {
        return Err(HttpError::forbidden("an application is followed by the department that sent it"));
    }
    let mut at_home = Vec::new();
    for remote_id in &application.remote_ids {
        let operation = routing::Operation::Application { id: remote_id.clone() };
        at_home.push(send(&state, &principal, Speaker::Department, &application.home_node, operation).await?);
    }
    Ok(Json(RemoteApplicationView { application, at_home }))
}

/// The grants another node issued to the caller's department, as it holds them.
#[utoipa::path(get, path = "/api/v1/federation/grants/{node}", tag = "federation",
    params(("node" = String, Path, description = "the node that issued the grants")),
    responses((status = 200, description = "the owner's grants (GrantView)", body = Vec<Object>), (status = 403, body = HttpError),
              (status = 404, body = HttpError)))]
pub async fn remote_grants(
    State(state): State<AppState>,
    principal: Principal,
    Path(node): Path<String>,
) -> ApiResult<Json<Value>> {
    principal.authorize(Action::UseOtherNodes)?;
    Ok(Json(send(&state, &principal, Speaker::Department, &node, routing::Operation::Grants).await?))
}

/// Reads through a grant another node issued to the caller's department:
/// the owner's gateway answers (fields, rows, masking), both ledgers record it.
#[utoipa::path(post, path = "/api/v1/federation/grants/{node}/{id}/lookup", tag = "federation", request_body = LookupRequest,
    params(("node" = String, Path, description = "the node that issued the grant"), ("id" = String, Path, description = "grant id")),
    responses((status = 200, description = "the owner's gateway answer (LookupAnswer)", body = Object),
              (status = 403, body = HttpError), (status = 422, body = HttpError), (status = 429, body = HttpError)))]
pub async fn remote_lookup(
    State(state): State<AppState>,
    principal: Principal,
    Path((node, id)): Path<(String, String)>,
    JsonBody(request): JsonBody<LookupRequest>,
) -> ApiResult<Json<Value>> {
    principal.authorize(Action::UseOtherNodes)?;
    Ok(Json(lookup_at(&state, &principal, Speaker::Department, &node, id, request).await?))
}

/// Routes a gateway lookup to `node` and records it here, served or refused,
/// before answering.
async fn lookup_at(
    state: &AppState,
    principal: &Principal,
    speaker: Speaker,
    node: &str,
    grant_id: String,
    request: LookupRequest,
) -> ApiResult<Value> {
    let asked = json!({"keys": request.keys.len()});
    let operation = routing::Operation::Lookup { grant_id: grant_id.clone(), request };
    let read = RoutedRead { kind: "federation.remote_lookup", node, grant_id: &grant_id, asked };
    read.send(state, principal, speaker, operation, |answer| {
        answer["results"]
            .as_array()
            .map_or(0, |r| r.iter().map(|k| k["rows"].as_array().map_or(0, Vec::len)).sum::<usize>())
    })
    .await
}

/// A gateway read at another node, recorded in this node's ledger too.
struct RoutedRead<'a> {
    /// The ledger kind of this node's record.
    kind: &'a str,
    node: &'a str,
    grant_id: &'a str,
    /// What was asked, as recorded.
    asked: Value,
}

impl RoutedRead<'_> {
    /// Sends `operation` and records here, served or refused, how many rows
    /// came back, before answering.
    async fn send(
        self,
        state: &AppState,
        principal: &Principal,
        speaker: Speaker,
        operation: routing::Operation,
        rows: impl FnOnce(&Value) -> usize,
    ) -> ApiResult<Value> {
        let answer = send(state, principal, speaker, self.node, operation).await;
        let mut outcome = json!({"home_node": self.node, "asked": self.asked});
        match &answer {
            Ok(value) => {
                outcome["outcome"] = json!("served");
                outcome["rows"] = json!(rows(value));
            }
            Err(error) => {
                outcome["outcome"] = json!("refused");
                outcome["error"] = json!({"code": error.code, "message": error.message});
            }
        }
        state
            .store
            .record_access(LedgerRecord::new(&principal.actor, self.kind, self.grant_id, outcome))
            .await?;
        answer
    }
}

/// 订阅 (pull) through a grant another node issued to the caller's
/// department: the owner's change feed answers (granted items, its row
/// filter and masking, its quotas); both ledgers record the read. Long
/// polling (`wait_seconds`) waits at the owner.
#[utoipa::path(get, path = "/api/v1/federation/grants/{node}/{id}/changes", tag = "federation",
    params(("node" = String, Path, description = "the node that issued the grant"), ("id" = String, Path, description = "grant id"),
           ChangesQuery),
    responses((status = 200, description = "the owner's page of changes (ChangesPage)", body = Object),
              (status = 403, body = HttpError), (status = 409, body = HttpError), (status = 422, body = HttpError),
              (status = 429, body = HttpError)))]
pub async fn remote_changes(
    State(state): State<AppState>,
    principal: Principal,
    Path((node, id)): Path<(String, String)>,
    Query(query): Query<ChangesQuery>,
) -> ApiResult<Json<Value>> {
    principal.authorize(Action::UseOtherNodes)?;
    let asked = json!({"cursor": query.cursor, "limit": query.limit});
    let read = RoutedRead { kind: "federation.remote_changes", node: &node, grant_id: &id, asked };
    let operation = routing::Operation::Changes { grant_id: id.clone(), query };
    let page = read
        .send(&state, &principal, Speaker::Department, operation, |page| {
            page["changes"].as_array().map_or(0, Vec::len)
        })
        .await?;
    Ok(Json(page))
}

/// 订阅 (push) through a grant another node issued to the caller's
/// department: the owner posts the changes to the webhook, signed with the
/// secret in this answer (shown once). The webhook must be reachable from
/// the owner's node.
#[utoipa::path(post, path = "/api/v1/federation/grants/{node}/{id}/subscriptions", tag = "federation",
    request_body = SubscribeRequest,
    params(("node" = String, Path, description = "the node that issued the grant"), ("id" = String, Path, description = "grant id")),
    responses((status = 201, description = "the subscription at the owner (SubscriptionView)", body = Object),
              (status = 403, body = HttpError), (status = 409, body = HttpError), (status = 422, body = HttpError)))]
pub async fn remote_subscribe(
    State(state): State<AppState>,
    principal: Principal,
    Path((node, id)): Path<(String, String)>,
    JsonBody(request): JsonBody<SubscribeRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    principal.authorize(Action::UseOtherNodes)?;
    let operation = routing::Operation::Subscribe { grant_id: id, request };
    let view = send(&state, &principal, Speaker::Department, &node, operation).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// The caller's department's webhook subscriptions at another node, as that
/// node holds them.
#[utoipa::path(get, path = "/api/v1/federation/subscriptions/{node}", tag = "federation",
    params(("node" = String, Path, description = "the node that delivers"), SubscriptionsParams),
    responses((status = 200, description = "the owner's subscriptions (SubscriptionView)", body = Vec<Object>),
              (status = 403, body = HttpError), (status = 404, body = HttpError)))]
pub async fn remote_subscriptions(
    State(state): State<AppState>,
    principal: Principal,
    Path(node): Path<String>,
    Query(params): Query<SubscriptionsParams>,
) -> ApiResult<Json<Value>> {
    principal.authorize(Action::UseOtherNodes)?;
    let operation = routing::Operation::Subscriptions { grant_id: params.grant_id };
    Ok(Json(send(&state, &principal, Speaker::Department, &node, operation).await?))
}

/// Ends one of the caller's department's subscriptions at another node.
#[utoipa::path(delete, path = "/api/v1/federation/subscriptions/{node}/{id}", tag = "federation",
    params(("node" = String, Path, description = "the node that delivers"), ("id" = String, Path, description = "subscription id")),
    responses((status = 200, description = "the closed subscription (SubscriptionView)", body = Object),
              (status = 403, body = HttpError), (status = 404, body = HttpError), (status = 409, body = HttpError)))]
pub async fn remote_unsubscribe(
    State(state): State<AppState>,
    principal: Principal,
    Path((node, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    principal.authorize(Action::UseOtherNodes)?;
    Ok(Json(
        send(&state, &principal, Speaker::Department, &node, routing::Operation::Unsubscribe { id }).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnRequest {
    /// The child (or a node below it) the data is returned to.
    pub node: String,
    /// One of this node's published entries with data.
    pub entry_code: String,
    pub items: Vec<String>,
    /// The item holding a GB/T 2260 region code: only rows inside the
    /// node's region are returned.
    pub region_item: String,
    /// The law or regulation the return rests on.
    pub legal_basis: String,
    /// How long the standing grant lasts (renewable).
    pub duration_days: u32,
}

/// Returns data to a locality (数据回流): a standing grant of this node's
/// entry to a node below it, filtered to that node's region (data authority).
#[utoipa::path(post, path = "/api/v1/federation/returns", tag = "federation", request_body = ReturnRequest,
    responses((status = 201, description = "the approved application and its grant", body = Vec<Object>),
              (status = 403, body = HttpError), (status = 404, body = HttpError), (status = 422, body = HttpError)))]
pub async fn return_data(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(request): JsonBody<ReturnRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    principal.authorize(Action::ReturnData)?;
    let child = state
        .store
        .federation_nodes()
        .await?
        .into_iter()
        .find(|n| n.relation == NodeRelation::Child && n.id == request.node);
    let (name, region) = match child {
        Some(child) => (child.name, child.region),
        None => match state.store.descendants().await?.into_iter().find(|d| d.id == request.node) {
            Some(descendant) => (descendant.name, descendant.region),
            None => {
                return Err(HttpError::field(
                    ErrorCode::NotFound,
                    "node",
                    format!("node {} is not below this node", request.node),
                ))
            }
        },
    };
    if region == crate::config::NATIONAL_REGION {
        return Err(HttpError::invalid("node", "serves the whole country: there is no region to filter by"));
    }
    let department = state
        .store
        .remote_department(
            &principal.actor,
            NewDepartment {
                name: name.clone(),
                uscc: format!("node:{}", request.node),
                region: region.clone(),
            },
            (&request.node, routing::NODE_DEPARTMENT),
        )
        .await?;
    let wanted = EntryWanted {
        entry_code: request.entry_code,
        items: request.items,
        row_filter: Some(RowFilter {
            item: request.region_item,
            prefixes: vec![divisions::prefix(&region).to_owned()],
        }),
    };
    let application = ApplyRequest {
        entries: vec![wanted],
        purpose: format!("数据回流：向{name}返还其辖区（{region}）的数据"),
        legal_basis: request.legal_basis,
        duration_days: request.duration_days,
        delivery: vec![DeliveryMode::Lookup, DeliveryMode::Batch],
        daily_quota: None,
        rate_per_second: None,
    };
    let views =
        state.sharing.return_data(&caller(&principal), &department.id, application).await.map_err(|e| {
            // The request names `entry_code`, `items` and `region_item` itself.
            let mut error = HttpError::from(e);
            error.field = error
                .field
                .map(|f| f.trim_start_matches("entries[0].").replace("row_filter.item", "region_item"));
            error
        })?;
    let views =
        serde_json::to_value(views).map_err(|e| HttpError::new(ErrorCode::Internal, e.to_string()))?;
    Ok((StatusCode::CREATED, Json(views)))
}

/// The data an ancestor returned to this node: its standing grants to this node.
#[utoipa::path(get, path = "/api/v1/federation/returns/{node}", tag = "federation",
    params(("node" = String, Path, description = "the ancestor that returned the data")),
    responses((status = 200, description = "the ancestor's grants to this node (GrantView)", body = Vec<Object>),
              (status = 403, body = HttpError), (status = 404, body = HttpError)))]
pub async fn returned(
    State(state): State<AppState>,
    principal: Principal,
    Path(node): Path<String>,
) -> ApiResult<Json<Value>> {
    principal.authorize(Action::ReturnData)?;
    Ok(Json(send(&state, &principal, Speaker::Node, &node, routing::Operation::Grants).await?))
}

/// Reads returned data through the ancestor's gateway (its row filter keeps
/// it to this node's region); both ledgers record it.
#[utoipa::path(post, path = "/api/v1/federation/returns/{node}/{id}/lookup", tag = "federation", request_body = LookupRequest,
    params(("node" = String, Path, description = "the ancestor that returned the data"), ("id" = String, Path, description = "grant id")),
    responses((status = 200, description = "the ancestor's gateway answer (LookupAnswer)", body = Object),
              (status = 403, body = HttpError), (status = 422, body = HttpError)))]
pub async fn returned_lookup(
    State(state): State<AppState>,
    principal: Principal,
    Path((node, id)): Path<(String, String)>,
    JsonBody(request): JsonBody<LookupRequest>,
) -> ApiResult<Json<Value>> {
    principal.authorize(Action::ReturnData)?;
    Ok(Json(lookup_at(&state, &principal, Speaker::Node, &node, id, request).await?))
}
