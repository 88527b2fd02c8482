//! The shapes clients see, over REST and in live events alike.

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::values::{RelationshipStatus, Role};
use crate::id::Snowflake;

/// RFC 3339 UTC with millisecond precision, from Unix milliseconds.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct User {
    #[schema(value_type = String)]
    pub id: Snowflake,
    pub username: String,
    pub display_name: String,
    /// Present only in the user's own view of themself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub created_at: String,
}

/// The author of a message as shown beside it; a deleted account shows as
/// `deleted: true` with a placeholder name.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Author {
    #[schema(value_type = String)]
    pub id: Snowflake,
    pub username: String,
    pub display_name: String,
    pub deleted: bool,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Server {
    #[schema(value_type = String)]
    pub id: Snowflake,
    pub name: String,
    #[schema(value_type = String)]
    pub owner_id: Snowflake,
    pub created_at: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Member {
    #[schema(value_type = String)]
    pub server_id: Snowflake,
    #[schema(value_type = String)]
    pub user_id: Snowflake,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub joined_at: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Invite {
    pub code: String,
    #[schema(value_type = String)]
    pub server_id: Snowflake,
    #[schema(value_type = String)]
    pub creator_id: Snowflake,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub max_uses: Option<i64>,
    pub uses: i64,
}

/// Stored as text, like `Role`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ChannelKind {
    /// A channel of a server.
    Text,
    /// A direct-message channel between two users.
    Dm,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Channel {
    #[schema(value_type = String)]
    pub id: Snowflake,
    pub kind: ChannelKind,
    /// The server; absent for direct messages.
    #[schema(value_type = Option<String>)]
    pub server_id: Option<Snowflake>,
    pub name: String,
    pub topic: String,
    pub position: i64,
    /// The two participants of a direct-message channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<String>>)]
    pub recipients: Option<[Snowflake; 2]>,
    pub created_at: String,
}

/// One emoji's tally on a message; `me` says whether the caller is among them.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ReactionSummary {
    pub emoji: String,
    pub count: i64,
    pub me: bool,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Message {
    #[schema(value_type = String)]
    pub id: Snowflake,
    #[schema(value_type = String)]
    pub channel_id: Snowflake,
    #[schema(value_type = String)]
    pub author_id: Snowflake,
    pub author: Author,
    pub content: String,
    #[schema(value_type = Option<String>)]
    pub reply_to: Option<Snowflake>,
    pub created_at: String,
    pub edited_at: Option<String>,
    pub reactions: Vec<ReactionSummary>,
    /// The poster's own token for matching an optimistic copy; present
    /// only in the answer to the post and in its `message_create`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Reaction {
    #[schema(value_type = String)]
    pub id: Snowflake,
    #[schema(value_type = String)]
    pub message_id: Snowflake,
    #[schema(value_type = String)]
    pub channel_id: Snowflake,
    #[schema(value_type = String)]
    pub user_id: Snowflake,
    pub emoji: String,
    pub created_at: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Relationship {
    #[schema(value_type = String)]
    pub id: Snowflake,
    /// Who sent the friend request (or blocked first).
    #[schema(value_type = String)]
    pub user_id: Snowflake,
    /// The other party.
    #[schema(value_type = String)]
    pub friend_id: Snowflake,
    pub status: RelationshipStatus,
    /// Who blocked, when `status` is `blocked`.
    #[schema(value_type = Option<String>)]
    pub blocked_by: Option<Snowflake>,
    pub created_at: String,
    pub updated_at: String,
}

impl Relationship {
    /// The party that is not `me`.
    pub fn other(&self, me: Snowflake) -> Snowflake {
        if self.user_id == me {
            self.friend_id
        } else {
            self.user_id
        }
    }
}
