//! Sharing (数据共享): share applications and their decisions, grants,
//! demands and objections, and the data gateway. The workflow takes a
//! browser session or an API key; the gateway is meant for consumer
//! applications (`Authorization: Bearer`).

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use govdata_model::ApiError;
use govdata_sharing::gateway::{ExportFormat, LookupAnswer, LookupRequest, VerifyAnswer, VerifyRequest};
use govdata_sharing::report::{ReportQuery, SharingReport};
use govdata_sharing::service::{ApplicationQuery, ApplicationView, DecisionRequest, GrantView, Side};
use govdata_sharing::subscription::{ChangesPage, ChangesQuery, SubscribeRequest, SubscriptionView};
use govdata_sharing::terms::ApplyRequest;
use govdata_sharing::usage::{GrantUsage, UsageQuery};
use govdata_sharing::workflow::{
    DemandAnswerRequest, DemandRequest, DemandView, ObjectionRequest, ObjectionView, RulingRequest,
};
use serde::Deserialize;

use crate::auth::Principal;
use crate::error::{ApiResult, HttpError};
use crate::extract::{self, Path, Query};
use crate::routes::catalog::caller;
use crate::state::AppState;

/// Applies for one or more catalog entries at once (one-stop): one
/// application per entry. 无条件共享 data is approved at once when the node
/// allows it; 不予共享 data is refused with its legal basis.
#[utoipa::path(post, path = "/api/v1/sharing/applications", tag = "sharing", request_body = ApplyRequest,
    responses((status = 201, body = Vec<ApplicationView>), (status = 403, body = HttpError),
              (status = 422, body = HttpError)))]
pub async fn apply(
    State(state): State<AppState>,
    principal: Principal,
    extract::Json(request): extract::Json<ApplyRequest>,
) -> ApiResult<(StatusCode, Json<Vec<ApplicationView>>)> {
    let views = state.sharing.apply(&caller(&principal), request).await?;
    Ok((StatusCode::CREATED, Json(views)))
}

/// Applications the caller's department made or received; every one for
/// the authority and the auditor.
#[utoipa::path(get, path = "/api/v1/sharing/applications", tag = "sharing", params(ApplicationQuery),
    responses((status = 200, body = Vec<ApplicationView>)))]
pub async fn applications(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<ApplicationQuery>,
) -> ApiResult<Json<Vec<ApplicationView>>> {
    Ok(Json(state.sharing.applications(&caller(&principal), query).await?))
}

/// One application with its timeline.
#[utoipa::path(get, path = "/api/v1/sharing/applications/{id}", tag = "sharing",
    params(("id" = String, Path)),
    responses((status = 200, body = ApplicationView), (status = 403, body = HttpError), (status = 404, body = HttpError)))]
pub async fn application(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<ApplicationView>> {
    Ok(Json(state.sharing.application(&caller(&principal), &id).await?))
}

/// The provider's decision (or the authority's, for 重要/核心 data and
/// overdue applications). A rejection cites its legal basis.
#[utoipa::path(post, path = "/api/v1/sharing/applications/{id}/decision", tag = "sharing",
    params(("id" = String, Path)), request_body = DecisionRequest,
    responses((status = 200, body = ApplicationView), (status = 403, body = HttpError),
              (status = 409, body = HttpError), (status = 422, body = HttpError)))]
pub async fn decide(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    extract::Json(decision): extract::Json<DecisionRequest>,
) -> ApiResult<Json<ApplicationView>> {
    Ok(Json(state.sharing.decide(&caller(&principal), &id, decision).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    pub reason: String,
}

/// The applying department takes back an open application.
#[utoipa::path(post, path = "/api/v1/sharing/applications/{id}/withdraw", tag = "sharing",
    params(("id" = String, Path)), request_body = ReasonRequest,
    responses((status = 200, body = ApplicationView), (status = 403, body = HttpError), (status = 409, body = HttpError)))]
pub async fn withdraw(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    extract::Json(request): extract::Json<ReasonRequest>,
) -> ApiResult<Json<ApplicationView>> {
    Ok(Json(state.sharing.withdraw(&caller(&principal), &id, &request.reason).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SideQuery {
    /// `consumer`: my department's side as consumer; `provider`: as provider;
    /// absent: both (everything for the authority and the auditor).
    pub side: Option<Side>,
}

#[utoipa::path(get, path = "/api/v1/sharing/grants", tag = "sharing", params(SideQuery),
    responses((status = 200, body = Vec<GrantView>)))]
pub async fn grants(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<SideQuery>,
) -> ApiResult<Json<Vec<GrantView>>> {
    Ok(Json(state.sharing.grants(&caller(&principal), query.side).await?))
}

#[utoipa::path(get, path = "/api/v1/sharing/grants/{id}", tag = "sharing", params(("id" = String, Path)),
    responses((status = 200, body = GrantView), (status = 403, body = HttpError), (status = 404, body = HttpError)))]
pub async fn grant(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<GrantView>> {
    Ok(Json(state.sharing.grant(&caller(&principal), &id).await?))
}

/// Revokes a grant at once, even for an export already streaming.
#[utoipa::path(post, path = "/api/v1/sharing/grants/{id}/revoke", tag = "sharing",
    params(("id" = String, Path)), request_body = ReasonRequest,
    responses((status = 200, body = GrantView), (status = 403, body = HttpError), (status = 409, body = HttpError)))]
pub async fn revoke(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    extract::Json(request): extract::Json<ReasonRequest>,
) -> ApiResult<Json<GrantView>> {
    Ok(Json(state.sharing.revoke(&caller(&principal), &id, &request.reason).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenewRequest {
    /// The grant runs this many days from now.
    pub days: u32,
}

#[utoipa::path(post, path = "/api/v1/sharing/grants/{id}/renew", tag = "sharing",
    params(("id" = String, Path)), request_body = RenewRequest,
    responses((status = 200, body = GrantView), (status = 403, body = HttpError), (status = 409, body = HttpError)))]
pub async fn renew(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    extract::Json(request): extract::Json<RenewRequest>,
) -> ApiResult<Json<GrantView>> {
    Ok(Json(state.sharing.renew(&caller(&principal), &id, request.days).await?))
}

/// Rows of the granted items for up to 100 entity keys, masked as granted.
#[utoipa::path(post, path = "/api/v1/gateway/grants/{id}/lookup", tag = "gateway",
    params(("id" = String, Path, description = "grant id")), request_body = LookupRequest,
    responses((status = 200, body = LookupAnswer), (status = 403, body = HttpError),
              (status = 422, body = HttpError), (status = 429, body = HttpError)))]
pub async fn lookup(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    extract::Json(request): extract::Json<LookupRequest>,
) -> ApiResult<Json<LookupAnswer>> {
    Ok(Json(state.sharing.lookup(&caller(&principal), &id, request).await?))
}

/// 核验: match or mismatch per submitted value; no data is returned.
#[utoipa::path(post, path = "/api/v1/gateway/grants/{id}/verify", tag = "gateway",
    params(("id" = String, Path, description = "grant id")), request_body = VerifyRequest,
    responses((status = 200, body = VerifyAnswer), (status = 403, body = HttpError),
              (status = 422, body = HttpError), (status = 429, body = HttpError)))]
pub async fn verify(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    extract::Json(request): extract::Json<VerifyRequest>,
) -> ApiResult<Json<VerifyAnswer>> {
    Ok(Json(state.sharing.verify(&caller(&principal), &id, request).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    pub format: ExportFormat,
    /// Comma-separated subset of the granted items; all when absent.
    pub items: Option<String>,
}

/// The granted rows and items as CSV or NDJSON, masked, streamed. A
/// revocation or expiry during the stream aborts it.
#[utoipa::path(get, path = "/api/v1/gateway/grants/{id}/export", tag = "gateway",
    params(("id" = String, Path, description = "grant id"), ExportParams),
    responses((status = 200, content_type = "text/csv"), (status = 403, body = HttpError),
              (status = 429, body = HttpError)))]
pub async fn export(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(params): Query<ExportParams>,
) -> ApiResult<Response> {
    let items = params.items.map(|list| list.split(',').map(|item| item.trim().to_owned()).collect());
    let stream = state.sharing.export(&caller(&principal), &id, params.format, items).await?;
    let body = Body::from_stream(stream.map(|chunk| {
        chunk.map_err(|error| {
            tracing::warn!(error = %error.public_message(), "export stopped");
            std::io::Error::other(error.public_message())
        })
    }));
    Ok(([(header::CONTENT_TYPE, params.format.content_type())], body).into_response())
}

/// 订阅 (pull): the grant's row changes from a cursor, masked as granted.
/// Start with `cursor=now` (changes from now on) or `cursor=beginning`
/// (the table's whole history), then pass each page's `next_cursor`.
#[utoipa::path(get, path = "/api/v1/gateway/grants/{id}/changes", tag = "gateway",
    params(("id" = String, Path, description = "grant id"), ChangesQuery),
    responses((status = 200, body = ChangesPage), (status = 403, body = HttpError),
              (status = 409, body = HttpError), (status = 422, body = HttpError),
              (status = 429, body = HttpError)))]
pub async fn changes(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(query): Query<ChangesQuery>,
) -> ApiResult<Json<ChangesPage>> {
    Ok(Json(state.sharing.changes(&caller(&principal), &id, query).await?))
}

/// 订阅 (push): the node posts the grant's changes to the consumer's
/// webhook, signed (Standard Webhooks), retrying until it answers 2xx. The
/// signing secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/gateway/grants/{id}/subscriptions", tag = "gateway",
    params(("id" = String, Path, description = "grant id")), request_body = SubscribeRequest,
    responses((status = 201, body = SubscriptionView), (status = 403, body = HttpError),
              (status = 409, body = HttpError), (status = 422, body = HttpError)))]
pub async fn subscribe(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    extract::Json(request): extract::Json<SubscribeRequest>,
) -> ApiResult<(StatusCode, Json<SubscriptionView>)> {
    let view = state.sharing.subscribe(&caller(&principal), &id, request).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionsParams {
    /// Only this grant's subscriptions.
    pub grant_id: Option<String>,
}

/// Webhook subscriptions of the caller's department (as consumer or
/// provider); every one for the authority and the auditor.
#[utoipa::path(get, path = "/api/v1/gateway/subscriptions", tag = "gateway", params(SubscriptionsParams),
    responses((status = 200, body = Vec<SubscriptionView>)))]
pub async fn subscriptions(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<SubscriptionsParams>,
) -> ApiResult<Json<Vec<SubscriptionView>>> {
    Ok(Json(state.sharing.subscriptions(&caller(&principal), params.grant_id).await?))
}

/// One subscription with its latest delivery attempts.
#[utoipa::path(get, path = "/api/v1/gateway/subscriptions/{id}", tag = "gateway",
    params(("id" = String, Path)),
    responses((status = 200, body = SubscriptionView), (status = 404, body = HttpError)))]
pub async fn subscription(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<SubscriptionView>> {
    Ok(Json(state.sharing.subscription(&caller(&principal), &id).await?))
}

/// Ends a subscription (its consumer department or the authority).
#[utoipa::path(delete, path = "/api/v1/gateway/subscriptions/{id}", tag = "gateway",
    params(("id" = String, Path)),
    responses((status = 200, body = SubscriptionView), (status = 403, body = HttpError),
              (status = 404, body = HttpError), (status = 409, body = HttpError)))]
pub async fn unsubscribe(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<SubscriptionView>> {
    Ok(Json(state.sharing.unsubscribe(&caller(&principal), &id).await?))
}

/// States a need (需求), naming an entry or the provider department; the
/// provider answers within the answer deadline.
#[utoipa::path(post, path = "/api/v1/sharing/demands", tag = "sharing", request_body = DemandRequest,
    responses((status = 201, body = DemandView), (status = 403, body = HttpError), (status = 422, body = HttpError)))]
pub async fn create_demand(
    State(state): State<AppState>,
    principal: Principal,
    extract::Json(request): extract::Json<DemandRequest>,
) -> ApiResult<(StatusCode, Json<DemandView>)> {
    let view = state.sharing.create_demand(&caller(&principal), request).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/api/v1/sharing/demands", tag = "sharing", params(SideQuery),
    responses((status = 200, body = Vec<DemandView>)))]
pub async fn demands(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<SideQuery>,
) -> ApiResult<Json<Vec<DemandView>>> {
    Ok(Json(state.sharing.demands(&caller(&principal), query.side).await?))
}

#[utoipa::path(get, path = "/api/v1/sharing/demands/{id}", tag = "sharing", params(("id" = String, Path)),
    responses((status = 200, body = DemandView), (status = 403, body = HttpError), (status = 404, body = HttpError)))]
pub async fn demand(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<DemandView>> {
    Ok(Json(state.sharing.demand(&caller(&principal), &id).await?))
}

/// The provider's answer: an entry that will provide the data, or the legal
/// basis for not providing it.
#[utoipa::path(post, path = "/api/v1/sharing/demands/{id}/answer", tag = "sharing",
    params(("id" = String, Path)), request_body = DemandAnswerRequest,
    responses((status = 200, body = DemandView), (status = 403, body = HttpError),
              (status = 409, body = HttpError), (status = 422, body = HttpError)))]
pub async fn answer_demand(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    extract::Json(answer): extract::Json<DemandAnswerRequest>,
) -> ApiResult<Json<DemandView>> {
    Ok(Json(state.sharing.answer_demand(&caller(&principal), &id, answer).await?))
}

/// Objects (异议) to a rejection or to a problem in granted data.
#[utoipa::path(post, path = "/api/v1/sharing/objections", tag = "sharing", request_body = ObjectionRequest,
    responses((status = 201, body = ObjectionView), (status = 403, body = HttpError), (status = 422, body = HttpError)))]
pub async fn object(
    State(state): State<AppState>,
    principal: Principal,
    extract::Json(request): extract::Json<ObjectionRequest>,
) -> ApiResult<(StatusCode, Json<ObjectionView>)> {
    let view = state.sharing.object(&caller(&principal), request).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/api/v1/sharing/objections", tag = "sharing", params(SideQuery),
    responses((status = 200, body = Vec<ObjectionView>)))]
pub async fn objections(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<SideQuery>,
) -> ApiResult<Json<Vec<ObjectionView>>> {
    Ok(Json(state.sharing.objections(&caller(&principal), query.side).await?))
}

#[utoipa::path(get, path = "/api/v1/sharing/objections/{id}", tag = "sharing", params(("id" = String, Path)),
    responses((status = 200, body = ObjectionView), (status = 403, body = HttpError), (status = 404, body = HttpError)))]
pub async fn objection(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<ObjectionView>> {
    Ok(Json(state.sharing.objection(&caller(&principal), &id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseRequest {
    pub response: String,
}

/// The provider's statement on an objection, for the authority to weigh.
#[utoipa::path(post, path = "/api/v1/sharing/objections/{id}/response", tag = "sharing",
    params(("id" = String, Path)), request_body = ResponseRequest,
    responses((status = 200, body = ObjectionView), (status = 403, body = HttpError), (status = 409, body = HttpError)))]
pub async fn respond_objection(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    extract::Json(request): extract::Json<ResponseRequest>,
) -> ApiResult<Json<ObjectionView>> {
    Ok(Json(state.sharing.respond_objection(&caller(&principal), &id, &request.response).await?))
}

/// The authority's ruling; upholding an objection to a rejection reopens
/// the application for a new decision.
#[utoipa::path(post, path = "/api/v1/sharing/objections/{id}/ruling", tag = "sharing",
    params(("id" = String, Path)), request_body = RulingRequest,
    responses((status = 200, body = ObjectionView), (status = 403, body = HttpError), (status = 409, body = HttpError)))]
pub async fn rule_objection(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    extract::Json(ruling): extract::Json<RulingRequest>,
) -> ApiResult<Json<ObjectionView>> {
    Ok(Json(state.sharing.rule_objection(&caller(&principal), &id, ruling).await?))
}

/// The sharing report: applications by status and month, overdue ones and
/// the time providers take to answer — the caller's department's, or every
/// department's for the authority and the auditor.
#[utoipa::path(get, path = "/api/v1/sharing/report", tag = "sharing", params(ReportQuery),
    responses((status = 200, body = SharingReport), (status = 422, body = HttpError)))]
pub async fn report(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<ReportQuery>,
) -> ApiResult<Json<SharingReport>> {
    Ok(Json(state.sharing.report(&caller(&principal), query).await?))
}

/// Gateway usage per grant and day: calls served and refused, rows
/// returned, latency — for the consumer, the provider and the authority.
#[utoipa::path(get, path = "/api/v1/sharing/usage", tag = "sharing", params(UsageQuery),
    responses((status = 200, body = Vec<GrantUsage>), (status = 422, body = HttpError)))]
pub async fn usage(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<UsageQuery>,
) -> ApiResult<Json<Vec<GrantUsage>>> {
    Ok(Json(state.sharing.usage_report(&caller(&principal), query).await?))
}
