//! Messages: posting (REST `POST /messages` and the socket `chat` event
//! both call `create_message`), history, edits and deletion.

use serde::Deserialize;
use utoipa::ToSchema;

use crate::domain::channels::readable_channel;
use crate::domain::model::{Author, Message};
use crate::domain::values::MessageContent;
use crate::error::AppError;
use crate::events::{Audience, Event};
use crate::id::Snowflake;
use crate::perms;
use crate::state::AppState;
use crate::store::messages::NewMessage;
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
}

#[derive(Deserialize, ToSchema)]
pub struct EditMessage {
    pub content: String,
}

pub async fn create_message(
    state: &AppState,
    actor: Snowflake,
    input: PostMessage,
) -> Result<Message, AppError> {
    let content = MessageContent::parse("content", input.content)?;
    let (channel, access) = readable_channel(state, actor, input.channel_id).await?;
    perms::can_post_in_channel(access)?;
    if let Some(parent) = input.reply_to {
        match state.store.message_channel(parent).await? {
            Some((parent_channel, _)) if parent_channel == channel.id => {}
            _ => {
                return Err(AppError::invalid(
                    "reply_to",
                    "must be a message of the same channel",
                ));
            }
        }
    }
    let author = state
        .store
        .user(actor, None)
        .await?
        .ok_or(AppError::Unauthorized)?;
    let id = state.ids.next();
    let created_at = id.timestamp_ms();
    let new = NewMessage {
        id,
        channel_id: channel.id,
        author_id: actor,
        content: content.into_inner(),
        reply_to: input.reply_to,
        created_at,
    };
    state.store.insert_message(new.clone()).await?;
    let message = Message {
        id,
        channel_id: channel.id,
        author_id: actor,
        author: Author {
            id: actor,
            username: author.username,
            display_name: author.display_name,
            deleted: false,
        },
        content: new.content,
        reply_to: new.reply_to,
        created_at: crate::domain::model::rfc3339(created_at),
        edited_at: None,
        reactions: Vec::new(),
    };
    state.events.publish(
        Audience::Channel(channel.id),
        Event::MessageCreate(message.clone()),
    );
    Ok(message)
}

/// A message the actor can read, else 404.
async fn readable_message(
    state: &AppState,
    actor: Snowflake,
    id: Snowflake,
) -> Result<(Message, crate::domain::model::Channel, perms::ChannelAccess), AppError> {
    let (channel_id, _) = state
        .store
        .message_channel(id)
        .await?
        .ok_or(AppError::NotFound("message"))?;
    let (channel, access) = readable_channel(state, actor, channel_id)
        .await
        .map_err(|e| e.hidden_as("message"))?;
    let message = state
        .store
        .message(id, actor)
        .await?
        .ok_or(AppError::NotFound("message"))?;
    Ok((message, channel, access))
}

pub async fn get_message(
    state: &AppState,
    actor: Snowflake,
    id: Snowflake,
) -> Result<Message, AppError> {
    Ok(readable_message(state, actor, id).await?.0)
}

pub async fn list_messages(
    state: &AppState,
    actor: Snowflake,
    channel: Snowflake,
    page: &Page,
) -> Result<Vec<Message>, AppError> {
    let (channel, _) = readable_channel(state, actor, channel).await?;
    state.store.channel_messages(channel.id, page, actor).await
}

pub async fn edit_message(
    state: &AppState,
    actor: Snowflake,
    id: Snowflake,
    input: EditMessage,
) -> Result<Message, AppError> {
    let (_, channel, access) = readable_message(state, actor, id).await?;
    let (_, author) = state
        .store
        .message_channel(id)
        .await?
        .ok_or(AppError::NotFound("message"))?;
    perms::can_edit_message(actor, author)?;
    perms::can_post_in_channel(access)?;
    let content = MessageContent::parse("content", input.content)?;
    if !state
        .store
        .edit_message(id, content.as_str(), now_ms())
        .await?
    {
        return Err(AppError::NotFound("message"));
    }
    let message = state
        .store
        .message(id, actor)
        .await?
        .ok_or(AppError::NotFound("message"))?;
    state.events.publish(
        Audience::Channel(channel.id),
        Event::MessageUpdate(message.clone()),
    );
    Ok(message)
}

pub async fn delete_message(
    state: &AppState,
    actor: Snowflake,
    id: Snowflake,
) -> Result<(), AppError> {
    let (message, channel, access) = readable_message(state, actor, id).await?;
    perms::can_delete_message(actor, message.author_id, access)?;
    if !state.store.delete_message(id).await? {
        return Err(AppError::NotFound("message"));
    }
    state.events.publish(
        Audience::Channel(channel.id),
        Event::MessageDelete {
            id,
            channel_id: channel.id,
        },
    );
    Ok(())
}
