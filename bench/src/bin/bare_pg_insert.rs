//! bare-pg-insert: the ceiling of `POST /messages` on PostgreSQL. axum +
//! sqlx, a pool of 8 connections (Guildhall's default `--db-pool-size`);
//! each request's JSON `{channel_id, content}` is one `INSERT ...
//! RETURNING` in its own implicit transaction: one commit per request, no
//! batching. Answers the row (201). No auth, no permission check, no event.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use clap::Parser;
use guildhall_bench::ceiling::{
    BareArgs, INSERT_RETURNING_ID, NewMessage, Row, now_rfc3339, pg_pool, serve,
};
use sqlx::postgres::PgPool;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = BareArgs::parse();
    let pool = pg_pool(&args).await?;
    let app = Router::new()
        .route("/messages", post(create_message))
        .with_state(pool);
    serve(args.listen, app).await
}

async fn create_message(
    State(pool): State<PgPool>,
    Json(input): Json<NewMessage>,
) -> Result<(StatusCode, Json<Row>), StatusCode> {
    let created_at = now_rfc3339();
    let id: i64 = sqlx::query_scalar(INSERT_RETURNING_ID)
        .bind(input.channel())
        .bind(1_i64)
        .bind(&input.content)
        .bind(&created_at)
        .fetch_one(&pool)
        .await
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    let row = Row {
        id,
        channel_id: input.channel(),
        author_id: 1,
        content: input.content,
        created_at,
    };
    Ok((StatusCode::CREATED, Json(row)))
}
