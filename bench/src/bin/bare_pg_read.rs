//! bare-pg-read: the ceiling of `GET /messages` newest 50 on PostgreSQL.
//! axum + sqlx, a pool of 8 connections. At start it seeds `--rows`
//! messages (default 100,000) over `--channels` channels (default 10) with
//! one `INSERT ... SELECT generate_series` if the table holds fewer, with
//! an index on `(channel_id, id)`, then `ANALYZE`. `GET
//! /messages?channel_id=N&limit=50` answers the newest 50 of that channel
//! by the index as a JSON array. No auth, no permission check, no reaction
//! tallies.

use axum::Router;
use axum::routing::get;
use clap::Parser;
use guildhall_bench::ceiling::{BareArgs, newest, pg_pool, seed_content, serve};
use sqlx::Postgres;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = BareArgs::parse();
    let pool = pg_pool(&args).await?;
    let have: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
        .fetch_one(&pool)
        .await?;
    if have < args.rows {
        // The same text as `seed_content`, built by the database.
        let sample = seed_content(0);
        let tail = sample.split_once(": ").map(|(_, t)| t).unwrap_or("");
        sqlx::query(
            "INSERT INTO messages (channel_id, author_id, content, created_at)
             SELECT g % $3 + 1, 1, 'seed message ' || g || ': ' || $4, now()::text
             FROM generate_series($1, $2 - 1) AS g",
        )
        .bind(have)
        .bind(args.rows)
        .bind(args.channels)
        .bind(tail)
        .execute(&pool)
        .await?;
        sqlx::raw_sql("ANALYZE messages").execute(&pool).await?;
    }
    let app = Router::new()
        .route("/messages", get(newest::<Postgres>))
        .with_state(pool);
    serve(args.listen, app).await
}
