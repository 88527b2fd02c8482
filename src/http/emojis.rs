//! `/emojis`: emoji reactions on messages.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Actor;
use crate::domain::model::Reaction;
use crate::domain::reactions::{self, AddReaction, ChangeReaction};
use crate::error::{AppError, ErrorBody};
use crate::http::ratelimit::writes_in;
use crate::http::{ApiJson, ApiPath, ApiQuery, PageParams, Paged, created};
use crate::id::Snowflake;
use crate::limits::Bucket;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(writes_in(
            routes!(list_reactions, add_reaction),
            Bucket::Messages,
        ))
        .routes(writes_in(
            routes!(get_reaction, change_reaction, delete_reaction),
            Bucket::Writes,
        ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReactionFilter {
    /// Only the reactions on this message; without it, those on every
    /// message you can read.
    #[param(value_type = Option<String>)]
    message_id: Option<Snowflake>,
    /// Only this user's reactions.
    #[param(value_type = Option<String>)]
    user_id: Option<Snowflake>,
}

/// Reactions, oldest first: those on one message (`message_id`), or on
/// every message you can read; `user_id` keeps one user's.
#[utoipa::path(get, path = "/emojis", tag = "emojis", params(ReactionFilter, PageParams),
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = [Reaction]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn list_reactions(
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(filter): ApiQuery<ReactionFilter>,
    Paged(page): Paged,
) -> Result<Json<Vec<Reaction>>, AppError> {
    Ok(Json(
        reactions::list_reactions(&state, &actor, filter.message_id, filter.user_id, &page).await?,
    ))
}

/// React to a message you can read; the same emoji twice is 409.
#[utoipa::path(post, path = "/emojis", tag = "emojis", request_body = AddReaction,
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 201, body = Reaction), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_reaction(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(input): ApiJson<AddReaction>,
) -> Result<Response, AppError> {
    Ok(created(
        reactions::add_reaction(&state, &actor, input).await?,
    ))
}

#[utoipa::path(get, path = "/emojis/{id}", tag = "emojis", params(("id" = String, Path)),
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = Reaction), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_reaction(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Snowflake>,
) -> Result<Json<Reaction>, AppError> {
    Ok(Json(reactions::get_reaction(&state, &actor, id).await?))
}

/// Change the emoji of your own reaction.
#[utoipa::path(put, path = "/emojis/{id}", tag = "emojis", params(("id" = String, Path)), request_body = ChangeReaction,
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = Reaction), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn change_reaction(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Snowflake>,
    ApiJson(input): ApiJson<ChangeReaction>,
) -> Result<Json<Reaction>, AppError> {
    Ok(Json(
        reactions::change_reaction(&state, &actor, id, input).await?,
    ))
}

/// Remove a reaction (yours, or any as admin or owner).
#[utoipa::path(delete, path = "/emojis/{id}", tag = "emojis", params(("id" = String, Path)),
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_reaction(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Snowflake>,
) -> Result<StatusCode, AppError> {
    reactions::delete_reaction(&state, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
