//! bare-broadcast: the ceiling of live delivery. axum + socketioxide with
//! Guildhall's socket settings (256 queued packets per socket, 1 KiB
//! WebSocket read buffer, the same heartbeat). No auth, no database, no
//! presence. A socket joins the room named by `auth.room` (default
//! `all`) in a connect middleware, before the server confirms the
//! connection, as Guildhall joins its rooms: a message posted after the
//! confirmation must reach it. `POST /messages` with `{channel_id, content}` emits
//! `message_create` with that body to the room named `channel_id` and
//! answers it (201); the socket event `chat` does the same and acks
//! `{"message": body}`.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use clap::Parser;
use guildhall_bench::ceiling::{BareArgs, NewMessage, serve};
use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Data, SocketRef, TryData};
use socketioxide::handler::ConnectHandler;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = BareArgs::parse();
    let (layer, io) = SocketIo::builder()
        .max_buffer_size(256)
        .ws_read_buffer_size(1024)
        .ping_interval(Duration::from_secs(25))
        .ping_timeout(Duration::from_secs(20))
        .build_layer();
    io.ns("/", on_connect.with(join_room));
    let app = Router::new()
        .route("/messages", post(create_message))
        .with_state(io)
        .layer(layer);
    serve(args.listen, app).await
}

async fn join_room(s: SocketRef, TryData(auth): TryData<Value>) -> Result<(), Infallible> {
    let room = auth
        .ok()
        .and_then(|a| a.get("room").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| "all".to_string());
    s.join(room);
    Ok(())
}

async fn on_connect(s: SocketRef) {
    s.on(
        "chat",
        async |s: SocketRef, Data(message): Data<NewMessage>, ack: AckSender| {
            let _ = s
                .within(message.channel_id.clone())
                .emit("message_create", &message)
                .await;
            let _ = ack.send(&json!({ "message": message }));
        },
    );
}

async fn create_message(
    State(io): State<SocketIo>,
    Json(message): Json<NewMessage>,
) -> (StatusCode, Json<NewMessage>) {
    let _ = io
        .to(message.channel_id.clone())
        .emit("message_create", &message)
        .await;
    (StatusCode::CREATED, Json(message))
}
