//! Presence: the rules that publish `presence_updates`. A user's first
//! socket brings them online, their last takes them offline, and an
//! invisible user looks offline (the counting is `domain::online`'s). The
//! gateway reports sockets opening and closing and status requests; it
//! holds none of these rules.
//!
//! On several nodes the counting is the cluster's (`cluster::presence`):
//! a user is online while any node holds a socket of theirs, and the
//! socket cap counts every node.
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
use std::sync::Arc;
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

/// Where an open socket was counted, to take it back when it closes: on
/// this node, or in the cluster under this node's incarnation of then.
#[derive(Clone)]
pub struct SocketCount {
    incarnation: Option<Arc<str>>,
}

/// Why a socket was not counted.
pub enum NotCounted {
    /// The user already has as many sockets open as they may
    /// (`--max-sockets-per-user`, over every node).
    AtCapacity,
    /// On several nodes: Redis out of reach.
    Unavailable,
}

/// A socket of `actor` opened: counted, or refused with nothing counted.
pub async fn socket_opened(state: &AppState, actor: &Actor) -> Result<SocketCount, NotCounted> {
    let cap = state.settings.max_sockets_per_user;
    let (counted, incarnation) = match &state.shared_presence {
        None => (state.presence.connect(actor.user_id, cap), None),
        Some(shared) => {
            let node = shared.incarnation();
            match shared.connect(&node, actor.user_id, cap).await {
                Ok(counted) => (counted, Some(node)),
                Err(e) => {
                    tracing::warn!(error = %e, "socket not counted: redis");
                    return Err(NotCounted::Unavailable);
                }
            }
        }
    };
    match counted {
        Ok(Some(change)) => state.presence_queue.record(actor.user_id, change),
        Ok(None) => {}
        Err(AtCapacity) => return Err(NotCounted::AtCapacity),
    }
    Ok(SocketCount { incarnation })
}

/// A socket of `actor` closed.
pub async fn socket_closed(state: &AppState, actor: &Actor, count: &SocketCount) {
    let change = match (&state.shared_presence, &count.incarnation) {
        (Some(shared), Some(node)) => match shared.disconnect(node, actor.user_id, Some(1)).await {
            Ok(change) => change,
            // Its incarnation's counts are swept when it lapses.
            Err(e) => {
                tracing::warn!(error = %e, "socket not uncounted: redis");
                None
            }
        },
        _ => state.presence.disconnect(actor.user_id),
    };
    if let Some(change) = change {
        state.presence_queue.record(actor.user_id, change);
    }
}

/// `actor` chose a status: online, idle, dnd or invisible.
pub async fn set_status(state: &AppState, actor: &Actor, status: Status) -> Result<(), AppError> {
    if status == Status::Offline {
        return Err(AppError::invalid(
            "status",
            "must be online, idle, dnd or invisible",
        ));
    }
    let change = match &state.shared_presence {
        None => state.presence.set(actor.user_id, status),
        Some(shared) => shared.set(actor.user_id, status).await?,
    };
    if let Some(change) = change {
        state.presence_queue.record(actor.user_id, change);
    }
    Ok(())
}

/// What others see of each of `users`.
pub async fn statuses(state: &AppState, users: &[Snowflake]) -> Result<Vec<Status>, AppError> {
    match &state.shared_presence {
        None => Ok(users.iter().map(|u| state.presence.status_of(*u)).collect()),
        Some(shared) => Ok(shared.statuses(users).await?),
    }
}

/// On several nodes: keeps this node's incarnation alive and sends the
/// offline updates of users whose sockets were on a node that died, for
/// as long as the node runs.
pub async fn tend_shared(state: AppState) {
    let Some(shared) = state.shared_presence.clone() else {
        return;
    };
    let mut tick = tokio::time::interval(shared.tend_every());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match shared.tend().await {
            Ok(changes) => {
                for (user, change) in changes {
                    state.presence_queue.record(user, change);
                }
            }
            Err(e) => tracing::warn!(error = %e, "shared presence not tended"),
        }
    }
}
