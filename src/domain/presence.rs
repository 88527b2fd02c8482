//! Presence: the rules that publish `presence_update`. A user's first
//! socket brings them online, their last takes them offline, and an
//! invisible user looks offline (the counting is `domain::online`'s). The
//! gateway reports sockets opening and closing and status requests; it
//! holds none of these rules.

use crate::auth::Actor;
use crate::domain::values::PresenceStatus as Status;
use crate::error::AppError;
use crate::events::{Audience, Event};
use crate::id::Snowflake;
use crate::state::AppState;

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

/// Tells `user`'s contacts what they now see of them, if it changed.
async fn announce(state: &AppState, user: Snowflake, changed: Option<Status>) {
    let Some(status) = changed else { return };
    match contacts_audience(state, user).await {
        Ok(audience) => state.events.publish(
            audience,
            Event::PresenceUpdate {
                user_id: user,
                status,
            },
        ),
        // Presence is advisory: a failed look-up costs one update, not
        // the socket.
        Err(e) => tracing::warn!(error = %e, "presence update not sent"),
    }
}

/// A socket of `actor` opened.
pub async fn socket_opened(state: &AppState, actor: &Actor) {
    let changed = state.presence.connect(actor.user_id);
    announce(state, actor.user_id, changed).await;
}

/// A socket of `actor` closed.
pub async fn socket_closed(state: &AppState, actor: &Actor) {
    let changed = state.presence.disconnect(actor.user_id);
    announce(state, actor.user_id, changed).await;
}

/// `actor` chose a status: online, idle, dnd or invisible.
pub async fn set_status(state: &AppState, actor: &Actor, status: Status) -> Result<(), AppError> {
    if status == Status::Offline {
        return Err(AppError::invalid(
            "status",
            "must be online, idle, dnd or invisible",
        ));
    }
    let changed = state.presence.set(actor.user_id, status);
    announce(state, actor.user_id, changed).await;
    Ok(())
}
