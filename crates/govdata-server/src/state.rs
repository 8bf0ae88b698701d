use std::ops::Deref;
use std::sync::Arc;

use govdata_catalog::Catalog;
use govdata_model::calendar::WorkingCalendar;
use govdata_store::Store;

use crate::config::Config;
use crate::identity::NodeIdentity;

/// Everything a handler can reach; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub store: Store,
    pub catalog: Catalog,
    pub config: Config,
    pub node: NodeIdentity,
}

impl AppState {
    pub fn new(store: Store, config: Config, node: NodeIdentity) -> Self {
        let catalog = Catalog::new(store.clone(), WorkingCalendar::china(), config.catalog.registration_days);
        AppState(Arc::new(Shared { store, catalog, config, node }))
    }
}

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}
