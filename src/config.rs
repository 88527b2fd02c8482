//! One typed configuration, read from command-line flags and the environment.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "guildhall",
    version,
    about = "Guildhall: a self-hostable chat backend (REST + Socket.IO)",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings for `serve`, which is also what runs when no command is given.
    #[command(flatten)]
    pub serve: Config,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve(Config),
}

impl Cli {
    pub fn into_config(self) -> Config {
        match self.command {
            Some(Command::Serve(config)) => config,
            None => self.serve,
        }
    }
}

/// SQLite's `synchronous` setting in WAL mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SqliteSync {
    Normal,
    Full,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// For people: one line per event, coloured only on a terminal.
    Text,
    /// For log collectors: one JSON object per line.
    Json,
}

/// Every setting of the server. Each flag can also come from the environment.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address and port to listen on.
    #[arg(long, env = "GUILDHALL_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Serve `/metrics` (Prometheus) on this address and port instead of on
    /// the public one, which then answers 404 there: for keeping metrics
    /// off the internet. Default: on the public port.
    #[arg(long, env = "GUILDHALL_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Log format on stderr: `text` or `json` (one object a line, with the
    /// request id of the request it belongs to). `RUST_LOG` sets the filter.
    #[arg(long, env = "GUILDHALL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Database: `sqlite://PATH` (created on first start) or
    /// `postgres://USER@HOST:PORT/DB`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://guildhall.db")]
    pub database_url: String,

    /// An origin (scheme://host[:port]) allowed to make cookie-authenticated
    /// requests. Repeatable; in the environment, comma-separated. Default:
    /// only the server's own origin (the request's Host).
    #[arg(
        long = "allowed-origin",
        env = "GUILDHALL_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,

    /// A reverse proxy (address or CIDR block) whose `X-Forwarded-For` and
    /// `Forwarded` headers name the client. Repeatable; in the environment,
    /// comma-separated. From any other peer those headers are ignored.
    #[arg(
        long = "trusted-proxy",
        env = "GUILDHALL_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_parser = parse_net
    )]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// Mark session cookies `Secure` (set this when served over HTTPS).
    #[arg(long, env = "GUILDHALL_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// How long a login session lasts, in hours.
    #[arg(long, env = "GUILDHALL_SESSION_TTL_HOURS", default_value_t = 24 * 30)]
    pub session_ttl_hours: u32,

    /// Login attempts allowed per minute for one client address and account
    /// name; further attempts get 429 with Retry-After.
    #[arg(
        long,
        env = "GUILDHALL_LOGIN_ATTEMPTS_PER_MINUTE",
        default_value_t = 10
    )]
    pub login_attempts_per_minute: u32,

    /// This node's id (0-1023), part of every snowflake it mints. Single
    /// node: 0 unless set. Several nodes (`--redis-url`): leased from Redis
    /// unless set; a set id is leased too, and start-up fails if another
    /// live node holds it.
    #[arg(long, env = "GUILDHALL_NODE_ID",
          value_parser = clap::value_parser!(u16).range(0..=1023))]
    pub node_id: Option<u16>,

    /// Redis, for several nodes on one PostgreSQL database: `redis://HOST:PORT/DB`.
    /// Unset: single-node mode, the default.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,

    /// The prefix of every Redis key and channel this deployment uses, so
    /// that several deployments (or test runs) can share one Redis.
    #[arg(long, env = "GUILDHALL_REDIS_PREFIX", default_value = "guildhall")]
    pub redis_prefix: String,

    /// How long a node id lease lasts in Redis without renewal: a node that
    /// cannot renew it for this long stops minting ids (writes answer 503),
    /// so it is how long a Redis outage can last before writes stop; a
    /// killed node's id is free again after it.
    #[arg(long, env = "GUILDHALL_NODE_LEASE_TTL", default_value = "60s")]
    pub node_lease_ttl: humantime::Duration,

    /// On several nodes: how long a node counts as alive without saying
    /// so in Redis (it does every fifth of this). A killed node's users
    /// show offline on the others after at most this and a fifth.
    #[arg(long, env = "GUILDHALL_PRESENCE_TTL", default_value = "10s")]
    pub presence_ttl: humantime::Duration,

    /// Seconds between Engine.IO heartbeats on a socket.
    #[arg(long, env = "GUILDHALL_PING_INTERVAL_SECS", default_value_t = 25)]
    pub ping_interval_secs: u64,

    /// Seconds a socket has to answer a heartbeat before it is closed.
    #[arg(long, env = "GUILDHALL_PING_TIMEOUT_SECS", default_value_t = 20)]
    pub ping_timeout_secs: u64,

    /// Whether REST rate limits apply (true/false). Per route group and
    /// caller; every answer tells its budget in X-RateLimit-* headers.
    #[arg(long, env = "GUILDHALL_RATE_LIMITS", default_value_t = true, action = clap::ArgAction::Set)]
    pub rate_limits: bool,

    /// Sign-ups and logins per minute and client address.
    #[arg(
        long,
        env = "GUILDHALL_RATE_LIMIT_AUTH_PER_MINUTE",
        default_value_t = 20
    )]
    pub rate_limit_auth_per_minute: u32,

    /// Messages and reactions posted per minute and user (REST and the
    /// socket `chat` event together).
    #[arg(
        long,
        env = "GUILDHALL_RATE_LIMIT_MESSAGES_PER_MINUTE",
        default_value_t = 120
    )]
    pub rate_limit_messages_per_minute: u32,

    /// Other writes per minute and user (or address).
    #[arg(
        long,
        env = "GUILDHALL_RATE_LIMIT_WRITES_PER_MINUTE",
        default_value_t = 120
    )]
    pub rate_limit_writes_per_minute: u32,

    /// Reads per minute and user (or address).
    #[arg(
        long,
        env = "GUILDHALL_RATE_LIMIT_READS_PER_MINUTE",
        default_value_t = 600
    )]
    pub rate_limit_reads_per_minute: u32,

    /// Socket handshakes per minute, counted both per client address and
    /// per user.
    #[arg(
        long,
        env = "GUILDHALL_RATE_LIMIT_CONNECTS_PER_MINUTE",
        default_value_t = 60
    )]
    pub rate_limit_connects_per_minute: u32,

    /// Sessions unused this long end, and their sockets close: a duration
    /// such as `90s`, `15m`, `12h` or `14d` (`0`: only the TTL applies). A
    /// request or a socket event is a use; a socket merely open is not.
    #[arg(long, env = "GUILDHALL_SESSION_IDLE_TIMEOUT", default_value = "14d")]
    pub session_idle_timeout: humantime::Duration,

    /// SQLite durability: `normal` (a commit survives a crash of the
    /// process; power loss may drop the last commits) or `full` (survives
    /// power loss too, at the cost of an fsync per commit batch).
    #[arg(long, env = "GUILDHALL_SQLITE_SYNCHRONOUS", value_enum, default_value_t = SqliteSync::Normal)]
    pub sqlite_synchronous: SqliteSync,

    /// Servers one user may own or belong to.
    #[arg(long, env = "GUILDHALL_MAX_SERVERS_PER_USER", default_value_t = 100)]
    pub max_servers_per_user: u32,

    /// Sockets one user may have open at once (all devices and tabs).
    #[arg(long, env = "GUILDHALL_MAX_SOCKETS_PER_USER", default_value_t = 32,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_sockets_per_user: u32,

    /// Channels one server may have.
    #[arg(long, env = "GUILDHALL_MAX_CHANNELS_PER_SERVER", default_value_t = 500)]
    pub max_channels_per_server: u32,

    /// Password hashes (sign-ups, logins, password changes) that may wait
    /// for a hasher thread; past that, 503 with `Retry-After`.
    #[arg(long, env = "GUILDHALL_PASSWORD_HASH_QUEUE", default_value_t = 64,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub password_hash_queue: u32,

    /// Connections in the read pool (SQLite) or the pool (PostgreSQL).
    #[arg(long, env = "GUILDHALL_DB_POOL_SIZE", default_value_t = 8)]
    pub db_pool_size: u32,

    /// Client events (chat, typing, presence) one socket may send per
    /// minute, in the spirit of Discord's gateway limit of 120.
    #[arg(long, env = "GUILDHALL_SOCKET_EVENTS_PER_MINUTE", default_value_t = 120,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub socket_events_per_minute: u32,

    /// Events the in-process bus holds for the real-time fan-out when it
    /// falls behind; past that, every socket is disconnected so that no
    /// socket keeps rights a lost event took away (clients reconnect and
    /// catch up). At most 1,048,576. The ring is allocated whole at start
    /// (32 bytes a slot): the default, more than a second of events at the
    /// highest rate the benchmark reaches, costs 512 KiB of idle memory.
    #[arg(long, env = "GUILDHALL_EVENT_BUS_CAPACITY", default_value_t = 16_384,
          value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    pub event_bus_capacity: u32,
}

/// A CIDR block, or one address (a /32 or /128).
fn parse_net(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{s:?} is neither an address nor a CIDR block"))
}

impl Config {
    /// A config with every default, for embedding and tests.
    pub fn with_database(database_url: impl Into<String>) -> Self {
        let mut config = Cli::parse_from(["guildhall"]).into_config();
        config.database_url = database_url.into();
        config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        config
    }
}
