//! Guildhall: a self-hostable chat backend. This file only wires the parts
//! together: configuration in, a running server out.

pub mod auth;
pub mod client_addr;
pub mod cluster;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod http;
pub mod id;
pub mod limits;
pub mod logs;
pub mod perms;
pub mod realtime;
mod serve;
pub mod state;
pub mod store;
pub mod telemetry;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;

pub use config::Config;
use events::EventBus;
use id::IdGenerator;
use std::sync::Arc;

use state::AppState;
use store::Store;

/// A server bound to its port, ready to run.
pub struct Server {
    pub addr: SocketAddr,
    /// Where `/metrics` is served, with `--metrics-listen`.
    pub metrics_addr: Option<SocketAddr>,
    pub state: AppState,
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    config: Config,
    /// This node's id lease, in multi-node mode.
    lease: Option<cluster::lease::NodeLease>,
}

impl Server {
    /// Connects the database (running migrations) and binds the listener.
    pub async fn bind(config: &Config) -> anyhow::Result<Self> {
        let redis = match &config.redis_url {
            None => None,
            Some(url) => {
                if !store::is_postgres_url(&config.database_url) {
                    anyhow::bail!(
                        "several nodes (--redis-url) need PostgreSQL: set --database-url postgres://...; \
                         SQLite serves one node only"
                    );
                }
                let redis = cluster::Redis::connect(url, &config.redis_prefix)
                    .await
                    .map_err(|e| anyhow::anyhow!("redis at {url}: {e}"))?;
                Some(redis)
            }
        };
        let (ids, lease) = match &redis {
            None => (IdGenerator::new(config.node_id.unwrap_or(0)), None),
            Some(redis) => {
                let lease = cluster::lease::NodeLease::new(
                    redis.clone(),
                    config.node_lease_ttl.into(),
                    config.node_id,
                );
                let (id, until) = lease.acquire().await?;
                (IdGenerator::leased(id, until), Some(lease))
            }
        };
        let ids = Arc::new(ids);
        let events = EventBus::new(config.event_bus_capacity as usize);
        let store = Store::connect(
            &config.database_url,
            config.db_pool_size,
            config.sqlite_synchronous,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let metrics_listener = match config.metrics_listen {
            Some(at) => Some(TcpListener::bind(at).await?),
            None => None,
        };
        let metrics_addr = match &metrics_listener {
            Some(listener) => Some(listener.local_addr()?),
            None => None,
        };
        let state = AppState::new(store, ids, events, redis, config);
        Ok(Self {
            addr,
            metrics_addr,
            state,
            listener,
            metrics_listener,
            config: config.clone(),
            lease,
        })
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests
    /// finish and closes the database.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let state = self.state.clone();
        let maintenance = tokio::spawn(maintenance(state.clone()));
        let sweeper = tokio::spawn(end_stale_sessions(state.clone()));
        let presence_tender = tokio::spawn(domain::presence::tend_shared(state.clone()));
        let lease_keeper = self
            .lease
            .clone()
            .map(|lease| tokio::spawn(lease.keep(state.ids.clone())));
        let upkeep = tokio::spawn(metrics_upkeep(state.clone()));
        let proxies = client_addr::TrustedProxies::new(self.config.trusted_proxies.clone());
        let (stop_metrics, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
        let metrics_server = self.metrics_listener.map(|listener| {
            tokio::spawn(serve::serve(
                listener,
                http::metrics_router(state.clone()),
                proxies.clone(),
                async move {
                    let _ = metrics_stopped.await;
                },
            ))
        });
        let gateway = realtime::Gateway::start(state.clone(), &self.config);
        // The socket layer is outermost: long-polls and WebSockets must not
        // meet the API's request timeout.
        let app = http::router(state.clone(), &self.config).layer(gateway.layer.clone());
        let shutdown = async move {
            shutdown.await;
            // Open sockets would hold the graceful shutdown forever.
            gateway.close().await;
        };
        serve::serve(self.listener, app, proxies, shutdown).await;
        // Stopped only once the API has drained, so that scrapes during
        // the drain still get an answer.
        let _ = stop_metrics.send(());
        if let Some(metrics_server) = metrics_server {
            let _ = metrics_server.await;
        }
        maintenance.abort();
        sweeper.abort();
        presence_tender.abort();
        if let (Some(keeper), Some(lease)) = (lease_keeper, &self.lease) {
            keeper.abort();
            lease.release(state.ids.node_id()).await;
        }
        upkeep.abort();
        state.store.close().await;
        Ok(())
    }
}

/// Periodic housekeeping: idle rate-limit buckets.
async fn maintenance(state: AppState) {
    let mut tick = tokio::time::interval(auth::ratelimit::LoginLimiter::PRUNE_EVERY);
    loop {
        tick.tick().await;
        state.login_limiter.prune();
        state.typing.prune();
        if let Some(limits) = &state.rate_limits {
            limits.prune();
        }
    }
}

/// Drains the metrics' histogram samples, which would otherwise pile up
/// in memory between scrapes (or forever, with no scraper).
async fn metrics_upkeep(state: AppState) {
    let mut tick = tokio::time::interval(telemetry::UPKEEP_EVERY);
    loop {
        tick.tick().await;
        state.metrics.run_upkeep();
    }
}

/// Ends expired and idle sessions and closes their sockets, as often as
/// their uses are recorded (`touch_every_ms`), so that a socket outlives
/// its session by at most that long.
async fn end_stale_sessions(state: AppState) {
    let every = auth::credentials::touch_every_ms(&state.settings);
    let mut tick = tokio::time::interval(Duration::from_millis(every.unsigned_abs()));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match domain::sessions::end_stale_sessions(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(sessions = n, "ended expired or idle sessions"),
            Err(e) => tracing::warn!(error = %e, "ending stale sessions failed"),
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// Runs the server with `config` until Ctrl-C or SIGTERM.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let server = Server::bind(&config).await?;
    tracing::info!(
        addr = %server.addr,
        database = server.state.store.backend(),
        node_id = server.state.ids.node_id(),
        multi_node = server.state.redis.is_some(),
        "guildhall listening on http://{} (database: {})",
        server.addr,
        server.state.store.backend()
    );
    if let Some(addr) = server.metrics_addr {
        tracing::info!(%addr, "metrics on http://{addr}/metrics");
    }
    server.run(shutdown_signal()).await
}
