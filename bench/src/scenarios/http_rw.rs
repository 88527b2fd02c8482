//! Closed-loop HTTP scenarios, each point run on Guildhall and then on its
//! ceiling, alternating per concurrency so that both see the same machine:
//! bare-http alone; `POST /messages` (bearer auth) against bare-insert or
//! bare-pg-insert; `GET /messages` newest 50 of `--messages` over
//! `--channels` channels against bare-read or bare-pg-read.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Ctx, Db, START_PATIENCE};
use crate::fixture::{self, Account, Space};
use crate::http::Call;
use crate::load::{LoadResult, MakeCall, closed_loop, run_count};
use crate::procs::Server;

/// Guildhall and its ceiling at one concurrency.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pair {
    pub guildhall: LoadResult,
    pub bare: LoadResult,
}

impl Pair {
    pub fn ratio(&self) -> f64 {
        self.guildhall.per_sec / self.bare.per_sec.max(1e-9)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Compared {
    pub db: Db,
    pub ceiling: String,
    pub points: Vec<Pair>,
    /// Seeding of the read scenarios through `POST /messages` at 64
    /// connections: messages and messages per second.
    pub seeded: Option<(u64, f64)>,
}

/// bare-http at each concurrency.
pub async fn bare_http(ctx: &Ctx) -> anyhow::Result<Vec<LoadResult>> {
    let server = ctx
        .bare("bare-http", None, "http")
        .start(START_PATIENCE)
        .await?;
    let mut points = Vec::new();
    for &c in &ctx.plan.concurrency {
        let make: MakeCall = Arc::new(|_, _| Call::get("/hello", None));
        points.push(closed_loop(&server, c, ctx.plan.timing(), make).await?);
    }
    server.stop().await?;
    Ok(points)
}

/// `http_users` accounts in one server of `channels` channels.
async fn product_fixture(ctx: &Ctx, server: &Server) -> anyhow::Result<(Vec<Account>, Space)> {
    let plan = &ctx.plan;
    let users = fixture::accounts(
        server.addr,
        "user",
        plan.http_users.max(1),
        plan.signup_parallel,
    )
    .await?;
    let space = fixture::space(server.addr, &users[0], "Bench", plan.channels.max(1)).await?;
    fixture::join(server.addr, &users[0], &space, &users[1..], 8).await?;
    Ok((users, space))
}

fn post_call(users: Arc<Vec<Account>>, space: Arc<Space>) -> MakeCall {
    Arc::new(move |w, i| {
        let channel = &space.channels[(w + i as usize) % space.channels.len()];
        let user = &users[w % users.len()];
        let body = fixture::message(channel, format!("bench post {w} {i}"));
        Call::post("/messages", Some(&user.token), &body)
    })
}

fn bare_post_call(channels: usize) -> MakeCall {
    Arc::new(move |w, i| {
        let channel = ((w + i as usize) % channels + 1).to_string();
        let body = fixture::message(&channel, format!("bench post {w} {i}"));
        Call::post("/messages", None, &body)
    })
}

/// Runs `guildhall` and `bare` at each concurrency, alternating.
async fn compare(
    ctx: &Ctx,
    guildhall: &Server,
    make: MakeCall,
    bare: &Server,
    bare_make: MakeCall,
) -> anyhow::Result<Vec<Pair>> {
    let mut points = Vec::new();
    for &c in &ctx.plan.concurrency {
        let g = closed_loop(guildhall, c, ctx.plan.timing(), make.clone()).await?;
        let b = closed_loop(bare, c, ctx.plan.timing(), bare_make.clone()).await?;
        eprintln!(
            "  c={c}: guildhall {:.0}/s p99 {:.1} ms, {} {:.0}/s p99 {:.1} ms",
            g.per_sec, g.latency.p99_ms, bare.name, b.per_sec, b.latency.p99_ms
        );
        points.push(Pair {
            guildhall: g,
            bare: b,
        });
    }
    Ok(points)
}

/// Starts Guildhall and `ceiling` on fresh databases of kind `db` (the
/// read ceilings seed themselves before answering), runs `body` on them,
/// then stops both and drops the databases.
async fn on_fresh_pair<T>(
    ctx: &Ctx,
    db: Db,
    tag: &str,
    ceiling: &str,
    body: impl AsyncFnOnce(&Server, &Server) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let product_db = ctx.fresh_db(db, tag).await?;
    let bare_db = ctx.fresh_db(db, &format!("bare_{tag}")).await?;
    let guildhall = ctx
        .guildhall(&product_db.url, tag)
        .start(START_PATIENCE)
        .await?;
    let bare = ctx
        .bare(ceiling, Some(&bare_db.url), tag)
        .start(START_PATIENCE)
        .await?;
    let out = body(&guildhall, &bare).await;
    guildhall.stop().await?;
    bare.stop().await?;
    product_db.remove().await?;
    bare_db.remove().await?;
    out
}

/// `POST /messages` against bare-insert (SQLite) or bare-pg-insert.
pub async fn post(ctx: &Ctx, db: Db) -> anyhow::Result<Compared> {
    let ceiling = match db {
        Db::Sqlite => "bare-insert",
        Db::Postgres => "bare-pg-insert",
    };
    let points = on_fresh_pair(ctx, db, "post", ceiling, async |guildhall, bare| {
        let (users, space) = product_fixture(ctx, guildhall).await?;
        let make = post_call(Arc::new(users), Arc::new(space));
        compare(
            ctx,
            guildhall,
            make,
            bare,
            bare_post_call(ctx.plan.channels),
        )
        .await
    })
    .await?;
    Ok(Compared {
        db,
        ceiling: ceiling.to_string(),
        points,
        seeded: None,
    })
}

/// `GET /messages` newest 50 against bare-read (SQLite) or bare-pg-read.
pub async fn get(ctx: &Ctx, db: Db) -> anyhow::Result<Compared> {
    let ceiling = match db {
        Db::Sqlite => "bare-read",
        Db::Postgres => "bare-pg-read",
    };
    let total = ctx.plan.messages;
    let (points, seconds) = on_fresh_pair(ctx, db, "get", ceiling, async |guildhall, bare| {
        let (users, space) = product_fixture(ctx, guildhall).await?;
        let (users, space) = (Arc::new(users), Arc::new(space));
        let seed = post_call(users.clone(), space.clone());
        let seconds = run_count(guildhall.addr, total, 64, seed).await?;
        eprintln!("  seeded {total} messages in {seconds:.1} s");
        let make: MakeCall = Arc::new(move |w, i| {
            let channel = &space.channels[(w + i as usize) % space.channels.len()];
            let user = &users[w % users.len()];
            Call::get(
                format!("/messages?channel_id={channel}&limit=50"),
                Some(&user.token),
            )
        });
        let channels = ctx.plan.channels;
        let bare_make: MakeCall = Arc::new(move |w, i| {
            let channel = (w + i as usize) % channels + 1;
            Call::get(format!("/messages?channel_id={channel}&limit=50"), None)
        });
        let points = compare(ctx, guildhall, make, bare, bare_make).await?;
        anyhow::Ok((points, seconds))
    })
    .await?;
    Ok(Compared {
        db,
        ceiling: ceiling.to_string(),
        points,
        seeded: Some((total, total as f64 / seconds)),
    })
}
