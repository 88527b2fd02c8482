//! Emoji reactions on messages: one per user, message and emoji.

use crate::domain::model::Reaction;
use crate::domain::values::Emoji;
use crate::error::{AppError, is_foreign_key_violation, is_unique_violation};
use crate::id::Snowflake;
use crate::store::recent::{CachedReaction, Change};
use crate::store::{Page, Store, lock_row, on_reader, on_writer, time_from_ms};

#[derive(sqlx::FromRow)]
pub(crate) struct ReactionRow {
    id: i64,
    message_id: i64,
    channel_id: i64,
    user_id: i64,
    emoji: String,
    created_at: i64,
}

impl From<ReactionRow> for Reaction {
    fn from(r: ReactionRow) -> Self {
        Reaction {
            id: Snowflake(r.id),
            message_id: Snowflake(r.message_id),
            channel_id: Snowflake(r.channel_id),
            user_id: Snowflake(r.user_id),
            emoji: r.emoji,
            created_at: time_from_ms(r.created_at),
        }
    }
}

const REACTION_SELECT: &str =
    "SELECT r.id, r.message_id, m.channel_id, r.user_id, r.emoji, r.created_at
     FROM reactions r JOIN messages m ON m.id = r.message_id";

/// Different emojis one message may hold, as on Discord. With one
/// reaction per user, message and emoji, this also bounds each user's
/// reactions on a message.
pub const MAX_EMOJIS_PER_MESSAGE: i64 = 20;

fn too_many_emojis() -> AppError {
    AppError::limit_reached(format!(
        "a message holds at most {MAX_EMOJIS_PER_MESSAGE} different emojis"
    ))
}

/// In a writer transaction `$tx`: (different emojis on `$message`,
/// reactions with `$emoji` there), leaving out reaction `$except`. A macro
/// because the same text runs on either database's connection type.
macro_rules! emojis_on {
    ($tx:expr, $message:expr, $emoji:expr, $except:expr) => {
        sqlx::query_as::<_, (i64, i64)>(
            "SELECT COUNT(DISTINCT emoji), COUNT(CASE WHEN emoji = $2 THEN 1 END)
             FROM reactions WHERE message_id = $1 AND id <> $3",
        )
        .bind($message.0)
        .bind($emoji)
        .bind($except.map_or(0, |id: Snowflake| id.0))
        .fetch_one($tx)
    };
}

fn already_reacted() -> AppError {
    AppError::conflict("already_reacted", "you already reacted with that emoji")
}

impl Store {
    pub async fn add_reaction(&self, reaction: &Reaction) -> Result<(), AppError> {
        let postgres = self.is_postgres();
        let result = on_writer!(self, |pool| async {
            let mut tx = pool.begin().await?;
            // Concurrent reactions on one message wait for each other.
            lock_row!(&mut *tx, postgres, "messages", reaction.message_id.0).await?;
            let (distinct, same) =
                emojis_on!(&mut *tx, reaction.message_id, &reaction.emoji, None).await?;
            if same == 0 && distinct >= MAX_EMOJIS_PER_MESSAGE {
                return Ok(Err(too_many_emojis()));
            }
            sqlx::query(
                "INSERT INTO reactions (id, message_id, user_id, emoji, created_at, channel_id)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(reaction.id.0)
            .bind(reaction.message_id.0)
            .bind(reaction.user_id.0)
            .bind(&reaction.emoji)
            .bind(reaction.id.timestamp_ms())
            .bind(reaction.channel_id.0)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Ok(()))
        }
        .await);
        let result = match result {
            Ok(Err(refused)) => return Err(refused),
            Ok(Ok(())) => Ok(()),
            Err(e) => Err(e),
        };
        match result {
            Ok(_) => {
                self.recent.apply(
                    reaction.channel_id,
                    Change::ReactionAdded {
                        message: reaction.message_id,
                        reaction: CachedReaction {
                            id: reaction.id,
                            user_id: reaction.user_id,
                            emoji: reaction.emoji.clone(),
                        },
                    },
                );
                Ok(())
            }
            Err(e) if is_unique_violation(&e) => Err(already_reacted()),
            Err(e) if is_foreign_key_violation(&e) => Err(AppError::NotFound("message")),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn reaction(&self, id: Snowflake) -> Result<Option<Reaction>, AppError> {
        let sql = format!("{REACTION_SELECT} WHERE r.id = $1");
        let row = on_reader!(self, |pool| {
            sqlx::query_as::<_, ReactionRow>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id.0)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(Reaction::from))
    }

    /// Reactions on one message, oldest first.
    /// Only `reactor`'s when given.
    pub async fn message_reactions(
        &self,
        message: Snowflake,
        reactor: Option<Snowflake>,
        page: &Page,
    ) -> Result<Vec<Reaction>, AppError> {
        // Ids are positive: 0 stands for "anyone".
        let reactor = reactor.map_or(0, |r| r.0);
        let rows: Vec<ReactionRow> = self
            .fetch_page(
                REACTION_SELECT,
                "r.message_id = $1 AND ($2 = 0 OR r.user_id = $2)",
                &[message.0, reactor],
                "r.id",
                page,
                false,
            )
            .await?;
        Ok(rows.into_iter().map(Reaction::from).collect())
    }

    /// Swaps the emoji of `reaction` (as read before the change).
    pub async fn change_reaction(
        &self,
        reaction: &Reaction,
        emoji: &Emoji,
    ) -> Result<bool, AppError> {
        let postgres = self.is_postgres();
        let result = on_writer!(self, |pool| async {
            let mut tx = pool.begin().await?;
            // Concurrent reactions on one message wait for each other.
            lock_row!(&mut *tx, postgres, "messages", reaction.message_id.0).await?;
            let (distinct, same) = emojis_on!(
                &mut *tx,
                reaction.message_id,
                emoji.as_str(),
                Some(reaction.id)
            )
            .await?;
            if same == 0 && distinct >= MAX_EMOJIS_PER_MESSAGE {
                return Ok(Err(too_many_emojis()));
            }
            let done = sqlx::query("UPDATE reactions SET emoji = $2 WHERE id = $1")
                .bind(reaction.id.0)
                .bind(emoji.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Ok(done))
        }
        .await);
        let result = match result {
            Ok(Err(refused)) => return Err(refused),
            Ok(Ok(done)) => Ok(done),
            Err(e) => Err(e),
        };
        match result {
            Ok(done) => {
                self.recent.apply(
                    reaction.channel_id,
                    Change::ReactionChanged {
                        message: reaction.message_id,
                        reaction: reaction.id,
                        emoji: emoji.as_str().to_owned(),
                    },
                );
                Ok(done > 0)
            }
            Err(e) if is_unique_violation(&e) => Err(already_reacted()),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn delete_reaction(&self, reaction: &Reaction) -> Result<bool, AppError> {
        let done = on_writer!(self, |pool| {
            sqlx::query("DELETE FROM reactions WHERE id = $1")
                .bind(reaction.id.0)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        });
        self.recent.apply(
            reaction.channel_id,
            Change::ReactionRemoved {
                message: reaction.message_id,
                reaction: reaction.id,
            },
        );
        Ok(done? > 0)
    }
}
