//! Column → information-item mapping: how a source's columns become the
//! catalog entry's items, and the Arrow type each item is stored as.
//!
//! Tables in the lake are conformed to the catalog: one column per mapped
//! item, named after the item and typed by its type code. An item the source
//! does not have is marked absent with a reason, so every item of the entry is
//! accounted for.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use deltalake::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use govdata_model::catalog::{InfoItem, ItemType};
use serde::{Deserialize, Serialize};

use crate::LakeError;

/// One catalog item and the source column that holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnMapping {
    /// 信息项名称, as in the catalog entry.
    pub item: String,
    /// The source column; `None` when the source does not hold the item.
    #[serde(default)]
    pub column: Option<String>,
    /// Why the item is absent; required exactly when `column` is `None`.
    #[serde(default)]
    pub absent_reason: Option<String>,
}

/// The entity a resource describes, keyed by a national identifier. Base
/// libraries and the person/enterprise profiles join on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// Keyed by GB 11643 citizen identity number.
    Person,
    /// Keyed by GB 32100 unified social credit code.
    Enterprise,
}

impl EntityKind {
    pub fn label_zh(self) -> &'static str {
        match self {
            EntityKind::Person => "自然人",
            EntityKind::Enterprise => "法人",
        }
    }
}

/// Characters a Delta column name may not hold without column mapping mode.
const FORBIDDEN_IN_COLUMN: &[char] = &[' ', ',', ';', '{', '}', '(', ')', '\n', '\t', '='];

/// A checked mapping for the items of one entry version.
#[derive(Debug, Clone)]
pub struct ItemMapping {
    /// Mapped items in catalog order, with their source column.
    pub mapped: Vec<MappedItem>,
}

#[derive(Debug, Clone)]
pub struct MappedItem {
    pub item: InfoItem,
    pub column: String,
}

impl ItemMapping {
    /// Checks that every item of the entry is mapped or marked absent exactly
    /// once, and that no mapping names an item the entry does not have.
    pub fn new(items: &[InfoItem], mapping: &[ColumnMapping]) -> Result<ItemMapping, LakeError> {
        let by_name: BTreeMap<&str, &InfoItem> = items.iter().map(|i| (i.name.as_str(), i)).collect();
        let mut columns: BTreeMap<&str, String> = BTreeMap::new();
        let mut seen = BTreeSet::new();
        for (i, m) in mapping.iter().enumerate() {
            let field = |f: &str| format!("mapping[{i}].{f}");
            if !by_name.contains_key(m.item.as_str()) {
                return Err(LakeError::invalid(
                    field("item"),
                    format!("the catalog entry has no item named {:?}", m.item),
                ));
            }
            if !seen.insert(m.item.as_str()) {
                return Err(LakeError::invalid(field("item"), format!("item {:?} is mapped twice", m.item)));
            }
            if let Some(bad) = m.item.chars().find(|c| FORBIDDEN_IN_COLUMN.contains(c)) {
                return Err(LakeError::invalid(
                    field("item"),
                    format!(
                        "item {:?} contains {bad:?}, which a lake column name cannot; \
                         rename the item (full-width （） and ， are fine)",
                        m.item
                    ),
                ));
            }
            match (&m.column, &m.absent_reason) {
                (Some(column), None) if !column.trim().is_empty() => {
                    columns.insert(m.item.as_str(), column.clone());
                }
                (Some(_), None) => return Err(LakeError::invalid(field("column"), "column is empty")),
                (Some(_), Some(_)) => {
                    return Err(LakeError::invalid(
                        field("absent_reason"),
                        "an item is either mapped to a column or absent with a reason, not both",
                    ))
                }
                (None, Some(reason)) if !reason.trim().is_empty() => {}
                (None, _) => {
                    return Err(LakeError::invalid(
                        field("absent_reason"),
                        "an item without a column needs the reason it is absent",
                    ))
                }
            }
        }
        if let Some(missing) = items.iter().find(|i| !seen.contains(i.name.as_str())) {
            return Err(LakeError::invalid(
                "mapping",
                format!("item {:?} is neither mapped to a column nor marked absent", missing.name),
            ));
        }
        if columns.is_empty() {
            return Err(LakeError::invalid("mapping", "at least one item must be mapped to a column"));
        }
        let mapped = items
            .iter()
            .filter_map(|item| {
                columns.get(item.name.as_str()).map(|c| MappedItem { item: item.clone(), column: c.clone() })
            })
            .collect();
        Ok(ItemMapping { mapped })
    }

    /// The conformed table's schema: one nullable column per mapped item.
    pub fn target_schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.mapped
                .iter()
                .map(|m| Field::new(&m.item.name, arrow_type(&m.item), true))
                .collect::<Vec<_>>(),
        ))
    }

    /// The mapped item whose name is `item`.
    pub fn find(&self, item: &str) -> Option<&MappedItem> {
        self.mapped.iter().find(|m| m.item.name == item)
    }
}

/// Largest precision Decimal128 holds.
const MAX_DECIMAL_PRECISION: u32 = 38;

/// How an item type is stored. N and Y keep exact decimals; D and T are
/// calendar values (T without zone: government systems record local time).
pub fn arrow_type(item: &InfoItem) -> DataType {
    let decimal = |default_precision: u32, default_scale: u32| {
        let precision = item.length.unwrap_or(default_precision).clamp(1, MAX_DECIMAL_PRECISION);
        let scale = item.scale.unwrap_or(default_scale).min(precision);
        DataType::Decimal128(precision as u8, scale as i8)
    };
    match item.type_code {
        ItemType::Character | ItemType::Memo | ItemType::General => DataType::Utf8,
        ItemType::Numeric => decimal(MAX_DECIMAL_PRECISION, 0),
        ItemType::Currency => decimal(18, 2),
        ItemType::Date => DataType::Date32,
        ItemType::DateTime => DataType::Timestamp(TimeUnit::Microsecond, None),
        ItemType::Logical => DataType::Boolean,
        ItemType::Binary => DataType::Binary,
        ItemType::Integer => DataType::Int64,
        ItemType::Float => DataType::Float64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items() -> Vec<InfoItem> {
        vec![
            InfoItem::new("身份证号", ItemType::Character, Some(18)),
            InfoItem::new("姓名", ItemType::Character, Some(50)),
            InfoItem::new("出生日期", ItemType::Date, Some(8)),
        ]
    }

    fn mapped(item: &str, column: &str) -> ColumnMapping {
        ColumnMapping { item: item.into(), column: Some(column.into()), absent_reason: None }
    }

    #[test]
    fn every_item_must_be_accounted_for() {
        let err =
            ItemMapping::new(&items(), &[mapped("身份证号", "sfzh"), mapped("姓名", "xm")]).unwrap_err();
        assert!(err.to_string().contains("出生日期"), "{err}");
        let absent =
            ColumnMapping {
                item: "出生日期".into(), column: None, absent_reason: Some("不采集".into())
            };
        let ok =
            ItemMapping::new(&items(), &[mapped("身份证号", "sfzh"), mapped("姓名", "xm"), absent]).unwrap();
        assert_eq!(ok.target_schema().fields().len(), 2);
    }

    #[test]
    fn refusals_name_the_field() {
        let unknown = ItemMapping::new(&items(), &[mapped("住址", "zz")]).unwrap_err();
        assert_eq!(govdata_model::error::ApiError::field(&unknown), Some("mapping[0].item"));
        let twice = ItemMapping::new(&items(), &[mapped("姓名", "a"), mapped("姓名", "b")]).unwrap_err();
        assert_eq!(govdata_model::error::ApiError::field(&twice), Some("mapping[1].item"));
        let no_reason = ColumnMapping { item: "姓名".into(), column: None, absent_reason: None };
        let err = ItemMapping::new(&items(), &[no_reason]).unwrap_err();
        assert_eq!(govdata_model::error::ApiError::field(&err), Some("mapping[0].absent_reason"));
    }

    #[test]
    fn types_follow_the_item_type_code() {
        let mut money = InfoItem::new("金额", ItemType::Currency, Some(12));
        money.scale = Some(2);
        assert_eq!(arrow_type(&money), DataType::Decimal128(12, 2));
        assert_eq!(arrow_type(&InfoItem::new("日期", ItemType::Date, Some(8))), DataType::Date32);
        assert_eq!(arrow_type(&InfoItem::new("数量", ItemType::Integer, Some(10))), DataType::Int64);
    }
}
