//! File connectors: uploads in CSV, JSON, NDJSON, Excel xlsx and Parquet.
//!
//! [`FileSource::schema`] reads only the beginning of the file: the header
//! line (CSV), the keys of the first [`SCHEMA_SAMPLE`] records in first-seen
//! order (JSON, NDJSON), the header row of the sheet (xlsx), the footer
//! (Parquet). Text formats give every column as nullable Utf8; Parquet keeps
//! its own types. Either way [`ROW_NUMBER_COLUMN`](super::ROW_NUMBER_COLUMN)
//! comes first.
//!
//! [`FileSource::stream`] parses on a blocking thread and hands batches over a
//! channel of two, so memory stays bounded by a few batches whatever the file
//! size. The one exception is xlsx: calamine keeps the workbook's
//! shared-string table in memory (the sheet's cells still stream).
//!
//! A bad row is rejected with its number and the rest of the file read; a
//! file that cannot be read at all is refused with [`LakeError::Invalid`]
//! naming the `format` field at fault.

mod delimited;
pub(crate) mod json;
mod parquet;
pub(crate) mod text;
mod xlsx;

use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use deltalake::arrow::datatypes::SchemaRef;
use deltalake::datafusion::physical_plan::SendableRecordBatchStream;
use encoding_rs::Encoding;
use serde::{Deserialize, Serialize};

use self::delimited::{CsvOptions, DelimitedFile};
pub use self::json::SCHEMA_SAMPLE;
use self::json::{JsonFile, Layout};
use self::parquet::ParquetFile;
use self::text::{blocking_stream, run_blocking};
use self::xlsx::XlsxFile;
use crate::{LakeError, RejectSink};

/// How much of a file encoding detection looks at.
pub const DETECTION_PREFIX: usize = 64 * 1024;

/// How a file is to be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FileFormat {
    /// Delimited text.
    Csv {
        /// One ASCII character; `,` when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        delimiter: Option<char>,
        /// Whether the first line names the columns; without one they are
        /// `column_1`, `column_2`, ….
        #[serde(default = "default_header")]
        header: bool,
        /// A WHATWG encoding label (`utf-8`, `gbk`, `gb18030`, …); detected
        /// when absent. A byte-order mark wins over either.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        encoding: Option<String>,
    },
    /// One JSON object per line.
    Ndjson,
    /// A top-level JSON array of objects.
    Json,
    /// An Excel workbook; the header is the sheet's first row with a value.
    Xlsx {
        /// The first worksheet when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sheet: Option<String>,
    },
    Parquet,
}

fn default_header() -> bool {
    true
}

impl FileFormat {
    /// The format a file name suggests, with default options: `.csv`, `.txt`,
    /// `.json`, `.ndjson`, `.jsonl`, `.xlsx`, `.parquet` (any case).
    pub fn from_extension(path: &Path) -> Option<FileFormat> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match extension.as_str() {
            "csv" | "txt" => FileFormat::Csv { delimiter: None, header: true, encoding: None },
            "json" => FileFormat::Json,
            "ndjson" | "jsonl" => FileFormat::Ndjson,
            "xlsx" => FileFormat::Xlsx { sheet: None },
            "parquet" => FileFormat::Parquet,
            _ => return None,
        })
    }

    /// Checks the options without reading the file.
    pub fn validate(&self) -> Result<(), LakeError> {
        match self {
            FileFormat::Csv { delimiter, encoding, .. } => {
                if let Some(delimiter) = delimiter {
                    delimiter_byte(*delimiter)?;
                }
                if let Some(label) = encoding {
                    encoding_for_label(label)?;
                }
                Ok(())
            }
            FileFormat::Xlsx { sheet: Some(sheet) } if sheet.trim().is_empty() => Err(LakeError::invalid(
                "format.sheet",
                "the sheet name is empty; omit it for the first sheet",
            )),
            FileFormat::Ndjson | FileFormat::Json | FileFormat::Xlsx { .. } | FileFormat::Parquet => Ok(()),
        }
    }
}

/// The encoding of text starting with `prefix` (up to [`DETECTION_PREFIX`]
/// bytes is plenty): a UTF-8 or UTF-16 byte-order mark if there is one,
/// otherwise chardetng's guess with the `.cn` hint, so that GBK wins among
/// look-alike legacy encodings. chardetng names GBK rather than GB18030, and
/// encoding_rs decodes GBK as GB18030, so GB18030 files read correctly too.
pub fn detect_encoding(prefix: &[u8]) -> &'static Encoding {
    match Encoding::for_bom(prefix) {
        Some((encoding, _)) => encoding,
        None => guess_encoding(prefix, false),
    }
}

/// chardetng's guess; `whole` when `bytes` is the whole file, so that a
/// sequence cut at its end counts against an encoding.
fn guess_encoding(bytes: &[u8], whole: bool) -> &'static Encoding {
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(bytes, whole);
    detector.guess(Some(b"cn"), true)
}

/// The encoding for a WHATWG label, refusing the `replacement` pseudo-encoding.
fn encoding_for_label(label: &str) -> Result<&'static Encoding, LakeError> {
    match Encoding::for_label(label.trim().as_bytes()) {
        Some(encoding) if encoding != encoding_rs::REPLACEMENT => Ok(encoding),
        _ => Err(LakeError::invalid(
            "format.encoding",
            format!("unknown encoding {label:?}; use a label such as utf-8, gbk or gb18030"),
        )),
    }
}

fn delimiter_byte(delimiter: char) -> Result<u8, LakeError> {
    match u8::try_from(delimiter) {
        Ok(byte) if byte.is_ascii() && !matches!(byte, b'"' | b'\n' | b'\r') => Ok(byte),
        _ => Err(LakeError::invalid(
            "format.delimiter",
            format!("the delimiter must be one ASCII character other than a quote or line break, not {delimiter:?}"),
        )),
    }
}

/// Opens a file, a missing one being [`LakeError::NotFound`].
fn open_file(path: &Path) -> Result<File, LakeError> {
    File::open(path).map_err(|error| match error.kind() {
        ErrorKind::NotFound => LakeError::NotFound(format!("file {}", path.display())),
        _ => LakeError::Io(error),
    })
}

/// An uploaded file, read as the given format.
#[derive(Debug, Clone)]
pub struct FileSource {
    path: PathBuf,
    format: FileFormat,
}

impl FileSource {
    pub fn new(path: PathBuf, format: FileFormat) -> Self {
        FileSource { path, format }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn format(&self) -> &FileFormat {
        &self.format
    }

    /// The columns, from the beginning of the file only.
    pub async fn schema(&self) -> Result<SchemaRef, LakeError> {
        let (path, format) = (self.path.clone(), self.format.clone());
        Ok(run_blocking(move || OpenedFile::open(&path, &format)).await?.schema())
    }

    /// Every row, in batches of at most `batch_size` rows with exactly the
    /// schema of [`FileSource::schema`]. Rows that cannot be read go to
    /// `rejects`; a file that cannot be read at all is refused here.
    pub async fn stream(
        &self,
        batch_size: usize,
        rejects: RejectSink,
    ) -> Result<SendableRecordBatchStream, LakeError> {
        let (path, format) = (self.path.clone(), self.format.clone());
        let opened = run_blocking(move || OpenedFile::open(&path, &format)).await?;
        let schema = opened.schema();
        Ok(blocking_stream(schema, move |sink| opened.read(batch_size.max(1), &rejects, sink)))
    }
}

/// A file past its header (or footer), ready to stream.
enum OpenedFile {
    Delimited(Box<DelimitedFile>),
    Json(JsonFile),
    Xlsx(Box<XlsxFile>),
    Parquet(Box<ParquetFile>),
}

impl OpenedFile {
    fn open(path: &Path, format: &FileFormat) -> Result<Self, LakeError> {
        format.validate()?;
        Ok(match format {
            FileFormat::Csv { delimiter, header, encoding } => {
                let options = CsvOptions {
                    delimiter: delimiter.map(delimiter_byte).transpose()?.unwrap_or(b','),
                    header: *header,
                    encoding: encoding.as_deref(),
                };
                OpenedFile::Delimited(Box::new(DelimitedFile::open(path, &options)?))
            }
            FileFormat::Ndjson => OpenedFile::Json(JsonFile::open(path, Layout::Lines)?),
            FileFormat::Json => OpenedFile::Json(JsonFile::open(path, Layout::Array)?),
            FileFormat::Xlsx { sheet } => OpenedFile::Xlsx(Box::new(XlsxFile::open(path, sheet.as_deref())?)),
            FileFormat::Parquet => OpenedFile::Parquet(Box::new(ParquetFile::open(path)?)),
        })
    }

    fn schema(&self) -> SchemaRef {
        match self {
            OpenedFile::Delimited(file) => file.schema(),
            OpenedFile::Json(file) => file.schema(),
            OpenedFile::Xlsx(file) => file.schema(),
            OpenedFile::Parquet(file) => file.schema(),
        }
    }

    fn read(self, batch_size: usize, rejects: &RejectSink, sink: &text::BatchSink) -> Result<(), LakeError> {
        match self {
            OpenedFile::Delimited(file) => file.read(batch_size, rejects, sink),
            OpenedFile::Json(file) => file.read(batch_size, rejects, sink),
            OpenedFile::Xlsx(file) => file.read(batch_size, rejects, sink),
            OpenedFile::Parquet(file) => file.read(batch_size, sink),
        }
    }
}
