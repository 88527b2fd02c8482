//! Accounts: sign-up, profile, search, change and deletion.

use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::Actor;
use crate::client_addr::ClientIp;
use crate::domain::model::User;
use crate::domain::values::{DisplayName, Email, Password, Username};
use crate::error::AppError;
use crate::events::{Audience, Event};
use crate::id::Snowflake;
use crate::perms;
use crate::state::AppState;
use crate::store::users::{NewUser, UserChanges};
use crate::store::{Page, now_ms};

/// No `Debug`: it holds a password.
#[derive(Deserialize, ToSchema)]
pub struct SignUp {
    /// 2-32 of letters, digits, `_`, `.`, `-`; unique ignoring case.
    pub username: String,
    /// At least 8 characters.
    pub password: String,
    /// Defaults to the username.
    pub display_name: Option<String>,
    pub email: Option<String>,
}

/// No `Debug`: it may hold passwords.
#[derive(Default, Deserialize, ToSchema)]
pub struct UpdateUser {
    pub username: Option<String>,
    pub display_name: Option<String>,
    /// `null` removes the e-mail address.
    #[serde(default, deserialize_with = "super::explicit_null")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    /// A new password; needs `current_password`.
    pub password: Option<String>,
    pub current_password: Option<String>,
}

pub async fn sign_up(state: &AppState, input: SignUp) -> Result<User, AppError> {
    let username = Username::parse("username", input.username)?;
    let display_name = DisplayName::parse(
        "display_name",
        input
            .display_name
            .unwrap_or_else(|| username.as_str().to_owned()),
    )?;
    let email = input.email.map(|e| Email::parse("email", e)).transpose()?;
    let password = Password::parse("password", input.password)?;
    let password_hash = state.hashers.hash(&password).await?;
    state
        .store
        .create_user(NewUser {
            id: state.ids.next()?,
            username: &username,
            display_name: &display_name,
            email: email.as_ref(),
            password_hash: &password_hash,
            now: now_ms(),
        })
        .await
}

pub async fn get_user(state: &AppState, viewer: &Actor, id: Snowflake) -> Result<User, AppError> {
    state
        .store
        .user(id, Some(viewer.user_id))
        .await?
        .ok_or(AppError::NotFound("user"))
}

pub async fn list_users(
    state: &AppState,
    viewer: &Actor,
    prefix: Option<&str>,
    page: &Page,
) -> Result<Vec<User>, AppError> {
    state.store.list_users(prefix, page, viewer.user_id).await
}

pub async fn update_user(
    state: &AppState,
    actor: &Actor,
    client: ClientIp,
    id: Snowflake,
    input: UpdateUser,
) -> Result<User, AppError> {
    // Hide whether another account exists: 404 for unknown, 403 otherwise.
    if actor.user_id != id {
        state
            .store
            .user(id, None)
            .await?
            .ok_or(AppError::NotFound("user"))?;
    }
    perms::can_change_user(actor.user_id, id)?;
    let mut changes = UserChanges {
        username: input
            .username
            .map(|u| Username::parse("username", u))
            .transpose()?,
        display_name: input
            .display_name
            .map(|d| DisplayName::parse("display_name", d))
            .transpose()?,
        email: input
            .email
            .map(|e| e.map(|e| Email::parse("email", e)).transpose())
            .transpose()?,
        password_hash: None,
    };
    if let Some(new_password) = input.password {
        let new_password = Password::parse("password", new_password)?;
        let current = input.current_password.ok_or_else(|| {
            AppError::invalid("current_password", "is required to change the password")
        })?;
        // The login throttle guards this guess too: a stolen token must
        // not test passwords faster than a login could.
        state
            .login_limiter
            .check(client.limit_key(), &format!("#{id}"))
            .await?;
        let stored = state.store.password_hash(id).await?;
        if !state.hashers.verify(&current, stored).await? {
            return Err(AppError::forbidden(
                "wrong_password",
                "current_password is wrong",
            ));
        }
        changes.password_hash = Some(state.hashers.hash(&new_password).await?);
    }
    let user = state
        .store
        .update_user(id, &changes)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    if changes.password_hash.is_some() {
        // A password change ends every other session of the account.
        let ended = state
            .store
            .delete_other_sessions(id, actor.session_id)
            .await?;
        crate::domain::sessions::sessions_ended(state, id, ended);
    }
    let public = User {
        email: None,
        ..user.clone()
    };
    let audience = crate::domain::presence::contacts_audience(state, id).await?;
    state.events.publish(audience, Event::UserUpdate(public));
    Ok(user)
}

pub async fn delete_user(state: &AppState, actor: &Actor, id: Snowflake) -> Result<(), AppError> {
    if actor.user_id != id {
        state
            .store
            .user(id, None)
            .await?
            .ok_or(AppError::NotFound("user"))?;
    }
    perms::can_change_user(actor.user_id, id)?;
    let left = state
        .store
        .delete_user(id, now_ms())
        .await?
        .ok_or(AppError::NotFound("user"))?;
    // Its sessions are gone with it: no request may use them from now on.
    state.sessions.forget_user(id);
    for server_id in left {
        state.events.publish(
            Audience::Server(server_id),
            Event::MemberLeave {
                server_id,
                user_id: id,
            },
        );
    }
    state
        .events
        .publish(Audience::Users(vec![id]), Event::UserDelete { id });
    Ok(())
}
