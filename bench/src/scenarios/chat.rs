//! `chat` over Socket.IO with ack: `--chat-sockets` sockets, each of its
//! own account in its own server (so a message goes back to its sender
//! only), each emitting `chat` and waiting for the ack before the next.
//! Against bare-broadcast's `chat` (one room per socket, no database); the
//! report also sets it beside `POST /messages` and bare-insert at 64.

use std::time::Instant;

use futures_util::{StreamExt, TryStreamExt, stream};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Ctx, Db, START_PATIENCE};
use crate::fixture;
use crate::load::{Latency, LoadResult, histogram, measured};
use crate::procs::Server;
use crate::socket::SocketConn;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Chat {
    pub guildhall: LoadResult,
    pub bare_broadcast: LoadResult,
}

pub async fn chat(ctx: &Ctx) -> anyhow::Result<Chat> {
    let n = ctx.plan.chat_sockets.max(1);
    let db = ctx.fresh_db(Db::Sqlite, "chat").await?;
    let guildhall = ctx.guildhall(&db.url, "chat").start(START_PATIENCE).await?;
    let accounts = fixture::accounts(guildhall.addr, "chat", n, ctx.plan.signup_parallel).await?;
    let addr = guildhall.addr;
    let targets: Vec<(serde_json::Value, String)> = stream::iter(&accounts)
        .map(|a| async move {
            let space = fixture::space(addr, a, "Chat", 1).await?;
            anyhow::Ok((json!({"token": a.token}), space.channels[0].clone()))
        })
        .buffered(8)
        .try_collect()
        .await?;
    let product = chat_loop(ctx, &guildhall, targets).await;
    guildhall.stop().await?;
    db.remove().await?;

    let bare = ctx
        .bare("bare-broadcast", None, "chat")
        .start(START_PATIENCE)
        .await?;
    let targets = (0..n)
        .map(|i| (json!({"room": format!("r{i}")}), format!("r{i}")))
        .collect();
    let ceiling = chat_loop(ctx, &bare, targets).await;
    bare.stop().await?;
    Ok(Chat {
        guildhall: product?,
        bare_broadcast: ceiling?,
    })
}

/// One socket per `(auth, channel)`, each in a closed loop of `chat`.
async fn chat_loop(
    ctx: &Ctx,
    server: &Server,
    targets: Vec<(serde_json::Value, String)>,
) -> anyhow::Result<LoadResult> {
    let mut sockets = Vec::new();
    for (auth, channel) in targets {
        sockets.push((SocketConn::connect(server.addr, &auth).await?, channel));
    }
    let timing = ctx.plan.timing();
    let from = Instant::now() + timing.warmup;
    let end = from + timing.duration;
    let concurrency = sockets.len();
    let workers: Vec<_> = sockets
        .into_iter()
        .map(|(mut socket, channel)| {
            tokio::spawn(async move {
                let mut hist = histogram();
                let mut errors = 0;
                for seq in 0.. {
                    let sent = Instant::now();
                    if sent >= end {
                        break;
                    }
                    let ok = socket.chat(&channel, seq).await?;
                    let done = Instant::now();
                    if sent >= from && done <= end {
                        if ok {
                            let _ = hist.record((done - sent).as_micros() as u64);
                        } else {
                            errors += 1;
                        }
                    }
                }
                anyhow::Ok((hist, errors))
            })
        })
        .collect();
    let (outcomes, server_cores) = measured(server, from, end, async {
        let mut out = Vec::new();
        for w in workers {
            out.push(w.await);
        }
        out
    })
    .await;
    let mut hist = histogram();
    let mut errors = 0;
    for outcome in outcomes {
        let (h, e) = outcome??;
        hist.add(&h)?;
        errors += e;
    }
    Ok(LoadResult {
        concurrency,
        requests: hist.len(),
        errors,
        per_sec: hist.len() as f64 / timing.duration.as_secs_f64(),
        latency: Latency::of(&hist),
        server_cores,
        first_error: None,
    })
}
