//! `/friendlists`: friend requests, friendships and blocks.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Actor;
use crate::domain::model::Relationship;
use crate::domain::relationships::{self, CreateRelationship, UpdateRelationship};
use crate::error::{AppError, ErrorBody};
use crate::http::ratelimit::writes_in;
use crate::http::{ApiJson, ApiPath, PageParams, Paged, created};
use crate::id::Snowflake;
use crate::limits::Bucket;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(writes_in(
            routes!(list_relationships, create_relationship),
            Bucket::Writes,
        ))
        .routes(writes_in(
            routes!(get_relationship, update_relationship, delete_relationship),
            Bucket::Writes,
        ))
}

/// Your relationships (a block is visible only to the blocker).
#[utoipa::path(get, path = "/friendlists", tag = "friendlists", params(PageParams),
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = [Relationship]), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_relationships(
    State(state): State<AppState>,
    actor: Actor,
    Paged(page): Paged,
) -> Result<Json<Vec<Relationship>>, AppError> {
    Ok(Json(
        relationships::list_relationships(&state, &actor, &page).await?,
    ))
}

/// Send a friend request to `friend_id` (if they already asked you, you
/// are now friends: 200), or block them with `"status": "blocked"`.
#[utoipa::path(post, path = "/friendlists", tag = "friendlists", request_body = CreateRelationship,
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 201, body = Relationship), (status = 200, body = Relationship, description = "an existing relationship, updated"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_relationship(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(input): ApiJson<CreateRelationship>,
) -> Result<Response, AppError> {
    let (rel, is_new) = relationships::create_relationship(&state, &actor, input).await?;
    Ok(if is_new {
        created(rel)
    } else {
        Json(rel).into_response()
    })
}

#[utoipa::path(get, path = "/friendlists/{id}", tag = "friendlists", params(("id" = String, Path)),
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = Relationship), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_relationship(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Snowflake>,
) -> Result<Json<Relationship>, AppError> {
    Ok(Json(
        relationships::get_relationship(&state, &actor, id).await?,
    ))
}

/// Accept a request (the addressee only) or block.
#[utoipa::path(put, path = "/friendlists/{id}", tag = "friendlists", params(("id" = String, Path)), request_body = UpdateRelationship,
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = Relationship), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_relationship(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Snowflake>,
    ApiJson(input): ApiJson<UpdateRelationship>,
) -> Result<Json<Relationship>, AppError> {
    Ok(Json(
        relationships::update_relationship(&state, &actor, id, input).await?,
    ))
}

/// Unfriend, cancel or decline a request, or unblock (the blocker only).
#[utoipa::path(delete, path = "/friendlists/{id}", tag = "friendlists", params(("id" = String, Path)),
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete_relationship(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Snowflake>,
) -> Result<StatusCode, AppError> {
    relationships::delete_relationship(&state, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
