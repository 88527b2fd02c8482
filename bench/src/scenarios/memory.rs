//! Memory per idle socket: a fresh server with one account; RSS idle, then
//! with `--memory-sockets` sockets open (default 10,000 then 19,500, all
//! of that account, each answering heartbeats and nothing else), read
//! after the connect traffic has passed. Against bare-broadcast with the
//! same sockets in one room. The per-process file limit (raised to the
//! hard limit, 20,000 here) caps the count.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Ctx, Db, START_PATIENCE};
use crate::fixture;
use crate::procs::Server;
use crate::socket::Crowd;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MemoryPoint {
    pub sockets: usize,
    pub guildhall_rss: u64,
    pub bare_rss: u64,
}

impl MemoryPoint {
    /// RSS per socket above idle: Guildhall's, bare-broadcast's.
    pub fn per_socket(&self, memory: &Memory) -> (f64, f64) {
        let n = self.sockets.max(1) as f64;
        (
            self.guildhall_rss.saturating_sub(memory.guildhall_idle) as f64 / n,
            self.bare_rss.saturating_sub(memory.bare_idle) as f64 / n,
        )
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Memory {
    pub guildhall_idle: u64,
    pub bare_idle: u64,
    pub points: Vec<MemoryPoint>,
}

pub async fn memory(ctx: &Ctx) -> anyhow::Result<Memory> {
    let mut counts = ctx.plan.memory_sockets.clone();
    counts.sort_unstable();
    let db = ctx.fresh_db(Db::Sqlite, "memory").await?;
    let guildhall = ctx
        .guildhall(&db.url, "memory")
        .start(START_PATIENCE)
        .await?;
    let account = fixture::accounts(guildhall.addr, "mem", 1, 1)
        .await?
        .remove(0);
    let auth = json!({"token": account.token});
    let (guildhall_idle, guildhall_rss) = rss_at(ctx, &guildhall, &counts, &auth).await?;
    guildhall.stop().await?;
    db.remove().await?;

    let bare = ctx
        .bare("bare-broadcast", None, "memory")
        .start(START_PATIENCE)
        .await?;
    let (bare_idle, bare_rss) = rss_at(ctx, &bare, &counts, &json!({"room": "all"})).await?;
    bare.stop().await?;
    let points = counts
        .iter()
        .zip(guildhall_rss.into_iter().zip(bare_rss))
        .map(|(&sockets, (guildhall_rss, bare_rss))| MemoryPoint {
            sockets,
            guildhall_rss,
            bare_rss,
        })
        .collect();
    Ok(Memory {
        guildhall_idle,
        bare_idle,
        points,
    })
}

/// Idle RSS, then RSS with each count of idle sockets open.
async fn rss_at(
    ctx: &Ctx,
    server: &Server,
    counts: &[usize],
    auth: &Value,
) -> anyhow::Result<(u64, Vec<u64>)> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = server.rss();
    let mut crowds: Vec<Crowd> = Vec::new();
    let mut open = 0;
    let mut rss = Vec::new();
    for &count in counts {
        let more = count.saturating_sub(open);
        let crowd = Crowd::spawn(
            server.addr,
            vec![auth.clone(); more],
            ctx.plan.connect_parallel,
        );
        crowd.connected(Duration::from_secs(300)).await?;
        crowds.push(crowd);
        open = count;
        for crowd in &crowds {
            crowd
                .quiet(Duration::from_secs(1), Duration::from_secs(60))
                .await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        rss.push(server.rss());
        eprintln!(
            "  {}: {count} sockets, RSS {} MiB",
            server.name,
            rss.last().unwrap_or(&0) >> 20
        );
    }
    for crowd in crowds {
        crowd.finish().await;
    }
    Ok((idle, rss))
}
