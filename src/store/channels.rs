//! Server channels and direct-message channels.

use crate::domain::model::{Channel, ChannelKind};
use crate::domain::values::Role;
use crate::error::{AppError, is_foreign_key_violation};
use crate::id::Snowflake;
use crate::perms::ChannelAccess;
use crate::store::{Page, Store, lock_row, on_reader, on_writer, time_from_ms};

#[derive(sqlx::FromRow)]
struct ChannelRow {
    id: i64,
    kind: ChannelKind,
    server_id: Option<i64>,
    name: String,
    topic: String,
    position: i64,
    dm_low: Option<i64>,
    dm_high: Option<i64>,
    created_at: i64,
}

impl From<ChannelRow> for Channel {
    fn from(r: ChannelRow) -> Self {
        let recipients = match (r.dm_low, r.dm_high) {
            (Some(a), Some(b)) => Some([Snowflake(a), Snowflake(b)]),
            _ => None,
        };
        Channel {
            id: Snowflake(r.id),
            kind: r.kind,
            server_id: r.server_id.map(Snowflake),
            name: r.name,
            topic: r.topic,
            position: r.position,
            recipients,
            created_at: time_from_ms(r.created_at),
        }
    }
}

/// A channel with the role of the user asking (if a member of its server)
/// and whether its DM pair has a block between them.
#[derive(sqlx::FromRow)]
struct ChannelAccessRow {
    #[sqlx(flatten)]
    channel: ChannelRow,
    role: Option<Role>,
    blocked: i64,
}

/// A DM channel as `open_dm` found or made it.
pub struct OpenedDm {
    pub channel: Channel,
    /// Whether this call created it.
    pub created: bool,
}

/// A channel and how the user asking stands towards it.
#[derive(Clone)]
pub struct ChannelWithAccess {
    pub channel: Channel,
    pub access: ChannelAccess,
}

const CHANNEL_COLUMNS: &str =
    "c.id, c.kind, c.server_id, c.name, c.topic, c.position, c.dm_low, c.dm_high, c.created_at";

/// The changes of a channel update; `None` leaves a field as it is.
pub struct ChannelChanges<'a> {
    pub name: Option<&'a str>,
    pub topic: Option<&'a str>,
    pub position: Option<i64>,
}

impl Store {
    /// Creates a server channel, unless its server already has `max`
    /// (checked and written in one transaction: parallel creations cannot
    /// pass it). False: the server is full.
    pub async fn create_channel(&self, channel: &Channel, max: i64) -> Result<bool, AppError> {
        let postgres = self.is_postgres();
        let server = channel.server_id.map(|s| s.0);
        let result = on_writer!(self, |pool| async {
            let mut tx = pool.begin().await?;
            lock_row!(&mut *tx, postgres, "servers", server).await?;
            let count: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM channels WHERE server_id = $1")
                    .bind(server)
                    .fetch_one(&mut *tx)
                    .await?;
            if count >= max {
                return Ok(false);
            }
            sqlx::query(
                "INSERT INTO channels (id, kind, server_id, name, topic, position, created_at)
                 VALUES ($1, 'text', $2, $3, $4, $5, $6)",
            )
            .bind(channel.id.0)
            .bind(server)
            .bind(&channel.name)
            .bind(&channel.topic)
            .bind(channel.position)
            .bind(channel.id.timestamp_ms())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(true)
        }
        .await);
        match result {
            Ok(created) => Ok(created),
            Err(e) if is_foreign_key_violation(&e) => Err(AppError::NotFound("server")),
            Err(e) => Err(e.into()),
        }
    }

    /// The DM channel between two users, created if absent.
    pub async fn open_dm(
        &self,
        id: Snowflake,
        a: Snowflake,
        b: Snowflake,
        now: i64,
    ) -> Result<OpenedDm, AppError> {
        let (low, high) = if a < b { (a, b) } else { (b, a) };
        let sql = format!(
            "SELECT {CHANNEL_COLUMNS} FROM channels c WHERE c.dm_low = $1 AND c.dm_high = $2"
        );
        on_writer!(self, |pool| {
            async {
            let inserted = sqlx::query(
                "INSERT INTO channels (id, kind, server_id, name, topic, position, dm_low, dm_high, created_at)
                 VALUES ($1, 'dm', NULL, '', '', 0, $2, $3, $4)
                 ON CONFLICT (dm_low, dm_high) DO NOTHING",
            )
            .bind(id.0)
            .bind(low.0)
            .bind(high.0)
            .bind(now)
            .execute(pool)
            .await?;
            let row = sqlx::query_as::<_, ChannelRow>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(low.0)
                .bind(high.0)
                .fetch_one(pool)
                .await?;
            Ok::<_, AppError>(OpenedDm {
                channel: Channel::from(row),
                created: inserted.rows_affected() > 0,
            })
        }
        .await
        })
    }

    /// A channel and how `user` stands towards it, from memory or in one
    /// query.
    pub async fn channel_access(
        &self,
        id: Snowflake,
        user: Snowflake,
    ) -> Result<Option<ChannelWithAccess>, AppError> {
        if let Some(found) = self.memo.access(user, id) {
            return Ok(Some(found));
        }
        let epoch = self.memo.epoch();
        let found = self.load_channel_access(id, user).await?;
        if let Some(found) = &found {
            self.memo.keep_access(user, found.clone(), epoch);
        }
        Ok(found)
    }

    async fn load_channel_access(
        &self,
        id: Snowflake,
        user: Snowflake,
    ) -> Result<Option<ChannelWithAccess>, AppError> {
        let sql = format!(
            "SELECT {CHANNEL_COLUMNS}, m.role,
                CAST(CASE WHEN c.kind = 'dm' AND EXISTS (
                    SELECT 1 FROM relationships r
                    WHERE r.user_low = c.dm_low AND r.user_high = c.dm_high AND r.status = 'blocked'
                ) THEN 1 ELSE 0 END AS BIGINT) AS blocked
             FROM channels c LEFT JOIN members m ON m.server_id = c.server_id AND m.user_id = $2
             WHERE c.id = $1"
        );
        let row = on_reader!(self, |pool| {
            sqlx::query_as::<_, ChannelAccessRow>(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(id.0)
                .bind(user.0)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(|row| {
            let channel = Channel::from(row.channel);
            let access = match channel.recipients {
                Some([a, b]) => ChannelAccess::Direct {
                    participant: user == a || user == b,
                    blocked: row.blocked != 0,
                },
                None => ChannelAccess::Server(row.role),
            };
            ChannelWithAccess { channel, access }
        }))
    }

    /// Channels of one server (the caller has checked membership), by id.
    pub async fn server_channels(
        &self,
        server: Snowflake,
        page: &Page,
    ) -> Result<Vec<Channel>, AppError> {
        let rows: Vec<ChannelRow> = self
            .fetch_page(
                &format!("SELECT {CHANNEL_COLUMNS} FROM channels c"),
                "c.server_id = $1",
                &[server.0],
                "c.id",
                page,
                false,
            )
            .await?;
        Ok(rows.into_iter().map(Channel::from).collect())
    }

    /// Every channel `user` can read: those of their servers and their DMs.
    pub async fn visible_channels(
        &self,
        user: Snowflake,
        page: &Page,
    ) -> Result<Vec<Channel>, AppError> {
        let rows: Vec<ChannelRow> = self
            .fetch_page(
                &format!("SELECT {CHANNEL_COLUMNS} FROM channels c"),
                "c.server_id IN (SELECT server_id FROM members WHERE user_id = $1)
                 OR c.dm_low = $1 OR c.dm_high = $1",
                &[user.0],
                "c.id",
                page,
                false,
            )
            .await?;
        Ok(rows.into_iter().map(Channel::from).collect())
    }

    pub async fn update_channel(
        &self,
        id: Snowflake,
        changes: &ChannelChanges<'_>,
    ) -> Result<Option<Channel>, AppError> {
        let sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels c WHERE c.id = $1");
        let updated = on_writer!(self, |pool| async {
            sqlx::query(
                "UPDATE channels SET name = COALESCE($2, name), topic = COALESCE($3, topic),
                    position = COALESCE($4, position)
                 WHERE id = $1",
            )
            .bind(id.0)
            .bind(changes.name)
            .bind(changes.topic)
            .bind(changes.position)
            .execute(pool)
            .await?;
            let row = sqlx::query_as::<_, ChannelRow>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id.0)
                .fetch_optional(pool)
                .await?;
            Ok::<_, AppError>(row.map(Channel::from))
        }
        .await);
        self.memo.forget_channel(id);
        updated
    }

    /// Deletes a channel with its messages and their reactions.
    pub async fn delete_channel(&self, id: Snowflake) -> Result<bool, AppError> {
        let done = on_writer!(self, |pool| {
            sqlx::query("DELETE FROM channels WHERE id = $1")
                .bind(id.0)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        });
        self.memo.forget_channel(id);
        self.recent.forget(id);
        Ok(done? > 0)
    }
}
