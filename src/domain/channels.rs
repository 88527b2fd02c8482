//! Server channels and direct-message channels.

use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::Actor;
use crate::domain::model::{Channel, ChannelKind};
use crate::domain::values::{ChannelName, RelationshipStatus, Topic};
use crate::error::AppError;
use crate::events::{Audience, Event};
use crate::id::Snowflake;
use crate::perms::{self, ChannelAccess, ServerAction};
use crate::state::AppState;
use crate::store::channels::{ChannelChanges, ChannelWithAccess, OpenedDm};
use crate::store::{Page, now_ms};

/// Either a server channel (`server_id` and `name`) or a direct-message
/// channel (`recipient_id` alone).
#[derive(Default, Deserialize, ToSchema)]
pub struct CreateChannel {
    #[schema(value_type = Option<String>)]
    pub server_id: Option<Snowflake>,
    pub name: Option<String>,
    pub topic: Option<String>,
    pub position: Option<i64>,
    /// Opens (or returns the existing) DM channel with this user.
    #[schema(value_type = Option<String>)]
    pub recipient_id: Option<Snowflake>,
}

#[derive(Default, Deserialize, ToSchema)]
pub struct UpdateChannel {
    pub name: Option<String>,
    pub topic: Option<String>,
    pub position: Option<i64>,
}

const MAX_POSITION: i64 = 1_000_000;

fn check_position(position: Option<i64>) -> Result<Option<i64>, AppError> {
    match position {
        Some(p) if !(0..=MAX_POSITION).contains(&p) => {
            Err(AppError::invalid("position", "must be 0 to 1000000"))
        }
        p => Ok(p),
    }
}

/// A channel the actor can read, with how they stand towards it; 404 if
/// it does not exist or they cannot see it.
pub async fn readable_channel(
    state: &AppState,
    actor: &Actor,
    id: Snowflake,
) -> Result<(Channel, ChannelAccess), AppError> {
    let ChannelWithAccess { channel, access } = state
        .store
        .channel_access(id, actor.user_id)
        .await?
        .ok_or(AppError::NotFound("channel"))?;
    perms::can_read_channel(access)?;
    Ok((channel, access))
}

/// Where events about a channel go.
pub fn channel_audience(channel: &Channel) -> Audience {
    match (channel.server_id, channel.recipients) {
        (Some(server), _) => Audience::Server(server),
        (None, Some(users)) => Audience::Users(users.to_vec()),
        // A text channel has a server and a DM its two recipients; a
        // channel with neither would be readable by nobody.
        (None, None) => Audience::Users(Vec::new()),
    }
}

/// Creates a channel; for a DM, returns the existing one if there is one.
/// The flag says whether a channel was created.
pub async fn create_channel(
    state: &AppState,
    actor: &Actor,
    input: CreateChannel,
) -> Result<(Channel, bool), AppError> {
    match (input.server_id, input.recipient_id) {
        (Some(_), Some(_)) => Err(AppError::invalid(
            "recipient_id",
            "give either server_id or recipient_id",
        )),
        (None, None) => Err(AppError::invalid(
            "server_id",
            "is required (or recipient_id for a DM)",
        )),
        (None, Some(recipient)) => open_dm(state, actor, recipient).await,
        (Some(server), None) => {
            let role = state
                .store
                .server_with_role(server, actor.user_id)
                .await?
                .and_then(|s| s.role);
            perms::can_act_on_server(role, ServerAction::ManageChannels)?;
            let name = ChannelName::parse("name", input.name.unwrap_or_default())?;
            let topic = Topic::parse("topic", input.topic.unwrap_or_default())?;
            let id = state.ids.next()?;
            let channel = Channel {
                id,
                kind: ChannelKind::Text,
                server_id: Some(server),
                name: name.into_inner(),
                topic: topic.into_inner(),
                position: check_position(input.position)?.unwrap_or(0),
                recipients: None,
                created_at: crate::store::time_from_ms(id.timestamp_ms()),
            };
            let max = state.settings.max_channels_per_server;
            if !state.store.create_channel(&channel, max).await? {
                return Err(AppError::limit_reached(format!(
                    "a server can have at most {max} channels"
                )));
            }
            state.events.publish(
                channel_audience(&channel),
                Event::ChannelCreate(channel.clone()),
            );
            Ok((channel, true))
        }
    }
}

async fn open_dm(
    state: &AppState,
    actor: &Actor,
    recipient: Snowflake,
) -> Result<(Channel, bool), AppError> {
    if recipient == actor.user_id {
        return Err(AppError::invalid(
            "recipient_id",
            "cannot open a DM with yourself",
        ));
    }
    state
        .store
        .user(recipient, None)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    if let Some(rel) = state
        .store
        .relationship_between(actor.user_id, recipient)
        .await?
        && rel.status == RelationshipStatus::Blocked
    {
        return Err(AppError::forbidden(
            "blocked",
            "you cannot message this user",
        ));
    }
    let OpenedDm { channel, created } = state
        .store
        .open_dm(state.ids.next()?, actor.user_id, recipient, now_ms())
        .await?;
    if created {
        state.events.publish(
            channel_audience(&channel),
            Event::ChannelCreate(channel.clone()),
        );
    }
    Ok((channel, created))
}

pub async fn get_channel(
    state: &AppState,
    actor: &Actor,
    id: Snowflake,
) -> Result<Channel, AppError> {
    Ok(readable_channel(state, actor, id).await?.0)
}

pub async fn list_channels(
    state: &AppState,
    actor: &Actor,
    server: Option<Snowflake>,
    page: &Page,
) -> Result<Vec<Channel>, AppError> {
    match server {
        Some(server) => {
            let role = state
                .store
                .server_with_role(server, actor.user_id)
                .await?
                .and_then(|s| s.role);
            perms::can_view_server(role)?;
            state.store.server_channels(server, page).await
        }
        None => state.store.visible_channels(actor.user_id, page).await,
    }
}

pub async fn update_channel(
    state: &AppState,
    actor: &Actor,
    id: Snowflake,
    input: UpdateChannel,
) -> Result<Channel, AppError> {
    let (_, access) = readable_channel(state, actor, id).await?;
    perms::can_manage_channel(access)?;
    let name = input
        .name
        .map(|n| ChannelName::parse("name", n))
        .transpose()?;
    let topic = input.topic.map(|t| Topic::parse("topic", t)).transpose()?;
    let changes = ChannelChanges {
        name: name.as_ref().map(ChannelName::as_str),
        topic: topic.as_ref().map(Topic::as_str),
        position: check_position(input.position)?,
    };
    let channel = state
        .store
        .update_channel(id, &changes)
        .await?
        .ok_or(AppError::NotFound("channel"))?;
    state.events.publish(
        channel_audience(&channel),
        Event::ChannelUpdate(channel.clone()),
    );
    Ok(channel)
}

pub async fn delete_channel(
    state: &AppState,
    actor: &Actor,
    id: Snowflake,
) -> Result<(), AppError> {
    let (channel, access) = readable_channel(state, actor, id).await?;
    perms::can_manage_channel(access)?;
    if !state.store.delete_channel(id).await? {
        return Err(AppError::NotFound("channel"));
    }
    state.events.publish(
        channel_audience(&channel),
        Event::ChannelDelete {
            id,
            server_id: channel.server_id,
        },
    );
    Ok(())
}
