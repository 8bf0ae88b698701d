//! Connectors: each source yields Arrow record batches.
//!
//! File sources ([`file`]) stream from disk and yield text columns as the file
//! has them (Parquet keeps its types), plus [`ROW_NUMBER_COLUMN`] so that the
//! conform step can name the row it rejects. Database sources ([`sql`]) are
//! DataFusion table providers, read in place with projection and filters
//! pushed down; physical aggregation scans them like any other table.

pub mod file;
pub mod http;
pub mod sql;

/// Hidden first column of file sources: the 1-based data row number.
pub const ROW_NUMBER_COLUMN: &str = "__row";
