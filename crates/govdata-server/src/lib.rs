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

/// Opens the store and node identity that `config` describes.
pub async fn open(config: &Config) -> anyhow::Result<(Store, NodeIdentity)> {
    std::fs::create_dir_all(&config.data_dir)?;
    let node = NodeIdentity::load_or_create(config)?;
    let store = Store::open(
        &config.database_url()?,
        LedgerConfig { node_id: node.info.id.clone(), hash: config.ledger.hash },
    )
    .await?;
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
    let key = node.key.clone();
    let app = app::router(AppState::new(store.clone(), config, node));
    tracing::info!(address = %listener.local_addr()?, backend = store.backend().as_str(), "serving");
    let checkpointer = store.start_checkpointer(key, routes::ledger::CHECKPOINT_INTERVAL);
    let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    checkpointer.stop().await;
    store.close().await;
    Ok(served?)
}
