//! `/channels`: server channels and direct-message channels.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Actor;
use crate::domain::channels::{self, CreateChannel, UpdateChannel};
use crate::domain::model::Channel;
use crate::error::{AppError, ErrorBody};
use crate::http::ratelimit::writes_in;
use crate::http::{ApiJson, ApiPath, ApiQuery, PageParams, Paged, created};
use crate::id::Snowflake;
use crate::limits::Bucket;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(writes_in(
            routes!(list_channels, create_channel),
            Bucket::Writes,
        ))
        .routes(writes_in(
            routes!(get_channel, update_channel, delete_channel),
            Bucket::Writes,
        ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChannelQuery {
    /// Only this server's channels.
    #[param(value_type = Option<String>)]
    server_id: Option<Snowflake>,
}

/// The channels you can read (of your servers, and your DMs), by id.
#[utoipa::path(get, path = "/channels", tag = "channels", params(ChannelQuery, PageParams),
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = [Channel]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn list_channels(
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(q): ApiQuery<ChannelQuery>,
    Paged(page): Paged,
) -> Result<Json<Vec<Channel>>, AppError> {
    Ok(Json(
        channels::list_channels(&state, &actor, q.server_id, &page).await?,
    ))
}

/// Create a server channel (`server_id`, `name`; owner and admins), or open
/// a DM with `recipient_id` (200 with the existing one if there is one).
#[utoipa::path(post, path = "/channels", tag = "channels", request_body = CreateChannel,
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 201, body = Channel), (status = 200, body = Channel, description = "the existing DM"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_channel(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(input): ApiJson<CreateChannel>,
) -> Result<Response, AppError> {
    let (channel, is_new) = channels::create_channel(&state, &actor, input).await?;
    Ok(if is_new {
        created(channel)
    } else {
        Json(channel).into_response()
    })
}

#[utoipa::path(get, path = "/channels/{id}", tag = "channels", params(("id" = String, Path)),
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = Channel), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_channel(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Snowflake>,
) -> Result<Json<Channel>, AppError> {
    Ok(Json(channels::get_channel(&state, &actor, id).await?))
}

/// Change a channel's name, topic or position (owner and admins).
#[utoipa::path(put, path = "/channels/{id}", tag = "channels", params(("id" = String, Path)), request_body = UpdateChannel,
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = Channel), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_channel(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Snowflake>,
    ApiJson(input): ApiJson<UpdateChannel>,
) -> Result<Json<Channel>, AppError> {
    Ok(Json(
        channels::update_channel(&state, &actor, id, input).await?,
    ))
}

/// Delete a channel and its messages (owner and admins).
#[utoipa::path(delete, path = "/channels/{id}", tag = "channels", params(("id" = String, Path)),
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_channel(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Snowflake>,
) -> Result<StatusCode, AppError> {
    channels::delete_channel(&state, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
