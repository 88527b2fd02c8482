//! Login throttling: a token bucket per (client address, account name),
//! so that guessing one account's password from one place is slow while
//! other users and places are unaffected. General per-route limits belong
//! to the security-hardening work and will sit beside this one.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::AppError;
use crate::limits::retry_after_secs;

pub struct LoginLimiter {
    limiter: DefaultKeyedRateLimiter<(IpAddr, String)>,
    clock: DefaultClock,
}

impl LoginLimiter {
    pub fn new(per_minute: u32) -> Self {
        let per_minute = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one attempt; `RateLimited` with the wait when over the limit.
    pub fn check(&self, ip: IpAddr, account: &str) -> Result<(), AppError> {
        self.limiter
            .check_key(&(ip, account.to_lowercase()))
            .map_err(|not_until| {
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
