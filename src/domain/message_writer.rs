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

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use crate::domain::model::{Author, Message};
use crate::error::AppError;
use crate::events::{Audience, Event, EventBus};
use crate::id::{IdGenerator, Snowflake};
use crate::perms::{self, ChannelAccess};
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
        metrics: WriterMetrics,
    ) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(run(store, ids, events, metrics, jobs));
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

async fn run(
    store: Store,
    ids: Arc<IdGenerator>,
    events: EventBus,
    metrics: WriterMetrics,
    mut jobs: mpsc::Receiver<Job>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        metrics.batch_size.record(batch.len() as f64);
        let messages: Vec<Message> = batch.iter().map(|job| stamp(&ids, &job.message)).collect();
        let refs: Vec<&Message> = messages.iter().collect();
        let started = Instant::now();
        let results: Vec<Result<bool, AppError>> = match store.insert_messages(&refs).await {
            Ok(inserted) => refs.iter().map(|m| Ok(inserted.contains(&m.id))).collect(),
            // One bad insert (say, a reply to a message just deleted) must
            // not fail the others: retry each on its own, in order.
            Err(_) => {
                let mut results = Vec::with_capacity(refs.len());
                for m in &refs {
                    results.push(store.insert_messages(&[m]).await.map(|ids| !ids.is_empty()));
                }
                results
            }
        };
        // The whole commit, retries included: what the batch's callers waited.
        metrics
            .commit_seconds
            .record(started.elapsed().as_secs_f64());
        for ((job, message), result) in batch.drain(..).zip(messages).zip(results) {
            let answer = match result {
                Ok(true) => {
                    events.publish(job.message.audience, Event::MessageCreate(message.clone()));
                    Ok(message)
                }
                // The author lost the right to post between check and write.
                Ok(false) => Err(perms::lost_access(job.message.access)),
                Err(e) => Err(e),
            };
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
