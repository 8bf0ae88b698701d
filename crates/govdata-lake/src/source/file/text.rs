//! What the text connectors (CSV, JSON, xlsx, HTTP) share: column naming, the
//! all-Utf8 schema, the batch builder, and the blocking-thread stream.

use std::collections::HashSet;
use std::sync::Arc;

use deltalake::arrow::array::{ArrayBuilder, ArrayRef, StringBuilder, UInt64Builder};
use deltalake::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use deltalake::arrow::record_batch::RecordBatch;
use deltalake::datafusion::error::DataFusionError;
use deltalake::datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use deltalake::datafusion::physical_plan::SendableRecordBatchStream;
use tokio::sync::mpsc;

use crate::source::ROW_NUMBER_COLUMN;
use crate::LakeError;

/// Batches in flight between a reader thread and its consumer: memory stays
/// bounded by a few batches whatever the source size.
const CHANNEL_CAPACITY: usize = 2;

/// Column names for the given source names: trimmed, empty ones named
/// `column_N` (1-based position), and repeats (or [`ROW_NUMBER_COLUMN`])
/// suffixed `_2`, `_3`, … so that every name is unique.
pub(crate) fn column_names<S: AsRef<str>>(raw: &[S]) -> Vec<String> {
    let mut taken: HashSet<String> = HashSet::from([ROW_NUMBER_COLUMN.to_owned()]);
    let mut names = Vec::with_capacity(raw.len());
    for (position, name) in raw.iter().enumerate() {
        let trimmed = name.as_ref().trim();
        let base = if trimmed.is_empty() { format!("column_{}", position + 1) } else { trimmed.to_owned() };
        let mut name = base.clone();
        let mut suffix = 2;
        while taken.contains(&name) {
            name = format!("{base}_{suffix}");
            suffix += 1;
        }
        taken.insert(name.clone());
        names.push(name);
    }
    names
}

/// [`ROW_NUMBER_COLUMN`] followed by one nullable Utf8 column per name.
pub(crate) fn text_schema(names: &[String]) -> SchemaRef {
    let fields = std::iter::once(row_number_field())
        .chain(names.iter().map(|name| Field::new(name, DataType::Utf8, true)))
        .collect::<Vec<_>>();
    Arc::new(Schema::new(fields))
}

pub(crate) fn row_number_field() -> Field {
    Field::new(ROW_NUMBER_COLUMN, DataType::UInt64, false)
}

/// Accumulates rows of text cells into a batch of a [`text_schema`].
pub(crate) struct TextBatchBuilder {
    schema: SchemaRef,
    capacity: usize,
    rows: UInt64Builder,
    columns: Vec<StringBuilder>,
}

impl TextBatchBuilder {
    pub(crate) fn new(schema: SchemaRef, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let columns = (1..schema.fields().len()).map(|_| StringBuilder::with_capacity(capacity, 0)).collect();
        TextBatchBuilder { schema, capacity, rows: UInt64Builder::with_capacity(capacity), columns }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rows.len() == 0
    }

    pub(crate) fn is_full(&self) -> bool {
        self.rows.len() >= self.capacity
    }

    /// Appends one row; `cells` are in column order, missing ones are NULL.
    pub(crate) fn append<S: AsRef<str>>(&mut self, row: u64, cells: impl IntoIterator<Item = Option<S>>) {
        self.rows.append_value(row);
        let mut cells = cells.into_iter();
        for column in &mut self.columns {
            match cells.next().flatten() {
                Some(value) => column.append_value(value),
                None => column.append_null(),
            }
        }
    }

    /// The rows appended since the last call, as one batch.
    pub(crate) fn finish(&mut self) -> Result<RecordBatch, LakeError> {
        let columns = std::iter::once(Arc::new(self.rows.finish()) as ArrayRef)
            .chain(self.columns.iter_mut().map(|column| Arc::new(column.finish()) as ArrayRef))
            .collect::<Vec<_>>();
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }
}

/// The sending end given to a reader running on a blocking thread.
pub(crate) struct BatchSink(mpsc::Sender<Result<RecordBatch, DataFusionError>>);

impl BatchSink {
    /// Sends a batch, waiting while the consumer is behind. False when the
    /// consumer has gone away, so the reader should stop.
    pub(crate) fn send(&self, batch: RecordBatch) -> bool {
        self.0.blocking_send(Ok(batch)).is_ok()
    }

    /// Sends the builder's rows if it is full (or `last` and not empty).
    /// False when the consumer has gone away.
    pub(crate) fn flush(&self, builder: &mut TextBatchBuilder, last: bool) -> Result<bool, LakeError> {
        if builder.is_full() || (last && !builder.is_empty()) {
            return Ok(self.send(builder.finish()?));
        }
        Ok(true)
    }
}

/// Runs `read` on a blocking thread and streams what it sends. An error it
/// returns, or its panic, ends the stream with an error rather than quietly.
pub(crate) fn blocking_stream<F>(schema: SchemaRef, read: F) -> SendableRecordBatchStream
where
    F: FnOnce(&BatchSink) -> Result<(), LakeError> + Send + 'static,
{
    let (sender, receiver) = mpsc::channel(CHANNEL_CAPACITY);
    let handle = tokio::task::spawn_blocking(move || {
        let sink = BatchSink(sender);
        if let Err(error) = read(&sink) {
            // Nobody to tell if the consumer is gone.
            let _ = sink.0.blocking_send(Err(to_datafusion(error)));
        }
    });
    let batches = futures::stream::unfold((receiver, Some(handle)), |(mut receiver, handle)| async move {
        if let Some(item) = receiver.recv().await {
            return Some((item, (receiver, handle)));
        }
        match handle?.await {
            Ok(()) => None,
            Err(error) => {
                let error = DataFusionError::Execution(format!("source reader failed: {error}"));
                Some((Err(error), (receiver, None)))
            }
        }
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, batches))
}

pub(crate) fn to_datafusion(error: LakeError) -> DataFusionError {
    match error {
        LakeError::DataFusion(error) => error,
        error => DataFusionError::External(Box::new(error)),
    }
}

/// Runs blocking work (opening a file, reading its header) off the runtime.
pub(crate) async fn run_blocking<T, F>(work: F) -> Result<T, LakeError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, LakeError> + Send + 'static,
{
    tokio::task::spawn_blocking(work).await.map_err(|error| LakeError::Io(std::io::Error::other(error)))?
}
