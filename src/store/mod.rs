//! Database access: the only place with SQL. One `Store` serves SQLite and
//! PostgreSQL; each query is written once (both accept `$1` placeholders)
//! and run on whichever pool is configured through the `on_reader!` /
//! `on_writer!` macros, which expand the same code once per driver.
//!
//! SQLite runs in WAL mode with one writer connection (SQLite allows one
//! writer at a time; queuing in our pool is cheaper than SQLITE_BUSY
//! retries) and a pool of read-only connections. Message inserts, the hot
//! write path, are committed in batches by the domain's group-commit
//! writer (`domain::message_writer`).
//!
//! The store knows nothing of HTTP or permissions; it returns domain
//! models and `AppError`.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Encode, FromRow, Postgres, Sqlite, Type};

use crate::config::SqliteSync;
use crate::error::AppError;
use crate::id::Snowflake;

pub mod channels;
pub mod contacts;
pub mod feeds;
pub mod invites;
pub mod members;
pub mod memo;
pub mod messages;
pub mod reactions;
pub mod recent;
pub mod relationships;
mod relayed;
pub mod servers;
pub mod sessions;
pub mod users;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite { read: SqlitePool, write: SqlitePool },
    Postgres(PgPool),
}

#[derive(Clone)]
pub struct Store {
    pub(crate) db: Db,
    /// Rows every request reads, kept in step by this store's writes.
    pub(crate) memo: std::sync::Arc<memo::Memo>,
    /// The newest messages of the channels being read.
    pub(crate) recent: std::sync::Arc<recent::Recent>,
}

/// Runs `$body` with `$pool` bound to a pool for reading.
macro_rules! on_reader {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.db {
            $crate::store::Db::Sqlite { read: $pool, .. } => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` with `$pool` bound to the pool that may write.
macro_rules! on_writer {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.db {
            $crate::store::Db::Sqlite { write: $pool, .. } => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}
/// In a writer transaction `$tx`, on PostgreSQL (`$postgres`), locks the
/// row of `$table` with id `$id` until commit, so that writes checking a
/// count or a state under that row (a quota, a cap) wait for each other
/// and the count read still holds at the write. SQLite has one writer
/// connection: its transactions are serial already, and this does nothing.
macro_rules! lock_row {
    ($tx:expr, $postgres:expr, $table:literal, $id:expr) => {
        async {
            if $postgres {
                sqlx::query(concat!(
                    "SELECT 1 FROM ",
                    $table,
                    " WHERE id = $1 FOR UPDATE"
                ))
                .bind($id)
                .execute($tx)
                .await?;
            }
            Ok::<(), sqlx::Error>(())
        }
    };
}
pub(crate) use {lock_row, on_reader, on_writer};

/// `$first, $first+1, ...`: `n` numbered placeholders for an `IN (...)`
/// list whose values are bound.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// True for a PostgreSQL database URL.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

impl Store {
    /// Connects, creating an SQLite file if needed, and runs migrations.
    pub async fn connect(url: &str, pool_size: u32, sync: SqliteSync) -> Result<Self, AppError> {
        if is_postgres_url(url) {
            let pool = PgPoolOptions::new()
                .max_connections(pool_size.max(2))
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await?;
            POSTGRES_MIGRATIONS.run(&pool).await?;
            return Ok(Self {
                db: Db::Postgres(pool),
                memo: Default::default(),
                recent: Default::default(),
            });
        }
        if !url.starts_with("sqlite:") {
            return Err(AppError::Internal(
                "database url must start with sqlite:// or postgres://".into(),
            ));
        }
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Err(AppError::Internal(
                "an in-memory SQLite database cannot be shared by the read and write pools; use a file".into(),
            ));
        }
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode: a commit survives a crash of the process;
            // only power loss can drop the last commits. FULL survives both.
            .synchronous(match sync {
                SqliteSync::Normal => SqliteSynchronous::Normal,
                SqliteSync::Full => SqliteSynchronous::Full,
            })
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        SQLITE_MIGRATIONS.run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(pool_size.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self {
            db: Db::Sqlite { read, write },
            memo: Default::default(),
            recent: Default::default(),
        })
    }

    /// Moves whenever the store forgets a cached membership or access (a
    /// kick, a leave, a block, a deletion): a caller that read memberships
    /// and finds it unchanged afterwards knows none was taken away since.
    pub fn access_epoch(&self) -> u64 {
        self.memo.epoch()
    }

    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self.db, Db::Postgres(_))
    }

    /// `"sqlite"` or `"postgres"`, for logs.
    pub fn backend(&self) -> &'static str {
        match self.db {
            Db::Sqlite { .. } => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Whether the database answers a trivial query within `within`: a
    /// connection can be had (or opened) and the server responds. On
    /// SQLite it asks the read pool, since the one writer connection may be
    /// busy with a group commit without anything being wrong.
    pub async fn ping(&self, within: Duration) -> Result<(), PingError> {
        let query = async {
            on_reader!(self, |pool| sqlx::query("SELECT 1")
                .execute(pool)
                .await
                .map(|_| ()))
        };
        match tokio::time::timeout(within, query).await {
            Ok(answer) => Ok(answer?),
            Err(_) => Err(PingError::TimedOut(within)),
        }
    }

    /// Each pool's connections, open and idle.
    pub fn pool_stats(&self) -> Vec<PoolStats> {
        fn stats<DB: sqlx::Database>(name: &'static str, pool: &sqlx::Pool<DB>) -> PoolStats {
            PoolStats {
                name,
                size: pool.size(),
                idle: pool.num_idle(),
            }
        }
        match &self.db {
            Db::Sqlite { read, write } => {
                vec![stats("sqlite_read", read), stats("sqlite_write", write)]
            }
            Db::Postgres(pool) => vec![stats("postgres", pool)],
        }
    }

    /// Waits for queued writes, then closes every connection.
    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

/// Why the database did not answer a ping.
#[derive(Debug, thiserror::Error)]
pub enum PingError {
    #[error("no answer within {0:?}")]
    TimedOut(Duration),
    #[error("{0}")]
    Failed(#[from] sqlx::Error),
}

/// One connection pool's state.
#[derive(Clone, Copy, Debug)]
pub struct PoolStats {
    /// `sqlite_read`, `sqlite_write` or `postgres`.
    pub name: &'static str,
    pub size: u32,
    pub idle: usize,
}

/// Keyset pagination over snowflake ids.
#[derive(Clone, Copy, Debug)]
pub struct Page {
    pub limit: i64,
    pub before: Option<Snowflake>,
    pub after: Option<Snowflake>,
}

impl Page {
    pub const DEFAULT_LIMIT: i64 = 50;
    pub const MAX_LIMIT: i64 = 100;

    /// Lower and upper id bounds (exclusive) as plain values, so that every
    /// list query has the same index-friendly `id > $a AND id < $b` shape.
    fn bounds(&self) -> (i64, i64) {
        (
            self.after.map_or(-1, |s| s.0),
            self.before.map_or(i64::MAX, |s| s.0),
        )
    }

    /// Which way to walk the index so that a limit keeps the rows nearest
    /// the cursor: from `after` upwards, otherwise downwards from `before`
    /// (or from the newest). `newest_first` is the order the caller wants;
    /// the rows are reversed afterwards when the two differ.
    fn walk_descending(&self, newest_first: bool) -> bool {
        if self.after.is_some() && self.before.is_none() {
            false
        } else if self.before.is_some() {
            true
        } else {
            newest_first
        }
    }

    /// Puts rows fetched in walk order into the order the caller wants.
    fn arrange<T>(&self, mut rows: Vec<T>, newest_first: bool) -> Vec<T> {
        if self.walk_descending(newest_first) != newest_first {
            rows.reverse();
        }
        rows
    }
}

/// A row type either driver can decode.
pub(crate) trait AnyRow:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}
impl<R> AnyRow for R where
    R: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

/// A value either driver can bind.
pub(crate) trait AnyValue:
    for<'q> Encode<'q, Sqlite>
    + Type<Sqlite>
    + for<'q> Encode<'q, Postgres>
    + Type<Postgres>
    + Copy
    + Send
    + Sync
{
}
impl<F> AnyValue for F where
    F: for<'q> Encode<'q, Sqlite>
        + Type<Sqlite>
        + for<'q> Encode<'q, Postgres>
        + Type<Postgres>
        + Copy
        + Send
        + Sync
{
}

impl Store {
    /// One page of a list: `select` (`SELECT ... FROM ...`, no WHERE)
    /// narrowed to the rows where `condition` holds, keyset-paged on
    /// `id_column`, in the order the caller wants. `condition` names the
    /// `filter` values `$1`, `$2`, ... Every list query goes through here.
    pub(crate) async fn fetch_page<R, F>(
        &self,
        select: &str,
        condition: &str,
        filter: &[F],
        id_column: &str,
        page: &Page,
        newest_first: bool,
    ) -> Result<Vec<R>, AppError>
    where
        R: AnyRow,
        F: AnyValue,
    {
        self.fetch_keyset(filter, page, newest_first, |dir, n| {
            format!(
                "{select} WHERE ({condition}) AND {id_column} > ${} AND {id_column} < ${}
                 ORDER BY {id_column} {dir} LIMIT ${}",
                n + 1,
                n + 2,
                n + 3,
            )
        })
        .await
    }

    /// The keyset-paged query under `fetch_page`, for lists whose text is
    /// not `SELECT ... WHERE condition` (the feeds). `sql(dir, n)` writes
    /// the query given the direction to walk the ids (`ASC`/`DESC`) and
    /// `n = filter.len()`: the filter values are `$1..$n`, the exclusive
    /// id bounds `$n+1` and `$n+2`, the limit `$n+3`.
    pub(crate) async fn fetch_keyset<R, F>(
        &self,
        filter: &[F],
        page: &Page,
        newest_first: bool,
        sql: impl FnOnce(&str, usize) -> String,
    ) -> Result<Vec<R>, AppError>
    where
        R: AnyRow,
        F: AnyValue,
    {
        let (after, before) = page.bounds();
        let dir = if page.walk_descending(newest_first) {
            "DESC"
        } else {
            "ASC"
        };
        let sql = sql(dir, filter.len());
        let rows = on_reader!(self, |pool| {
            let mut query = sqlx::query_as::<_, R>(sqlx::AssertSqlSafe(sql.as_str()));
            for value in filter {
                query = query.bind(*value);
            }
            query
                .bind(after)
                .bind(before)
                .bind(page.limit)
                .fetch_all(pool)
                .await
        })?;
        Ok(page.arrange(rows, newest_first))
    }
}

/// Current time in Unix milliseconds, as stored.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A stored time (Unix milliseconds) as the models carry it. Out of
/// chrono's range, which no stored time is, it reads as the Unix epoch.
pub fn time_from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use sqlx::{Connection, SqliteConnection};

    use crate::domain::model::ChannelKind;
    use crate::domain::values::{RelationshipStatus, Role};

    #[tokio::test]
    async fn text_columns_decode_into_their_enums_and_reject_unknown_values() {
        let mut db = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        let kind: ChannelKind = sqlx::query_scalar("SELECT 'dm'")
            .fetch_one(&mut db)
            .await
            .unwrap();
        let role: Role = sqlx::query_scalar("SELECT 'admin'")
            .fetch_one(&mut db)
            .await
            .unwrap();
        let status: RelationshipStatus = sqlx::query_scalar("SELECT 'blocked'")
            .fetch_one(&mut db)
            .await
            .unwrap();
        assert_eq!(
            (kind, role, status),
            (ChannelKind::Dm, Role::Admin, RelationshipStatus::Blocked)
        );
        // Once an unknown kind silently became a text channel.
        let unknown = sqlx::query_scalar::<_, ChannelKind>("SELECT 'voice'")
            .fetch_one(&mut db)
            .await;
        assert!(unknown.is_err());
        let unknown = sqlx::query_scalar::<_, Role>("SELECT 'Admin'")
            .fetch_one(&mut db)
            .await;
        assert!(unknown.is_err());
    }
}
