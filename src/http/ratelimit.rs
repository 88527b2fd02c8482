//! Rate limits on the REST API. Each route states its bucket where it is
//! routed (`writes_in`): its reads count in `reads`, its writes in the
//! bucket it names, so renaming or moving a route cannot move it to
//! another bucket. The caller is the user of the live session presented,
//! else the client address (`limits::Caller`); sign-up and login always
//! count per address. The session found here is handed to the `Actor`
//! extractor (`FoundSession`), so a request looks it up once. Every
//! limited answer carries `X-RateLimit-Limit`, `-Remaining`, `-Reset-After`
//! and `-Bucket`, and a refusal is 429 with `Retry-After`. The budgets
//! themselves are `crate::limits`'.
//!
//! Login also has its own per-account throttle (`auth::ratelimit`), and
//! sockets have per-socket limits (`realtime::handlers`).

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::{Next, from_fn};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::UtoipaMethodRouter;

use crate::auth::credentials::{FoundSession, find_session, presented_token};
use crate::client_addr::ClientIp;
use crate::error::AppError;
use crate::limits::{Bucket, Caller, retry_after_secs};
use crate::state::AppState;

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

/// Who is counted: the user of the live session presented, else the
/// address. Sign-up and login are always counted per address.
async fn caller(state: &AppState, req: &mut Request, bucket: Bucket) -> Caller {
    let addr = ClientIp::of(req.extensions()).limit_key();
    if bucket == Bucket::Auth {
        return Caller::Addr(addr);
    }
    let Ok(Some((token, via))) = presented_token(req.headers(), &state.settings) else {
        return Caller::Addr(addr);
    };
    // A failed lookup leaves the extractor to look again and answer it.
    let Ok(session) = find_session(state, &token).await else {
        return Caller::Addr(addr);
    };
    let caller = session
        .as_ref()
        .map_or(Caller::Addr(addr), |s| Caller::User(s.user_id));
    req.extensions_mut().insert(FoundSession { via, session });
    caller
}

fn set(headers: &mut HeaderMap, name: &'static str, value: String) {
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.insert(name, value);
    }
}

/// Spends one request of the caller in `bucket`. The state comes as an
/// extension the router adds, since route layers exist before the state.
async fn enforce(bucket: Bucket, mut req: Request, next: Next) -> Response {
    let Some(state) = req.extensions().get::<AppState>().cloned() else {
        return next.run(req).await;
    };
    let Some(limits) = state.rate_limits.clone() else {
        return next.run(req).await;
    };
    let caller = caller(&state, &mut req, bucket).await;
    let standing = limits.spend(bucket, caller).await;
    let mut response = match standing.retry_after {
        None => next.run(req).await,
        Some(wait) => AppError::RateLimited {
            retry_after_secs: retry_after_secs(wait),
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
