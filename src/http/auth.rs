//! `/auth`: log in (cookie + bearer token), log out, who am I.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use cookie::time;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Actor, csrf_cookie, session_cookie};
use crate::client_addr::ClientIp;
use crate::domain::model::User;
use crate::domain::sessions::{self, Login};
use crate::error::{AppError, ErrorBody};
use crate::http::ratelimit::writes_in;
use crate::http::{ApiJson, ApiPath};
use crate::id::Snowflake;
use crate::limits::Bucket;
use crate::state::AppState;
use crate::store::now_ms;
use crate::store::sessions::SessionInfo;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(writes_in(routes!(login), Bucket::Auth))
        .routes(writes_in(routes!(logout), Bucket::Writes))
        .routes(writes_in(routes!(me), Bucket::Writes))
        .routes(writes_in(routes!(list_sessions), Bucket::Writes))
        .routes(writes_in(routes!(end_session), Bucket::Writes))
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    user: User,
    /// Send as `Authorization: Bearer <token>`; browsers can rely on the cookie.
    token: String,
    /// Echo in `X-CSRF-Token` on cookie-authenticated writes (also in the
    /// `csrf_token` cookie).
    csrf_token: String,
}

fn cookie(
    name: &'static str,
    value: String,
    http_only: bool,
    secure: bool,
    max_age_secs: i64,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(http_only)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(time::Duration::seconds(max_age_secs))
        .build()
}

/// Log in with `username` (or `email`) and `password`. Sets the HttpOnly
/// session cookie and the readable `csrf_token` cookie, and returns a
/// token for `Authorization: Bearer`.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = Login,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    client: ClientIp,
    headers: HeaderMap,
    jar: CookieJar,
    ApiJson(input): ApiJson<Login>,
) -> Result<Response, AppError> {
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let new = sessions::login(&state, client, user_agent, input).await?;
    let secure = state.settings.secure_cookies;
    let max_age = (new.expires_at - now_ms()) / 1000;
    let jar = jar
        .add(cookie(
            session_cookie(secure),
            new.token.clone(),
            true,
            secure,
            max_age,
        ))
        .add(cookie(
            csrf_cookie(secure),
            new.csrf_token.clone(),
            false,
            secure,
            max_age,
        ));
    let body = LoginResponse {
        user: new.user,
        token: new.token,
        csrf_token: new.csrf_token,
    };
    Ok((jar, Json(body)).into_response())
}

/// End the current session (its token stops working at once).
#[utoipa::path(post, path = "/auth/logout", tag = "auth",
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn logout(
    State(state): State<AppState>,
    actor: Actor,
    jar: CookieJar,
) -> Result<Response, AppError> {
    sessions::logout(&state, &actor).await?;
    let secure = state.settings.secure_cookies;
    let jar = jar
        .add(cookie(
            session_cookie(secure),
            String::new(),
            true,
            secure,
            0,
        ))
        .add(cookie(csrf_cookie(secure), String::new(), false, secure, 0));
    Ok((StatusCode::NO_CONTENT, jar).into_response())
}

/// The signed-in user, with e-mail.
#[utoipa::path(get, path = "/auth/me", tag = "auth",
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = User), (status = 401, body = ErrorBody)))]
async fn me(State(state): State<AppState>, actor: Actor) -> Result<Json<User>, AppError> {
    Ok(Json(
        crate::domain::users::get_user(&state, &actor, actor.user_id).await?,
    ))
}

/// Your live sessions, newest first; `current` marks the one asking.
#[utoipa::path(get, path = "/auth/sessions", tag = "auth",
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = [SessionInfo]), (status = 401, body = ErrorBody)))]
async fn list_sessions(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<Json<Vec<SessionInfo>>, AppError> {
    Ok(Json(sessions::list_sessions(&state, &actor).await?))
}

/// End one of your sessions (for example a lost device's); its token and
/// its sockets stop working at once.
#[utoipa::path(delete, path = "/auth/sessions/{id}", tag = "auth", params(("id" = String, Path)),
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn end_session(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Snowflake>,
) -> Result<StatusCode, AppError> {
    sessions::end_session(&state, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
