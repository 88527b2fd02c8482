//! What the bare ceiling programs (`src/bin/bare_*.rs`) share: their flags,
//! their row, the seeding of the read table, and serving until SIGTERM.
//! Nothing here knows Guildhall: the ceilings do the same work as a
//! Guildhall route with no product logic (no auth, no permissions, no
//! events), so that a ratio to them says how much the product costs.

use std::net::SocketAddr;
use std::str::FromStr;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, Type};

/// Flags of every bare program (each uses the ones it needs).
#[derive(Debug, clap::Parser)]
pub struct BareArgs {
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: SocketAddr,
    /// `sqlite://PATH` or `postgres://...` (the database programs only).
    #[arg(long, default_value = "sqlite://bare.db")]
    pub database_url: String,
    /// Rows the read programs seed (over `channels` channels) if missing.
    #[arg(long, default_value_t = 100_000)]
    pub rows: i64,
    #[arg(long, default_value_t = 10)]
    pub channels: i64,
    /// Read-pool connections (SQLite) or pool size (PostgreSQL): the same
    /// as Guildhall's default `--db-pool-size`.
    #[arg(long, default_value_t = 8)]
    pub pool: u32,
}

/// `POST /messages` body, the shape Guildhall takes.
#[derive(Debug, Deserialize, Serialize, Clone)]
pub struct NewMessage {
    pub channel_id: String,
    pub content: String,
}

/// One stored message: the columns Guildhall's messages table would need.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct Row {
    pub id: i64,
    pub channel_id: i64,
    pub author_id: i64,
    pub content: String,
    pub created_at: String,
}

/// `?channel_id=&limit=` of `GET /messages`.
#[derive(Debug, Deserialize)]
pub struct Page {
    pub channel_id: i64,
    pub limit: Option<i64>,
}

pub const CREATE_SQLITE: &str = "CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY, channel_id INTEGER NOT NULL, author_id INTEGER NOT NULL,
    content TEXT NOT NULL, created_at TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS messages_channel ON messages (channel_id, id)";

pub const CREATE_PG: &str = "CREATE TABLE IF NOT EXISTS messages (
    id BIGSERIAL PRIMARY KEY, channel_id BIGINT NOT NULL, author_id BIGINT NOT NULL,
    content TEXT NOT NULL, created_at TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS messages_channel ON messages (channel_id, id)";

/// Newest `limit` (default 50, at most 100) of a channel, by the index;
/// `$1` placeholders work on both databases.
pub const NEWEST: &str = "SELECT id, channel_id, author_id, content, created_at FROM messages
    WHERE channel_id = $1 ORDER BY id DESC LIMIT $2";

pub const INSERT: &str =
    "INSERT INTO messages (channel_id, author_id, content, created_at) VALUES ($1, $2, $3, $4)";

pub const INSERT_RETURNING_ID: &str =
    "INSERT INTO messages (channel_id, author_id, content, created_at)
    VALUES ($1, $2, $3, $4) RETURNING id";

impl NewMessage {
    /// The channel as a number (the bench sends "1".."10" to the ceilings).
    pub fn channel(&self) -> i64 {
        self.channel_id.parse().unwrap_or(0)
    }
}

impl Page {
    pub fn limit(&self) -> i64 {
        self.limit.unwrap_or(50).clamp(1, 100)
    }
}

pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Seeded message text, about as long as a chat line.
pub fn seed_content(i: i64) -> String {
    format!("seed message {i}: the quick brown fox jumps over the lazy dog")
}

/// SQLite as Guildhall opens it: WAL, `synchronous=NORMAL`, created if missing.
pub fn sqlite_options(url: &str) -> anyhow::Result<SqliteConnectOptions> {
    Ok(SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal))
}

/// A PostgreSQL pool of `args.pool` connections, with the table made.
pub async fn pg_pool(args: &BareArgs) -> anyhow::Result<PgPool> {
    let pool = PgPoolOptions::new()
        .max_connections(args.pool)
        .connect(&args.database_url)
        .await?;
    sqlx::raw_sql(CREATE_PG).execute(&pool).await?;
    Ok(pool)
}

/// `GET /messages?channel_id=&limit=`: the newest rows of a channel, on
/// either database.
pub async fn newest<DB: Database>(
    State(pool): State<Pool<DB>>,
    Query(page): Query<Page>,
) -> Result<Json<Vec<Row>>, StatusCode>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> Row: FromRow<'r, DB::Row>,
{
    sqlx::query_as(NEWEST)
        .bind(page.channel_id)
        .bind(page.limit())
        .fetch_all(&pool)
        .await
        .map(Json)
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)
}

/// Serves `app` until SIGTERM or Ctrl-C.
pub async fn serve(listen: SocketAddr, app: Router) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        })
        .await?;
    Ok(())
}
