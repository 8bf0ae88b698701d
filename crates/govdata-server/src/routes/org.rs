//! Departments and their information systems (政务信息系统).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use govdata_model::org::{Department, InfoSystem};
use govdata_model::validate;
use govdata_store::{NewDepartment, NewSystem};
use serde::{Deserialize, Serialize};

use super::{region_field, text_field};
use crate::auth::Principal;
use crate::error::{ApiResult, HttpError};
use crate::extract::{self, Path, Query};
use crate::policy::Action;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentRequest {
    pub name: String,
    /// Unified social credit code (GB 32100).
    pub uscc: String,
    /// GB/T 2260 region code.
    pub region: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedDepartment {
    pub department: Department,
    /// Non-fatal findings, e.g. a USCC whose check character does not match.
    pub warnings: Vec<String>,
}

/// Registers a department. The USCC must be well-formed; a failed check character is only a warning.
#[utoipa::path(post, path = "/api/v1/departments", tag = "organisation", request_body = DepartmentRequest,
    responses((status = 201, body = CreatedDepartment), (status = 403, body = HttpError),
              (status = 409, body = HttpError), (status = 422, body = HttpError)))]
pub async fn create_department(
    State(state): State<AppState>,
    principal: Principal,
    extract::Json(req): extract::Json<DepartmentRequest>,
) -> ApiResult<(StatusCode, Json<CreatedDepartment>)> {
    principal.authorize(Action::CreateDepartment)?;
    let (new, warnings) = req.validate()?;
    let department = state.store.create_department(&principal.actor, new).await?;
    Ok((StatusCode::CREATED, Json(CreatedDepartment { department, warnings })))
}

impl DepartmentRequest {
    /// Applies the rules for a department; returns it with any warnings.
    pub fn validate(self) -> Result<(NewDepartment, Vec<String>), HttpError> {
        let name = text_field("name", &self.name, 100)?;
        let uscc = validate::uscc(&self.uscc);
        if !uscc.valid {
            return Err(HttpError::invalid("uscc", uscc.errors.join("; ")));
        }
        let region = region_field("region", &self.region)?;
        let code = uscc.normalized.expect("a valid code has a normalized form");
        Ok((NewDepartment { name, uscc: code, region }, uscc.warnings))
    }
}

/// All departments of this node.
#[utoipa::path(get, path = "/api/v1/departments", tag = "organisation",
    responses((status = 200, body = Vec<Department>), (status = 401, body = HttpError)))]
pub async fn list_departments(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<Vec<Department>>> {
    principal.authorize(Action::ReadOrganisation)?;
    Ok(Json(state.store.departments().await?))
}

/// One department.
#[utoipa::path(get, path = "/api/v1/departments/{id}", tag = "organisation",
    params(("id" = String, Path, description = "department id")),
    responses((status = 200, body = Department), (status = 404, body = HttpError)))]
pub async fn get_department(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Department>> {
    principal.authorize(Action::ReadOrganisation)?;
    Ok(Json(state.store.department(&id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SystemRequest {
    pub department_id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// Registers an information system run by a department.
#[utoipa::path(post, path = "/api/v1/systems", tag = "organisation", request_body = SystemRequest,
    responses((status = 201, body = InfoSystem), (status = 403, body = HttpError),
              (status = 404, body = HttpError), (status = 422, body = HttpError)))]
pub async fn create_system(
    State(state): State<AppState>,
    principal: Principal,
    extract::Json(req): extract::Json<SystemRequest>,
) -> ApiResult<(StatusCode, Json<InfoSystem>)> {
    principal.authorize(Action::CreateSystem { department_id: &req.department_id })?;
    let system = state.store.create_system(&principal.actor, req.validate()?).await?;
    Ok((StatusCode::CREATED, Json(system)))
}

impl SystemRequest {
    pub fn validate(self) -> Result<NewSystem, HttpError> {
        let name = text_field("name", &self.name, 100)?;
        if self.description.chars().count() > 2000 {
            return Err(HttpError::invalid("description", "must be at most 2000 characters"));
        }
        Ok(NewSystem {
            department_id: self.department_id,
            name,
            description: self.description.trim().to_owned(),
        })
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DepartmentFilter {
    /// Only this department's items.
    pub department_id: Option<String>,
}

/// Information systems, optionally of one department.
#[utoipa::path(get, path = "/api/v1/systems", tag = "organisation", params(DepartmentFilter),
    responses((status = 200, body = Vec<InfoSystem>), (status = 401, body = HttpError)))]
pub async fn list_systems(
    State(state): State<AppState>,
    principal: Principal,
    Query(filter): Query<DepartmentFilter>,
) -> ApiResult<Json<Vec<InfoSystem>>> {
    principal.authorize(Action::ReadOrganisation)?;
    Ok(Json(state.store.systems(filter.department_id.as_deref()).await?))
}
