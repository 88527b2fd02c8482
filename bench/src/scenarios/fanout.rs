//! Fan-out of one channel to N listening sockets (`--fanout`, default 100,
//! 1,000 and 10,000), each N on a fresh server: the sockets spread over
//! `--fanout-users` members of one server, all listening; the owner posts
//! `POST /messages` at a steady rate of `--fanout-deliveries-per-sec / N`
//! messages a second for `--fanout-secs`. Every message on every socket is
//! counted, with its latency from the post being sent. Against
//! bare-broadcast with the same N sockets in one room and the same posts.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Ctx, Db, Delivery, POSTERS, START_PATIENCE, deliveries, drain};
use crate::clock::stamp;
use crate::fixture;
use crate::http::Call;
use crate::load::post_steady;
use crate::procs::Server;
use crate::socket::Crowd;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FanoutPoint {
    pub n: usize,
    pub guildhall: Delivery,
    pub bare: Delivery,
}

impl FanoutPoint {
    pub fn ratio(&self) -> f64 {
        self.guildhall.per_sec / self.bare.per_sec.max(1e-9)
    }
}

pub async fn fanout(ctx: &Ctx) -> anyhow::Result<Vec<FanoutPoint>> {
    let mut points = Vec::new();
    for &n in &ctx.plan.fanout {
        let rate = (ctx.plan.fanout_deliveries_per_sec / n as f64).clamp(0.5, 2_000.0);
        let db = ctx.fresh_db(Db::Sqlite, "fanout").await?;
        let guildhall = ctx
            .guildhall(&db.url, "fanout")
            .start(START_PATIENCE)
            .await?;
        let users = ctx.plan.fanout_users.clamp(1, n);
        let accounts =
            fixture::accounts(guildhall.addr, "fan", users, ctx.plan.signup_parallel).await?;
        let space = fixture::space(guildhall.addr, &accounts[0], "Stage", 1).await?;
        fixture::join(guildhall.addr, &accounts[0], &space, &accounts[1..], 8).await?;
        let auths = (0..n)
            .map(|i| json!({"token": accounts[i % users].token}))
            .collect();
        let channel = space.channels[0].clone();
        let token = accounts[0].token.clone();
        let post = Arc::new(move |seq| {
            Call::post(
                "/messages",
                Some(&token),
                &fixture::message(&channel, stamp(seq)),
            )
        });
        let product = listen_and_post(ctx, &guildhall, auths, rate, post).await;
        guildhall.stop().await?;
        db.remove().await?;

        let bare = ctx
            .bare("bare-broadcast", None, "fanout")
            .start(START_PATIENCE)
            .await?;
        let auths = (0..n).map(|_| json!({"room": "all"})).collect();
        let post =
            Arc::new(|seq| Call::post("/messages", None, &fixture::message("all", stamp(seq))));
        let ceiling = listen_and_post(ctx, &bare, auths, rate, post).await;
        bare.stop().await?;
        let point = FanoutPoint {
            n,
            guildhall: product?,
            bare: ceiling?,
        };
        eprintln!(
            "  N={n}: guildhall {:.0}/s p99 {:.1} ms lost {}, bare {:.0}/s p99 {:.1} ms lost {}",
            point.guildhall.per_sec,
            point.guildhall.latency.p99_ms,
            point.guildhall.lost,
            point.bare.per_sec,
            point.bare.latency.p99_ms,
            point.bare.lost
        );
        points.push(point);
    }
    Ok(points)
}

/// Connects every listener, waits for the connect traffic to pass, posts
/// at `rate`, then counts what every socket got.
async fn listen_and_post(
    ctx: &Ctx,
    server: &Server,
    auths: Vec<serde_json::Value>,
    rate: f64,
    post: Arc<dyn Fn(u64) -> Call + Send + Sync>,
) -> anyhow::Result<Delivery> {
    let n = auths.len() as u64;
    let crowd = Crowd::spawn(server.addr, auths, ctx.plan.connect_parallel);
    crowd.connected(Duration::from_secs(300)).await?;
    crowd
        .quiet(Duration::from_millis(500), Duration::from_secs(60))
        .await;
    let secs = Duration::from_secs_f64(ctx.plan.fanout_secs);
    let run = post_steady(server.addr, rate, secs, POSTERS, post).await?;
    let posted = run.posted.iter().filter(|p| p.ok).count() as u64;
    let tallies = drain(crowd, posted * n).await;
    Ok(deliveries(tallies, &run, rate, |_| 0, |_| 0))
}
