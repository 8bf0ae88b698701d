use govdata_model::{ApiError, ErrorCode, FieldError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    /// A uniqueness or state rule was broken; the message names what.
    #[error("{0}")]
    Conflict(String),
    /// A value breaks a rule the store enforces (e.g. three-role separation).
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error("store configuration: {0}")]
    Config(String),
    /// Stored data that does not parse: a bug or tampering, never user input.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// From the ledger's own SQLite connection (`ledger::sqlite_commit`).
    #[error("database: {0}")]
    Sqlite(String),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A ledger group commit failed; every append in the batch gets this.
    #[error("ledger batch: {0}")]
    BatchFailed(std::sync::Arc<StoreError>),
}

impl StoreError {
    /// Turns a unique-constraint violation into a conflict naming `what`.
    pub(crate) fn unique(err: sqlx::Error, what: &str) -> StoreError {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(format!("{what} already exists"))
            }
            _ => StoreError::Database(err),
        }
    }
}

impl ApiError for StoreError {
    fn code(&self) -> ErrorCode {
        match self {
            StoreError::NotFound(_) => ErrorCode::NotFound,
            StoreError::Conflict(_) => ErrorCode::Conflict,
            StoreError::Invalid(_) => ErrorCode::InvalidInput,
            StoreError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_)) => ErrorCode::Unavailable,
            StoreError::BatchFailed(inner) => inner.code(),
            _ => ErrorCode::Internal,
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            StoreError::Invalid(e) => Some(&e.field),
            _ => None,
        }
    }
}
