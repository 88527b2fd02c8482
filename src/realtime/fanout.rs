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

use serde_json::Value;
use socketioxide::SocketIo;
use tokio::sync::broadcast::error::RecvError;

use crate::events::{Audience, Envelope, Event, EventBus};
use crate::realtime::{server_room, session_room, user_room};

/// Delivers every event on `bus`. It is given the bus and the sockets
/// only, no database handle: delivery cannot query.
pub async fn run(io: SocketIo, bus: EventBus) {
    let mut events = bus.subscribe();
    loop {
        match events.recv().await {
            Ok(envelope) => deliver(&io, &envelope).await,
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(
                    missed,
                    "real-time fan-out fell behind; disconnecting every socket so clients resync"
                );
                if let Err(e) = io.disconnect().await {
                    tracing::error!(error = %e, "disconnecting sockets after a lag");
                }
            }
            Err(RecvError::Closed) => break,
        }
    }
}

/// The event's data, as the client receives it.
fn payload(event: &Event) -> Value {
    match serde_json::to_value(event) {
        Ok(Value::Object(mut map)) => map.remove("data").unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

async fn deliver(io: &SocketIo, envelope: &Envelope) {
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
        Event::SessionsEnded { session_ids, .. } => {
            let rooms: Vec<String> = session_ids.iter().copied().map(session_room).collect();
            if !rooms.is_empty() {
                let _ = io.to(rooms).disconnect().await;
            }
            return;
        }
        _ => {}
    }
    let rooms = rooms_for(&envelope.audience);
    if !rooms.is_empty()
        && let Err(e) = io.to(rooms).emit(event.name(), &payload(event)).await
    {
        // A full queue means a socket stopped reading: its heartbeat
        // will fail and drop it; everyone else got the event.
        tracing::debug!(error = %e, event = event.name(), "some sockets missed an event");
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
            let _ = io.to(user_room(*id)).disconnect().await;
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
