//! Server membership and roles.

use crate::domain::model::Member;
use crate::domain::values::Role;
use crate::error::AppError;
use crate::id::Snowflake;
use crate::store::{Page, Store, on_reader, on_writer, time_from_ms};

#[derive(sqlx::FromRow)]
struct MemberRow {
    server_id: i64,
    user_id: i64,
    username: String,
    display_name: String,
    role: Role,
    joined_at: i64,
}

impl From<MemberRow> for Member {
    fn from(r: MemberRow) -> Self {
        Member {
            server_id: Snowflake(r.server_id),
            user_id: Snowflake(r.user_id),
            username: r.username,
            display_name: r.display_name,
            role: r.role,
            joined_at: time_from_ms(r.joined_at),
        }
    }
}

const MEMBER_SELECT: &str =
    "SELECT m.server_id, m.user_id, u.username, u.display_name, m.role, m.joined_at
     FROM members m JOIN users u ON u.id = m.user_id";

impl Store {
    pub async fn member_role(
        &self,
        server: Snowflake,
        user: Snowflake,
    ) -> Result<Option<Role>, AppError> {
        Ok(on_reader!(self, |pool| {
            sqlx::query_scalar::<_, Role>(
                "SELECT role FROM members WHERE server_id = $1 AND user_id = $2",
            )
            .bind(server.0)
            .bind(user.0)
            .fetch_optional(pool)
            .await
        })?)
    }

    pub async fn member(
        &self,
        server: Snowflake,
        user: Snowflake,
    ) -> Result<Option<Member>, AppError> {
        let sql = format!("{MEMBER_SELECT} WHERE m.server_id = $1 AND m.user_id = $2");
        let row = on_reader!(self, |pool| {
            sqlx::query_as::<_, MemberRow>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(server.0)
                .bind(user.0)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(Member::from))
    }

    /// Members of a server, ordered by user id.
    pub async fn members(&self, server: Snowflake, page: &Page) -> Result<Vec<Member>, AppError> {
        let rows: Vec<MemberRow> = self
            .fetch_page(
                MEMBER_SELECT,
                "m.server_id = $1",
                &[server.0],
                "m.user_id",
                page,
                false,
            )
            .await?;
        Ok(rows.into_iter().map(Member::from).collect())
    }

    /// Sets a member's role. Making someone `owner` hands the server over:
    /// the previous owner becomes an admin, in the same transaction.
    pub async fn set_member_role(
        &self,
        server: Snowflake,
        user: Snowflake,
        role: Role,
    ) -> Result<bool, AppError> {
        let changed = on_writer!(self, |pool| async {
            let mut tx = pool.begin().await?;
            if role == Role::Owner {
                sqlx::query(
                    "UPDATE members SET role = 'admin' WHERE server_id = $1 AND role = 'owner'",
                )
                .bind(server.0)
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE servers SET owner_id = $2 WHERE id = $1")
                    .bind(server.0)
                    .bind(user.0)
                    .execute(&mut *tx)
                    .await?;
            }
            let done =
                sqlx::query("UPDATE members SET role = $3 WHERE server_id = $1 AND user_id = $2")
                    .bind(server.0)
                    .bind(user.0)
                    .bind(role)
                    .execute(&mut *tx)
                    .await?;
            if done.rows_affected() == 0 {
                return Ok(false); // dropping `tx` rolls back
            }
            tx.commit().await?;
            Ok::<_, AppError>(true)
        }
        .await);
        // A hand-over also demoted the previous owner, whoever that was.
        if role == Role::Owner {
            self.memo.forget_all_access();
        } else {
            self.memo.forget_user(user);
        }
        changed
    }

    pub async fn remove_member(
        &self,
        server: Snowflake,
        user: Snowflake,
    ) -> Result<bool, AppError> {
        let done = on_writer!(self, |pool| {
            sqlx::query(
                "DELETE FROM members WHERE server_id = $1 AND user_id = $2 AND role <> 'owner'",
            )
            .bind(server.0)
            .bind(user.0)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        });
        self.memo.forget_user(user);
        Ok(done? > 0)
    }
}
