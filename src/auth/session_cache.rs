//! Live sessions by token hash, so that a request authenticates without a
//! database round trip. The database stays the truth: an entry is the
//! session row as last read, checked against its expiry and idle limit on
//! every use, and every path that ends sessions (logout, ending one
//! session, a password change, deleting the account) forgets the user's
//! entries before it answers, so an ended session is refused at once.
//!
//! A load that raced such an end could put back the row it read before
//! the end: every end bumps an epoch, and a load stores its row only if
//! the epoch did not move while it read.
//!
//! Hand-written rather than a caching crate because the one operation that
//! matters, "forget every entry of this user now", needs the secondary
//! index kept here; entries are small and bounded by `MAX_ENTRIES`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::id::Snowflake;
use crate::store::sessions::SessionRecord;

/// Above this many cached sessions the cache starts over.
const MAX_ENTRIES: usize = 100_000;

#[derive(Default)]
pub struct SessionCache {
    entries: Mutex<Entries>,
    epoch: AtomicU64,
}

#[derive(Default)]
struct Entries {
    by_hash: HashMap<String, SessionRecord>,
    by_user: HashMap<Snowflake, Vec<String>>,
}

impl SessionCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current epoch; read it before loading a session from the
    /// database and pass it to `insert`.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    pub fn get(&self, token_hash: &str) -> Option<SessionRecord> {
        self.lock().by_hash.get(token_hash).cloned()
    }

    /// Stores a row loaded since `epoch`, unless a session ended meanwhile.
    pub fn insert(&self, token_hash: String, session: SessionRecord, epoch: u64) {
        let mut entries = self.lock();
        if self.epoch() != epoch {
            return;
        }
        if entries.by_hash.len() >= MAX_ENTRIES {
            *entries = Entries::default();
        }
        entries
            .by_user
            .entry(session.user_id)
            .or_default()
            .push(token_hash.clone());
        entries.by_hash.insert(token_hash, session);
    }

    /// Records a use of the session, as the database now has it.
    pub fn touch(&self, token_hash: &str, now: i64) {
        if let Some(session) = self.lock().by_hash.get_mut(token_hash) {
            session.last_used_at = now;
        }
    }

    /// Forgets one entry (a session found expired or idle).
    pub fn remove(&self, token_hash: &str) {
        let mut entries = self.lock();
        if let Some(session) = entries.by_hash.remove(token_hash)
            && let Some(hashes) = entries.by_user.get_mut(&session.user_id)
        {
            hashes.retain(|h| h != token_hash);
        }
    }

    /// Forgets every session (ends may have been missed).
    pub fn clear(&self) {
        let mut entries = self.lock();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        *entries = Entries::default();
    }

    /// Forgets every session of `user`: call after ending any of them.
    pub fn forget_user(&self, user: Snowflake) {
        let mut entries = self.lock();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        for hash in entries.by_user.remove(&user).unwrap_or_default() {
            entries.by_hash.remove(&hash);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: i64, user: i64) -> SessionRecord {
        SessionRecord {
            id: Snowflake(id),
            user_id: Snowflake(user),
            csrf_token: String::new(),
            last_used_at: 0,
            expires_at: i64::MAX,
        }
    }

    #[test]
    fn forgetting_a_user_drops_all_their_sessions_only() {
        let cache = SessionCache::default();
        let epoch = cache.epoch();
        cache.insert("a".into(), record(1, 10), epoch);
        cache.insert("b".into(), record(2, 10), epoch);
        cache.insert("c".into(), record(3, 20), epoch);
        cache.forget_user(Snowflake(10));
        assert!(cache.get("a").is_none() && cache.get("b").is_none());
        assert_eq!(cache.get("c").map(|s| s.id), Some(Snowflake(3)));
    }

    #[test]
    fn a_load_that_raced_an_end_is_not_stored() {
        let cache = SessionCache::default();
        let before_load = cache.epoch();
        cache.forget_user(Snowflake(10)); // a logout while the row was read
        cache.insert("a".into(), record(1, 10), before_load);
        assert!(cache.get("a").is_none());
    }
}
