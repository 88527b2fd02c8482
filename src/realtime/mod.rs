//! The real-time gateway: Socket.IO (protocol v5 / Engine.IO v4, WebSocket
//! and long-polling) on the API's port at `/socket.io/`, default namespace.
//!
//! It authenticates a socket once at connect (the same sessions as REST),
//! puts it in rooms (its user's, its session's, one per server it is in),
//! answers client events by calling the same domain functions as REST, and
//! fans every domain event out to the rooms of those allowed to see it
//! (`fanout.rs`). Per socket it keeps ids and counters only, never copies
//! of a user's servers or channels. It makes no permission decision of its
//! own: those are `perms`' and the domain's.

pub mod fanout;
pub mod handlers;

use std::time::Duration;

use serde_json::Value;
use socketioxide::extract::{Extension, SocketRef, State, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;
use socketioxide::{ParserConfig, SocketIo};

use crate::auth::credentials::{choose_token, find_session_by_hash};
use crate::auth::token::hash_token;
use crate::auth::{Actor, Intent};
use crate::client_addr::ClientIp;
use crate::cluster::relay;
use crate::config::Config;
use crate::domain::{presence, ready};
use crate::events::{Envelope, Event, EventBus};
use crate::id::Snowflake;
use crate::limits::{Bucket, Caller};
use crate::state::AppState;

/// Packets queued for one socket before it counts as not reading; a socket
/// whose queue is full is dropped at its next heartbeat.
const MAX_QUEUED_PACKETS: usize = 256;
/// The largest packet a client may send (HTTP body or WebSocket message).
pub const MAX_PACKET_BYTES: usize = 64 * 1024;
/// Binary attachments tolerated in one packet.
const MAX_ATTACHMENTS: usize = 4;
/// Matches the idle WebSocket footprint measured for the benchmarks.
const WS_READ_BUFFER_BYTES: usize = 1024;

/// The gateway's handles: the tower layer to mount, the Socket.IO handle,
/// the fan-out task and the task that sends presence batches.
pub struct Gateway {
    pub layer: SocketIoLayer,
    pub io: SocketIo,
    fanout: tokio::task::JoinHandle<()>,
    presence: tokio::task::JoinHandle<()>,
}

impl Gateway {
    pub fn start(app: AppState, config: &Config) -> Self {
        let (layer, io) = SocketIo::builder()
            .with_state(app.clone())
            .max_buffer_size(MAX_QUEUED_PACKETS)
            .max_payload(MAX_PACKET_BYTES as u64)
            .ws_max_message_size(MAX_PACKET_BYTES)
            .ws_max_frame_size(MAX_PACKET_BYTES)
            .ws_read_buffer_size(WS_READ_BUFFER_BYTES)
            .ping_interval(Duration::from_secs(config.ping_interval_secs.max(1)))
            .ping_timeout(Duration::from_secs(config.ping_timeout_secs.max(1)))
            .connect_timeout(Duration::from_secs(10))
            // No Guildhall event carries binary attachments; a few small
            // ones are tolerated, anything more closes the connection.
            .with_parser(
                ParserConfig::common()
                    .max_incoming_binaries(MAX_ATTACHMENTS)
                    .max_incoming_binary_buf_size(MAX_PACKET_BYTES)
                    .packet_completion_timeout(Duration::from_secs(10)),
            )
            .build_layer();
        io.ns("/", on_connect.with(authenticate));
        let deliveries = match &app.relay {
            None => app.events.clone(),
            // On several nodes, sockets get every node's events, this
            // node's included, through the relay (`cluster::relay`).
            Some(publisher) => {
                let deliveries = EventBus::new(config.event_bus_capacity as usize);
                tokio::spawn(relay::run(
                    publisher.clone(),
                    app.events.clone(),
                    relay_receiver(&app, &io, deliveries.clone()),
                ));
                deliveries
            }
        };
        let fanout = tokio::spawn(fanout::run(io.clone(), deliveries, app.metrics.fanout()));
        let presence = tokio::spawn(presence::send_batches(app));
        Self {
            layer,
            io,
            fanout,
            presence,
        }
    }

    /// Stops the fan-out, then closes every socket. In that order: closing
    /// removes the namespace, and an event delivered after that (a socket's
    /// last presence update, say) would find no namespace to send to.
    pub async fn close(self) {
        self.presence.abort();
        self.fanout.abort();
        // Wait until it has really stopped (it may be mid-delivery on
        // another worker).
        let _ = self.fanout.await;
        self.io.close().await;
    }
}

/// What this node does with the events the relay hears: applies other
/// nodes' to its caches, delivers all, and resynchronises after a loss.
fn relay_receiver(app: &AppState, io: &SocketIo, deliveries: EventBus) -> relay::Receiver {
    let (store, sessions) = (app.store.clone(), app.sessions.clone());
    let apply = move |envelope: &Envelope| {
        store.apply_relayed(&envelope.event);
        match &envelope.event {
            Event::SessionsEnded { user_id, .. } | Event::UserDelete { id: user_id } => {
                sessions.forget_user(*user_id);
            }
            _ => {}
        }
    };
    let (store, sessions, io) = (app.store.clone(), app.sessions.clone(), io.clone());
    let shared_presence = app.shared_presence.clone();
    let dropped = app.metrics.fanout().dropped_lagged;
    let resync = move || {
        store.forget_cached();
        sessions.clear();
        // The sockets about to close may not be uncounted in Redis: a new
        // incarnation counts the next ones, and the old is swept.
        if let Some(shared) = &shared_presence {
            shared.reincarnate();
        }
        fanout::disconnect_all(&io, dropped.clone());
    };
    relay::Receiver {
        deliveries,
        apply: Box::new(apply),
        resync: Box::new(resync),
    }
}

pub fn user_room(id: Snowflake) -> String {
    format!("u:{id}")
}

pub fn server_room(id: Snowflake) -> String {
    format!("s:{id}")
}

pub fn session_room(id: Snowflake) -> String {
    format!("x:{id}")
}

/// Why a handshake is refused; the `connect_error` a client gets is
/// `{"message": "unauthorized" | "rate_limited" | "too_many_sockets"}`.
#[derive(Debug)]
pub enum Refused {
    Unauthorized,
    RateLimited,
    TooManySockets,
    /// On several nodes: this node does not hear the other nodes' events
    /// right now, so it could not keep a socket up to date.
    Unavailable,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refused::Unauthorized => "unauthorized",
            Refused::RateLimited => "rate_limited",
            Refused::TooManySockets => "too_many_sockets",
            Refused::Unavailable => "unavailable",
        })
    }
}

/// Spends one handshake of `caller`, when limits are on.
async fn admit_connect(app: &AppState, caller: Caller) -> Result<(), Refused> {
    match &app.rate_limits {
        Some(limits) => limits
            .admit(Bucket::Connects, caller)
            .await
            .map_err(|_| Refused::RateLimited),
        None => Ok(()),
    }
}

/// Connect middleware: `auth: {"token"}` (apps, bots), else the bearer
/// header or the session cookie (browsers), with the same sessions and
/// rules as REST (`Actor::admit`). A cookie handshake from a foreign Origin
/// is refused: that is cross-site WebSocket hijacking.
///
/// A logout or a kick processed while the handshake runs is delivered to
/// the user's and session's rooms, or takes the server room away: so the
/// socket joins its user and session rooms first, then reads its servers
/// and joins them, then checks again that the session is live and, if any
/// membership may have changed meanwhile, leaves the servers it lost. No
/// change can fall between a read and a join unseen.
async fn authenticate(
    s: SocketRef,
    State(app): State<AppState>,
    TryData(auth): TryData<Value>,
) -> Result<(), Refused> {
    let given = auth
        .ok()
        .and_then(|a| a.get("token").and_then(Value::as_str).map(str::to_owned));
    if app.relay.as_ref().is_some_and(|relay| !relay.live()) {
        return Err(Refused::Unavailable);
    }
    let addr = ClientIp::of(&s.req_parts().extensions).limit_key();
    admit_connect(&app, Caller::Addr(addr)).await?;
    let parts = s.req_parts();
    let headers = &parts.headers;
    let (token, via) =
        choose_token(headers, given, &app.settings).map_err(|_| Refused::Unauthorized)?;
    let key = handlers::SessionKey(hash_token(&token));
    let session = find_session_by_hash(&app, &key.0)
        .await
        .map_err(|_| Refused::Unauthorized)?;
    let user = Actor::admit(&app, headers, via, session, Intent::Handshake)
        .map_err(|_| Refused::Unauthorized)?;
    admit_connect(&app, Caller::User(user.user_id)).await?;
    s.extensions.insert(user);
    s.extensions.insert(key.clone());
    s.join(user_room(user.user_id));
    s.join(session_room(user.session_id));
    // Rooms and handlers are set up here, before the server confirms the
    // connection: a client may emit the moment it is confirmed, and must
    // neither miss events nor have its first events dropped.
    let epoch = app.store.access_epoch();
    let servers = ready::joined_servers(&app, &user).await.map_err(|e| {
        tracing::error!(error = %e, "socket rooms");
        Refused::Unauthorized
    })?;
    s.join(servers.iter().copied().map(server_room).collect::<Vec<_>>());
    if !matches!(find_session_by_hash(&app, &key.0).await, Ok(Some(_))) {
        return Err(Refused::Unauthorized);
    }
    if app.store.access_epoch() != epoch {
        let kept = ready::joined_servers(&app, &user)
            .await
            .map_err(|_| Refused::Unauthorized)?;
        let lost: Vec<String> = servers
            .into_iter()
            .filter(|id| !kept.contains(id))
            .map(server_room)
            .collect();
        if !lost.is_empty() {
            s.leave(lost);
        }
    }
    handlers::register(&s, app.settings.socket_events_per_minute);
    // Counted here, with the disconnect handler in place, so that every
    // counted socket is also uncounted (the handler uncounts only sockets
    // that carry their `SocketCount`).
    match presence::socket_opened(&app, &user).await {
        Ok(count) => {
            s.extensions.insert(count);
        }
        Err(presence::NotCounted::AtCapacity) => return Err(Refused::TooManySockets),
        Err(presence::NotCounted::Unavailable) => return Err(Refused::Unavailable),
    };
    app.metrics.sockets_connected.increment(1.0);
    Ok(())
}

async fn on_connect(s: SocketRef, State(app): State<AppState>, Extension(user): Extension<Actor>) {
    // Rooms are joined first, so `ready` already reflects any event the
    // socket receives before it.
    match ready::ready(&app, &user).await {
        Ok(ready) => {
            let _ = s.emit("ready", &ready);
        }
        Err(e) => {
            tracing::error!(error = %e, "building ready");
            let _ = s.disconnect();
        }
    }
}
