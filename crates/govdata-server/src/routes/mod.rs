//! HTTP handlers, one module per resource. Each handler parses its input into
//! typed values, asks [`crate::policy`] whether the caller may act, and calls
//! the store; errors render through [`crate::error::HttpError`].

pub mod auth;
pub mod catalog;
pub mod catalog_transfer;
pub mod federation;
pub mod ledger;
pub mod oauth;
pub mod org;
pub mod regions;
pub mod resources;
pub mod sharing;
pub mod system;
pub mod users;
pub mod validate;

use crate::error::HttpError;

/// Checks a required, trimmed text field's length in characters.
pub(crate) fn text_field(field: &str, value: &str, max: usize) -> Result<String, HttpError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(HttpError::invalid(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(HttpError::invalid(field, format!("must be at most {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(HttpError::invalid(field, "must not contain control characters"));
    }
    Ok(value.to_owned())
}

/// A GB/T 2260 region code, or the national hub's code; returns the 6-digit form.
pub(crate) fn region_field(field: &str, value: &str) -> Result<String, HttpError> {
    if value.trim() == crate::config::NATIONAL_REGION {
        return Ok(crate::config::NATIONAL_REGION.to_owned());
    }
    let check = govdata_model::validate::region(value);
    match check.normalized {
        Some(code) if check.valid => Ok(code),
        _ => Err(HttpError::invalid(field, check.errors.join("; "))),
    }
}
