//! The shapes clients see, over REST and in live events alike.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::values::{RelationshipStatus, Role};
use crate::id::Snowflake;

/// Times as clients see them: RFC 3339 in UTC with exactly millisecond
/// precision and a `Z`, such as `2026-11-26T16:41:53.123Z`. For
/// `#[serde(with = "rfc3339_millis")]`, or `rfc3339_millis::option`
/// (reading them back is for events relayed between nodes); the
/// OpenAPI schema (a `date-time` string) comes from utoipa's `chrono`
/// feature.
pub mod rfc3339_millis {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    fn text(time: &DateTime<Utc>) -> String {
        time.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    fn parse<E: serde::de::Error>(text: &str) -> Result<DateTime<Utc>, E> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(E::custom)
    }

    pub fn serialize<S: Serializer>(time: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&text(time))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        parse(&String::deserialize(d)?)
    }

    pub mod option {
        use chrono::{DateTime, Utc};
        use serde::{Deserialize, Deserializer, Serializer};

        use super::{parse, text};

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            Option::<String>::deserialize(d)?
                .map(|t| parse(&t))
                .transpose()
        }

        pub fn serialize<S: Serializer>(
            time: &Option<DateTime<Utc>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match time {
                Some(time) => s.serialize_some(&text(time)),
                None => s.serialize_none(),
            }
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct User {
    #[schema(value_type = String)]
    pub id: Snowflake,
    pub username: String,
    pub display_name: String,
    /// Present only in the user's own view of themself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(with = "rfc3339_millis")]
    pub created_at: DateTime<Utc>,
}

/// The author of a message as shown beside it; a deleted account shows as
/// `deleted: true` with a placeholder name.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Author {
    #[schema(value_type = String)]
    pub id: Snowflake,
    pub username: String,
    pub display_name: String,
    pub deleted: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Server {
    #[schema(value_type = String)]
    pub id: Snowflake,
    pub name: String,
    #[schema(value_type = String)]
    pub owner_id: Snowflake,
    #[serde(with = "rfc3339_millis")]
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Member {
    #[schema(value_type = String)]
    pub server_id: Snowflake,
    #[schema(value_type = String)]
    pub user_id: Snowflake,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    #[serde(with = "rfc3339_millis")]
    pub joined_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Invite {
    pub code: String,
    #[schema(value_type = String)]
    pub server_id: Snowflake,
    #[schema(value_type = String)]
    pub creator_id: Snowflake,
    #[serde(with = "rfc3339_millis")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "rfc3339_millis::option")]
    pub expires_at: Option<DateTime<Utc>>,
    pub max_uses: Option<i64>,
    pub uses: i64,
}

/// Stored as text, like `Role`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ChannelKind {
    /// A channel of a server.
    Text,
    /// A direct-message channel between two users.
    Dm,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
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
    #[serde(with = "rfc3339_millis")]
    pub created_at: DateTime<Utc>,
}

/// One emoji's tally on a message; `me` says whether the caller is among them.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ReactionSummary {
    pub emoji: String,
    pub count: i64,
    pub me: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
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
    #[serde(with = "rfc3339_millis")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "rfc3339_millis::option")]
    pub edited_at: Option<DateTime<Utc>>,
    pub reactions: Vec<ReactionSummary>,
    /// The poster's own token for matching an optimistic copy; present
    /// only in the answer to the post and in its `message_create`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
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
    #[serde(with = "rfc3339_millis")]
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
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
    #[serde(with = "rfc3339_millis")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "rfc3339_millis")]
    pub updated_at: DateTime<Utc>,
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

/// One user's status as others see it (`ready` and `presence_updates`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceUpdate {
    pub user_id: Snowflake,
    pub status: crate::domain::values::PresenceStatus,
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};
    use serde::Serialize;

    use super::rfc3339_millis;

    #[derive(Serialize)]
    struct Times {
        #[serde(with = "rfc3339_millis")]
        at: DateTime<Utc>,
        #[serde(with = "rfc3339_millis::option")]
        maybe: Option<DateTime<Utc>>,
    }

    fn json(at: DateTime<Utc>, maybe: Option<DateTime<Utc>>) -> String {
        serde_json::to_string(&Times { at, maybe }).unwrap()
    }

    #[test]
    fn times_are_rfc3339_utc_with_exactly_milliseconds() {
        let at = DateTime::from_timestamp_millis(1_795_711_313_123).unwrap();
        assert_eq!(
            json(at, Some(at)),
            r#"{"at":"2026-11-26T16:41:53.123Z","maybe":"2026-11-26T16:41:53.123Z"}"#
        );
        let whole_second = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let finer = whole_second + chrono::Duration::nanoseconds(123_456_789);
        assert_eq!(
            json(whole_second, None),
            r#"{"at":"2026-01-01T00:00:00.000Z","maybe":null}"#
        );
        assert_eq!(
            json(finer, None),
            r#"{"at":"2026-01-01T00:00:00.123Z","maybe":null}"#
        );
    }
}
