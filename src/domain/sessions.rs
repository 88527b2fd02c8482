//! Logging in and out.

use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::Actor;
use crate::auth::token::{hash_token, random_token};
use crate::client_addr::ClientIp;
use crate::domain::model::User;
use crate::error::AppError;
use crate::events::{Audience, Event};
use crate::id::Snowflake;
use crate::state::AppState;
use crate::store::now_ms;
use crate::store::sessions::{NewSession, SessionInfo};

#[derive(Deserialize, ToSchema)]
pub struct Login {
    /// The username, or give `email` instead.
    pub username: Option<String>,
    pub email: Option<String>,
    pub password: String,
}

/// A new session: the token goes to the client once and is never stored.
pub struct NewLogin {
    pub user: User,
    pub token: String,
    pub csrf_token: String,
    pub expires_at: i64,
}

fn bad_credentials() -> AppError {
    AppError::Unauthorized
}

pub async fn login(
    state: &AppState,
    client: ClientIp,
    user_agent: &str,
    input: Login,
) -> Result<NewLogin, AppError> {
    let (key, by_email) = match (input.username, input.email) {
        (Some(u), None) => (u.to_ascii_lowercase(), false),
        (None, Some(e)) => (e.to_lowercase(), true),
        _ => {
            return Err(AppError::invalid(
                "username",
                "give either username or email",
            ));
        }
    };
    if key.len() > 254 || input.password.len() > 1024 {
        return Err(bad_credentials());
    }
    state.login_limiter.check(client.limit_key(), &key).await?;
    let credentials = state.store.credentials(&key, by_email).await?;
    let (user_id, stored) = match credentials {
        Some(c) => (Some(c.user_id), Some(c.password_hash)),
        None => (None, None),
    };
    // Same work and same answer whether the account exists or not.
    if !state
        .hashers
        .verify(&input.password, stored.clone())
        .await?
    {
        return Err(bad_credentials());
    }
    let (Some(user_id), Some(stored)) = (user_id, stored) else {
        return Err(bad_credentials());
    };
    let token = random_token();
    let csrf_token = random_token();
    let now = now_ms();
    let expires_at = now + state.settings.session_ttl_ms;
    let opened = state
        .store
        .create_session(NewSession {
            id: state.ids.next()?,
            user_id,
            token_hash: &hash_token(&token),
            csrf_token: &csrf_token,
            now,
            expires_at,
            user_agent: &user_agent
                .chars()
                .filter(|c| !c.is_control())
                .take(256)
                .collect::<String>(),
            password_hash: &stored,
        })
        .await?;
    if !opened {
        // The password changed while this login checked the old one.
        return Err(bad_credentials());
    }
    let user = state
        .store
        .user(user_id, Some(user_id))
        .await?
        .ok_or_else(bad_credentials)?;
    Ok(NewLogin {
        user,
        token,
        csrf_token,
        expires_at,
    })
}

pub async fn logout(state: &AppState, current: &Actor) -> Result<(), AppError> {
    state.store.delete_session(current.session_id).await?;
    sessions_ended(state, current.user_id, vec![current.session_id]);
    Ok(())
}

/// To call once sessions of `user` are gone from the database: from now on
/// no request can use them (the session cache forgets the user), and
/// their sockets are closed.
pub fn sessions_ended(state: &AppState, user: Snowflake, session_ids: Vec<Snowflake>) {
    state.sessions.forget_user(user);
    state.events.publish(
        Audience::Users(vec![user]),
        Event::SessionsEnded {
            user_id: user,
            session_ids,
        },
    );
}

/// Ends every session past its expiry or idle limit, as a request using
/// it would find it ended, and closes its sockets (a socket merely open is
/// not a use). Returns how many ended.
pub async fn end_stale_sessions(state: &AppState) -> Result<usize, AppError> {
    let now = now_ms();
    let idle_since = now.saturating_sub(state.settings.session_idle_ms);
    let ended = state.store.delete_stale_sessions(now, idle_since).await?;
    let count = ended.len();
    let mut by_user: std::collections::HashMap<Snowflake, Vec<Snowflake>> = Default::default();
    for (user, session) in ended {
        by_user.entry(user).or_default().push(session);
    }
    for (user, sessions) in by_user {
        sessions_ended(state, user, sessions);
    }
    Ok(count)
}

/// The caller's live sessions, newest first, the current one marked.
pub async fn list_sessions(
    state: &AppState,
    current: &Actor,
) -> Result<Vec<SessionInfo>, AppError> {
    state
        .store
        .sessions_of(current.user_id, current.session_id, now_ms())
        .await
}

/// Ends one of the caller's own sessions (another user's is 404); its
/// sockets are closed.
pub async fn end_session(state: &AppState, current: &Actor, id: Snowflake) -> Result<(), AppError> {
    if !state.store.delete_session_of(current.user_id, id).await? {
        return Err(AppError::NotFound("session"));
    }
    sessions_ended(state, current.user_id, vec![id]);
    Ok(())
}
