//! Liveness, readiness, metrics and the node's identity.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use govdata_model::org::NodeInfo;

use crate::error::{ApiResult, HttpError};
use crate::state::AppState;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "system", responses((status = 200, body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// The node can serve: its database answers.
#[utoipa::path(get, path = "/readyz", tag = "system",
    responses((status = 200, body = String), (status = 503, body = HttpError)))]
pub async fn readyz(State(state): State<AppState>) -> ApiResult<&'static str> {
    state.store.ping().await?;
    Ok("ready")
}

/// Prometheus metrics in text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "system", responses((status = 200, body = String)))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    // Entries per batch is how much the group commit saves: fsyncs are
    // batches, not entries.
    let commits = state.store.ledger_group_commits();
    metrics::counter!("govdata_ledger_group_commits_total").absolute(commits.batches);
    metrics::counter!("govdata_ledger_group_committed_entries_total").absolute(commits.entries);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], crate::telemetry::metrics_handle().render())
}

/// Who this node is: id, name, level, region, parent and public key.
#[utoipa::path(get, path = "/api/v1/node", tag = "system", responses((status = 200, body = NodeInfo)))]
pub async fn node(State(state): State<AppState>) -> ApiResult<Json<NodeInfo>> {
    Ok(Json(node_info(&state).await?))
}

/// This node's identity; `parent` is the parent it joined, else the configured one.
pub async fn node_info(state: &AppState) -> ApiResult<NodeInfo> {
    let mut info = state.node().info.clone();
    if let Some(parent) = state.store.federation_parent().await? {
        info.parent = Some(parent.url);
    }
    Ok(info)
}
