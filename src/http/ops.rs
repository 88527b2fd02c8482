//! Operations: `/healthz` (the process is up), `/readyz` (it can serve:
//! every dependency answers), `/metrics` (Prometheus text), and the
//! middleware that counts and times every request. These routes take no
//! session and no rate limit: load balancers, orchestrators and scrapers
//! call them often, and must not spend a client's budget or be refused
//! for it. `/metrics` is left out of the OpenAPI document: it is not part
//! of the API, and with `--metrics-listen` it is not on this port at all.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::extract::{MatchedPath, State};
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use pin_project_lite::pin_project;
use serde::Serialize;
use tower::{Layer, Service};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::readiness::check_readiness;
use crate::state::AppState;
use crate::telemetry::Metrics;

/// Seconds a caller told "unavailable" should wait before asking again.
const RETRY_AFTER_SECS: u64 = 5;
/// Prometheus' text exposition format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The probes, with their OpenAPI description.
pub fn probes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

/// `GET /metrics`, for the public router or a listener of its own.
pub fn metrics_routes() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// `{"status": "ok"}`
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`: an answer at all is the news.
    #[schema(value_type = String)]
    status: &'static str,
}

/// Whether the node can serve, and each check's outcome.
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ok` when every check passed, else `unavailable`.
    #[schema(value_type = String)]
    status: &'static str,
    /// Each check by name (`database`): `ok`, `timeout` (no answer in
    /// time) or `error` (the detail is in the server's log).
    #[schema(value_type = BTreeMap<String, String>)]
    checks: BTreeMap<&'static str, &'static str>,
}

/// Liveness: the process is up and answering. Touches no database, so a
/// database outage does not get healthy processes restarted.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Readiness: every dependency answers (the database: a trivial query
/// within 2 s). Otherwise 503 naming the failed checks, with `Retry-After`.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Readiness),
        (status = 503, body = Readiness,
            headers(("Retry-After" = u64, description = "seconds to wait before asking again")))))]
async fn readyz(State(state): State<AppState>) -> Response {
    let checks = check_readiness(&state).await;
    let ready = checks.iter().all(|c| c.outcome.is_ok());
    let body = Readiness {
        status: if ready { "ok" } else { "unavailable" },
        checks: checks
            .iter()
            .map(|c| (c.name, c.outcome.map_or_else(|f| f.as_str(), |()| "ok")))
            .collect(),
    };
    if ready {
        return Json(body).into_response();
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS))],
        Json(body),
    )
        .into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    let text = state.metrics.render(&state.store.pool_stats());
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROMETHEUS_TEXT),
        )],
        text,
    )
        .into_response()
}

/// Counts and times every request by route template, method and status
/// (`Metrics::record_request`). A layer of its own rather than
/// `middleware::from_fn`, which boxes a future and clones the inner service
/// on every request: this runs on every request. Generic over the answer's
/// body, so that it can share one `Router::layer` with the layers under it
/// (see `http::router`).
#[derive(Clone)]
pub struct TrackRequestsLayer {
    metrics: Arc<Metrics>,
}

impl TrackRequestsLayer {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for TrackRequestsLayer {
    type Service = TrackRequests<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TrackRequests {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

#[derive(Clone)]
pub struct TrackRequests<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S, B, ResBody> Service<Request<B>> for TrackRequests<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Tracked<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        // Set by the router before this layer runs (`Router::layer` wraps
        // each route); absent only when no route matched.
        let route = req.extensions().get::<MatchedPath>().cloned();
        let method = method_label(req.method());
        Tracked {
            inner: self.inner.call(req),
            metrics: self.metrics.clone(),
            route,
            method,
            started: Instant::now(),
        }
    }
}

pin_project! {
    /// A request on its way; recorded when its answer is ready. One whose
    /// client went away first is dropped unrecorded: there was no answer.
    pub struct Tracked<F> {
        #[pin]
        inner: F,
        metrics: Arc<Metrics>,
        route: Option<MatchedPath>,
        method: &'static str,
        started: Instant,
    }
}

impl<F, ResBody, E> Future for Tracked<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let answer = ready!(this.inner.poll(cx));
        if let Ok(response) = &answer {
            this.metrics.record_request(
                this.route.as_ref().map(MatchedPath::as_str),
                this.method,
                response.status().as_u16(),
                this.started.elapsed(),
            );
        }
        Poll::Ready(answer)
    }
}

/// The method as a label. Clients can send any token as a method; each
/// unknown one would be a new series, so they all count as `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
