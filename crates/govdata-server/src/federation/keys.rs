//! Rotating the node key in place (DESIGN.md §5).
//!
//! A rotation is a statement — node id, retired key, next key, time — signed
//! by the retired key, kept in the node's store with its ledger entry and
//! published at `GET /api/v1/federation/keys`. The chain of statements leads
//! from any key the node ever had to its current one, so no peer has to be
//! online when the key changes: a peer whose pinned key no longer verifies a
//! node's signed request fetches the chain from that node's URL, follows it
//! from the pinned key, pins the key it ends at (a `federation.key_rotated`
//! ledger entry) and checks the request again.
//!
//! ```text
//! rotate: next key ─▶ <key file>.next (synced)
//!         statement signed by the retired key ─▶ store + ledger (one transaction)
//!         <key file>.next ─rename─▶ <key file>; the running node switches keys
//! ```
//!
//! A crash between the store commit and the rename is finished at the next
//! start; before the commit, the next key is discarded and nothing changed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier};
use govdata_store::{FederationNode, KeyRotation, Store};
use serde::{Deserialize, Serialize};

use super::client::PeerClient;
use super::signature::verifying_key;
use crate::config::Config;
use crate::error::HttpError;
use crate::identity::{self, NodeIdentity};
use crate::state::AppState;

/// A node's keys as it publishes them: the current one and every rotation.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KeyHistory {
    pub node_id: String,
    /// Base64 of the raw Ed25519 public key in use.
    pub public_key: String,
    /// Oldest first; each signed by the key it retired.
    pub rotations: Vec<KeyRotation>,
}

/// The bytes a retiring key signs.
fn statement(node_id: &str, previous_key: &str, public_key: &str, rotated_at: &str) -> Vec<u8> {
    format!("govdata key rotation v1\n{node_id}\n{previous_key}\n{public_key}\n{rotated_at}\n").into_bytes()
}

/// Whether `rotation` was signed by the key it retires.
fn signed_by_previous(node_id: &str, rotation: &KeyRotation) -> bool {
    let Some(previous) = verifying_key(&rotation.previous_key) else { return false };
    let Ok(signature) = STANDARD.decode(&rotation.signature) else { return false };
    let Ok(signature) = Signature::from_slice(&signature) else { return false };
    let message = statement(node_id, &rotation.previous_key, &rotation.public_key, &rotation.rotated_at);
    previous.verify(&message, &signature).is_ok()
}

/// The key `history` leads to from `pinned`, following only rotations each
/// signed by the key before; `None` when the chain does not pass `pinned`
/// or a link does not verify.
pub fn follow(history: &KeyHistory, pinned: &str) -> Option<String> {
    let mut key = pinned.to_owned();
    let start = history.rotations.iter().position(|r| r.previous_key == pinned);
    if let Some(start) = start {
        for rotation in &history.rotations[start..] {
            if rotation.previous_key != key || !signed_by_previous(&history.node_id, rotation) {
                return None;
            }
            key = rotation.public_key.clone();
        }
    }
    (key == history.public_key).then_some(key)
}

/// Every public key this node has had, oldest first (the ledger's
/// checkpoints are verified against all of them).
pub async fn all_keys(store: &Store, node: &NodeIdentity) -> Result<Vec<String>, govdata_store::StoreError> {
    let rotations = store.key_rotations().await?;
    let mut keys: Vec<String> = rotations.first().map(|r| r.previous_key.clone()).into_iter().collect();
    keys.extend(rotations.into_iter().map(|r| r.public_key));
    if keys.last() != Some(&node.info.public_key) {
        keys.push(node.info.public_key.clone());
    }
    Ok(keys)
}

/// One rotation at a time per process.
static ROTATING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Rotates the node key: the statement is committed, the key file replaced
/// and the running node switched to the next key. Bearer tokens issued under
/// the retired key stop working; API keys and sessions do not.
pub async fn rotate(state: &AppState, actor: &str) -> Result<KeyRotation, HttpError> {
    let _one = ROTATING.lock().await;
    let node = state.node();
    let config = &state.config;
    let next = SigningKey::generate(&mut rand::rngs::OsRng);
    // A leftover of an attempt that failed before its commit.
    let _ = std::fs::remove_file(identity::next_key_file(config));
    identity::write_key(&identity::next_key_file(config), &next).map_err(config_error)?;
    let rotated_at = govdata_store::timestamp::now();
    let public_key = identity::public_key(&next);
    let message = statement(&node.info.id, &node.info.public_key, &public_key, &rotated_at);
    let rotation = KeyRotation {
        previous_key: node.info.public_key.clone(),
        public_key,
        rotated_at,
        signature: STANDARD.encode(node.key.sign(&message).to_bytes()),
    };
    if let Err(error) = state.store.record_key_rotation(actor, &rotation).await {
        let _ = std::fs::remove_file(identity::next_key_file(config));
        return Err(error.into());
    }
    identity::promote_next_key(config).map_err(config_error)?;
    state.set_node(node.with_key(next));
    tracing::info!(public_key = %rotation.public_key, "node key rotated");
    Ok(rotation)
}

fn config_error(error: crate::config::ConfigError) -> HttpError {
    HttpError::new(govdata_model::ErrorCode::Internal, error.to_string())
}

/// At start: a next key whose rotation was committed becomes the node key;
/// one whose rotation was not is discarded.
pub async fn finish_interrupted_rotation(
    store: &Store,
    config: &Config,
    node: NodeIdentity,
) -> anyhow::Result<NodeIdentity> {
    let Some(next) = identity::load_next_key(config)? else {
        return Ok(node);
    };
    let committed =
        store.key_rotations().await?.last().is_some_and(|r| r.public_key == identity::public_key(&next));
    if committed {
        identity::promote_next_key(config)?;
        tracing::warn!("finished a key rotation a stop interrupted");
        Ok(node.with_key(next))
    } else {
        std::fs::remove_file(identity::next_key_file(config))?;
        tracing::warn!("discarded the next key of a rotation that was never committed");
        Ok(node)
    }
}

/// How often a peer's key history may be fetched: a request that fails
/// under the pinned key makes this node call the peer, which an attacker
/// could otherwise repeat at will.
const REFRESH_INTERVAL: Duration = Duration::from_secs(10);

/// When each peer's key history was last fetched.
#[derive(Debug, Default)]
pub struct RefreshLimiter(Mutex<HashMap<String, Instant>>);

impl RefreshLimiter {
    fn allow(&self, node_id: &str) -> bool {
        let mut last = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        match last.get(node_id) {
            Some(at) if now.duration_since(*at) < REFRESH_INTERVAL => false,
            _ => {
                last.insert(node_id.to_owned(), now);
                true
            }
        }
    }
}

/// Fetches `node`'s key history from its URL and pins the key it leads to
/// from the pinned one; answers the node as now pinned, or `None` when
/// nothing newer could be established.
pub async fn refresh_pin(state: &AppState, node: &FederationNode) -> Option<FederationNode> {
    if !state.key_refreshes.allow(&node.id) {
        return None;
    }
    let this = state.node();
    let client = PeerClient::new(&this.key, &this.info.id);
    let history: KeyHistory = match client.get(&node.url, "/api/v1/federation/keys").await {
        Ok(history) => history,
        Err(error) => {
            tracing::warn!(node = %node.id, %error, "could not fetch the node's key history");
            return None;
        }
    };
    if history.node_id != node.id || history.public_key == node.public_key {
        return None;
    }
    let Some(key) = follow(&history, &node.public_key) else {
        tracing::warn!(node = %node.id, "the node's key history does not lead from its pinned key");
        return None;
    };
    let actor = format!("node:{}", node.id);
    match state.store.rotate_node_key(&actor, &node.id, &node.public_key, &key).await {
        Ok(_) => state.store.federation_node(&node.id).await.ok(),
        Err(error) => {
            tracing::warn!(node = %node.id, %error, "could not pin the node's next key");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rotation(node_id: &str, from: &SigningKey, to: &SigningKey) -> KeyRotation {
        let (previous_key, public_key) = (identity::public_key(from), identity::public_key(to));
        let rotated_at = "2026-11-26T00:00:00Z".to_owned();
        let signature = from.sign(&statement(node_id, &previous_key, &public_key, &rotated_at));
        KeyRotation { previous_key, public_key, rotated_at, signature: STANDARD.encode(signature.to_bytes()) }
    }

    #[test]
    fn a_chain_is_followed_only_from_a_pinned_key_through_signed_links() {
        let keys: Vec<SigningKey> = (0..3).map(|_| SigningKey::generate(&mut rand::rngs::OsRng)).collect();
        let history = KeyHistory {
            node_id: "gd".into(),
            public_key: identity::public_key(&keys[2]),
            rotations: vec![rotation("gd", &keys[0], &keys[1]), rotation("gd", &keys[1], &keys[2])],
        };
        let newest = Some(identity::public_key(&keys[2]));
        assert_eq!(follow(&history, &identity::public_key(&keys[0])), newest);
        assert_eq!(follow(&history, &identity::public_key(&keys[1])), newest);
        assert_eq!(follow(&history, &identity::public_key(&keys[2])), newest);

        let stranger = SigningKey::generate(&mut rand::rngs::OsRng);
        assert_eq!(follow(&history, &identity::public_key(&stranger)), None, "a key the node never had");

        let mut forged = history.clone();
        forged.rotations[1] = rotation("gd", &stranger, &keys[2]);
        forged.rotations[1].previous_key = identity::public_key(&keys[1]);
        assert_eq!(follow(&forged, &identity::public_key(&keys[0])), None, "a link not signed by its key");

        let mut other_node = history.clone();
        other_node.node_id = "hb".into();
        assert_eq!(follow(&other_node, &identity::public_key(&keys[0])), None, "statements name the node");
    }
}
