use std::ops::Deref;
use std::sync::{Arc, RwLock};

use govdata_catalog::{Catalog, NodeLabel};
use govdata_lake::read::Lake;
use govdata_lake::service::Resources;
use govdata_model::calendar::WorkingCalendar;
use govdata_search::{SearchError, SearchIndex};
use govdata_sharing::Sharing;
use govdata_store::Store;

use crate::config::Config;
use crate::identity::NodeIdentity;

/// Everything a handler can reach; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub store: Store,
    pub catalog: Catalog,
    pub resources: Resources,
    pub sharing: Sharing,
    pub api_keys: crate::auth::KeyCache,
    pub config: Config,
    /// Replaced whole when the node key is rotated; read through [`Shared::node`].
    node: RwLock<Arc<NodeIdentity>>,
    /// When each peer's key history was last fetched (`federation::keys`).
    pub key_refreshes: crate::federation::keys::RefreshLimiter,
}

impl Shared {
    /// This node's identity now: its key changes when rotated.
    pub fn node(&self) -> Arc<NodeIdentity> {
        self.node.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Switches to the identity under a rotated key.
    pub(crate) fn set_node(&self, node: NodeIdentity) {
        *self.node.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(node);
    }
}

/// The catalog service with the node's search projection
/// (`<data_dir>/search`), which only one process may hold open at a time.
/// An index written with another schema version (an upgrade changed what
/// is indexed) is recreated empty: the reconciler's first run refills it
/// from the store.
pub fn catalog_service(store: &Store, config: &Config, node: &NodeIdentity) -> anyhow::Result<Catalog> {
    let dir = config.data_dir.join("search");
    let index = match SearchIndex::open(&dir) {
        Err(SearchError::RebuildRequired { found, expected }) => {
            tracing::warn!(
                ?found,
                expected,
                dir = %dir.display(),
                "search index has another schema version: recreating it, to be rebuilt from the store"
            );
            SearchIndex::recreate(&dir)?
        }
        opened => opened?,
    };
    let index = match config.catalog.search_threads {
        Some(threads) => index.with_search_threads(threads)?,
        None => index,
    };
    let index = Arc::new(index);
    let label = NodeLabel {
        id: node.info.id.clone(),
        name: node.info.name.clone(),
        region: node.info.region.clone(),
    };
    Ok(Catalog::new(store.clone(), WorkingCalendar::china(), config.catalog.registration_days)
        .with_search(index, label))
}

impl AppState {
    /// Opens the node's search index (`<data_dir>/search`; one serving
    /// process per directory), its lake (`lake.url`, or `<data_dir>/lake`) and the services
    /// over the store.
    pub fn new(store: Store, config: Config, node: NodeIdentity) -> anyhow::Result<Self> {
        let catalog = catalog_service(&store, &config, &node)?;
        let resources = Resources::new(store.clone(), Lake::new(config.lake_storage()?))
            .with_max_jobs(config.lake.max_concurrent_jobs);
        let sharing =
            Sharing::new(store.clone(), resources.clone(), WorkingCalendar::china(), config.sharing.clone());
        Ok(AppState(Arc::new(Shared {
            store,
            catalog,
            resources,
            sharing,
            api_keys: crate::auth::KeyCache::default(),
            config,
            node: RwLock::new(Arc::new(node)),
            key_refreshes: Default::default(),
        })))
    }
}

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}
