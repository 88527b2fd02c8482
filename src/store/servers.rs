//! Servers ("guilds"). Creating one also makes its owner the first member
//! and opens a `general` channel, in one transaction.

use crate::domain::model::{Channel, ChannelKind, Member, Server};
use crate::domain::values::{Role, ServerName, Username};
use crate::error::AppError;
use crate::id::Snowflake;
use crate::store::{Page, Store, on_reader, on_writer, time_from_ms};

#[derive(sqlx::FromRow)]
struct ServerRow {
    id: i64,
    name: String,
    owner_id: i64,
    created_at: i64,
}

impl From<ServerRow> for Server {
    fn from(r: ServerRow) -> Self {
        Server {
            id: Snowflake(r.id),
            name: r.name,
            owner_id: Snowflake(r.owner_id),
            created_at: time_from_ms(r.created_at),
        }
    }
}

#[derive(sqlx::FromRow)]
struct ServerRoleRow {
    #[sqlx(flatten)]
    server: ServerRow,
    role: Option<Role>,
}

/// A server and the role of the user asking.
pub struct ServerWithRole {
    pub server: Server,
    /// `None`: not a member.
    pub role: Option<Role>,
}

/// What creating a server made.
pub struct CreatedServer {
    pub server: Server,
    /// The owner's membership.
    pub owner: Member,
    /// The `general` channel.
    pub general: Channel,
}

pub struct NewServer<'a> {
    pub id: Snowflake,
    pub name: &'a ServerName,
    pub owner: Snowflake,
    pub owner_name: &'a Username,
    pub owner_display_name: &'a str,
    pub general_channel_id: Snowflake,
    pub now: i64,
}

/// In a writer transaction `$tx`: whether `$user` is in fewer than `$max`
/// servers, with their user row locked (on PostgreSQL) so that their
/// parallel joins and creations count one after another.
macro_rules! below_server_quota {
    ($tx:expr, $postgres:expr, $user:expr, $max:expr) => {{
        crate::store::lock_row!($tx, $postgres, "users", $user.0).await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM members WHERE user_id = $1")
            .bind($user.0)
            .fetch_one($tx)
            .await?;
        count < $max
    }};
}
pub(crate) use below_server_quota;

impl Store {
    /// Creates a server with its owner and `general` channel, unless the
    /// owner is already in `max_servers` servers (checked and written in
    /// one transaction). `None`: they are.
    pub async fn create_server(
        &self,
        new: NewServer<'_>,
        max_servers: i64,
    ) -> Result<Option<CreatedServer>, AppError> {
        let postgres = self.is_postgres();
        let created = on_writer!(self, |pool| {
            async {
            let mut tx = pool.begin().await?;
            if !below_server_quota!(&mut *tx, postgres, new.owner, max_servers) {
                return Ok::<_, AppError>(false);
            }
            sqlx::query("INSERT INTO servers (id, name, owner_id, created_at) VALUES ($1, $2, $3, $4)")
                .bind(new.id.0)
                .bind(new.name.as_str())
                .bind(new.owner.0)
                .bind(new.now)
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO members (server_id, user_id, role, joined_at) VALUES ($1, $2, 'owner', $3)")
                .bind(new.id.0)
                .bind(new.owner.0)
                .bind(new.now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO channels (id, kind, server_id, name, topic, position, created_at)
                 VALUES ($1, 'text', $2, 'general', '', 0, $3)",
            )
            .bind(new.general_channel_id.0)
            .bind(new.id.0)
            .bind(new.now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(true)
        }
        .await
        })?;
        if !created {
            return Ok(None);
        }
        let created_at = time_from_ms(new.now);
        Ok(Some(CreatedServer {
            server: Server {
                id: new.id,
                name: new.name.as_str().to_owned(),
                owner_id: new.owner,
                created_at,
            },
            owner: Member {
                server_id: new.id,
                user_id: new.owner,
                username: new.owner_name.as_str().to_owned(),
                display_name: new.owner_display_name.to_owned(),
                role: Role::Owner,
                joined_at: created_at,
            },
            general: Channel {
                id: new.general_channel_id,
                kind: ChannelKind::Text,
                server_id: Some(new.id),
                name: "general".into(),
                topic: String::new(),
                position: 0,
                recipients: None,
                created_at,
            },
        }))
    }

    /// A server and the role `user` holds in it.
    pub async fn server_with_role(
        &self,
        id: Snowflake,
        user: Snowflake,
    ) -> Result<Option<ServerWithRole>, AppError> {
        let row = on_reader!(self, |pool| {
            sqlx::query_as::<_, ServerRoleRow>(
                "SELECT s.id, s.name, s.owner_id, s.created_at, m.role
                 FROM servers s LEFT JOIN members m ON m.server_id = s.id AND m.user_id = $2
                 WHERE s.id = $1",
            )
            .bind(id.0)
            .bind(user.0)
            .fetch_optional(pool)
            .await
        })?;
        Ok(row.map(|row| ServerWithRole {
            server: row.server.into(),
            role: row.role,
        }))
    }

    /// The servers `user` is a member of, by id.
    pub async fn servers_of(&self, user: Snowflake, page: &Page) -> Result<Vec<Server>, AppError> {
        let rows: Vec<ServerRow> = self
            .fetch_page(
                "SELECT s.id, s.name, s.owner_id, s.created_at
                 FROM members m JOIN servers s ON s.id = m.server_id",
                "m.user_id = $1",
                &[user.0],
                "m.server_id",
                page,
                false,
            )
            .await?;
        Ok(rows.into_iter().map(Server::from).collect())
    }

    pub async fn rename_server(
        &self,
        id: Snowflake,
        name: &ServerName,
    ) -> Result<Option<Server>, AppError> {
        on_writer!(self, |pool| async {
            sqlx::query("UPDATE servers SET name = $2 WHERE id = $1")
                .bind(id.0)
                .bind(name.as_str())
                .execute(pool)
                .await?;
            let row = sqlx::query_as::<_, ServerRow>(
                "SELECT id, name, owner_id, created_at FROM servers WHERE id = $1",
            )
            .bind(id.0)
            .fetch_optional(pool)
            .await?;
            Ok::<_, AppError>(row.map(Server::from))
        }
        .await)
    }

    /// Deletes a server with its channels, messages, reactions, members and
    /// invites (foreign keys cascade).
    pub async fn delete_server(&self, id: Snowflake) -> Result<bool, AppError> {
        let done = on_writer!(self, |pool| {
            sqlx::query("DELETE FROM servers WHERE id = $1")
                .bind(id.0)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        });
        self.memo.forget_all_access();
        self.recent.forget_all();
        Ok(done? > 0)
    }
}
