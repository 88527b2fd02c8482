//! Multi-node mode: several Guildhall nodes on one PostgreSQL database and
//! one Redis (`--redis-url`). PostgreSQL holds everything durable; Redis
//! holds what the nodes share while they run: node id leases (`lease`),
//! who is online (`presence`),
//! the events every node must see (`relay`) and rate-limit budgets (kept
//! by the limits module).
//! Single-node mode (no Redis) never touches this module.

pub mod lease;
pub mod presence;
pub mod relay;

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// How long one Redis command may take before it counts as failed: Redis
/// answers in well under a millisecond when it is up.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A connection to the deployment's Redis, and the prefix of every key and
/// channel the deployment uses there. Cheap to clone: the connection is
/// multiplexed and reconnects by itself.
#[derive(Clone)]
pub struct Redis {
    client: redis::Client,
    conn: ConnectionManager,
    prefix: String,
}

impl Redis {
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(CONNECT_TIMEOUT));
        let conn = client.get_connection_manager_with_config(config).await?;
        Ok(Self {
            client,
            conn,
            prefix: prefix.to_owned(),
        })
    }

    /// The deployment's name for `key`.
    pub fn key(&self, key: &str) -> String {
        format!("{}:{key}", self.prefix)
    }

    /// For connections of their own (a subscription).
    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    pub fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }
}
