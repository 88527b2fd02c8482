//! `Actor`: who is acting, as every domain function receives it. One
//! `authenticate` turns what a request or a socket handshake presents into
//! an `Actor`, so both transports apply the same rules: bearer token first,
//! then the session cookie; a cookie used for a write or a socket
//! handshake must come from an allowed Origin, and a cookie write must echo
//! the CSRF token.

use axum::http::{HeaderMap, header};

use crate::auth::CSRF_HEADER;
use crate::auth::Via;
use crate::auth::credentials::{choose_token, find_session, origin_allowed};
use crate::auth::token::constant_time_eq;
use crate::error::AppError;
use crate::id::Snowflake;
use crate::state::AppState;
use crate::store::sessions::SessionRecord;

/// The signed-in user behind a request or a socket, and the session they
/// act through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Snowflake,
    pub session_id: Snowflake,
}

/// What the credentials are presented for; decides the cookie checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intent {
    /// A REST read (GET, HEAD, OPTIONS): no cross-site check needed.
    Read,
    /// A REST write: a cookie needs an allowed Origin and the CSRF header.
    Write,
    /// A Socket.IO handshake: a cookie needs an allowed Origin (a foreign
    /// one would be cross-site WebSocket hijacking). There is no CSRF
    /// header on a WebSocket upgrade; the Origin check is the defence.
    Handshake,
}

impl Actor {
    /// Resolves the actor from `headers`, or from `token` when the client
    /// passed one explicitly (the Socket.IO `auth` payload), which counts
    /// as a bearer token.
    pub async fn authenticate(
        state: &AppState,
        headers: &HeaderMap,
        token: Option<String>,
        intent: Intent,
    ) -> Result<Self, AppError> {
        let (token, via) = choose_token(headers, token, &state.settings)?;
        let session = find_session(state, &token).await?;
        Self::admit(state, headers, via, session, intent)
    }

    /// The caller of `session` (found from a token presented `via`), once
    /// the cookie rules hold.
    pub fn admit(
        state: &AppState,
        headers: &HeaderMap,
        via: Via,
        session: Option<SessionRecord>,
        intent: Intent,
    ) -> Result<Self, AppError> {
        let session = session.ok_or(AppError::Unauthorized)?;
        if via == Via::Cookie && intent != Intent::Read {
            if let Some(origin) = headers.get(header::ORIGIN) {
                let allowed = origin
                    .to_str()
                    .is_ok_and(|o| origin_allowed(o, headers, &state.settings));
                if !allowed {
                    return Err(AppError::forbidden(
                        "origin_not_allowed",
                        "request origin is not allowed",
                    ));
                }
            }
            if intent == Intent::Write {
                let sent = headers
                    .get(CSRF_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if !constant_time_eq(sent, &session.csrf_token) {
                    return Err(AppError::forbidden(
                        "csrf_failed",
                        "missing or wrong X-CSRF-Token header",
                    ));
                }
            }
        }
        Ok(Self {
            user_id: session.user_id,
            session_id: session.id,
        })
    }
}
