//! `AppState`: everything a request handler or socket handler needs,
//! cheap to clone (all shared parts are behind `Arc`s or are handles).

use std::sync::Arc;

use crate::auth::password::Hashers;
use crate::auth::ratelimit::LoginLimiter;
use crate::auth::session_cache::SessionCache;
use crate::cluster::Redis;
use crate::cluster::presence::SharedPresence;
use crate::cluster::relay::Publisher;
use crate::config::Config;
use crate::domain::message_writer::MessageWriter;
use crate::domain::online::{Presence, PresenceQueue};
use crate::events::EventBus;
use crate::id::IdGenerator;
use crate::limits::{RateLimits, TypingThrottle};
use crate::store::Store;
use crate::telemetry::Metrics;

/// Settings the request path reads, resolved once from `Config`.
#[derive(Debug)]
pub struct Settings {
    /// Origins allowed on cookie-authenticated writes; empty: same origin only.
    pub allowed_origins: Vec<String>,
    pub secure_cookies: bool,
    pub session_ttl_ms: i64,
    /// Sessions unused for longer end; `i64::MAX` when there is no idle limit.
    pub session_idle_ms: i64,
    pub max_servers_per_user: i64,
    pub max_channels_per_server: i64,
    /// Client events one socket may send per minute.
    pub socket_events_per_minute: u32,
    /// Sockets one user may have open at once.
    pub max_sockets_per_user: u32,
}

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub ids: Arc<IdGenerator>,
    pub events: EventBus,
    /// The group-commit writer every new message goes through.
    pub messages: MessageWriter,
    /// Who is online on this node.
    pub presence: Arc<Presence>,
    /// Presence changes waiting for their batch (`domain::presence`).
    pub presence_queue: Arc<PresenceQueue>,
    pub settings: Arc<Settings>,
    pub login_limiter: Arc<LoginLimiter>,
    /// The password hashing threads and their bounded queue.
    pub hashers: Arc<Hashers>,
    /// Live sessions by token hash (see `auth::session_cache`).
    pub sessions: Arc<SessionCache>,
    /// REST rate limits; `None` when switched off.
    pub rate_limits: Option<Arc<RateLimits>>,
    /// Typing indicators sent, per user and channel.
    pub typing: Arc<TypingThrottle>,
    /// The deployment's Redis, in multi-node mode (`cluster`).
    pub redis: Option<Redis>,
    /// Publishes this node's events to the other nodes, in multi-node mode.
    pub relay: Option<Arc<Publisher>>,
    /// Who is online in the whole cluster, in multi-node mode (`presence`
    /// then counts nothing).
    pub shared_presence: Option<Arc<SharedPresence>>,
    /// Prometheus metrics (`/metrics`).
    pub metrics: Arc<Metrics>,
}

impl AppState {
    /// Builds the state and starts the message writer (so it needs a
    /// Tokio runtime).
    pub fn new(
        store: Store,
        ids: Arc<IdGenerator>,
        events: EventBus,
        redis: Option<Redis>,
        config: &Config,
    ) -> Self {
        let metrics = Arc::new(Metrics::new());
        let relay = redis
            .clone()
            .map(|redis| Publisher::new(redis, metrics.relay()));
        let shared_presence = redis
            .clone()
            .map(|redis| Arc::new(SharedPresence::new(redis, config.presence_ttl.into())));
        Self {
            presence_queue: Arc::new(PresenceQueue::default()),
            messages: MessageWriter::spawn(
                store.clone(),
                ids.clone(),
                events.clone(),
                relay.clone(),
                metrics.writer(),
            ),
            presence: Arc::new(Presence::default()),
            store,
            ids,
            events,
            settings: Arc::new(Settings {
                allowed_origins: config
                    .allowed_origins
                    .iter()
                    .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
                    .filter(|o| !o.is_empty())
                    .collect(),
                secure_cookies: config.secure_cookies,
                session_ttl_ms: i64::from(config.session_ttl_hours) * 3_600_000,
                max_servers_per_user: i64::from(config.max_servers_per_user),
                max_channels_per_server: i64::from(config.max_channels_per_server),
                socket_events_per_minute: config.socket_events_per_minute,
                max_sockets_per_user: config.max_sockets_per_user,
                session_idle_ms: match config.session_idle_timeout.as_millis() {
                    0 => i64::MAX,
                    ms => i64::try_from(ms).unwrap_or(i64::MAX),
                },
            }),
            login_limiter: Arc::new(LoginLimiter::new(
                config.login_attempts_per_minute,
                redis.clone(),
            )),
            hashers: Arc::new(Hashers::start(config.password_hash_queue as usize)),
            sessions: Arc::new(SessionCache::default()),
            rate_limits: RateLimits::from_config(config, redis.clone()),
            typing: Arc::new(TypingThrottle::default()),
            redis,
            relay,
            shared_presence,
            metrics,
        }
    }
}
