//! Domain types of govdata, shared by every crate: the error-code enum that
//! decides HTTP statuses, organisation and identity types, and the validators
//! for national identifiers (GB 11643 citizen ID, GB 32100 unified social
//! credit code, GB/T 2260 region codes). Nothing here does I/O.

pub mod calendar;
pub mod catalog;
pub mod error;
pub mod org;
pub mod validate;

pub use error::{ApiError, ErrorCode, FieldError};
