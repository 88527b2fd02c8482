//! Login sessions. Only a SHA-256 of each token is stored, so a leaked
//! database does not leak usable tokens.

use crate::error::AppError;
use crate::id::Snowflake;
use crate::store::{Store, read, write};

/// A live session, found by the hash of its token.
#[derive(Clone, Debug)]
pub struct SessionRecord {
    pub id: Snowflake,
    pub user_id: Snowflake,
    pub csrf_token: String,
    pub expires_at: i64,
}

pub struct NewSession<'a> {
    pub id: Snowflake,
    pub user_id: Snowflake,
    pub token_hash: &'a str,
    pub csrf_token: &'a str,
    pub now: i64,
    pub expires_at: i64,
}

impl Store {
    pub async fn create_session(&self, new: NewSession<'_>) -> Result<(), AppError> {
        write!(self, |pool| {
            sqlx::query(
                "INSERT INTO sessions (id, user_id, token_hash, csrf_token, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(new.id.0)
            .bind(new.user_id.0)
            .bind(new.token_hash)
            .bind(new.csrf_token)
            .bind(new.now)
            .bind(new.expires_at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// The unexpired session of a live account with this token hash.
    pub async fn session_by_token_hash(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<SessionRecord>, AppError> {
        let row = read!(self, |pool| {
            sqlx::query_as::<_, (i64, i64, String, i64)>(
                "SELECT s.id, s.user_id, s.csrf_token, s.expires_at
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.deleted_at IS NULL",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await
        })?;
        Ok(
            row.map(|(id, user_id, csrf_token, expires_at)| SessionRecord {
                id: Snowflake(id),
                user_id: Snowflake(user_id),
                csrf_token,
                expires_at,
            }),
        )
    }

    pub async fn delete_session(&self, id: Snowflake) -> Result<(), AppError> {
        write!(self, |pool| {
            sqlx::query("DELETE FROM sessions WHERE id = $1")
                .bind(id.0)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Ends every session of `user` except `keep`; returns the ended ones.
    pub async fn delete_other_sessions(
        &self,
        user: Snowflake,
        keep: Snowflake,
    ) -> Result<Vec<Snowflake>, AppError> {
        let ids = write!(self, |pool| async {
            let mut tx = pool.begin().await?;
            let ids: Vec<i64> =
                sqlx::query_scalar("SELECT id FROM sessions WHERE user_id = $1 AND id <> $2")
                    .bind(user.0)
                    .bind(keep.0)
                    .fetch_all(&mut *tx)
                    .await?;
            sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
                .bind(user.0)
                .bind(keep.0)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, AppError>(ids)
        }
        .await)?;
        Ok(ids.into_iter().map(Snowflake).collect())
    }

    /// Removes sessions that expired before `now`; returns how many.
    pub async fn purge_expired_sessions(&self, now: i64) -> Result<u64, AppError> {
        let done = write!(self, |pool| {
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(done)
    }
}
