//! `/users`: sign-up (public), search, profile, change, delete.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Actor;
use crate::client_addr::ClientIp;
use crate::domain::model::User;
use crate::domain::users::{self, SignUp, UpdateUser};
use crate::error::{AppError, ErrorBody};
use crate::http::ratelimit::writes_in;
use crate::http::{ApiJson, ApiPath, ApiQuery, PageParams, Paged, created};
use crate::id::Snowflake;
use crate::limits::Bucket;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(writes_in(routes!(list_users, create_user), Bucket::Auth))
        .routes(writes_in(
            routes!(get_user, update_user, delete_user),
            Bucket::Writes,
        ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Username prefix, case-insensitive.
    q: Option<String>,
}

/// Search users by username prefix.
#[utoipa::path(get, path = "/users", tag = "users", params(UserQuery, PageParams),
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = [User]), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_users(
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(query): ApiQuery<UserQuery>,
    Paged(page): Paged,
) -> Result<Json<Vec<User>>, AppError> {
    if let Some(q) = &query.q
        && q.chars().count() > 32
    {
        return Err(AppError::invalid("q", "must be at most 32 characters"));
    }
    Ok(Json(
        users::list_users(&state, &actor, query.q.as_deref(), &page).await?,
    ))
}

/// Sign up. Public; the new account then logs in with `POST /auth/login`.
#[utoipa::path(post, path = "/users", tag = "users", request_body = SignUp,
    responses((status = 201, body = User), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_user(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<SignUp>,
) -> Result<Response, AppError> {
    Ok(created(users::sign_up(&state, input).await?))
}

/// A user's public profile (with e-mail when it is your own).
#[utoipa::path(get, path = "/users/{id}", tag = "users", params(("id" = String, Path)),
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = User), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_user(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Snowflake>,
) -> Result<Json<User>, AppError> {
    Ok(Json(users::get_user(&state, &actor, id).await?))
}

/// Change your own account. A password change needs `current_password`
/// and ends your other sessions.
#[utoipa::path(put, path = "/users/{id}", tag = "users", params(("id" = String, Path)), request_body = UpdateUser,
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = User), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_user(
    State(state): State<AppState>,
    actor: Actor,
    client: ClientIp,
    ApiPath(id): ApiPath<Snowflake>,
    ApiJson(input): ApiJson<UpdateUser>,
) -> Result<Json<User>, AppError> {
    Ok(Json(
        users::update_user(&state, &actor, client, id, input).await?,
    ))
}

/// Delete your own account: sessions end, messages stay (shown as from a
/// deleted user). Refused while you own a server.
#[utoipa::path(delete, path = "/users/{id}", tag = "users", params(("id" = String, Path)),
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete_user(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Snowflake>,
) -> Result<StatusCode, AppError> {
    users::delete_user(&state, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
