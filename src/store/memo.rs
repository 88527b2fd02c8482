//! In-memory copies of the two rows nearly every request reads: how a user
//! stands towards a channel (`Store::channel_access`) and a message
//! author's names (`Store::author`). The database stays the truth. The
//! store's own write methods forget what they change right after they
//! run, before they return, so a kick, a block, a channel deletion or a
//! rename takes effect on the very next request.
//!
//! A read that raced such a change could store the row it read before the
//! change: every forget bumps an epoch, and a load stores its row only if
//! the epoch did not move while it read (the same guard as
//! `auth::session_cache`).
//!
//! Hand-written rather than a caching crate because the operations that
//! matter are "forget everything of this user" and "of this channel", which
//! need the per-user layout kept here; both maps are bounded.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::domain::model::Author;
use crate::id::Snowflake;
use crate::store::channels::ChannelWithAccess;

/// Above this many entries a map starts over.
const MAX_ENTRIES: usize = 200_000;

#[derive(Default)]
pub struct Memo {
    maps: Mutex<Maps>,
    epoch: AtomicU64,
}

#[derive(Default)]
struct Maps {
    /// user -> channel -> access; by user first, so a membership change
    /// forgets one user's entries in one step.
    access: HashMap<Snowflake, HashMap<Snowflake, ChannelWithAccess>>,
    access_len: usize,
    authors: HashMap<Snowflake, Author>,
}

impl Memo {
    fn lock(&self) -> std::sync::MutexGuard<'_, Maps> {
        self.maps.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Read before loading a row from the database; pass to `keep_*`.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    pub fn access(&self, user: Snowflake, channel: Snowflake) -> Option<ChannelWithAccess> {
        self.lock().access.get(&user)?.get(&channel).cloned()
    }

    pub fn keep_access(&self, user: Snowflake, found: ChannelWithAccess, epoch: u64) {
        let mut maps = self.lock();
        if self.epoch() != epoch {
            return;
        }
        if maps.access_len >= MAX_ENTRIES {
            maps.access.clear();
            maps.access_len = 0;
        }
        let previous = maps
            .access
            .entry(user)
            .or_default()
            .insert(found.channel.id, found);
        if previous.is_none() {
            maps.access_len += 1;
        }
    }

    pub fn author(&self, user: Snowflake) -> Option<Author> {
        self.lock().authors.get(&user).cloned()
    }

    pub fn keep_author(&self, author: Author, epoch: u64) {
        let mut maps = self.lock();
        if self.epoch() != epoch {
            return;
        }
        if maps.authors.len() >= MAX_ENTRIES {
            maps.authors.clear();
        }
        maps.authors.insert(author.id, author);
    }

    /// Bumps the epoch and changes the maps under one lock, so a load that
    /// began before cannot store after.
    fn forget(&self, change: impl FnOnce(&mut Maps)) {
        let mut maps = self.lock();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        change(&mut maps);
    }

    /// A user's memberships, relationships or names changed.
    pub fn forget_user(&self, user: Snowflake) {
        self.forget(|maps| {
            if let Some(gone) = maps.access.remove(&user) {
                maps.access_len -= gone.len();
            }
            maps.authors.remove(&user);
        });
    }

    /// A channel changed or is gone.
    pub fn forget_channel(&self, channel: Snowflake) {
        self.forget(|maps| {
            let mut removed = 0;
            for channels in maps.access.values_mut() {
                removed += usize::from(channels.remove(&channel).is_some());
            }
            maps.access_len -= removed;
        });
    }

    /// Everything (changes may have been missed).
    pub fn forget_everything(&self) {
        self.forget(|maps| {
            maps.access.clear();
            maps.access_len = 0;
            maps.authors.clear();
        });
    }

    /// Every access entry (a server with all its channels is gone).
    pub fn forget_all_access(&self) {
        self.forget(|maps| {
            maps.access.clear();
            maps.access_len = 0;
        });
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::domain::model::{Channel, ChannelKind};
    use crate::perms::ChannelAccess;

    fn access(channel: i64) -> ChannelWithAccess {
        ChannelWithAccess {
            channel: Channel {
                id: Snowflake(channel),
                kind: ChannelKind::Text,
                server_id: Some(Snowflake(1)),
                name: "general".into(),
                topic: String::new(),
                position: 0,
                recipients: None,
                created_at: DateTime::UNIX_EPOCH,
            },
            access: ChannelAccess::Server(None),
        }
    }

    #[test]
    fn forgetting_a_user_or_a_channel_drops_only_theirs() {
        let memo = Memo::default();
        let epoch = memo.epoch();
        memo.keep_access(Snowflake(10), access(100), epoch);
        memo.keep_access(Snowflake(10), access(200), epoch);
        memo.keep_access(Snowflake(20), access(100), epoch);
        memo.forget_channel(Snowflake(200));
        assert!(memo.access(Snowflake(10), Snowflake(200)).is_none());
        assert!(memo.access(Snowflake(10), Snowflake(100)).is_some());
        memo.forget_user(Snowflake(10));
        assert!(memo.access(Snowflake(10), Snowflake(100)).is_none());
        assert!(memo.access(Snowflake(20), Snowflake(100)).is_some());
        assert_eq!(memo.lock().access_len, 1);
    }

    #[test]
    fn a_load_that_raced_a_change_is_not_stored() {
        let memo = Memo::default();
        let before_load = memo.epoch();
        memo.forget_user(Snowflake(10)); // a kick while the row was read
        memo.keep_access(Snowflake(10), access(100), before_load);
        assert!(memo.access(Snowflake(10), Snowflake(100)).is_none());
    }
}
