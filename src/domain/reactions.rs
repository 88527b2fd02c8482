//! Emoji reactions on messages.

use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::Actor;
use crate::domain::channels::{channel_audience, readable_channel};
use crate::domain::model::{Channel, Reaction};
use crate::domain::values::Emoji;
use crate::error::AppError;
use crate::events::Event;
use crate::id::Snowflake;
use crate::perms::{self, ChannelAccess};
use crate::state::AppState;
use crate::store::Page;

#[derive(Deserialize, ToSchema)]
pub struct AddReaction {
    #[schema(value_type = String)]
    pub message_id: Snowflake,
    /// One Unicode emoji (custom `:name:` emojis are refused until servers
    /// can have their own). A message holds at most 20 different emojis.
    pub emoji: String,
}

#[derive(Deserialize, ToSchema)]
pub struct ChangeReaction {
    pub emoji: String,
}

/// The channel of a message the actor can read, else 404 for the message.
async fn message_access(
    state: &AppState,
    actor: &Actor,
    message: Snowflake,
) -> Result<(Channel, ChannelAccess), AppError> {
    let channel = state
        .store
        .message_channel(message)
        .await?
        .ok_or(AppError::NotFound("message"))?
        .channel_id;
    readable_channel(state, actor, channel)
        .await
        .map_err(|e| e.hidden_as("message"))
}

/// A reaction the actor can see (they can read its message), else 404.
async fn visible_reaction(
    state: &AppState,
    actor: &Actor,
    id: Snowflake,
) -> Result<(Reaction, Channel, ChannelAccess), AppError> {
    let reaction = state
        .store
        .reaction(id)
        .await?
        .ok_or(AppError::NotFound("reaction"))?;
    let (channel, access) = readable_channel(state, actor, reaction.channel_id)
        .await
        .map_err(|e| e.hidden_as("reaction"))?;
    Ok((reaction, channel, access))
}

pub async fn add_reaction(
    state: &AppState,
    actor: &Actor,
    input: AddReaction,
) -> Result<Reaction, AppError> {
    let emoji = Emoji::parse("emoji", input.emoji)?;
    let (channel, access) = message_access(state, actor, input.message_id).await?;
    perms::can_post_in_channel(access)?;
    let reaction = Reaction {
        id: state.ids.next()?,
        message_id: input.message_id,
        channel_id: channel.id,
        user_id: actor.user_id,
        emoji: emoji.as_str().to_owned(),
        created_at: Default::default(),
    };
    let reaction = Reaction {
        created_at: crate::store::time_from_ms(reaction.id.timestamp_ms()),
        ..reaction
    };
    state.store.add_reaction(&reaction).await?;
    state.events.publish(
        channel_audience(&channel),
        Event::ReactionAdd(reaction.clone()),
    );
    Ok(reaction)
}

pub async fn get_reaction(
    state: &AppState,
    actor: &Actor,
    id: Snowflake,
) -> Result<Reaction, AppError> {
    Ok(visible_reaction(state, actor, id).await?.0)
}

/// The reactions on one message, or with no message those on every
/// message the actor can read; only `reactor`'s when given. In id order.
pub async fn list_reactions(
    state: &AppState,
    actor: &Actor,
    message: Option<Snowflake>,
    reactor: Option<Snowflake>,
    page: &Page,
) -> Result<Vec<Reaction>, AppError> {
    let Some(message) = message else {
        return state
            .store
            .readable_reactions(actor.user_id, reactor, page)
            .await;
    };
    message_access(state, actor, message).await?;
    state.store.message_reactions(message, reactor, page).await
}

/// Swaps the emoji of one's own reaction; clients see the old one removed
/// and the new one added.
pub async fn change_reaction(
    state: &AppState,
    actor: &Actor,
    id: Snowflake,
    input: ChangeReaction,
) -> Result<Reaction, AppError> {
    let (old, channel, access) = visible_reaction(state, actor, id).await?;
    perms::can_change_reaction(actor.user_id, old.user_id)?;
    perms::can_post_in_channel(access)?;
    let emoji = Emoji::parse("emoji", input.emoji)?;
    if !state.store.change_reaction(&old, &emoji).await? {
        return Err(AppError::NotFound("reaction"));
    }
    let new = Reaction {
        emoji: emoji.as_str().to_owned(),
        ..old.clone()
    };
    let audience = channel_audience(&channel);
    state
        .events
        .publish(audience.clone(), Event::ReactionRemove(old));
    state
        .events
        .publish(audience, Event::ReactionAdd(new.clone()));
    Ok(new)
}

pub async fn delete_reaction(
    state: &AppState,
    actor: &Actor,
    id: Snowflake,
) -> Result<(), AppError> {
    let (reaction, channel, access) = visible_reaction(state, actor, id).await?;
    perms::can_remove_reaction(actor.user_id, reaction.user_id, access)?;
    if !state.store.delete_reaction(&reaction).await? {
        return Err(AppError::NotFound("reaction"));
    }
    state
        .events
        .publish(channel_audience(&channel), Event::ReactionRemove(reaction));
    Ok(())
}
