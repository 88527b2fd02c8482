//! One database, many members, in this order (sharing it spares a second
//! round of `--members` argon2 sign-ups):
//! 1. idle RSS of a fresh server, then RSS after `--members` sign-ups and
//!    logins;
//! 2. the connect storm: all members join one server; its owner posts at
//!    `--storm-rate` while, after 1 s, every member connects at once (one
//!    socket each); every message posted after a socket connected must
//!    reach it. Against bare-broadcast with as many sockets in one room;
//! 3. start time: the server restarted `--startup-runs` times on that
//!    existing database, timed from spawn to its first answered request,
//!    beside bare-http's;
//! 4. many rooms: the big server is deleted and members regroup into
//!    `--rooms` servers of `--room-users` accounts with
//!    `--sockets-per-user` sockets each (100 x 10 x 10 = 10,000 sockets);
//!    the servers' owners post `--rooms-rate` messages a second over all
//!    servers. Against bare-broadcast with the same sockets in as many rooms.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt, stream};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Ctx, Db, Delivery, POSTERS, START_PATIENCE, deliveries, drain};
use crate::clock::stamp;
use crate::fixture::{self, Account, Space};
use crate::http::{Call, HttpConn};
use crate::load::post_steady;
use crate::procs::{Launch, Server};
use crate::socket::Crowd;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Members {
    pub members: usize,
    pub idle_rss: u64,
    pub rss_after_signups: u64,
    pub signup_secs: f64,
    pub storm: Delivery,
    pub storm_bare: Delivery,
    pub startup_ms: Vec<f64>,
    pub bare_startup_ms: Vec<f64>,
    pub rooms: Option<Rooms>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Rooms {
    pub servers: usize,
    pub sockets_per_server: usize,
    pub guildhall: Delivery,
    pub bare: Delivery,
}

/// Settling time before reading RSS.
const SETTLE: Duration = Duration::from_secs(1);

type Post = Arc<dyn Fn(u64) -> Call + Send + Sync>;

pub async fn members(ctx: &Ctx) -> anyhow::Result<Members> {
    let plan = &ctx.plan;
    let n = plan.members.max(2);
    let db = ctx.fresh_db(Db::Sqlite, "members").await?;
    let launch = ctx.guildhall(&db.url, "members");
    let guildhall = launch.start(START_PATIENCE).await?;
    tokio::time::sleep(SETTLE).await;
    let idle_rss = guildhall.rss();
    let started = Instant::now();
    let accounts = fixture::accounts(guildhall.addr, "m", n, plan.signup_parallel).await?;
    let signup_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(SETTLE).await;
    let rss_after_signups = guildhall.rss();
    eprintln!(
        "  {n} sign-ups and logins in {signup_secs:.1} s; RSS {} -> {} MiB",
        idle_rss >> 20,
        rss_after_signups >> 20
    );

    let hall = fixture::space(guildhall.addr, &accounts[0], "Hall", 1).await?;
    fixture::join(guildhall.addr, &accounts[0], &hall, &accounts[1..], 16).await?;
    let auths = accounts.iter().map(|a| json!({"token": a.token})).collect();
    let (channel, token) = (hall.channels[0].clone(), accounts[0].token.clone());
    let post: Post = Arc::new(move |seq| {
        Call::post(
            "/messages",
            Some(&token),
            &fixture::message(&channel, stamp(seq)),
        )
    });
    let storm_product = connect_storm(ctx, &guildhall, auths, post).await?;
    eprintln!(
        "  storm: p99 {:.1} ms, lost {} of {}, {} presence updates",
        storm_product.latency.p99_ms,
        storm_product.lost,
        storm_product.expected,
        storm_product.presence_updates
    );
    let bare = ctx
        .bare("bare-broadcast", None, "storm")
        .start(START_PATIENCE)
        .await?;
    let auths = (0..n).map(|_| json!({"room": "all"})).collect();
    let post: Post =
        Arc::new(|seq| Call::post("/messages", None, &fixture::message("all", stamp(seq))));
    let storm_bare = connect_storm(ctx, &bare, auths, post).await?;
    bare.stop().await?;

    guildhall.stop().await?;
    let (guildhall, startup_ms) = restarts(&launch, plan.startup_runs.max(1)).await?;
    let (bare_http, bare_startup_ms) = restarts(
        &ctx.bare("bare-http", None, "startup"),
        plan.startup_runs.max(1),
    )
    .await?;
    bare_http.stop().await?;

    let rooms = if plan.rooms > 0 {
        Some(rooms(ctx, &guildhall, &accounts, &accounts[0], &hall).await?)
    } else {
        None
    };
    guildhall.stop().await?;
    db.remove().await?;
    Ok(Members {
        members: n,
        idle_rss,
        rss_after_signups,
        signup_secs,
        storm: storm_product,
        storm_bare,
        startup_ms,
        bare_startup_ms,
        rooms,
    })
}

/// Posts at the storm rate; after 1 s every `auths` socket connects at once.
async fn connect_storm(
    ctx: &Ctx,
    server: &Server,
    auths: Vec<Value>,
    post: Post,
) -> anyhow::Result<Delivery> {
    let n = auths.len() as u64;
    let rate = ctx.plan.storm_rate;
    let secs = Duration::from_secs_f64(ctx.plan.storm_secs);
    let poster = tokio::spawn(post_steady(server.addr, rate, secs, POSTERS, post));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let crowd = Crowd::spawn(server.addr, auths, n as usize);
    let run = poster.await??;
    let posted = run.posted.iter().filter(|p| p.ok).count() as u64;
    let tallies = drain(crowd, posted * n).await;
    Ok(deliveries(tallies, &run, rate, |_| 0, |_| 0))
}

/// Starts `launch` `runs` times, timing each to its first answer; the
/// last one is left running.
async fn restarts(launch: &Launch, runs: usize) -> anyhow::Result<(Server, Vec<f64>)> {
    let mut times = Vec::new();
    loop {
        let server = launch.start(START_PATIENCE).await?;
        times.push(server.start_time.as_secs_f64() * 1000.0);
        if times.len() == runs {
            return Ok((server, times));
        }
        server.stop().await?;
    }
}

async fn rooms(
    ctx: &Ctx,
    guildhall: &Server,
    accounts: &[Account],
    owner: &Account,
    hall: &Space,
) -> anyhow::Result<Rooms> {
    let plan = &ctx.plan;
    let per = plan.room_users.max(1);
    let servers = plan.rooms.min(accounts.len() / per).max(1);
    let spu = plan.sockets_per_user.max(1);
    let per_room = per * spu;
    let addr = guildhall.addr;
    let mut conn = HttpConn::connect(addr).await?;
    conn.json(&Call::delete(
        format!("/servers/{}", hall.server_id),
        Some(&owner.token),
    ))
    .await?;
    let channels: Vec<String> = stream::iter(0..servers)
        .map(|s| async move {
            let group = &accounts[s * per..(s + 1) * per];
            let space = fixture::space(addr, &group[0], &format!("Room {s}"), 1).await?;
            fixture::join(addr, &group[0], &space, &group[1..], 4).await?;
            anyhow::Ok(space.channels[0].clone())
        })
        .buffered(8)
        .try_collect()
        .await?;
    let auths = (0..servers * per_room)
        .map(|i| json!({"token": accounts[i / spu].token}))
        .collect();
    let owners: Vec<String> = (0..servers)
        .map(|s| accounts[s * per].token.clone())
        .collect();
    let post: Post = Arc::new(move |seq| {
        let s = seq as usize % owners.len();
        let body = fixture::message(&channels[s], stamp(seq));
        Call::post("/messages", Some(&owners[s]), &body)
    });
    let product = in_rooms(ctx, guildhall, auths, servers, per_room, post).await?;
    eprintln!(
        "  rooms: {:.0}/s p99 {:.1} ms, lost {}",
        product.per_sec, product.latency.p99_ms, product.lost
    );

    let bare = ctx
        .bare("bare-broadcast", None, "rooms")
        .start(START_PATIENCE)
        .await?;
    let auths = (0..servers * per_room)
        .map(|i| json!({"room": format!("r{}", i / per_room)}))
        .collect();
    let post: Post = Arc::new(move |seq| {
        let room = format!("r{}", seq as usize % servers);
        Call::post("/messages", None, &fixture::message(&room, stamp(seq)))
    });
    let ceiling = in_rooms(ctx, &bare, auths, servers, per_room, post).await;
    bare.stop().await?;
    Ok(Rooms {
        servers,
        sockets_per_server: per_room,
        guildhall: product,
        bare: ceiling?,
    })
}

/// Socket `i` listens in room `i / per_room`; message `seq` goes to room
/// `seq % servers`.
async fn in_rooms(
    ctx: &Ctx,
    server: &Server,
    auths: Vec<Value>,
    servers: usize,
    per_room: usize,
    post: Post,
) -> anyhow::Result<Delivery> {
    let crowd = Crowd::spawn(server.addr, auths, ctx.plan.connect_parallel);
    crowd.connected(Duration::from_secs(300)).await?;
    crowd
        .quiet(Duration::from_secs(1), Duration::from_secs(120))
        .await;
    let rate = ctx.plan.rooms_rate;
    let secs = Duration::from_secs_f64(ctx.plan.rooms_secs);
    let run = post_steady(server.addr, rate, secs, POSTERS, post).await?;
    let posted = run.posted.iter().filter(|p| p.ok).count() as u64;
    let tallies = drain(crowd, posted * per_room as u64).await;
    Ok(deliveries(
        tallies,
        &run,
        rate,
        |i| i / per_room,
        |seq| seq as usize % servers,
    ))
}
