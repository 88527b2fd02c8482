//! Another node's changes, applied to this node's caches. On several nodes
//! each node keeps its own copies (`memo`, `recent`); the node that made a
//! change forgets or updates its copies in the store method that wrote
//! it, and every other node does the same here when the change's event
//! reaches it (`cluster::relay`), from the event alone: the same forgets
//! as the writing methods, the same changes to the recent messages.

use crate::events::Event;
use crate::store::Store;
use crate::store::recent::{CachedReaction, Change};

impl Store {
    /// Applies an event committed by another node.
    pub fn apply_relayed(&self, event: &Event) {
        match event {
            Event::MessageCreate(message) => self.recent.posted(&[message]),
            Event::MessageUpdate(message) => self.recent.apply(
                message.channel_id,
                Change::Edited {
                    id: message.id,
                    content: message.content.clone(),
                    edited_at: message.edited_at.map_or(0, |t| t.timestamp_millis()),
                },
            ),
            Event::MessageDelete { id, channel_id } => {
                self.recent.apply(*channel_id, Change::Deleted(*id));
            }
            Event::ReactionAdd(r) => self.recent.apply(
                r.channel_id,
                Change::ReactionAdded {
                    message: r.message_id,
                    reaction: CachedReaction {
                        id: r.id,
                        user_id: r.user_id,
                        emoji: r.emoji.clone(),
                    },
                },
            ),
            Event::ReactionRemove(r) => self.recent.apply(
                r.channel_id,
                Change::ReactionRemoved {
                    message: r.message_id,
                    reaction: r.id,
                },
            ),
            Event::ChannelUpdate(channel) => self.memo.forget_channel(channel.id),
            Event::ChannelDelete { id, .. } => {
                self.memo.forget_channel(*id);
                self.recent.forget(*id);
            }
            Event::ServerUpdate(_) => self.memo.forget_all_access(),
            Event::ServerDelete { .. } => {
                self.memo.forget_all_access();
                self.recent.forget_all();
            }
            Event::MemberJoin(m) | Event::MemberUpdate(m) => self.memo.forget_user(m.user_id),
            Event::MemberLeave { user_id, .. } => self.memo.forget_user(*user_id),
            Event::RelationshipUpdate(r) => {
                self.memo.forget_user(r.user_id);
                self.memo.forget_user(r.friend_id);
            }
            Event::RelationshipDelete {
                user_id, friend_id, ..
            } => {
                self.memo.forget_user(*user_id);
                self.memo.forget_user(*friend_id);
            }
            Event::UserUpdate(user) => {
                self.memo.forget_user(user.id);
                // Author names are copied into the kept messages.
                self.recent.forget_all();
            }
            Event::UserDelete { id } => {
                self.memo.forget_user(*id);
                self.memo.forget_all_access();
                self.recent.forget_all();
            }
            Event::ChannelCreate(_)
            | Event::ServerCreate(_)
            | Event::Typing { .. }
            | Event::PresenceUpdates(_)
            | Event::SessionsEnded { .. } => {}
        }
    }

    /// Forgets every cached row: changes may have been missed.
    pub fn forget_cached(&self) {
        self.memo.forget_everything();
        self.recent.forget_all();
    }
}
