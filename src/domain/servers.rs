//! Servers, their invites and their members.

use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::Actor;
use crate::auth::token::invite_code;
use crate::domain::model::{Invite, Member, Server};
use crate::domain::values::{Role, ServerName, Username};
use crate::error::AppError;
use crate::events::{Audience, Event};
use crate::id::Snowflake;
use crate::perms::{self, ServerAction};
use crate::state::AppState;
use crate::store::invites::{Accepted, NewInvite};
use crate::store::servers::{CreatedServer, NewServer};
use crate::store::{Page, now_ms};

#[derive(Deserialize, ToSchema)]
pub struct CreateServer {
    /// 1-100 characters.
    pub name: String,
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateServer {
    pub name: String,
}

#[derive(Default, Deserialize, ToSchema)]
pub struct CreateInvite {
    /// Seconds until the invite expires (1 to 30 days); default: never.
    pub max_age_secs: Option<i64>,
    /// How many times it can be used (1-1000); default: unlimited.
    pub max_uses: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateMember {
    /// `member` or `admin`; `owner` hands the server over.
    pub role: Role,
}

/// The refusal of a user who already belongs to the most servers allowed.
fn server_quota_reached(state: &AppState) -> AppError {
    let max = state.settings.max_servers_per_user;
    AppError::limit_reached(format!("you can be in at most {max} servers"))
}

/// Fetches a server with the actor's role, or 404 if absent.
async fn server_and_role(
    state: &AppState,
    actor: &Actor,
    id: Snowflake,
) -> Result<(Server, Option<Role>), AppError> {
    state
        .store
        .server_with_role(id, actor.user_id)
        .await?
        .map(|s| (s.server, s.role))
        .ok_or(AppError::NotFound("server"))
}

pub async fn create_server(
    state: &AppState,
    actor: &Actor,
    input: CreateServer,
) -> Result<Server, AppError> {
    let name = ServerName::parse("name", input.name)?;
    let owner = state
        .store
        .user(actor.user_id, None)
        .await?
        .ok_or(AppError::Unauthorized)?;
    let owner_name = Username::parse("username", owner.username)?;
    let CreatedServer {
        server,
        owner: member,
        general: channel,
    } = state
        .store
        .create_server(
            NewServer {
                id: state.ids.next()?,
                name: &name,
                owner: actor.user_id,
                owner_name: &owner_name,
                owner_display_name: &owner.display_name,
                general_channel_id: state.ids.next()?,
                now: now_ms(),
            },
            state.settings.max_servers_per_user,
        )
        .await?
        .ok_or_else(|| server_quota_reached(state))?;
    let me = Audience::Users(vec![actor.user_id]);
    state
        .events
        .publish(me.clone(), Event::ServerCreate(server.clone()));
    state.events.publish(me.clone(), Event::MemberJoin(member));
    state.events.publish(me, Event::ChannelCreate(channel));
    Ok(server)
}

pub async fn get_server(
    state: &AppState,
    actor: &Actor,
    id: Snowflake,
) -> Result<Server, AppError> {
    let (server, role) = server_and_role(state, actor, id).await?;
    perms::can_view_server(role)?;
    Ok(server)
}

pub async fn list_servers(
    state: &AppState,
    actor: &Actor,
    page: &Page,
) -> Result<Vec<Server>, AppError> {
    state.store.servers_of(actor.user_id, page).await
}

pub async fn update_server(
    state: &AppState,
    actor: &Actor,
    id: Snowflake,
    input: UpdateServer,
) -> Result<Server, AppError> {
    let (_, role) = server_and_role(state, actor, id).await?;
    perms::can_act_on_server(role, ServerAction::Rename)?;
    let name = ServerName::parse("name", input.name)?;
    let server = state
        .store
        .rename_server(id, &name)
        .await?
        .ok_or(AppError::NotFound("server"))?;
    state
        .events
        .publish(Audience::Server(id), Event::ServerUpdate(server.clone()));
    Ok(server)
}

pub async fn delete_server(state: &AppState, actor: &Actor, id: Snowflake) -> Result<(), AppError> {
    let (_, role) = server_and_role(state, actor, id).await?;
    perms::can_act_on_server(role, ServerAction::Delete)?;
    if !state.store.delete_server(id).await? {
        return Err(AppError::NotFound("server"));
    }
    state
        .events
        .publish(Audience::Server(id), Event::ServerDelete { id });
    Ok(())
}

pub async fn create_invite(
    state: &AppState,
    actor: &Actor,
    server: Snowflake,
    input: CreateInvite,
) -> Result<Invite, AppError> {
    let (_, role) = server_and_role(state, actor, server).await?;
    perms::can_act_on_server(role, ServerAction::CreateInvite)?;
    if let Some(age) = input.max_age_secs
        && !(1..=30 * 86_400).contains(&age)
    {
        return Err(AppError::invalid(
            "max_age_secs",
            "must be 1 to 2592000 seconds",
        ));
    }
    if let Some(uses) = input.max_uses
        && !(1..=1000).contains(&uses)
    {
        return Err(AppError::invalid("max_uses", "must be 1 to 1000"));
    }
    let now = now_ms();
    state
        .store
        .create_invite(NewInvite {
            code: &invite_code(),
            server,
            creator: actor.user_id,
            now,
            expires_at: input.max_age_secs.map(|s| now + s * 1000),
            max_uses: input.max_uses,
        })
        .await
}

/// Joins the invite's server; returns the server and whether this call
/// joined it (false: already a member).
pub async fn accept_invite(
    state: &AppState,
    actor: &Actor,
    code: &str,
) -> Result<(Server, bool), AppError> {
    if code.is_empty() || code.len() > 32 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(AppError::NotFound("invite"));
    }
    let (server_id, joined) = match state
        .store
        .accept_invite(
            code,
            actor.user_id,
            now_ms(),
            state.settings.max_servers_per_user,
        )
        .await?
    {
        Some(Accepted::Joined(id)) => (id, true),
        Some(Accepted::AlreadyMember(id)) => (id, false),
        Some(Accepted::AtQuota) => return Err(server_quota_reached(state)),
        None => return Err(AppError::NotFound("invite")),
    };
    let (server, _) = server_and_role(state, actor, server_id).await?;
    if joined && let Some(member) = state.store.member(server_id, actor.user_id).await? {
        // The newcomer's own sockets first learn of the server, then
        // everyone (newcomer included) of the new member.
        state.events.publish(
            Audience::Users(vec![actor.user_id]),
            Event::ServerCreate(server.clone()),
        );
        state
            .events
            .publish(Audience::Server(server_id), Event::MemberJoin(member));
    }
    Ok((server, joined))
}

pub async fn list_members(
    state: &AppState,
    actor: &Actor,
    server: Snowflake,
    page: &Page,
) -> Result<Vec<Member>, AppError> {
    let (_, role) = server_and_role(state, actor, server).await?;
    perms::can_view_server(role)?;
    state.store.members(server, page).await
}

pub async fn update_member(
    state: &AppState,
    actor: &Actor,
    server: Snowflake,
    user: Snowflake,
    input: UpdateMember,
) -> Result<Member, AppError> {
    let (_, role) = server_and_role(state, actor, server).await?;
    perms::can_view_server(role)?;
    if state.store.member_role(server, user).await?.is_none() {
        return Err(AppError::NotFound("member"));
    }
    perms::can_change_role(actor.user_id, role, user)?;
    if !state
        .store
        .set_member_role(server, user, input.role)
        .await?
    {
        return Err(AppError::NotFound("member"));
    }
    let member = state
        .store
        .member(server, user)
        .await?
        .ok_or(AppError::NotFound("member"))?;
    let audience = Audience::Server(server);
    state
        .events
        .publish(audience.clone(), Event::MemberUpdate(member.clone()));
    if input.role == Role::Owner {
        // The previous owner is now an admin, and the server has a new owner.
        if let Some(previous) = state.store.member(server, actor.user_id).await? {
            state
                .events
                .publish(audience.clone(), Event::MemberUpdate(previous));
        }
        let (updated, _) = server_and_role(state, actor, server).await?;
        state.events.publish(audience, Event::ServerUpdate(updated));
    }
    Ok(member)
}

/// Leaving (when `user` is the actor) or kicking.
pub async fn remove_member(
    state: &AppState,
    actor: &Actor,
    server: Snowflake,
    user: Snowflake,
) -> Result<(), AppError> {
    let (_, role) = server_and_role(state, actor, server).await?;
    perms::can_view_server(role)?;
    let target_role = state
        .store
        .member_role(server, user)
        .await?
        .ok_or(AppError::NotFound("member"))?;
    perms::can_remove_member(actor.user_id, role, user, target_role)?;
    if !state.store.remove_member(server, user).await? {
        return Err(AppError::NotFound("member"));
    }
    // The gateway delivers this to the server's room before moving the
    // removed user's sockets out of it, so they hear it too.
    state.events.publish(
        Audience::Server(server),
        Event::MemberLeave {
            server_id: server,
            user_id: user,
        },
    );
    Ok(())
}
