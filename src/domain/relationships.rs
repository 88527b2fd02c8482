//! Friend requests, friendships and blocks (`/friendlists`).

use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::Actor;
use crate::domain::model::Relationship;
use crate::domain::values::RelationshipStatus;
use crate::error::AppError;
use crate::events::{Audience, Event};
use crate::id::Snowflake;
use crate::perms;
use crate::state::AppState;
use crate::store::{Page, now_ms};

#[derive(Deserialize, ToSchema)]
pub struct CreateRelationship {
    #[schema(value_type = String)]
    pub friend_id: Snowflake,
    /// `pending` (default: a friend request) or `blocked`.
    pub status: Option<RelationshipStatus>,
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateRelationship {
    /// `accepted` (the addressee accepts a request) or `blocked`.
    pub status: RelationshipStatus,
}

/// Tells both parties what changed; a block is news only to the blocker,
/// and to the blocked party the relationship simply disappears.
fn announce(state: &AppState, rel: &Relationship) {
    if rel.status == RelationshipStatus::Blocked {
        let blocker = rel.blocked_by.unwrap_or(rel.user_id);
        let other = rel.other(blocker);
        state.events.publish(
            Audience::Users(vec![blocker]),
            Event::RelationshipUpdate(rel.clone()),
        );
        state.events.publish(
            Audience::Users(vec![other]),
            Event::RelationshipDelete {
                id: rel.id,
                user_id: rel.user_id,
                friend_id: rel.friend_id,
            },
        );
    } else {
        state.events.publish(
            Audience::Users(vec![rel.user_id, rel.friend_id]),
            Event::RelationshipUpdate(rel.clone()),
        );
    }
}

async fn set_status(
    state: &AppState,
    rel: &Relationship,
    status: RelationshipStatus,
    actor: &Actor,
) -> Result<Relationship, AppError> {
    let blocked_by = (status == RelationshipStatus::Blocked).then_some(actor.user_id);
    let updated = state
        .store
        .set_relationship_status(rel, status, blocked_by, now_ms())
        .await?
        .ok_or(AppError::NotFound("relationship"))?;
    announce(state, &updated);
    Ok(updated)
}

fn blocked() -> AppError {
    AppError::forbidden("blocked", "you cannot befriend this user")
}

/// Attempts at a relationship write whose state changed between the read
/// and the write (the store writes only if it did not): each attempt reads
/// and judges again.
const ATTEMPTS: usize = 3;

/// Runs `attempt` again while the store answers `relationship_changed`.
async fn judged_afresh<T, F: Future<Output = Result<T, AppError>>>(
    mut attempt: impl FnMut() -> F,
) -> Result<T, AppError> {
    let mut left = ATTEMPTS;
    loop {
        left -= 1;
        match attempt().await {
            Err(e) if left > 0 && e.code() == "relationship_changed" => continue,
            done => return done,
        }
    }
}

/// Sends a friend request, accepts the other side's pending request, or
/// blocks. Returns the relationship and whether a new one was created.
pub async fn create_relationship(
    state: &AppState,
    actor: &Actor,
    input: CreateRelationship,
) -> Result<(Relationship, bool), AppError> {
    let (friend, want) = (input.friend_id, input.status);
    judged_afresh(|| create_once(state, actor, friend, want)).await
}

async fn create_once(
    state: &AppState,
    actor: &Actor,
    friend: Snowflake,
    want: Option<RelationshipStatus>,
) -> Result<(Relationship, bool), AppError> {
    let want = want.unwrap_or(RelationshipStatus::Pending);
    if want == RelationshipStatus::Accepted {
        return Err(AppError::invalid(
            "status",
            "must be pending or blocked; accept with PUT",
        ));
    }
    if friend == actor.user_id {
        return Err(AppError::invalid("friend_id", "cannot befriend yourself"));
    }
    state
        .store
        .user(friend, None)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    let Some(existing) = state
        .store
        .relationship_between(actor.user_id, friend)
        .await?
    else {
        let now = now_ms();
        let id = state.ids.next()?;
        let rel = Relationship {
            id,
            user_id: actor.user_id,
            friend_id: friend,
            status: want,
            blocked_by: (want == RelationshipStatus::Blocked).then_some(actor.user_id),
            created_at: crate::store::time_from_ms(now),
            updated_at: crate::store::time_from_ms(now),
        };
        state.store.insert_relationship(&rel, now).await?;
        announce(state, &rel);
        return Ok((rel, true));
    };
    use RelationshipStatus::*;
    let updated = match (existing.status, want) {
        (Blocked, _) if existing.blocked_by != Some(actor.user_id) => return Err(blocked()),
        (Blocked, Blocked) => existing,
        (Blocked, _) => {
            return Err(AppError::conflict(
                "relationship_blocked",
                "unblock (delete the relationship) first",
            ));
        }
        (_, Blocked) => set_status(state, &existing, Blocked, actor).await?,
        (Pending, _) if existing.friend_id == actor.user_id => {
            set_status(state, &existing, Accepted, actor).await?
        }
        (Pending, _) => {
            return Err(AppError::conflict(
                "already_requested",
                "you already sent a friend request",
            ));
        }
        (Accepted, _) => {
            return Err(AppError::conflict(
                "already_friends",
                "you are already friends",
            ));
        }
    };
    Ok((updated, false))
}

async fn visible(state: &AppState, actor: &Actor, id: Snowflake) -> Result<Relationship, AppError> {
    let rel = state
        .store
        .relationship(id)
        .await?
        .ok_or(AppError::NotFound("relationship"))?;
    perms::can_view_relationship(actor.user_id, &rel)?;
    Ok(rel)
}

pub async fn get_relationship(
    state: &AppState,
    actor: &Actor,
    id: Snowflake,
) -> Result<Relationship, AppError> {
    visible(state, actor, id).await
}

pub async fn list_relationships(
    state: &AppState,
    actor: &Actor,
    page: &Page,
) -> Result<Vec<Relationship>, AppError> {
    state.store.relationships_of(actor.user_id, page).await
}

pub async fn update_relationship(
    state: &AppState,
    actor: &Actor,
    id: Snowflake,
    input: UpdateRelationship,
) -> Result<Relationship, AppError> {
    judged_afresh(|| async {
        let rel = visible(state, actor, id).await?;
        perms::can_update_relationship(actor.user_id, &rel, input.status)?;
        if rel.status == input.status {
            return Ok(rel);
        }
        set_status(state, &rel, input.status, actor).await
    })
    .await
}

pub async fn delete_relationship(
    state: &AppState,
    actor: &Actor,
    id: Snowflake,
) -> Result<(), AppError> {
    let rel = judged_afresh(|| async {
        let rel = visible(state, actor, id).await?;
        perms::can_delete_relationship(actor.user_id, &rel)?;
        if !state.store.delete_relationship(&rel).await? {
            return Err(AppError::NotFound("relationship"));
        }
        Ok(rel)
    })
    .await?;
    let audience = if rel.status == RelationshipStatus::Blocked {
        vec![actor.user_id]
    } else {
        vec![rel.user_id, rel.friend_id]
    };
    state.events.publish(
        Audience::Users(audience),
        Event::RelationshipDelete {
            id,
            user_id: rel.user_id,
            friend_id: rel.friend_id,
        },
    );
    Ok(())
}
