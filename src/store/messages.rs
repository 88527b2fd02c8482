//! Messages, with their authors and reaction tallies.
//!
//! Every message insert goes through one `MessageWriter` task per process,
//! on both databases. It takes all inserts queued while the previous commit
//! ran, gives them their ids in queue order, commits them in one
//! transaction, and only then publishes their `message_create` events (in
//! the same order) and answers each caller. So:
//! - durability is that of a commit per insert, but the commit cost is
//!   shared by the batch (group commit), which is what lets one SQLite file
//!   take tens of thousands of messages a second;
//! - within a channel, ids, commit order and event order agree, so a
//!   client that saw message N and asks for `after=N` misses nothing.
//!
//! Publishing from here is the one place the store touches the event bus;
//! it must, because only the writer knows the commit order.

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::{PgPool, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use crate::domain::model::{Author, Message, ReactionSummary};
use crate::error::{AppError, is_foreign_key_violation};
use crate::events::{Audience, Event, EventBus};
use crate::id::{IdGenerator, Snowflake};
use crate::store::{Page, Store, on_reader, on_writer, time_from_ms};

/// The most inserts one group commit takes.
const MAX_BATCH: usize = 1024;
/// Inserts that may wait for the writer before callers wait to enqueue.
const QUEUE_DEPTH: usize = 8192;

/// A message to post; the writer gives it its id and time.
#[derive(Clone, Debug)]
pub struct NewMessage {
    pub channel_id: Snowflake,
    pub author: Author,
    pub content: String,
    pub reply_to: Option<Snowflake>,
    pub nonce: Option<String>,
    /// Who receives its `message_create`.
    pub audience: Audience,
}

const INSERT_MESSAGE: &str =
    "INSERT INTO messages (id, channel_id, author_id, content, reply_to, created_at)
     VALUES ($1, $2, $3, $4, $5, $6)";

/// The insert statement for one message, for whichever driver it meets.
macro_rules! insert_query {
    ($m:expr) => {
        sqlx::query(INSERT_MESSAGE)
            .bind($m.id.0)
            .bind($m.channel_id.0)
            .bind($m.author_id.0)
            .bind($m.content.as_str())
            .bind($m.reply_to.map(|r| r.0))
            .bind($m.id.timestamp_ms())
    };
}

struct Job {
    message: NewMessage,
    done: oneshot::Sender<Result<Message, AppError>>,
}

/// Where the writer commits.
#[derive(Clone)]
pub enum WriterDb {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The single writer of messages; see the module comment.
#[derive(Clone)]
pub struct MessageWriter {
    queue: mpsc::Sender<Job>,
}

impl MessageWriter {
    pub fn spawn(db: WriterDb, ids: Arc<IdGenerator>, events: EventBus) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(run_writer(db, ids, events, jobs));
        Self { queue }
    }

    pub async fn insert(&self, message: NewMessage) -> Result<Message, AppError> {
        let (done, answer) = oneshot::channel();
        self.queue
            .send(Job { message, done })
            .await
            .map_err(|_| AppError::Internal("message writer stopped".into()))?;
        answer
            .await
            .map_err(|_| AppError::Internal("message writer dropped a job".into()))?
    }
}

async fn run_writer(
    db: WriterDb,
    ids: Arc<IdGenerator>,
    events: EventBus,
    mut jobs: mpsc::Receiver<Job>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let messages: Vec<Message> = batch.iter().map(|job| stamp(&ids, &job.message)).collect();
        let refs: Vec<&Message> = messages.iter().collect();
        let results: Vec<Result<(), AppError>> = match commit_batch(&db, &refs).await {
            Ok(()) => batch.iter().map(|_| Ok(())).collect(),
            // One bad insert (say, its channel was just deleted) must not
            // fail the others: retry each on its own, in order.
            Err(_) => {
                let mut results = Vec::with_capacity(refs.len());
                for m in &refs {
                    results.push(commit_batch(&db, &[m]).await.map_err(insert_error));
                }
                results
            }
        };
        for ((job, message), result) in batch.drain(..).zip(messages).zip(results) {
            let answer = result.map(|()| {
                events.publish(
                    job.message.audience.clone(),
                    Event::MessageCreate(message.clone()),
                );
                message
            });
            let _ = job.done.send(answer);
        }
    }
}

/// The message as it will be stored and shown, with a fresh id.
fn stamp(ids: &IdGenerator, new: &NewMessage) -> Message {
    let id = ids.next();
    Message {
        id,
        channel_id: new.channel_id,
        author_id: new.author.id,
        author: new.author.clone(),
        content: new.content.clone(),
        reply_to: new.reply_to,
        created_at: time_from_ms(id.timestamp_ms()),
        edited_at: None,
        reactions: Vec::new(),
        nonce: new.nonce.clone(),
    }
}

async fn commit_batch(db: &WriterDb, messages: &[&Message]) -> Result<(), sqlx::Error> {
    match db {
        WriterDb::Sqlite(pool) => {
            let mut tx = pool.begin().await?;
            for m in messages {
                insert_query!(m).execute(&mut *tx).await?;
            }
            tx.commit().await
        }
        WriterDb::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            for m in messages {
                insert_query!(m).execute(&mut *tx).await?;
            }
            tx.commit().await
        }
    }
}

fn insert_error(e: sqlx::Error) -> AppError {
    if is_foreign_key_violation(&e) {
        AppError::NotFound("channel")
    } else {
        e.into()
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
struct MessageRow {
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

const MESSAGE_SELECT: &str =
    "SELECT m.id, m.channel_id, m.author_id, u.username, u.display_name, u.deleted_at,
        m.content, m.reply_to, m.created_at, m.edited_at
     FROM messages m JOIN users u ON u.id = m.author_id";

impl Store {
    /// Stores a message through the writer; returns it as stored, after
    /// its `message_create` went out.
    pub async fn insert_message(&self, message: NewMessage) -> Result<Message, AppError> {
        self.message_writer.insert(message).await
    }

    /// One message with its author (no reactions: a new message has none).
    pub async fn message(
        &self,
        id: Snowflake,
        viewer: Snowflake,
    ) -> Result<Option<Message>, AppError> {
        let sql = format!("{MESSAGE_SELECT} WHERE m.id = $1");
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

    /// A channel's messages, newest first, with reaction tallies for `viewer`.
    pub async fn channel_messages(
        &self,
        channel: Snowflake,
        page: &Page,
        viewer: Snowflake,
    ) -> Result<Vec<Message>, AppError> {
        let rows: Vec<MessageRow> = self
            .fetch_page(
                MESSAGE_SELECT,
                "m.channel_id = $1",
                &[channel.0],
                "m.id",
                page,
                true,
            )
            .await?;
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
        let placeholders: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT message_id, emoji, CAST(COUNT(*) AS BIGINT), CAST(MAX(CASE WHEN user_id = $1 THEN 1 ELSE 0 END) AS BIGINT), MIN(id)
             FROM reactions WHERE message_id IN ({}) GROUP BY message_id, emoji ORDER BY message_id, MIN(id)",
            placeholders.join(", ")
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
        })?;
        Ok(done > 0)
    }

    pub async fn delete_message(&self, id: Snowflake) -> Result<bool, AppError> {
        let done = on_writer!(self, |pool| {
            sqlx::query("DELETE FROM messages WHERE id = $1")
                .bind(id.0)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(done > 0)
    }
}
