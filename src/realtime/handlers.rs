//! Client events: `chat`, `typing`, `presence`, and `disconnect`. Each
//! parses its payload, asks the domain (which asks `perms`), and answers
//! through the ack: `{"message": ...}` / `{"ok": true}` or
//! `{"error": {"code", "message"}}`, the same errors as REST.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use socketioxide::extract::{AckSender, Extension, SocketRef, State, TryData};
use socketioxide::socket::DisconnectReason;

use crate::auth::Actor;
use crate::domain::channels::readable_channel;
use crate::domain::from_json_value;
use crate::domain::messages::{self, PostMessage};
use crate::domain::values::PresenceStatus;
use crate::error::AppError;
use crate::events::{Audience, Event};
use crate::id::Snowflake;
use crate::perms;
use crate::realtime::Realtime;

/// Client events a socket may send per minute (in the spirit of
/// Discord's gateway limit of 120).
pub const EVENTS_PER_MINUTE: u32 = 120;
/// Refused events after which a flooding socket is disconnected.
const STRIKES_BEFORE_DISCONNECT: u32 = 20;
/// At most one `typing` per channel and socket in this interval.
const TYPING_INTERVAL: Duration = Duration::from_secs(3);

/// Per-socket counters (kept in the socket's extensions).
pub struct SocketLimits {
    events: DefaultDirectRateLimiter,
    strikes: AtomicU32,
    last_typing: std::sync::Mutex<Option<(Snowflake, Instant)>>,
}

impl SocketLimits {
    fn new() -> Self {
        let per_minute = NonZeroU32::new(EVENTS_PER_MINUTE).unwrap_or(NonZeroU32::MIN);
        Self {
            events: RateLimiter::direct(Quota::per_minute(per_minute)),
            strikes: AtomicU32::new(0),
            last_typing: std::sync::Mutex::new(None),
        }
    }
}

pub fn register(s: &SocketRef) {
    s.extensions.insert(Arc::new(SocketLimits::new()));
    s.on("chat", chat);
    s.on("typing", typing);
    s.on("presence", presence);
    s.on_fallback(unknown_event);
    s.on_disconnect(disconnect);
}

fn error_ack(e: &AppError) -> Value {
    json!({ "error": e.body().error })
}

/// Acknowledges an event with its result, or the error as REST shapes it.
/// (A client that asked for no ack simply gets nothing.)
fn answer(ack: AckSender, result: Result<Value, AppError>) {
    let _ = ack.send(&result.unwrap_or_else(|e| error_ack(&e)));
}

/// Counts one client event; refuses it over the limit, and disconnects a
/// socket that keeps flooding.
fn admit(s: &SocketRef, limits: &SocketLimits) -> Result<(), AppError> {
    if limits.events.check().is_ok() {
        return Ok(());
    }
    if limits.strikes.fetch_add(1, Ordering::Relaxed) + 1 >= STRIKES_BEFORE_DISCONNECT {
        tracing::info!(sid = %s.id, "disconnecting a flooding socket");
        let _ = s.clone().disconnect();
    }
    Err(AppError::RateLimited {
        retry_after_secs: 1,
    })
}

/// Parses an event payload like a REST body: 422 naming the field.
fn parse<T: DeserializeOwned>(data: Result<Value, impl std::fmt::Display>) -> Result<T, AppError> {
    let value = data.map_err(|e| AppError::bad_request("malformed_payload", e.to_string()))?;
    from_json_value(value)
}

fn limits_of(s: &SocketRef) -> Arc<SocketLimits> {
    s.extensions
        .get::<Arc<SocketLimits>>()
        .unwrap_or_else(|| Arc::new(SocketLimits::new()))
}

/// `chat {channel_id, content, reply_to?, nonce?}`: the same operation as
/// `POST /messages`; the ack is `{"message"}` or `{"error"}`.
async fn chat(
    s: SocketRef,
    State(rt): State<Realtime>,
    Extension(user): Extension<Actor>,
    TryData(data): TryData<Value>,
    ack: AckSender,
) {
    let result = async {
        admit(&s, &limits_of(&s))?;
        let input: PostMessage = parse(data)?;
        messages::create_message(&rt.app, &user, input).await
    }
    .await;
    answer(ack, result.map(|message| json!({ "message": message })));
}

#[derive(Deserialize)]
struct Typing {
    channel_id: Snowflake,
}

/// `typing {channel_id}`: fans out `typing {channel_id, user_id}` to the
/// channel's readers, at most once per channel every few seconds.
async fn typing(
    s: SocketRef,
    State(rt): State<Realtime>,
    Extension(user): Extension<Actor>,
    TryData(data): TryData<Value>,
    ack: AckSender,
) {
    let result = async {
        let limits = limits_of(&s);
        admit(&s, &limits)?;
        let input: Typing = parse(data)?;
        let (channel, access) = readable_channel(&rt.app, &user, input.channel_id).await?;
        perms::can_post_in_channel(access)?;
        {
            let mut last = limits.last_typing.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((previous, at)) = *last
                && previous == channel.id
                && at.elapsed() < TYPING_INTERVAL
            {
                return Ok(()); // throttled: the earlier one still shows
            }
            *last = Some((channel.id, Instant::now()));
        }
        rt.app.events.publish(
            Audience::Channel(channel.id),
            Event::Typing {
                channel_id: channel.id,
                user_id: user.user_id,
            },
        );
        Ok::<_, AppError>(())
    }
    .await;
    answer(ack, result.map(|()| json!({ "ok": true })));
}

#[derive(Deserialize)]
struct SetPresence {
    status: PresenceStatus,
}

/// `presence {status}`: online, idle, dnd or invisible.
async fn presence(
    s: SocketRef,
    State(rt): State<Realtime>,
    Extension(user): Extension<Actor>,
    TryData(data): TryData<Value>,
    ack: AckSender,
) {
    let result = async {
        admit(&s, &limits_of(&s))?;
        let input: SetPresence = parse(data)?;
        if input.status == PresenceStatus::Offline {
            return Err(AppError::invalid(
                "status",
                "must be online, idle, dnd or invisible",
            ));
        }
        if let Some(status) = rt.presence.set(user.user_id, input.status) {
            rt.app.events.publish(
                Audience::Contacts(user.user_id),
                Event::PresenceUpdate {
                    user_id: user.user_id,
                    status,
                },
            );
        }
        Ok(())
    }
    .await;
    answer(ack, result.map(|()| json!({ "ok": true })));
}

async fn unknown_event(s: SocketRef, ack: AckSender) {
    let limits = limits_of(&s);
    let e = admit(&s, &limits)
        .err()
        .unwrap_or_else(|| AppError::bad_request("unknown_event", "unknown event"));
    let _ = ack.send(&error_ack(&e));
}

/// A user's last socket closing takes them offline.
async fn disconnect(
    State(rt): State<Realtime>,
    Extension(user): Extension<Actor>,
    reason: DisconnectReason,
) {
    tracing::debug!(user = %user.user_id, %reason, "socket disconnected");
    if let Some(status) = rt.presence.disconnect(user.user_id) {
        rt.app.events.publish(
            Audience::Contacts(user.user_id),
            Event::PresenceUpdate {
                user_id: user.user_id,
                status,
            },
        );
    }
}
