//! The REST transport: extractors that turn bad input into clear JSON
//! errors, the route table, and the response headers every answer carries.
//! Handlers live in one file per resource; they extract, call the domain,
//! and shape the response. No SQL and no permission logic here.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::IntoParams;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::config::Config;
use crate::domain::{from_json_bytes, invalid_input};
use crate::error::AppError;
use crate::id::Snowflake;
use crate::state::AppState;
use crate::store::Page;

mod auth;
mod channels;
mod docs;
mod emojis;
mod friendlists;
mod messages;
mod ops;
pub mod ratelimit;
mod servers;
mod users;

/// Request bodies larger than this get 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The policy for every JSON answer: nothing may be loaded or framed.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// A JSON request body. Rejections are our JSON errors: 415 without a
/// JSON content type, 413 over `MAX_BODY_BYTES`, 400 for malformed JSON,
/// 422 naming the field for anything that is not the expected object.
pub struct ApiJson<T>(pub T);

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| mime.trim().to_ascii_lowercase())
        .is_some_and(|mime| {
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
}

async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, AppError> {
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge {
                limit: MAX_BODY_BYTES,
            }
        } else {
            AppError::bad_request("bad_body", e.body_text())
        }
    })
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        if !is_json(req.headers()) {
            return Err(AppError::UnsupportedMediaType);
        }
        let bytes = body_bytes(req, state).await?;
        from_json_bytes(&bytes).map(Self)
    }
}

/// Like `ApiJson`, for routes whose body is optional: an empty body means
/// `T::default()`.
pub struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let json = is_json(req.headers());
        let bytes = body_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(T::default()));
        }
        if !json {
            return Err(AppError::UnsupportedMediaType);
        }
        from_json_bytes(&bytes).map(Self)
    }
}

/// Query parameters, parsed like bodies (`serde_path_to_error`): a bad
/// one is a 422 naming the parameter.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        let query = parts.uri.query().unwrap_or_default();
        let params = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(params)
            .map(Self)
            .map_err(invalid_input)
    }
}

/// `axum::extract::Path`; an id that is not a snowflake is answered 400.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Self(p.0))
            .map_err(|e: PathRejection| AppError::bad_request("invalid_path", e.body_text()))
    }
}

/// Pagination parameters shared by every list (see `Paged`).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1-100, default 50.
    pub limit: Option<i64>,
    /// Only items with a smaller id.
    #[param(value_type = Option<String>)]
    pub before: Option<Snowflake>,
    /// Only items with a larger id.
    #[param(value_type = Option<String>)]
    pub after: Option<Snowflake>,
}

/// The page a list route was asked for: `limit` (1-100, default 50),
/// `before`, `after`, from the query string. A list route takes this and,
/// if it filters, an `ApiQuery` of its own filter parameters; both read the
/// same query string, each ignoring the other's parameters.
pub struct Paged(pub Page);

impl<S: Send + Sync> FromRequestParts<S> for Paged {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let ApiQuery(params) = ApiQuery::<PageParams>::from_request_parts(parts, state).await?;
        let limit = params.limit.unwrap_or(Page::DEFAULT_LIMIT);
        if !(1..=Page::MAX_LIMIT).contains(&limit) {
            return Err(AppError::invalid("limit", "must be 1 to 100"));
        }
        Ok(Self(Page {
            limit,
            before: params.before,
            after: params.after,
        }))
    }
}

/// `201 Created` with a JSON body.
pub fn created<T: serde::Serialize>(body: T) -> Response {
    (StatusCode::CREATED, axum::Json(body)).into_response()
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Guildhall",
        description = "A self-hostable chat backend: REST API. Errors are `{\"error\": {\"code\", \"message\", \"field\"?}}`."
    ),
    components(schemas(crate::error::ErrorBody))
)]
pub struct ApiDoc;

/// Every route with its OpenAPI description.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(users::router())
        .merge(auth::router())
        .merge(servers::router())
        .merge(channels::router())
        .merge(messages::router())
        .merge(emojis::router())
        .merge(friendlists::router())
}

async fn unknown_route() -> AppError {
    AppError::NotFound("route")
}

async fn method_not_allowed() -> Response {
    let body = crate::error::ErrorBody {
        error: crate::error::ErrorDetail {
            code: "method_not_allowed".into(),
            message: "this route does not accept that method".into(),
            field: None,
        },
    };
    (StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response()
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    AppError::Internal("handler panicked".into()).into_response()
}

/// Cross-origin requests: only the configured origins, with credentials,
/// may call the API from a browser; preflights are answered here.
fn cors(config: &Config) -> CorsLayer {
    let origins: Vec<HeaderValue> = config
        .allowed_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(true)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            HeaderName::from_static(crate::auth::CSRF_HEADER),
        ])
        .expose_headers([
            header::RETRY_AFTER,
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("x-ratelimit-limit"),
            HeaderName::from_static("x-ratelimit-remaining"),
            HeaderName::from_static("x-ratelimit-reset-after"),
            HeaderName::from_static("x-ratelimit-bucket"),
        ])
        .max_age(Duration::from_secs(600))
}

/// The span every request's log lines belong to. It carries the request id
/// that the answer's `X-Request-Id` header shows (set by the layer outside
/// this one), so that a client's report leads to the server's lines.
fn request_span(req: &Request) -> tracing::Span {
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %req.method(),
        uri = %req.uri(),
        request_id = %request_id,
    )
}

/// `/metrics` alone, for the listener of `--metrics-listen`.
pub fn metrics_router(state: AppState) -> Router {
    ops::metrics_routes().with_state(state)
}

/// The whole HTTP app: routes, docs, fallbacks and the layers around them.
pub fn router(state: AppState, config: &Config) -> Router {
    let (api, mut openapi) = api_router().split_for_parts();
    // After the split: the routes' operations exist only now.
    utoipa::Modify::modify(&docs::SecuritySchemes, &mut openapi);
    // Merged after that: the probes are neither rate limited nor
    // authenticated, so the errors every API route can give are not theirs.
    let (probes, probes_doc) = ops::probes().split_for_parts();
    openapi.merge(probes_doc);
    let mut app = api.merge(probes);
    if config.metrics_listen.is_none() {
        app = app.merge(ops::metrics_routes());
    }
    let x_request_id = HeaderName::from_static("x-request-id");
    let metrics = state.metrics.clone();
    app.merge(docs::router(openapi))
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state.clone())
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        // For the rate limiter, a route layer built before the state.
        .layer(axum::Extension(state))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(API_CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(cors(config))
        // One `Router::layer` for these four, outermost first: each call
        // wraps every route in one more boxed `Route`, which axum clones,
        // with all it holds, on every request (about 5,000 instructions a
        // request per call, measured with callgrind).
        .layer(
            ServiceBuilder::new()
                // It times and counts the answer as the client gets it.
                .layer(ops::TrackRequestsLayer::new(metrics))
                .layer(SetRequestIdLayer::new(
                    x_request_id.clone(),
                    MakeRequestUuid,
                ))
                .layer(TraceLayer::new_for_http().make_span_with(request_span))
                .layer(PropagateRequestIdLayer::new(x_request_id)),
        )
}
