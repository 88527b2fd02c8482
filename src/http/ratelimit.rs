//! Rate limits for the REST API, in buckets per route group and per caller
//! (the session token when one is presented, else the client address),
//! in the spirit of Discord's: every limited answer carries
//! `X-RateLimit-Limit`, `-Remaining`, `-Reset-After` and `-Bucket`, and a
//! refusal is 429 with `Retry-After`. governor's GCRA buckets do the
//! counting; this module only picks the bucket and writes the headers.
//!
//! Login also has its own per-account throttle (`auth::ratelimit`), and
//! sockets have per-socket limits (`realtime::handlers`).

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::auth::extract::presented_token;
use crate::auth::token::hash_token;
use crate::config::Config;
use crate::error::AppError;

struct Bucket {
    name: &'static str,
    per_minute: u32,
    limiter: DefaultKeyedRateLimiter<String, StateInformationMiddleware>,
}

impl Bucket {
    fn new(name: &'static str, per_minute: u32) -> Self {
        let per_minute = per_minute.max(1);
        let quota = Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN));
        Self {
            name,
            per_minute,
            limiter: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
        }
    }

    /// One replenished request, in seconds.
    fn interval(&self) -> f64 {
        60.0 / f64::from(self.per_minute)
    }
}

/// The REST buckets. `None` when limits are switched off.
pub struct RateLimits {
    auth: Bucket,
    messages: Bucket,
    writes: Bucket,
    reads: Bucket,
    clock: DefaultClock,
}

impl RateLimits {
    pub fn from_config(config: &Config) -> Option<Arc<Self>> {
        config.rate_limits.then(|| {
            Arc::new(Self {
                auth: Bucket::new("auth", config.rate_limit_auth_per_minute),
                messages: Bucket::new("messages", config.rate_limit_messages_per_minute),
                writes: Bucket::new("writes", config.rate_limit_writes_per_minute),
                reads: Bucket::new("reads", config.rate_limit_reads_per_minute),
                clock: DefaultClock::default(),
            })
        })
    }

    /// Sign-up and login; message and reaction posts; other writes; reads.
    fn bucket(&self, method: &Method, path: &str) -> &Bucket {
        match (method, path) {
            (&Method::POST, "/users" | "/auth/login") => &self.auth,
            (&Method::POST, "/messages" | "/emojis") => &self.messages,
            (&Method::GET | &Method::HEAD | &Method::OPTIONS, _) => &self.reads,
            _ => &self.writes,
        }
    }

    /// Forgets idle callers so memory stays bounded; call periodically.
    pub fn prune(&self) {
        for bucket in [&self.auth, &self.messages, &self.writes, &self.reads] {
            bucket.limiter.retain_recent();
            bucket.limiter.shrink_to_fit();
        }
    }
}

/// Who is counted: the session (hashed, never the token itself), else the
/// address. Sign-up and login are always counted per address.
fn caller(headers: &HeaderMap, ip: IpAddr, by_address: bool) -> String {
    match presented_token(headers) {
        Ok(Some((token, _))) if !by_address => format!("s:{}", hash_token(&token)),
        _ => format!("ip:{ip}"),
    }
}

fn set(headers: &mut HeaderMap, name: &'static str, value: String) {
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.insert(name, value);
    }
}

pub async fn enforce(
    State(limits): State<Option<Arc<RateLimits>>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(limits) = limits else {
        return next.run(req).await;
    };
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
    let bucket = limits.bucket(req.method(), req.uri().path());
    let key = caller(req.headers(), ip, bucket.name == "auth");
    let (mut response, remaining, reset_after) = match bucket.limiter.check_key(&key) {
        Ok(state) => {
            let remaining = state.remaining_burst_capacity();
            let reset = f64::from(bucket.per_minute - remaining) * bucket.interval();
            (next.run(req).await, remaining, reset)
        }
        Err(not_until) => {
            let wait: Duration = not_until.wait_time_from(limits.clock.now());
            let refused = AppError::RateLimited {
                retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
            };
            let reset = f64::from(bucket.per_minute) * bucket.interval();
            (refused.into_response(), 0, reset.max(wait.as_secs_f64()))
        }
    };
    let headers = response.headers_mut();
    set(headers, "x-ratelimit-limit", bucket.per_minute.to_string());
    set(headers, "x-ratelimit-remaining", remaining.to_string());
    set(
        headers,
        "x-ratelimit-reset-after",
        format!("{reset_after:.3}"),
    );
    set(headers, "x-ratelimit-bucket", bucket.name.to_string());
    response
}
