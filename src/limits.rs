//! Rate-limit budgets, transport-free: four buckets (`Bucket`) per caller,
//! in the spirit of Discord's. governor's GCRA keyed limiters do the
//! counting; the REST layer (`http::ratelimit`) picks the caller and the
//! bucket and writes the answer's headers, and the gateway spends the same
//! `messages` budget for `chat` (`realtime::handlers`).
//!
//! A caller is a user (`Caller::User`), whatever session or socket they
//! act through, so a new login or another socket does not bring a fresh
//! budget; anyone not signed in, or presenting a token that opens no live
//! session, is counted by address (`Caller::Addr`), so made-up tokens
//! cannot each bring their own budget either.
//!
//! On several nodes (`--redis-url`) the budgets are shared: the same GCRA
//! runs in Redis, as one script per spend (`SHARED_GCRA`), on Redis's
//! clock, so a caller spreading requests over nodes spends one budget. If
//! Redis cannot be reached, a node counts on its own (its local limiter)
//! until Redis answers again: limits loosen to one budget per node for
//! that time rather than refuse every request.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::cluster::Redis;
use crate::config::Config;
use crate::error::AppError;
use crate::id::Snowflake;

/// Whose budget a request spends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Caller {
    /// A signed-in user: all their sessions and sockets together.
    User(Snowflake),
    /// Anyone else, by client address (IPv6 by /64: `ClientIp::limit_key`).
    Addr(IpAddr),
}

/// What a request spends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bucket {
    /// Sign-ups and logins (always counted per client address).
    Auth,
    /// Messages and reactions posted.
    Messages,
    /// Every other write.
    Writes,
    /// Reads.
    Reads,
    /// Socket handshakes (per address, and per user once signed in).
    Connects,
}

impl Bucket {
    /// The name in `X-RateLimit-Bucket`.
    pub fn name(self) -> &'static str {
        match self {
            Bucket::Auth => "auth",
            Bucket::Messages => "messages",
            Bucket::Writes => "writes",
            Bucket::Reads => "reads",
            Bucket::Connects => "connects",
        }
    }
}

/// Where a caller stands in a bucket after one request.
#[derive(Clone, Copy, Debug)]
pub struct Standing {
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset_after: f64,
    /// Set when the request is refused: how long until one would pass.
    pub retry_after: Option<Duration>,
}

struct Budget {
    per_minute: u32,
    limiter: DefaultKeyedRateLimiter<Caller, StateInformationMiddleware>,
}

impl Budget {
    fn new(per_minute: u32) -> Self {
        let per_minute = per_minute.max(1);
        let quota = Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN));
        Self {
            per_minute,
            limiter: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
        }
    }

    /// One replenished request, in seconds.
    fn interval(&self) -> f64 {
        60.0 / f64::from(self.per_minute)
    }
}

/// Spends one request of `per_minute` in the budget named `key`, shared
/// by every node (`SHARED_GCRA`).
pub async fn spend_shared(
    redis: &Redis,
    key: &str,
    per_minute: u32,
) -> Result<Standing, redis::RedisError> {
    let limit = per_minute.max(1);
    let interval_ms = (60_000 / u64::from(limit)).max(1);
    let (allowed, remaining, full_in_ms, wait_ms): (u8, u32, u64, u64) =
        redis::Script::new(SHARED_GCRA)
            .key(redis.key(key))
            .arg(interval_ms)
            .arg(limit)
            .invoke_async(&mut redis.conn())
            .await?;
    Ok(Standing {
        limit,
        remaining: remaining.min(limit),
        reset_after: Duration::from_millis(full_in_ms).as_secs_f64(),
        retry_after: (allowed == 0).then(|| Duration::from_millis(wait_ms.max(1))),
    })
}

/// Every bucket's budgets. `None` in `AppState` when limits are off.
pub struct RateLimits {
    auth: Budget,
    messages: Budget,
    writes: Budget,
    reads: Budget,
    connects: Budget,
    clock: DefaultClock,
    /// Budgets shared by every node, in multi-node mode.
    shared: Option<Redis>,
}

/// GCRA on Redis's clock. KEYS[1]: the caller's key in the bucket;
/// ARGV[1]: ms between two requests at the sustained rate; ARGV[2]: the
/// burst (the per-minute budget). The key holds the theoretical arrival
/// time (TAT) in ms and lives until the bucket is full again. Returns
/// {allowed, remaining, ms until full, ms until one would pass}.
const SHARED_GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local window = interval * tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - window
if now < allow_at then
  return {0, 0, tat - now, allow_at - now}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.max(1, new_tat - now))
return {1, math.floor((window - (new_tat - now)) / interval), new_tat - now, 0}
";

impl RateLimits {
    /// The budgets of `config`; shared through `shared` when given.
    pub fn from_config(config: &Config, shared: Option<Redis>) -> Option<Arc<Self>> {
        config.rate_limits.then(|| {
            Arc::new(Self {
                auth: Budget::new(config.rate_limit_auth_per_minute),
                messages: Budget::new(config.rate_limit_messages_per_minute),
                writes: Budget::new(config.rate_limit_writes_per_minute),
                reads: Budget::new(config.rate_limit_reads_per_minute),
                connects: Budget::new(config.rate_limit_connects_per_minute),
                clock: DefaultClock::default(),
                shared,
            })
        })
    }

    fn budget(&self, bucket: Bucket) -> &Budget {
        match bucket {
            Bucket::Auth => &self.auth,
            Bucket::Messages => &self.messages,
            Bucket::Writes => &self.writes,
            Bucket::Reads => &self.reads,
            Bucket::Connects => &self.connects,
        }
    }

    /// Spends one request of `caller` in `bucket`.
    pub async fn spend(&self, bucket: Bucket, caller: Caller) -> Standing {
        if let Some(redis) = &self.shared {
            match self.spend_shared(redis, bucket, caller).await {
                Ok(standing) => return standing,
                Err(e) => {
                    tracing::warn!(error = %e, "shared rate limit unreachable; counting on this node")
                }
            }
        }
        self.spend_here(bucket, caller)
    }

    async fn spend_shared(
        &self,
        redis: &Redis,
        bucket: Bucket,
        caller: Caller,
    ) -> Result<Standing, redis::RedisError> {
        let who = match caller {
            Caller::User(id) => format!("u{id}"),
            Caller::Addr(addr) => format!("a{addr}"),
        };
        let key = format!("rate:{}:{who}", bucket.name());
        spend_shared(redis, &key, self.budget(bucket).per_minute).await
    }

    fn spend_here(&self, bucket: Bucket, caller: Caller) -> Standing {
        let budget = self.budget(bucket);
        let limit = budget.per_minute;
        match budget.limiter.check_key(&caller) {
            Ok(state) => {
                let remaining = state.remaining_burst_capacity();
                Standing {
                    limit,
                    remaining,
                    reset_after: f64::from(limit - remaining) * budget.interval(),
                    retry_after: None,
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                Standing {
                    limit,
                    remaining: 0,
                    reset_after: (f64::from(limit) * budget.interval()).max(wait.as_secs_f64()),
                    retry_after: Some(wait),
                }
            }
        }
    }

    /// Spends one request of `caller` in `bucket`, refused with the wait.
    pub async fn admit(&self, bucket: Bucket, caller: Caller) -> Result<(), AppError> {
        match self.spend(bucket, caller).await.retry_after {
            None => Ok(()),
            Some(wait) => Err(AppError::RateLimited {
                retry_after_secs: retry_after_secs(wait),
            }),
        }
    }

    /// Forgets idle callers so memory stays bounded; call periodically.
    pub fn prune(&self) {
        for budget in [
            &self.auth,
            &self.messages,
            &self.writes,
            &self.reads,
            &self.connects,
        ] {
            budget.limiter.retain_recent();
            budget.limiter.shrink_to_fit();
        }
    }
}

/// Whole seconds to wait, rounded up, at least one (`Retry-After`).
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

/// At most one `typing` per user and channel in this interval.
const TYPING_INTERVAL: Duration = Duration::from_secs(3);

/// When each user last typed in each channel (`domain::typing`), so that
/// neither another socket nor alternating channels lets more through.
pub struct TypingThrottle {
    limiter: DefaultKeyedRateLimiter<(Snowflake, Snowflake)>,
}

impl Default for TypingThrottle {
    fn default() -> Self {
        let quota = Quota::with_period(TYPING_INTERVAL)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(quota),
        }
    }
}

impl TypingThrottle {
    /// Whether `user`'s `typing` in `channel` may go out now (and records it).
    pub fn admit(&self, user: Snowflake, channel: Snowflake) -> bool {
        self.limiter.check_key(&(user, channel)).is_ok()
    }

    /// Forgets idle pairs so memory stays bounded; call periodically.
    pub fn prune(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}
