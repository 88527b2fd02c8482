//! Client events: `chat`, `typing`, `presence`, and `disconnect`. Each
//! parses its payload and calls the domain (which asks `perms`), then
//! answers through the ack: `{"message": ...}` / `{"ok": true}` or
//! `{"error": {"code", "message"}}`, the same errors as REST. Handlers only
//! translate; the rules are the domain's.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use socketioxide::extract::{AckSender, Extension, SocketRef, State, TryData};
use socketioxide::socket::DisconnectReason;

use crate::auth::Actor;
use crate::auth::credentials::find_session_by_hash;
use crate::domain::from_json_value;
use crate::domain::messages::{self, PostMessage};
use crate::domain::presence;
use crate::domain::typing;
use crate::domain::values::PresenceStatus;
use crate::error::AppError;
use crate::id::Snowflake;
use crate::limits::{Bucket, Caller};
use crate::state::AppState;

/// Refused events after which a flooding socket is disconnected.
const STRIKES_BEFORE_DISCONNECT: u32 = 20;

/// Per-socket counters (kept in the socket's extensions). The user's own
/// budgets (`messages`, shared with REST, and typing) are in `AppState`.
pub struct SocketLimits {
    events: DefaultDirectRateLimiter,
    strikes: AtomicU32,
}

impl SocketLimits {
    fn new(per_minute: u32) -> Self {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        Self {
            events: RateLimiter::direct(Quota::per_minute(per_minute)),
            strikes: AtomicU32::new(0),
        }
    }
}

/// The hash of the token a socket connected with, so that each client
/// event can check that its session is still live.
#[derive(Clone)]
pub struct SessionKey(pub String);

/// Refuses an event from a socket whose session has ended (expired, idle,
/// or ended where this node did not see it); `answer` then closes the
/// socket. The check is the session cache's, and counts as a use of the
/// session.
async fn signed_in(s: &SocketRef, app: &AppState) -> Result<(), AppError> {
    let session = match s.extensions.get::<SessionKey>() {
        Some(key) => find_session_by_hash(app, &key.0).await?,
        None => None,
    };
    session.map(|_| ()).ok_or(AppError::Unauthorized)
}

/// Installs the event handlers; a socket may send `events_per_minute`
/// client events a minute.
pub fn register(s: &SocketRef, events_per_minute: u32) {
    s.extensions
        .insert(Arc::new(SocketLimits::new(events_per_minute)));
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
/// (A client that asked for no ack simply gets nothing.) A socket whose
/// session has ended is closed once told so.
fn answer(s: &SocketRef, ack: AckSender, result: Result<Value, AppError>) {
    let ended = matches!(result, Err(AppError::Unauthorized));
    let _ = ack.send(&result.unwrap_or_else(|e| error_ack(&e)));
    if ended {
        let _ = s.clone().disconnect();
    }
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
        // `register` inserts them before any handler can run; were they
        // missing, the socket gets the strictest budget, not none.
        .unwrap_or_else(|| Arc::new(SocketLimits::new(1)))
}

/// `chat {channel_id, content, reply_to?, nonce?}`: the same operation as
/// `POST /messages`; the ack is `{"message"}` or `{"error"}`.
async fn chat(
    s: SocketRef,
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    TryData(data): TryData<Value>,
    ack: AckSender,
) {
    let result = async {
        admit(&s, &limits_of(&s))?;
        signed_in(&s, &app).await?;
        // The same `messages` budget as `POST /messages`, per user.
        if let Some(limits) = &app.rate_limits {
            limits
                .admit(Bucket::Messages, Caller::User(actor.user_id))
                .await?;
        }
        let input: PostMessage = parse(data)?;
        messages::create_message(&app, &actor, input).await
    }
    .await;
    answer(&s, ack, result.map(|message| json!({ "message": message })));
}

#[derive(Deserialize)]
struct Typing {
    channel_id: Snowflake,
}

/// `typing {channel_id}`: `typing {channel_id, user_id}` to the channel's
/// readers (see `domain::typing`).
async fn typing(
    s: SocketRef,
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    TryData(data): TryData<Value>,
    ack: AckSender,
) {
    let result = async {
        admit(&s, &limits_of(&s))?;
        signed_in(&s, &app).await?;
        let input: Typing = parse(data)?;
        typing::start_typing(&app, &actor, input.channel_id).await
    }
    .await;
    answer(&s, ack, result.map(|()| json!({ "ok": true })));
}

#[derive(Deserialize)]
struct SetPresence {
    status: PresenceStatus,
}

/// `presence {status}`: online, idle, dnd or invisible.
async fn presence(
    s: SocketRef,
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    TryData(data): TryData<Value>,
    ack: AckSender,
) {
    let result = async {
        admit(&s, &limits_of(&s))?;
        signed_in(&s, &app).await?;
        let input: SetPresence = parse(data)?;
        presence::set_status(&app, &actor, input.status).await
    }
    .await;
    answer(&s, ack, result.map(|()| json!({ "ok": true })));
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
    s: SocketRef,
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    reason: DisconnectReason,
) {
    tracing::debug!(user = %actor.user_id, %reason, "socket disconnected");
    if let Some(count) = s.extensions.get::<presence::SocketCount>() {
        presence::socket_closed(&app, &actor, &count).await;
        app.metrics.sockets_connected.decrement(1.0);
    }
}
