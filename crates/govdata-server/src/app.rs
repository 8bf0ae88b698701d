//! The router: every endpoint registered once, with its OpenAPI description,
//! behind one stack of layers for request ids, logging, metrics, body limits,
//! panics and error rendering.

use std::any::Any;

use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderName, Method, Request, Response, Uri};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use govdata_model::ErrorCode;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::HttpError;
use crate::routes::{
    auth, catalog, catalog_transfer, federation, ledger, oauth, org, regions, resources, sharing, system,
    users, validate,
};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "govdata", description = "Integrated government data platform node (国办函〔2022〕102号)."),
    tags(
        (name = "system", description = "Health, metrics and node identity"),
        (name = "auth", description = "Login sessions and the current caller"),
        (name = "validate", description = "National identifier checks and the division list"),
        (name = "organisation", description = "Departments and information systems"),
        (name = "catalog", description = "The catalog (数据目录): registration, review, versions, deadlines"),
        (name = "resources", description = "Data resources (数据资源): aggregation jobs, logical access, profiles"),
        (name = "sharing", description = "Sharing (数据共享): applications, decisions, grants, demands, objections"),
        (name = "gateway", description = "The data gateway: lookup, verification (核验), batch export and subscriptions (订阅) through a grant"),
        (name = "users", description = "Accounts and roles"),
        (name = "api-keys", description = "Application credentials"),
        (name = "ledger", description = "Tamper-evident ledger: checkpoints, proofs (public) and entries (auditors)"),
    )
)]
struct ApiDoc;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Builds the node's whole HTTP application.
pub fn router(state: AppState) -> Router {
    // Installed before the first request, so no count goes to a no-op recorder.
    crate::telemetry::metrics_handle();
    let (router, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(system::healthz))
        .routes(routes!(system::readyz))
        .routes(routes!(system::metrics))
        .routes(routes!(system::node))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::change_password))
        .routes(routes!(validate::id_number))
        .routes(routes!(validate::uscc))
        .routes(routes!(validate::region))
        .routes(routes!(validate::mobile_phone))
        .routes(routes!(validate::email))
        .routes(routes!(regions::list))
        .routes(routes!(regions::get))
        .routes(routes!(catalog::register, catalog::list))
        .routes(routes!(catalog::get, catalog::edit))
        .routes(routes!(catalog::act))
        .routes(routes!(catalog::diff))
        .routes(routes!(catalog::check))
        .routes(routes!(catalog::overdue))
        .routes(routes!(catalog::stats))
        .routes(routes!(catalog::search))
        .routes(routes!(catalog_transfer::import))
        .routes(routes!(catalog_transfer::export))
        .routes(routes!(resources::register))
        .routes(routes!(resources::list))
        .routes(routes!(resources::get, resources::update, resources::delete))
        .routes(routes!(resources::run, resources::jobs))
        .routes(routes!(resources::versions))
        .routes(routes!(resources::preview))
        .routes(routes!(resources::profile))
        .routes(routes!(resources::drift))
        .routes(routes!(resources::archive))
        .routes(routes!(resources::person))
        .routes(routes!(resources::enterprise))
        .routes(routes!(sharing::apply, sharing::applications))
        .routes(routes!(sharing::application))
        .routes(routes!(sharing::decide))
        .routes(routes!(sharing::withdraw))
        .routes(routes!(sharing::grants))
        .routes(routes!(sharing::grant))
        .routes(routes!(sharing::revoke))
        .routes(routes!(sharing::renew))
        .routes(routes!(sharing::create_demand, sharing::demands))
        .routes(routes!(sharing::demand))
        .routes(routes!(sharing::answer_demand))
        .routes(routes!(sharing::object, sharing::objections))
        .routes(routes!(sharing::objection))
        .routes(routes!(sharing::respond_objection))
        .routes(routes!(sharing::rule_objection))
        .routes(routes!(sharing::usage))
        .routes(routes!(sharing::report))
        .routes(routes!(sharing::lookup))
        .routes(routes!(sharing::verify))
        .routes(routes!(sharing::export))
        .routes(routes!(sharing::changes))
        .routes(routes!(sharing::subscribe))
        .routes(routes!(sharing::subscriptions))
        .routes(routes!(sharing::subscription, sharing::unsubscribe))
        .routes(routes!(org::create_department, org::list_departments))
        .routes(routes!(org::get_department))
        .routes(routes!(org::create_system, org::list_systems))
        .routes(routes!(users::create_user, users::list_users))
        .routes(routes!(users::get_user))
        .routes(routes!(users::set_roles))
        .routes(routes!(users::unlock_user))
        .routes(routes!(users::set_disabled))
        .routes(routes!(users::create_api_key, users::list_api_keys))
        .routes(routes!(users::revoke_api_key))
        .routes(routes!(oauth::token))
        .routes(routes!(ledger::key))
        .routes(routes!(ledger::checkpoint))
        .routes(routes!(ledger::entries))
        .routes(routes!(ledger::entry))
        .routes(routes!(ledger::inclusion))
        .routes(routes!(ledger::consistency))
        .routes(routes!(federation::create_join_token))
        .routes(routes!(federation::join))
        .routes(routes!(federation::join_parent))
        .routes(routes!(federation::receive_catalog))
        .routes(routes!(federation::cosign_checkpoint))
        .routes(routes!(federation::topology))
        .routes(routes!(federation::set_status))
        .routes(routes!(federation::key_history))
        .routes(routes!(federation::rotate_key))
        .routes(routes!(federation::clear_witness_alarm))
        .routes(routes!(federation::witness))
        .routes(routes!(federation::federated_entry))
        .routes(routes!(federation::route))
        .routes(routes!(federation::apply_remote, federation::remote_applications))
        .routes(routes!(federation::remote_application))
        .routes(routes!(federation::remote_grants))
        .routes(routes!(federation::remote_lookup))
        .routes(routes!(federation::remote_changes))
        .routes(routes!(federation::remote_subscribe))
        .routes(routes!(federation::remote_subscriptions))
        .routes(routes!(federation::remote_unsubscribe))
        .routes(routes!(federation::return_data))
        .routes(routes!(federation::returned))
        .routes(routes!(federation::returned_lookup))
        .split_for_parts();
    let openapi_json = openapi.to_json().expect("the OpenAPI document serializes");
    let max_body = state.config.server.max_body_bytes;
    router
        .route(
            "/api/v1/openapi.json",
            get(move || async move { ([("content-type", "application/json")], openapi_json) }),
        )
        // A route layer runs after routing, so it sees the matched route template.
        .route_layer(axum::middleware::from_fn(crate::telemetry::record_request))
        .fallback(portal_or_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<Body>| {
                    let request_id =
                        request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
                    tracing::info_span!("request", method = %request.method(), uri = %request.uri(), request_id)
                }))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(CatchPanicLayer::custom(panic_response))
                .layer(DefaultBodyLimit::max(max_body)),
        )
}

/// Paths outside the API are the portal's: its files, or its page for any
/// route it handles in the browser.
async fn portal_or_not_found(method: Method, uri: Uri) -> Response<Body> {
    let path = uri.path();
    let is_api = path == "/api" || path.starts_with("/api/");
    match govdata_portal::asset(path) {
        Some(asset) if !is_api && (method == Method::GET || method == Method::HEAD) => {
            let cache = if asset.immutable { "public, max-age=31536000, immutable" } else { "no-cache" };
            (
                [
                    (header::CONTENT_TYPE, asset.content_type),
                    (header::CACHE_CONTROL, cache),
                    (header::CONTENT_SECURITY_POLICY, PORTAL_CSP),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                    (header::X_FRAME_OPTIONS, "DENY"),
                    (header::REFERRER_POLICY, "same-origin"),
                ],
                asset.bytes,
            )
                .into_response()
        }
        _ => HttpError::new(ErrorCode::NotFound, "no such endpoint").into_response(),
    }
}

/// Everything the portal loads comes from this node; ECharts and React set
/// inline styles, nothing else inline is allowed.
const PORTAL_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

async fn method_not_allowed() -> HttpError {
    HttpError::new(ErrorCode::MethodNotAllowed, "method not allowed on this endpoint")
}

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown");
    tracing::error!(panic = detail, "handler panicked");
    (
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        Json(HttpError::new(ErrorCode::Internal, "internal error")),
    )
        .into_response()
}
