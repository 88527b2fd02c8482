//! What a caller presents and what it is worth: the session token (bearer
//! header first, then the session cookie), the live session it opens, and
//! the Origin rule for cookies. `Actor::authenticate` is built from these.

use axum::http::{HeaderMap, header};
use axum_extra::extract::CookieJar;

use crate::auth::session_cookie;
use crate::auth::token::hash_token;
use crate::error::AppError;
use crate::state::{AppState, Settings};
use crate::store::now_ms;
use crate::store::sessions::SessionRecord;

/// How the caller authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    Bearer,
    Cookie,
}

/// The session token a request carries, and how.
pub fn presented_token(
    headers: &HeaderMap,
    settings: &Settings,
) -> Result<Option<(String, Via)>, AppError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| AppError::Unauthorized)?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AppError::Unauthorized)?;
        return Ok(Some((token.to_owned(), Via::Bearer)));
    }
    let jar = CookieJar::from_headers(headers);
    Ok(jar
        .get(session_cookie(settings.secure_cookies))
        .map(|c| (c.value().to_owned(), Via::Cookie)))
}

/// The session a request's token opened (`None`: no live session), found
/// by the rate limiter before the handler runs, so that the `Actor`
/// extractor need not look again.
#[derive(Clone)]
pub struct FoundSession {
    pub via: Via,
    pub session: Option<SessionRecord>,
}

/// The token to use: one given apart from the headers (a Socket.IO
/// handshake's `auth.token`, for apps and bots), else what the headers
/// present (bearer, then cookie).
pub fn choose_token(
    headers: &HeaderMap,
    auth_token: Option<String>,
    settings: &Settings,
) -> Result<(String, Via), AppError> {
    match auth_token {
        Some(token) => Ok((token, Via::Bearer)),
        None => presented_token(headers, settings)?.ok_or(AppError::Unauthorized),
    }
}

/// Whether `origin` may act with this server's cookies: one of the
/// configured origins, or, when none are configured, the server's own
/// (same scheme-less host and port as the request's Host header).
pub fn origin_allowed(origin: &str, headers: &HeaderMap, settings: &Settings) -> bool {
    let origin = origin.trim_end_matches('/').to_ascii_lowercase();
    if !settings.allowed_origins.is_empty() {
        return settings.allowed_origins.contains(&origin);
    }
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let host = host.to_ascii_lowercase();
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|rest| rest == host)
}

/// Time between recorded uses of a session: a quarter of the idle
/// timeout, at most a minute. The idle timeout needs no finer grain, and
/// most requests then cost no write.
pub fn touch_every_ms(settings: &Settings) -> i64 {
    (settings.session_idle_ms / 4).clamp(1, 60_000)
}

/// The live session for a presented token, recording its use.
pub async fn find_session(
    state: &AppState,
    token: &str,
) -> Result<Option<SessionRecord>, AppError> {
    find_session_by_hash(state, &hash_token(token)).await
}

/// The live session whose token hashes to `hash`, recording its use.
pub async fn find_session_by_hash(
    state: &AppState,
    hash: &str,
) -> Result<Option<SessionRecord>, AppError> {
    let now = now_ms();
    let idle_since = now.saturating_sub(state.settings.session_idle_ms);
    let cache = &state.sessions;
    let session = match cache.get(hash) {
        Some(session) => session,
        None => {
            let epoch = cache.epoch();
            let Some(session) = state
                .store
                .session_by_token_hash(hash, now, idle_since)
                .await?
            else {
                return Ok(None);
            };
            cache.insert(hash.to_owned(), session.clone(), epoch);
            session
        }
    };
    // The same limits the query applies, for a cached row.
    if session.expires_at <= now || session.last_used_at <= idle_since {
        cache.remove(hash);
        return Ok(None);
    }
    if now - session.last_used_at > touch_every_ms(&state.settings) {
        state.store.touch_session(session.id, now).await?;
        cache.touch(hash, now);
    }
    Ok(Some(session))
}
