//! Typing indicators: `typing {channel_id, user_id}` to a channel's readers,
//! from anyone who may post there, at most once per user and channel every
//! few seconds (`limits::TypingThrottle`), whatever socket they come from.

use crate::auth::Actor;
use crate::domain::channels::{channel_audience, readable_channel};
use crate::error::AppError;
use crate::events::Event;
use crate::id::Snowflake;
use crate::perms;
use crate::state::AppState;

/// `actor` is typing in `channel`. A throttled call succeeds silently:
/// the earlier indicator still shows.
pub async fn start_typing(
    state: &AppState,
    actor: &Actor,
    channel: Snowflake,
) -> Result<(), AppError> {
    let (channel, access) = readable_channel(state, actor, channel).await?;
    perms::can_post_in_channel(access)?;
    if state.typing.admit(actor.user_id, channel.id) {
        state.events.publish(
            channel_audience(&channel),
            Event::Typing {
                channel_id: channel.id,
                user_id: actor.user_id,
            },
        );
    }
    Ok(())
}
