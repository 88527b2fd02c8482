//! The group-commit writer: every new message, from REST or a socket, goes
//! through one `MessageWriter` task per process, on both databases. It takes
//! all posts queued while the previous commit ran, gives them their ids in
//! queue order, has the store insert them in one statement, and only then
//! publishes their `message_create` events (in the same order) and answers
//! each caller. So:
//! - durability is that of a commit per message, but the commit cost is
//!   shared by the batch, which is what lets one SQLite file take tens of
//!   thousands of messages a second;
//! - within a channel, ids, commit order and event order agree, so a client
//!   that saw message N and asks for `after=N` misses nothing.
//!
//! The store only inserts; ids and events are this module's, because only
//! the writer knows the commit order.
//!
//! On several nodes each node has its writer, and they take turns per
//! channel: a batch holds its channels' commit locks
//! (`store::messages::ChannelLocks`) while it gives ids (above the
//! channel's newest), commits, and publishes its events to every node
//! (`cluster::relay`). So on every node a channel's ids, commit order and
//! event order still agree.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use crate::cluster::relay::Publisher;
use crate::domain::model::{Author, Message};
use crate::error::AppError;
use crate::events::{Audience, Envelope, Event, EventBus};
use crate::id::{IdGenerator, LeaseExpired, Snowflake};
use crate::perms::{self, ChannelAccess};
use crate::store::messages::ChannelLocks;
use crate::store::{Store, time_from_ms};
use crate::telemetry::WriterMetrics;

/// The most posts one group commit takes: one multi-row insert.
const MAX_BATCH: usize = crate::store::messages::MAX_INSERT_ROWS;
/// Posts that may wait for the writer before callers wait to enqueue.
const QUEUE_DEPTH: usize = 8192;

/// A message to post, checked and parsed by `domain::messages`; the writer
/// gives it its id and time.
#[derive(Clone, Debug)]
pub struct NewMessage {
    pub channel_id: Snowflake,
    pub author: Author,
    pub content: String,
    pub reply_to: Option<Snowflake>,
    /// The poster's token, echoed in the answer and the event.
    pub nonce: Option<String>,
    /// Who receives its `message_create`.
    pub audience: Audience,
    /// The author's access to the channel, as checked: the store writes the
    /// message only if it still holds, else this says what was lost.
    pub access: ChannelAccess,
}

struct Job {
    message: NewMessage,
    done: oneshot::Sender<Result<Message, AppError>>,
}

/// The single writer of messages; see the module comment.
#[derive(Clone)]
pub struct MessageWriter {
    queue: mpsc::Sender<Job>,
}

impl MessageWriter {
    pub fn spawn(
        store: Store,
        ids: Arc<IdGenerator>,
        events: EventBus,
        relay: Option<Arc<Publisher>>,
        metrics: WriterMetrics,
    ) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE_DEPTH);
        let writer = Writer {
            store,
            ids,
            events,
            relay,
            metrics,
        };
        tokio::spawn(writer.run(jobs));
        Self { queue }
    }

    /// Commits `message`; returns it as stored, after its `message_create`
    /// went out.
    pub async fn post(&self, message: NewMessage) -> Result<Message, AppError> {
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

struct Writer {
    store: Store,
    ids: Arc<IdGenerator>,
    events: EventBus,
    /// Several nodes: where the events go, in commit order.
    relay: Option<Arc<Publisher>>,
    metrics: WriterMetrics,
}

impl Writer {
    async fn run(self, mut jobs: mpsc::Receiver<Job>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
            self.metrics.batch_size.record(batch.len() as f64);
            // The whole commit, retries and publishing included: what the
            // batch's callers waited.
            let started = Instant::now();
            let answers = match &self.relay {
                None => self.commit(&batch).await,
                Some(relay) => self.commit_in_turn(&batch, relay).await,
            };
            self.metrics
                .commit_seconds
                .record(started.elapsed().as_secs_f64());
            for (job, answer) in batch.drain(..).zip(answers) {
                let _ = job.done.send(answer);
            }
        }
    }

    /// One node: ids, one insert, events.
    async fn commit(&self, batch: &[Job]) -> Answers {
        let messages = match stamp_all(&self.ids, batch, &HashMap::new()) {
            Ok(messages) => messages,
            Err(expired) => return refuse_all(batch, expired.into()),
        };
        let results = insert_all(&messages, Inserter::Store(&self.store)).await;
        let (answers, created) = settle(batch, messages, results);
        for (audience, message) in created {
            self.events.publish(audience, Event::MessageCreate(message));
        }
        answers
    }

    /// Several nodes: the same, holding the channels' commit locks until
    /// the events are published.
    async fn commit_in_turn(&self, batch: &[Job], relay: &Publisher) -> Answers {
        let channels: Vec<Snowflake> = batch.iter().map(|job| job.message.channel_id).collect();
        let mut locks = match self.store.lock_channels(&channels).await {
            Ok(Some(locks)) => locks,
            Ok(None) => return self.commit(batch).await,
            Err(e) => return refuse_all(batch, e),
        };
        let floors = match locks.newest_ids(&channels).await {
            Ok(floors) => floors,
            Err(e) => return refuse_all(batch, e),
        };
        let messages = match stamp_all(&self.ids, batch, &floors) {
            Ok(messages) => messages,
            Err(expired) => return refuse_all(batch, expired.into()),
        };
        let results = insert_all(&messages, Inserter::Locked(&mut locks, &self.store)).await;
        let (answers, created) = settle(batch, messages, results);
        let envelopes: Vec<Envelope> = created
            .into_iter()
            .map(|(audience, message)| Envelope {
                audience,
                event: Event::MessageCreate(message),
            })
            .collect();
        relay.publish(&envelopes.iter().collect::<Vec<_>>()).await;
        locks.unlock().await;
        answers
    }
}

/// Gives each message of `batch` its id, in queue order, above its
/// channel's `floors`; without a node id lease there is none to give.
fn stamp_all(
    ids: &IdGenerator,
    batch: &[Job],
    floors: &HashMap<Snowflake, Snowflake>,
) -> Result<Vec<Message>, LeaseExpired> {
    batch
        .iter()
        .map(|job| {
            stamp(
                ids,
                &job.message,
                floors.get(&job.message.channel_id).copied(),
            )
        })
        .collect()
}

fn refuse_all(batch: &[Job], error: AppError) -> Answers {
    let code = error.to_string();
    tracing::warn!(error = %code, posts = batch.len(), "message batch refused");
    batch
        .iter()
        .map(|_| {
            Err(match &error {
                AppError::Unavailable {
                    what,
                    retry_after_secs,
                } => AppError::Unavailable {
                    what,
                    retry_after_secs: *retry_after_secs,
                },
                _ => AppError::Internal(code.clone()),
            })
        })
        .collect()
}

/// Inserts `messages` in one statement; if that fails (say, a reply to a
/// message just deleted), each on its own, in order, so one bad insert
/// does not fail the others.
async fn insert_all(messages: &[Message], mut to: Inserter<'_>) -> Vec<Result<bool, AppError>> {
    let refs: Vec<&Message> = messages.iter().collect();
    match to.insert(&refs).await {
        Ok(inserted) => refs.iter().map(|m| Ok(inserted.contains(&m.id))).collect(),
        Err(_) => {
            let mut results = Vec::with_capacity(refs.len());
            for m in &refs {
                results.push(to.insert(&[m]).await.map(|ids| !ids.is_empty()));
            }
            results
        }
    }
}

/// Where a batch is inserted: through the store's writer, or on the
/// connection holding the channels' commit locks.
enum Inserter<'a> {
    Store(&'a Store),
    Locked(&'a mut ChannelLocks, &'a Store),
}

impl Inserter<'_> {
    async fn insert(&mut self, messages: &[&Message]) -> Result<HashSet<Snowflake>, AppError> {
        match self {
            Inserter::Store(store) => store.insert_messages(messages).await,
            Inserter::Locked(locks, store) => locks.insert_messages(store, messages).await,
        }
    }
}

/// What each post is answered.
type Answers = Vec<Result<Message, AppError>>;

/// Each post's answer, and the messages created with their audiences, in
/// commit order.
fn settle(
    batch: &[Job],
    messages: Vec<Message>,
    results: Vec<Result<bool, AppError>>,
) -> (Answers, Vec<(Audience, Message)>) {
    let mut created = Vec::new();
    let answers = batch
        .iter()
        .zip(messages)
        .zip(results)
        .map(|((job, message), result)| match result {
            Ok(true) => {
                created.push((job.message.audience.clone(), message.clone()));
                Ok(message)
            }
            // The author lost the right to post between check and write.
            Ok(false) => Err(perms::lost_access(job.message.access)),
            Err(e) => Err(e),
        })
        .collect();
    (answers, created)
}

/// The message as it will be stored and shown, with a fresh id.
fn stamp(
    ids: &IdGenerator,
    new: &NewMessage,
    floor: Option<Snowflake>,
) -> Result<Message, LeaseExpired> {
    let id = match floor {
        Some(floor) => ids.next_above(floor)?,
        None => ids.next()?,
    };
    Ok(Message {
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
    })
}
