//! Login sessions. Only a SHA-256 of each token is stored, so a leaked
//! database does not leak usable tokens.

use chrono::{DateTime, Utc};

use crate::domain::model::rfc3339_millis;
use crate::error::AppError;
use crate::id::Snowflake;
use crate::store::{Store, on_reader, on_writer, time_from_ms};

/// A live session, found by the hash of its token.
#[derive(Clone, Debug)]
pub struct SessionRecord {
    pub id: Snowflake,
    pub user_id: Snowflake,
    pub csrf_token: String,
    pub last_used_at: i64,
    pub expires_at: i64,
}

/// A session as its owner sees it in the list (no token, no CSRF token).
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SessionInfo {
    #[schema(value_type = String)]
    pub id: Snowflake,
    #[serde(with = "rfc3339_millis")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "rfc3339_millis")]
    pub last_used_at: DateTime<Utc>,
    #[serde(with = "rfc3339_millis")]
    pub expires_at: DateTime<Utc>,
    /// The client's User-Agent at login, at most 256 characters.
    pub user_agent: String,
    /// Whether this is the session making the request.
    pub current: bool,
}

pub struct NewSession<'a> {
    pub id: Snowflake,
    pub user_id: Snowflake,
    pub token_hash: &'a str,
    pub csrf_token: &'a str,
    pub now: i64,
    pub expires_at: i64,
    pub user_agent: &'a str,
    /// The password hash the login was checked against.
    pub password_hash: &'a str,
}

impl Store {
    /// Stores a new session, only if the user's password hash is still the
    /// one the login checked: a password change that committed since then
    /// (and ended the sessions it found) refuses this one too, so no session
    /// opened with the old password outlives the change. On PostgreSQL the
    /// user row is share-locked, so a change in flight waits for this
    /// insert (and then ends it) or this insert waits for the change (and
    /// then finds the new hash). False: refused.
    pub async fn create_session(&self, new: NewSession<'_>) -> Result<bool, AppError> {
        let sql = format!(
            "INSERT INTO sessions (id, user_id, token_hash, csrf_token, created_at, expires_at, last_used_at, user_agent)
             SELECT $1, $2, $3, $4, $5, $6, $5, $7 FROM users WHERE id = $2 AND password_hash = $8{}",
            if self.is_postgres() { " FOR SHARE" } else { "" }
        );
        let done = on_writer!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(new.id.0)
                .bind(new.user_id.0)
                .bind(new.token_hash)
                .bind(new.csrf_token)
                .bind(new.now)
                .bind(new.expires_at)
                .bind(new.user_agent)
                .bind(new.password_hash)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(done > 0)
    }

    /// The session of a live account with this token hash, unless it
    /// expired or has been idle since before `idle_since`.
    pub async fn session_by_token_hash(
        &self,
        token_hash: &str,
        now: i64,
        idle_since: i64,
    ) -> Result<Option<SessionRecord>, AppError> {
        let row = on_reader!(self, |pool| {
            sqlx::query_as::<_, (i64, i64, String, i64, i64)>(
                "SELECT s.id, s.user_id, s.csrf_token, s.last_used_at, s.expires_at
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.last_used_at > $3
                   AND u.deleted_at IS NULL",
            )
            .bind(token_hash)
            .bind(now)
            .bind(idle_since)
            .fetch_optional(pool)
            .await
        })?;
        Ok(row.map(
            |(id, user_id, csrf_token, last_used_at, expires_at)| SessionRecord {
                id: Snowflake(id),
                user_id: Snowflake(user_id),
                csrf_token,
                last_used_at,
                expires_at,
            },
        ))
    }

    /// Records that a session was used at `now`.
    pub async fn touch_session(&self, id: Snowflake, now: i64) -> Result<(), AppError> {
        on_writer!(self, |pool| {
            sqlx::query("UPDATE sessions SET last_used_at = $2 WHERE id = $1")
                .bind(id.0)
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// The live sessions of `user`, newest first.
    pub async fn sessions_of(
        &self,
        user: Snowflake,
        current: Snowflake,
        now: i64,
    ) -> Result<Vec<SessionInfo>, AppError> {
        let rows = on_reader!(self, |pool| {
            sqlx::query_as::<_, (i64, i64, i64, i64, String)>(
                "SELECT id, created_at, last_used_at, expires_at, user_agent FROM sessions
                 WHERE user_id = $1 AND expires_at > $2 ORDER BY id DESC LIMIT 1000",
            )
            .bind(user.0)
            .bind(now)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(
                |(id, created_at, last_used_at, expires_at, user_agent)| SessionInfo {
                    id: Snowflake(id),
                    created_at: time_from_ms(created_at),
                    last_used_at: time_from_ms(last_used_at),
                    expires_at: time_from_ms(expires_at),
                    user_agent,
                    current: id == current.0,
                },
            )
            .collect())
    }

    /// Ends one of `user`'s sessions; false if they have no such session.
    pub async fn delete_session_of(
        &self,
        user: Snowflake,
        id: Snowflake,
    ) -> Result<bool, AppError> {
        let done = on_writer!(self, |pool| {
            sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
                .bind(id.0)
                .bind(user.0)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(done > 0)
    }

    pub async fn delete_session(&self, id: Snowflake) -> Result<(), AppError> {
        on_writer!(self, |pool| {
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
        let ids = on_writer!(self, |pool| async {
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

    /// Removes sessions that expired by `now` or were last used before
    /// `idle_since`; returns them as (user, session).
    pub async fn delete_stale_sessions(
        &self,
        now: i64,
        idle_since: i64,
    ) -> Result<Vec<(Snowflake, Snowflake)>, AppError> {
        let rows = on_writer!(self, |pool| {
            sqlx::query_as::<_, (i64, i64)>(
                "DELETE FROM sessions WHERE expires_at <= $1 OR last_used_at <= $2
                 RETURNING user_id, id",
            )
            .bind(now)
            .bind(idle_since)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(user, id)| (Snowflake(user), Snowflake(id)))
            .collect())
    }
}
