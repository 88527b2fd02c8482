//! bare-insert: the ceiling of `POST /messages` on SQLite. axum + sqlx,
//! SQLite in WAL mode with `synchronous=NORMAL` (Guildhall's default). A
//! request's JSON `{channel_id, content}` goes on a queue to one writer
//! task that owns the only write connection; the writer takes everything
//! queued, inserts it in one transaction and commits (group commit), then
//! answers each request with its row (201). No auth, no permission check,
//! no event, no author lookup.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use clap::Parser;
use guildhall_bench::ceiling::{
    BareArgs, CREATE_SQLITE, INSERT, NewMessage, Row, now_rfc3339, serve, sqlite_options,
};
use sqlx::{Connection, Executor, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

type Job = (NewMessage, oneshot::Sender<Option<Row>>);

/// Most inserts one commit takes.
const MAX_BATCH: usize = 1024;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = BareArgs::parse();
    let mut conn = SqliteConnection::connect_with(&sqlite_options(&args.database_url)?).await?;
    conn.execute(CREATE_SQLITE).await?;
    let (queue, jobs) = mpsc::channel::<Job>(4096);
    tokio::spawn(writer(conn, jobs));
    let app = Router::new()
        .route("/messages", post(create_message))
        .with_state(queue);
    serve(args.listen, app).await
}

async fn create_message(
    State(queue): State<mpsc::Sender<Job>>,
    Json(input): Json<NewMessage>,
) -> Result<(StatusCode, Json<Row>), StatusCode> {
    let (done, row) = oneshot::channel();
    queue
        .send((input, done))
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    match row.await {
        Ok(Some(row)) => Ok((StatusCode::CREATED, Json(row))),
        _ => Err(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

async fn writer(mut conn: SqliteConnection, mut jobs: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match commit(&mut conn, &batch).await {
            Ok(rows) => {
                for ((_, done), row) in batch.drain(..).zip(rows) {
                    let _ = done.send(Some(row));
                }
            }
            Err(_) => {
                for (_, done) in batch.drain(..) {
                    let _ = done.send(None);
                }
            }
        }
    }
}

async fn commit(conn: &mut SqliteConnection, batch: &[Job]) -> sqlx::Result<Vec<Row>> {
    let mut tx = conn.begin().await?;
    let mut rows = Vec::with_capacity(batch.len());
    for (input, _) in batch {
        let created_at = now_rfc3339();
        let done = sqlx::query(INSERT)
            .bind(input.channel())
            .bind(1_i64)
            .bind(&input.content)
            .bind(&created_at)
            .execute(&mut *tx)
            .await?;
        rows.push(Row {
            id: done.last_insert_rowid(),
            channel_id: input.channel(),
            author_id: 1,
            content: input.content.clone(),
            created_at,
        });
    }
    tx.commit().await?;
    Ok(rows)
}
