//! The one place errors become HTTP responses:
//! `{"code": "...", "message": "...", "field": "..."}` with the status that
//! [`ErrorCode::http_status`] gives. Internal details are logged, not shown.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use govdata_model::{ApiError, ErrorCode};
use serde::Serialize;

/// An error on its way to the caller.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HttpError {
    pub code: ErrorCode,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

pub type ApiResult<T> = Result<T, HttpError>;

impl HttpError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        HttpError { code, message: message.into(), field: None }
    }

    pub fn field(code: ErrorCode, field: impl Into<String>, message: impl Into<String>) -> Self {
        HttpError { code, message: message.into(), field: Some(field.into()) }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        HttpError::field(ErrorCode::InvalidInput, field, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        HttpError::new(ErrorCode::Forbidden, message)
    }
}

impl<E: ApiError> From<E> for HttpError {
    fn from(err: E) -> Self {
        let code = err.code();
        if code == ErrorCode::Internal || code == ErrorCode::Unavailable {
            tracing::error!(error = %err, "request failed");
        }
        HttpError { code, message: err.public_message(), field: err.field().map(str::to_owned) }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(self)).into_response()
    }
}
