//! The one persistent store of a govdata node.
//!
//! Every byte of committed state lives here, behind one API for both
//! backends: SQLite in WAL mode (the embedded default, one file under the data
//! directory) and PostgreSQL (for scale and standby replication). SQL is
//! written once in the subset both understand and runs through sqlx's `Any`
//! driver; only the migrations differ per backend (`migrations/<backend>/`).
//!
//! Invariants:
//! - No SQL outside this crate.
//! - Every state change goes through a [`WriteTx`], which appends its ledger
//!   entry in the same database transaction: a crash leaves both or neither.
//! - Times are stored as RFC 3339 UTC text with milliseconds ([`timestamp`]), so
//!   they compare correctly as strings on both backends.

mod catalog;
mod error;
mod federation;
mod identity;
mod lake;
mod ledger;
mod org;
pub mod postgres_server;
mod rows;
mod sharing;
mod subscription;
#[cfg(feature = "testing")]
pub mod testing;
pub mod timestamp;
mod tx;
mod wal;
mod workflow;
mod write;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyPool, Connection};

pub use catalog::{CatalogChange, CatalogFilter, CatalogHead};
pub use error::StoreError;
pub use federation::{
    AppliedBatch, CascadeAction, CascadeChange, Descendant, FederatedEntry, FederationNode, HomeNode,
    KeyRotation, NewFederationNode, NewJoinToken, NodeRelation, NodeStatus, RemoteApplication,
};
pub use identity::{NewApiKey, NewUser, SessionRecord, StoredApiKey, StoredUser};
pub use lake::{
    JobOutcome, JobRecord, JobStatus, NewJob, ResourceFilter, ResourceRecord, ResourceWrite, MAX_JOB_PAGE,
};
pub use ledger::{
    AuditFinding, AuditReport, Checkpointer, EntryFilter, EntryPage, GroupCommits, LedgerConfig, LedgerEntry,
    LedgerRecord, SignedCheckpoint, WitnessedCheckpoint, MAX_ENTRY_PAGE,
};
pub use org::{NewDepartment, NewSystem};
pub use sharing::{
    ApplicationFilter, ApplicationRecord, ApplicationStatisticsRows, ApplicationStep, Decision, GrantFilter,
    GrantRecord, NewApplication, NewGrant, StepWrite, UsageFilter, UsageRecord,
};
pub use subscription::{
    DeliveryOutcome, DeliveryRecord, NewSubscription, SubscriptionFilter, SubscriptionRecord,
};
pub use tx::WriteTx;
pub use workflow::{
    DemandAnswer, DemandRecord, NewDemand, NewObjection, ObjectionRecord, Ruling, WorkflowFilter,
};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which database engine holds the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A handle on the store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Backend,
    /// Writes go through this pool, in turn on SQLite ([`write`]). For
    /// SQLite it holds one connection; for PostgreSQL it is the same pool
    /// as `read`.
    write: write::Writer,
    read: AnyPool,
    ledger: ledger::Ledger,
    /// Told when a commit put changes into the federation outbox.
    outbox: tokio::sync::Notify,
}

static DRIVERS: std::sync::Once = std::sync::Once::new();

impl Store {
    /// The URL of the embedded SQLite database under a data directory.
    pub fn sqlite_url(data_dir: &Path) -> String {
        format!("sqlite://{}?mode=rwc", data_dir.join("govdata.db").display())
    }

    /// Connects, applies pending migrations and loads the ledger state.
    pub async fn open(url: &str, ledger: LedgerConfig) -> Result<Store> {
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Config("database url must start with sqlite: or postgres:".into()));
        };
        let options =
            AnyConnectOptions::from_str(url).map_err(|e| StoreError::Config(format!("database url: {e}")))?;
        let (write, read) = match backend {
            Backend::Sqlite => {
                let write = sqlite_pool(1).connect_with(options.clone()).await?;
                // WAL persists in the file; set it once, before readers open.
                sqlx::query("PRAGMA journal_mode = WAL").execute(&write).await?;
                let read = sqlite_pool(8).connect_with(options).await?;
                (write, read)
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await?;
                (pool.clone(), pool)
            }
        };
        match backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite").run(&write).await?,
            Backend::Postgres => sqlx::migrate!("migrations/postgres").run(&write).await?,
        }
        let sqlite_file = match backend {
            Backend::Sqlite => Some(
                SqliteConnectOptions::from_str(url)
                    .map_err(|e| StoreError::Config(format!("database url: {e}")))?
                    .get_filename()
                    .to_owned(),
            ),
            Backend::Postgres => None,
        };
        let ledger = ledger::Ledger::load(&read, backend, sqlite_file, ledger).await?;
        let write = write::Writer::new(write, backend == Backend::Sqlite);
        let inner = Arc::new(Inner { backend, write, read, ledger, outbox: tokio::sync::Notify::new() });
        ledger::Ledger::start_indexer(&inner);
        if backend == Backend::Sqlite {
            tokio::spawn(wal::run_checkpointer(Arc::downgrade(&inner), inner.ledger.subscribe_appended()));
        }
        Ok(Store { inner })
    }

    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// Checks that the database answers; backs `/readyz`.
    pub async fn ping(&self) -> Result<()> {
        let mut conn = self.inner.read.acquire().await?;
        conn.ping().await?;
        Ok(())
    }

    /// Starts a state change made by `actor`; see [`WriteTx`].
    pub async fn begin(&self, actor: &str) -> Result<WriteTx<'_>> {
        WriteTx::begin(self, actor).await
    }

    pub async fn close(&self) {
        self.inner.write.close().await;
        self.inner.read.close().await;
    }

    fn read(&self) -> &AnyPool {
        &self.inner.read
    }

    /// The row of `table` whose `id` is `id`; not found names it as `what`.
    async fn row_by_id(&self, table: &'static str, what: &str, id: &str) -> Result<sqlx::any::AnyRow> {
        sqlx::query(&format!("SELECT * FROM {table} WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.read())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("{what} {id}")))
    }
}

fn sqlite_pool(max: u32) -> AnyPoolOptions {
    // A connection to a local file does not go stale: no ping before each use.
    AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(30))
        .test_before_acquire(false)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                // FULL: a commit is on disk before it is acknowledged (power
                // loss too, not only a killed process). Statement journals
                // (every multi-row statement in a transaction has one) stay in
                // memory, and the page cache holds a large transaction
                // without spilling it into the log early (64 MiB, not 2).
                for pragma in [
                    "PRAGMA foreign_keys = ON",
                    "PRAGMA busy_timeout = 10000",
                    "PRAGMA synchronous = FULL",
                    "PRAGMA temp_store = MEMORY",
                    "PRAGMA cache_size = -65536",
                    &format!("PRAGMA wal_autocheckpoint = {}", wal::AUTOCHECKPOINT_PAGES),
                ] {
                    sqlx::query(pragma).execute(&mut *conn).await?;
                }
                Ok(())
            })
        })
}
