//! The one error vocabulary of the product. Every crate's error type maps to an
//! [`ErrorCode`]; the server renders it, and only it, as an HTTP status.

use serde::{Deserialize, Serialize};

/// Every error a caller can see. The `code` string is part of the public API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request body or a parameter is malformed (bad JSON, wrong type, unknown field).
    BadRequest,
    /// The request is well-formed but a value breaks a rule.
    InvalidInput,
    /// No valid credential was presented.
    Unauthenticated,
    /// The caller is known but may not do this.
    Forbidden,
    /// The account is locked after repeated failed logins.
    AccountLocked,
    /// A state-changing browser request came without a matching CSRF token.
    CsrfRejected,
    NotFound,
    MethodNotAllowed,
    /// The request conflicts with existing state (duplicate name, wrong state).
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    RateLimited,
    /// A dependency (database, peer) is not available right now.
    Unavailable,
    Internal,
}

impl ErrorCode {
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::InvalidInput => 422,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::Forbidden | ErrorCode::CsrfRejected => 403,
            ErrorCode::AccountLocked => 423,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::Conflict => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::RateLimited => 429,
            ErrorCode::Unavailable => 503,
            ErrorCode::Internal => 500,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::AccountLocked => "account_locked",
            ErrorCode::CsrfRejected => "csrf_rejected",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Conflict => "conflict",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }
}

/// Implemented by every crate's error type: how it shows to a caller.
/// Internal details stay in logs; `public_message` is what the caller reads.
pub trait ApiError: std::error::Error {
    fn code(&self) -> ErrorCode;
    /// The input field at fault, when there is one.
    fn field(&self) -> Option<&str> {
        None
    }
    fn public_message(&self) -> String {
        if self.code() == ErrorCode::Internal {
            "internal error".to_owned()
        } else {
            self.to_string()
        }
    }
}

impl ApiError for FieldError {
    fn code(&self) -> ErrorCode {
        ErrorCode::InvalidInput
    }
    fn field(&self) -> Option<&str> {
        Some(&self.field)
    }
    fn public_message(&self) -> String {
        self.message.clone()
    }
}

/// A rule broken by one input field: what domain code uses to say which field
/// is wrong. Renders as 422 with `field` set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { field: field.into(), message: message.into() }
    }
}
