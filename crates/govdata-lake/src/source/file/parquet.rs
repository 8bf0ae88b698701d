//! Parquet files: their own column types, read row group by row group.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use deltalake::arrow::array::{ArrayRef, UInt64Array};
use deltalake::arrow::datatypes::{Field, Schema, SchemaRef};
use deltalake::arrow::record_batch::RecordBatch;
use deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::open_file;
use super::text::{column_names, row_number_field, BatchSink};
use crate::LakeError;

/// A Parquet file whose footer has been read.
pub(super) struct ParquetFile {
    builder: ParquetRecordBatchReaderBuilder<File>,
    schema: SchemaRef,
}

impl ParquetFile {
    pub(super) fn open(path: &Path) -> Result<Self, LakeError> {
        let builder = ParquetRecordBatchReaderBuilder::try_new(open_file(path)?)
            .map_err(|error| LakeError::invalid("format", format!("not a readable Parquet file: {error}")))?;
        let file_schema = builder.schema();
        // The same renaming as text columns, so that a column named like the row number stays distinct.
        let names = column_names(&file_schema.fields().iter().map(|field| field.name()).collect::<Vec<_>>());
        let fields = std::iter::once(row_number_field())
            .chain(
                file_schema
                    .fields()
                    .iter()
                    .zip(names)
                    .map(|(field, name)| field.as_ref().clone().with_name(name)),
            )
            .collect::<Vec<Field>>();
        let schema = Arc::new(Schema::new_with_metadata(fields, file_schema.metadata().clone()));
        Ok(ParquetFile { builder, schema })
    }

    pub(super) fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    pub(super) fn read(self, batch_size: usize, sink: &BatchSink) -> Result<(), LakeError> {
        let reader = self.builder.with_batch_size(batch_size.max(1)).build().map_err(unreadable)?;
        let mut next_row = 1u64;
        for batch in reader {
            let batch = batch.map_err(unreadable)?;
            let rows = batch.num_rows() as u64;
            let numbers = Arc::new(UInt64Array::from_iter_values(next_row..next_row + rows)) as ArrayRef;
            next_row += rows;
            let columns = std::iter::once(numbers).chain(batch.columns().iter().cloned()).collect();
            if !sink.send(RecordBatch::try_new(self.schema.clone(), columns)?) {
                return Ok(());
            }
        }
        Ok(())
    }
}

fn unreadable(error: impl std::fmt::Display) -> LakeError {
    LakeError::invalid("format", format!("unreadable Parquet data: {error}"))
}
