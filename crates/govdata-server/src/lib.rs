//! The HTTP face of a govdata node.
//!
//! ```text
//! request → request id → trace span → panic guard → body limit → metrics
//!         → typed extractors (Json/Path/Query, Principal = authentication)
//!         → handler: policy::authorize(Action) → govdata-store → JSON
//! ```
//! Errors from any layer render once, in [`error::HttpError`].

pub mod app;
pub mod auth;
pub mod config;
pub mod error;
pub mod extract;
pub mod federation;
pub mod identity;
pub mod policy;
pub mod routes;
pub mod secrets;
pub mod state;
pub mod telemetry;

use std::future::Future;

use govdata_store::{LedgerConfig, Store};
use tokio::net::TcpListener;

pub use config::Config;
use identity::NodeIdentity;
use state::AppState;

/// Opens the store and node identity that `config` describes, finishing a
/// key rotation that a crash interrupted.
pub async fn open(config: &Config) -> anyhow::Result<(Store, NodeIdentity)> {
    std::fs::create_dir_all(&config.data_dir)?;
    let node = NodeIdentity::load_or_create(config)?;
    let store = Store::open(
        &config.database_url()?,
        LedgerConfig { node_id: node.info.id.clone(), hash: config.ledger.hash },
    )
    .await?;
    let node = federation::keys::finish_interrupted_rotation(&store, config, node).await?;
    Ok((store, node))
}

/// Serves the node on an already-bound listener until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    store: Store,
    node: NodeIdentity,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = AppState::new(store.clone(), config, node)?;
    state.resources.lake().storage().check().await?;
    let reconciler = tokio::spawn(reconcile_search(state.clone()));
    let jobs = tokio::spawn(state.resources.clone().run_jobs());
    let usage = tokio::spawn(state.sharing.clone().run_usage_flusher());
    let subscriptions = tokio::spawn(state.sharing.clone().run_subscriptions());
    let federation = tokio::spawn(federation::sync::run(state.clone()));
    let sharing = state.sharing.clone();
    let checkpointer = store.start_checkpointer(
        {
            let state = state.clone();
            move || state.node().key.clone()
        },
        routes::ledger::CHECKPOINT_INTERVAL,
    );
    let app = app::router(state);
    tracing::info!(address = %listener.local_addr()?, backend = store.backend().as_str(), "serving");
    // The peer address reaches handlers for API keys' network allow-lists.
    let service = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = axum::serve(listener, service).with_graceful_shutdown(shutdown).await;
    checkpointer.stop().await;
    reconciler.abort();
    jobs.abort();
    usage.abort();
    subscriptions.abort();
    federation.abort();
    if let Err(error) = sharing.flush_usage().await {
        tracing::warn!(%error, "gateway usage of the last seconds not stored");
    }
    store.close().await;
    Ok(served?)
}

/// How often the search index is compared with the store.
const RECONCILE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Keeps the search projection equal to the store: at start (catching up on
/// changes made by the CLI or another process) and then every minute. Drift
/// is logged and counted, so it cannot go unnoticed.
async fn reconcile_search(state: AppState) {
    let mut ticks = tokio::time::interval(RECONCILE_INTERVAL);
    loop {
        ticks.tick().await;
        match state.catalog.reconcile().await {
            Ok(report) if report.is_clean() => {
                tracing::debug!(documents = report.expected, "search index in step")
            }
            // The index logs what it repaired (a warning, with the first codes).
            Ok(report) => {
                let repaired = report.missing.len() + report.stale.len() + report.extra.len();
                metrics::counter!("govdata_search_drift_repaired_total").increment(repaired as u64);
            }
            Err(error) => tracing::error!(%error, "search reconciliation failed"),
        }
    }
}
