//! Masking (脱敏): what a consumer sees of a granted field.
//!
//! A grant fixes one rule per field. Defaults follow DESIGN.md §6 and are
//! chosen from the item's sensitivity category — the provider's, or the
//! name-based suggestion when the provider set none — so an unlabelled ID
//! column is still masked. Masked columns leave as text; the raw value of a
//! masked field appears in no output format.

use std::collections::BTreeMap;
use std::sync::Arc;

use govdata_lake::arrow::array::{new_null_array, Array, ArrayRef, AsArray, RecordBatch, StringArray};
use govdata_lake::arrow::compute::cast;
use govdata_lake::arrow::datatypes::{DataType, Field, Schema};
use govdata_lake::LakeError;
use govdata_model::catalog::{InfoItem, SensitivityCategory, SensitivityRules};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// How one field is shown to the consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MaskRule {
    /// As stored.
    Clear,
    /// Surname kept: 张三丰 → 张**.
    Name,
    /// First 6 and last 4 kept: 110101********1234.
    IdNumber,
    /// First 3 and last 4 kept: 138****5678.
    Phone,
    /// HMAC-SHA256 under the grant's own key: equal values give equal
    /// hashes within one grant, and the value cannot be recovered.
    Hash,
    /// Always null: the consumer learns only that the field exists.
    Null,
    /// A date reduced to its year.
    Year,
}

impl MaskRule {
    /// The default for an item: by its sensitivity category, or by the
    /// category its name suggests.
    pub fn default_for(item: &InfoItem, rules: &SensitivityRules) -> MaskRule {
        let category = item.sensitivity.or_else(|| rules.suggest(&item.name).map(|s| s.category));
        match category {
            None | Some(SensitivityCategory::Address) | Some(SensitivityCategory::OtherPersonal) => {
                MaskRule::Clear
            }
            Some(SensitivityCategory::PersonName) => MaskRule::Name,
            Some(SensitivityCategory::IdentityNumber) => MaskRule::IdNumber,
            Some(SensitivityCategory::Contact) => MaskRule::Phone,
            Some(SensitivityCategory::BirthDate) => MaskRule::Year,
            Some(SensitivityCategory::Credential) => MaskRule::Null,
            Some(_) => MaskRule::Hash,
        }
    }

    /// The masked form of one value; `None` for [`MaskRule::Null`].
    pub fn apply(self, value: &str, key: &[u8]) -> Option<String> {
        let chars: Vec<char> = value.chars().collect();
        let keep = |head: usize, tail: usize| -> String {
            if chars.len() <= head + tail {
                return "*".repeat(chars.len());
            }
            let stars = chars.len() - head - tail;
            chars[..head]
                .iter()
                .chain(std::iter::repeat_n(&'*', stars))
                .chain(&chars[chars.len() - tail..])
                .collect()
        };
        match self {
            MaskRule::Clear => Some(value.to_owned()),
            MaskRule::Name => Some(match chars.split_first() {
                Some((first, rest)) => std::iter::once(*first).chain(rest.iter().map(|_| '*')).collect(),
                None => String::new(),
            }),
            MaskRule::IdNumber => Some(keep(6, 4)),
            MaskRule::Phone => Some(keep(3, 4)),
            MaskRule::Hash => {
                let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
                mac.update(value.as_bytes());
                Some(hex::encode(mac.finalize().into_bytes()))
            }
            MaskRule::Null => None,
            MaskRule::Year => Some(value.chars().filter(char::is_ascii_digit).take(4).collect()),
        }
    }
}

/// Applies each column's rule to a batch whose columns are granted items.
/// Columns without a rule, or with [`MaskRule::Clear`], pass unchanged.
pub fn mask_batch(
    batch: &RecordBatch,
    rules: &BTreeMap<String, MaskRule>,
    key: &[u8],
) -> Result<RecordBatch, LakeError> {
    let schema = batch.schema();
    let mut fields = Vec::with_capacity(schema.fields().len());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        let rule = rules.get(field.name()).copied().unwrap_or(MaskRule::Clear);
        if rule == MaskRule::Clear {
            fields.push(field.as_ref().clone());
            columns.push(column.clone());
            continue;
        }
        let masked: ArrayRef = if rule == MaskRule::Null {
            new_null_array(&DataType::Utf8, column.len())
        } else {
            Arc::new(StringArray::from(map_text(column, |value| value.and_then(|v| rule.apply(v, key)))?))
        };
        fields.push(Field::new(field.name(), DataType::Utf8, true));
        columns.push(masked);
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
}

/// `f` of each value of `column` as text: string columns (the lake's string
/// views, or plain strings) are read as they are, any other type is cast.
pub(crate) fn map_text<T>(column: &ArrayRef, f: impl FnMut(Option<&str>) -> T) -> Result<Vec<T>, LakeError> {
    if let Some(view) = column.as_string_view_opt() {
        return Ok(view.iter().map(f).collect());
    }
    if let Some(text) = column.as_string_opt::<i32>() {
        return Ok(text.iter().map(f).collect());
    }
    Ok(cast(column, &DataType::Utf8)?.as_string::<i32>().iter().map(f).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use govdata_lake::arrow::array::{Date32Array, Int64Array};
    use govdata_model::catalog::ItemType;

    #[test]
    fn rules_keep_what_design_says() {
        let key = b"k";
        assert_eq!(MaskRule::Name.apply("张三丰", key).unwrap(), "张**");
        assert_eq!(MaskRule::Name.apply("欧阳", key).unwrap(), "欧*");
        assert_eq!(MaskRule::IdNumber.apply("110101199003070012", key).unwrap(), "110101********0012");
        assert_eq!(MaskRule::Phone.apply("13812345678", key).unwrap(), "138****5678");
        assert_eq!(MaskRule::Phone.apply("12345", key).unwrap(), "*****");
        assert_eq!(MaskRule::Year.apply("1990-03-07", key).unwrap(), "1990");
        assert_eq!(MaskRule::Null.apply("secret", key), None);
        let hashed = MaskRule::Hash.apply("110101199003070012", key).unwrap();
        assert_eq!(hashed.len(), 64);
        assert_eq!(MaskRule::Hash.apply("110101199003070012", key).unwrap(), hashed);
        assert_ne!(MaskRule::Hash.apply("110101199003070012", b"other").unwrap(), hashed);
    }

    #[test]
    fn defaults_come_from_the_category_or_the_name() {
        let rules = SensitivityRules::default();
        let named = |name: &str| InfoItem::new(name, ItemType::Character, Some(18));
        assert_eq!(MaskRule::default_for(&named("公民身份号码"), &rules), MaskRule::IdNumber);
        assert_eq!(MaskRule::default_for(&named("姓名"), &rules), MaskRule::Name);
        assert_eq!(MaskRule::default_for(&named("联系电话"), &rules), MaskRule::Phone);
        assert_eq!(MaskRule::default_for(&named("出生日期"), &rules), MaskRule::Year);
        assert_eq!(MaskRule::default_for(&named("参保状态"), &rules), MaskRule::Clear);
        let mut labelled = named("备注");
        labelled.sensitivity = Some(SensitivityCategory::Health);
        assert_eq!(MaskRule::default_for(&labelled, &rules), MaskRule::Hash);
    }

    #[test]
    fn masked_columns_never_carry_the_raw_value() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("身份证号", DataType::Utf8, true),
            Field::new("出生日期", DataType::Date32, true),
            Field::new("金额", DataType::Int64, true),
            Field::new("密码", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec![Some("110101199003070012"), None])),
                Arc::new(Date32Array::from(vec![Some(7370), Some(0)])),
                Arc::new(Int64Array::from(vec![5, 6])),
                Arc::new(StringArray::from(vec!["p1", "p2"])),
            ],
        )
        .unwrap();
        let rules = BTreeMap::from([
            ("身份证号".to_owned(), MaskRule::IdNumber),
            ("出生日期".to_owned(), MaskRule::Year),
            ("密码".to_owned(), MaskRule::Null),
        ]);
        let masked = mask_batch(&batch, &rules, b"k").unwrap();
        let text = |i: usize| masked.column(i).as_any().downcast_ref::<StringArray>().unwrap().clone();
        assert_eq!(text(0).value(0), "110101********0012");
        assert!(text(0).is_null(1));
        assert_eq!(text(1).value(0), "1990");
        assert_eq!(text(1).value(1), "1970");
        assert_eq!(masked.column(2).data_type(), &DataType::Int64);
        assert_eq!(masked.column(3).null_count(), 2);
    }
}
