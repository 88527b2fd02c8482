//! `AppState`: everything a request handler or socket handler needs,
//! cheap to clone (all shared parts are behind `Arc`s or are handles).

use std::sync::Arc;

use crate::auth::ratelimit::LoginLimiter;
use crate::config::Config;
use crate::events::EventBus;
use crate::id::IdGenerator;
use crate::store::Store;

/// Settings the request path reads, resolved once from `Config`.
#[derive(Debug)]
pub struct Settings {
    /// Origins allowed on cookie-authenticated writes; empty: same origin only.
    pub allowed_origins: Vec<String>,
    pub secure_cookies: bool,
    pub session_ttl_ms: i64,
}

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub ids: Arc<IdGenerator>,
    pub events: EventBus,
    pub settings: Arc<Settings>,
    pub login_limiter: Arc<LoginLimiter>,
}

impl AppState {
    pub fn new(store: Store, ids: Arc<IdGenerator>, events: EventBus, config: &Config) -> Self {
        Self {
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
            }),
            login_limiter: Arc::new(LoginLimiter::new(config.login_attempts_per_minute)),
        }
    }
}
