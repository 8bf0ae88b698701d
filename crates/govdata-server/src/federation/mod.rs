//! Federation "1+32+N" (DESIGN.md §5): how this node talks to its parent and
//! children.
//!
//! ```text
//! child                                             parent
//!  catalog change ─┐ same transaction
//!  outbox row ─────┘
//!  sync task ── POST /api/v1/federation/catalog ──▶ SignedRequest (RFC 9421,
//!     (signed batch, acked sequence back)            pinned key, nonce)
//!                                                   apply_cascade: newer home_seq
//!                                                   wins; relay into own outbox;
//!                                                   search projection
//!  sync task ── POST /api/v1/federation/checkpoints ▶ consistency proof pulled
//!     (cosigned checkpoint back)                     from the child; cosign or flag
//! ```
//!
//! A child joins with a one-time token its parent's administrator issued
//! ([`join_parent`]); from then on every request between them is signed by
//! the sender's node key and checked against the key pinned at join.

pub mod client;
pub mod keys;
pub mod routing;
pub mod signature;
pub mod sync;

use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};

use govdata_model::org::{Level, NodeInfo};
use govdata_model::validate::divisions;
use govdata_model::ErrorCode;
use govdata_store::{
    FederationNode, HomeNode, NewFederationNode, NewJoinToken, NodeStatus, Store, StoreError,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::error::HttpError;
use crate::identity::NodeIdentity;
use crate::state::AppState;
use client::{PeerClient, PeerError};

/// A request from a joined node whose signature, key, freshness and nonce
/// were checked; the body is the exact bytes that were signed.
pub struct SignedRequest {
    pub node: FederationNode,
    pub body: Bytes,
}

/// Largest body of a node-to-node request: catalog batches are far bigger
/// than what people send (`server.max_body_bytes`). Senders stay under
/// [`sync::MAX_BATCH_BYTES`].
pub const MAX_SIGNED_BODY: usize = 16 * 1024 * 1024;

fn unauthenticated(message: impl Into<String>) -> HttpError {
    HttpError::new(ErrorCode::Unauthenticated, message)
}

impl FromRequest<AppState> for SignedRequest {
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, HttpError> {
        let (parts, body) = req.into_parts();
        // Only a joined, active node's body is kept. Anyone else's is read
        // up to what people may send and dropped before the refusal: a
        // response sent over an unread body ends in a reset connection,
        // which the sender sees instead of the refusal.
        let known = match signature::claimed_key_id(&parts.headers) {
            Some(claimed) => known_node(state, &claimed).await,
            None => {
                Err(unauthenticated("signed request refused: missing or malformed signature-input header"))
            }
        };
        let mut node = match known {
            Ok(node) => node,
            Err(refused) => {
                let _ = axum::body::to_bytes(body, state.config.server.max_body_bytes).await;
                return Err(refused);
            }
        };
        let bytes = axum::body::to_bytes(body, MAX_SIGNED_BODY).await.map_err(|_| {
            HttpError::new(
                ErrorCode::PayloadTooLarge,
                format!("a signed request carries at most {MAX_SIGNED_BODY} bytes"),
            )
        })?;
        let now = SystemTime::now();
        let presented = signature::inspect(
            &state.node().info.id,
            parts.method.as_str(),
            parts.uri.path(),
            parts.uri.query(),
            &parts.headers,
            &bytes,
            now,
        )
        .map_err(|e| unauthenticated(format!("signed request refused: {e}")))?;
        if presented.key_id() != node.id {
            return Err(unauthenticated("signed request refused: ambiguous key id"));
        }
        if let Err(refused) = presented.verify(&pinned_key(&node)?) {
            // The node may have rotated its key since: follow its key history.
            node =
                keys::refresh_pin(state, &node).await.ok_or_else(|| unauthenticated(refused.to_string()))?;
            presented.verify(&pinned_key(&node)?).map_err(|e| unauthenticated(e.to_string()))?;
        }
        remember_nonce(&state.store, &node.id, presented.nonce(), now).await?;
        Ok(SignedRequest { node, body: bytes })
    }
}

fn pinned_key(node: &FederationNode) -> Result<ed25519_dalek::VerifyingKey, HttpError> {
    signature::verifying_key(&node.public_key)
        .ok_or_else(|| HttpError::from(StoreError::Corrupt(format!("pinned key of node {}", node.id))))
}

/// The joined node `id`, refused when unknown or suspended.
async fn known_node(state: &AppState, id: &str) -> Result<FederationNode, HttpError> {
    let node = match state.store.federation_node(id).await {
        Err(StoreError::NotFound(_)) => {
            return Err(unauthenticated(format!("node {id} has not joined this node")))
        }
        other => other?,
    };
    if node.status == NodeStatus::Suspended {
        return Err(HttpError::forbidden(format!("node {} is suspended", node.id)));
    }
    Ok(node)
}

/// Refuses a nonce seen before from `node_id`, remembering it for the window.
pub async fn remember_nonce(
    store: &Store,
    node_id: &str,
    nonce: &str,
    now: SystemTime,
) -> Result<(), HttpError> {
    let forget = time::OffsetDateTime::from(now - 2 * signature::WINDOW);
    match store.remember_nonce(node_id, nonce, &govdata_store::timestamp::format(forget)).await {
        Err(StoreError::Conflict(message)) => {
            Err(unauthenticated(format!("replayed request refused: {message}")))
        }
        other => Ok(other?),
    }
}

/// This node as the home of its own catalog changes.
pub fn local_home(node: &NodeInfo) -> HomeNode {
    HomeNode { id: node.id.clone(), name: node.name.clone(), region: node.region.clone() }
}

/// Hash under which a join token is stored (the token itself is shown once).
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

/// A child's request to join: the token and who it is. The request is signed
/// with the key it names, which proves the child holds it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    pub token: String,
    pub node: JoiningNode,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoiningNode {
    pub id: String,
    pub name: String,
    pub level: Level,
    pub region: String,
    /// Where the parent reaches the child (consistency proofs, later requests).
    pub url: String,
    /// Base64 of the raw Ed25519 public key.
    pub public_key: String,
}

/// Levels from the top: a child sits strictly below its parent.
fn depth(level: Level) -> u8 {
    match level {
        Level::National => 0,
        Level::Provincial => 1,
        Level::City => 2,
        Level::County => 3,
        Level::Department => 4,
    }
}

/// A node id: what ledger origins (`govdata/<id>`) and keys may carry.
pub fn check_node_id(field: &str, id: &str) -> Result<(), HttpError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(HttpError::invalid(field, "must be 1 to 64 of a-z, 0-9, '-', '_' and '.'"))
    }
}

fn check_url(field: &str, url: &str) -> Result<(), HttpError> {
    match reqwest::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => Ok(()),
        _ => Err(HttpError::invalid(field, "must be an http:// or https:// URL")),
    }
}

impl JoinRequest {
    /// Checks the fields against the parent (`this`): the child is below it
    /// and inside its region.
    pub fn validate(&self, this: &NodeInfo) -> Result<NewFederationNode, HttpError> {
        if self.token.trim().is_empty() {
            return Err(HttpError::invalid("token", "must not be empty"));
        }
        check_node_id("node.id", &self.node.id)?;
        if self.node.id == this.id {
            return Err(HttpError::invalid("node.id", "is this node's own id"));
        }
        let name = crate::routes::text_field("node.name", &self.node.name, 100)?;
        let region = child_scope(this, self.node.level, &self.node.region, "node.")?;
        check_url("node.url", &self.node.url)?;
        if signature::verifying_key(&self.node.public_key).is_none() {
            return Err(HttpError::invalid(
                "node.public_key",
                "must be base64 of a 32-byte Ed25519 public key",
            ));
        }
        Ok(NewFederationNode {
            id: self.node.id.clone(),
            name,
            level: self.node.level.as_str().to_owned(),
            region,
            url: self.node.url.trim_end_matches('/').to_owned(),
            public_key: self.node.public_key.clone(),
        })
    }
}

/// Joins this node to the parent at `parent_url` with a join token: reads
/// the parent's identity, sends a join request signed with this node's key,
/// checks the parent answered with the identity it published, and pins it.
pub async fn join_parent(
    store: &Store,
    node: &NodeIdentity,
    config: &Config,
    actor: &str,
    parent_url: &str,
    token: &str,
) -> Result<FederationNode, HttpError> {
    check_url("parent_url", parent_url)?;
    if node.info.level == Level::National {
        return Err(HttpError::invalid("parent_url", "the national hub has no parent"));
    }
    let base = parent_url.trim_end_matches('/');
    let client = PeerClient::new(&node.key, &node.info.id);
    let published: NodeInfo = client.get(base, "/api/v1/node").await.map_err(peer_error)?;
    let request = JoinRequest {
        token: token.trim().to_owned(),
        node: JoiningNode {
            id: node.info.id.clone(),
            name: node.info.name.clone(),
            level: node.info.level,
            region: node.info.region.clone(),
            url: config.public_url(),
            public_key: node.info.public_key.clone(),
        },
    };
    let answered: NodeInfo =
        client.post(&published.id, base, "/api/v1/federation/join", &request).await.map_err(peer_error)?;
    if answered != published {
        return Err(HttpError::new(
            ErrorCode::Conflict,
            format!(
                "the node at {base} answered the join as {} but publishes itself as {}",
                answered.id, published.id
            ),
        ));
    }
    Ok(store
        .set_parent(
            actor,
            NewFederationNode {
                id: answered.id,
                name: answered.name,
                level: answered.level.as_str().to_owned(),
                region: answered.region,
                url: base.to_owned(),
                public_key: answered.public_key,
            },
        )
        .await?)
}

/// A peer's refusal keeps its code and message; an unreachable peer is 503.
/// The other node's refusal keeps its message and field. A refusal to
/// authenticate is between the nodes, not about the caller here, so it never
/// reaches the caller as 401 (which would end a portal session): it names
/// the field that was wrong, else the other node is unavailable to it.
pub fn peer_error(error: PeerError) -> HttpError {
    match error {
        PeerError::Refused { code: ErrorCode::Unauthenticated, message, field: Some(field), .. } => {
            HttpError::field(ErrorCode::InvalidInput, field, message)
        }
        PeerError::Refused { code: ErrorCode::Unauthenticated, message, field: None, .. } => {
            HttpError::new(ErrorCode::Unavailable, format!("the other node refused this node: {message}"))
        }
        PeerError::Refused { code, message, field, .. } => HttpError { code, message, field },
        other => HttpError::new(ErrorCode::Unavailable, other.to_string()),
    }
}

/// A child's level and region, checked against this node: a lower level,
/// a region inside this node's. Answers the region in canonical form;
/// `prefix` goes before the field names (`node.` for a join request).
fn child_scope(this: &NodeInfo, level: Level, region: &str, prefix: &str) -> Result<String, HttpError> {
    if depth(level) <= depth(this.level) {
        return Err(HttpError::invalid(
            format!("{prefix}level"),
            format!("a {} node cannot join a {} node", level.as_str(), this.level.as_str()),
        ));
    }
    let region = crate::routes::region_field(&format!("{prefix}region"), region)?;
    if !divisions::contains(&this.region, &region) {
        return Err(HttpError::invalid(
            format!("{prefix}region"),
            format!("is not inside this node's region {}", this.region),
        ));
    }
    Ok(region)
}

/// A join token as issued to the administrator of the child.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JoinToken {
    /// Shown once; only its hash is kept.
    pub token: String,
    pub node_id: String,
    /// The level and region the joining node must declare.
    pub level: Level,
    pub region: String,
    pub expires_at: String,
}

/// Issues a one-time token with which child `node_id`, of `level` and
/// `region`, may join this node, valid for `federation.join_token_hours`.
pub async fn issue_join_token(
    store: &Store,
    node: &NodeIdentity,
    config: &Config,
    actor: &str,
    node_id: &str,
    level: Level,
    region: &str,
) -> Result<JoinToken, HttpError> {
    check_node_id("node_id", node_id)?;
    if node_id == node.info.id {
        return Err(HttpError::invalid("node_id", "is this node's own id"));
    }
    let region = child_scope(&node.info, level, region, "")?;
    let token = format!("gdj_{}", hex::encode(rand::random::<[u8; 24]>()));
    let ttl = time::Duration::hours(i64::from(config.federation.join_token_hours));
    let expires_at = govdata_store::timestamp::after(ttl);
    let new = NewJoinToken {
        node_id: node_id.to_owned(),
        level: level.as_str().to_owned(),
        region: region.clone(),
        token_hash: token_hash(&token),
        expires_at: expires_at.clone(),
    };
    store.create_join_token(actor, &new).await?;
    Ok(JoinToken { token, node_id: node_id.to_owned(), level, region, expires_at })
}
