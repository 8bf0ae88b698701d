//! The physical scan: one query, streamed into record batches.

use std::fmt;
use std::sync::Arc;

use deltalake::arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder,
    Float64Builder, Int16Builder, Int32Builder, Int64Builder, Int8Builder, RecordBatch, RecordBatchOptions,
    StringBuilder, Time64MicrosecondBuilder, TimestampMicrosecondBuilder,
};
use deltalake::arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use deltalake::datafusion::common::tree_node::TreeNodeRecursion;
use deltalake::datafusion::common::{exec_datafusion_err, DataFusionError, Result};
use deltalake::datafusion::execution::{SendableRecordBatchStream, TaskContext};
use deltalake::datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use deltalake::datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use deltalake::datafusion::physical_plan::stream::RecordBatchReceiverStreamBuilder;
use deltalake::datafusion::physical_plan::{
    ChildrenPropertiesMode, DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    ReplaceChildrenOptions,
};
use futures::{Stream, TryStreamExt};
use sqlx::{ColumnIndex, Decode, Row, Type};
use tokio::sync::mpsc::Sender;

use super::columns::{SourcePool, Wire};
use super::SqlDialect;

/// Scans run in a read-only transaction: a provider's query cannot write
/// even if it calls functions that would.
const READ_ONLY: &str = "START TRANSACTION READ ONLY";
/// Batches buffered ahead of the consumer.
const CHANNEL_CAPACITY: usize = 2;

/// Reads one source query as a single partition.
#[derive(Debug)]
pub(crate) struct SqlScanExec {
    dialect: SqlDialect,
    /// Where, for error messages: `PostgreSQL at host:port`.
    source: Arc<str>,
    sql: Arc<str>,
    wires: Arc<[Wire]>,
    pool: SourcePool,
    properties: Arc<PlanProperties>,
}

impl SqlScanExec {
    pub fn new(
        dialect: SqlDialect,
        source: Arc<str>,
        sql: String,
        schema: SchemaRef,
        wires: Vec<Wire>,
        pool: SourcePool,
    ) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        SqlScanExec {
            dialect,
            source,
            sql: sql.into(),
            wires: wires.into(),
            pool,
            properties: Arc::new(properties),
        }
    }
}

impl DisplayAs for SqlScanExec {
    fn fmt_as(&self, format: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line per plan node: a query relation's newlines show as `\n`.
        let sql = self.sql.replace('\n', "\\n");
        match format {
            DisplayFormatType::Default | DisplayFormatType::Verbose => {
                write!(f, "SqlScanExec: dialect={}, sql={sql}", self.dialect.label())
            }
            DisplayFormatType::TreeRender => write!(f, "sql={sql}"),
        }
    }
}

impl ExecutionPlan for SqlScanExec {
    fn name(&self) -> &str {
        "SqlScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn replace_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(children, ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute))
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        if partition != 0 {
            return Err(DataFusionError::Internal(format!("SqlScanExec has one partition, not {partition}")));
        }
        let batch_size = context.session_config().batch_size();
        let batches = BatchBuilder::new(self.schema(), Arc::clone(&self.wires), batch_size)?;
        let mut stream = RecordBatchReceiverStreamBuilder::new(self.schema(), CHANNEL_CAPACITY);
        let tx = stream.tx();
        let sql = Arc::clone(&self.sql);
        let source = Arc::clone(&self.source);
        match self.pool.clone() {
            SourcePool::Postgres(pool) => stream.spawn(async move {
                let mut transaction =
                    pool.begin_with(READ_ONLY).await.map_err(|e| read_error(&source, &e))?;
                let rows = sqlx::query(&sql).persistent(false).fetch(&mut *transaction);
                if pump(rows, batches, &tx, &source).await? {
                    transaction.commit().await.map_err(|e| read_error(&source, &e))?;
                }
                Ok::<_, DataFusionError>(())
            }),
            SourcePool::Mysql(pool) => stream.spawn(async move {
                let mut transaction =
                    pool.begin_with(READ_ONLY).await.map_err(|e| read_error(&source, &e))?;
                let rows = sqlx::query(&sql).persistent(false).fetch(&mut *transaction);
                if pump(rows, batches, &tx, &source).await? {
                    transaction.commit().await.map_err(|e| read_error(&source, &e))?;
                }
                Ok::<_, DataFusionError>(())
            }),
        }
        Ok(stream.build())
    }
}

fn read_error(source: &str, error: &sqlx::Error) -> DataFusionError {
    let detail = match error {
        sqlx::Error::Database(db) => db.message().to_owned(),
        other => other.to_string(),
    };
    exec_datafusion_err!("reading from {source} failed: {detail}")
}

/// Moves rows into batches of `batch_size` and sends them on; `false` if the
/// consumer went away before the end.
async fn pump<R, S>(
    mut rows: S,
    mut batches: BatchBuilder,
    tx: &Sender<Result<RecordBatch>>,
    source: &str,
) -> Result<bool>
where
    R: ReadRow,
    S: Stream<Item = Result<R, sqlx::Error>> + Unpin,
{
    while let Some(row) = rows.try_next().await.map_err(|e| read_error(source, &e))? {
        batches.push(&row, source)?;
        if batches.is_full() && tx.send(Ok(batches.finish()?)).await.is_err() {
            return Ok(false);
        }
    }
    if !batches.is_empty() && tx.send(Ok(batches.finish()?)).await.is_err() {
        return Ok(false);
    }
    Ok(true)
}

/// A value as the driver hands it over, borrowed from the row.
#[derive(Debug)]
pub(crate) enum Value<'r> {
    Null,
    Bool(bool),
    Int(i64),
    F32(f32),
    F64(f64),
    Text(&'r str),
    Bytes(&'r [u8]),
}

/// A row that can be read by [`Wire`].
pub(crate) trait ReadRow {
    fn value(&self, index: usize, wire: Wire) -> Result<Value<'_>, sqlx::Error>;
}

impl ReadRow for sqlx::postgres::PgRow {
    fn value(&self, index: usize, wire: Wire) -> Result<Value<'_>, sqlx::Error> {
        decode(self, index, wire)
    }
}

impl ReadRow for sqlx::mysql::MySqlRow {
    fn value(&self, index: usize, wire: Wire) -> Result<Value<'_>, sqlx::Error> {
        decode(self, index, wire)
    }
}

fn decode<'r, R>(row: &'r R, index: usize, wire: Wire) -> Result<Value<'r>, sqlx::Error>
where
    R: Row,
    usize: ColumnIndex<R>,
    bool: Decode<'r, R::Database> + Type<R::Database>,
    i16: Decode<'r, R::Database> + Type<R::Database>,
    i32: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    f32: Decode<'r, R::Database> + Type<R::Database>,
    f64: Decode<'r, R::Database> + Type<R::Database>,
    &'r str: Decode<'r, R::Database> + Type<R::Database>,
    &'r [u8]: Decode<'r, R::Database> + Type<R::Database>,
{
    fn or_null<T>(value: Option<T>, wrap: impl FnOnce(T) -> Value<'static>) -> Value<'static> {
        value.map_or(Value::Null, wrap)
    }
    Ok(match wire {
        Wire::Bool => or_null(row.try_get::<Option<bool>, _>(index)?, Value::Bool),
        Wire::I16 => or_null(row.try_get::<Option<i16>, _>(index)?, |v| Value::Int(v.into())),
        Wire::I32 => or_null(row.try_get::<Option<i32>, _>(index)?, |v| Value::Int(v.into())),
        Wire::I64 => or_null(row.try_get::<Option<i64>, _>(index)?, Value::Int),
        Wire::F32 => or_null(row.try_get::<Option<f32>, _>(index)?, Value::F32),
        Wire::F64 => or_null(row.try_get::<Option<f64>, _>(index)?, Value::F64),
        // Unchecked: MySQL flags text with a binary collation (`utf8mb4_bin`)
        // as BINARY, which the checked decode refuses, although the server
        // sends it as UTF-8 like any text; the decode still checks UTF-8.
        Wire::Text => row.try_get_unchecked::<Option<&str>, _>(index)?.map_or(Value::Null, Value::Text),
        Wire::Bytes => row.try_get::<Option<&[u8]>, _>(index)?.map_or(Value::Null, Value::Bytes),
    })
}

/// Accumulates rows into Arrow arrays.
struct BatchBuilder {
    schema: SchemaRef,
    columns: Vec<ColumnBuilder>,
    wires: Arc<[Wire]>,
    rows: usize,
    batch_size: usize,
}

impl BatchBuilder {
    fn new(schema: SchemaRef, wires: Arc<[Wire]>, batch_size: usize) -> Result<Self> {
        let columns = schema
            .fields()
            .iter()
            .map(|field| ColumnBuilder::new(field.data_type(), batch_size))
            .collect::<Result<_>>()?;
        Ok(BatchBuilder { schema, columns, wires, rows: 0, batch_size })
    }

    fn push<R: ReadRow>(&mut self, row: &R, source: &str) -> Result<()> {
        for (index, (column, wire)) in self.columns.iter_mut().zip(self.wires.iter()).enumerate() {
            let appended =
                row.value(index, *wire).map_err(|e| e.to_string()).and_then(|value| column.append(value));
            if let Err(reason) = appended {
                let name = self.schema.field(index).name();
                return Err(exec_datafusion_err!("reading column \"{name}\" from {source}: {reason}"));
            }
        }
        self.rows += 1;
        Ok(())
    }

    fn is_full(&self) -> bool {
        self.rows >= self.batch_size
    }

    fn is_empty(&self) -> bool {
        self.rows == 0
    }

    fn finish(&mut self) -> Result<RecordBatch> {
        let arrays: Vec<ArrayRef> = self.columns.iter_mut().map(ColumnBuilder::finish).collect();
        // The row count matters when no column is selected (`count(*)`).
        let options = RecordBatchOptions::new().with_row_count(Some(self.rows));
        self.rows = 0;
        Ok(RecordBatch::try_new_with_options(Arc::clone(&self.schema), arrays, &options)?)
    }
}

enum ColumnBuilder {
    Boolean(BooleanBuilder),
    Int8(Int8Builder),
    Int16(Int16Builder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Float32(Float32Builder),
    Float64(Float64Builder),
    Decimal(Decimal128Builder, i8),
    Utf8(StringBuilder),
    Binary(BinaryBuilder),
    Date32(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
    Time64(Time64MicrosecondBuilder),
}

impl ColumnBuilder {
    fn new(data_type: &DataType, capacity: usize) -> Result<Self> {
        Ok(match data_type {
            DataType::Boolean => Self::Boolean(BooleanBuilder::with_capacity(capacity)),
            DataType::Int8 => Self::Int8(Int8Builder::with_capacity(capacity)),
            DataType::Int16 => Self::Int16(Int16Builder::with_capacity(capacity)),
            DataType::Int32 => Self::Int32(Int32Builder::with_capacity(capacity)),
            DataType::Int64 => Self::Int64(Int64Builder::with_capacity(capacity)),
            DataType::Float32 => Self::Float32(Float32Builder::with_capacity(capacity)),
            DataType::Float64 => Self::Float64(Float64Builder::with_capacity(capacity)),
            DataType::Decimal128(precision, scale) => Self::Decimal(
                Decimal128Builder::with_capacity(capacity).with_precision_and_scale(*precision, *scale)?,
                *scale,
            ),
            DataType::Utf8 => Self::Utf8(StringBuilder::with_capacity(capacity, capacity * 16)),
            DataType::Binary => Self::Binary(BinaryBuilder::with_capacity(capacity, capacity * 16)),
            DataType::Date32 => Self::Date32(Date32Builder::with_capacity(capacity)),
            DataType::Timestamp(TimeUnit::Microsecond, tz) => Self::Timestamp(
                TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone_opt(tz.clone()),
            ),
            DataType::Time64(TimeUnit::Microsecond) => {
                Self::Time64(Time64MicrosecondBuilder::with_capacity(capacity))
            }
            other => return Err(DataFusionError::Internal(format!("no SQL source column reads as {other}"))),
        })
    }

    fn append(&mut self, value: Value<'_>) -> Result<(), String> {
        if let Value::Null = value {
            self.append_null();
            return Ok(());
        }
        match (self, value) {
            (Self::Boolean(b), Value::Bool(v)) => b.append_value(v),
            (Self::Int8(b), Value::Int(v)) => b.append_value(narrow(v)?),
            (Self::Int16(b), Value::Int(v)) => b.append_value(narrow(v)?),
            (Self::Int32(b), Value::Int(v)) => b.append_value(narrow(v)?),
            (Self::Int64(b), Value::Int(v)) => b.append_value(v),
            (Self::Float32(b), Value::F32(v)) => b.append_value(v),
            (Self::Float64(b), Value::F64(v)) => b.append_value(v),
            (Self::Decimal(b, scale), Value::Text(v)) => b.append_value(parse_decimal(v, *scale)?),
            (Self::Utf8(b), Value::Text(v)) => b.append_value(v),
            (Self::Binary(b), Value::Bytes(v)) => b.append_value(v),
            (Self::Date32(b), Value::Int(v)) => b.append_value(narrow(v)?),
            (Self::Timestamp(b), Value::Int(v)) => b.append_value(v),
            (Self::Time64(b), Value::Int(v)) => b.append_value(v),
            (_, value) => return Err(format!("unexpected value {value:?}")),
        }
        Ok(())
    }

    fn append_null(&mut self) {
        match self {
            Self::Boolean(b) => b.append_null(),
            Self::Int8(b) => b.append_null(),
            Self::Int16(b) => b.append_null(),
            Self::Int32(b) => b.append_null(),
            Self::Int64(b) => b.append_null(),
            Self::Float32(b) => b.append_null(),
            Self::Float64(b) => b.append_null(),
            Self::Decimal(b, _) => b.append_null(),
            Self::Utf8(b) => b.append_null(),
            Self::Binary(b) => b.append_null(),
            Self::Date32(b) => b.append_null(),
            Self::Timestamp(b) => b.append_null(),
            Self::Time64(b) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Self::Boolean(b) => Arc::new(b.finish()),
            Self::Int8(b) => Arc::new(b.finish()),
            Self::Int16(b) => Arc::new(b.finish()),
            Self::Int32(b) => Arc::new(b.finish()),
            Self::Int64(b) => Arc::new(b.finish()),
            Self::Float32(b) => Arc::new(b.finish()),
            Self::Float64(b) => Arc::new(b.finish()),
            Self::Decimal(b, _) => Arc::new(b.finish()),
            Self::Utf8(b) => Arc::new(b.finish()),
            Self::Binary(b) => Arc::new(b.finish()),
            Self::Date32(b) => Arc::new(b.finish()),
            Self::Timestamp(b) => Arc::new(b.finish()),
            Self::Time64(b) => Arc::new(b.finish()),
        }
    }
}

fn narrow<T: TryFrom<i64>>(value: i64) -> Result<T, String> {
    T::try_from(value).map_err(|_| format!("{value} is out of range"))
}

/// Decimal text (`-123.45`) as an integer scaled by `10^scale`.
fn parse_decimal(text: &str, scale: i8) -> Result<i128, String> {
    let invalid = || format!("{text:?} is not a decimal of scale {scale}");
    let scale = usize::try_from(scale).map_err(|_| invalid())?;
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    // Trailing zeros beyond the scale carry no value.
    let fraction = match fraction.get(scale..) {
        Some(extra) if extra.bytes().all(|b| b == b'0') => &fraction[..scale],
        _ => fraction,
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty())
        || !all_digits(whole)
        || !all_digits(fraction)
        || fraction.len() > scale
    {
        return Err(invalid());
    }
    let padding = std::iter::repeat_n(b'0', scale - fraction.len());
    let mut value: i128 = 0;
    for digit in whole.bytes().chain(fraction.bytes()).chain(padding) {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(digit - b'0')))
            .ok_or_else(|| format!("{text:?} is too large"))?;
    }
    Ok(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimal_text() {
        assert_eq!(parse_decimal("123.45", 2), Ok(12_345));
        assert_eq!(parse_decimal("-0.05", 2), Ok(-5));
        assert_eq!(parse_decimal("7", 2), Ok(700));
        assert_eq!(parse_decimal("1.500", 2), Ok(150));
        assert_eq!(parse_decimal("18446744073709551615", 0), Ok(18_446_744_073_709_551_615));
        assert!(parse_decimal("1.234", 2).is_err());
        assert!(parse_decimal("NaN", 2).is_err());
        assert!(parse_decimal("", 0).is_err());
        assert!(parse_decimal("-", 0).is_err());
    }
}
