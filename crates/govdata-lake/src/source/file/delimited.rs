//! CSV (and other delimited text) in any encoding encoding_rs knows, decoded
//! while streaming.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use deltalake::arrow::datatypes::SchemaRef;
use encoding_rs::Encoding;
use encoding_rs_io::{DecodeReaderBytes, DecodeReaderBytesBuilder};

use super::text::{column_names, text_schema, BatchSink, TextBatchBuilder};
use super::{encoding_for_label, guess_encoding, open_file, DETECTION_PREFIX};
use crate::{LakeError, RejectSink};

type DecodedCsv = csv::Reader<DecodeReaderBytes<File, Vec<u8>>>;

/// The options of `FileFormat::Csv`, resolved.
pub(super) struct CsvOptions<'a> {
    pub(super) delimiter: u8,
    pub(super) header: bool,
    pub(super) encoding: Option<&'a str>,
}

/// A CSV file opened past its header, ready to stream its records.
pub(super) struct DelimitedFile {
    reader: DecodedCsv,
    encoding: &'static Encoding,
    names: Vec<String>,
    schema: SchemaRef,
    /// Without a header, the first record was read to count the columns; it
    /// is still row 1.
    first: Option<csv::StringRecord>,
}

impl DelimitedFile {
    pub(super) fn open(path: &Path, options: &CsvOptions) -> Result<Self, LakeError> {
        let explicit = options.encoding.map(encoding_for_label).transpose()?;
        let mut file = open_file(path)?;
        let mut prefix = Vec::with_capacity(DETECTION_PREFIX);
        (&mut file).take(DETECTION_PREFIX as u64).read_to_end(&mut prefix)?;
        if prefix.is_empty() {
            return Err(LakeError::invalid("format", "the file is empty"));
        }
        // A BOM is unambiguous, so it wins even over an explicit label.
        let encoding = match (Encoding::for_bom(&prefix), explicit) {
            (Some((encoding, _)), _) => encoding,
            (None, Some(encoding)) => encoding,
            (None, None) => guess_encoding(&prefix, prefix.len() < DETECTION_PREFIX),
        };
        file.seek(SeekFrom::Start(0))?;
        let decoded = DecodeReaderBytesBuilder::new().encoding(Some(encoding)).strip_bom(true).build(file);
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(options.delimiter)
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(1 << 16)
            .from_reader(decoded);

        let mut first = csv::StringRecord::new();
        if !reader.read_record(&mut first).map_err(csv_error)? {
            return Err(LakeError::invalid("format", "the file holds no line"));
        }
        if options.header && first.iter().any(has_undecodable) {
            return Err(LakeError::invalid(
                "format.encoding",
                format!("the header line is not valid {}; name the file's encoding", encoding.name()),
            ));
        }
        let (names, first) = if options.header {
            (column_names(&first.iter().collect::<Vec<_>>()), None)
        } else {
            ((1..=first.len()).map(|i| format!("column_{i}")).collect(), Some(first))
        };
        let schema = text_schema(&names);
        Ok(DelimitedFile { reader, encoding, names, schema, first })
    }

    pub(super) fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    pub(super) fn read(
        mut self,
        batch_size: usize,
        rejects: &RejectSink,
        sink: &BatchSink,
    ) -> Result<(), LakeError> {
        let mut batch = TextBatchBuilder::new(self.schema.clone(), batch_size);
        let mut row = 0;
        if let Some(first) = self.first.take() {
            row += 1;
            self.append(&first, row, &mut batch, rejects);
        }
        let mut record = csv::StringRecord::new();
        while self.reader.read_record(&mut record).map_err(csv_error)? {
            row += 1;
            self.append(&record, row, &mut batch, rejects);
            if !sink.flush(&mut batch, false)? {
                return Ok(());
            }
        }
        sink.flush(&mut batch, true)?;
        Ok(())
    }

    fn append(
        &self,
        record: &csv::StringRecord,
        row: u64,
        batch: &mut TextBatchBuilder,
        rejects: &RejectSink,
    ) {
        if record.len() != self.names.len() {
            let reason = format!("{} fields, expected {}", record.len(), self.names.len());
            return rejects.reject(row, None, reason);
        }
        if let Some(column) = record.iter().position(has_undecodable) {
            let reason = format!("bytes that are not valid {}", self.encoding.name());
            return rejects.reject(row, Some(&self.names[column]), reason);
        }
        batch.append(row, record.iter().map(|field| (!field.is_empty()).then_some(field)));
    }
}

/// The decoder puts U+FFFD where the bytes were not valid in the encoding.
fn has_undecodable(field: &str) -> bool {
    field.contains(char::REPLACEMENT_CHARACTER)
}

fn csv_error(error: csv::Error) -> LakeError {
    let message = error.to_string();
    match error.into_kind() {
        csv::ErrorKind::Io(error) => LakeError::Io(error),
        _ => LakeError::invalid("format", format!("unreadable CSV: {message}")),
    }
}
