//! bare-read: the ceiling of `GET /messages` newest 50 on SQLite. axum +
//! sqlx, SQLite in WAL mode with a pool of 8 read connections (Guildhall's
//! default `--db-pool-size`). At start it seeds `--rows` messages (default
//! 100,000) over `--channels` channels (default 10) in one transaction if
//! the table holds fewer, with an index on `(channel_id, id)`. `GET
//! /messages?channel_id=N&limit=50` answers the newest 50 of that channel
//! by the index as a JSON array. No auth, no permission check, no reaction
//! tallies.

use axum::Router;
use axum::routing::get;
use clap::Parser;
use guildhall_bench::ceiling::{
    BareArgs, CREATE_SQLITE, INSERT, newest, now_rfc3339, seed_content, serve, sqlite_options,
};
use sqlx::sqlite::{Sqlite, SqlitePoolOptions};
use sqlx::{Connection, Executor};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = BareArgs::parse();
    let options = sqlite_options(&args.database_url)?;
    let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
    conn.execute(CREATE_SQLITE).await?;
    let have: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
        .fetch_one(&mut conn)
        .await?;
    if have < args.rows {
        let mut tx = conn.begin().await?;
        let created_at = now_rfc3339();
        for i in have..args.rows {
            sqlx::query(INSERT)
                .bind(i % args.channels + 1)
                .bind(1_i64)
                .bind(seed_content(i))
                .bind(&created_at)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
    }
    conn.close().await?;
    let pool = SqlitePoolOptions::new()
        .max_connections(args.pool)
        .min_connections(args.pool)
        .connect_with(options.read_only(true))
        .await?;
    let app = Router::new()
        .route("/messages", get(newest::<Sqlite>))
        .with_state(pool);
    serve(args.listen, app).await
}
