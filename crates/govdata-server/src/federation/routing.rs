//! Requests that travel the tree to the node that owns an entry: a consumer
//! at node A applies for, follows, reads through, and subscribes to the
//! changes of the grant of an entry owned at node B (DESIGN.md §5
//! "cross-node use").
//!
//! An [`Envelope`] names its destination and its origin (node, department,
//! actor). Each hop signs it anew with its own key; each receiver accepts an
//! origin only from the direction it can come from — from a child, the child
//! itself or a node below it; from the parent, a node outside this subtree —
//! so a node cannot speak for a department of another subtree. The next hop
//! is the child whose subtree holds the destination (a direct child, or one
//! through which the destination's entries arrived), else the parent.
//!
//! At the owner the origin's department is registered once as a remote
//! department (`Store::remote_department`), and the operation runs through
//! the ordinary sharing service as that department's consumer: B's rules,
//! B's reviewers, B's grant, B's gateway enforcing fields, rows and masking,
//! B's ledger. The consumer's node records what was sent and read in its own
//! ledger.

use govdata_catalog::Caller;
use govdata_model::catalog::ActorContext;
use govdata_model::org::Role;
use govdata_model::ErrorCode;
use govdata_sharing::gateway::LookupRequest;
use govdata_sharing::service::Side;
use govdata_sharing::subscription::{ChangesQuery, SubscribeRequest};
use govdata_sharing::terms::ApplyRequest;
use govdata_store::{FederationNode, NewDepartment, NodeRelation, NodeStatus};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::PeerClient;
use crate::error::HttpError;
use crate::state::AppState;

/// The department id an origin carries when it speaks for its node as a
/// whole: the locality data is returned to (数据回流).
pub const NODE_DEPARTMENT: &str = "node";

/// Most hops an envelope may take (the tree is four levels deep).
const MAX_HOPS: usize = 8;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// The node that owns the entry and answers.
    pub to: String,
    pub origin: Origin,
    /// Nodes the envelope passed, the origin first.
    pub hops: Vec<String>,
    pub operation: Operation,
}

/// Who asks, as the origin node authenticated them.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Origin {
    pub node: String,
    pub node_name: String,
    pub department_id: String,
    pub department_name: String,
    pub department_uscc: String,
    pub department_region: String,
    /// `user:<name>` or `key:<prefix>` at the origin node.
    pub actor: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Operation {
    /// Apply for entries of the destination node.
    Apply { request: ApplyRequest },
    /// One application, as the destination sees it now.
    Application { id: String },
    /// The grants the destination issued to the origin's department.
    Grants,
    /// Read through a grant the destination issued.
    Lookup { grant_id: String, request: LookupRequest },
    /// A page of the changes of a grant the destination issued (订阅, pull).
    Changes { grant_id: String, query: ChangesQuery },
    /// A webhook the destination delivers a grant's changes to (订阅, push).
    Subscribe { grant_id: String, request: SubscribeRequest },
    /// The origin department's webhook subscriptions at the destination.
    Subscriptions { grant_id: Option<String> },
    /// Ends one of them.
    Unsubscribe { id: String },
}

/// Checks that `sender` may carry an envelope from `origin`.
pub async fn check_origin(state: &AppState, sender: &FederationNode, origin: &str) -> Result<(), HttpError> {
    let below =
        origin == sender.id || state.store.route_via(origin).await?.as_deref() == Some(sender.id.as_str());
    let allowed = match sender.relation {
        NodeRelation::Child => below,
        NodeRelation::Parent => origin != state.node().info.id && !in_subtree(state, origin).await?,
    };
    if allowed {
        Ok(())
    } else {
        Err(HttpError::forbidden(format!("node {} may not carry a request from node {origin}", sender.id)))
    }
}

/// Whether `node` is a child of this node or below one.
async fn in_subtree(state: &AppState, node: &str) -> Result<bool, HttpError> {
    let child = state.store.federation_node(node).await.is_ok_and(|n| n.relation == NodeRelation::Child);
    Ok(child || state.store.route_via(node).await?.is_some())
}

/// Delivers an envelope: answers it here, or passes it one hop on.
pub async fn deliver(state: &AppState, mut envelope: Envelope) -> Result<Value, HttpError> {
    if envelope.to == state.node().info.id {
        return answer(state, envelope).await;
    }
    if envelope.hops.len() >= MAX_HOPS || envelope.hops.contains(&state.node().info.id) {
        return Err(HttpError::invalid("hops", "the request went around in circles"));
    }
    let next = next_hop(state, &envelope.to).await?;
    if next.status == NodeStatus::Suspended {
        return Err(HttpError::new(ErrorCode::Unavailable, format!("node {} is suspended", next.id)));
    }
    envelope.hops.push(state.node().info.id.clone());
    let client = PeerClient::new(&state.node().key, &state.node().info.id);
    client.post(&next.id, &next.url, "/api/v1/federation/route", &envelope).await.map_err(super::peer_error)
}

/// A direct child by its id first, then the child a descendant is reached
/// through, then the parent.
async fn next_hop(state: &AppState, to: &str) -> Result<FederationNode, HttpError> {
    let nodes = state.store.federation_nodes().await?;
    let child = |id: &str| nodes.iter().find(|n| n.relation == NodeRelation::Child && n.id == id).cloned();
    let via = state.store.route_via(to).await?;
    let next = child(to)
        .or_else(|| via.as_deref().and_then(child))
        .or_else(|| nodes.iter().find(|n| n.relation == NodeRelation::Parent).cloned());
    next.ok_or_else(|| HttpError::field(ErrorCode::NotFound, "home_node", format!("no route to node {to}")))
}

/// Runs the operation here, as the origin's department.
async fn answer(state: &AppState, envelope: Envelope) -> Result<Value, HttpError> {
    let origin = &envelope.origin;
    let department = state
        .store
        .remote_department(
            &format!("node:{}", origin.node),
            NewDepartment {
                name: if origin.department_id == NODE_DEPARTMENT {
                    origin.node_name.clone()
                } else {
                    format!("{}（{}）", origin.department_name, origin.node_name)
                },
                uscc: origin.department_uscc.clone(),
                region: origin.department_region.clone(),
            },
            (&origin.node, &origin.department_id),
        )
        .await?;
    let actor = format!("node:{}/{}", origin.node, origin.actor);
    let caller =
        Caller { actor: actor.clone(), context: ActorContext::new(actor, department.id, &[Role::Consumer]) };
    let json = |value: Result<Value, serde_json::Error>| {
        value.map_err(|e| HttpError::new(ErrorCode::Internal, format!("answer not serializable: {e}")))
    };
    match envelope.operation {
        Operation::Apply { request } => {
            json(serde_json::to_value(state.sharing.apply(&caller, request).await?))
        }
        Operation::Application { id } => {
            json(serde_json::to_value(state.sharing.application(&caller, &id).await?))
        }
        Operation::Grants => {
            json(serde_json::to_value(state.sharing.grants(&caller, Some(Side::Consumer)).await?))
        }
        Operation::Lookup { grant_id, request } => {
            json(serde_json::to_value(state.sharing.lookup(&caller, &grant_id, request).await?))
        }
        Operation::Changes { grant_id, query } => {
            json(serde_json::to_value(state.sharing.changes(&caller, &grant_id, query).await?))
        }
        Operation::Subscribe { grant_id, request } => {
            json(serde_json::to_value(state.sharing.subscribe(&caller, &grant_id, request).await?))
        }
        Operation::Subscriptions { grant_id } => {
            json(serde_json::to_value(state.sharing.subscriptions(&caller, grant_id).await?))
        }
        Operation::Unsubscribe { id } => {
            json(serde_json::to_value(state.sharing.unsubscribe(&caller, &id).await?))
        }
    }
}
