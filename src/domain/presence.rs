//! Presence: the rules that publish `presence_updates`. A user's first
//! socket brings them online, their last takes them offline, and an
//! invisible user looks offline (the counting is `domain::online`'s). The
//! gateway reports sockets opening and closing and status requests; it
//! holds none of these rules.
//!
//! Changes are coalesced: they gather for `WINDOW`, then go out together,
//! one `presence_updates` list per server (to its members) and per friend
//! (to that user), with the latest status of each user who changed and
//! nobody whose status came back to where it was. When a thousand members
//! of one server connect at once, each member's sockets receive a few
//! lists instead of a thousand packets, so presence cannot crowd messages
//! out of a socket's queue, and the audiences are read in two queries per
//! batch instead of two per change.

use std::collections::HashMap;
use std::time::Duration;

use crate::auth::Actor;
use crate::domain::model::PresenceUpdate;
use crate::domain::online::AtCapacity;
use crate::domain::values::PresenceStatus as Status;
use crate::error::AppError;
use crate::events::{Audience, Event, PresenceList};
use crate::id::Snowflake;
use crate::state::AppState;
use crate::store::Store;

/// How long changes gather before they are sent.
const WINDOW: Duration = Duration::from_millis(100);

/// Everyone who can see `user`: the members of their servers and their
/// friends (and the user themself, on their other sockets).
pub async fn contacts_audience(state: &AppState, user: Snowflake) -> Result<Audience, AppError> {
    let contacts = state.store.contact_rooms(user).await?;
    Ok(Audience::Contacts {
        user,
        servers: contacts.servers,
        friends: contacts.friends,
    })
}

/// Sends the queued changes, one batch per `WINDOW`, for as long as the
/// gateway runs (`realtime::Gateway` starts and stops it).
pub async fn send_batches(state: AppState) {
    let queue = &state.presence_queue;
    loop {
        queue.changed().await;
        tokio::time::sleep(WINDOW).await;
        let batch = queue.take();
        if batch.is_empty() {
            continue;
        }
        match audiences(&state.store, batch).await {
            // Each list names its audience; the envelope's is not used.
            Ok(lists) => state
                .events
                .publish(Audience::Users(Vec::new()), Event::PresenceUpdates(lists)),
            // Presence is advisory: a failed look-up costs one batch, not
            // the sockets.
            Err(e) => tracing::warn!(error = %e, "presence updates not sent"),
        }
    }
}

/// Who receives which updates: every server of a changed user gets its
/// members' updates; every friend gets their friends'; a user in no
/// server gets their own (for their other sockets, which are otherwise
/// in their servers' rooms).
async fn audiences(
    store: &Store,
    batch: Vec<PresenceUpdate>,
) -> Result<Vec<PresenceList>, AppError> {
    let users: Vec<Snowflake> = batch.iter().map(|u| u.user_id).collect();
    let rooms = store.contact_rooms_of(&users).await?;
    let mut by_server: HashMap<Snowflake, Vec<PresenceUpdate>> = HashMap::new();
    let mut by_user: HashMap<Snowflake, Vec<PresenceUpdate>> = HashMap::new();
    let mut lists = Vec::new();
    for update in batch {
        let contacts = rooms.get(&update.user_id);
        let servers = contacts.map(|c| c.servers.as_slice()).unwrap_or_default();
        let friends = contacts.map(|c| c.friends.as_slice()).unwrap_or_default();
        for server in servers {
            by_server.entry(*server).or_default().push(update.clone());
        }
        for friend in friends {
            by_user.entry(*friend).or_default().push(update.clone());
        }
        if servers.is_empty() {
            by_user.entry(update.user_id).or_default().push(update);
        }
    }
    lists.extend(by_server.into_iter().map(|(server, updates)| PresenceList {
        audience: Audience::Server(server),
        updates,
    }));
    lists.extend(by_user.into_iter().map(|(user, updates)| PresenceList {
        audience: Audience::Users(vec![user]),
        updates,
    }));
    Ok(lists)
}

/// A socket of `actor` opened.
///
/// False, and nothing counted, when the user already has as many sockets
/// open as they may (`--max-sockets-per-user`).
pub fn socket_opened(state: &AppState, actor: &Actor) -> bool {
    match state
        .presence
        .connect(actor.user_id, state.settings.max_sockets_per_user)
    {
        Ok(Some(change)) => state.presence_queue.record(actor.user_id, change),
        Ok(None) => {}
        Err(AtCapacity) => return false,
    }
    true
}

/// A socket of `actor` closed.
pub fn socket_closed(state: &AppState, actor: &Actor) {
    if let Some(change) = state.presence.disconnect(actor.user_id) {
        state.presence_queue.record(actor.user_id, change);
    }
}

/// `actor` chose a status: online, idle, dnd or invisible.
pub fn set_status(state: &AppState, actor: &Actor, status: Status) -> Result<(), AppError> {
    if status == Status::Offline {
        return Err(AppError::invalid(
            "status",
            "must be online, idle, dnd or invisible",
        ));
    }
    if let Some(change) = state.presence.set(actor.user_id, status) {
        state.presence_queue.record(actor.user_id, change);
    }
    Ok(())
}
