use std::ops::Deref;
use std::sync::Arc;

use govdata_store::Store;

use crate::config::Config;
use crate::identity::NodeIdentity;

/// Everything a handler can reach; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub store: Store,
    pub config: Config,
    pub node: NodeIdentity,
}

impl AppState {
    pub fn new(store: Store, config: Config, node: NodeIdentity) -> Self {
        AppState(Arc::new(Shared { store, config, node }))
    }
}

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}
