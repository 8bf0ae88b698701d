//! Login, logout, the current caller, and password change.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::CookieJar;
use govdata_model::org::{Role, User};
use govdata_model::ErrorCode;
use govdata_store::{timestamp, StoreError};
use serde::{Deserialize, Serialize};

use crate::auth::{self, Principal, PrincipalKind, CSRF_COOKIE, SESSION_COOKIE};
use crate::error::{ApiResult, HttpError};
use crate::extract;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    pub user: User,
    /// Send this back in the `x-csrf-token` header on state-changing requests.
    pub csrf_token: String,
    pub expires_at: String,
}

/// Logs a person in: sets an HttpOnly session cookie. Repeated failures lock the account.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = HttpError), (status = 423, body = HttpError)))]
pub async fn login(
    State(state): State<AppState>,
    jar: CookieJar,
    extract::Json(req): extract::Json<LoginRequest>,
) -> ApiResult<(CookieJar, Json<LoginResponse>)> {
    let auth_config = &state.config.auth;
    let stored = match state.store.user_by_username(&req.username).await {
        Ok(user) => Some(user),
        Err(StoreError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    if let Some(until) = stored.as_ref().and_then(|s| s.user.locked_until.as_deref()) {
        if until > timestamp::now().as_str() {
            return Err(locked(until));
        }
    }
    let hash = stored.as_ref().map(|s| s.password_hash.clone());
    if !auth::verify_password(req.password, hash).await {
        if stored.is_some() {
            let lock_until = timestamp::after(time::Duration::minutes(auth_config.lockout_minutes.into()));
            if state
                .store
                .record_login_failure(&req.username, auth_config.max_failed_logins.into(), &lock_until)
                .await?
            {
                return Err(locked(&lock_until));
            }
        }
        return Err(HttpError::new(ErrorCode::Unauthenticated, "invalid username or password"));
    }
    let stored = stored.expect("a verified password belongs to a stored user");
    if stored.user.disabled {
        return Err(HttpError::new(ErrorCode::Unauthenticated, "account disabled"));
    }
    let token = auth::random_token();
    let csrf_token = auth::random_token();
    let expires_at = timestamp::after(time::Duration::minutes(auth_config.session_ttl_minutes.into()));
    state
        .store
        .create_session(&stored.user.id, &auth::sha256_hex(token.as_bytes()), &csrf_token, &expires_at)
        .await?;
    let max_age = time::Duration::minutes(auth_config.session_ttl_minutes.into());
    let session = Cookie::build((SESSION_COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(auth_config.secure_cookies)
        .path("/")
        .max_age(max_age);
    // Readable by the portal's scripts, which echo it in the CSRF header.
    let csrf = Cookie::build((CSRF_COOKIE, csrf_token.clone()))
        .same_site(SameSite::Strict)
        .secure(auth_config.secure_cookies)
        .path("/")
        .max_age(max_age);
    let user = state.store.user(&stored.user.id).await?;
    Ok((jar.add(session).add(csrf), Json(LoginResponse { user, csrf_token, expires_at })))
}

fn locked(until: &str) -> HttpError {
    HttpError::new(
        ErrorCode::AccountLocked,
        format!("account locked after repeated failed logins until {until}"),
    )
}

/// Ends the current session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204), (status = 401, body = HttpError)))]
pub async fn logout(
    State(state): State<AppState>,
    principal: Principal,
    jar: CookieJar,
) -> ApiResult<(CookieJar, StatusCode)> {
    let PrincipalKind::User { id, session_hash } = &principal.kind else {
        return Err(HttpError::new(ErrorCode::BadRequest, "API keys have no session to end"));
    };
    state.store.end_session(&principal.actor, id, session_hash).await?;
    let jar =
        jar.remove(Cookie::build(SESSION_COOKIE).path("/")).remove(Cookie::build(CSRF_COOKIE).path("/"));
    Ok((jar, StatusCode::NO_CONTENT))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    /// How this caller appears in the ledger.
    pub actor: String,
    pub department_id: String,
    pub roles: Vec<Role>,
    /// The account, for a person; absent for an API key.
    pub user: Option<User>,
    pub api_key_id: Option<String>,
}

/// The caller: person or application, department and roles.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
    responses((status = 200, body = Me), (status = 401, body = HttpError)))]
pub async fn me(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<Me>> {
    let (user, api_key_id) = match &principal.kind {
        PrincipalKind::User { id, .. } => (Some(state.store.user(id).await?), None),
        PrincipalKind::ApiKey { id } => (None, Some(id.clone())),
    };
    Ok(Json(Me {
        actor: principal.actor,
        department_id: principal.department_id,
        roles: principal.roles,
        user,
        api_key_id,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Changes the caller's own password; every session of the account ends.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", request_body = PasswordChange,
    responses((status = 204), (status = 401, body = HttpError), (status = 422, body = HttpError)))]
pub async fn change_password(
    State(state): State<AppState>,
    principal: Principal,
    extract::Json(req): extract::Json<PasswordChange>,
) -> ApiResult<StatusCode> {
    let PrincipalKind::User { id, .. } = &principal.kind else {
        return Err(HttpError::new(ErrorCode::BadRequest, "API keys have no password"));
    };
    let user = state.store.user(id).await?;
    let stored = state.store.user_by_username(&user.username).await?;
    if !auth::verify_password(req.current_password, Some(stored.password_hash)).await {
        return Err(HttpError::field(ErrorCode::Unauthenticated, "current_password", "wrong password"));
    }
    auth::check_password(&req.new_password, &user.username, state.config.auth.min_password_length)
        .map_err(|e| HttpError { field: Some("new_password".into()), ..e })?;
    let hash = auth::hash_password(req.new_password).await?;
    state.store.set_password(&principal.actor, id, &hash).await?;
    Ok(StatusCode::NO_CONTENT)
}
