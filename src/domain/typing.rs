//! Typing indicators: `typing {channel_id, user_id}` to a channel's readers,
//! from anyone who may post there, at most once per channel every few
//! seconds per throttle (the gateway keeps one per socket).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::auth::Actor;
use crate::domain::channels::{channel_audience, readable_channel};
use crate::error::AppError;
use crate::events::Event;
use crate::id::Snowflake;
use crate::perms;
use crate::state::AppState;

/// At most one `typing` per channel and throttle in this interval.
const TYPING_INTERVAL: Duration = Duration::from_secs(3);

/// The last channel typed in and when.
#[derive(Default)]
pub struct TypingThrottle {
    last: Mutex<Option<(Snowflake, Instant)>>,
}

impl TypingThrottle {
    /// Whether a `typing` in `channel` may go out now (and records it).
    fn admit(&self, channel: Snowflake) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((previous, at)) = *last
            && previous == channel
            && at.elapsed() < TYPING_INTERVAL
        {
            return false;
        }
        *last = Some((channel, Instant::now()));
        true
    }
}

/// `actor` is typing in `channel`. A throttled call succeeds silently:
/// the earlier indicator still shows.
pub async fn start_typing(
    state: &AppState,
    actor: &Actor,
    channel: Snowflake,
    throttle: &TypingThrottle,
) -> Result<(), AppError> {
    let (channel, access) = readable_channel(state, actor, channel).await?;
    perms::can_post_in_channel(access)?;
    if throttle.admit(channel.id) {
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
