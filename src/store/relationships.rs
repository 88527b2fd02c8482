//! Relationships between two users: one row per pair, whoever asked first.

use crate::domain::model::Relationship;
use crate::domain::values::RelationshipStatus;
use crate::error::{AppError, is_unique_violation};
use crate::id::Snowflake;
use crate::store::{Page, Store, on_reader, on_writer, time_from_ms};

#[derive(sqlx::FromRow)]
struct RelationshipRow {
    id: i64,
    requester_id: i64,
    addressee_id: i64,
    status: RelationshipStatus,
    blocked_by: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl From<RelationshipRow> for Relationship {
    fn from(r: RelationshipRow) -> Self {
        Relationship {
            id: Snowflake(r.id),
            user_id: Snowflake(r.requester_id),
            friend_id: Snowflake(r.addressee_id),
            status: r.status,
            blocked_by: r.blocked_by.map(Snowflake),
            created_at: time_from_ms(r.created_at),
            updated_at: time_from_ms(r.updated_at),
        }
    }
}

const RELATIONSHIP_SELECT: &str = "SELECT id, requester_id, addressee_id, status, blocked_by, created_at, updated_at FROM relationships";

fn relationship_changed() -> AppError {
    AppError::conflict(
        "relationship_changed",
        "the relationship changed meanwhile; read it again",
    )
}

fn pair(a: Snowflake, b: Snowflake) -> (i64, i64) {
    if a < b { (a.0, b.0) } else { (b.0, a.0) }
}

impl Store {
    pub async fn relationship(&self, id: Snowflake) -> Result<Option<Relationship>, AppError> {
        let sql = format!("{RELATIONSHIP_SELECT} WHERE id = $1");
        let row = on_reader!(self, |pool| {
            sqlx::query_as::<_, RelationshipRow>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id.0)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(Relationship::from))
    }

    pub async fn relationship_between(
        &self,
        a: Snowflake,
        b: Snowflake,
    ) -> Result<Option<Relationship>, AppError> {
        let (low, high) = pair(a, b);
        let sql = format!("{RELATIONSHIP_SELECT} WHERE user_low = $1 AND user_high = $2");
        let row = on_reader!(self, |pool| {
            sqlx::query_as::<_, RelationshipRow>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(low)
                .bind(high)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(Relationship::from))
    }

    /// The relationships `user` may see (a block is hidden from the blocked).
    pub async fn relationships_of(
        &self,
        user: Snowflake,
        page: &Page,
    ) -> Result<Vec<Relationship>, AppError> {
        let rows: Vec<RelationshipRow> = self
            .fetch_page(
                RELATIONSHIP_SELECT,
                "(user_low = $1 OR user_high = $1)
                 AND NOT (status = 'blocked' AND blocked_by <> $1)",
                &[user.0],
                "id",
                page,
                false,
            )
            .await?;
        Ok(rows.into_iter().map(Relationship::from).collect())
    }

    /// Inserts a new relationship; 409 if the pair already has one.
    pub async fn insert_relationship(&self, rel: &Relationship, now: i64) -> Result<(), AppError> {
        let (low, high) = pair(rel.user_id, rel.friend_id);
        let result = on_writer!(self, |pool| {
            sqlx::query(
                "INSERT INTO relationships (id, user_low, user_high, requester_id, addressee_id, status, blocked_by, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
            )
            .bind(rel.id.0)
            .bind(low)
            .bind(high)
            .bind(rel.user_id.0)
            .bind(rel.friend_id.0)
            .bind(rel.status)
            .bind(rel.blocked_by.map(|b| b.0))
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        });
        self.forget_pair(rel.user_id, rel.friend_id);
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(AppError::conflict(
                "relationship_exists",
                "a relationship with this user already exists",
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Moves `checked` (as the caller read and judged it) to `status`, only
    /// if it is still in that state: an accept racing a block cannot erase
    /// the block. `None`: it is gone; 409 `relationship_changed`: it
    /// changed meanwhile.
    pub async fn set_relationship_status(
        &self,
        checked: &Relationship,
        status: RelationshipStatus,
        blocked_by: Option<Snowflake>,
        now: i64,
    ) -> Result<Option<Relationship>, AppError> {
        let updated = on_writer!(self, |pool| {
            sqlx::query(
                "UPDATE relationships SET status = $2, blocked_by = $3, updated_at = $4
                 WHERE id = $1 AND status = $5 AND COALESCE(blocked_by, 0) = $6",
            )
            .bind(checked.id.0)
            .bind(status)
            .bind(blocked_by.map(|b| b.0))
            .bind(now)
            .bind(checked.status)
            .bind(checked.blocked_by.map_or(0, |b| b.0))
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        });
        let found = self.relationship(checked.id).await;
        match &found {
            Ok(Some(rel)) => self.forget_pair(rel.user_id, rel.friend_id),
            // Unknown pair: forget every channel access to be safe.
            _ => self.memo.forget_all_access(),
        }
        match (updated?, found?) {
            (0, Some(_)) => Err(relationship_changed()),
            (_, found) => Ok(found),
        }
    }

    /// Deletes `checked`, only if it is still in the state the caller read
    /// and judged. False: it is gone; 409 `relationship_changed`: it changed
    /// meanwhile.
    pub async fn delete_relationship(&self, checked: &Relationship) -> Result<bool, AppError> {
        let deleted = on_writer!(self, |pool| {
            sqlx::query_as::<_, (i64, i64)>(
                "DELETE FROM relationships
                 WHERE id = $1 AND status = $2 AND COALESCE(blocked_by, 0) = $3
                 RETURNING user_low, user_high",
            )
            .bind(checked.id.0)
            .bind(checked.status)
            .bind(checked.blocked_by.map_or(0, |b| b.0))
            .fetch_optional(pool)
            .await
        });
        match &deleted {
            Ok(Some((low, high))) => self.forget_pair(Snowflake(*low), Snowflake(*high)),
            Ok(None) => {}
            Err(_) => self.memo.forget_all_access(),
        }
        if deleted?.is_some() {
            return Ok(true);
        }
        match self.relationship(checked.id).await? {
            Some(_) => Err(relationship_changed()),
            None => Ok(false),
        }
    }

    /// A relationship decides whether their direct messages are blocked.
    fn forget_pair(&self, a: Snowflake, b: Snowflake) {
        self.memo.forget_user(a);
        self.memo.forget_user(b);
    }
}
