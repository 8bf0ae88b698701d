//! Bulk import and export of catalog entries (xlsx, CSV, JSON); the layout
//! and the import semantics are in `govdata_catalog::transfer` and
//! `docs/catalog-import.md`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use govdata_catalog::transfer::{export_entries, Format, ImportOutcome};
use govdata_model::catalog::EntryStatus;
use govdata_model::ErrorCode;
use govdata_store::CatalogFilter;
use serde::Deserialize;

use super::catalog::caller;
use crate::auth::Principal;
use crate::error::{ApiResult, HttpError};
use crate::extract::Query;
use crate::state::AppState;

/// Most entries one export holds.
const EXPORT_LIMIT: u32 = 10_000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ImportParams {
    /// Default: from the Content-Type.
    pub format: Option<Format>,
    /// Validate only, register nothing (default false).
    pub dry_run: Option<bool>,
}

/// Imports a file of catalog entries as drafts of the caller's department:
/// all or nothing, with a per-row report (422 when any row has an error).
#[utoipa::path(post, path = "/api/v1/catalog/import", tag = "catalog", params(ImportParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "xlsx, CSV (UTF-8 or GB18030/GBK) or a JSON array of EntryDraft"),
    responses((status = 200, body = ImportOutcome), (status = 403, body = HttpError),
              (status = 413, body = HttpError), (status = 422, body = ImportOutcome)))]
pub async fn import(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ImportParams>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<ImportOutcome>)> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            HttpError::new(ErrorCode::PayloadTooLarge, "request body is larger than the configured limit")
        } else {
            HttpError::new(ErrorCode::BadRequest, rejection.body_text())
        }
    })?;
    let format = match params.format {
        Some(format) => format,
        None => headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(Format::from_content_type)
            .ok_or_else(|| {
            HttpError::field(
                ErrorCode::BadRequest,
                "format",
                "give format=xlsx|csv|json or a Content-Type naming one",
            )
        })?,
    };
    let outcome =
        state.catalog.import(&caller(&principal), format, &body, params.dry_run.unwrap_or(false)).await?;
    let status =
        if outcome.report.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok((status, Json(outcome)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    pub format: Format,
    pub department_id: Option<String>,
    pub status: Option<EntryStatus>,
}

/// Exports the latest versions the caller may see as a file download, in
/// the layout import reads.
#[utoipa::path(get, path = "/api/v1/catalog/export", tag = "catalog", params(ExportParams),
    responses((status = 200, description = "the file", content_type = "application/octet-stream", body = Vec<u8>),
              (status = 400, body = HttpError)))]
pub async fn export(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ExportParams>,
) -> ApiResult<Response> {
    let filter = CatalogFilter {
        status: params.status,
        provider_department_id: params.department_id,
        limit: EXPORT_LIMIT,
        offset: 0,
    };
    let entries = state.catalog.list(&caller(&principal), filter).await?;
    let file = export_entries(params.format, &entries)?;
    let disposition = format!("attachment; filename=\"catalog.{}\"", params.format.extension());
    Ok(([(CONTENT_TYPE, params.format.content_type().to_owned()), (CONTENT_DISPOSITION, disposition)], file)
        .into_response())
}
