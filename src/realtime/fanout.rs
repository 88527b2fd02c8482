//! Fan-out: one task reads the event bus in order and emits each event
//! once to the rooms of its audience (socketioxide encodes a broadcast
//! once for all its sockets). The audience comes with the event, decided
//! by the domain, so this loop never queries the database. Membership
//! changes move sockets between rooms here, so a join, leave, kick or
//! deletion takes effect on every live socket of that user at once. Events
//! are emitted in bus order, so sockets see a channel's messages in commit
//! order.
//!
//! If this task falls behind by more than the bus holds, the events it
//! missed may have taken rights away (a kick, a logout): it disconnects
//! every socket rather than let one keep receiving what it may no longer
//! see. Clients reconnect, get rooms built from the database, and catch up
//! through `GET /messages?after=`.
//!
//! Likewise a socket whose send queue is full (its client stopped reading)
//! would silently miss an event and later go on as if nothing happened. It
//! is cut off instead: it gets nothing more, and is disconnected as soon as
//! its queue has room for the disconnect packet (or closed by its missed
//! heartbeats, whichever comes first), so its client reconnects and catches
//! up. socketioxide's broadcast reports that some sockets were full but not
//! which, so events are sent socket by socket, the data encoded once.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics::Counter;
use serde_json::value::RawValue;
use socketioxide::extract::SocketRef;
use socketioxide::socket::Sid;
use socketioxide::{SendError, SocketError, SocketIo};
use tokio::sync::broadcast::error::RecvError;

use crate::events::{Audience, Envelope, Event, EventBus};
use crate::realtime::{server_room, session_room, user_room};
use crate::telemetry::FanoutMetrics;

/// Delivers every event on `bus`. It is given the bus and the sockets
/// only, no database handle: delivery cannot query.
pub async fn run(io: SocketIo, bus: EventBus, mut metrics: FanoutMetrics) {
    let mut events = bus.subscribe();
    let cut = CutOff {
        sockets: Arc::default(),
        dropped: metrics.dropped_slow.clone(),
    };
    loop {
        match events.recv().await {
            Ok(envelope) => {
                deliver(&io, &cut, &envelope).await;
                metrics.delivered(envelope.event.name());
            }
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(
                    missed,
                    "real-time fan-out fell behind; disconnecting every socket so clients resync"
                );
                let sockets = io.broadcast().sockets();
                metrics.dropped_lagged.increment(sockets.len() as u64);
                for socket in sockets {
                    cut.disconnect(socket);
                }
            }
            Err(RecvError::Closed) => break,
        }
    }
}

/// Disconnects every socket of this node (its rights are unknown: events
/// were missed); clients reconnect and catch up. `dropped` counts those
/// that had to be cut off.
pub fn disconnect_all(io: &SocketIo, dropped: Counter) {
    let cut = CutOff {
        sockets: Arc::default(),
        dropped,
    };
    for socket in io.broadcast().sockets() {
        cut.disconnect(socket);
    }
}

/// Sockets being cut off: they receive nothing more while their disconnect
/// waits for room in their queue.
#[derive(Clone)]
struct CutOff {
    sockets: Arc<Mutex<HashSet<Sid>>>,
    /// Counts the sockets cut off for a full send queue.
    dropped: Counter,
}

/// How often a cut-off socket's disconnect is retried.
const CUT_OFF_RETRY: Duration = Duration::from_millis(50);

impl CutOff {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<Sid>> {
        self.sockets.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Disconnects `socket` now, or as soon as its queue has room; until
    /// then it gets no events.
    fn disconnect(&self, socket: SocketRef) {
        match socket.clone().disconnect() {
            Err(SocketError::InternalChannelFull) => {}
            Ok(()) | Err(SocketError::Closed) => return,
        }
        if !self.lock().insert(socket.id) {
            return; // already being retried
        }
        let cut = self.clone();
        tokio::spawn(async move {
            while socket.connected() {
                match socket.clone().disconnect() {
                    Err(SocketError::InternalChannelFull) => {
                        tokio::time::sleep(CUT_OFF_RETRY).await;
                    }
                    Ok(()) | Err(SocketError::Closed) => break,
                }
            }
            cut.lock().remove(&socket.id);
        });
    }

    /// Sends `event` with `data` (encoded once) to every socket in `rooms`;
    /// a socket whose queue is full is cut off (see the module comment).
    fn emit(&self, io: &SocketIo, rooms: Vec<String>, event: &str, data: &RawValue) {
        let mut full = Vec::new();
        {
            let cut = self.lock();
            for socket in io.to(rooms).sockets() {
                if cut.contains(&socket.id) {
                    continue;
                }
                if let Err(SendError::Socket(SocketError::InternalChannelFull)) =
                    socket.emit(event, data)
                {
                    full.push(socket);
                }
            }
        }
        if !full.is_empty() {
            self.dropped.increment(full.len() as u64);
            tracing::warn!(
                sockets = full.len(),
                event,
                "cutting off sockets whose send queue is full; they reconnect and catch up"
            );
            for socket in full {
                self.disconnect(socket);
            }
        }
    }
}

/// The event's data, as the client receives it, encoded once.
fn payload(event: &Event) -> Box<RawValue> {
    let data = match serde_json::to_value(event) {
        Ok(serde_json::Value::Object(mut map)) => map.remove("data"),
        _ => None,
    };
    serde_json::value::to_raw_value(&data.unwrap_or_default())
        .unwrap_or_else(|_| RawValue::from_string("null".into()).unwrap_or_default())
}

async fn deliver(io: &SocketIo, cut: &CutOff, envelope: &Envelope) {
    let event = &envelope.event;
    // Sockets that must be in a room before the event goes out.
    match event {
        Event::MemberJoin(m) => {
            let _ = io
                .to(user_room(m.user_id))
                .join(server_room(m.server_id))
                .await;
        }
        // A server's creator, or someone who just joined it.
        Event::ServerCreate(server) => {
            if let Audience::Users(users) = &envelope.audience {
                let rooms: Vec<String> = users.iter().copied().map(user_room).collect();
                let _ = io.to(rooms).join(server_room(server.id)).await;
            }
        }
        Event::PresenceUpdates(lists) => {
            for list in lists {
                let rooms = rooms_for(&list.audience);
                if rooms.is_empty() {
                    continue; // no rooms would mean every socket
                }
                match serde_json::value::to_raw_value(&list.updates) {
                    Ok(data) => cut.emit(io, rooms, event.name(), &data),
                    Err(e) => tracing::warn!(error = %e, "presence list not encoded"),
                }
            }
            return;
        }
        Event::SessionsEnded { session_ids, .. } => {
            let rooms: Vec<String> = session_ids.iter().copied().map(session_room).collect();
            if !rooms.is_empty() {
                for socket in io.to(rooms).sockets() {
                    cut.disconnect(socket);
                }
            }
            return;
        }
        _ => {}
    }
    let rooms = rooms_for(&envelope.audience);
    if !rooms.is_empty() {
        cut.emit(io, rooms, event.name(), &payload(event));
    }

    // Sockets that leave rooms once the event is out (they see it last).
    match event {
        Event::MemberLeave { server_id, user_id } => {
            let _ = io
                .to(user_room(*user_id))
                .leave(server_room(*server_id))
                .await;
        }
        Event::ServerDelete { id } => {
            let _ = io.within(server_room(*id)).leave(server_room(*id)).await;
        }
        Event::UserDelete { id } => {
            for socket in io.to(user_room(*id)).sockets() {
                cut.disconnect(socket);
            }
        }
        _ => {}
    }
}

fn rooms_for(audience: &Audience) -> Vec<String> {
    match audience {
        Audience::Server(id) => vec![server_room(*id)],
        Audience::Users(ids) => ids.iter().copied().map(user_room).collect(),
        Audience::Contacts {
            user,
            servers,
            friends,
        } => std::iter::once(user_room(*user))
            .chain(servers.iter().copied().map(server_room))
            .chain(friends.iter().copied().map(user_room))
            .collect(),
    }
}
