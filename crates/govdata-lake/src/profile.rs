//! Preview and profile for providers: the first rows, and per column the
//! null share, distinct count (HyperLogLog estimate) and min/max — enough to
//! see at a glance whether an aggregation did what was meant.

use std::sync::Arc;

use deltalake::arrow::array::{AsArray, RecordBatch};
use deltalake::arrow::datatypes::{DataType, Int64Type, UInt64Type};
use deltalake::datafusion::catalog::TableProvider;
use deltalake::datafusion::functions_aggregate::expr_fn::{approx_distinct, count, max, min};
use deltalake::datafusion::logical_expr::{col, lit, Expr};
use deltalake::datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::table::quote;
use crate::LakeError;

/// Most rows a preview shows.
pub const MAX_PREVIEW_ROWS: usize = 1000;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Preview {
    pub columns: Vec<String>,
    /// One JSON object per row; dates as `YYYY-MM-DD`, decimals as text.
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// The first `limit` rows (at most [`MAX_PREVIEW_ROWS`]).
pub async fn preview(
    ctx: &SessionContext,
    table: Arc<dyn TableProvider>,
    limit: usize,
) -> Result<Preview, LakeError> {
    let columns = table.schema().fields().iter().map(|f| f.name().clone()).collect();
    let batches = ctx.read_table(table)?.limit(0, Some(limit.min(MAX_PREVIEW_ROWS)))?.collect().await?;
    Ok(Preview { columns, rows: to_json_rows(&batches)? })
}

/// Rows as JSON objects, keeping nulls so every row has every column.
pub fn to_json_rows(
    batches: &[RecordBatch],
) -> Result<Vec<serde_json::Map<String, serde_json::Value>>, LakeError> {
    let bytes = write_json::<deltalake::arrow::json::writer::JsonArray>(batches)?;
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    Ok(serde_json::from_slice(&bytes).map_err(std::io::Error::from)?)
}

/// The same rows as [`to_json_rows`], left as the JSON text arrow writes:
/// for answers that pass rows on without reading them, which spares
/// building a map of strings per row only to write it out again.
pub fn to_raw_json_rows(batches: &[RecordBatch]) -> Result<Vec<Box<serde_json::value::RawValue>>, LakeError> {
    let bytes = write_json::<deltalake::arrow::json::writer::LineDelimited>(batches)?;
    let text = String::from_utf8(bytes).map_err(std::io::Error::other)?;
    text.lines()
        .map(
            |row| Ok(serde_json::value::RawValue::from_string(row.to_owned()).map_err(std::io::Error::from)?),
        )
        .collect()
}

fn write_json<F: deltalake::arrow::json::writer::JsonFormat>(
    batches: &[RecordBatch],
) -> Result<Vec<u8>, LakeError> {
    let mut writer =
        deltalake::arrow::json::WriterBuilder::new().with_explicit_nulls(true).build::<_, F>(Vec::new());
    for batch in batches {
        writer.write(batch)?;
    }
    writer.finish()?;
    Ok(writer.into_inner())
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ColumnProfile {
    pub name: String,
    pub data_type: String,
    pub nulls: u64,
    /// Share of rows that are null, 0 to 1.
    pub null_share: f64,
    /// Estimated number of distinct values (HyperLogLog).
    pub distinct: u64,
    #[schema(value_type = Object)]
    pub min: serde_json::Value,
    #[schema(value_type = Object)]
    pub max: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TableProfile {
    pub rows: u64,
    pub columns: Vec<ColumnProfile>,
}

/// One pass over the table computing every column's statistics.
pub async fn profile(ctx: &SessionContext, table: Arc<dyn TableProvider>) -> Result<TableProfile, LakeError> {
    let schema = table.schema();
    let mut aggregates: Vec<Expr> = vec![count(lit(1)).alias("rows")];
    for (i, field) in schema.fields().iter().enumerate() {
        let column = col(quote(field.name()));
        aggregates.push(count(column.clone()).alias(format!("c{i}_present")));
        aggregates.push(approx_distinct(column.clone()).alias(format!("c{i}_distinct")));
        if orderable(field.data_type()) {
            aggregates.push(min(column.clone()).alias(format!("c{i}_min")));
            aggregates.push(max(column).alias(format!("c{i}_max")));
        }
    }
    let batches = ctx.read_table(table)?.aggregate(vec![], aggregates)?.collect().await?;
    let Some(batch) = batches.first().filter(|b| b.num_rows() == 1) else {
        return Ok(TableProfile { rows: 0, columns: Vec::new() });
    };
    let number = |name: &str| -> u64 {
        batch.column_by_name(name).map_or(0, |c| match c.data_type() {
            DataType::Int64 => c.as_primitive::<Int64Type>().value(0).max(0) as u64,
            DataType::UInt64 => c.as_primitive::<UInt64Type>().value(0),
            _ => 0,
        })
    };
    let single = |name: &str| -> Result<serde_json::Value, LakeError> {
        let Some(index) = batch.schema().index_of(name).ok() else { return Ok(serde_json::Value::Null) };
        let one = batch.project(&[index])?;
        Ok(to_json_rows(&[one])?
            .pop()
            .and_then(|mut row| row.remove(name))
            .unwrap_or(serde_json::Value::Null))
    };
    let rows = number("rows");
    let mut columns = Vec::with_capacity(schema.fields().len());
    for (i, field) in schema.fields().iter().enumerate() {
        let nulls = rows.saturating_sub(number(&format!("c{i}_present")));
        columns.push(ColumnProfile {
            name: field.name().clone(),
            data_type: field.data_type().to_string(),
            nulls,
            null_share: if rows == 0 { 0.0 } else { nulls as f64 / rows as f64 },
            distinct: number(&format!("c{i}_distinct")),
            min: single(&format!("c{i}_min"))?,
            max: single(&format!("c{i}_max"))?,
        });
    }
    Ok(TableProfile { rows, columns })
}

/// Types whose min and max mean something to a reader.
fn orderable(data_type: &DataType) -> bool {
    !matches!(data_type, DataType::Binary | DataType::LargeBinary | DataType::Boolean)
        && !data_type.is_nested()
}
