//! The task that keeps this node's parent up to date: it sends the outbox
//! in signed batches (resuming from the sequence the parent acknowledged, so
//! a parent that was down or cut off gets the whole backlog when it
//! returns) and presents the ledger checkpoint for cosigning.

use std::time::{Duration, Instant};

use govdata_store::{Descendant, FederationNode, NodeRelation, NodeStatus};

use super::client::PeerClient;
use super::local_home;
use crate::routes::federation::{CascadeAnswer, CascadeBatch, CheckpointPresentation, CosignAnswer};
use crate::state::AppState;

/// Most bytes of changes in one request (the receiver takes up to
/// [`super::MAX_SIGNED_BODY`]).
pub const MAX_BATCH_BYTES: usize = 8 * 1024 * 1024;

/// Longest wait between attempts while the parent is unreachable.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Runs until the node stops.
pub async fn run(state: AppState) {
    let connections = PeerClient::new(&state.node().key, &state.node().info.id);
    let interval = Duration::from_millis(state.config.federation.sync_interval_ms);
    let witness_every = Duration::from_secs(state.config.federation.witness_interval_seconds);
    let mut delay = interval;
    let mut last_witnessed: Option<Instant> = None;
    loop {
        tokio::time::sleep(delay).await;
        let parent = match state.store.federation_parent().await {
            Ok(Some(parent)) if parent.status == NodeStatus::Active => parent,
            Ok(_) => continue,
            Err(error) => {
                tracing::warn!(%error, "reading the federation parent failed");
                continue;
            }
        };
        // Signed with the key of the moment: it changes when rotated.
        let client = connections.with_key(&state.node().key);
        // Witnessing runs on its own clock and before the push: a refused or
        // failed presentation is retried at the next interval and never
        // holds the cascade back, nor a refused batch the witnessing.
        if last_witnessed.is_none_or(|at| at.elapsed() >= witness_every) {
            last_witnessed = Some(Instant::now());
            if let Err(error) = present_checkpoint(&state, &client, &parent).await {
                tracing::warn!(parent = %parent.id, %error, "checkpoint not cosigned");
                metrics::counter!("govdata_federation_witness_failures_total").increment(1);
            }
        }
        let pushed = push_outbox(&state, &client, &parent).await;
        delay = match pushed {
            Ok(()) => interval,
            Err(error) => {
                tracing::warn!(parent = %parent.id, %error, "federation sync failed; retrying");
                metrics::counter!("govdata_federation_sync_failures_total").increment(1);
                (delay * 2).min(MAX_BACKOFF.max(interval))
            }
        };
    }
}

/// Sends every change after the acknowledged sequence, batch by batch.
async fn push_outbox(state: &AppState, client: &PeerClient, parent: &FederationNode) -> anyhow::Result<()> {
    let home = local_home(&state.node().info);
    let batch_size = state.config.federation.batch_size;
    let mut acked = parent.synced_seq;
    // Read once per round, and only when there is something to send.
    let mut below: Option<Vec<Descendant>> = None;
    loop {
        let mut changes = state.store.outbox_after(acked, batch_size, &home).await?;
        fit_in_request(&mut changes);
        let backlog = state.store.outbox_backlog(acked).await?;
        metrics::gauge!("govdata_federation_outbox_backlog").set(backlog as f64);
        let (Some(first), Some(last)) = (changes.first().map(|c| c.seq), changes.last().map(|c| c.seq))
        else {
            return Ok(());
        };
        let sent = changes.len() as u64;
        if below.is_none() {
            below = Some(descendants(state).await?);
        }
        let batch =
            CascadeBatch { changes, backlog: backlog - sent, descendants: below.clone().unwrap_or_default() };
        let answer: CascadeAnswer =
            client.post(&parent.id, &parent.url, "/api/v1/federation/catalog", &batch).await?;
        if answer.acked_seq != last {
            anyhow::bail!("parent acknowledged sequence {} of a batch ending at {last}", answer.acked_seq);
        }
        state.store.acknowledge_outbox(&parent.id, first, last, answer.applied).await?;
        metrics::counter!("govdata_federation_changes_sent_total").increment(sent);
        acked = last;
    }
}

/// Presents the latest checkpoint; keeps the parent's cosignature.
async fn present_checkpoint(
    state: &AppState,
    client: &PeerClient,
    parent: &FederationNode,
) -> anyhow::Result<()> {
    let checkpoint = state.store.checkpoint(&state.node().key).await?;
    let presentation = CheckpointPresentation {
        checkpoint: checkpoint.note,
        hash: state.store.ledger_hash().to_string(),
        descendants: descendants(state).await?,
    };
    let answer: CosignAnswer =
        client.post(&parent.id, &parent.url, "/api/v1/federation/checkpoints", &presentation).await?;
    state.store.record_parent_cosignature(&parent.id, &answer.cosigned_checkpoint, answer.size).await?;
    Ok(())
}

/// The nodes below this one: its children and what they reported below them.
async fn descendants(state: &AppState) -> anyhow::Result<Vec<Descendant>> {
    let mut descendants: Vec<Descendant> = state
        .store
        .federation_nodes()
        .await?
        .into_iter()
        .filter(|node| node.relation == NodeRelation::Child)
        .map(|node| Descendant {
            id: node.id,
            parent_id: state.node().info.id.clone(),
            name: node.name,
            level: node.level,
            region: node.region,
        })
        .collect();
    descendants.extend(state.store.descendants().await?);
    Ok(descendants)
}

/// Shortens a batch to what fits in one request; always keeps the first change.
fn fit_in_request(changes: &mut Vec<govdata_store::CascadeChange>) {
    let mut bytes = 0;
    let fitting = changes
        .iter()
        .take_while(|change| {
            bytes += serde_json::to_vec(change).map_or(0, |b| b.len()) + 1;
            bytes <= MAX_BATCH_BYTES
        })
        .count();
    changes.truncate(fitting.max(1));
}
