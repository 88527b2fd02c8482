//! Fan-out: one task reads the event bus in order and emits each event
//! once to the rooms of its audience (socketioxide encodes a broadcast
//! once for all its sockets). Membership changes move sockets between
//! rooms here, so a join, leave, kick or deletion takes effect on every
//! live socket of that user at once. Events are emitted in bus order,
//! so sockets see a channel's messages in commit order.

use serde_json::Value;
use socketioxide::SocketIo;
use tokio::sync::broadcast::error::RecvError;

use crate::events::{Audience, Envelope, Event};
use crate::id::Snowflake;
use crate::realtime::{Realtime, server_room, session_room, user_room};

/// Above this many cached channel scopes the cache starts over.
const MAX_CACHED_SCOPES: usize = 100_000;

pub async fn run(io: SocketIo, rt: Realtime) {
    let mut events = rt.app.events.subscribe();
    loop {
        match events.recv().await {
            Ok(envelope) => deliver(&io, &rt, &envelope).await,
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "real-time fan-out fell behind; events were dropped");
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

async fn deliver(io: &SocketIo, rt: &Realtime, envelope: &Envelope) {
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
    let rooms = rooms_for(rt, &envelope.audience).await;
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
        Event::ChannelDelete { id, .. } => {
            rt.scopes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(id);
        }
        Event::UserDelete { id } => {
            let _ = io.to(user_room(*id)).disconnect().await;
        }
        _ => {}
    }
}

async fn rooms_for(rt: &Realtime, audience: &Audience) -> Vec<String> {
    match audience {
        Audience::Server(id) => vec![server_room(*id)],
        Audience::Users(ids) => ids.iter().copied().map(user_room).collect(),
        Audience::Channel(id) => channel_rooms(rt, *id).await,
        Audience::Contacts(user) => match rt.app.store.contact_rooms(*user).await {
            Ok(contacts) => std::iter::once(user_room(*user))
                .chain(contacts.servers.into_iter().map(server_room))
                .chain(contacts.friends.into_iter().map(user_room))
                .collect(),
            Err(e) => {
                tracing::error!(error = %e, "resolving contacts");
                Vec::new()
            }
        },
    }
}

/// A server channel's events go to its server's room, a DM's to its two
/// users' rooms.
async fn channel_rooms(rt: &Realtime, channel: Snowflake) -> Vec<String> {
    if let Some(rooms) = rt
        .scopes
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&channel)
    {
        return rooms.clone();
    }
    let rooms = match rt.app.store.channel_scope(channel).await {
        Ok(Some((Some(server), _))) => vec![server_room(server)],
        Ok(Some((None, Some([a, b])))) => vec![user_room(a), user_room(b)],
        Ok(_) => return Vec::new(),
        Err(e) => {
            tracing::error!(error = %e, "resolving a channel's audience");
            return Vec::new();
        }
    };
    let mut scopes = rt.scopes.lock().unwrap_or_else(|e| e.into_inner());
    if scopes.len() >= MAX_CACHED_SCOPES {
        scopes.clear();
    }
    scopes.insert(channel, rooms.clone());
    rooms
}
