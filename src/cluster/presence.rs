//! Presence across nodes, in Redis: per user, how many sockets each node
//! holds (`{prefix}:online:{user}`, a hash of node to count), the status
//! the user chose (`{prefix}:status:{user}`), and per node the users it
//! counts (`{prefix}:node-users:{node}`). Each change is one script, so
//! the socket cap and the first-socket / last-socket transitions hold
//! for the whole cluster; the rules (what others see) stay
//! `domain::presence`'s.
//!
//! A node is named by an incarnation: a token renewed whenever the node
//! lost Redis (its sockets were dropped then and their counts could not be
//! taken back). Each incarnation keeps `{prefix}:alive:{node}` alive with
//! a TTL; when it lapses (the node was killed, or moved to a new
//! incarnation) any node sweeps that incarnation's counts away and sends
//! the resulting offline updates. So a killed node's users go offline on
//! the other nodes within the TTL plus one sweep.

use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use redis::RedisError;

use crate::cluster::Redis;
use crate::domain::online::{AtCapacity, Change};
use crate::domain::values::PresenceStatus as Status;
use crate::id::Snowflake;

/// KEYS: online, status, node-users. ARGV: node, cap, user.
/// -1: at the cap; 1: the user's first socket in the cluster; 0: another.
const CONNECT: &str = r"
local total = 0
for _, c in ipairs(redis.call('HVALS', KEYS[1])) do total = total + tonumber(c) end
if total >= tonumber(ARGV[2]) then return -1 end
if total == 0 then redis.call('DEL', KEYS[2]) end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('SADD', KEYS[3], ARGV[3])
if total == 0 then return 1 end
return 0
";

/// KEYS: online, status, node-users. ARGV: node, user, how many sockets
/// of that node to take back ('all' when sweeping a dead node). Returns
/// the user's chosen status if that was their last socket in the cluster.
const DISCONNECT: &str = r"
local left = 0
if ARGV[3] == 'all' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  left = redis.call('HINCRBY', KEYS[1], ARGV[1], -tonumber(ARGV[3]))
  if left <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
end
if left <= 0 then redis.call('SREM', KEYS[3], ARGV[2]) end
if redis.call('HLEN', KEYS[1]) == 0 then
  local status = redis.call('GET', KEYS[2]) or 'online'
  redis.call('DEL', KEYS[2])
  return status
end
return false
";

/// KEYS: online, status. ARGV: status. Returns the status before, or
/// nothing if the user has no socket.
const SET_STATUS: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local before = redis.call('GET', KEYS[2]) or 'online'
redis.call('SET', KEYS[2], ARGV[1])
return before
";

/// Presence shared by the nodes; see the module comment.
pub struct SharedPresence {
    redis: Redis,
    incarnation: Mutex<Arc<str>>,
    /// How long an incarnation lives without being kept alive.
    ttl: Duration,
}

fn new_incarnation() -> Arc<str> {
    format!("{:032x}", rand::random::<u128>()).into()
}

fn parse_status(text: &str) -> Status {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).unwrap_or(Status::Online)
}

fn status_text(status: Status) -> String {
    match serde_json::to_value(status) {
        Ok(serde_json::Value::String(text)) => text,
        _ => "online".to_owned(),
    }
}

impl SharedPresence {
    pub fn new(redis: Redis, ttl: Duration) -> Self {
        Self {
            redis,
            incarnation: Mutex::new(new_incarnation()),
            ttl: ttl.max(Duration::from_secs(1)),
        }
    }

    fn online_key(&self, user: Snowflake) -> String {
        self.redis.key(&format!("online:{user}"))
    }

    fn status_key(&self, user: Snowflake) -> String {
        self.redis.key(&format!("status:{user}"))
    }

    fn node_users_key(&self, node: &str) -> String {
        self.redis.key(&format!("node-users:{node}"))
    }

    fn alive_key(&self, node: &str) -> String {
        self.redis.key(&format!("alive:{node}"))
    }

    /// The incarnation new sockets are counted under.
    pub fn incarnation(&self) -> Arc<str> {
        self.incarnation
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Starts a new incarnation: the old one's counts are swept once its
    /// TTL lapses (call when this node dropped its sockets because it lost
    /// Redis).
    pub fn reincarnate(&self) {
        *self.incarnation.lock().unwrap_or_else(|e| e.into_inner()) = new_incarnation();
    }

    /// Counts a socket of `user` under `node`, unless the user has `cap`
    /// open in the whole cluster.
    pub async fn connect(
        &self,
        node: &str,
        user: Snowflake,
        cap: u32,
    ) -> Result<Result<Option<Change>, AtCapacity>, RedisError> {
        self.keep_alive(node).await?;
        let counted: i64 = redis::Script::new(CONNECT)
            .key(self.online_key(user))
            .key(self.status_key(user))
            .key(self.node_users_key(node))
            .arg(node)
            .arg(cap)
            .arg(user.0)
            .invoke_async(&mut self.redis.conn())
            .await?;
        Ok(match counted {
            -1 => Err(AtCapacity),
            1 => Ok(Some(Change {
                before: Status::Offline,
                now: Status::Online,
            })),
            _ => Ok(None),
        })
    }

    /// Takes back `count` sockets of `user` (all, when `None`) counted
    /// under `node`.
    pub async fn disconnect(
        &self,
        node: &str,
        user: Snowflake,
        count: Option<u32>,
    ) -> Result<Option<Change>, RedisError> {
        let last: Option<String> = redis::Script::new(DISCONNECT)
            .key(self.online_key(user))
            .key(self.status_key(user))
            .key(self.node_users_key(node))
            .arg(node)
            .arg(user.0)
            .arg(count.map_or_else(|| "all".to_owned(), |n| n.to_string()))
            .invoke_async(&mut self.redis.conn())
            .await?;
        Ok(last.and_then(|status| {
            let was = parse_status(&status).visible();
            (was != Status::Offline).then_some(Change {
                before: was,
                now: Status::Offline,
            })
        }))
    }

    pub async fn set(&self, user: Snowflake, status: Status) -> Result<Option<Change>, RedisError> {
        let before: Option<String> = redis::Script::new(SET_STATUS)
            .key(self.online_key(user))
            .key(self.status_key(user))
            .arg(status_text(status))
            .invoke_async(&mut self.redis.conn())
            .await?;
        Ok(before.and_then(|before| {
            let before = parse_status(&before).visible();
            (before != status.visible()).then_some(Change {
                before,
                now: status.visible(),
            })
        }))
    }

    /// What others see of each of `users`, in one round trip.
    pub async fn statuses(&self, users: &[Snowflake]) -> Result<Vec<Status>, RedisError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for user in users {
            pipe.exists(self.online_key(*user))
                .get(self.status_key(*user));
        }
        let answers: Vec<(bool, Option<String>)> = pipe.query_async(&mut self.redis.conn()).await?;
        Ok(answers
            .into_iter()
            .map(|(online, status)| match (online, status) {
                (false, _) => Status::Offline,
                (true, status) => status.map_or(Status::Online, |s| parse_status(&s).visible()),
            })
            .collect())
    }

    async fn keep_alive(&self, node: &str) -> Result<(), RedisError> {
        let ttl = i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX);
        redis::pipe()
            .set(self.alive_key(node), 1)
            .arg("PX")
            .arg(ttl)
            .ignore()
            .sadd(self.redis.key("nodes"), node)
            .ignore()
            .query_async::<()>(&mut self.redis.conn())
            .await
    }

    /// How often `tend` should run.
    pub fn tend_every(&self) -> Duration {
        self.ttl / 5
    }

    /// Keeps this node's incarnation alive and sweeps the counts of
    /// incarnations no longer alive; returns the offline changes that
    /// sweeping made.
    pub async fn tend(&self) -> Result<Vec<(Snowflake, Change)>, RedisError> {
        let me = self.incarnation();
        self.keep_alive(&me).await?;
        let nodes: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.redis.key("nodes"))
            .query_async(&mut self.redis.conn())
            .await?;
        let mut changes = Vec::new();
        for node in nodes.iter().filter(|n| **n != *me) {
            let alive: bool = redis::cmd("EXISTS")
                .arg(self.alive_key(node))
                .query_async(&mut self.redis.conn())
                .await?;
            if alive {
                continue;
            }
            // One node sweeps each dead incarnation.
            let claimed: Option<String> = redis::cmd("SET")
                .arg(self.redis.key(&format!("sweep:{node}")))
                .arg(&*me)
                .arg("NX")
                .arg("PX")
                .arg(60_000)
                .query_async(&mut self.redis.conn())
                .await?;
            if claimed.is_none() {
                continue;
            }
            let users: Vec<i64> = redis::cmd("SMEMBERS")
                .arg(self.node_users_key(node))
                .query_async(&mut self.redis.conn())
                .await?;
            for user in users.into_iter().map(Snowflake) {
                if let Some(change) = self.disconnect(node, user, None).await? {
                    changes.push((user, change));
                }
            }
            redis::pipe()
                .del(self.node_users_key(node))
                .ignore()
                .srem(self.redis.key("nodes"), node)
                .ignore()
                .query_async::<()>(&mut self.redis.conn())
                .await?;
        }
        Ok(changes)
    }
}
