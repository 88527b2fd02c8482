//! Rate-limit budgets, transport-free: four buckets (`Bucket`) per caller,
//! in the spirit of Discord's. governor's GCRA keyed limiters do the
//! counting; the REST layer (`http::ratelimit`) picks the caller and the
//! bucket and writes the answer's headers.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::Config;

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
}

impl Bucket {
    /// The name in `X-RateLimit-Bucket`.
    pub fn name(self) -> &'static str {
        match self {
            Bucket::Auth => "auth",
            Bucket::Messages => "messages",
            Bucket::Writes => "writes",
            Bucket::Reads => "reads",
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
    limiter: DefaultKeyedRateLimiter<String, StateInformationMiddleware>,
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

/// Every bucket's budgets. `None` in `AppState` when limits are off.
pub struct RateLimits {
    auth: Budget,
    messages: Budget,
    writes: Budget,
    reads: Budget,
    clock: DefaultClock,
}

impl RateLimits {
    pub fn from_config(config: &Config) -> Option<Arc<Self>> {
        config.rate_limits.then(|| {
            Arc::new(Self {
                auth: Budget::new(config.rate_limit_auth_per_minute),
                messages: Budget::new(config.rate_limit_messages_per_minute),
                writes: Budget::new(config.rate_limit_writes_per_minute),
                reads: Budget::new(config.rate_limit_reads_per_minute),
                clock: DefaultClock::default(),
            })
        })
    }

    fn budget(&self, bucket: Bucket) -> &Budget {
        match bucket {
            Bucket::Auth => &self.auth,
            Bucket::Messages => &self.messages,
            Bucket::Writes => &self.writes,
            Bucket::Reads => &self.reads,
        }
    }

    /// Spends one request of `caller` in `bucket`.
    pub fn spend(&self, bucket: Bucket, caller: &str) -> Standing {
        let budget = self.budget(bucket);
        let limit = budget.per_minute;
        match budget.limiter.check_key(&caller.to_owned()) {
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

    /// Forgets idle callers so memory stays bounded; call periodically.
    pub fn prune(&self) {
        for budget in [&self.auth, &self.messages, &self.writes, &self.reads] {
            budget.limiter.retain_recent();
            budget.limiter.shrink_to_fit();
        }
    }
}
