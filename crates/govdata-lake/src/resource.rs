//! A resource's definition as registered by its provider and stored as JSON:
//! the source, how its data reaches the platform, and the item mapping.

use govdata_model::catalog::{InfoItem, ItemType};
use serde::{Deserialize, Serialize};

use crate::conform::EntityKey;
use crate::mapping::{ColumnMapping, EntityKind, ItemMapping};
use crate::source::file::FileFormat;
use crate::source::http::HttpSourceSpec;
use crate::source::sql::SqlSourceSpec;
use crate::table::WriteMode;
use crate::LakeError;

/// Where a physical resource's rows come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceSpec {
    /// Each job is fed a file the provider uploads.
    Upload { format: FileFormat },
    /// A table or query in the department's database.
    Database(SqlSourceSpec),
    /// A paged JSON API.
    Http(HttpSourceSpec),
}

/// How the data is reached: copied into the lake, or read in place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Access {
    /// 物理汇聚: jobs copy the source into the resource's Delta table.
    Physical {
        source: SourceSpec,
        mode: WriteMode,
        /// Cron expression (seconds field first, e.g. `0 0 2 * * *` for 02:00
        /// daily) for scheduled jobs; `None` runs jobs only on demand.
        #[serde(default)]
        schedule: Option<String>,
    },
    /// 逻辑接入: queries go to the department's database.
    Logical { database: SqlSourceSpec },
}

/// The entity key of a resource, as registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntityKeySpec {
    /// The item holding the key; must be a text (C) item.
    pub item: String,
    pub kind: EntityKind,
}

/// What a provider registers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceSpec {
    pub name: String,
    pub access: Access,
    pub mapping: Vec<ColumnMapping>,
    /// Set for resources about persons or enterprises: base libraries and
    /// the profiles join on it.
    #[serde(default)]
    pub entity_key: Option<EntityKeySpec>,
    /// Versions older than this many days may be removed by archiving;
    /// `None` keeps every version.
    #[serde(default)]
    pub retention_days: Option<u32>,
}

/// Longest resource name.
const MAX_NAME_CHARS: usize = 200;

impl ResourceSpec {
    /// Checks the spec against the items of its catalog entry, returning the
    /// mapping the jobs and readers use.
    pub fn validate(&self, items: &[InfoItem]) -> Result<ItemMapping, LakeError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(LakeError::invalid("name", format!("name must be 1 to {MAX_NAME_CHARS} characters")));
        }
        match &self.access {
            Access::Physical { source, schedule, .. } => {
                match source {
                    SourceSpec::Upload { format } => {
                        format.validate().map_err(|e| prefix("access.source.upload", e))?
                    }
                    SourceSpec::Database(spec) => {
                        spec.validate().map_err(|e| prefix("access.source.database", e))?
                    }
                    SourceSpec::Http(spec) => spec.validate().map_err(|e| prefix("access.source.http", e))?,
                }
                if let Some(schedule) = schedule {
                    crate::schedule::Schedule::parse(schedule).map_err(|e| prefix("access", e))?;
                }
            }
            Access::Logical { database } => database.validate().map_err(|e| prefix("access.database", e))?,
        }
        let mapping = ItemMapping::new(items, &self.mapping)?;
        if let Access::Physical { mode, .. } = &self.access {
            for (field, item) in mode.named_items() {
                if mapping.find(item).is_none() {
                    return Err(LakeError::invalid(
                        format!("access.{field}"),
                        format!("{item:?} is not a mapped item of this resource"),
                    ));
                }
            }
        }
        self.check_entity_key(&mapping)?;
        Ok(mapping)
    }

    fn check_entity_key(&self, mapping: &ItemMapping) -> Result<(), LakeError> {
        let Some(key) = &self.entity_key else { return Ok(()) };
        match mapping.find(&key.item) {
            None => {
                Err(LakeError::invalid("entity_key.item", format!("{:?} is not a mapped item", key.item)))
            }
            Some(m) if m.item.type_code != ItemType::Character => {
                Err(LakeError::invalid("entity_key.item", "the entity key must be a text (C) item"))
            }
            Some(_) => Ok(()),
        }
    }

    pub fn entity_key(&self) -> Option<EntityKey> {
        self.entity_key.as_ref().map(|k| EntityKey { item: k.item.clone(), kind: k.kind })
    }

    /// The spec as the API shows it: passwords in connection URLs and header
    /// values (tokens) replaced.
    pub fn redacted(&self) -> ResourceSpec {
        let mut spec = self.clone();
        match &mut spec.access {
            Access::Physical { source: SourceSpec::Database(db), .. } | Access::Logical { database: db } => {
                db.url = db.redacted_url();
            }
            Access::Physical { source: SourceSpec::Http(http), .. } => *http = http.redacted(),
            Access::Physical { source: SourceSpec::Upload { .. }, .. } => {}
        }
        spec
    }

    pub fn is_physical(&self) -> bool {
        matches!(self.access, Access::Physical { .. })
    }
}

/// Moves a nested spec's field path under its place in the resource.
fn prefix(at: &str, error: LakeError) -> LakeError {
    match error {
        LakeError::Invalid { field, message } => LakeError::invalid(format!("{at}.{field}"), message),
        other => other,
    }
}
