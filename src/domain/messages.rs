//! Messages: posting (REST `POST /messages` and the socket `chat` event
//! both call `create_message`), history, edits and deletion.

use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::Actor;
use crate::domain::channels::{channel_audience, readable_channel};
use crate::domain::message_writer::NewMessage;
use crate::domain::model::Message;
use crate::domain::values::MessageContent;
use crate::error::AppError;
use crate::events::Event;
use crate::id::Snowflake;
use crate::perms;
use crate::state::AppState;
pub use crate::store::recent::Listed;
use crate::store::{Page, now_ms};

#[derive(Deserialize, ToSchema)]
pub struct PostMessage {
    #[schema(value_type = String)]
    pub channel_id: Snowflake,
    /// 1-4000 characters; stored exactly as sent.
    pub content: String,
    /// A message of the same channel this one answers.
    #[schema(value_type = Option<String>)]
    pub reply_to: Option<Snowflake>,
    /// Up to 64 characters, echoed in the answer and in `message_create`
    /// so a client can match its optimistic copy.
    pub nonce: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct EditMessage {
    pub content: String,
}

pub async fn create_message(
    state: &AppState,
    actor: &Actor,
    input: PostMessage,
) -> Result<Message, AppError> {
    let content = MessageContent::parse("content", input.content)?;
    let (channel, access) = readable_channel(state, actor, input.channel_id).await?;
    perms::can_post_in_channel(access)?;
    if let Some(parent) = input.reply_to {
        match state.store.message_channel(parent).await? {
            Some(found) if found.channel_id == channel.id => {}
            _ => {
                return Err(AppError::invalid(
                    "reply_to",
                    "must be a message of the same channel",
                ));
            }
        }
    }
    let author = match state.store.author(actor.user_id).await? {
        Some(author) if !author.deleted => author,
        _ => return Err(AppError::Unauthorized),
    };
    let nonce = input.nonce.map(parse_nonce).transpose()?;
    // The writer gives the message its id, commits it, and publishes
    // `message_create` in commit order (see `domain::message_writer`).
    state
        .messages
        .post(NewMessage {
            channel_id: channel.id,
            author,
            content: content.into_inner(),
            reply_to: input.reply_to,
            nonce,
            audience: channel_audience(&channel),
            access,
        })
        .await
}

/// A client's nonce: up to 64 printable characters, echoed back as sent.
fn parse_nonce(nonce: String) -> Result<String, AppError> {
    if nonce.chars().count() > 64 || nonce.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "nonce",
            "must be at most 64 printable characters",
        ));
    }
    Ok(nonce)
}

/// A message the actor can read, else 404.
async fn readable_message(
    state: &AppState,
    actor: &Actor,
    id: Snowflake,
) -> Result<(Message, crate::domain::model::Channel, perms::ChannelAccess), AppError> {
    let channel_id = state
        .store
        .message_channel(id)
        .await?
        .ok_or(AppError::NotFound("message"))?
        .channel_id;
    let (channel, access) = readable_channel(state, actor, channel_id)
        .await
        .map_err(|e| e.hidden_as("message"))?;
    let message = state
        .store
        .message(id, actor.user_id)
        .await?
        .ok_or(AppError::NotFound("message"))?;
    Ok((message, channel, access))
}

pub async fn get_message(
    state: &AppState,
    actor: &Actor,
    id: Snowflake,
) -> Result<Message, AppError> {
    Ok(readable_message(state, actor, id).await?.0)
}

/// One channel's messages, or with no channel the messages of every
/// channel the actor can read (an activity feed); newest first.
pub async fn list_messages(
    state: &AppState,
    actor: &Actor,
    channel: Option<Snowflake>,
    page: &Page,
) -> Result<Vec<Listed>, AppError> {
    let Some(channel) = channel else {
        let feed = state.store.readable_messages(actor.user_id, page).await?;
        return Ok(feed.into_iter().map(Listed::Built).collect());
    };
    let (channel, _) = readable_channel(state, actor, channel).await?;
    state
        .store
        .channel_messages(channel.id, page, actor.user_id)
        .await
}

pub async fn edit_message(
    state: &AppState,
    actor: &Actor,
    id: Snowflake,
    input: EditMessage,
) -> Result<Message, AppError> {
    let (message, channel, access) = readable_message(state, actor, id).await?;
    perms::can_edit_message(actor.user_id, message.author_id)?;
    perms::can_post_in_channel(access)?;
    let content = MessageContent::parse("content", input.content)?;
    if !state
        .store
        .edit_message(id, channel.id, content.as_str(), now_ms())
        .await?
    {
        return Err(AppError::NotFound("message"));
    }
    let message = state
        .store
        .message(id, actor.user_id)
        .await?
        .ok_or(AppError::NotFound("message"))?;
    // Every reader gets the same copy: `me` is the editor's in the answer
    // only, never broadcast as if it were each reader's.
    let mut shared = message.clone();
    for reaction in &mut shared.reactions {
        reaction.me = false;
    }
    state
        .events
        .publish(channel_audience(&channel), Event::MessageUpdate(shared));
    Ok(message)
}

pub async fn delete_message(
    state: &AppState,
    actor: &Actor,
    id: Snowflake,
) -> Result<(), AppError> {
    let (message, channel, access) = readable_message(state, actor, id).await?;
    perms::can_delete_message(actor.user_id, message.author_id, access)?;
    if !state.store.delete_message(id, channel.id).await? {
        return Err(AppError::NotFound("message"));
    }
    state.events.publish(
        channel_audience(&channel),
        Event::MessageDelete {
            id,
            channel_id: channel.id,
        },
    );
    Ok(())
}
