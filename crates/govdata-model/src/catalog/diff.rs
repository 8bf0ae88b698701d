//! Field-level difference between two versions of an entry, for the portal
//! ("what changed in version 4") and for the reviewer of a new version.
//!
//! Scalar and nested fields are compared leaf by leaf and reported by path
//! (`classification.category`, `share_condition`); lists other than items
//! (keywords, share modes, related codes, resources) are compared as whole
//! values. Items are matched by normalized name — the stable identity of an
//! item across versions — and reported as added, removed or changed with
//! their own field changes; a moved item is not a change. Values are JSON as
//! the API serializes them, so the portal renders them like the entry itself.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::entry::{CatalogEntry, EntryDraft, InfoItem};
use super::text::normalize;

/// One changed field: old and new value (`null` when absent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldChange {
    pub field: String,
    pub old: Value,
    pub new: Value,
}

/// What happened to one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum ItemChange {
    Added {
        name: String,
        item: InfoItem,
    },
    Removed {
        name: String,
        item: InfoItem,
    },
    /// Field paths are relative to the item (`length`, `grade.sublevel`).
    Changed {
        name: String,
        fields: Vec<FieldChange>,
    },
}

/// The difference between two versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EntryDiff {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_version: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_version: Option<u32>,
    /// Changed entry-level fields, sorted by path.
    pub fields: Vec<FieldChange>,
    /// Removed and changed items in the old order, then added items in the new order.
    pub items: Vec<ItemChange>,
}

impl EntryDiff {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.items.is_empty()
    }
}

/// Leaf-by-leaf comparison of two JSON values under `path`; objects are
/// walked in sorted key order so the result does not depend on map ordering.
fn diff_values(path: &str, old: &Value, new: &Value, out: &mut Vec<FieldChange>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let child = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                diff_values(
                    &child,
                    a.get(key).unwrap_or(&Value::Null),
                    b.get(key).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        _ if old != new => {
            out.push(FieldChange { field: path.to_owned(), old: old.clone(), new: new.clone() })
        }
        _ => {}
    }
}

fn to_json<T: Serialize>(value: &T) -> Value {
    // Serializing these plain data types into a JSON value cannot fail.
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// The difference from `old` to `new`.
pub fn diff_drafts(old: &EntryDraft, new: &EntryDraft) -> EntryDiff {
    let (mut old_json, mut new_json) = (to_json(old), to_json(new));
    for json in [&mut old_json, &mut new_json] {
        if let Value::Object(map) = json {
            map.remove("items");
        }
    }
    let mut fields = Vec::new();
    diff_values("", &old_json, &new_json, &mut fields);

    let new_by_name: BTreeMap<String, &InfoItem> =
        new.items.iter().map(|i| (normalize(&i.name), i)).collect();
    let old_names: BTreeMap<String, ()> = old.items.iter().map(|i| (normalize(&i.name), ())).collect();
    let mut items = Vec::new();
    for item in &old.items {
        match new_by_name.get(&normalize(&item.name)) {
            None => items.push(ItemChange::Removed { name: item.name.clone(), item: item.clone() }),
            Some(&now) => {
                let mut changes = Vec::new();
                diff_values("", &to_json(item), &to_json(now), &mut changes);
                if !changes.is_empty() {
                    items.push(ItemChange::Changed { name: now.name.clone(), fields: changes });
                }
            }
        }
    }
    for item in &new.items {
        if !old_names.contains_key(&normalize(&item.name)) {
            items.push(ItemChange::Added { name: item.name.clone(), item: item.clone() });
        }
    }
    EntryDiff { from_version: None, to_version: None, fields, items }
}

/// The difference between two stored versions of an entry (metadata only:
/// status and timestamps are history, not content).
pub fn diff_versions(old: &CatalogEntry, new: &CatalogEntry) -> EntryDiff {
    EntryDiff {
        from_version: Some(old.version),
        to_version: Some(new.version),
        ..diff_drafts(&old.metadata, &new.metadata)
    }
}
