//! User accounts, role assignment and API keys.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use govdata_model::org::{check_role_set, ApiKey, Role, User};
use govdata_store::{timestamp, NewApiKey, NewUser};
use serde::{Deserialize, Serialize};

use super::org::DepartmentFilter;
use super::text_field;
use crate::auth::{self, Principal};
use crate::error::{ApiResult, HttpError};
use crate::extract::{self, Path, Query};
use crate::policy::Action;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserRequest {
    /// 3–64 characters: lowercase letters, digits, `.`, `_`, `-`.
    pub username: String,
    pub display_name: String,
    pub department_id: String,
    pub roles: Vec<Role>,
    pub password: String,
}

fn check_username(username: &str) -> Result<(), HttpError> {
    let ok_len = (3..=64).contains(&username.len());
    let ok_chars = username
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'));
    if ok_len && ok_chars {
        Ok(())
    } else {
        Err(HttpError::invalid(
            "username",
            "must be 3–64 characters of lowercase letters, digits, '.', '_' or '-'",
        ))
    }
}

/// Creates an account. No account may hold two of admin, security_admin and auditor.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = UserRequest,
    responses((status = 201, body = User), (status = 403, body = HttpError),
              (status = 409, body = HttpError), (status = 422, body = HttpError)))]
pub async fn create_user(
    State(state): State<AppState>,
    principal: Principal,
    extract::Json(req): extract::Json<UserRequest>,
) -> ApiResult<(StatusCode, Json<User>)> {
    principal.authorize(Action::CreateUser)?;
    let new = req.validate(state.config.auth.min_password_length).await?;
    let user = state.store.create_user(&principal.actor, new).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

impl UserRequest {
    /// Applies the account rules and hashes the password.
    pub async fn validate(self, min_password_length: usize) -> Result<NewUser, HttpError> {
        check_username(&self.username)?;
        let display_name = text_field("display_name", &self.display_name, 100)?;
        check_role_set(&self.roles)?;
        auth::check_password(&self.password, &self.username, min_password_length)?;
        let password_hash = auth::hash_password(self.password).await?;
        Ok(NewUser {
            username: self.username,
            display_name,
            department_id: self.department_id,
            password_hash,
            roles: self.roles,
        })
    }
}

/// Accounts, optionally of one department.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(DepartmentFilter),
    responses((status = 200, body = Vec<User>), (status = 403, body = HttpError)))]
pub async fn list_users(
    State(state): State<AppState>,
    principal: Principal,
    Query(filter): Query<DepartmentFilter>,
) -> ApiResult<Json<Vec<User>>> {
    principal.authorize(Action::ReadUsers)?;
    Ok(Json(state.store.users(filter.department_id.as_deref()).await?))
}

/// One account.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users",
    params(("id" = String, Path, description = "user id")),
    responses((status = 200, body = User), (status = 403, body = HttpError), (status = 404, body = HttpError)))]
pub async fn get_user(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<User>> {
    principal.authorize(Action::ReadUsers)?;
    Ok(Json(state.store.user(&id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolesRequest {
    pub roles: Vec<Role>,
}

/// Replaces an account's roles (security administrator only).
#[utoipa::path(put, path = "/api/v1/users/{id}/roles", tag = "users", request_body = RolesRequest,
    params(("id" = String, Path, description = "user id")),
    responses((status = 200, body = User), (status = 403, body = HttpError), (status = 422, body = HttpError)))]
pub async fn set_roles(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    extract::Json(req): extract::Json<RolesRequest>,
) -> ApiResult<Json<User>> {
    principal.authorize(Action::AssignRoles)?;
    Ok(Json(state.store.set_user_roles(&principal.actor, &id, &req.roles).await?))
}

/// Clears a lockout after repeated failed logins.
#[utoipa::path(post, path = "/api/v1/users/{id}/unlock", tag = "users",
    params(("id" = String, Path, description = "user id")),
    responses((status = 200, body = User), (status = 403, body = HttpError), (status = 404, body = HttpError)))]
pub async fn unlock_user(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<User>> {
    principal.authorize(Action::ManageAccount)?;
    Ok(Json(state.store.unlock_user(&principal.actor, &id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisabledRequest {
    pub disabled: bool,
}

/// Disables (ending its sessions) or re-enables an account.
#[utoipa::path(put, path = "/api/v1/users/{id}/disabled", tag = "users", request_body = DisabledRequest,
    params(("id" = String, Path, description = "user id")),
    responses((status = 200, body = User), (status = 403, body = HttpError), (status = 404, body = HttpError)))]
pub async fn set_disabled(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    extract::Json(req): extract::Json<DisabledRequest>,
) -> ApiResult<Json<User>> {
    principal.authorize(Action::ManageAccount)?;
    Ok(Json(state.store.set_user_disabled(&principal.actor, &id, req.disabled).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyRequest {
    pub name: String,
    /// Defaults to the caller's department.
    pub department_id: Option<String>,
    pub roles: Vec<Role>,
    /// Days until the key stops working; none for no expiry.
    pub expires_in_days: Option<u32>,
    /// Networks the key may be used from (CIDR such as `10.12.0.0/16`, or
    /// one address); empty or absent admits any address.
    #[serde(default)]
    pub allowed_networks: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedApiKey {
    pub key: ApiKey,
    /// The whole key, shown this once: send it as `Authorization: Bearer <secret>`.
    pub secret: String,
}

/// Issues an API key for an application. The secret is returned once and stored only hashed.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api-keys", request_body = ApiKeyRequest,
    responses((status = 201, body = CreatedApiKey), (status = 403, body = HttpError), (status = 422, body = HttpError)))]
pub async fn create_api_key(
    State(state): State<AppState>,
    principal: Principal,
    extract::Json(req): extract::Json<ApiKeyRequest>,
) -> ApiResult<(StatusCode, Json<CreatedApiKey>)> {
    let department_id = req.department_id.clone().unwrap_or_else(|| principal.department_id.clone());
    principal.authorize(Action::CreateApiKey { department_id: &department_id, roles: &req.roles })?;
    let (new, secret) = req.validate(department_id)?;
    let key = state.store.create_api_key(&principal.actor, new).await?;
    Ok((StatusCode::CREATED, Json(CreatedApiKey { key, secret })))
}

/// Most networks in one key's allow-list.
const MAX_ALLOWED_NETWORKS: usize = 64;

impl ApiKeyRequest {
    /// Applies the key rules and generates the secret: `(key to store, secret to show once)`.
    pub fn validate(self, department_id: String) -> Result<(NewApiKey, String), HttpError> {
        let name = text_field("name", &self.name, 100)?;
        check_role_set(&self.roles)?;
        let expires_at = match self.expires_in_days {
            Some(0) => return Err(HttpError::invalid("expires_in_days", "must be at least 1")),
            Some(days) if days > 3650 => {
                return Err(HttpError::invalid("expires_in_days", "must be at most 3650"))
            }
            Some(days) => Some(timestamp::after(time::Duration::days(days.into()))),
            None => None,
        };
        if self.allowed_networks.len() > MAX_ALLOWED_NETWORKS {
            return Err(HttpError::invalid(
                "allowed_networks",
                format!("at most {MAX_ALLOWED_NETWORKS} networks"),
            ));
        }
        let allowed_networks = self
            .allowed_networks
            .iter()
            .enumerate()
            .map(|(i, text)| {
                auth::parse_network(text).map(|net| net.to_string()).ok_or_else(|| {
                    HttpError::invalid(format!("allowed_networks[{i}]"), "not an IP address or CIDR network")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (secret, prefix, secret_hash) = auth::generate_api_key();
        let new = NewApiKey {
            name,
            prefix,
            secret_hash,
            department_id,
            roles: self.roles,
            expires_at,
            allowed_networks,
        };
        Ok((new, secret))
    }
}

/// API keys of a department (default: the caller's).
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api-keys", params(DepartmentFilter),
    responses((status = 200, body = Vec<ApiKey>), (status = 403, body = HttpError)))]
pub async fn list_api_keys(
    State(state): State<AppState>,
    principal: Principal,
    Query(filter): Query<DepartmentFilter>,
) -> ApiResult<Json<Vec<ApiKey>>> {
    let department_id = filter.department_id.unwrap_or_else(|| principal.department_id.clone());
    principal.authorize(Action::ReadApiKeys { department_id: &department_id })?;
    Ok(Json(state.store.api_keys(Some(&department_id)).await?))
}

/// Revokes an API key; the next request with it is refused.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "api-keys",
    params(("id" = String, Path, description = "API key id")),
    responses((status = 200, body = ApiKey), (status = 403, body = HttpError),
              (status = 404, body = HttpError), (status = 409, body = HttpError)))]
pub async fn revoke_api_key(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<ApiKey>> {
    let key = state.store.api_key(&id).await?;
    principal.authorize(Action::RevokeApiKey { department_id: &key.department_id })?;
    let revoked = state.store.revoke_api_key(&principal.actor, &id).await?;
    state.api_keys.forget_all();
    Ok(Json(revoked))
}
