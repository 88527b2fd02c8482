//! Rate limits on the REST API. Each route states its bucket where it is
//! routed (`writes_in`): its reads count in `reads`, its writes in the
//! bucket it names, so renaming or moving a route cannot move it to
//! another bucket. The caller is the session (its token, hashed), else the
//! client address; sign-up and login always count per address. Every
//! limited answer carries `X-RateLimit-Limit`, `-Remaining`, `-Reset-After`
//! and `-Bucket`, and a refusal is 429 with `Retry-After`. The budgets
//! themselves are `crate::limits`'.
//!
//! Login also has its own per-account throttle (`auth::ratelimit`), and
//! sockets have per-socket limits (`realtime::handlers`).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::{Next, from_fn};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::UtoipaMethodRouter;

use crate::auth::credentials::presented_token;
use crate::auth::token::hash_token;
use crate::error::AppError;
use crate::limits::{Bucket, RateLimits};
use crate::state::AppState;

/// The budgets, as the router hands them to every request (an extension,
/// since route layers are built before the state exists). `None`: limits
/// are off.
#[derive(Clone)]
pub struct Limits(pub Option<Arc<RateLimits>>);

/// These routes' reads count in `reads`, their writes in `bucket`.
pub fn writes_in(
    routes: UtoipaMethodRouter<AppState>,
    bucket: Bucket,
) -> UtoipaMethodRouter<AppState> {
    let (schemas, paths, methods) = routes;
    let methods = methods.route_layer(from_fn(move |req: Request, next: Next| {
        let bucket = match *req.method() {
            Method::GET | Method::HEAD | Method::OPTIONS => Bucket::Reads,
            _ => bucket,
        };
        enforce(bucket, req, next)
    }));
    (schemas, paths, methods)
}

/// Who is counted: the session (hashed, never the token itself), else the
/// address. Sign-up and login are always counted per address.
fn caller(headers: &HeaderMap, ip: IpAddr, bucket: Bucket) -> String {
    match presented_token(headers) {
        Ok(Some((token, _))) if bucket != Bucket::Auth => format!("s:{}", hash_token(&token)),
        _ => format!("ip:{ip}"),
    }
}

fn set(headers: &mut HeaderMap, name: &'static str, value: String) {
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.insert(name, value);
    }
}

async fn enforce(bucket: Bucket, req: Request, next: Next) -> Response {
    let Some(limits) = req.extensions().get::<Limits>().and_then(|l| l.0.clone()) else {
        return next.run(req).await;
    };
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
    let standing = limits.spend(bucket, &caller(req.headers(), ip, bucket));
    let mut response = match standing.retry_after {
        None => next.run(req).await,
        Some(wait) => AppError::RateLimited {
            retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
        }
        .into_response(),
    };
    let headers = response.headers_mut();
    set(headers, "x-ratelimit-limit", standing.limit.to_string());
    set(
        headers,
        "x-ratelimit-remaining",
        standing.remaining.to_string(),
    );
    set(
        headers,
        "x-ratelimit-reset-after",
        format!("{:.3}", standing.reset_after),
    );
    set(headers, "x-ratelimit-bucket", bucket.name().to_string());
    response
}
