//! Conform: turn a source's batches into the catalog-shaped table's batches.
//!
//! Each mapped item's column is taken from its source column and converted to
//! the item's type. A row with any cell that does not convert (a bad date, a
//! number that overflows the item's precision, text longer than the item's
//! length, an invalid entity key) is rejected as a whole, with its row number,
//! the item and the reason; the rest of the batch goes on.

use std::sync::Arc;

use deltalake::arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, BooleanArray, BooleanBuilder, Date32Builder, Decimal128Builder,
    Float64Builder, Int64Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder, UInt64Array,
};
use deltalake::arrow::compute::kernels::cast_utils::parse_decimal;
use deltalake::arrow::compute::{cast, cast_with_options, filter, CastOptions};
use deltalake::arrow::datatypes::{DataType, Decimal128Type, SchemaRef};
use govdata_model::catalog::ItemType;
use govdata_model::validate;
use time::macros::format_description;
use time::{Date, PrimitiveDateTime};

use crate::mapping::{arrow_type, EntityKind, ItemMapping, MappedItem};
use crate::source::ROW_NUMBER_COLUMN;
use crate::{LakeError, RejectSink};

/// The entity key of a resource: which item holds it and what it identifies.
#[derive(Debug, Clone)]
pub struct EntityKey {
    pub item: String,
    pub kind: EntityKind,
}

/// Converts batches of one source to the target schema. Built once per job,
/// after the source's schema is known.
pub struct Conformer {
    columns: Vec<ConformColumn>,
    target: SchemaRef,
    rejects: RejectSink,
    /// Rows seen so far, for sources without [`ROW_NUMBER_COLUMN`].
    ordinal: u64,
}

struct ConformColumn {
    mapped: MappedItem,
    source_index: usize,
    entity: Option<EntityKind>,
}

impl Conformer {
    /// Fails when a mapped column is missing from the source, naming the
    /// mapping and what the source has instead.
    pub fn new(
        source: &SchemaRef,
        mapping: &ItemMapping,
        key: Option<&EntityKey>,
        rejects: RejectSink,
    ) -> Result<Conformer, LakeError> {
        let mut columns = Vec::with_capacity(mapping.mapped.len());
        for mapped in &mapping.mapped {
            let Ok(source_index) = source.index_of(&mapped.column) else {
                let available: Vec<&str> = source
                    .fields()
                    .iter()
                    .map(|f| f.name().as_str())
                    .filter(|n| *n != ROW_NUMBER_COLUMN)
                    .collect();
                return Err(LakeError::invalid(
                    "mapping",
                    format!(
                        "item {:?} is mapped to column {:?}, which the source does not have (it has: {})",
                        mapped.item.name,
                        mapped.column,
                        available.join(", ")
                    ),
                ));
            };
            let entity = key.filter(|k| k.item == mapped.item.name).map(|k| k.kind);
            columns.push(ConformColumn { mapped: mapped.clone(), source_index, entity });
        }
        Ok(Conformer { columns, target: mapping.target_schema(), rejects, ordinal: 0 })
    }

    pub fn target_schema(&self) -> SchemaRef {
        self.target.clone()
    }

    /// The conformed batch: rejected rows are reported and left out.
    pub fn conform(&mut self, batch: &RecordBatch) -> Result<RecordBatch, LakeError> {
        let rows = batch.num_rows();
        let row_numbers = self.row_numbers(batch);
        let mut problems: Vec<Option<(String, String)>> = vec![None; rows];
        let mut converted = Vec::with_capacity(self.columns.len());
        for column in &self.columns {
            let input = batch.column(column.source_index);
            let output = convert_column(column, input, &mut problems)?;
            converted.push(output);
        }
        let keep: BooleanArray = problems.iter().map(|p| Some(p.is_none())).collect();
        for (row, problem) in problems.into_iter().enumerate() {
            if let Some((item, reason)) = problem {
                self.rejects.reject(row_numbers[row], Some(&item), reason);
            }
        }
        let columns = if keep.true_count() == rows {
            converted
        } else {
            converted.iter().map(|c| filter(c, &keep)).collect::<Result<Vec<_>, _>>()?
        };
        Ok(RecordBatch::try_new(self.target.clone(), columns)?)
    }

    fn row_numbers(&mut self, batch: &RecordBatch) -> Vec<u64> {
        let rows = batch.num_rows();
        let given = batch
            .schema()
            .index_of(ROW_NUMBER_COLUMN)
            .ok()
            .and_then(|i| batch.column(i).as_any().downcast_ref::<UInt64Array>().cloned());
        let numbers = match given {
            Some(numbers) => numbers.values().to_vec(),
            None => (1..=rows as u64).map(|n| self.ordinal + n).collect(),
        };
        self.ordinal += rows as u64;
        numbers
    }
}

/// Records the first problem of a row; later ones add nothing a provider needs.
fn note(problems: &mut [Option<(String, String)>], row: usize, item: &str, reason: String) {
    if problems[row].is_none() {
        problems[row] = Some((item.to_owned(), reason));
    }
}

fn convert_column(
    column: &ConformColumn,
    input: &ArrayRef,
    problems: &mut [Option<(String, String)>],
) -> Result<ArrayRef, LakeError> {
    let item = &column.mapped.item;
    let target = arrow_type(item);
    let text_input = matches!(input.data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
    let output = if text_input && target != DataType::Utf8 {
        let text = cast(input, &DataType::Utf8)?;
        parse_text(item.type_code, &target, text.as_string::<i32>(), &item.name, problems)?
    } else {
        let options = CastOptions { safe: true, ..Default::default() };
        let output = cast_with_options(input, &target, &options)?;
        for row in 0..input.len() {
            if input.is_valid(row) && output.is_null(row) {
                note(
                    problems,
                    row,
                    &item.name,
                    format!("value cannot be stored as {}", type_label(item.type_code)),
                );
            }
        }
        output
    };
    let output = match (item.type_code, item.length) {
        (ItemType::Character, Some(length)) => {
            check_length(output.as_string::<i32>(), length, &item.name, problems);
            output
        }
        _ => output,
    };
    match column.entity {
        Some(kind) => Ok(normalize_keys(output.as_string_opt::<i32>(), kind, &item.name, problems)?),
        None => Ok(output),
    }
}

fn check_length(
    values: &deltalake::arrow::array::StringArray,
    length: u32,
    item: &str,
    problems: &mut [Option<(String, String)>],
) {
    for (row, value) in values.iter().enumerate() {
        if let Some(value) = value {
            let chars = value.chars().count();
            if chars > length as usize {
                note(problems, row, item, format!("{chars} characters, longer than the item's {length}"));
            }
        }
    }
}

/// Replaces each key by its canonical form (upper-case check character, 18
/// digits); an empty or invalid key rejects the row, since a record nobody
/// can be joined on is of no use to a base library.
fn normalize_keys(
    values: Option<&deltalake::arrow::array::StringArray>,
    kind: EntityKind,
    item: &str,
    problems: &mut [Option<(String, String)>],
) -> Result<ArrayRef, LakeError> {
    let Some(values) = values else {
        return Err(LakeError::invalid(
            "entity_key",
            format!("the entity key item {item:?} must be text (type C)"),
        ));
    };
    let mut out = StringBuilder::with_capacity(values.len(), values.value_data().len());
    for (row, value) in values.iter().enumerate() {
        let Some(value) = value else {
            note(problems, row, item, "the entity key is empty".to_owned());
            out.append_null();
            continue;
        };
        let checked = match kind {
            EntityKind::Person => validate::id_number(value),
            EntityKind::Enterprise => validate::uscc(value),
        };
        match checked.normalized {
            Some(normalized) => out.append_value(normalized),
            None => {
                note(problems, row, item, checked.errors.join("; "));
                out.append_null();
            }
        }
    }
    Ok(Arc::new(out.finish()))
}

fn type_label(code: ItemType) -> &'static str {
    match code {
        ItemType::Character => "text (C)",
        ItemType::Numeric => "a number (N)",
        ItemType::Currency => "an amount (Y)",
        ItemType::Date => "a date (D)",
        ItemType::DateTime => "a date and time (T)",
        ItemType::Logical => "a yes/no value (L)",
        ItemType::Memo => "text (M)",
        ItemType::General => "an object (G)",
        ItemType::Binary => "binary data (B)",
        ItemType::Integer => "an integer (I)",
        ItemType::Float => "a floating-point number (F)",
    }
}

/// Parses text cells into `target`, noting every cell that does not parse.
fn parse_text(
    code: ItemType,
    target: &DataType,
    values: &deltalake::arrow::array::StringArray,
    item: &str,
    problems: &mut [Option<(String, String)>],
) -> Result<ArrayRef, LakeError> {
    let len = values.len();
    macro_rules! parse_into {
        ($builder:expr, $parse:expr) => {{
            let mut builder = $builder;
            for (row, value) in values.iter().enumerate() {
                match value.map(str::trim).filter(|v| !v.is_empty()) {
                    None => builder.append_null(),
                    Some(text) => match $parse(text) {
                        Some(parsed) => builder.append_value(parsed),
                        None => {
                            note(problems, row, item, format!("{text:?} is not {}", type_label(code)));
                            builder.append_null();
                        }
                    },
                }
            }
            Arc::new(builder.finish()) as ArrayRef
        }};
    }
    Ok(match target {
        DataType::Int64 => parse_into!(Int64Builder::with_capacity(len), |t: &str| t.parse::<i64>().ok()),
        DataType::Float64 => {
            parse_into!(Float64Builder::with_capacity(len), |t: &str| t
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite()))
        }
        DataType::Decimal128(precision, scale) => {
            let builder =
                Decimal128Builder::with_capacity(len).with_precision_and_scale(*precision, *scale)?;
            parse_into!(builder, |t: &str| parse_decimal::<Decimal128Type>(
                &t.replace(',', ""),
                *precision,
                *scale
            )
            .ok())
        }
        DataType::Date32 => parse_into!(Date32Builder::with_capacity(len), parse_date),
        DataType::Timestamp(_, _) => {
            parse_into!(TimestampMicrosecondBuilder::with_capacity(len), parse_date_time)
        }
        DataType::Boolean => parse_into!(BooleanBuilder::with_capacity(len), parse_logical),
        DataType::Binary => parse_into!(BinaryBuilder::with_capacity(len, 0), parse_hex),
        other => {
            return Err(LakeError::invalid("mapping", format!("text cannot be converted to {other}")));
        }
    })
}

/// Days since 1970-01-01 of a date written YYYYMMDD, YYYY-MM-DD, YYYY/MM/DD
/// or YYYY年M月D日.
fn parse_date(text: &str) -> Option<i32> {
    let digits: Vec<u32> = text
        .split(['-', '/', '.', '年', '月', '日'])
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u32>().ok())
        .collect::<Option<_>>()?;
    let (year, month, day) = match digits.as_slice() {
        [compact] if text.len() == 8 => (compact / 10_000, compact / 100 % 100, compact % 100),
        [year, month, day] => (*year, *month, *day),
        _ => return None,
    };
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date = Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?).ok()?;
    Some(date.to_julian_day() - UNIX_EPOCH_JULIAN_DAY)
}

const UNIX_EPOCH_JULIAN_DAY: i32 = 2_440_588;

/// Microseconds since 1970-01-01T00:00 (local time, no zone) of a date and
/// time written YYYYMMDDhhmmss, "YYYY-MM-DD hh:mm:ss[.ffffff]", ISO 8601 with
/// `T`, or a bare date (midnight).
fn parse_date_time(text: &str) -> Option<i64> {
    let compact = format_description!("[year][month][day][hour][minute][second]");
    let spaced = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let spaced_fraction = format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond]");
    let iso = text.replacen('T', " ", 1).replace('/', "-");
    let iso = iso.trim_end_matches('Z');
    let parsed = PrimitiveDateTime::parse(text, compact)
        .or_else(|_| PrimitiveDateTime::parse(iso, spaced))
        .or_else(|_| PrimitiveDateTime::parse(iso, spaced_fraction))
        .ok()
        .or_else(|| {
            let days = parse_date(text)?;
            Some(PrimitiveDateTime::new(
                Date::from_julian_day(days + UNIX_EPOCH_JULIAN_DAY).ok()?,
                time::Time::MIDNIGHT,
            ))
        })?;
    let seconds = parsed.assume_utc().unix_timestamp();
    Some(seconds * 1_000_000 + i64::from(parsed.microsecond()))
}

fn parse_logical(text: &str) -> Option<bool> {
    match text.to_lowercase().as_str() {
        "1" | "true" | "t" | "y" | "yes" | "是" | "真" => Some(true),
        "0" | "false" | "f" | "n" | "no" | "否" | "假" => Some(false),
        _ => None,
    }
}

fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let text = text.strip_prefix("0x").or_else(|| text.strip_prefix("\\x")).unwrap_or(text);
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use deltalake::arrow::array::{Date32Array, Decimal128Array, StringArray};
    use deltalake::arrow::datatypes::{Field, Schema};
    use govdata_model::catalog::InfoItem;

    use super::*;
    use crate::mapping::ColumnMapping;

    fn mapping(items: &[InfoItem], columns: &[&str]) -> ItemMapping {
        let mapping: Vec<ColumnMapping> = items
            .iter()
            .zip(columns)
            .map(|(i, c)| ColumnMapping {
                item: i.name.clone(),
                column: Some((*c).into()),
                absent_reason: None,
            })
            .collect();
        ItemMapping::new(items, &mapping).unwrap()
    }

    fn text_batch(columns: &[(&str, Vec<Option<&str>>)]) -> RecordBatch {
        let rows = columns[0].1.len() as u64;
        let mut fields = vec![Field::new(ROW_NUMBER_COLUMN, DataType::UInt64, false)];
        let mut arrays: Vec<ArrayRef> = vec![Arc::new(UInt64Array::from_iter_values(1..=rows))];
        for (name, values) in columns {
            fields.push(Field::new(*name, DataType::Utf8, true));
            arrays.push(Arc::new(StringArray::from(values.clone())));
        }
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
    }

    #[test]
    fn parses_chinese_date_and_amount_forms() {
        assert_eq!(parse_date("19700102"), Some(1));
        assert_eq!(parse_date("1970-01-02"), Some(1));
        assert_eq!(parse_date("1970年1月2日"), Some(1));
        assert_eq!(parse_date("19700230"), None);
        assert_eq!(parse_date_time("19700101000001"), Some(1_000_000));
        assert_eq!(parse_date_time("1970-01-01 00:00:01.5"), Some(1_500_000));
        assert_eq!(parse_date_time("1970-01-01T00:00:01Z"), Some(1_000_000));
        assert_eq!(parse_logical("是"), Some(true));
        assert_eq!(parse_hex("0x0aff"), Some(vec![0x0a, 0xff]));
    }

    #[test]
    fn bad_cells_reject_their_row_with_number_item_and_reason() {
        let mut amount = InfoItem::new("金额", ItemType::Currency, Some(8));
        amount.scale = Some(2);
        let items = vec![
            InfoItem::new("名称", ItemType::Character, Some(4)),
            InfoItem::new("日期", ItemType::Date, Some(8)),
            amount,
        ];
        let batch = text_batch(&[
            ("mc", vec![Some("甲"), Some("乙"), Some("太长的名称啊"), Some("丁")]),
            ("rq", vec![Some("20240131"), Some("2024-02-30"), Some("20240101"), None]),
            ("je", vec![Some("1,234.5"), Some("1"), Some("2"), Some("123456789")]),
        ]);
        let rejects = RejectSink::default();
        let mut conformer =
            Conformer::new(&batch.schema(), &mapping(&items, &["mc", "rq", "je"]), None, rejects.clone())
                .unwrap();
        let out = conformer.conform(&batch).unwrap();
        assert_eq!(out.num_rows(), 1);
        let dates = out.column(1).as_any().downcast_ref::<Date32Array>().unwrap();
        assert_eq!(dates.value(0), parse_date("20240131").unwrap());
        let amounts = out.column(2).as_any().downcast_ref::<Decimal128Array>().unwrap();
        assert_eq!(amounts.value(0), 123_450);
        let rejected = rejects.snapshot();
        assert_eq!(rejected.count, 3);
        let rows: Vec<(u64, Option<&str>)> =
            rejected.sample.iter().map(|r| (r.row, r.column.as_deref())).collect();
        assert_eq!(rows, vec![(2, Some("日期")), (3, Some("名称")), (4, Some("金额"))]);
    }

    #[test]
    fn entity_keys_are_validated_and_normalized() {
        let items = vec![InfoItem::new("身份证号", ItemType::Character, Some(18))];
        let id = format!("11010519491231002{}", validate::id_check_char("11010519491231002"));
        let lower = id.to_lowercase();
        let batch = text_batch(&[("sfzh", vec![Some(lower.as_str()), Some("110105194912310021"), None])]);
        let key = EntityKey { item: "身份证号".into(), kind: EntityKind::Person };
        let rejects = RejectSink::default();
        let mut conformer =
            Conformer::new(&batch.schema(), &mapping(&items, &["sfzh"]), Some(&key), rejects.clone())
                .unwrap();
        let out = conformer.conform(&batch).unwrap();
        let valid_rows = if id.ends_with('1') { 2 } else { 1 };
        assert_eq!(out.num_rows(), valid_rows);
        assert_eq!(out.column(0).as_string::<i32>().value(0), id);
        assert_eq!(rejects.snapshot().count, 3 - valid_rows as u64);
    }

    #[test]
    fn a_missing_source_column_names_what_the_source_has() {
        let items = vec![InfoItem::new("名称", ItemType::Character, Some(10))];
        let batch = text_batch(&[("name", vec![Some("a")])]);
        let err = Conformer::new(&batch.schema(), &mapping(&items, &["mc"]), None, RejectSink::default())
            .err()
            .unwrap();
        assert!(err.to_string().contains("it has: name"), "{err}");
    }
}
