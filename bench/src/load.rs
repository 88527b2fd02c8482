//! Load shapes: a closed loop (N connections, each sending its next request
//! when the last is answered), a fixed amount of work as fast as it goes
//! (seeding), and an open loop at a steady rate (posting for fan-out).
//! Latencies go into HDR histograms in microseconds.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::clock::now_us;
use crate::http::{Call, HttpConn};
use crate::procs::{Server, cores};

/// Builds the request a worker sends next: `(worker, request number)`.
pub type MakeCall = Arc<dyn Fn(usize, u64) -> Call + Send + Sync>;

/// Microseconds, 1 µs to 10 min, 2 significant digits (1 %): small enough
/// to keep one per connection.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 2).expect("valid histogram bounds")
}

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct Latency {
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    pub fn of(h: &Histogram<u64>) -> Self {
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            count: h.len(),
            p50_ms: ms(h.value_at_quantile(0.50)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
        }
    }
}

/// Warm-up (not recorded) then the measured window.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub warmup: Duration,
    pub duration: Duration,
}

/// One closed-loop run against one server.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LoadResult {
    pub concurrency: usize,
    pub requests: u64,
    pub errors: u64,
    pub per_sec: f64,
    pub latency: Latency,
    /// Server CPU time over wall time in the measured window.
    pub server_cores: f64,
    pub first_error: Option<String>,
}

struct WorkerTally {
    hist: Histogram<u64>,
    errors: u64,
    first_error: Option<String>,
}

/// Reads the server's CPU over the measured window while `work` runs;
/// `work` must stop on its own at `end`.
pub async fn measured<F, T>(server: &Server, from: Instant, end: Instant, work: F) -> (T, f64)
where
    F: Future<Output = T>,
{
    let cpu = async {
        tokio::time::sleep_until(from.into()).await;
        let before = server.cpu();
        tokio::time::sleep_until(end.into()).await;
        (before, server.cpu())
    };
    let (out, (before, after)) = tokio::join!(work, cpu);
    (out, cores(before, after, end - from))
}

/// `concurrency` keep-alive connections in a closed loop.
pub async fn closed_loop(
    server: &Server,
    concurrency: usize,
    timing: Timing,
    make: MakeCall,
) -> anyhow::Result<LoadResult> {
    let mut conns = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        conns.push(HttpConn::connect(server.addr).await?);
    }
    let from = Instant::now() + timing.warmup;
    let end = from + timing.duration;
    let workers = conns.into_iter().enumerate().map(|(w, conn)| {
        let make = make.clone();
        tokio::spawn(http_worker(conn, w, from, end, make))
    });
    let workers: Vec<_> = workers.collect();
    let (tallies, server_cores) = measured(server, from, end, async {
        let mut out = Vec::new();
        for w in workers {
            out.push(w.await);
        }
        out
    })
    .await;
    let mut result = LoadResult {
        concurrency,
        server_cores,
        ..Default::default()
    };
    let mut hist = histogram();
    for tally in tallies {
        let tally = tally.context("load worker panicked")?;
        hist.add(&tally.hist)?;
        result.errors += tally.errors;
        result.first_error = result.first_error.or(tally.first_error);
    }
    result.requests = hist.len();
    result.per_sec = hist.len() as f64 / timing.duration.as_secs_f64();
    result.latency = Latency::of(&hist);
    Ok(result)
}

async fn http_worker(
    mut conn: HttpConn,
    worker: usize,
    from: Instant,
    end: Instant,
    make: MakeCall,
) -> WorkerTally {
    let mut tally = WorkerTally {
        hist: histogram(),
        errors: 0,
        first_error: None,
    };
    for i in 0.. {
        let call = make(worker, i);
        let sent = Instant::now();
        if sent >= end {
            break;
        }
        let outcome = conn.send(&call).await;
        let done = Instant::now();
        let counted = sent >= from && done <= end;
        match outcome {
            Ok((status, _)) if status.is_success() => {
                if counted {
                    let _ = tally.hist.record((done - sent).as_micros() as u64);
                }
            }
            Ok((status, body)) => {
                if counted {
                    tally.errors += 1;
                }
                tally
                    .first_error
                    .get_or_insert_with(|| format!("{status}: {}", String::from_utf8_lossy(&body)));
            }
            Err(e) => {
                if counted {
                    tally.errors += 1;
                }
                tally.first_error.get_or_insert_with(|| format!("{e:#}"));
                match HttpConn::connect(conn.addr()).await {
                    Ok(fresh) => conn = fresh,
                    Err(_) => break,
                }
            }
        }
    }
    tally
}

/// Sends `total` requests over `concurrency` connections as fast as they
/// go (seeding); returns the seconds it took. Any failure is an error.
pub async fn run_count(
    addr: SocketAddr,
    total: u64,
    concurrency: usize,
    make: MakeCall,
) -> anyhow::Result<f64> {
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let next = next.clone();
        let make = make.clone();
        workers.push(tokio::spawn(async move {
            let mut conn = HttpConn::connect(addr).await?;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return anyhow::Ok(());
                }
                conn.json(&make(w, i)).await?;
            }
        }));
    }
    for w in workers {
        w.await??;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// One message of a steady-rate run.
#[derive(Clone, Copy, Debug)]
pub struct Posted {
    pub seq: u64,
    /// When the request was sent, on `clock::now_us`.
    pub sent_us: u64,
    pub ok: bool,
}

pub struct SteadyRun {
    pub posted: Vec<Posted>,
    pub post_latency: Latency,
    pub first_error: Option<String>,
}

/// Posts at `rate` per second for `duration` over `conns` connections (an
/// open loop: a slow answer does not slow the schedule). `make(seq)` is
/// called at send time, so a stamp in it is the send time.
pub async fn post_steady(
    addr: SocketAddr,
    rate: f64,
    duration: Duration,
    conns: usize,
    make: Arc<dyn Fn(u64) -> Call + Send + Sync>,
) -> anyhow::Result<SteadyRun> {
    let mut senders = Vec::new();
    let mut workers = Vec::new();
    for _ in 0..conns {
        let (tx, mut rx) = mpsc::unbounded_channel::<u64>();
        let mut conn = HttpConn::connect(addr).await?;
        let make = make.clone();
        senders.push(tx);
        workers.push(tokio::spawn(async move {
            let mut posted = Vec::new();
            let mut hist = histogram();
            let mut first_error = None;
            while let Some(seq) = rx.recv().await {
                let sent = Instant::now();
                let sent_us = now_us();
                let call = make(seq);
                let ok = match conn.send(&call).await {
                    Ok((status, body)) => {
                        if !status.is_success() && first_error.is_none() {
                            first_error =
                                Some(format!("{status}: {}", String::from_utf8_lossy(&body)));
                        }
                        status.is_success()
                    }
                    Err(e) => {
                        first_error.get_or_insert(format!("{e:#}"));
                        if let Ok(fresh) = HttpConn::connect(addr).await {
                            conn = fresh;
                        }
                        false
                    }
                };
                if ok {
                    let _ = hist.record(sent.elapsed().as_micros() as u64);
                }
                posted.push(Posted { seq, sent_us, ok });
            }
            (posted, hist, first_error)
        }));
    }
    let total = (rate * duration.as_secs_f64()).round().max(1.0) as u64;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for seq in 0..total {
        ticker.tick().await;
        let _ = senders[seq as usize % conns].send(seq);
    }
    drop(senders);
    let mut posted = Vec::new();
    let mut hist = histogram();
    let mut first_error = None;
    for w in workers {
        let (p, h, e) = w.await?;
        posted.extend(p);
        hist.add(&h)?;
        first_error = first_error.or(e);
    }
    posted.sort_by_key(|p| p.seq);
    Ok(SteadyRun {
        posted,
        post_latency: Latency::of(&hist),
        first_error,
    })
}
