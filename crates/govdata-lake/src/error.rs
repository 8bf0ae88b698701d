use govdata_model::error::{ApiError, ErrorCode};

/// Everything that can go wrong reading a source or writing a table.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    /// The source or request is wrong in a way the caller can fix; `field`
    /// names the input at fault.
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// A source cannot be reached, or refuses our credentials.
    #[error("source unavailable: {0}")]
    SourceUnavailable(String),
    /// The source's columns changed so that mapped items lost their column.
    #[error("the source's schema changed: {}", .0.summary())]
    SchemaDrift(crate::drift::Drift),
    #[error("not found: {0}")]
    NotFound(String),
    /// The lake's own storage (its directory or bucket) failed or refused.
    #[error("lake storage: {0}")]
    Storage(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("Arrow error: {0}")]
    Arrow(#[from] deltalake::arrow::error::ArrowError),
    #[error("DataFusion error: {0}")]
    DataFusion(#[from] deltalake::datafusion::error::DataFusionError),
    #[error("Delta error: {0}")]
    Delta(#[from] deltalake::DeltaTableError),
}

impl LakeError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        LakeError::Invalid { field: field.into(), message: message.into() }
    }
}

impl ApiError for LakeError {
    fn code(&self) -> ErrorCode {
        match self {
            LakeError::Invalid { .. } | LakeError::SchemaDrift(_) => ErrorCode::InvalidInput,
            LakeError::SourceUnavailable(_) | LakeError::Storage(_) => ErrorCode::Unavailable,
            LakeError::NotFound(_) => ErrorCode::NotFound,
            LakeError::Io(_) | LakeError::Arrow(_) | LakeError::DataFusion(_) | LakeError::Delta(_) => {
                ErrorCode::Internal
            }
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            LakeError::Invalid { field, .. } => Some(field),
            LakeError::SchemaDrift(_) => Some("mapping"),
            _ => None,
        }
    }

    fn public_message(&self) -> String {
        match self.code() {
            ErrorCode::Internal => "internal error".to_owned(),
            _ => self.to_string(),
        }
    }
}
