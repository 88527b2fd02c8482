//! `/messages`: history, posting, editing, deleting.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Actor;
use crate::domain::messages::{self, EditMessage, Listed, PostMessage};
use crate::domain::model::Message;
use crate::error::{AppError, ErrorBody};
use crate::http::ratelimit::writes_in;
use crate::http::{ApiJson, ApiPath, ApiQuery, PageParams, Paged, created};
use crate::id::Snowflake;
use crate::limits::Bucket;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(writes_in(
            routes!(list_messages, create_message),
            Bucket::Messages,
        ))
        .routes(writes_in(
            routes!(get_message, update_message, delete_message),
            Bucket::Writes,
        ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageFilter {
    /// Only this channel's messages; without it, the messages of every
    /// channel and DM you can read.
    #[param(value_type = Option<String>)]
    channel_id: Option<Snowflake>,
}

/// Messages, newest first: one channel's (`channel_id`), or those of every
/// channel and DM you can read. `after=ID` returns the messages right after
/// `ID` (still newest first), which is how a client catches up.
#[utoipa::path(get, path = "/messages", tag = "messages", params(MessageFilter, PageParams),
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = [Message]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn list_messages(
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(filter): ApiQuery<MessageFilter>,
    Paged(page): Paged,
) -> Result<Json<Vec<Listed>>, AppError> {
    Ok(Json(
        messages::list_messages(&state, &actor, filter.channel_id, &page).await?,
    ))
}

/// Post a message (members of the channel).
#[utoipa::path(post, path = "/messages", tag = "messages", request_body = PostMessage,
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 201, body = Message), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_message(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(input): ApiJson<PostMessage>,
) -> Result<Response, AppError> {
    Ok(created(
        messages::create_message(&state, &actor, input).await?,
    ))
}

#[utoipa::path(get, path = "/messages/{id}", tag = "messages", params(("id" = String, Path)),
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = Message), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_message(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Snowflake>,
) -> Result<Json<Message>, AppError> {
    Ok(Json(messages::get_message(&state, &actor, id).await?))
}

/// Edit your own message.
#[utoipa::path(put, path = "/messages/{id}", tag = "messages", params(("id" = String, Path)), request_body = EditMessage,
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = Message), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_message(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Snowflake>,
    ApiJson(input): ApiJson<EditMessage>,
) -> Result<Json<Message>, AppError> {
    Ok(Json(
        messages::edit_message(&state, &actor, id, input).await?,
    ))
}

/// Delete a message (its author, or an admin or owner of the server).
#[utoipa::path(delete, path = "/messages/{id}", tag = "messages", params(("id" = String, Path)),
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_message(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Snowflake>,
) -> Result<StatusCode, AppError> {
    messages::delete_message(&state, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
