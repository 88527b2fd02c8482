//! Invite codes to servers.

use crate::domain::model::Invite;
use crate::error::AppError;
use crate::id::Snowflake;
use crate::store::servers::below_server_quota;
use crate::store::{Store, on_writer, time_from_ms};

pub struct NewInvite<'a> {
    pub code: &'a str,
    pub server: Snowflake,
    pub creator: Snowflake,
    pub now: i64,
    pub expires_at: Option<i64>,
    pub max_uses: Option<i64>,
}

/// What accepting an invite did.
pub enum Accepted {
    /// The user joined the server.
    Joined(Snowflake),
    /// The user was already a member; the invite was not used up.
    AlreadyMember(Snowflake),
    /// The user is already in as many servers as they may be; the invite
    /// was not used up.
    AtQuota,
}

impl Store {
    pub async fn create_invite(&self, new: NewInvite<'_>) -> Result<Invite, AppError> {
        on_writer!(self, |pool| {
            sqlx::query(
                "INSERT INTO invites (code, server_id, creator_id, created_at, expires_at, max_uses, uses)
                 VALUES ($1, $2, $3, $4, $5, $6, 0)",
            )
            .bind(new.code)
            .bind(new.server.0)
            .bind(new.creator.0)
            .bind(new.now)
            .bind(new.expires_at)
            .bind(new.max_uses)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(Invite {
            code: new.code.to_owned(),
            server_id: new.server,
            creator_id: new.creator,
            created_at: time_from_ms(new.now),
            expires_at: new.expires_at.map(time_from_ms),
            max_uses: new.max_uses,
            uses: 0,
        })
    }

    /// Uses an invite for `user`, atomically: the use is counted only if
    /// the invite is still valid and the user actually joins. `None`: no
    /// such code, expired, or used up.
    pub async fn accept_invite(
        &self,
        code: &str,
        user: Snowflake,
        now: i64,
        max_servers: i64,
    ) -> Result<Option<Accepted>, AppError> {
        let postgres = self.is_postgres();
        let accepted = on_writer!(self, |pool| {
            async {
            let mut tx = pool.begin().await?;
            let server: Option<i64> = sqlx::query_scalar(
                "SELECT server_id FROM invites
                 WHERE code = $1 AND (expires_at IS NULL OR expires_at > $2)
                   AND (max_uses IS NULL OR uses < max_uses)",
            )
            .bind(code)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(server) = server else { return Ok(None) };
            let member: Option<i64> = sqlx::query_scalar(
                "SELECT server_id FROM members WHERE server_id = $1 AND user_id = $2",
            )
            .bind(server)
            .bind(user.0)
            .fetch_optional(&mut *tx)
            .await?;
            if member.is_none() && !below_server_quota!(&mut *tx, postgres, user, max_servers) {
                return Ok(Some(Accepted::AtQuota));
            }
            let joined = sqlx::query(
                "INSERT INTO members (server_id, user_id, role, joined_at) VALUES ($1, $2, 'member', $3)
                 ON CONFLICT (server_id, user_id) DO NOTHING",
            )
            .bind(server)
            .bind(user.0)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if joined.rows_affected() == 0 {
                return Ok(Some(Accepted::AlreadyMember(Snowflake(server))));
            }
            // The guard in WHERE keeps concurrent acceptances on PostgreSQL
            // from exceeding max_uses: a lost race rolls back the join.
            let counted = sqlx::query(
                "UPDATE invites SET uses = uses + 1
                 WHERE code = $1 AND (max_uses IS NULL OR uses < max_uses)",
            )
            .bind(code)
            .execute(&mut *tx)
            .await?;
            if counted.rows_affected() == 0 {
                return Ok(None);
            }
            tx.commit().await?;
            Ok::<_, AppError>(Some(Accepted::Joined(Snowflake(server))))
        }
        .await
        });
        self.memo.forget_user(user);
        accepted
    }
}
