//! Operations: `/healthz` (the process is up) and `/readyz` (it can serve:
//! every dependency answers). These routes take no session and no rate
//! limit: load balancers and orchestrators call them often, and must not
//! spend a client's budget or be refused for it.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::readiness::check_readiness;
use crate::state::AppState;

/// Seconds a caller told "unavailable" should wait before asking again.
const RETRY_AFTER_SECS: u64 = 5;

/// The probes, with their OpenAPI description.
pub fn probes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
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
