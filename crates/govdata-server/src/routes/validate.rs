//! National identifier checks, open to anyone: they reveal nothing stored.

use axum::Json;
use govdata_model::validate::{self, Validation};
use serde::Deserialize;

use crate::extract;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateRequest {
    /// The value to check, as a person typed it.
    pub value: String,
}

/// Checks a citizen ID number (GB 11643: MOD 11-2, birth date, region; 15-digit numbers are converted).
#[utoipa::path(post, path = "/api/v1/validate/id-number", tag = "validate",
    request_body = ValidateRequest, responses((status = 200, body = Validation)))]
pub async fn id_number(extract::Json(req): extract::Json<ValidateRequest>) -> Json<Validation> {
    Json(validate::id_number(&req.value))
}

/// Checks a unified social credit code (GB 32100). A failed MOD 31 check is a warning.
#[utoipa::path(post, path = "/api/v1/validate/uscc", tag = "validate",
    request_body = ValidateRequest, responses((status = 200, body = Validation)))]
pub async fn uscc(extract::Json(req): extract::Json<ValidateRequest>) -> Json<Validation> {
    Json(validate::uscc(&req.value))
}

/// Checks a GB/T 2260 administrative division code against the embedded division list.
#[utoipa::path(post, path = "/api/v1/validate/region", tag = "validate",
    request_body = ValidateRequest, responses((status = 200, body = Validation)))]
pub async fn region(extract::Json(req): extract::Json<ValidateRequest>) -> Json<Validation> {
    Json(validate::region(&req.value))
}

/// Checks a mainland mobile phone number (+86 / 0086 prefixes and separators tolerated).
#[utoipa::path(post, path = "/api/v1/validate/mobile-phone", tag = "validate",
    request_body = ValidateRequest, responses((status = 200, body = Validation)))]
pub async fn mobile_phone(extract::Json(req): extract::Json<ValidateRequest>) -> Json<Validation> {
    Json(validate::mobile_phone(&req.value))
}

/// Checks an e-mail address.
#[utoipa::path(post, path = "/api/v1/validate/email", tag = "validate",
    request_body = ValidateRequest, responses((status = 200, body = Validation)))]
pub async fn email(extract::Json(req): extract::Json<ValidateRequest>) -> Json<Validation> {
    Json(validate::email(&req.value))
}
