//! Typed events: every change the domain makes is published here as one
//! `Event`, with the audience allowed to see it, decided by the domain when
//! it makes the event (so delivering an event needs no database). The bus
//! is a bounded broadcast channel; the real-time gateway subscribes and
//! fans events out to sockets. Publishing never blocks and succeeds with
//! no listener.
//!
//! A listener that falls more than the bus's capacity behind loses the
//! oldest events (`RecvError::Lagged`). Since some of those may change who
//! may see what (a kick, a logout), the gateway treats a lag as "rights
//! unknown" and disconnects every socket; clients reconnect and catch up.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::domain::model::{
    Channel, Member, Message, PresenceUpdate, Reaction, Relationship, Server, User,
};
use crate::id::Snowflake;

/// Who may receive an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Audience {
    /// Every member of a server.
    Server(Snowflake),
    /// Exactly these users.
    Users(Vec<Snowflake>),
    /// A user and everyone who can see them: the members of their servers
    /// and their friends (presence, profile changes).
    Contacts {
        user: Snowflake,
        servers: Vec<Snowflake>,
        friends: Vec<Snowflake>,
    },
}

/// Every change, in the REST API's JSON shapes. The serde tag is the event
/// name clients receive.
/// They also travel between nodes as they are (`cluster::relay`), hence
/// `Deserialize`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum Event {
    MessageCreate(Message),
    MessageUpdate(Message),
    MessageDelete {
        id: Snowflake,
        channel_id: Snowflake,
    },
    ReactionAdd(Reaction),
    ReactionRemove(Reaction),
    ChannelCreate(Channel),
    ChannelUpdate(Channel),
    ChannelDelete {
        id: Snowflake,
        server_id: Option<Snowflake>,
    },
    ServerCreate(Server),
    ServerUpdate(Server),
    ServerDelete {
        id: Snowflake,
    },
    MemberJoin(Member),
    MemberUpdate(Member),
    MemberLeave {
        server_id: Snowflake,
        user_id: Snowflake,
    },
    RelationshipUpdate(Relationship),
    RelationshipDelete {
        id: Snowflake,
        user_id: Snowflake,
        friend_id: Snowflake,
    },
    UserUpdate(User),
    UserDelete {
        id: Snowflake,
    },
    Typing {
        channel_id: Snowflake,
        user_id: Snowflake,
    },
    /// One batch of coalesced presence changes (see `domain::presence`):
    /// each list goes to its own audience as a `presence_updates` event.
    /// A whole batch is one envelope, so a batch touching many servers
    /// takes one slot of the bus, not one per server.
    PresenceUpdates(Vec<PresenceList>),
    /// Internal: these sessions ended (logout, password change); their
    /// sockets are closed. Never sent to clients.
    SessionsEnded {
        user_id: Snowflake,
        session_ids: Vec<Snowflake>,
    },
}

impl Event {
    /// The event name on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            Event::MessageCreate(_) => "message_create",
            Event::MessageUpdate(_) => "message_update",
            Event::MessageDelete { .. } => "message_delete",
            Event::ReactionAdd(_) => "reaction_add",
            Event::ReactionRemove(_) => "reaction_remove",
            Event::ChannelCreate(_) => "channel_create",
            Event::ChannelUpdate(_) => "channel_update",
            Event::ChannelDelete { .. } => "channel_delete",
            Event::ServerCreate(_) => "server_create",
            Event::ServerUpdate(_) => "server_update",
            Event::ServerDelete { .. } => "server_delete",
            Event::MemberJoin(_) => "member_join",
            Event::MemberUpdate(_) => "member_update",
            Event::MemberLeave { .. } => "member_leave",
            Event::RelationshipUpdate(_) => "relationship_update",
            Event::RelationshipDelete { .. } => "relationship_delete",
            Event::UserUpdate(_) => "user_update",
            Event::UserDelete { .. } => "user_delete",
            Event::Typing { .. } => "typing",
            Event::PresenceUpdates(_) => "presence_updates",
            Event::SessionsEnded { .. } => "sessions_ended",
        }
    }
}

/// Presence updates and who receives them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PresenceList {
    pub audience: Audience,
    pub updates: Vec<PresenceUpdate>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Envelope {
    pub audience: Audience,
    pub event: Event,
}

/// The in-process event bus.
#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Arc<Envelope>>,
}

impl EventBus {
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity);
        Self { sender }
    }

    pub fn publish(&self, audience: Audience, event: Event) {
        tracing::debug!(event = event.name(), ?audience, "event");
        // An error only means nobody is listening yet.
        let _ = self.sender.send(Arc::new(Envelope { audience, event }));
    }

    /// Passes on an event as it is (one relayed from another node).
    pub fn publish_envelope(&self, envelope: Arc<Envelope>) {
        let _ = self.sender.send(envelope);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Envelope>> {
        self.sender.subscribe()
    }
}
