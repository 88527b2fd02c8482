//! Events between nodes. On several nodes every event a node makes goes
//! to every node, through one Redis pub/sub channel
//! (`{prefix}:events`), and each node delivers it to its own sockets and
//! applies it to its own caches. A node's sockets get events only through
//! that channel, its own included, so all nodes see one order per
//! publisher, and the message writer publishes a batch before it lets the
//! next batch of the same channel commit (`domain::message_writer`): per
//! channel, delivery order is commit order on every node.
//!
//! Why not socketioxide's Redis adapter: it broadcasts Socket.IO packets,
//! so the caches (sessions, memberships, recent messages) of the other
//! nodes would still need the events; and its redis driver (0.4) drops a
//! message when its queue is full with only a log line, and does not
//! subscribe again after a reconnect. Either would be a silent loss.
//!
//! Losses are never silent here. Each publisher numbers its messages and
//! sends a heartbeat every `HEARTBEAT`; a receiver that sees a number
//! skipped, or hears nothing (not even its own heartbeat) for
//! `SILENCE`, has missed events that may have taken rights away: it
//! forgets its caches, disconnects its sockets (clients reconnect and
//! catch up) and refuses new ones until it hears itself again.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::cluster::Redis;
use crate::events::{Envelope, EventBus};
use crate::telemetry::RelayMetrics;

/// How often a node says it is alive on the channel.
const HEARTBEAT: Duration = Duration::from_millis(500);
/// Hearing nothing for this long means the subscription is dead.
const SILENCE: Duration = Duration::from_secs(3);
/// How long a publish may take before the event is counted lost.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(1);
/// A publisher unheard of for this long is forgotten.
const FORGET_PUBLISHER: Duration = Duration::from_secs(60);

#[derive(Serialize)]
struct Outgoing<'a> {
    node: &'a str,
    seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    envelope: Option<&'a Envelope>,
}

#[derive(Deserialize)]
struct Incoming {
    node: String,
    seq: u64,
    /// `None`: a heartbeat, carrying the number of the last event sent.
    envelope: Option<Envelope>,
}

/// Publishes this node's events, numbered, in order. Shared by the
/// message writer (which publishes its batches itself, in commit order)
/// and the task that relays every other event.
pub struct Publisher {
    redis: Redis,
    channel: String,
    node: String,
    /// The number of the last event published (or lost).
    seq: Mutex<u64>,
    /// Whether this node hears the channel (its own heartbeats): sockets
    /// are refused while it does not.
    live: AtomicBool,
    metrics: RelayMetrics,
}

impl Publisher {
    pub fn new(redis: Redis, metrics: RelayMetrics) -> Arc<Self> {
        Arc::new(Self {
            metrics,
            channel: redis.key("events"),
            node: format!("{:032x}", rand::random::<u128>()),
            redis,
            seq: Mutex::new(0),
            live: AtomicBool::new(false),
        })
    }

    /// True while events from every node reach this one.
    pub fn live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    /// Publishes `envelopes` in order, in one round trip. Those Redis does
    /// not take in time are lost, but their numbers are spent, so every
    /// receiver sees the gap and resynchronises.
    pub async fn publish(&self, envelopes: &[&Envelope]) {
        let mut seq = self.seq.lock().await;
        let mut pipe = redis::pipe();
        for envelope in envelopes {
            *seq += 1;
            if let Some(body) = self.encode(*seq, Some(envelope)) {
                pipe.cmd("PUBLISH").arg(&self.channel).arg(body).ignore();
            }
        }
        self.send(pipe, *seq).await;
    }

    async fn heartbeat(&self) {
        let seq = self.seq.lock().await;
        let mut pipe = redis::pipe();
        if let Some(body) = self.encode(*seq, None) {
            pipe.cmd("PUBLISH").arg(&self.channel).arg(body).ignore();
        }
        self.send(pipe, *seq).await;
    }

    fn encode(&self, seq: u64, envelope: Option<&Envelope>) -> Option<Vec<u8>> {
        serde_json::to_vec(&Outgoing {
            node: &self.node,
            seq,
            envelope,
        })
        .inspect_err(|e| tracing::error!(error = %e, "event not encoded for the other nodes"))
        .ok()
    }

    async fn send(&self, pipe: redis::Pipeline, seq: u64) {
        let started = Instant::now();
        let sent = tokio::time::timeout(
            PUBLISH_TIMEOUT,
            pipe.query_async::<()>(&mut self.redis.conn()),
        )
        .await;
        match sent {
            Ok(Ok(())) => {
                self.metrics
                    .publish_seconds
                    .record(started.elapsed().as_secs_f64());
                return;
            }
            Ok(Err(e)) => tracing::warn!(error = %e, seq, "events not relayed to the other nodes"),
            Err(_) => tracing::warn!(seq, "events not relayed to the other nodes in time"),
        }
        self.metrics.publish_failed.increment(1);
    }
}

/// What a node does with what it hears.
pub struct Receiver {
    /// Where events go to be delivered to this node's sockets.
    pub deliveries: EventBus,
    /// Applies another node's event to this node's caches.
    pub apply: Box<dyn Fn(&Envelope) + Send + Sync>,
    /// Events were missed: forget the caches, disconnect every socket.
    pub resync: Box<dyn Fn() + Send + Sync>,
}

/// Runs the relay: publishes this node's events from `events` (all but the
/// message writer's, which it publishes itself), heartbeats, and hears
/// every node's, until the process ends.
pub async fn run(publisher: Arc<Publisher>, events: EventBus, receiver: Receiver) {
    tokio::spawn(relay_out(publisher.clone(), events));
    tokio::spawn(heartbeats(publisher.clone()));
    hear(publisher, receiver).await;
}

async fn relay_out(publisher: Arc<Publisher>, events: EventBus) {
    let mut events = events.subscribe();
    loop {
        match events.recv().await {
            Ok(envelope) => publisher.publish(&[&envelope]).await,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                // Spend their numbers: every receiver sees the gap.
                tracing::warn!(missed, "events lost before reaching the other nodes");
                *publisher.seq.lock().await += missed;
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
        }
    }
}

async fn heartbeats(publisher: Arc<Publisher>) {
    let mut tick = tokio::time::interval(HEARTBEAT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        publisher.heartbeat().await;
    }
}

/// Subscribes, and subscribes again after every loss, resynchronising.
async fn hear(publisher: Arc<Publisher>, receiver: Receiver) {
    let mut pause = Duration::from_millis(100);
    loop {
        match listen(&publisher, &receiver).await {
            Ok(()) => pause = Duration::from_millis(100),
            Err(e) => tracing::warn!(error = %e, "not subscribed to the other nodes' events"),
        }
        if publisher.live.swap(false, Ordering::AcqRel) {
            tracing::warn!("lost the other nodes' events: disconnecting sockets to resync");
            publisher.metrics.resync_lost.increment(1);
            (receiver.resync)();
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

/// One subscription, until it goes silent or breaks.
async fn listen(publisher: &Publisher, receiver: &Receiver) -> Result<(), redis::RedisError> {
    let mut pubsub = publisher.redis.client().get_async_pubsub().await?;
    pubsub.subscribe(&publisher.channel).await?;
    publisher.metrics.subscribed.increment(1);
    let mut messages = pubsub.on_message();
    let mut last_seen: HashMap<String, (u64, Instant)> = HashMap::new();
    let mut heard_self = Instant::now();
    loop {
        let wait = SILENCE.saturating_sub(heard_self.elapsed());
        let message = match tokio::time::timeout(wait, messages.next()).await {
            Ok(Some(message)) => message,
            Ok(None) => return Ok(()),
            Err(_) => {
                tracing::warn!("no heartbeat of this node's own heard back from Redis");
                return Ok(());
            }
        };
        let incoming: Incoming = match serde_json::from_slice(message.get_payload_bytes()) {
            Ok(incoming) => incoming,
            Err(e) => {
                tracing::error!(error = %e, "unreadable event from another node");
                continue;
            }
        };
        let own = incoming.node == publisher.node;
        if own {
            heard_self = Instant::now();
            if !publisher.live.swap(true, Ordering::AcqRel) {
                tracing::info!("hearing every node's events");
            }
        }
        let now = Instant::now();
        let expected = match last_seen.get(&incoming.node) {
            // First word from this publisher: nothing to compare with.
            None => None,
            Some((last, _)) => Some(if incoming.envelope.is_some() {
                last + 1
            } else {
                *last
            }),
        };
        if expected.is_some_and(|expected| expected != incoming.seq) {
            tracing::warn!(
                node = incoming.node,
                expected,
                got = incoming.seq,
                "events from another node were missed: disconnecting sockets to resync"
            );
            publisher.metrics.resync_gap.increment(1);
            (receiver.resync)();
        }
        last_seen.insert(incoming.node.clone(), (incoming.seq, now));
        if let Some(envelope) = incoming.envelope {
            if !own {
                (receiver.apply)(&envelope);
            }
            receiver.deliveries.publish_envelope(Arc::new(envelope));
        } else if last_seen.len() > 1 {
            last_seen.retain(|_, (_, at)| now.duration_since(*at) < FORGET_PUBLISHER);
        }
    }
}
