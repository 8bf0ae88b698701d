//! Data resources (数据资源): where an entry's data lives, aggregation jobs,
//! and reads for providers and the authority; plus the person and enterprise
//! profiles (一人一档, 一企一档).

use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use futures::StreamExt;
use govdata_lake::drift::Drift;
use govdata_lake::mapping::EntityKind;
use govdata_lake::profile::{Preview, TableProfile};
use govdata_lake::resource::ResourceSpec;
use govdata_lake::service::{EntityProfile, JobInput, ResourceView};
use govdata_lake::table::{ArchiveReport, AsOf, TableVersion};
use govdata_model::ErrorCode;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use crate::auth::Principal;
use crate::error::{ApiResult, HttpError};
use crate::extract::{self, Path, Query};
use crate::routes::catalog::caller;
use crate::state::AppState;

/// Registers a resource for a catalog entry: a physical one (copied into the
/// lake by jobs from uploads, a database or an HTTP API) or a logical one
/// (read in place from the department's database).
#[utoipa::path(post, path = "/api/v1/catalog/entries/{code}/resources", tag = "resources",
    request_body = ResourceSpec,
    params(("code" = String, Path, description = "resource code, `/` percent-encoded")),
    responses((status = 201, body = ResourceView), (status = 403, body = HttpError),
              (status = 404, body = HttpError), (status = 422, body = HttpError)))]
pub async fn register(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
    extract::Json(spec): extract::Json<ResourceSpec>,
) -> ApiResult<(StatusCode, Json<ResourceView>)> {
    let view = state.resources.register(&caller(&principal), &code, spec).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Only the resources of this catalog entry.
    pub entry_code: Option<String>,
}

/// Resources the caller may read: its department's, or all for the authority.
#[utoipa::path(get, path = "/api/v1/resources", tag = "resources", params(ListParams),
    responses((status = 200, body = Vec<ResourceView>)))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ListParams>,
) -> ApiResult<Json<Vec<ResourceView>>> {
    Ok(Json(state.resources.list(&caller(&principal), params.entry_code).await?))
}

#[utoipa::path(get, path = "/api/v1/resources/{id}", tag = "resources",
    params(("id" = String, Path)),
    responses((status = 200, body = ResourceView), (status = 403, body = HttpError), (status = 404, body = HttpError)))]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<ResourceView>> {
    Ok(Json(state.resources.get(&caller(&principal), &id).await?))
}

/// Replaces a resource's definition; the next job reports schema drift
/// against the columns the last job saw.
#[utoipa::path(put, path = "/api/v1/resources/{id}", tag = "resources", request_body = ResourceSpec,
    params(("id" = String, Path)),
    responses((status = 200, body = ResourceView), (status = 403, body = HttpError), (status = 422, body = HttpError)))]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    extract::Json(spec): extract::Json<ResourceSpec>,
) -> ApiResult<Json<ResourceView>> {
    Ok(Json(state.resources.update(&caller(&principal), &id, spec).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeleteParams {
    /// Why the resource is removed (kept in the ledger).
    pub reason: String,
}

/// Removes a resource from use; its table and job history stay for audit.
#[utoipa::path(delete, path = "/api/v1/resources/{id}", tag = "resources",
    params(("id" = String, Path), DeleteParams),
    responses((status = 204), (status = 403, body = HttpError), (status = 409, body = HttpError)))]
pub async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(params): Query<DeleteParams>,
) -> ApiResult<StatusCode> {
    state.resources.delete(&caller(&principal), &id, &params.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts an aggregation job. For an upload resource the body is the file
/// (CSV, JSON, NDJSON, xlsx or Parquet as the resource's format says),
/// streamed to disk up to `lake.max_upload_bytes`; other resources take an
/// empty body and read their own source.
#[utoipa::path(post, path = "/api/v1/resources/{id}/jobs", tag = "resources",
    params(("id" = String, Path)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 202, body = Object), (status = 409, body = HttpError),
              (status = 413, body = HttpError), (status = 422, body = HttpError)))]
pub async fn run(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<(StatusCode, Json<govdata_store::JobRecord>)> {
    let caller = caller(&principal);
    // Refuse before storing a byte when the caller may not run jobs at all.
    if let Err(refused) = state.resources.check_run(&caller, &id).await {
        discard_small_body(body).await;
        return Err(refused.into());
    }
    let upload = receive_upload(&state, body).await?;
    let input = match &upload {
        Some(path) => JobInput::Upload(path.clone()),
        None => JobInput::Source,
    };
    match state.resources.run(&caller, &id, input).await {
        Ok(job) => Ok((StatusCode::ACCEPTED, Json(job))),
        Err(error) => {
            if let Some(path) = upload {
                let _ = tokio::fs::remove_file(path).await;
            }
            Err(error.into())
        }
    }
}

/// Reads and drops up to [`DISCARD_LIMIT`] bytes of a refused upload, so the
/// connection stays usable for the client's next request; a larger body is
/// left unread and the connection closes.
async fn discard_small_body(body: Body) {
    let mut stream = body.into_data_stream();
    let mut read = 0;
    while let Some(Ok(chunk)) = stream.next().await {
        read += chunk.len();
        if read > DISCARD_LIMIT {
            break;
        }
    }
}

const DISCARD_LIMIT: usize = 1024 * 1024;

/// Streams a request body to `<data_dir>/uploads`; `None` for an empty body.
async fn receive_upload(state: &AppState, body: Body) -> Result<Option<std::path::PathBuf>, HttpError> {
    let limit = state.config.lake.max_upload_bytes;
    let dir = state.config.data_dir.join("uploads");
    tokio::fs::create_dir_all(&dir).await.map_err(internal)?;
    let path = dir.join(format!("{}.upload", uuid::Uuid::new_v4()));
    let mut stream = body.into_data_stream();
    let mut file: Option<tokio::fs::File> = None;
    let mut received: u64 = 0;
    let outcome: Result<(), HttpError> = async {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk
                .map_err(|e| HttpError::new(ErrorCode::BadRequest, format!("upload interrupted: {e}")))?;
            received += chunk.len() as u64;
            if received > limit {
                return Err(HttpError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("the upload is larger than lake.max_upload_bytes ({limit} bytes)"),
                ));
            }
            if file.is_none() {
                file = Some(tokio::fs::File::create(&path).await.map_err(internal)?);
            }
            if let Some(file) = file.as_mut() {
                file.write_all(&chunk).await.map_err(internal)?;
            }
        }
        if let Some(file) = file.as_mut() {
            file.sync_all().await.map_err(internal)?;
        }
        Ok(())
    }
    .await;
    match outcome {
        Ok(()) if file.is_some() => Ok(Some(path)),
        Ok(()) => Ok(None),
        Err(error) => {
            if file.is_some() {
                let _ = tokio::fs::remove_file(&path).await;
            }
            Err(error)
        }
    }
}

fn internal(error: std::io::Error) -> HttpError {
    tracing::error!(%error, "upload storage failed");
    HttpError::new(ErrorCode::Internal, "internal error")
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct JobsParams {
    /// Most jobs to list, newest first (default 50, at most 200).
    pub limit: Option<u32>,
}

/// The resource's job history: rows read, written, rejected (with a
/// sample), schema drift, errors and the table version each job committed.
#[utoipa::path(get, path = "/api/v1/resources/{id}/jobs", tag = "resources",
    params(("id" = String, Path), JobsParams),
    responses((status = 200, body = Vec<Object>), (status = 403, body = HttpError)))]
pub async fn jobs(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(params): Query<JobsParams>,
) -> ApiResult<Json<Vec<govdata_store::JobRecord>>> {
    let limit = params.limit.unwrap_or(50);
    if !(1..=govdata_store::MAX_JOB_PAGE).contains(&limit) {
        return Err(HttpError::field(ErrorCode::BadRequest, "limit", "must be 1–200"));
    }
    Ok(Json(state.resources.jobs(&caller(&principal), &id, limit).await?))
}

/// The table's versions, newest first, with the job behind each.
#[utoipa::path(get, path = "/api/v1/resources/{id}/versions", tag = "resources",
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<TableVersion>), (status = 403, body = HttpError)))]
pub async fn versions(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<TableVersion>>> {
    Ok(Json(state.resources.versions(&caller(&principal), &id).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReadParams {
    /// Rows to show (preview only; default 20, at most 1000).
    pub limit: Option<usize>,
    /// Read this table version.
    pub version: Option<u64>,
    /// Read the table as it was at this time (RFC 3339).
    pub as_of: Option<String>,
}

impl ReadParams {
    fn as_of(&self) -> Result<AsOf, HttpError> {
        match (self.version, &self.as_of) {
            (Some(_), Some(_)) => Err(HttpError::invalid("as_of", "give a version or a time, not both")),
            (Some(version), None) => Ok(AsOf::Version(version)),
            (None, Some(text)) => {
                time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                    .map(AsOf::Time)
                    .map_err(|_| {
                        HttpError::invalid(
                            "as_of",
                            "must be an RFC 3339 time, e.g. 2026-01-31T08:00:00+08:00",
                        )
                    })
            }
            (None, None) => Ok(AsOf::Latest),
        }
    }
}

/// The first rows of the resource's data (provider department and authority).
#[utoipa::path(get, path = "/api/v1/resources/{id}/preview", tag = "resources",
    params(("id" = String, Path), ReadParams),
    responses((status = 200, body = Preview), (status = 403, body = HttpError), (status = 422, body = HttpError)))]
pub async fn preview(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(params): Query<ReadParams>,
) -> ApiResult<Json<Preview>> {
    let limit = params.limit.unwrap_or(20);
    if !(1..=govdata_lake::profile::MAX_PREVIEW_ROWS).contains(&limit) {
        return Err(HttpError::field(ErrorCode::BadRequest, "limit", "must be 1–1000"));
    }
    let as_of = params.as_of()?;
    Ok(Json(state.resources.preview(&caller(&principal), &id, limit, as_of).await?))
}

/// Per column: null share, distinct count (estimate), min and max.
#[utoipa::path(get, path = "/api/v1/resources/{id}/profile", tag = "resources",
    params(("id" = String, Path), ReadParams),
    responses((status = 200, body = TableProfile), (status = 403, body = HttpError)))]
pub async fn profile(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(params): Query<ReadParams>,
) -> ApiResult<Json<TableProfile>> {
    if params.limit.is_some() {
        return Err(HttpError::field(ErrorCode::BadRequest, "limit", "a profile covers every row"));
    }
    let as_of = params.as_of()?;
    Ok(Json(state.resources.profile(&caller(&principal), &id, as_of).await?))
}

/// 归档: moves data files of versions older than the resource's retention
/// period to the archive (`<data_dir>/lake/archive/<id>`). Also done daily.
#[utoipa::path(post, path = "/api/v1/resources/{id}/archive", tag = "resources",
    params(("id" = String, Path)),
    responses((status = 200, body = ArchiveReport), (status = 403, body = HttpError), (status = 422, body = HttpError)))]
pub async fn archive(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<ArchiveReport>> {
    Ok(Json(state.resources.archive(&caller(&principal), &id).await?))
}

/// The source's columns now against those the last job saw and the mapping.
#[utoipa::path(get, path = "/api/v1/resources/{id}/drift", tag = "resources",
    params(("id" = String, Path)),
    responses((status = 200, body = Drift), (status = 403, body = HttpError), (status = 503, body = HttpError)))]
pub async fn drift(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Drift>> {
    Ok(Json(state.resources.drift(&caller(&principal), &id).await?))
}

/// 一人一档: everything the caller may read about one person, by citizen ID.
#[utoipa::path(get, path = "/api/v1/profiles/person/{id}", tag = "resources",
    params(("id" = String, Path, description = "GB 11643 citizen identity number")),
    responses((status = 200, body = EntityProfile), (status = 422, body = HttpError)))]
pub async fn person(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<EntityProfile>> {
    Ok(Json(state.resources.entity_profile(&caller(&principal), EntityKind::Person, &id).await?))
}

/// 一企一档: everything the caller may read about one enterprise, by USCC.
#[utoipa::path(get, path = "/api/v1/profiles/enterprise/{uscc}", tag = "resources",
    params(("uscc" = String, Path, description = "GB 32100 unified social credit code")),
    responses((status = 200, body = EntityProfile), (status = 422, body = HttpError)))]
pub async fn enterprise(
    State(state): State<AppState>,
    principal: Principal,
    Path(uscc): Path<String>,
) -> ApiResult<Json<EntityProfile>> {
    Ok(Json(state.resources.entity_profile(&caller(&principal), EntityKind::Enterprise, &uscc).await?))
}
