//! One read interface over both kinds of resource: a DataFusion table whose
//! columns are the mapped catalog items, typed by item type. Physical
//! resources read their Delta table (at a version or time); logical ones read
//! the department's database in place, with projections and filters pushed
//! down through the renaming view.

use std::sync::Arc;

use deltalake::datafusion::catalog::TableProvider;
use deltalake::datafusion::logical_expr::{col, try_cast};
use deltalake::datafusion::prelude::SessionContext;
use deltalake::delta_datafusion::DeltaSessionContext;

use crate::mapping::{arrow_type, ItemMapping};
use crate::resource::{Access, ResourceSpec};
use crate::source::sql::SqlTable;
use crate::storage::LakeStorage;
use crate::table::{quote, AsOf, LakeTable};
use crate::LakeError;

/// Rows per batch that connectors produce (DataFusion's default batch size).
pub const BATCH_SIZE: usize = 8192;

/// The node's lake: one Delta table per physical resource, in a local
/// directory or an S3-compatible bucket.
#[derive(Debug, Clone)]
pub struct Lake {
    storage: LakeStorage,
}

impl Lake {
    pub fn new(storage: LakeStorage) -> Lake {
        Lake { storage }
    }

    pub fn storage(&self) -> &LakeStorage {
        &self.storage
    }

    /// The table of resource `id` (ids are UUIDs issued by the store).
    pub fn table(&self, id: &str) -> Result<LakeTable, LakeError> {
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(LakeError::invalid("id", "resource ids are letters, digits and dashes"));
        }
        LakeTable::new(self.storage.clone(), id)
    }

    /// A DataFusion session for one request or job, with delta-rs's planner
    /// (writes and merges plan through it).
    pub fn session(&self) -> SessionContext {
        DeltaSessionContext::new().into_inner()
    }

    /// The resource's data as a table of its mapped items; `None` for a
    /// physical resource no job has written yet.
    pub async fn open(
        &self,
        ctx: &SessionContext,
        id: &str,
        spec: &ResourceSpec,
        mapping: &ItemMapping,
        as_of: AsOf,
    ) -> Result<Option<Arc<dyn TableProvider>>, LakeError> {
        match &spec.access {
            Access::Physical { .. } => self.table(id)?.provider(as_of).await,
            Access::Logical { database } => {
                if as_of != AsOf::Latest {
                    return Err(LakeError::invalid(
                        "as_of",
                        "a logical resource is read in place from its database and has no versions",
                    ));
                }
                let source = SqlTable::connect(database).await?;
                let items = mapping
                    .mapped
                    .iter()
                    .map(|m| try_cast(col(quote(&m.column)), arrow_type(&m.item)).alias(&m.item.name))
                    .collect::<Vec<_>>();
                let view = ctx.read_table(Arc::new(source))?.select(items)?.into_view();
                Ok(Some(view))
            }
        }
    }
}
