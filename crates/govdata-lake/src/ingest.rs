//! Physical aggregation (物理汇聚): one job reads a source, conforms its rows
//! to the catalog items and writes them to the resource's Delta table in one
//! commit.
//!
//! The pipeline streams: connector batches → conform (rejects counted) →
//! watermark filter → a one-shot DataFusion table → delta-rs writer. Memory
//! is bounded by a few batches whatever the source size.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use deltalake::arrow::array::RecordBatch;
use deltalake::arrow::compute::filter_record_batch;
use deltalake::arrow::compute::kernels::cmp::gt;
use deltalake::arrow::datatypes::SchemaRef;
use deltalake::datafusion::catalog::streaming::StreamingTable;
use deltalake::datafusion::catalog::TableProvider;
use deltalake::datafusion::common::ScalarValue;
use deltalake::datafusion::error::DataFusionError;
use deltalake::datafusion::execution::{SendableRecordBatchStream, TaskContext};
use deltalake::datafusion::logical_expr::{col, lit};
use deltalake::datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use deltalake::datafusion::physical_plan::streaming::PartitionStream;
use deltalake::datafusion::prelude::SessionContext;
use futures::StreamExt;
use serde::Serialize;

use crate::conform::{Conformer, EntityKey};
use crate::drift::{describe, Drift, SourceColumn};
use crate::mapping::ItemMapping;
use crate::resource::SourceSpec;
use crate::source::file::FileSource;
use crate::source::http::HttpSource;
use crate::source::sql::SqlTable;
use crate::table::{quote, LakeTable, WriteMode};
use crate::{LakeError, RejectSink, Rejects};

/// A connector ready to read.
pub enum Source {
    File(FileSource),
    Http(Box<HttpSource>),
    Sql(SqlTable),
}

impl Source {
    /// Opens the connector a physical resource's source names; an upload
    /// source reads the job's uploaded file.
    pub async fn open(spec: &SourceSpec, upload: Option<&Path>) -> Result<Source, LakeError> {
        Ok(match spec {
            SourceSpec::Upload { format } => {
                let path =
                    upload.ok_or_else(|| LakeError::invalid("file", "the job has no uploaded file"))?;
                Source::File(FileSource::new(path.to_owned(), format.clone()))
            }
            SourceSpec::Database(database) => Source::Sql(SqlTable::connect(database).await?),
            SourceSpec::Http(http) => Source::Http(Box::new(HttpSource::new(http.clone())?)),
        })
    }

    pub async fn schema(&self) -> Result<SchemaRef, LakeError> {
        match self {
            Source::File(file) => file.schema().await,
            Source::Http(http) => http.schema().await,
            Source::Sql(sql) => Ok(sql.schema()),
        }
    }

    /// The source's rows. A database source gets the watermark filter pushed
    /// down when its column already has the item's type.
    async fn stream(
        self,
        ctx: &SessionContext,
        batch_size: usize,
        rejects: RejectSink,
        watermark: Option<(&str, &ScalarValue)>,
    ) -> Result<SendableRecordBatchStream, LakeError> {
        match self {
            Source::File(file) => file.stream(batch_size, rejects).await,
            Source::Http(http) => http.stream(batch_size, rejects).await,
            Source::Sql(sql) => {
                let pushable = watermark.filter(|(column, value)| {
                    sql.schema().field_with_name(column).is_ok_and(|f| *f.data_type() == value.data_type())
                });
                let mut frame = ctx.read_table(Arc::new(sql))?;
                if let Some((column, value)) = pushable {
                    frame = frame.filter(col(quote(column)).gt(lit(value.clone())))?;
                }
                Ok(frame.execute_stream().await?)
            }
        }
    }
}

/// What a job is asked to do.
pub struct IngestPlan<'a> {
    pub table: &'a LakeTable,
    pub mapping: &'a ItemMapping,
    pub key: Option<&'a EntityKey>,
    pub mode: &'a WriteMode,
    pub job_id: &'a str,
    /// The source's columns as the previous job saw them.
    pub previous_columns: Option<&'a [SourceColumn]>,
    pub batch_size: usize,
}

/// What a finished job did.
#[derive(Debug, Clone, Serialize)]
pub struct IngestReport {
    pub rows_read: u64,
    pub rows_written: u64,
    pub rejects: Rejects,
    /// The table version the job committed.
    pub version: u64,
    pub source_columns: Vec<SourceColumn>,
    pub drift: Drift,
}

/// Runs one job. On error nothing was committed: the table is at its
/// previous version.
pub async fn ingest(
    ctx: &SessionContext,
    source: Source,
    plan: IngestPlan<'_>,
) -> Result<IngestReport, LakeError> {
    let source_schema = source.schema().await?;
    let source_columns = describe(&source_schema);
    let drift = Drift::between(plan.previous_columns, &source_columns, plan.mapping);
    if drift.is_breaking() {
        return Err(LakeError::SchemaDrift(drift));
    }
    let rejects = RejectSink::default();
    let mut conformer = Conformer::new(&source_schema, plan.mapping, plan.key, rejects.clone())?;
    let target = conformer.target_schema();

    let watermark = match plan.mode {
        WriteMode::Incremental { watermark, .. } => {
            let value = plan.table.max_value(ctx, watermark).await?;
            let source_column = plan.mapping.find(watermark).map(|m| m.column.clone()).ok_or_else(|| {
                LakeError::invalid("mode.watermark", format!("item {watermark:?} is not mapped"))
            })?;
            value.map(|v| (watermark.clone(), source_column, v))
        }
        _ => None,
    };
    let watermark_filter = match &watermark {
        Some((item, _, value)) => Some((target.index_of(item)?, value.to_scalar()?)),
        None => None,
    };

    let counters = Arc::new(Counters::default());
    let input = source
        .stream(ctx, plan.batch_size, rejects.clone(), watermark.as_ref().map(|(_, c, v)| (c.as_str(), v)))
        .await?;
    let conformed_counters = counters.clone();
    let conformed = input.map(move |batch| {
        let batch = batch?;
        conformed_counters.read.fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
        let mut out = conformer.conform(&batch).map_err(|e| DataFusionError::External(Box::new(e)))?;
        if let Some((index, value)) = &watermark_filter {
            out = filter_record_batch(&out, &gt(out.column(*index), value)?)?;
        }
        conformed_counters.written.fetch_add(out.num_rows() as u64, Ordering::Relaxed);
        Ok(out)
    });
    let stream: SendableRecordBatchStream =
        Box::pin(RecordBatchStreamAdapter::new(target.clone(), conformed));
    let table = StreamingTable::try_new(target.clone(), vec![Arc::new(OneShot::new(target, stream))])?;
    let frame = ctx.read_table(Arc::new(table) as Arc<dyn TableProvider>)?;
    let version = plan.table.write(ctx, frame, plan.mode, plan.job_id).await.map_err(unwrap_external)?;
    Ok(IngestReport {
        rows_read: counters.read.load(Ordering::Relaxed),
        rows_written: counters.written.load(Ordering::Relaxed),
        rejects: rejects.snapshot(),
        version,
        source_columns,
        drift,
    })
}

#[derive(Default)]
struct Counters {
    read: AtomicU64,
    written: AtomicU64,
}

/// Errors raised inside the stream come back wrapped by DataFusion and
/// delta-rs; the caller should see the original (a source refusing us, a
/// bad mapping), not "external error".
fn unwrap_external(error: LakeError) -> LakeError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(current) = source {
        if let Some(lake) = current.downcast_ref::<LakeError>() {
            if !matches!(lake, LakeError::Delta(_) | LakeError::DataFusion(_)) {
                return match lake {
                    LakeError::Invalid { field, message } => {
                        LakeError::invalid(field.clone(), message.clone())
                    }
                    LakeError::SourceUnavailable(m) => LakeError::SourceUnavailable(m.clone()),
                    LakeError::NotFound(m) => LakeError::NotFound(m.clone()),
                    _ => break,
                };
            }
        }
        source = current.source();
    }
    error
}

/// A stream that DataFusion can execute exactly once: the job's input.
struct OneShot {
    schema: SchemaRef,
    stream: Mutex<Option<SendableRecordBatchStream>>,
}

impl OneShot {
    fn new(schema: SchemaRef, stream: SendableRecordBatchStream) -> Self {
        OneShot { schema, stream: Mutex::new(Some(stream)) }
    }
}

impl std::fmt::Debug for OneShot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneShot").field("schema", &self.schema).finish()
    }
}

impl PartitionStream for OneShot {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let taken = self.stream.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        match taken {
            Some(stream) => stream,
            None => {
                let error = DataFusionError::Execution("a job's source can be read only once".to_owned());
                Box::pin(RecordBatchStreamAdapter::new(
                    self.schema.clone(),
                    futures::stream::once(async move { Err::<RecordBatch, _>(error) }),
                ))
            }
        }
    }
}
