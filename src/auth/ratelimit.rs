//! Login throttling: a token bucket per (client address, account name),
//! so that guessing one account's password from one place is slow while
//! other users and places are unaffected. The general limits are
//! `crate::limits`'. On several nodes the buckets are shared in Redis, the
//! same way (a guesser spreading attempts over nodes gets no more), and a
//! node that cannot reach Redis counts on its own meanwhile.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use sha2::{Digest, Sha256};

use crate::cluster::Redis;
use crate::error::AppError;
use crate::limits::{retry_after_secs, spend_shared};

pub struct LoginLimiter {
    limiter: DefaultKeyedRateLimiter<(IpAddr, String)>,
    clock: DefaultClock,
    per_minute: u32,
    shared: Option<Redis>,
}

impl LoginLimiter {
    pub fn new(per_minute: u32, shared: Option<Redis>) -> Self {
        let per_minute = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
            clock: DefaultClock::default(),
            per_minute: per_minute.get(),
            shared,
        }
    }

    /// Counts one attempt; `RateLimited` with the wait when over the limit.
    pub async fn check(&self, ip: IpAddr, account: &str) -> Result<(), AppError> {
        let account = account.to_lowercase();
        if let Some(redis) = &self.shared {
            // The name hashed: a key of bounded length, whatever was typed.
            let key = format!("login:{ip}:{}", hex::encode(Sha256::digest(&account)));
            match spend_shared(redis, &key, self.per_minute).await {
                Ok(standing) => {
                    return match standing.retry_after {
                        None => Ok(()),
                        Some(wait) => Err(AppError::RateLimited {
                            retry_after_secs: retry_after_secs(wait),
                        }),
                    };
                }
                Err(e) => {
                    tracing::warn!(error = %e, "shared login throttle unreachable; counting on this node")
                }
            }
        }
        self.limiter.check_key(&(ip, account)).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            AppError::RateLimited {
                retry_after_secs: retry_after_secs(wait),
            }
        })
    }

    /// Forgets idle buckets so memory stays bounded; call periodically.
    pub fn prune(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    pub const PRUNE_EVERY: Duration = Duration::from_secs(60);
}
