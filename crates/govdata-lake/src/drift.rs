//! Schema drift: a source's columns compared with what the resource last saw
//! and with what its mapping needs. A mapped column that disappeared stops
//! the job before anything is written; added and retyped columns are reported
//! against the catalog items they touch.

use deltalake::arrow::datatypes::Schema;
use serde::{Deserialize, Serialize};

use crate::mapping::ItemMapping;
use crate::source::ROW_NUMBER_COLUMN;

/// One column of a source as last seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SourceColumn {
    pub name: String,
    /// Arrow type, as text (e.g. `Utf8`, `Int64`, `Decimal128(12, 2)`).
    pub data_type: String,
}

/// The columns of a source schema, without the connector's row number.
pub fn describe(schema: &Schema) -> Vec<SourceColumn> {
    schema
        .fields()
        .iter()
        .filter(|f| f.name() != ROW_NUMBER_COLUMN)
        .map(|f| SourceColumn { name: f.name().clone(), data_type: f.data_type().to_string() })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RetypedColumn {
    pub name: String,
    pub from: String,
    pub to: String,
    /// The catalog item fed by the column, if it is mapped.
    pub item: Option<String>,
}

/// What changed in a source since the resource last read it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Drift {
    pub added: Vec<SourceColumn>,
    pub removed: Vec<SourceColumn>,
    pub retyped: Vec<RetypedColumn>,
    /// Mapped items whose source column is gone: the job cannot run until
    /// the mapping or the source is fixed.
    pub items_without_column: Vec<String>,
}

impl Drift {
    pub fn between(
        previous: Option<&[SourceColumn]>,
        current: &[SourceColumn],
        mapping: &ItemMapping,
    ) -> Drift {
        let item_of =
            |column: &str| mapping.mapped.iter().find(|m| m.column == column).map(|m| m.item.name.clone());
        let items_without_column = mapping
            .mapped
            .iter()
            .filter(|m| !current.iter().any(|c| c.name == m.column))
            .map(|m| m.item.name.clone())
            .collect();
        let Some(previous) = previous else {
            return Drift { items_without_column, ..Drift::default() };
        };
        let find = |columns: &[SourceColumn], name: &str| columns.iter().find(|c| c.name == name).cloned();
        Drift {
            added: current.iter().filter(|c| find(previous, &c.name).is_none()).cloned().collect(),
            removed: previous.iter().filter(|c| find(current, &c.name).is_none()).cloned().collect(),
            retyped: current
                .iter()
                .filter_map(|c| {
                    let before = find(previous, &c.name)?;
                    (before.data_type != c.data_type).then(|| RetypedColumn {
                        name: c.name.clone(),
                        from: before.data_type,
                        to: c.data_type.clone(),
                        item: item_of(&c.name),
                    })
                })
                .collect(),
            items_without_column,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.retyped.is_empty()
            && self.items_without_column.is_empty()
    }

    pub fn is_breaking(&self) -> bool {
        !self.items_without_column.is_empty()
    }

    /// One line for job history and errors.
    pub fn summary(&self) -> String {
        let names =
            |cols: &[SourceColumn]| cols.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ");
        let mut parts = Vec::new();
        if !self.items_without_column.is_empty() {
            parts.push(format!("mapped items lost their column: {}", self.items_without_column.join(", ")));
        }
        if !self.removed.is_empty() {
            parts.push(format!("removed columns: {}", names(&self.removed)));
        }
        if !self.added.is_empty() {
            parts.push(format!("added columns: {}", names(&self.added)));
        }
        if !self.retyped.is_empty() {
            let retyped: Vec<String> =
                self.retyped.iter().map(|r| format!("{} {} → {}", r.name, r.from, r.to)).collect();
            parts.push(format!("retyped columns: {}", retyped.join(", ")));
        }
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use govdata_model::catalog::{InfoItem, ItemType};

    use super::*;
    use crate::mapping::ColumnMapping;

    fn column(name: &str, data_type: &str) -> SourceColumn {
        SourceColumn { name: name.into(), data_type: data_type.into() }
    }

    #[test]
    fn reports_added_removed_and_retyped_against_items() {
        let items = vec![
            InfoItem::new("姓名", ItemType::Character, Some(20)),
            InfoItem::new("年龄", ItemType::Integer, Some(3)),
        ];
        let mapping = ItemMapping::new(
            &items,
            &[
                ColumnMapping { item: "姓名".into(), column: Some("xm".into()), absent_reason: None },
                ColumnMapping { item: "年龄".into(), column: Some("nl".into()), absent_reason: None },
            ],
        )
        .unwrap();
        let before = vec![column("xm", "Utf8"), column("nl", "Int32"), column("bz", "Utf8")];
        let after = vec![column("xm", "Utf8"), column("nl", "Utf8"), column("dh", "Utf8")];
        let drift = Drift::between(Some(&before), &after, &mapping);
        assert_eq!(drift.added, vec![column("dh", "Utf8")]);
        assert_eq!(drift.removed, vec![column("bz", "Utf8")]);
        assert_eq!(drift.retyped[0].item.as_deref(), Some("年龄"));
        assert!(!drift.is_breaking());
        let lost = Drift::between(Some(&before), &[column("nl", "Int32")], &mapping);
        assert_eq!(lost.items_without_column, vec!["姓名".to_owned()]);
        assert!(lost.is_breaking());
        assert!(lost.summary().contains("姓名"));
    }
}
