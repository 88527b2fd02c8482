//! Accounts. A deleted account keeps its row (messages still point to it)
//! but loses its name keys, e-mail, password and sessions.

use crate::domain::model::{Author, User};
use crate::domain::values::{DisplayName, Email, Username};
use crate::error::{AppError, is_unique_violation};
use crate::id::Snowflake;
use crate::store::{Page, Store, on_reader, on_writer, time_from_ms};

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    username: String,
    display_name: String,
    email: Option<String>,
    created_at: i64,
}

impl UserRow {
    /// The e-mail is shown only to the account's owner.
    fn into_user(self, viewer: Option<Snowflake>) -> User {
        let own = viewer == Some(Snowflake(self.id));
        User {
            id: Snowflake(self.id),
            username: self.username,
            display_name: self.display_name,
            email: if own { self.email } else { None },
            created_at: time_from_ms(self.created_at),
        }
    }
}

const USER_COLUMNS: &str = "id, username, display_name, email, created_at";

/// Password hash and id for a login name, for live accounts only.
pub struct Credentials {
    pub user_id: Snowflake,
    pub password_hash: String,
}

/// The fields of an account update; `None` leaves a field as it is.
pub struct UserChanges {
    pub username: Option<Username>,
    pub display_name: Option<DisplayName>,
    /// `Some(None)` removes the e-mail.
    pub email: Option<Option<Email>>,
    pub password_hash: Option<String>,
}

pub struct NewUser<'a> {
    pub id: Snowflake,
    pub username: &'a Username,
    pub display_name: &'a DisplayName,
    pub email: Option<&'a Email>,
    pub password_hash: &'a str,
    pub now: i64,
}

impl Store {
    pub async fn create_user(&self, new: NewUser<'_>) -> Result<User, AppError> {
        let result = on_writer!(self, |pool| {
            sqlx::query(
                "INSERT INTO users (id, username, username_key, display_name, email, email_key, password_hash, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(new.id.0)
            .bind(new.username.as_str())
            .bind(new.username.key())
            .bind(new.display_name.as_str())
            .bind(new.email.map(Email::as_str))
            .bind(new.email.map(Email::key))
            .bind(new.password_hash)
            .bind(new.now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        });
        match result {
            Ok(_) => Ok(User {
                id: new.id,
                username: new.username.as_str().to_owned(),
                display_name: new.display_name.as_str().to_owned(),
                email: new.email.map(|e| e.as_str().to_owned()),
                created_at: time_from_ms(new.now),
            }),
            Err(e) if is_unique_violation(&e) => {
                Err(self.name_conflict(Some(new.username), new.email).await)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Says which of the unique names is taken, after a UNIQUE violation.
    async fn name_conflict(&self, username: Option<&Username>, email: Option<&Email>) -> AppError {
        if let Some(username) = username
            && let Ok(Some(_)) = self.user_id_by_username(&username.key()).await
        {
            return AppError::conflict("username_taken", "that username is taken");
        }
        if email.is_some() {
            return AppError::conflict("email_taken", "that e-mail address is already in use");
        }
        AppError::conflict("conflict", "that name is already in use")
    }

    async fn user_id_by_username(&self, key: &str) -> Result<Option<i64>, AppError> {
        Ok(on_writer!(self, |pool| {
            sqlx::query_scalar::<_, i64>("SELECT id FROM users WHERE username_key = $1")
                .bind(key)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// A live (not deleted) account, as `viewer` may see it.
    pub async fn user(
        &self,
        id: Snowflake,
        viewer: Option<Snowflake>,
    ) -> Result<Option<User>, AppError> {
        let row = on_reader!(self, |pool| {
            sqlx::query_as::<_, UserRow>(
                "SELECT id, username, display_name, email, created_at FROM users WHERE id = $1 AND deleted_at IS NULL",
            )
            .bind(id.0)
            .fetch_optional(pool)
            .await
        })?;
        Ok(row.map(|r| r.into_user(viewer)))
    }

    /// A message author's names, from memory or the database; a deleted
    /// account shows as deleted.
    pub async fn author(&self, id: Snowflake) -> Result<Option<Author>, AppError> {
        if let Some(author) = self.memo.author(id) {
            return Ok(Some(author));
        }
        let epoch = self.memo.epoch();
        let row = on_reader!(self, |pool| {
            sqlx::query_as::<_, (String, String, Option<i64>)>(
                "SELECT username, display_name, deleted_at FROM users WHERE id = $1",
            )
            .bind(id.0)
            .fetch_optional(pool)
            .await
        })?;
        let author = row.map(|(username, display_name, deleted_at)| Author {
            id,
            username,
            display_name,
            deleted: deleted_at.is_some(),
        });
        if let Some(author) = &author {
            self.memo.keep_author(author.clone(), epoch);
        }
        Ok(author)
    }

    /// Live accounts, ordered by id; `prefix` filters on the case-folded
    /// username (an index range scan, not LIKE, so no escaping is needed).
    pub async fn list_users(
        &self,
        prefix: Option<&str>,
        page: &Page,
        viewer: Snowflake,
    ) -> Result<Vec<User>, AppError> {
        let low = prefix.map(str::to_ascii_lowercase).unwrap_or_default();
        let high = format!("{low}\u{10FFFF}");
        let rows: Vec<UserRow> = self
            .fetch_page(
                &format!("SELECT {USER_COLUMNS} FROM users"),
                "deleted_at IS NULL AND username_key >= $1 AND username_key < $2",
                &[low.as_str(), high.as_str()],
                "id",
                page,
                false,
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| r.into_user(Some(viewer)))
            .collect())
    }

    /// Looks up a live account by case-folded username or e-mail.
    pub async fn credentials(
        &self,
        login_key: &str,
        by_email: bool,
    ) -> Result<Option<Credentials>, AppError> {
        let sql = if by_email {
            "SELECT id, password_hash FROM users WHERE email_key = $1 AND deleted_at IS NULL"
        } else {
            "SELECT id, password_hash FROM users WHERE username_key = $1 AND deleted_at IS NULL"
        };
        let row = on_reader!(self, |pool| {
            sqlx::query_as::<_, (i64, String)>(sql)
                .bind(login_key)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(|(id, password_hash)| Credentials {
            user_id: Snowflake(id),
            password_hash,
        }))
    }

    pub async fn password_hash(&self, id: Snowflake) -> Result<Option<String>, AppError> {
        Ok(on_reader!(self, |pool| {
            sqlx::query_scalar::<_, String>(
                "SELECT password_hash FROM users WHERE id = $1 AND deleted_at IS NULL",
            )
            .bind(id.0)
            .fetch_optional(pool)
            .await
        })?)
    }

    /// Applies `changes`; returns the updated account, or `None` if it is gone.
    pub async fn update_user(
        &self,
        id: Snowflake,
        changes: &UserChanges,
    ) -> Result<Option<User>, AppError> {
        let email_given = changes.email.is_some();
        let email = changes.email.as_ref().and_then(|e| e.as_ref());
        let result = on_writer!(self, |pool| {
            sqlx::query(
                "UPDATE users SET
                    username = COALESCE($2, username),
                    username_key = COALESCE($3, username_key),
                    display_name = COALESCE($4, display_name),
                    password_hash = COALESCE($5, password_hash),
                    email = CASE WHEN $6 THEN $7 ELSE email END,
                    email_key = CASE WHEN $6 THEN $8 ELSE email_key END
                 WHERE id = $1 AND deleted_at IS NULL",
            )
            .bind(id.0)
            .bind(changes.username.as_ref().map(Username::as_str))
            .bind(changes.username.as_ref().map(Username::key))
            .bind(changes.display_name.as_ref().map(DisplayName::as_str))
            .bind(changes.password_hash.as_deref())
            .bind(email_given)
            .bind(email.map(Email::as_str))
            .bind(email.map(Email::key))
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        });
        self.memo.forget_user(id);
        if changes.username.is_some() || changes.display_name.is_some() {
            // Kept messages carry their author's names.
            self.recent.forget_all();
        }
        match result {
            Ok(0) => Ok(None),
            Ok(_) => {
                // Read back through the writer so the answer reflects this write.
                let row = on_writer!(self, |pool| {
                    sqlx::query_as::<_, UserRow>(
                        "SELECT id, username, display_name, email, created_at FROM users WHERE id = $1",
                    )
                    .bind(id.0)
                    .fetch_optional(pool)
                    .await
                })?;
                Ok(row.map(|r| r.into_user(Some(id))))
            }
            Err(e) if is_unique_violation(&e) => {
                Err(self.name_conflict(changes.username.as_ref(), email).await)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes an account in one transaction: refuses while it owns a
    /// server; otherwise leaves every server, drops relationships and
    /// sessions, and scrubs the row. Returns the servers it left, or `None`
    /// if the account did not exist.
    pub async fn delete_user(
        &self,
        id: Snowflake,
        now: i64,
    ) -> Result<Option<Vec<Snowflake>>, AppError> {
        let deleted = on_writer!(self, |pool| {
            async {
            let mut tx = pool.begin().await?;
            let owned: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM servers WHERE owner_id = $1")
                .bind(id.0)
                .fetch_one(&mut *tx)
                .await?;
            if owned > 0 {
                return Err(AppError::conflict(
                    "owns_servers",
                    "transfer or delete the servers you own before deleting your account",
                ));
            }
            let scrubbed = sqlx::query(
                "UPDATE users SET username = 'Deleted User', username_key = NULL, display_name = 'Deleted User',
                    email = NULL, email_key = NULL, password_hash = '', deleted_at = $2
                 WHERE id = $1 AND deleted_at IS NULL",
            )
            .bind(id.0)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if scrubbed.rows_affected() == 0 {
                return Ok(None);
            }
            let servers: Vec<i64> = sqlx::query_scalar("SELECT server_id FROM members WHERE user_id = $1")
                .bind(id.0)
                .fetch_all(&mut *tx)
                .await?;
            for sql in [
                "DELETE FROM members WHERE user_id = $1",
                "DELETE FROM relationships WHERE user_low = $1 OR user_high = $1",
                "DELETE FROM sessions WHERE user_id = $1",
            ] {
                sqlx::query(sql).bind(id.0).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(Some(servers.into_iter().map(Snowflake).collect()))
        }
        .await
        });
        // Their relationships went too, which unblocks others' DMs with them.
        self.memo.forget_user(id);
        self.memo.forget_all_access();
        self.recent.forget_all();
        deleted
    }
}
