//! The server's Prometheus metrics: the recorder, the handles the hot paths
//! record into, and the text `/metrics` renders (names and labels are
//! listed in docs/deploy.md).
//!
//! Each `AppState` has its own recorder rather than the process-global
//! one, so that several servers in one process (the tests, an embedding)
//! count apart. Handles are registered once and kept: recording is then an
//! atomic add or a push, with no key to build, hash or allocate. Histogram
//! samples pile up until drained, which `/metrics` and `run_upkeep` do.
//!
//! This module records and renders; it knows no transport and decides
//! nothing. Who records what: `http::ops` (requests), `realtime` (sockets),
//! `realtime::fanout` (events and dropped sockets), `domain::message_writer`
//! (group commits), `cluster::relay` (Redis round trips, reconnects and
//! resyncs); the pool gauges are sampled when `/metrics` renders.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Key, Label, Level, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

use crate::store::PoolStats;

pub const HTTP_REQUESTS: &str = "guildhall_http_requests_total";
pub const HTTP_DURATION: &str = "guildhall_http_request_duration_seconds";
pub const SOCKETS_CONNECTED: &str = "guildhall_sockets_connected";
pub const FANOUT_EVENTS: &str = "guildhall_fanout_events_total";
pub const FANOUT_DROPPED: &str = "guildhall_fanout_sockets_dropped_total";
pub const MESSAGE_BATCH_SIZE: &str = "guildhall_message_batch_size";
pub const MESSAGE_COMMIT: &str = "guildhall_message_commit_duration_seconds";
pub const DB_POOL_CONNECTIONS: &str = "guildhall_db_pool_connections";
pub const DB_POOL_IDLE: &str = "guildhall_db_pool_idle_connections";
pub const RELAY_PUBLISH: &str = "guildhall_redis_publish_duration_seconds";
pub const RELAY_PUBLISH_FAILED: &str = "guildhall_redis_publish_failures_total";
pub const RELAY_SUBSCRIBED: &str = "guildhall_redis_subscriptions_total";
pub const RELAY_RESYNCS: &str = "guildhall_relay_resyncs_total";

/// Seconds: from well under a millisecond (a cached read) to the API's
/// 30 s request timeout.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Messages per group commit, up to the writer's largest batch (1024).
const BATCH_BUCKETS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];

/// How often histogram samples must be drained when nobody scrapes.
pub const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// The handles of one (route, method, status).
#[derive(Clone)]
struct RequestHandles {
    count: Counter,
    duration: Histogram,
}

/// Request handles by route template, then by method and status.
type RequestTable = HashMap<Box<str>, HashMap<(&'static str, u16), RequestHandles>>;

/// A process's metrics; see the module comment.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    requests: RwLock<RequestTable>,
    /// Sockets authenticated and counted, on this node.
    pub sockets_connected: Gauge,
}

/// What the group-commit writer records.
#[derive(Clone)]
pub struct WriterMetrics {
    pub batch_size: Histogram,
    pub commit_seconds: Histogram,
}

/// What the relay between nodes records (several nodes only).
#[derive(Clone)]
pub struct RelayMetrics {
    /// Round trip of one publish to Redis (a batch's events, or a heartbeat).
    pub publish_seconds: Histogram,
    pub publish_failed: Counter,
    /// Subscriptions to the events channel made: the first, then one per
    /// reconnect.
    pub subscribed: Counter,
    /// Resynchronisations: events were missed (a gap in a publisher's
    /// numbers) or the subscription was lost.
    pub resync_gap: Counter,
    pub resync_lost: Counter,
}

/// What the fan-out records. Its task owns this, so the per-event counters
/// need no lock.
pub struct FanoutMetrics {
    metrics: std::sync::Arc<Metrics>,
    events: HashMap<&'static str, Counter>,
    /// Sockets cut off because their send queue was full.
    pub dropped_slow: Counter,
    /// Sockets disconnected because the fan-out fell behind the bus.
    pub dropped_lagged: Counter,
}

impl FanoutMetrics {
    /// Counts one event of kind `name` delivered.
    pub fn delivered(&mut self, name: &'static str) {
        let metrics = &self.metrics;
        self.events
            .entry(name)
            .or_insert_with(|| metrics.counter(FANOUT_EVENTS, &[("event", name)]))
            .increment(1);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), LATENCY_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full(MESSAGE_COMMIT.into()), LATENCY_BUCKETS)
            })
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full(MESSAGE_BATCH_SIZE.into()), BATCH_BUCKETS)
            })
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full(RELAY_PUBLISH.into()), LATENCY_BUCKETS)
            })
            // Only an empty bucket list fails, and none of ours is empty.
            .unwrap_or_default()
            .build_recorder();
        describe(&recorder);
        let handle = recorder.handle();
        let sockets_connected =
            recorder.register_gauge(&Key::from_name(SOCKETS_CONNECTED), &METADATA);
        // Present from the start, so that a scrape shows zero, not nothing.
        sockets_connected.set(0.0);
        Self {
            recorder,
            handle,
            requests: RwLock::default(),
            sockets_connected,
        }
    }

    fn counter(&self, name: &'static str, labels: &[(&'static str, &str)]) -> Counter {
        self.recorder
            .register_counter(&key(name, labels), &METADATA)
    }

    fn histogram(&self, name: &'static str, labels: &[(&'static str, &str)]) -> Histogram {
        self.recorder
            .register_histogram(&key(name, labels), &METADATA)
    }

    fn gauge(&self, name: &'static str, labels: &[(&'static str, &str)]) -> Gauge {
        self.recorder.register_gauge(&key(name, labels), &METADATA)
    }

    /// Counts and times one answered request. `route` is the matched
    /// route's template (never the raw path: ids would make a series per
    /// object), `None` for unmatched requests; `method` one of a fixed set.
    pub fn record_request(
        &self,
        route: Option<&str>,
        method: &'static str,
        status: u16,
        elapsed: Duration,
    ) {
        let route = route.unwrap_or("unmatched");
        let found = {
            let table = self.requests.read().unwrap_or_else(|e| e.into_inner());
            table
                .get(route)
                .and_then(|by_answer| by_answer.get(&(method, status)))
                .cloned()
        };
        let handles = found.unwrap_or_else(|| self.register_request(route, method, status));
        handles.count.increment(1);
        handles.duration.record(elapsed.as_secs_f64());
    }

    /// The first request of its kind registers its series.
    #[cold]
    fn register_request(&self, route: &str, method: &'static str, status: u16) -> RequestHandles {
        let mut table = self.requests.write().unwrap_or_else(|e| e.into_inner());
        let status_label = status.to_string();
        let labels = [
            ("route", route),
            ("method", method),
            ("status", status_label.as_str()),
        ];
        table
            .entry(route.into())
            .or_default()
            .entry((method, status))
            .or_insert_with(|| RequestHandles {
                count: self.counter(HTTP_REQUESTS, &labels),
                duration: self.histogram(HTTP_DURATION, &labels),
            })
            .clone()
    }

    pub fn writer(&self) -> WriterMetrics {
        WriterMetrics {
            batch_size: self.histogram(MESSAGE_BATCH_SIZE, &[]),
            commit_seconds: self.histogram(MESSAGE_COMMIT, &[]),
        }
    }

    pub fn relay(&self) -> RelayMetrics {
        RelayMetrics {
            publish_seconds: self.histogram(RELAY_PUBLISH, &[]),
            publish_failed: self.counter(RELAY_PUBLISH_FAILED, &[]),
            subscribed: self.counter(RELAY_SUBSCRIBED, &[]),
            resync_gap: self.counter(RELAY_RESYNCS, &[("reason", "gap")]),
            resync_lost: self.counter(RELAY_RESYNCS, &[("reason", "subscription_lost")]),
        }
    }

    pub fn fanout(self: &std::sync::Arc<Self>) -> FanoutMetrics {
        FanoutMetrics {
            metrics: self.clone(),
            events: HashMap::new(),
            dropped_slow: self.counter(FANOUT_DROPPED, &[("reason", "send_queue_full")]),
            dropped_lagged: self.counter(FANOUT_DROPPED, &[("reason", "fanout_lagged")]),
        }
    }

    /// Every metric in Prometheus' text format, the pool gauges set from
    /// `pools` first.
    pub fn render(&self, pools: &[PoolStats]) -> String {
        for pool in pools {
            let labels = [("pool", pool.name)];
            self.gauge(DB_POOL_CONNECTIONS, &labels)
                .set(f64::from(pool.size));
            self.gauge(DB_POOL_IDLE, &labels).set(pool.idle as f64);
        }
        self.handle.render()
    }

    /// Drains histogram samples; see `UPKEEP_EVERY`.
    pub fn run_upkeep(&self) {
        self.handle.run_upkeep();
    }
}

fn key(name: &'static str, labels: &[(&'static str, &str)]) -> Key {
    let labels: Vec<Label> = labels
        .iter()
        .map(|(k, v)| Label::new(*k, v.to_string()))
        .collect();
    Key::from_parts(name, labels)
}

/// The HELP lines.
fn describe(recorder: &PrometheusRecorder) {
    let counters = [
        (
            HTTP_REQUESTS,
            "HTTP requests answered, by route template, method and status",
        ),
        (
            FANOUT_EVENTS,
            "Events delivered to sockets by the real-time fan-out, by event",
        ),
        (
            RELAY_PUBLISH_FAILED,
            "Publishes to Redis that failed or timed out (their events count as missed by the other nodes)",
        ),
        (
            RELAY_SUBSCRIBED,
            "Subscriptions to the nodes' events channel: the first, then one per reconnect",
        ),
        (
            RELAY_RESYNCS,
            "Times this node dropped its caches and sockets because events from other nodes were missed, by reason",
        ),
        (
            FANOUT_DROPPED,
            "Sockets the fan-out disconnected so that they resync: their send queue was full, or the fan-out fell behind",
        ),
    ];
    for (name, help) in counters {
        recorder.describe_counter(name.into(), Some(Unit::Count), help.into());
    }
    let gauges = [
        (SOCKETS_CONNECTED, "Authenticated sockets open on this node"),
        (DB_POOL_CONNECTIONS, "Open database connections, by pool"),
        (DB_POOL_IDLE, "Idle database connections, by pool"),
    ];
    for (name, help) in gauges {
        recorder.describe_gauge(name.into(), Some(Unit::Count), help.into());
    }
    let histograms = [
        (
            HTTP_DURATION,
            Unit::Seconds,
            "Time to answer an HTTP request",
        ),
        (
            MESSAGE_BATCH_SIZE,
            Unit::Count,
            "Messages committed per group commit",
        ),
        (
            MESSAGE_COMMIT,
            Unit::Seconds,
            "Time to commit one group of messages",
        ),
        (
            RELAY_PUBLISH,
            Unit::Seconds,
            "Round trip of one publish of events to Redis",
        ),
    ];
    for (name, unit, help) in histograms {
        recorder.describe_histogram(name.into(), Some(unit), help.into());
    }
}
