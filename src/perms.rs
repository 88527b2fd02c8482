//! THE permission decision: given who acts, what they want to do, and the
//! facts about the target (fetched by the caller from `store`), answer
//! allowed or why not. REST handlers and socket events both ask here; no
//! other module decides who may do what.
//!
//! Refusals follow one rule: if the actor may not even *see* the target,
//! the answer is `NotFound` (never reveal that it exists); if they can see
//! it but may not do this, it is `Forbidden`.

use crate::domain::model::Relationship;
use crate::domain::values::{RelationshipStatus, Role};
use crate::error::AppError;
use crate::id::Snowflake;

/// How the actor stands towards a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelAccess {
    /// A server channel; `None` when the actor is not a member.
    Server(Option<Role>),
    /// A direct-message channel; `blocked` when either party blocked the other.
    Direct { participant: bool, blocked: bool },
}

/// Things done to a server, by its members.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerAction {
    Rename,
    Delete,
    ManageChannels,
    CreateInvite,
    ChangeRoles,
}

fn forbidden(what: &str) -> AppError {
    AppError::forbidden("missing_permission", format!("you may not {what}"))
}

/// Members see a server; nobody else learns it exists.
pub fn can_view_server(role: Option<Role>) -> Result<Role, AppError> {
    role.ok_or(AppError::NotFound("server"))
}

pub fn can_act_on_server(role: Option<Role>, action: ServerAction) -> Result<Role, AppError> {
    let role = can_view_server(role)?;
    let needed = match action {
        ServerAction::Rename | ServerAction::ManageChannels | ServerAction::CreateInvite => {
            Role::Admin
        }
        ServerAction::Delete | ServerAction::ChangeRoles => Role::Owner,
    };
    if role >= needed {
        Ok(role)
    } else {
        Err(forbidden(match action {
            ServerAction::Rename => "rename this server",
            ServerAction::Delete => "delete this server",
            ServerAction::ManageChannels => "manage this server's channels",
            ServerAction::CreateInvite => "create invites to this server",
            ServerAction::ChangeRoles => "change roles in this server",
        }))
    }
}

/// Changing a member's role: only the owner, never their own role (they
/// hand ownership over by making someone else `owner`).
pub fn can_change_role(
    actor: Snowflake,
    actor_role: Option<Role>,
    target: Snowflake,
) -> Result<(), AppError> {
    can_act_on_server(actor_role, ServerAction::ChangeRoles)?;
    if actor == target {
        return Err(AppError::conflict(
            "cannot_change_own_role",
            "the owner cannot change their own role; make another member owner instead",
        ));
    }
    Ok(())
}

/// Removing a member: anyone may leave (except the owner, who must hand
/// the server over or delete it); the owner kicks anyone; an admin kicks
/// plain members.
pub fn can_remove_member(
    actor: Snowflake,
    actor_role: Option<Role>,
    target: Snowflake,
    target_role: Role,
) -> Result<(), AppError> {
    let actor_role = can_view_server(actor_role)?;
    if actor == target {
        return if actor_role == Role::Owner {
            Err(AppError::conflict(
                "owner_cannot_leave",
                "the owner cannot leave; transfer ownership or delete the server",
            ))
        } else {
            Ok(())
        };
    }
    match (actor_role, target_role) {
        (Role::Owner, _) | (Role::Admin, Role::Member) => Ok(()),
        _ => Err(forbidden("remove this member")),
    }
}

pub fn can_read_channel(access: ChannelAccess) -> Result<(), AppError> {
    match access {
        ChannelAccess::Server(Some(_))
        | ChannelAccess::Direct {
            participant: true, ..
        } => Ok(()),
        _ => Err(AppError::NotFound("channel")),
    }
}

/// Posting (and reacting): whoever reads the channel, except in a DM where
/// one party has blocked the other.
pub fn can_post_in_channel(access: ChannelAccess) -> Result<(), AppError> {
    can_read_channel(access)?;
    if let ChannelAccess::Direct { blocked: true, .. } = access {
        return Err(blocked());
    }
    Ok(())
}

fn blocked() -> AppError {
    AppError::forbidden("blocked", "you cannot message this user")
}

/// The refusal of a post whose author could post when it was checked, but
/// no longer when it was written (kicked, left, blocked, or the channel
/// deleted meanwhile): what the check would now answer.
pub fn lost_access(checked: ChannelAccess) -> AppError {
    match checked {
        ChannelAccess::Direct { .. } => blocked(),
        ChannelAccess::Server(_) => AppError::NotFound("channel"),
    }
}

/// Renaming or deleting a channel: admins of its server. DM channels have
/// no managers.
pub fn can_manage_channel(access: ChannelAccess) -> Result<(), AppError> {
    can_read_channel(access)?;
    match access {
        ChannelAccess::Server(role) => {
            can_act_on_server(role, ServerAction::ManageChannels).map(|_| ())
        }
        ChannelAccess::Direct { .. } => Err(forbidden("change a direct-message channel")),
    }
}

/// Only the author edits a message (the caller has checked it can be read).
pub fn can_edit_message(actor: Snowflake, author: Snowflake) -> Result<(), AppError> {
    if actor == author {
        Ok(())
    } else {
        Err(forbidden("edit another user's message"))
    }
}

/// Whether the actor moderates the channel: admin or owner of its server.
fn moderates(access: ChannelAccess) -> bool {
    matches!(
        access,
        ChannelAccess::Server(Some(Role::Admin | Role::Owner))
    )
}

/// The author, or a moderator of the channel's server, deletes a message.
pub fn can_delete_message(
    actor: Snowflake,
    author: Snowflake,
    access: ChannelAccess,
) -> Result<(), AppError> {
    can_read_channel(access)?;
    if actor == author || moderates(access) {
        Ok(())
    } else {
        Err(forbidden("delete another user's message"))
    }
}

/// The reactor changes their own reaction.
pub fn can_change_reaction(actor: Snowflake, reactor: Snowflake) -> Result<(), AppError> {
    if actor == reactor {
        Ok(())
    } else {
        Err(forbidden("change another user's reaction"))
    }
}

/// The reactor, or a moderator, removes a reaction.
pub fn can_remove_reaction(
    actor: Snowflake,
    reactor: Snowflake,
    access: ChannelAccess,
) -> Result<(), AppError> {
    can_read_channel(access)?;
    if actor == reactor || moderates(access) {
        Ok(())
    } else {
        Err(forbidden("remove another user's reaction"))
    }
}

/// Only the user themself changes or deletes their account.
pub fn can_change_user(actor: Snowflake, target: Snowflake) -> Result<(), AppError> {
    if actor == target {
        Ok(())
    } else {
        Err(forbidden("change another user's account"))
    }
}

/// The two parties see a relationship, except that a block is invisible to
/// the one who was blocked.
pub fn can_view_relationship(actor: Snowflake, rel: &Relationship) -> Result<(), AppError> {
    let party = rel.user_id == actor || rel.friend_id == actor;
    let hidden_block = rel.status == RelationshipStatus::Blocked && rel.blocked_by != Some(actor);
    if party && !hidden_block {
        Ok(())
    } else {
        Err(AppError::NotFound("relationship"))
    }
}

/// Moving a relationship to `to`: only the addressee accepts a pending
/// request; either party blocks; nothing goes back to `pending`.
pub fn can_update_relationship(
    actor: Snowflake,
    rel: &Relationship,
    to: RelationshipStatus,
) -> Result<(), AppError> {
    can_view_relationship(actor, rel)?;
    match (rel.status, to) {
        (RelationshipStatus::Pending, RelationshipStatus::Accepted) => {
            if rel.friend_id == actor {
                Ok(())
            } else {
                Err(forbidden("accept your own friend request"))
            }
        }
        (RelationshipStatus::Accepted, RelationshipStatus::Accepted)
        | (RelationshipStatus::Blocked, RelationshipStatus::Blocked) => Ok(()),
        (
            RelationshipStatus::Pending | RelationshipStatus::Accepted,
            RelationshipStatus::Blocked,
        ) => Ok(()),
        (_, RelationshipStatus::Pending) => Err(AppError::invalid(
            "status",
            "a relationship cannot be set back to pending",
        )),
        (RelationshipStatus::Blocked, RelationshipStatus::Accepted) => Err(AppError::conflict(
            "relationship_blocked",
            "unblock (delete the relationship) before befriending",
        )),
    }
}

/// Either party deletes (unfriends, cancels, declines); a block is deleted
/// only by the one who blocked (visibility already hides it from the other).
pub fn can_delete_relationship(actor: Snowflake, rel: &Relationship) -> Result<(), AppError> {
    can_view_relationship(actor, rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Snowflake = Snowflake(1);
    const B: Snowflake = Snowflake(2);
    const C: Snowflake = Snowflake(3);

    fn rel(status: RelationshipStatus, blocked_by: Option<Snowflake>) -> Relationship {
        Relationship {
            id: Snowflake(9),
            user_id: A,
            friend_id: B,
            status,
            blocked_by,
            created_at: Default::default(),
            updated_at: Default::default(),
        }
    }

    #[test]
    fn server_actions_by_role() {
        use ServerAction::*;
        for (role, allowed) in [
            (Role::Member, vec![]),
            (Role::Admin, vec![Rename, ManageChannels, CreateInvite]),
            (
                Role::Owner,
                vec![Rename, Delete, ManageChannels, CreateInvite, ChangeRoles],
            ),
        ] {
            for action in [Rename, Delete, ManageChannels, CreateInvite, ChangeRoles] {
                let got = can_act_on_server(Some(role), action);
                assert_eq!(
                    got.is_ok(),
                    allowed.contains(&action),
                    "{role:?} {action:?}"
                );
                if let Err(e) = got {
                    assert_eq!(e.status(), 403);
                }
            }
        }
        let outsider = can_act_on_server(None, Rename).unwrap_err();
        assert_eq!(outsider.status(), 404);
    }

    #[test]
    fn member_removal_rules() {
        assert!(can_remove_member(B, Some(Role::Member), B, Role::Member).is_ok());
        assert_eq!(
            can_remove_member(A, Some(Role::Owner), A, Role::Owner)
                .unwrap_err()
                .status(),
            409
        );
        assert!(can_remove_member(A, Some(Role::Owner), B, Role::Admin).is_ok());
        assert!(can_remove_member(B, Some(Role::Admin), C, Role::Member).is_ok());
        assert_eq!(
            can_remove_member(B, Some(Role::Admin), C, Role::Admin)
                .unwrap_err()
                .status(),
            403
        );
        assert_eq!(
            can_remove_member(B, Some(Role::Member), C, Role::Member)
                .unwrap_err()
                .status(),
            403
        );
        assert_eq!(
            can_remove_member(C, None, B, Role::Member)
                .unwrap_err()
                .status(),
            404
        );
    }

    #[test]
    fn channel_access() {
        let dm = |participant, blocked| ChannelAccess::Direct {
            participant,
            blocked,
        };
        assert!(can_read_channel(dm(true, true)).is_ok());
        assert_eq!(
            can_read_channel(dm(false, false)).unwrap_err().status(),
            404
        );
        assert_eq!(
            can_post_in_channel(dm(true, true)).unwrap_err().status(),
            403
        );
        assert_eq!(
            can_manage_channel(dm(true, false)).unwrap_err().status(),
            403
        );
        assert_eq!(
            can_read_channel(ChannelAccess::Server(None))
                .unwrap_err()
                .status(),
            404
        );
        assert_eq!(
            can_manage_channel(ChannelAccess::Server(Some(Role::Member)))
                .unwrap_err()
                .status(),
            403
        );
        assert!(can_manage_channel(ChannelAccess::Server(Some(Role::Admin))).is_ok());
    }

    #[test]
    fn message_and_reaction_moderation() {
        let member = ChannelAccess::Server(Some(Role::Member));
        let admin = ChannelAccess::Server(Some(Role::Admin));
        assert!(can_delete_message(A, A, member).is_ok());
        assert_eq!(can_delete_message(B, A, member).unwrap_err().status(), 403);
        assert!(can_delete_message(B, A, admin).is_ok());
        assert_eq!(can_edit_message(B, A).unwrap_err().status(), 403);
        assert!(can_remove_reaction(B, A, admin).is_ok());
        assert_eq!(can_remove_reaction(B, A, member).unwrap_err().status(), 403);
        assert_eq!(can_change_reaction(B, A).unwrap_err().status(), 403);
    }

    #[test]
    fn relationships() {
        let pending = rel(RelationshipStatus::Pending, None);
        assert_eq!(
            can_update_relationship(A, &pending, RelationshipStatus::Accepted)
                .unwrap_err()
                .status(),
            403
        );
        assert!(can_update_relationship(B, &pending, RelationshipStatus::Accepted).is_ok());
        assert!(can_update_relationship(A, &pending, RelationshipStatus::Blocked).is_ok());
        assert_eq!(
            can_view_relationship(C, &pending).unwrap_err().status(),
            404
        );

        let blocked = rel(RelationshipStatus::Blocked, Some(B));
        assert!(can_view_relationship(B, &blocked).is_ok());
        assert_eq!(
            can_view_relationship(A, &blocked).unwrap_err().status(),
            404
        );
        assert_eq!(
            can_delete_relationship(A, &blocked).unwrap_err().status(),
            404
        );
        assert!(can_delete_relationship(B, &blocked).is_ok());
    }
}
