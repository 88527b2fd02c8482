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
use crate::domain::messages::{self, EditMessage, PostMessage};
use crate::domain::model::Message;
use crate::error::{AppError, ErrorBody};
use crate::http::{ApiJson, ApiPath, ApiQuery, PageParams, created};
use crate::id::Snowflake;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_messages, create_message))
        .routes(routes!(get_message, update_message, delete_message))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageQuery {
    /// The channel (required).
    #[param(value_type = String)]
    channel_id: Option<Snowflake>,
    limit: Option<i64>,
    #[param(value_type = Option<String>)]
    before: Option<Snowflake>,
    /// Catch up: the messages right after this id.
    #[param(value_type = Option<String>)]
    after: Option<Snowflake>,
}

/// A channel's messages, newest first.
#[utoipa::path(get, path = "/messages", tag = "messages", params(MessageQuery),
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = [Message]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn list_messages(
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(q): ApiQuery<MessageQuery>,
) -> Result<Json<Vec<Message>>, AppError> {
    let channel = q
        .channel_id
        .ok_or_else(|| AppError::invalid("channel_id", "is required"))?;
    let page = PageParams {
        limit: q.limit,
        before: q.before,
        after: q.after,
    }
    .page()?;
    Ok(Json(
        messages::list_messages(&state, &actor, channel, &page).await?,
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
