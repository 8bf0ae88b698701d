//! The crate's error type and how it shows to a caller.

use govdata_model::{ApiError, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// A search parameter is out of range; `field` names it.
    #[error("{field}: {message}")]
    InvalidQuery { field: &'static str, message: String },
    /// The index on disk was written by a build with another schema. The
    /// index is a projection: recreate it ([`crate::SearchIndex::recreate`])
    /// and rebuild it from the store.
    #[error(
        "search index schema version {found:?} does not match this build's {expected}: \
         the index must be rebuilt from the store"
    )]
    RebuildRequired { found: Option<u32>, expected: u32 },
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("search index directory: {0}")]
    Io(#[from] std::io::Error),
    /// Stored data in the index that does not parse: a bug, never user input.
    #[error("corrupt search index data: {0}")]
    Corrupt(String),
}

impl ApiError for SearchError {
    fn code(&self) -> ErrorCode {
        match self {
            SearchError::InvalidQuery { .. } => ErrorCode::InvalidInput,
            // Search is unavailable until an operator rebuilds the index.
            SearchError::RebuildRequired { .. } => ErrorCode::Unavailable,
            _ => ErrorCode::Internal,
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            SearchError::InvalidQuery { field, .. } => Some(field),
            _ => None,
        }
    }

    fn public_message(&self) -> String {
        match self {
            SearchError::InvalidQuery { .. } => self.to_string(),
            SearchError::RebuildRequired { .. } => "the search index is being rebuilt".to_owned(),
            _ => "internal error".to_owned(),
        }
    }
}

impl From<tantivy::directory::error::OpenDirectoryError> for SearchError {
    fn from(e: tantivy::directory::error::OpenDirectoryError) -> Self {
        SearchError::Tantivy(e.into())
    }
}
