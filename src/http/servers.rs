//! `/servers`, their invites (`/servers/{id}/invites`, `/invites/{code}/accept`)
//! and members (`/servers/{id}/members`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Actor;
use crate::domain::model::{Invite, Member, Server};
use crate::domain::servers::{self, CreateInvite, CreateServer, UpdateMember, UpdateServer};
use crate::error::{AppError, ErrorBody};
use crate::http::ratelimit::writes_in;
use crate::http::{ApiJson, ApiPath, OptionalJson, PageParams, Paged, created};
use crate::id::Snowflake;
use crate::limits::Bucket;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(writes_in(
            routes!(list_servers, create_server),
            Bucket::Writes,
        ))
        .routes(writes_in(
            routes!(get_server, update_server, delete_server),
            Bucket::Writes,
        ))
        .routes(writes_in(routes!(create_invite), Bucket::Writes))
        .routes(writes_in(routes!(accept_invite), Bucket::Writes))
        .routes(writes_in(routes!(list_members), Bucket::Writes))
        .routes(writes_in(
            routes!(update_member, remove_member),
            Bucket::Writes,
        ))
}

/// The servers you are a member of.
#[utoipa::path(get, path = "/servers", tag = "servers", params(PageParams),
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = [Server]), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_servers(
    State(state): State<AppState>,
    actor: Actor,
    Paged(page): Paged,
) -> Result<Json<Vec<Server>>, AppError> {
    Ok(Json(servers::list_servers(&state, &actor, &page).await?))
}

/// Create a server; you become its owner, and it gets a `general` channel.
#[utoipa::path(post, path = "/servers", tag = "servers", request_body = CreateServer,
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 201, body = Server), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_server(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(input): ApiJson<CreateServer>,
) -> Result<Response, AppError> {
    Ok(created(
        servers::create_server(&state, &actor, input).await?,
    ))
}

#[utoipa::path(get, path = "/servers/{id}", tag = "servers", params(("id" = String, Path)),
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = Server), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_server(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Snowflake>,
) -> Result<Json<Server>, AppError> {
    Ok(Json(servers::get_server(&state, &actor, id).await?))
}

/// Rename a server (owner and admins).
#[utoipa::path(put, path = "/servers/{id}", tag = "servers", params(("id" = String, Path)), request_body = UpdateServer,
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = Server), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_server(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Snowflake>,
    ApiJson(input): ApiJson<UpdateServer>,
) -> Result<Json<Server>, AppError> {
    Ok(Json(
        servers::update_server(&state, &actor, id, input).await?,
    ))
}

/// Delete a server with everything in it (owner only).
#[utoipa::path(delete, path = "/servers/{id}", tag = "servers", params(("id" = String, Path)),
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_server(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Snowflake>,
) -> Result<StatusCode, AppError> {
    servers::delete_server(&state, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create an invite code (owner and admins). The body is optional.
#[utoipa::path(post, path = "/servers/{id}/invites", tag = "members", params(("id" = String, Path)),
    request_body(content = CreateInvite, description = "optional"),
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 201, body = Invite), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_invite(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Snowflake>,
    OptionalJson(input): OptionalJson<CreateInvite>,
) -> Result<Response, AppError> {
    Ok(created(
        servers::create_invite(&state, &actor, id, input).await?,
    ))
}

/// Join the server an invite is for. Unknown, expired and used-up codes are 404.
#[utoipa::path(post, path = "/invites/{code}/accept", tag = "members", params(("code" = String, Path)),
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = Server), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn accept_invite(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<Server>, AppError> {
    Ok(Json(servers::accept_invite(&state, &actor, &code).await?.0))
}

/// The members of a server (members only), by user id.
#[utoipa::path(get, path = "/servers/{id}/members", tag = "members", params(("id" = String, Path), PageParams),
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = [Member]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn list_members(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Snowflake>,
    Paged(page): Paged,
) -> Result<Json<Vec<Member>>, AppError> {
    Ok(Json(
        servers::list_members(&state, &actor, id, &page).await?,
    ))
}

/// Change a member's role (owner only); `owner` hands the server over.
#[utoipa::path(put, path = "/servers/{id}/members/{user_id}", tag = "members",
    params(("id" = String, Path), ("user_id" = String, Path)), request_body = UpdateMember,
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = Member), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_member(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath((id, user_id)): ApiPath<(Snowflake, Snowflake)>,
    ApiJson(input): ApiJson<UpdateMember>,
) -> Result<Json<Member>, AppError> {
    Ok(Json(
        servers::update_member(&state, &actor, id, user_id, input).await?,
    ))
}

/// Leave (your own id) or kick: the owner kicks anyone, admins kick members.
#[utoipa::path(delete, path = "/servers/{id}/members/{user_id}", tag = "members",
    params(("id" = String, Path), ("user_id" = String, Path)),
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn remove_member(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath((id, user_id)): ApiPath<(Snowflake, Snowflake)>,
) -> Result<StatusCode, AppError> {
    servers::remove_member(&state, &actor, id, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
