//! OAuth2 client credentials (RFC 6749 §4.4): an application exchanges its
//! API key — the key id as `client_id`, the part after it as
//! `client_secret` — for a bearer token that lasts `auth.access_token_minutes`.
//! Errors take RFC 6749's shape (`error`, `error_description`), which OAuth
//! client libraries read, instead of the API's usual body.

use axum::extract::rejection::FormRejection;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use base64::Engine;
use govdata_model::ErrorCode;
use govdata_store::LedgerRecord;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::format_description::well_known::Rfc3339;

use crate::auth::{client_address, issue_access_token, key_principal, verified_api_key};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    /// Must be `client_credentials`.
    pub grant_type: Option<String>,
    /// The API key id (`gdk_xxxxxxxx`), unless sent with HTTP Basic.
    pub client_id: Option<String>,
    /// The rest of the API key, unless sent with HTTP Basic.
    pub client_secret: Option<String>,
    /// Space-separated roles; each must be one the key holds. The token
    /// carries the key's roles.
    pub scope: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: u64,
    /// The key's roles, space-separated.
    pub scope: String,
}

/// An error response of RFC 6749 §5.2, with the API's own `code` and
/// `message` beside it (RFC 6749 allows more members), so both OAuth client
/// libraries and the API's clients read it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OAuthError {
    pub error: &'static str,
    pub error_description: String,
    pub code: ErrorCode,
    pub message: String,
}

impl OAuthError {
    fn new(error: &'static str, description: impl Into<String>) -> OAuthError {
        let description = description.into();
        let code = match error {
            "invalid_client" => ErrorCode::Unauthenticated,
            "server_error" => ErrorCode::Internal,
            _ => ErrorCode::BadRequest,
        };
        OAuthError { error, message: description.clone(), error_description: description, code }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, [(header::CACHE_CONTROL, "no-store")], Json(&self)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Basic realm=\"govdata\""),
            );
        }
        response
    }
}

/// Issues an access token for an application's API key.
#[utoipa::path(post, path = "/api/v1/oauth/token", tag = "api-keys",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = TokenResponse), (status = 400, body = OAuthError), (status = 401, body = OAuthError)))]
pub async fn token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<TokenRequest>, FormRejection>,
) -> Result<impl IntoResponse, OAuthError> {
    let Form(request) = form.map_err(|rejection| {
        OAuthError::new("invalid_request", format!("a form body is expected: {rejection}"))
    })?;
    match request.grant_type.as_deref() {
        Some("client_credentials") => {}
        Some(other) => {
            return Err(OAuthError::new(
                "unsupported_grant_type",
                format!("grant_type {other} is not offered; use client_credentials"),
            ))
        }
        None => return Err(OAuthError::new("invalid_request", "grant_type is missing")),
    }
    let (client_id, secret) = client_credentials(&headers, &request)?;
    let key = format!("{client_id}_{secret}");
    let stored = verified_api_key(&state, &key).await.map_err(|refused| match refused.code {
        ErrorCode::Unauthenticated => OAuthError::new("invalid_client", "unknown client or wrong secret"),
        _ => OAuthError::new("server_error", "the credentials could not be checked; try again"),
    })?;
    let roles: Vec<&str> = stored.key.roles.iter().map(|role| role.as_str()).collect();
    // A token carries exactly the key's roles: a narrower one needs a key with fewer roles.
    if let Some(scope) = &request.scope {
        let mut wanted: Vec<&str> = scope.split_whitespace().collect();
        wanted.sort_unstable();
        let mut held = roles.clone();
        held.sort_unstable();
        if wanted != held {
            return Err(OAuthError::new(
                "invalid_scope",
                format!(
                    "a token carries the key's roles ({}); omit scope or name exactly those",
                    roles.join(" ")
                ),
            ));
        }
    }
    let scope = roles.join(" ");
    let key_id = stored.key.id.clone();
    let key_expires_at = stored.key.expires_at.clone();
    let prefix = stored.key.prefix.clone();
    let client = client_address(Some(peer), &headers, &state.config.server.trusted_proxies);
    let principal = key_principal(stored, client)
        .map_err(|refused| OAuthError::new("invalid_client", refused.message))?;
    let now = time::OffsetDateTime::now_utc();
    let mut expires = now + time::Duration::minutes(i64::from(state.config.auth.access_token_minutes));
    // Never past the key's own expiry.
    if let Some(key_expiry) =
        key_expires_at.as_deref().and_then(|at| time::OffsetDateTime::parse(at, &Rfc3339).ok())
    {
        expires = expires.min(key_expiry);
    }
    let lifetime = u64::try_from((expires - now).whole_seconds()).unwrap_or_default();
    let record = LedgerRecord {
        actor: principal.actor,
        kind: "oauth.token".into(),
        subject: key_id,
        payload: json!({ "expires_at": govdata_store::timestamp::format(expires), "scope": scope }),
    };
    state.store.record_access(record).await.map_err(|error| {
        tracing::error!(%error, "token issue not recorded in the ledger");
        OAuthError::new("server_error", "the token could not be recorded; try again")
    })?;
    let response = TokenResponse {
        access_token: issue_access_token(&state.node().key, &prefix, expires.unix_timestamp()),
        token_type: "Bearer",
        expires_in: lifetime,
        scope,
    };
    Ok(([(header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")], Json(response)))
}

/// The client's id and secret: from HTTP Basic (RFC 6749 §2.3.1) or the
/// form, not both.
fn client_credentials(headers: &HeaderMap, request: &TokenRequest) -> Result<(String, String), OAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .and_then(|(scheme, encoded)| scheme.eq_ignore_ascii_case("basic").then_some(encoded))
        .map(|encoded| {
            base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .and_then(|pair| pair.split_once(':').map(|(id, secret)| (id.to_owned(), secret.to_owned())))
                .ok_or_else(|| OAuthError::new("invalid_client", "malformed HTTP Basic credentials"))
        })
        .transpose()?;
    match (basic, &request.client_id, &request.client_secret) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(OAuthError::new(
            "invalid_request",
            "send the client credentials once: HTTP Basic or the form",
        )),
        (Some(pair), None, None) => Ok(pair),
        (None, Some(id), Some(secret)) => Ok((id.clone(), secret.clone())),
        _ => Err(OAuthError::new("invalid_client", "client_id and client_secret are required")),
    }
}
