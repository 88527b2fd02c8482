//! A minimal Socket.IO v5 client over a raw WebSocket (Engine.IO v4), cheap
//! enough for tens of thousands in one process: 4 KiB read buffer, no
//! JSON parsing of deliveries (`clock::read_stamp` finds the stamp), and
//! per socket only the sequence numbers and latencies it received.
//!
//! A `Crowd` is a set of listening sockets, one task each, stopped together.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::clock::{now_us, read_stamp, stamp};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a connect may take before it counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

pub struct SocketConn {
    ws: Ws,
    next_ack: u64,
    /// When the server confirmed the connection (`40`), on `clock::now_us`.
    pub connected_us: u64,
    /// From opening the TCP connection to that confirmation.
    pub connect_us: u64,
}

impl SocketConn {
    /// Opens the WebSocket and joins the default namespace with `auth`.
    pub async fn connect(addr: SocketAddr, auth: &Value) -> anyhow::Result<Self> {
        let started = now_us();
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        let config = WebSocketConfig::default()
            .read_buffer_size(4096)
            .write_buffer_size(0);
        let (ws, _) = tokio::time::timeout(
            CONNECT_TIMEOUT,
            tokio_tungstenite::connect_async_with_config(url, Some(config), true),
        )
        .await
        .context("websocket open timed out")??;
        let mut conn = Self {
            ws,
            next_ack: 1,
            connected_us: 0,
            connect_us: 0,
        };
        let open = conn.next_text().await?;
        if !open.starts_with('0') {
            bail!("expected the Engine.IO open packet, got {open}");
        }
        conn.send(format!("40{auth}")).await?;
        loop {
            let packet = conn.next_text().await?;
            if packet.starts_with("40") {
                conn.connected_us = now_us();
                conn.connect_us = conn.connected_us - started;
                return Ok(conn);
            }
            if packet.starts_with("44") {
                bail!("connection refused: {packet}");
            }
        }
    }

    async fn send(&mut self, packet: String) -> anyhow::Result<()> {
        self.ws.send(Frame::text(packet)).await?;
        Ok(())
    }

    /// The next text packet, answering heartbeats on the way.
    async fn next_text(&mut self) -> anyhow::Result<String> {
        loop {
            let frame = tokio::time::timeout(CONNECT_TIMEOUT, self.ws.next())
                .await
                .context("socket silent")?
                .context("socket closed")??;
            match frame {
                Frame::Text(text) if text.as_str() == "2" => self.send("3".into()).await?,
                Frame::Text(text) => return Ok(text.to_string()),
                Frame::Close(_) => bail!("socket closed"),
                _ => {}
            }
        }
    }

    /// Emits `chat` with an ack id and waits for the ack; `Ok(false)` when
    /// the ack is an error.
    pub async fn chat(&mut self, channel_id: &str, seq: u64) -> anyhow::Result<bool> {
        let id = self.next_ack;
        self.next_ack += 1;
        let data = json!({"channel_id": channel_id, "content": stamp(seq)});
        self.send(format!("42{id}{}", json!(["chat", data])))
            .await?;
        let prefix = format!("43{id}");
        loop {
            let packet = self.next_text().await?;
            if let Some(rest) = packet.strip_prefix(&prefix) {
                return Ok(rest.starts_with("[{\"message\""));
            }
        }
    }

    /// Listens until `stop`, tallying what arrives.
    async fn listen(mut self, mut stop: watch::Receiver<bool>, counters: Arc<Counters>) -> Tally {
        let mut tally = Tally {
            connected_us: self.connected_us,
            connect_us: self.connect_us,
            ..Tally::default()
        };
        loop {
            let frame = tokio::select! {
                frame = self.ws.next() => frame,
                _ = stop.changed() => break,
            };
            let text = match frame {
                Some(Ok(Frame::Text(text))) => text,
                Some(Ok(Frame::Close(_))) | Some(Err(_)) | None => {
                    tally.closed = true;
                    break;
                }
                Some(Ok(_)) => continue,
            };
            let packet = text.as_str();
            if packet == "2" {
                let _ = self.ws.send(Frame::text("3")).await;
                continue;
            }
            counters.packets.fetch_add(1, Ordering::Relaxed);
            if packet.starts_with("42[\"message_create\"") {
                if let Some((seq, sent_us)) = read_stamp(packet) {
                    let now = now_us();
                    tally.seqs.push(seq as u32);
                    tally.latencies_us.push(now.saturating_sub(sent_us) as u32);
                    tally.last_us = now;
                    counters.deliveries.fetch_add(1, Ordering::Relaxed);
                }
            } else if packet.starts_with("42[\"presence_updates\"") {
                tally.presence += 1;
            } else if packet == "41" {
                tally.closed = true;
                break;
            }
        }
        let _ = self.ws.close(None).await;
        tally
    }
}

/// What one listening socket saw.
#[derive(Debug, Default)]
pub struct Tally {
    pub connected_us: u64,
    pub connect_us: u64,
    pub seqs: Vec<u32>,
    pub latencies_us: Vec<u32>,
    /// When the last message arrived.
    pub last_us: u64,
    pub presence: u64,
    /// The server closed the socket before the end.
    pub closed: bool,
}

/// Live counts over a whole crowd, for waiting on it.
#[derive(Default)]
pub struct Counters {
    pub connected: AtomicU64,
    pub failed: AtomicU64,
    pub packets: AtomicU64,
    pub deliveries: AtomicU64,
}

pub struct Crowd {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<anyhow::Result<Tally>>>,
    pub counters: Arc<Counters>,
}

impl Crowd {
    /// Connects one listening socket per `auth`, at most `parallel`
    /// handshakes in flight at once.
    pub fn spawn(addr: SocketAddr, auths: Vec<Value>, parallel: usize) -> Self {
        let (stop, stopped) = watch::channel(false);
        let counters = Arc::new(Counters::default());
        let gate = Arc::new(Semaphore::new(parallel.max(1)));
        let tasks = auths
            .into_iter()
            .map(|auth| {
                let stopped = stopped.clone();
                let counters = counters.clone();
                let gate = gate.clone();
                tokio::spawn(async move {
                    let permit = gate.acquire_owned().await?;
                    let conn = match SocketConn::connect(addr, &auth).await {
                        Ok(conn) => conn,
                        Err(e) => {
                            counters.failed.fetch_add(1, Ordering::Relaxed);
                            return Err(e);
                        }
                    };
                    drop(permit);
                    counters.connected.fetch_add(1, Ordering::Relaxed);
                    Ok(conn.listen(stopped, counters).await)
                })
            })
            .collect();
        Self {
            stop,
            tasks,
            counters,
        }
    }

    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Waits until every socket has connected or failed; errors if any failed.
    pub async fn connected(&self, patience: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + patience;
        loop {
            let ok = self.counters.connected.load(Ordering::Relaxed);
            let failed = self.counters.failed.load(Ordering::Relaxed);
            if failed > 0 {
                bail!("{failed} of {} sockets failed to connect", self.len());
            }
            if ok as usize == self.len() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "only {ok} of {} sockets connected in {patience:?}",
                    self.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until no packet has arrived for `quiet` (the presence and
    /// `ready` traffic of connecting has passed), at most `patience`.
    pub async fn quiet(&self, quiet: Duration, patience: Duration) {
        settle(&self.counters.packets, u64::MAX, quiet, patience).await;
    }

    /// Waits until `expected` deliveries have arrived, or none has for
    /// `quiet`, at most `patience`.
    pub async fn delivered(&self, expected: u64, quiet: Duration, patience: Duration) {
        settle(&self.counters.deliveries, expected, quiet, patience).await;
    }

    /// Stops every socket and returns what each saw (`Err` for a socket
    /// that never connected).
    pub async fn finish(self) -> Vec<anyhow::Result<Tally>> {
        let _ = self.stop.send(true);
        let mut out = Vec::with_capacity(self.tasks.len());
        for task in self.tasks {
            out.push(task.await.map_err(anyhow::Error::from).and_then(|r| r));
        }
        out
    }
}

/// Waits until `counter` reaches `enough`, or stays still for `quiet`, at
/// most `patience`.
async fn settle(counter: &AtomicU64, enough: u64, quiet: Duration, patience: Duration) {
    let deadline = Instant::now() + patience;
    let mut last = counter.load(Ordering::Relaxed);
    let mut since = Instant::now();
    while last < enough && Instant::now() < deadline && since.elapsed() < quiet {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = counter.load(Ordering::Relaxed);
        if now != last {
            last = now;
            since = Instant::now();
        }
    }
}

/// Adds a tally's latencies to a histogram.
pub fn record_latencies(hist: &mut Histogram<u64>, tally: &Tally) {
    for &us in &tally.latencies_us {
        let _ = hist.record(u64::from(us).max(1));
    }
}
