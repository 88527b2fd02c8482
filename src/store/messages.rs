//! Messages, with their authors and reaction tallies.
//!
//! New messages are inserted in batches (`insert_messages`, one multi-row
//! statement per batch); the group-commit writer that forms the batches,
//! gives ids and publishes in commit order is `domain::message_writer`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::domain::model::{Author, Message, ReactionSummary};
use crate::error::{AppError, is_foreign_key_violation};
use crate::id::Snowflake;
use crate::store::recent::{self, Cached, CachedReaction, Change, Listed};
use crate::store::{Db, Page, Store, on_reader, on_writer, placeholders, time_from_ms};

/// The head of the multi-row message insert: `push_values` adds the rows
/// of `v`, then `INSERT_WHERE_ALLOWED` follows.
const INSERT_MESSAGES: &str =
    "WITH v (id, channel_id, author_id, content, reply_to, created_at) AS (";

/// Inserts only the rows whose author may still post in their channel at
/// the moment of the write: a member of its server, or a party of a DM
/// that neither party has blocked. A kick, a leave or a block committed
/// after the domain checked the post, but before this statement, refuses
/// the post instead of letting it land. A channel deleted meanwhile drops
/// its rows the same way. The ids inserted come back.
const INSERT_WHERE_ALLOWED: &str = ")
    INSERT INTO messages (id, channel_id, author_id, content, reply_to, created_at)
    SELECT v.id, v.channel_id, v.author_id, v.content, v.reply_to, v.created_at
    FROM v JOIN channels c ON c.id = v.channel_id
    WHERE CASE WHEN c.server_id IS NOT NULL
        THEN EXISTS (SELECT 1 FROM members mb
                     WHERE mb.server_id = c.server_id AND mb.user_id = v.author_id)
        ELSE v.author_id IN (c.dm_low, c.dm_high) AND NOT EXISTS (
            SELECT 1 FROM relationships r
            WHERE r.user_low = c.dm_low AND r.user_high = c.dm_high AND r.status = 'blocked')
    END
    RETURNING id";

/// The insert of `messages` (`INSERT_MESSAGES`, their rows,
/// `INSERT_WHERE_ALLOWED`), for either database.
fn insert_statement<'q, DB>(messages: &[&'q Message]) -> sqlx::QueryBuilder<DB>
where
    DB: sqlx::Database,
    <DB as sqlx::Database>::Arguments: Default,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut statement = sqlx::QueryBuilder::new(INSERT_MESSAGES);
    statement
        .push_values(messages, |mut row, m| {
            row.push_bind(m.id.0)
                .push_bind(m.channel_id.0)
                .push_bind(m.author_id.0)
                .push_bind(m.content.as_str())
                .push_bind(m.reply_to.map(|r| r.0))
                .push_bind(m.id.timestamp_ms());
        })
        .push(INSERT_WHERE_ALLOWED);
    statement
}

/// The commit locks of some channels, on several nodes. Each node has its
/// own group-commit writer; so that a channel's messages get their ids,
/// commit and go out to every node in one order, a writer holds its
/// batch's channels' locks (PostgreSQL session advisory locks keyed by
/// channel id) from before it gives the ids until its events are
/// published, and gives ids above the newest one the channel has (node
/// clocks differ). A node that dies holding them loses its connection,
/// and PostgreSQL releases them.
pub struct ChannelLocks {
    conn: sqlx::pool::PoolConnection<sqlx::Postgres>,
    unlocked: bool,
}

impl ChannelLocks {
    /// The newest message id of each of `channels` that has one.
    pub async fn newest_ids(
        &mut self,
        channels: &[Snowflake],
    ) -> Result<HashMap<Snowflake, Snowflake>, AppError> {
        let keys: Vec<i64> = channels.iter().map(|c| c.0).collect();
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT channel_id, max(id) FROM messages WHERE channel_id = ANY($1) GROUP BY channel_id",
        )
        .bind(&keys)
        .fetch_all(&mut *self.conn)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(channel, newest)| (Snowflake(channel), Snowflake(newest)))
            .collect())
    }

    /// `Store::insert_messages`, on the locked connection.
    pub async fn insert_messages(
        &mut self,
        store: &Store,
        messages: &[&Message],
    ) -> Result<HashSet<Snowflake>, AppError> {
        let inserted = insert_statement(messages)
            .build_query_scalar::<i64>()
            .fetch_all(&mut *self.conn)
            .await;
        store.inserted(messages, inserted)
    }

    /// Releases the locks; the connection goes back to the pool.
    pub async fn unlock(mut self) {
        let released = sqlx::query("SELECT pg_advisory_unlock_all()")
            .execute(&mut *self.conn)
            .await;
        self.unlocked = released.is_ok();
    }
}

impl Drop for ChannelLocks {
    /// A connection still holding locks must not go back to the pool:
    /// closing it releases them.
    fn drop(&mut self) {
        if !self.unlocked {
            self.conn.close_on_drop();
        }
    }
}

/// Where a message is and who wrote it: what permission checks need
/// before the message itself.
#[derive(Clone, Copy, Debug)]
pub struct MessageLocation {
    pub channel_id: Snowflake,
    pub author_id: Snowflake,
}

#[derive(sqlx::FromRow)]
pub(crate) struct MessageRow {
    id: i64,
    channel_id: i64,
    author_id: i64,
    username: String,
    display_name: String,
    deleted_at: Option<i64>,
    content: String,
    reply_to: Option<i64>,
    created_at: i64,
    edited_at: Option<i64>,
}

impl MessageRow {
    fn into_message(self, reactions: Vec<ReactionSummary>) -> Message {
        Message {
            id: Snowflake(self.id),
            channel_id: Snowflake(self.channel_id),
            author_id: Snowflake(self.author_id),
            author: Author {
                id: Snowflake(self.author_id),
                username: self.username,
                display_name: self.display_name,
                deleted: self.deleted_at.is_some(),
            },
            content: self.content,
            reply_to: self.reply_to.map(Snowflake),
            created_at: time_from_ms(self.created_at),
            edited_at: self.edited_at.map(time_from_ms),
            reactions,
            nonce: None,
        }
    }
}

pub(crate) const MESSAGE_COLUMNS: &str =
    "m.id, m.channel_id, m.author_id, u.username, u.display_name, u.deleted_at,
        m.content, m.reply_to, m.created_at, m.edited_at";
pub(crate) const MESSAGE_JOINS: &str = "JOIN users u ON u.id = m.author_id";

/// The most rows one insert takes: 6 parameters each stay well under
/// SQLite's 32,766 and PostgreSQL's 65,535 bound parameters.
pub const MAX_INSERT_ROWS: usize = 1024;

impl Store {
    /// Inserts `messages` (at most `MAX_INSERT_ROWS`) in one multi-row
    /// statement, one round trip, leaving out those whose author may no
    /// longer post there (`INSERT_WHERE_ALLOWED`); returns the ids
    /// inserted. A failure (say, a reply to a message just deleted) fails
    /// the whole batch.
    pub async fn insert_messages(
        &self,
        messages: &[&Message],
    ) -> Result<HashSet<Snowflake>, AppError> {
        if messages.is_empty() {
            return Ok(HashSet::new());
        }
        let inserted = on_writer!(self, |pool| {
            insert_statement(messages)
                .build_query_scalar::<i64>()
                .fetch_all(pool)
                .await
        });
        self.inserted(messages, inserted)
    }

    /// What an insert of `messages` returned, as the ids inserted; the
    /// recent messages kept learn of them.
    fn inserted(
        &self,
        messages: &[&Message],
        inserted: Result<Vec<i64>, sqlx::Error>,
    ) -> Result<HashSet<Snowflake>, AppError> {
        let inserted: HashSet<Snowflake> = match inserted {
            Ok(ids) => ids.into_iter().map(Snowflake).collect(),
            Err(e) if is_foreign_key_violation(&e) => return Err(AppError::NotFound("channel")),
            Err(e) => return Err(e.into()),
        };
        let kept: Vec<&Message> = messages
            .iter()
            .copied()
            .filter(|m| inserted.contains(&m.id))
            .collect();
        self.recent.posted(&kept);
        Ok(inserted)
    }

    /// On several nodes: holds the channels' commit locks (see
    /// `ChannelLocks`) on a connection of its own; `None` on SQLite, which
    /// serves one node only.
    pub async fn lock_channels(
        &self,
        channels: &[Snowflake],
    ) -> Result<Option<ChannelLocks>, AppError> {
        let Db::Postgres(pool) = &self.db else {
            return Ok(None);
        };
        let mut keys: Vec<i64> = channels.iter().map(|c| c.0).collect();
        // Always in the same order, so two nodes never wait on each other.
        keys.sort_unstable();
        keys.dedup();
        let mut locks = ChannelLocks {
            conn: pool.acquire().await?,
            unlocked: false,
        };
        sqlx::query("SELECT pg_advisory_lock(k) FROM unnest($1::bigint[]) AS k")
            .bind(&keys)
            .execute(&mut *locks.conn)
            .await?;
        Ok(Some(locks))
    }

    /// One message with its author (no reactions: a new message has none).
    pub async fn message(
        &self,
        id: Snowflake,
        viewer: Snowflake,
    ) -> Result<Option<Message>, AppError> {
        let sql =
            format!("SELECT {MESSAGE_COLUMNS} FROM messages m {MESSAGE_JOINS} WHERE m.id = $1");
        let row = on_reader!(self, |pool| {
            sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id.0)
                .fetch_optional(pool)
                .await
        })?;
        let Some(row) = row else { return Ok(None) };
        let mut tallies = self.reaction_tallies(&[row.id], viewer).await?;
        let reactions = tallies.remove(&row.id).unwrap_or_default();
        Ok(Some(row.into_message(reactions)))
    }

    /// The channel and author of a message, if it exists.
    pub async fn message_channel(
        &self,
        id: Snowflake,
    ) -> Result<Option<MessageLocation>, AppError> {
        let row = on_reader!(self, |pool| {
            sqlx::query_as::<_, (i64, i64)>(
                "SELECT channel_id, author_id FROM messages WHERE id = $1",
            )
            .bind(id.0)
            .fetch_optional(pool)
            .await
        })?;
        Ok(row.map(|(channel_id, author_id)| MessageLocation {
            channel_id: Snowflake(channel_id),
            author_id: Snowflake(author_id),
        }))
    }

    /// A channel's messages, newest first, with reaction tallies for
    /// `viewer`. The newest page comes from memory (`store::recent`).
    pub async fn channel_messages(
        &self,
        channel: Snowflake,
        page: &Page,
        viewer: Snowflake,
    ) -> Result<Vec<Listed>, AppError> {
        if page.before.is_none() && page.after.is_none() {
            let limit = usize::try_from(page.limit).unwrap_or(0);
            if let Some(found) = self.newest_messages(channel, limit).await? {
                return Ok(found.iter().map(|m| m.listed(viewer)).collect());
            }
        }
        let rows: Vec<MessageRow> = self
            .fetch_page(
                &format!("SELECT {MESSAGE_COLUMNS} FROM messages m {MESSAGE_JOINS}"),
                "m.channel_id = $1",
                &[channel.0],
                "m.id",
                page,
                true,
            )
            .await?;
        let messages = self.with_tallies(rows, viewer).await?;
        Ok(messages.into_iter().map(Listed::Built).collect())
    }

    /// The newest `limit` messages of `channel` from its window in memory,
    /// loading the window first if no other request is loading it.
    async fn newest_messages(
        &self,
        channel: Snowflake,
        limit: usize,
    ) -> Result<Option<Vec<Arc<Cached>>>, AppError> {
        if let Some(found) = self.recent.newest(channel, limit) {
            return Ok(Some(found));
        }
        let Some(load) = self.recent.begin_load(channel) else {
            return Ok(None);
        };
        match self.load_window(channel).await {
            Ok(messages) => self.recent.finish_load(load, messages),
            Err(e) => {
                self.recent.abandon_load(load);
                return Err(e);
            }
        }
        Ok(self.recent.newest(channel, limit))
    }

    /// A channel's newest `recent::WINDOW` messages, oldest first, with
    /// all their reactions.
    async fn load_window(&self, channel: Snowflake) -> Result<Vec<Cached>, AppError> {
        let newest = Page {
            limit: recent::WINDOW as i64,
            before: None,
            after: None,
        };
        let mut rows: Vec<MessageRow> = self
            .fetch_page(
                &format!("SELECT {MESSAGE_COLUMNS} FROM messages m {MESSAGE_JOINS}"),
                "m.channel_id = $1",
                &[channel.0],
                "m.id",
                &newest,
                true,
            )
            .await?;
        rows.reverse();
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut reactions: HashMap<i64, Vec<CachedReaction>> = HashMap::new();
        for (id, message_id, user_id, emoji) in self.reactions_on(&ids).await? {
            reactions
                .entry(message_id)
                .or_default()
                .push(CachedReaction {
                    id: Snowflake(id),
                    user_id: Snowflake(user_id),
                    emoji,
                });
        }
        Ok(rows
            .into_iter()
            .map(|r| {
                let of_message = reactions.remove(&r.id).unwrap_or_default();
                Cached::new(r.into_message(Vec::new()), of_message)
            })
            .collect())
    }

    /// Every reaction on the messages `ids`: (id, message, user, emoji).
    async fn reactions_on(&self, ids: &[i64]) -> Result<Vec<(i64, i64, i64, String)>, AppError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // The id list is generated placeholders only; values are bound.
        let sql = format!(
            "SELECT id, message_id, user_id, emoji FROM reactions WHERE message_id IN ({})",
            placeholders(1, ids.len())
        );
        Ok(on_reader!(self, |pool| {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
            for id in ids {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await
        })?)
    }

    /// The messages of `rows`, in order, with their reaction tallies for
    /// `viewer` (one query for the whole page).
    pub(crate) async fn with_tallies(
        &self,
        rows: Vec<MessageRow>,
        viewer: Snowflake,
    ) -> Result<Vec<Message>, AppError> {
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut tallies = self.reaction_tallies(&ids, viewer).await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let reactions = tallies.remove(&r.id).unwrap_or_default();
                r.into_message(reactions)
            })
            .collect())
    }

    /// Per message, each emoji's count and whether `viewer` used it, in
    /// the order the emojis were first used.
    async fn reaction_tallies(
        &self,
        ids: &[i64],
        viewer: Snowflake,
    ) -> Result<HashMap<i64, Vec<ReactionSummary>>, AppError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        // The id list is generated placeholders only; values are bound.
        let sql = format!(
            "SELECT message_id, emoji, CAST(COUNT(*) AS BIGINT), CAST(MAX(CASE WHEN user_id = $1 THEN 1 ELSE 0 END) AS BIGINT), MIN(id)
             FROM reactions WHERE message_id IN ({}) GROUP BY message_id, emoji ORDER BY message_id, MIN(id)",
            placeholders(2, ids.len())
        );
        let rows = on_reader!(self, |pool| {
            let mut query =
                sqlx::query_as::<_, (i64, String, i64, i64, i64)>(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(viewer.0);
            for id in ids {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await
        })?;
        let mut tallies: HashMap<i64, Vec<ReactionSummary>> = HashMap::new();
        for (message_id, emoji, count, me, _) in rows {
            tallies
                .entry(message_id)
                .or_default()
                .push(ReactionSummary {
                    emoji,
                    count,
                    me: me != 0,
                });
        }
        Ok(tallies)
    }

    pub async fn edit_message(
        &self,
        id: Snowflake,
        channel: Snowflake,
        content: &str,
        now: i64,
    ) -> Result<bool, AppError> {
        let done = on_writer!(self, |pool| {
            sqlx::query("UPDATE messages SET content = $2, edited_at = $3 WHERE id = $1")
                .bind(id.0)
                .bind(content)
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        });
        self.recent.apply(
            channel,
            Change::Edited {
                id,
                content: content.to_owned(),
                edited_at: now,
            },
        );
        Ok(done? > 0)
    }

    pub async fn delete_message(
        &self,
        id: Snowflake,
        channel: Snowflake,
    ) -> Result<bool, AppError> {
        let done = on_writer!(self, |pool| {
            sqlx::query("DELETE FROM messages WHERE id = $1")
                .bind(id.0)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        });
        self.recent.apply(channel, Change::Deleted(id));
        Ok(done? > 0)
    }
}
