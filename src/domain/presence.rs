//! Presence: who is online on this node (per user, how many sockets they
//! have open and the status they chose; only ids and a counter per user are
//! kept), and the rules that publish `presence_update`: a user's first
//! socket brings them online, their last takes them offline, and an
//! invisible user looks offline. The gateway reports sockets opening and
//! closing and status requests; it holds none of these rules.

use std::collections::HashMap;
use std::sync::Mutex;

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

struct Entry {
    sockets: u32,
    status: Status,
}

#[derive(Default)]
pub struct Presence {
    users: Mutex<HashMap<Snowflake, Entry>>,
}

impl Presence {
    /// Counts a new socket; returns the status others now see if it changed
    /// (the user's first socket brings them online).
    pub fn connect(&self, user: Snowflake) -> Option<Status> {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let entry = users.entry(user).or_insert(Entry {
            sockets: 0,
            status: Status::Online,
        });
        entry.sockets += 1;
        (entry.sockets == 1).then_some(entry.status.visible())
    }

    /// Forgets a socket; returns `Offline` if it was the user's last one
    /// and others could see them.
    pub fn disconnect(&self, user: Snowflake) -> Option<Status> {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let entry = users.get_mut(&user)?;
        entry.sockets = entry.sockets.saturating_sub(1);
        if entry.sockets > 0 {
            return None;
        }
        let was = entry.status.visible();
        users.remove(&user);
        (was != Status::Offline).then_some(Status::Offline)
    }

    /// Sets a connected user's status; returns what others now see if it
    /// changed.
    pub fn set(&self, user: Snowflake, status: Status) -> Option<Status> {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let entry = users.get_mut(&user)?;
        let before = entry.status.visible();
        entry.status = status;
        (before != status.visible()).then_some(status.visible())
    }

    /// What others see of `user`.
    pub fn status_of(&self, user: Snowflake) -> Status {
        let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        users
            .get(&user)
            .map_or(Status::Offline, |e| e.status.visible())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_socket_brings_online_last_takes_offline() {
        let p = Presence::default();
        let u = Snowflake(1);
        assert_eq!(p.connect(u), Some(Status::Online));
        assert_eq!(p.connect(u), None);
        assert_eq!(p.disconnect(u), None);
        assert_eq!(p.status_of(u), Status::Online);
        assert_eq!(p.disconnect(u), Some(Status::Offline));
        assert_eq!(p.status_of(u), Status::Offline);
    }

    #[test]
    fn invisible_users_look_offline() {
        let p = Presence::default();
        let u = Snowflake(1);
        p.connect(u);
        assert_eq!(p.set(u, Status::Invisible), Some(Status::Offline));
        assert_eq!(p.status_of(u), Status::Offline);
        assert_eq!(p.set(u, Status::Invisible), None);
        assert_eq!(p.disconnect(u), None, "nobody saw them go");
        assert_eq!(
            p.set(Snowflake(9), Status::Dnd),
            None,
            "unknown users have no status"
        );
    }
}
