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
        // A change committed here is sent at once; the interval catches the
        // rest (changes made by another process, retries after a failure).
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = state.store.outbox_changed(), if delay == interval => {}
        }
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

/// Sends every change after the acknowledged sequence, batch by batch. The
/// next batch is read and serialized while the parent applies the current
/// one.
async fn push_outbox(state: &AppState, client: &PeerClient, parent: &FederationNode) -> anyhow::Result<()> {
    let home = local_home(&state.node().info);
    let batch_size = state.config.federation.batch_size;
    if state.store.outbox_backlog(parent.synced_seq).await? == 0 {
        metrics::gauge!("govdata_federation_outbox_backlog").set(0.0);
        return Ok(());
    }
    let below = descendants(state).await?;
    let mut prepared = prepare(state, &home, parent.synced_seq, batch_size, &below).await?;
    while let Some(batch) = prepared {
        let (answer, next) = tokio::join!(
            client.post_json::<CascadeAnswer>(
                &parent.id,
                &parent.url,
                "/api/v1/federation/catalog",
                batch.body
            ),
            prepare(state, &home, batch.last, batch_size, &below),
        );
        let answer = answer?;
        if answer.acked_seq != batch.last {
            anyhow::bail!(
                "parent acknowledged sequence {} of a batch ending at {}",
                answer.acked_seq,
                batch.last
            );
        }
        state.store.acknowledge_outbox(&parent.id, batch.first, batch.last, answer.applied).await?;
        metrics::counter!("govdata_federation_changes_sent_total").increment(batch.sent);
        prepared = next?;
    }
    Ok(())
}

/// A batch ready to send: its sequence range and its JSON body.
struct PreparedBatch {
    first: u64,
    last: u64,
    sent: u64,
    body: Vec<u8>,
}

/// The batch of changes after sequence `after`, serialized; `None` when
/// there is none. A batch over [`MAX_BATCH_BYTES`] is halved until it fits
/// (it always keeps its first change).
async fn prepare(
    state: &AppState,
    home: &govdata_store::HomeNode,
    after: u64,
    batch_size: u32,
    below: &[Descendant],
) -> anyhow::Result<Option<PreparedBatch>> {
    let mut changes = state.store.outbox_after(after, batch_size, home).await?;
    let backlog = state.store.outbox_backlog(after).await?;
    metrics::gauge!("govdata_federation_outbox_backlog").set(backlog as f64);
    loop {
        let (Some(first), Some(last)) = (changes.first().map(|c| c.seq), changes.last().map(|c| c.seq))
        else {
            return Ok(None);
        };
        let sent = changes.len() as u64;
        let batch = CascadeBatch { changes, backlog: backlog - sent, descendants: below.to_vec() };
        let body = serde_json::to_vec(&batch)?;
        if body.len() <= MAX_BATCH_BYTES || sent == 1 {
            return Ok(Some(PreparedBatch { first, last, sent, body }));
        }
        changes = batch.changes;
        changes.truncate(changes.len() / 2);
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
