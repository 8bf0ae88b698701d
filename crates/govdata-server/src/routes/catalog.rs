//! The catalog (数据目录): registration, review and versions. Resource codes
//! contain a `/` (分类码/顺序码): send it percent-encoded in paths
//! (`/api/v1/catalog/entries/101001%2F000001`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use govdata_catalog::{ActOutcome, Caller, CatalogStats, EntryView};
use govdata_model::catalog::{
    Action, ActorContext, CatalogEntry, CheckReport, EntryDiff, EntryDraft, EntryStatus, ResourceCode,
};
use govdata_search::{Filters, SearchQuery, SearchResults, Sort};
use govdata_store::CatalogFilter;
use serde::Deserialize;

use crate::auth::{Principal, PrincipalKind};
use crate::error::{ApiResult, HttpError};
use crate::extract::{self, Path, Query};
use crate::state::AppState;

/// The catalog caller a principal acts as.
pub(crate) fn caller(principal: &Principal) -> Caller {
    let id = match &principal.kind {
        PrincipalKind::User { id, .. } => id.clone(),
        PrincipalKind::ApiKey { id } => format!("key:{id}"),
    };
    Caller {
        actor: principal.actor.clone(),
        context: ActorContext::new(id, principal.department_id.clone(), &principal.roles),
    }
}

fn code(text: &str) -> Result<ResourceCode, HttpError> {
    text.parse().map_err(|e: govdata_model::FieldError| HttpError::invalid("code", e.message))
}

/// Registers a catalog entry as a draft; the resource code is assigned by the coding rule.
#[utoipa::path(post, path = "/api/v1/catalog/entries", tag = "catalog", request_body = EntryDraft,
    responses((status = 201, body = CatalogEntry), (status = 403, body = HttpError), (status = 422, body = HttpError)))]
pub async fn register(
    State(state): State<AppState>,
    principal: Principal,
    extract::Json(draft): extract::Json<EntryDraft>,
) -> ApiResult<(StatusCode, Json<CatalogEntry>)> {
    let entry = state.catalog.register(&caller(&principal), draft).await?;
    Ok((StatusCode::CREATED, Json(entry)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    pub status: Option<EntryStatus>,
    pub department_id: Option<String>,
    /// 1-based page.
    pub page: Option<u32>,
    /// Entries per page, at most 200 (default 50).
    pub size: Option<u32>,
}

/// Latest versions the caller may see, newest first (reviewers: every department).
#[utoipa::path(get, path = "/api/v1/catalog/entries", tag = "catalog", params(ListParams),
    responses((status = 200, body = Vec<CatalogEntry>), (status = 400, body = HttpError)))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ListParams>,
) -> ApiResult<Json<Vec<CatalogEntry>>> {
    let size = params.size.unwrap_or(50);
    if !(1..=200).contains(&size) {
        return Err(HttpError::field(govdata_model::ErrorCode::BadRequest, "size", "must be 1–200"));
    }
    let page = params.page.unwrap_or(1).max(1);
    let filter = CatalogFilter {
        status: params.status,
        provider_department_id: params.department_id,
        limit: size,
        offset: (page - 1).saturating_mul(size),
    };
    Ok(Json(state.catalog.list(&caller(&principal), filter).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct VersionParam {
    /// A version number; default: the latest the caller may see (or, for
    /// actions, the one the action applies to).
    pub version: Option<u32>,
}

/// A catalog entry with its versions, history and registration deadline.
#[utoipa::path(get, path = "/api/v1/catalog/entries/{code}", tag = "catalog",
    params(("code" = String, Path, description = "resource code, `/` percent-encoded"), VersionParam),
    responses((status = 200, body = EntryView), (status = 404, body = HttpError)))]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(text): Path<String>,
    Query(param): Query<VersionParam>,
) -> ApiResult<Json<EntryView>> {
    Ok(Json(state.catalog.view(&caller(&principal), &code(&text)?, param.version).await?))
}

/// Replaces the metadata of a draft or returned version.
#[utoipa::path(put, path = "/api/v1/catalog/entries/{code}", tag = "catalog", request_body = EntryDraft,
    params(("code" = String, Path, description = "resource code, `/` percent-encoded")),
    responses((status = 200, body = CatalogEntry), (status = 403, body = HttpError),
              (status = 409, body = HttpError), (status = 422, body = HttpError)))]
pub async fn edit(
    State(state): State<AppState>,
    principal: Principal,
    Path(text): Path<String>,
    extract::Json(draft): extract::Json<EntryDraft>,
) -> ApiResult<Json<CatalogEntry>> {
    Ok(Json(state.catalog.edit(&caller(&principal), &code(&text)?, draft).await?))
}

/// Submit, approve, return (with per-field reasons), revise, publish, new version, withdraw or discard.
#[utoipa::path(post, path = "/api/v1/catalog/entries/{code}/actions", tag = "catalog", request_body = Action,
    params(("code" = String, Path, description = "resource code, `/` percent-encoded"), VersionParam),
    responses((status = 200, body = ActOutcome), (status = 403, body = HttpError),
              (status = 409, body = HttpError), (status = 422, body = HttpError)))]
pub async fn act(
    State(state): State<AppState>,
    principal: Principal,
    Path(text): Path<String>,
    Query(param): Query<VersionParam>,
    extract::Json(action): extract::Json<Action>,
) -> ApiResult<Json<ActOutcome>> {
    Ok(Json(state.catalog.act(&caller(&principal), &code(&text)?, param.version, action).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DiffParams {
    pub from: u32,
    pub to: u32,
}

/// Field-level differences between two versions.
#[utoipa::path(get, path = "/api/v1/catalog/entries/{code}/diff", tag = "catalog",
    params(("code" = String, Path, description = "resource code, `/` percent-encoded"), DiffParams),
    responses((status = 200, body = EntryDiff), (status = 404, body = HttpError)))]
pub async fn diff(
    State(state): State<AppState>,
    principal: Principal,
    Path(text): Path<String>,
    Query(params): Query<DiffParams>,
) -> ApiResult<Json<EntryDiff>> {
    Ok(Json(state.catalog.diff(&caller(&principal), &code(&text)?, params.from, params.to).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CheckParams {
    /// The entry being edited: it is not its own duplicate, and the checks
    /// that compare with the stored entry apply.
    pub code: Option<String>,
}

/// Runs the automatic checks on a draft without storing it (for inline form feedback).
#[utoipa::path(post, path = "/api/v1/catalog/check", tag = "catalog", request_body = EntryDraft, params(CheckParams),
    responses((status = 200, body = CheckReport), (status = 401, body = HttpError), (status = 422, body = HttpError)))]
pub async fn check(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<CheckParams>,
    extract::Json(draft): extract::Json<EntryDraft>,
) -> ApiResult<Json<CheckReport>> {
    let own = params.code.as_deref().map(code).transpose()?;
    Ok(Json(state.catalog.check(Some(&caller(&principal)), &draft, own.as_ref()).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OverdueParams {
    /// Default: the caller's department (reviewers: every department).
    pub department_id: Option<String>,
}

/// Entries not published within the registration deadline (working days).
#[utoipa::path(get, path = "/api/v1/catalog/overdue", tag = "catalog", params(OverdueParams),
    responses((status = 200, body = Vec<EntryView>), (status = 401, body = HttpError)))]
pub async fn overdue(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<OverdueParams>,
) -> ApiResult<Json<Vec<EntryView>>> {
    Ok(Json(state.catalog.overdue(&caller(&principal), params.department_id.as_deref()).await?))
}

/// Statistics of the one ledger (一本账): published entries by provider, class, share type,
/// open type, grade, update cycle and format; reviewers also see statuses and overdue counts.
#[utoipa::path(get, path = "/api/v1/catalog/stats", tag = "catalog",
    responses((status = 200, body = CatalogStats), (status = 401, body = HttpError)))]
pub async fn stats(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<CatalogStats>> {
    Ok(Json(state.catalog.stats(&caller(&principal)).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// Chinese or English text; empty lists everything visible.
    pub q: Option<String>,
    /// 1-based page (default 1).
    pub page: Option<u32>,
    /// Results per page, 1–100 (default 20).
    pub size: Option<u32>,
    /// `relevance` (default) or `recent`.
    pub sort: Option<Sort>,
    /// Facet filters, each a comma-separated list of values (as in `facets`).
    pub provider: Option<String>,
    pub class: Option<String>,
    pub share_type: Option<String>,
    pub open_type: Option<String>,
    pub grade: Option<String>,
    pub update_cycle: Option<String>,
    pub format_class: Option<String>,
    pub region: Option<String>,
    pub node: Option<String>,
    pub status: Option<String>,
}

fn values(list: Option<String>) -> Vec<String> {
    list.map(|l| l.split(',').map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Searches the catalog (jieba-segmented full text, facets, highlights). Anonymous callers
/// see published open entries; departments also see their own unpublished ones; reviewers see all.
#[utoipa::path(get, path = "/api/v1/catalog/search", tag = "catalog", params(SearchParams),
    responses((status = 200, body = SearchResults), (status = 400, body = HttpError), (status = 422, body = HttpError)))]
pub async fn search(
    State(state): State<AppState>,
    principal: Option<Principal>,
    Query(params): Query<SearchParams>,
) -> ApiResult<Json<SearchResults>> {
    let defaults = SearchQuery::default();
    let query = SearchQuery {
        q: params.q.unwrap_or_default(),
        page: params.page.unwrap_or(defaults.page),
        size: params.size.unwrap_or(defaults.size),
        sort: params.sort.unwrap_or(defaults.sort),
        filters: Filters {
            provider: values(params.provider),
            class: values(params.class),
            share_type: values(params.share_type),
            open_type: values(params.open_type),
            grade: values(params.grade),
            update_cycle: values(params.update_cycle),
            format_class: values(params.format_class),
            region: values(params.region),
            node: values(params.node),
            status: values(params.status),
        },
    };
    let caller = principal.as_ref().map(caller);
    Ok(Json(state.catalog.search(caller.as_ref(), query).await?))
}
