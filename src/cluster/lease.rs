//! Node id leases. Every snowflake carries its node's id (10 bits), so two
//! live nodes must never share one. In multi-node mode a node leases its
//! id in Redis: `SET {prefix}:node-id:{id} {token} NX PX ttl`, renewed
//! every fifth of the TTL by a script that extends the key only while it
//! still holds this node's token. A killed node's key expires after the
//! TTL, so a node restarted at once takes another id.
//!
//! The id generator is told how long the lease is sure to hold (the TTL
//! counted from before the renewal was sent, less a margin for clocks that
//! run at different rates) and refuses to mint past it. So a node cut off
//! from Redis stops minting (requests that need a new id answer 503)
//! before its key can expire and be taken by another node; once Redis
//! answers again it renews, or takes a free id if its own was taken.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;

use crate::cluster::Redis;
use crate::id::{IdGenerator, MAX_NODE_ID};

/// Extends the lease only if this node still holds it: 1 if extended.
const RENEW: &str = "if redis.call('get', KEYS[1]) == ARGV[1] then \
                     return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
/// Gives the lease back only if this node still holds it.
const RELEASE: &str = "if redis.call('get', KEYS[1]) == ARGV[1] then \
                       return redis.call('del', KEYS[1]) else return 0 end";

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("node id {0} is held by another live node; choose another or leave --node-id unset")]
    Taken(u16),
    #[error("every node id (0-{MAX_NODE_ID}) is leased by a live node")]
    NoneFree,
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}

/// This node's lease: which id, under which token, for how long.
#[derive(Clone)]
pub struct NodeLease {
    redis: Redis,
    token: String,
    ttl: Duration,
    /// The id this node asked for (`--node-id`), if any: it never takes
    /// another.
    wanted: Option<u16>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl NodeLease {
    pub fn new(redis: Redis, ttl: Duration, wanted: Option<u16>) -> Self {
        let token = format!("{:032x}", rand::rng().random::<u128>());
        Self {
            redis,
            token,
            ttl: ttl.max(Duration::from_secs(1)),
            wanted,
        }
    }

    fn key(&self, id: u16) -> String {
        self.redis.key(&format!("node-id:{id}"))
    }

    fn ttl_ms(&self) -> i64 {
        i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX)
    }

    /// Until when a lease granted or renewed by a command sent at
    /// `sent_ms` surely holds: the TTL less a fifth, for clock drift.
    fn valid_until(&self, sent_ms: i64) -> i64 {
        sent_ms + self.ttl_ms() * 4 / 5
    }

    fn renew_every(&self) -> Duration {
        self.ttl / 5
    }

    async fn try_take(&self, id: u16) -> Result<bool, redis::RedisError> {
        let taken: Option<String> = redis::cmd("SET")
            .arg(self.key(id))
            .arg(&self.token)
            .arg("NX")
            .arg("PX")
            .arg(self.ttl_ms())
            .query_async(&mut self.redis.conn())
            .await?;
        Ok(taken.is_some())
    }

    /// Takes the wanted id, or any free one starting from a random id (so
    /// nodes starting together rarely contend); returns it and until when
    /// it holds.
    pub async fn acquire(&self) -> Result<(u16, i64), LeaseError> {
        let sent = now_ms();
        if let Some(id) = self.wanted {
            return if self.try_take(id).await? {
                Ok((id, self.valid_until(sent)))
            } else {
                Err(LeaseError::Taken(id))
            };
        }
        let ids = u32::from(MAX_NODE_ID) + 1;
        let start = rand::rng().random_range(0..ids);
        for offset in 0..ids {
            let id = u16::try_from((start + offset) % ids).unwrap_or(0);
            if self.try_take(id).await? {
                return Ok((id, self.valid_until(sent)));
            }
        }
        Err(LeaseError::NoneFree)
    }

    /// Extends the lease on `id`; false if it is no longer this node's.
    async fn renew(&self, id: u16) -> Result<bool, redis::RedisError> {
        let extended: i64 = redis::Script::new(RENEW)
            .key(self.key(id))
            .arg(&self.token)
            .arg(self.ttl_ms())
            .invoke_async(&mut self.redis.conn())
            .await?;
        Ok(extended == 1)
    }

    /// Keeps the lease of `ids`' node id alive for as long as it runs.
    pub async fn keep(self, ids: Arc<IdGenerator>) {
        let mut tick = tokio::time::interval(self.renew_every());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await; // the first tick is immediate: just acquired
        loop {
            tick.tick().await;
            let id = ids.node_id();
            let sent = now_ms();
            match self.renew(id).await {
                Ok(true) => ids.extend_lease(id, self.valid_until(sent)),
                Ok(false) => {
                    // Expired while Redis was out of reach, and maybe taken.
                    ids.revoke_lease();
                    tracing::warn!(node_id = id, "node id lease lost; leasing again");
                    match self.acquire().await {
                        Ok((id, until)) => {
                            tracing::info!(node_id = id, "node id leased again");
                            ids.extend_lease(id, until);
                        }
                        Err(e) => tracing::error!(error = %e, "no node id: minting stopped"),
                    }
                }
                // The deadline already given stands; past it, no minting.
                Err(e) => tracing::warn!(error = %e, node_id = id, "node id lease not renewed"),
            }
        }
    }

    /// Gives the lease back at shutdown, so the id is free at once.
    pub async fn release(&self, id: u16) {
        let released: Result<i64, _> = redis::Script::new(RELEASE)
            .key(self.key(id))
            .arg(&self.token)
            .invoke_async(&mut self.redis.conn())
            .await;
        if let Err(e) = released {
            tracing::warn!(error = %e, node_id = id, "node id lease not released; it expires by itself");
        }
    }
}
