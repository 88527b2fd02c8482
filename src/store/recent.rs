//! The newest messages of the channels being read, kept in memory so that
//! the most common read, "the latest page of this channel", needs no query.
//! The database stays the truth: a window is loaded from it on the first
//! read of a channel, and every store write that changes a message, its
//! reactions or its author is applied to the window right after it
//! commits (`Store::{insert_messages, edit_message, delete_message, ..}`).
//!
//! A load reads the database while writes go on. So that no write falls
//! between the rows it read and the moment it stores them, the channel is
//! marked as loading first, changes arriving meanwhile are queued, and the
//! load replays them onto what it read. Every change is idempotent (keyed
//! by message and reaction ids), so replaying one the rows already hold
//! is harmless.
//!
//! A window holds every message of its channel from its oldest one up;
//! deletions shrink it, and a window grown short of a page is dropped and
//! reloaded. Hand-written because no cache crate offers this write-through
//! with replay; the number of windows and their length are bounded.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use crate::domain::model::{Message, ReactionSummary};
use crate::id::Snowflake;

/// Messages kept per channel: the largest page a client may ask for.
pub const WINDOW: usize = crate::store::Page::MAX_LIMIT as usize;
/// Channels kept at once; the least recently read goes first.
const MAX_CHANNELS: usize = 4096;
/// Changes queued for one load before it gives up.
const MAX_PENDING: usize = 10_000;

/// A message as kept: without tallies (they depend on who reads) but with
/// every reaction, in id order.
pub struct Cached {
    message: Message,
    reactions: Vec<CachedReaction>,
    /// The message's JSON, encoded on first read; with no reactions it is
    /// the same for every reader, so most pages are copied, not encoded.
    encoded: OnceLock<Option<Box<RawValue>>>,
}

/// A message in a listed page: built for its reader, or kept and encoded
/// once (the same JSON either way).
pub enum Listed {
    Built(Message),
    Kept(Arc<Cached>),
}

impl Serialize for Listed {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Listed::Built(message) => message.serialize(s),
            Listed::Kept(cached) => match cached.encoded() {
                Some(json) => json.serialize(s),
                None => cached.message.serialize(s),
            },
        }
    }
}

#[derive(Clone)]
pub struct CachedReaction {
    pub id: Snowflake,
    pub user_id: Snowflake,
    pub emoji: String,
}

impl Cached {
    pub fn new(mut message: Message, mut reactions: Vec<CachedReaction>) -> Self {
        message.reactions = Vec::new();
        message.nonce = None;
        reactions.sort_by_key(|r| r.id);
        Self {
            message,
            reactions,
            encoded: OnceLock::new(),
        }
    }

    /// The message as `viewer` lists it.
    pub fn listed(self: &Arc<Self>, viewer: Snowflake) -> Listed {
        if self.reactions.is_empty() {
            Listed::Kept(self.clone())
        } else {
            Listed::Built(self.for_viewer(viewer))
        }
    }

    /// The JSON of the message without reactions.
    fn encoded(&self) -> Option<&RawValue> {
        self.encoded
            .get_or_init(|| serde_json::value::to_raw_value(&self.message).ok())
            .as_deref()
    }

    /// The message as `viewer` sees it: each emoji's count and whether
    /// they used it, emojis in the order first used.
    pub fn for_viewer(&self, viewer: Snowflake) -> Message {
        let mut tallies: Vec<ReactionSummary> = Vec::new();
        for r in &self.reactions {
            let me = r.user_id == viewer;
            match tallies.iter_mut().find(|t| t.emoji == r.emoji) {
                Some(t) => {
                    t.count += 1;
                    t.me |= me;
                }
                None => tallies.push(ReactionSummary {
                    emoji: r.emoji.clone(),
                    count: 1,
                    me,
                }),
            }
        }
        Message {
            reactions: tallies,
            ..self.message.clone()
        }
    }

    fn id(&self) -> Snowflake {
        self.message.id
    }

    /// A copy with `change` applied to its reactions.
    fn with_reactions(&self, change: impl FnOnce(&mut Vec<CachedReaction>)) -> Self {
        let mut reactions = self.reactions.clone();
        change(&mut reactions);
        Self::new(self.message.clone(), reactions)
    }
}

/// One committed change to a channel's messages.
pub enum Change {
    Posted(Vec<Arc<Cached>>),
    Edited {
        id: Snowflake,
        content: String,
        edited_at: i64,
    },
    Deleted(Snowflake),
    ReactionAdded {
        message: Snowflake,
        reaction: CachedReaction,
    },
    ReactionChanged {
        message: Snowflake,
        reaction: Snowflake,
        emoji: String,
    },
    ReactionRemoved {
        message: Snowflake,
        reaction: Snowflake,
    },
}

struct Window {
    /// Ascending by id.
    messages: VecDeque<Arc<Cached>>,
    /// The window holds every message the channel has.
    complete: bool,
    last_read: u64,
}

impl Window {
    fn position(&self, id: Snowflake) -> Result<usize, usize> {
        self.messages.binary_search_by_key(&id, |m| m.id())
    }

    fn apply(&mut self, change: &Change) {
        match change {
            Change::Posted(new) => {
                for message in new {
                    // Older than the window: outside what it covers.
                    if !self.complete
                        && self.messages.front().is_some_and(|m| m.id() > message.id())
                    {
                        continue;
                    }
                    if let Err(at) = self.position(message.id()) {
                        self.messages.insert(at, message.clone());
                    }
                }
                while self.messages.len() > WINDOW {
                    self.messages.pop_front();
                    self.complete = false;
                }
            }
            Change::Edited {
                id,
                content,
                edited_at,
            } => {
                if let Ok(at) = self.position(*id) {
                    let old = &self.messages[at];
                    let mut message = old.message.clone();
                    message.content = content.clone();
                    message.edited_at = Some(crate::store::time_from_ms(*edited_at));
                    self.messages[at] = Arc::new(Cached::new(message, old.reactions.clone()));
                }
            }
            Change::Deleted(id) => {
                if let Ok(at) = self.position(*id) {
                    self.messages.remove(at);
                }
            }
            Change::ReactionAdded { message, reaction } => {
                self.change_reactions(*message, |all| {
                    if !all.iter().any(|r| r.id == reaction.id) {
                        all.push(reaction.clone());
                    }
                });
            }
            Change::ReactionChanged {
                message,
                reaction,
                emoji,
            } => {
                self.change_reactions(*message, |all| {
                    if let Some(r) = all.iter_mut().find(|r| r.id == *reaction) {
                        r.emoji = emoji.clone();
                    }
                });
            }
            Change::ReactionRemoved { message, reaction } => {
                self.change_reactions(*message, |all| all.retain(|r| r.id != *reaction));
            }
        }
    }

    fn change_reactions(
        &mut self,
        message: Snowflake,
        change: impl FnOnce(&mut Vec<CachedReaction>),
    ) {
        if let Ok(at) = self.position(message) {
            self.messages[at] = Arc::new(self.messages[at].with_reactions(change));
        }
    }
}

enum Slot {
    /// A load is reading the database; changes wait here for it.
    Loading {
        ticket: u64,
        pending: Vec<Change>,
    },
    Ready(Window),
}

#[derive(Default)]
pub struct Recent {
    slots: Mutex<HashMap<Snowflake, Slot>>,
    clock: AtomicU64,
}

/// Applies `change` to `channel`'s window, or queues it for the load in
/// progress.
fn apply_to(slots: &mut HashMap<Snowflake, Slot>, channel: Snowflake, change: Change) {
    match slots.get_mut(&channel) {
        None => {}
        Some(Slot::Ready(window)) => window.apply(&change),
        Some(Slot::Loading { pending, .. }) => {
            if pending.len() >= MAX_PENDING {
                slots.remove(&channel);
            } else {
                pending.push(change);
            }
        }
    }
}

/// Permission to load one channel's window; from `Recent::begin_load`.
pub struct LoadTicket {
    channel: Snowflake,
    ticket: u64,
}

impl Recent {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Snowflake, Slot>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::Relaxed)
    }

    /// The newest `limit` messages of `channel`, newest first, if the
    /// window holds them.
    pub fn newest(&self, channel: Snowflake, limit: usize) -> Option<Vec<Arc<Cached>>> {
        let now = self.tick();
        let mut slots = self.lock();
        let Some(Slot::Ready(window)) = slots.get_mut(&channel) else {
            return None;
        };
        if window.messages.len() < limit && !window.complete {
            // Deletions ate into it: read again from the database.
            slots.remove(&channel);
            return None;
        }
        window.last_read = now;
        Some(window.messages.iter().rev().take(limit).cloned().collect())
    }

    /// Marks `channel` as loading, unless it is held or already loading.
    pub fn begin_load(&self, channel: Snowflake) -> Option<LoadTicket> {
        let ticket = self.tick();
        let mut slots = self.lock();
        if slots.contains_key(&channel) {
            return None;
        }
        if slots.len() >= MAX_CHANNELS {
            let coldest = slots
                .iter()
                .filter_map(|(id, slot)| match slot {
                    Slot::Ready(w) => Some((w.last_read, *id)),
                    Slot::Loading { .. } => None,
                })
                .min()?
                .1;
            slots.remove(&coldest);
        }
        slots.insert(
            channel,
            Slot::Loading {
                ticket,
                pending: Vec::new(),
            },
        );
        Some(LoadTicket { channel, ticket })
    }

    /// Stores what a load read (the channel's newest `WINDOW` messages,
    /// ascending), with the changes that arrived meanwhile replayed.
    pub fn finish_load(&self, load: LoadTicket, messages: Vec<Cached>) {
        let now = self.tick();
        let mut slots = self.lock();
        let Some(Slot::Loading { ticket, pending }) = slots.get_mut(&load.channel) else {
            return;
        };
        if *ticket != load.ticket {
            return;
        }
        let pending = std::mem::take(pending);
        let mut window = Window {
            complete: messages.len() < WINDOW,
            messages: messages.into_iter().map(Arc::new).collect(),
            last_read: now,
        };
        for change in &pending {
            window.apply(change);
        }
        slots.insert(load.channel, Slot::Ready(window));
    }

    /// A load that failed: the channel is read from the database again.
    pub fn abandon_load(&self, load: LoadTicket) {
        let mut slots = self.lock();
        if matches!(slots.get(&load.channel), Some(Slot::Loading { ticket, .. }) if *ticket == load.ticket)
        {
            slots.remove(&load.channel);
        }
    }

    /// Applies a committed change to `channel`'s window, if it is kept.
    pub fn apply(&self, channel: Snowflake, change: Change) {
        apply_to(&mut self.lock(), channel, change);
    }

    /// Adds newly committed messages to the windows kept for their
    /// channels, under one lock; a message of a channel nobody reads is
    /// not copied.
    pub fn posted(&self, messages: &[&Message]) {
        let mut slots = self.lock();
        for message in messages {
            if slots.contains_key(&message.channel_id) {
                let kept = Arc::new(Cached::new((*message).clone(), Vec::new()));
                apply_to(&mut slots, message.channel_id, Change::Posted(vec![kept]));
            }
        }
    }

    /// A channel is gone (or a change could not be applied precisely).
    pub fn forget(&self, channel: Snowflake) {
        self.lock().remove(&channel);
    }

    /// Forgets every window: an author's names changed, or a server with
    /// its channels is gone.
    pub fn forget_all(&self) {
        self.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::domain::model::Author;

    fn message(id: i64) -> Cached {
        Cached::new(
            Message {
                id: Snowflake(id),
                channel_id: Snowflake(1),
                author_id: Snowflake(9),
                author: Author {
                    id: Snowflake(9),
                    username: "ann".into(),
                    display_name: "Ann".into(),
                    deleted: false,
                },
                content: format!("m{id}"),
                reply_to: None,
                created_at: DateTime::UNIX_EPOCH,
                edited_at: None,
                reactions: Vec::new(),
                nonce: None,
            },
            Vec::new(),
        )
    }

    fn ids(found: &[Arc<Cached>]) -> Vec<i64> {
        found.iter().map(|m| m.id().0).collect()
    }

    #[test]
    fn changes_during_a_load_are_replayed_onto_what_it_read() {
        let recent = Recent::default();
        let channel = Snowflake(1);
        let load = recent.begin_load(channel).unwrap();
        assert!(recent.begin_load(channel).is_none(), "one load at a time");
        // Committed while the load read: 3 (which the load saw) and 4 (which it did not).
        recent.apply(channel, Change::Posted(vec![Arc::new(message(3))]));
        recent.apply(channel, Change::Posted(vec![Arc::new(message(4))]));
        recent.apply(channel, Change::Deleted(Snowflake(2)));
        recent.finish_load(load, vec![message(1), message(2), message(3)]);
        assert_eq!(ids(&recent.newest(channel, 10).unwrap()), vec![4, 3, 1]);
    }

    #[test]
    fn tallies_count_each_emoji_in_first_use_order_for_the_viewer() {
        let r = |id, user, emoji: &str| CachedReaction {
            id: Snowflake(id),
            user_id: Snowflake(user),
            emoji: emoji.into(),
        };
        let cached = Cached::new(
            message(1).message,
            vec![r(12, 5, "👍"), r(10, 6, "🎉"), r(11, 7, "👍")],
        );
        let seen = cached.for_viewer(Snowflake(5)).reactions;
        let tallies: Vec<_> = seen
            .iter()
            .map(|t| (t.emoji.as_str(), t.count, t.me))
            .collect();
        assert_eq!(tallies, vec![("🎉", 1, false), ("👍", 2, true)]);
    }

    #[test]
    fn a_window_eaten_by_deletions_is_dropped_for_a_reload() {
        let recent = Recent::default();
        let channel = Snowflake(1);
        let load = recent.begin_load(channel).unwrap();
        recent.finish_load(load, (1..=WINDOW as i64).map(message).collect());
        recent.apply(channel, Change::Deleted(Snowflake(WINDOW as i64)));
        assert!(recent.newest(channel, WINDOW).is_none());
        assert!(
            recent.begin_load(channel).is_some(),
            "dropped, so it reloads"
        );
    }
}
