//! Feeds across every channel a user can read: `GET /messages` without
//! `channel_id` and `GET /emojis` without `message_id`.
//!
//! A feed page is built per channel: for each readable channel, the
//! `limit` rows nearest the cursor come from an index range on
//! `(channel_id, id)`, and the merged rows are cut to `limit`. Its cost
//! grows with the number of channels the user can read times the page
//! size, never with the number of rows in the database. SQLite runs the
//! per-channel part as a correlated `IN` subquery (its planner turns that
//! into one index range per channel); PostgreSQL needs `LATERAL` for the
//! same plan, so the two texts differ there.

use crate::domain::model::{Message, Reaction};
use crate::error::AppError;
use crate::id::Snowflake;
use crate::store::messages::{MESSAGE_COLUMNS, MESSAGE_JOINS, MessageRow};
use crate::store::reactions::ReactionRow;
use crate::store::{Db, Page, Store};

/// The channels user `$1` can read, as the CTE `readable(id)`.
const READABLE_CHANNELS: &str = "readable(id) AS (
        SELECT id FROM channels WHERE server_id IN (SELECT server_id FROM members WHERE user_id = $1)
        UNION ALL SELECT id FROM channels WHERE dm_low = $1
        UNION ALL SELECT id FROM channels WHERE dm_high = $1)";

/// The columns of a reaction read straight from `reactions r`.
const REACTION_COLUMNS: &str = "r.id, r.message_id, r.channel_id, r.user_id, r.emoji, r.created_at";

/// A feed over `table` (rows with a `channel_id` and an index on
/// `(channel_id, id)`), aliased `alias`, selecting `columns` with `joins`,
/// walking ids in `dir`. Binds: `$1` the reader, `$2`/`$3` the id bounds,
/// `$4` the limit (see `Store::fetch_keyset`).
fn feed_sql(db: &Db, table: &str, alias: &str, columns: &str, joins: &str, dir: &str) -> String {
    let nearest = format!(
        "SELECT x.id FROM {table} x WHERE x.channel_id = c.id AND x.id > $2 AND x.id < $3
         ORDER BY x.id {dir} LIMIT $4"
    );
    let rows = match db {
        Db::Sqlite { .. } => {
            format!("readable c JOIN {table} {alias} ON {alias}.id IN ({nearest})")
        }
        Db::Postgres(_) => format!(
            "readable c CROSS JOIN LATERAL ({nearest}) near
             JOIN {table} {alias} ON {alias}.id = near.id"
        ),
    };
    format!(
        "WITH {READABLE_CHANNELS}
         SELECT {columns} FROM {rows} {joins}
         ORDER BY {alias}.id {dir} LIMIT $4"
    )
}

impl Store {
    /// The messages `reader` can read, across all their channels, newest
    /// first, with reaction tallies for them.
    pub async fn readable_messages(
        &self,
        reader: Snowflake,
        page: &Page,
    ) -> Result<Vec<Message>, AppError> {
        let rows: Vec<MessageRow> = self
            .fetch_keyset(&[reader.0], page, true, |dir, _| {
                feed_sql(
                    &self.db,
                    "messages",
                    "m",
                    MESSAGE_COLUMNS,
                    MESSAGE_JOINS,
                    dir,
                )
            })
            .await?;
        self.with_tallies(rows, reader).await
    }

    /// The reactions `reader` can see, across all their channels, in id
    /// order; only `reactor`'s when given.
    pub async fn readable_reactions(
        &self,
        reader: Snowflake,
        reactor: Option<Snowflake>,
        page: &Page,
    ) -> Result<Vec<Reaction>, AppError> {
        let rows: Vec<ReactionRow> = match reactor {
            // One user's reactions: walk their index, keeping the readable.
            Some(reactor) => {
                self.fetch_keyset(&[reader.0, reactor.0], page, false, |dir, _| {
                    format!(
                        "WITH {READABLE_CHANNELS}
                         SELECT {REACTION_COLUMNS} FROM reactions r
                         WHERE r.user_id = $2 AND r.channel_id IN (SELECT id FROM readable)
                           AND r.id > $3 AND r.id < $4
                         ORDER BY r.id {dir} LIMIT $5"
                    )
                })
                .await?
            }
            None => {
                self.fetch_keyset(&[reader.0], page, false, |dir, _| {
                    feed_sql(&self.db, "reactions", "r", REACTION_COLUMNS, "", dir)
                })
                .await?
            }
        };
        Ok(rows.into_iter().map(Reaction::from).collect())
    }
}
