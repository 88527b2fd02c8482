//! Who is online on this node: per user, how many sockets they have open
//! and the status they chose (only ids and a counter per user are kept),
//! and the changes waiting to be sent in the next presence batch. The
//! rules that publish presence changes are `domain::presence`'s.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::Notify;

use crate::domain::model::PresenceUpdate;
use crate::domain::values::PresenceStatus as Status;
use crate::id::Snowflake;

struct Entry {
    sockets: u32,
    status: Status,
}

/// A change of what others see of a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    pub before: Status,
    pub now: Status,
}

/// A user already has as many sockets open as they may.
#[derive(Debug)]
pub struct AtCapacity;

#[derive(Default)]
pub struct Presence {
    users: Mutex<HashMap<Snowflake, Entry>>,
}

impl Presence {
    /// Counts a new socket, unless the user has `cap` open already;
    /// returns what others now see if it changed (the user's first socket
    /// brings them online).
    pub fn connect(&self, user: Snowflake, cap: u32) -> Result<Option<Change>, AtCapacity> {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let entry = users.entry(user).or_insert(Entry {
            sockets: 0,
            status: Status::Online,
        });
        if entry.sockets >= cap {
            return Err(AtCapacity);
        }
        entry.sockets += 1;
        Ok((entry.sockets == 1).then_some(Change {
            before: Status::Offline,
            now: entry.status.visible(),
        }))
    }

    /// Forgets a socket; returns the change to `Offline` if it was the
    /// user's last one and others could see them.
    pub fn disconnect(&self, user: Snowflake) -> Option<Change> {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let entry = users.get_mut(&user)?;
        entry.sockets = entry.sockets.saturating_sub(1);
        if entry.sockets > 0 {
            return None;
        }
        let was = entry.status.visible();
        users.remove(&user);
        (was != Status::Offline).then_some(Change {
            before: was,
            now: Status::Offline,
        })
    }

    /// Sets a connected user's status; returns what others now see if it
    /// changed.
    pub fn set(&self, user: Snowflake, status: Status) -> Option<Change> {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let entry = users.get_mut(&user)?;
        let before = entry.status.visible();
        entry.status = status;
        (before != status.visible()).then_some(Change {
            before,
            now: status.visible(),
        })
    }

    /// What others see of `user`.
    pub fn status_of(&self, user: Snowflake) -> Status {
        let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        users
            .get(&user)
            .map_or(Status::Offline, |e| e.status.visible())
    }
}

/// Changes waiting for the next batch.
#[derive(Default)]
pub struct PresenceQueue {
    pending: Mutex<Pending>,
    wake: Notify,
}

#[derive(Default)]
struct Pending {
    /// Users in the order they first changed.
    order: Vec<Snowflake>,
    /// Per user: what others saw before the first change, and now.
    changes: HashMap<Snowflake, Change>,
}

impl PresenceQueue {
    pub fn record(&self, user: Snowflake, change: Change) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let Pending { order, changes } = &mut *pending;
        changes
            .entry(user)
            .and_modify(|c| c.now = change.now)
            .or_insert_with(|| {
                order.push(user);
                change
            });
        drop(pending);
        self.wake.notify_one();
    }

    /// Waits until a change was recorded since the last wait.
    pub async fn changed(&self) {
        self.wake.notified().await;
    }

    /// The batch: each user's latest status, unless it is back to what
    /// others saw before.
    pub fn take(&self) -> Vec<PresenceUpdate> {
        let Pending { order, changes } =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        order
            .into_iter()
            .filter_map(|user| {
                let change = changes.get(&user)?;
                (change.before != change.now).then_some(PresenceUpdate {
                    user_id: user,
                    status: change.now,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_socket_brings_online_last_takes_offline() {
        let p = Presence::default();
        let u = Snowflake(1);
        let online = Change {
            before: Status::Offline,
            now: Status::Online,
        };
        assert_eq!(p.connect(u, 8).unwrap(), Some(online));
        assert_eq!(p.connect(u, 8).unwrap(), None);
        assert_eq!(p.disconnect(u), None);
        assert_eq!(p.status_of(u), Status::Online);
        let offline = Change {
            before: Status::Online,
            now: Status::Offline,
        };
        assert_eq!(p.disconnect(u), Some(offline));
        assert_eq!(p.status_of(u), Status::Offline);
    }

    #[test]
    fn sockets_past_the_cap_are_not_counted() {
        let p = Presence::default();
        let u = Snowflake(1);
        assert!(p.connect(u, 2).is_ok());
        assert!(p.connect(u, 2).is_ok());
        assert!(p.connect(u, 2).is_err());
        assert_eq!(p.disconnect(u), None);
        assert!(p.connect(u, 2).is_ok(), "a closed socket frees its place");
        assert!(p.connect(u, 2).is_err());
    }

    #[test]
    fn invisible_users_look_offline() {
        let p = Presence::default();
        let u = Snowflake(1);
        p.connect(u, 8).unwrap();
        let hidden = Change {
            before: Status::Online,
            now: Status::Offline,
        };
        assert_eq!(p.set(u, Status::Invisible), Some(hidden));
        assert_eq!(p.status_of(u), Status::Offline);
        assert_eq!(p.set(u, Status::Invisible), None);
        assert_eq!(p.disconnect(u), None, "nobody saw them go");
        assert_eq!(
            p.set(Snowflake(9), Status::Dnd),
            None,
            "unknown users have no status"
        );
    }

    fn change(before: Status, now: Status) -> Change {
        Change { before, now }
    }

    #[test]
    fn a_batch_keeps_each_users_latest_status_and_drops_round_trips() {
        let queue = PresenceQueue::default();
        let (a, b, c) = (Snowflake(1), Snowflake(2), Snowflake(3));
        queue.record(a, change(Status::Offline, Status::Online));
        queue.record(b, change(Status::Offline, Status::Online));
        queue.record(a, change(Status::Online, Status::Dnd));
        queue.record(b, change(Status::Online, Status::Offline)); // came and went
        queue.record(c, change(Status::Online, Status::Idle));
        let batch = queue.take();
        let expected = [(a, Status::Dnd), (c, Status::Idle)]
            .map(|(user_id, status)| PresenceUpdate { user_id, status });
        assert_eq!(batch, expected);
        assert!(queue.take().is_empty(), "a batch is sent once");
    }
}
