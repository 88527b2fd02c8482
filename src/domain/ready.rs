//! What a socket needs when it connects: the rooms it belongs in (which
//! servers the user is in) and the `ready` payload a client draws its first
//! screen from.

use serde::Serialize;

use crate::auth::Actor;
use crate::domain::model::{Channel, PresenceUpdate, Relationship, Server, User};
use crate::domain::presence;
use crate::domain::values::PresenceStatus;
use crate::error::AppError;
use crate::id::Snowflake;
use crate::state::AppState;
use crate::store::Page;

/// The most items of each kind `ready` carries.
const READY_LIMIT: i64 = 1000;

/// The most contacts (server members, friends: of each) whose presence
/// `ready` looks up. A user in very large servers gets the online ones
/// among the first of them; the others' changes arrive as
/// `presence_updates`.
const READY_CONTACTS: i64 = 10 * READY_LIMIT;

/// What a client needs to draw its first screen.
#[derive(Serialize)]
pub struct Ready {
    pub user: User,
    pub servers: Vec<Server>,
    pub channels: Vec<Channel>,
    pub relationships: Vec<Relationship>,
    pub presences: Vec<PresenceUpdate>,
}

/// The servers whose events `actor`'s sockets receive.
pub async fn joined_servers(state: &AppState, actor: &Actor) -> Result<Vec<Snowflake>, AppError> {
    state.store.server_ids_of(actor.user_id).await
}

pub async fn ready(state: &AppState, actor: &Actor) -> Result<Ready, AppError> {
    let store = &state.store;
    let user = actor.user_id;
    let all = Page {
        limit: READY_LIMIT,
        before: None,
        after: None,
    };
    let me = store
        .user(user, Some(user))
        .await?
        .ok_or(AppError::Unauthorized)?;
    let servers = store.servers_of(user, &all).await?;
    let channels = store.visible_channels(user, &all).await?;
    let relationships = store.relationships_of(user, &all).await?;
    let contacts = store.contact_ids(user, READY_CONTACTS).await?;
    let statuses = presence::statuses(state, &contacts).await?;
    let presences = contacts
        .into_iter()
        .zip(statuses)
        .map(|(user_id, status)| PresenceUpdate { user_id, status })
        .filter(|p| p.status != PresenceStatus::Offline)
        .take(READY_LIMIT as usize)
        .collect();
    Ok(Ready {
        user: me,
        servers,
        channels,
        relationships,
        presences,
    })
}
