//! Data resources (数据资源): where a catalog entry's data actually lives, and
//! how it is read.
//!
//! Two ways in, one way out:
//!
//! ```text
//!  physical (物理汇聚)                     logical (逻辑接入)
//!  file / database / HTTP source           PostgreSQL / MySQL table or query
//!        │ connector: Arrow batches               │ SqlTable: TableProvider,
//!        ▼                                        │ projection + filters pushed
//!  conform: column → item mapping,               │ down to the source database
//!  casts, rejected rows with row numbers         │
//!        ▼                                        │
//!  Delta table (delta-rs) — one commit per job    │
//!        │ DeltaTableProvider (as of a version)   │
//!        └──────────────► DataFusion ◄────────────┘
//!                   preview, profile, person/enterprise profiles
//! ```
//!
//! Invariants:
//! - A job changes its table in one Delta commit, or not at all: a failed or
//!   killed job leaves the table at its previous version. On local disk the
//!   commit and the files it names are synced before it returns.
//! - Every row a source yields is either written or counted as rejected, with
//!   its row number and reason (a bounded sample is kept).
//! - Logical sources are read in place; nothing of them is copied to disk.

pub mod conform;
pub mod drift;
pub mod error;
pub mod ingest;
pub mod mapping;
pub mod profile;
pub mod read;
pub mod rejects;
pub mod resource;
pub mod schedule;
pub mod service;
pub mod source;
pub mod storage;
pub mod table;

pub use error::LakeError;
pub use rejects::{RejectSink, RejectedRow, Rejects};

/// Re-exported so that callers use the exact Arrow and DataFusion versions the
/// lake was built with.
pub use deltalake::{arrow, datafusion, parquet};
