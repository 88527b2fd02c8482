//! Who is connected to whom: which servers a user is in, who their friends
//! are, how many servers and channels there are. The domain uses these to
//! decide an event's audience and to enforce quantity limits.

use std::collections::{HashMap, HashSet};

use crate::error::AppError;
use crate::id::Snowflake;
use crate::store::{Store, on_reader, placeholders};

/// The rooms through which others see a user.
#[derive(Clone, Debug, Default)]
pub struct ContactRooms {
    /// The servers the user is a member of.
    pub servers: Vec<Snowflake>,
    /// The user's accepted friends.
    pub friends: Vec<Snowflake>,
}

impl Store {
    /// Ids of the servers `user` is a member of.
    pub async fn server_ids_of(&self, user: Snowflake) -> Result<Vec<Snowflake>, AppError> {
        let ids = on_reader!(self, |pool| {
            sqlx::query_scalar::<_, i64>("SELECT server_id FROM members WHERE user_id = $1")
                .bind(user.0)
                .fetch_all(pool)
                .await
        })?;
        Ok(ids.into_iter().map(Snowflake).collect())
    }

    /// Ids of `user`'s accepted friends.
    pub async fn friend_ids(&self, user: Snowflake) -> Result<Vec<Snowflake>, AppError> {
        let ids = on_reader!(self, |pool| {
            sqlx::query_scalar::<_, i64>(
                "SELECT CASE WHEN user_low = $1 THEN user_high ELSE user_low END
                 FROM relationships
                 WHERE (user_low = $1 OR user_high = $1) AND status = 'accepted'",
            )
            .bind(user.0)
            .fetch_all(pool)
            .await
        })?;
        Ok(ids.into_iter().map(Snowflake).collect())
    }

    /// The servers and friends through which others see `user`.
    pub async fn contact_rooms(&self, user: Snowflake) -> Result<ContactRooms, AppError> {
        Ok(ContactRooms {
            servers: self.server_ids_of(user).await?,
            friends: self.friend_ids(user).await?,
        })
    }

    /// The contact rooms of many users at once, in two queries per
    /// `CHUNK` users; users with neither servers nor friends are absent.
    pub async fn contact_rooms_of(
        &self,
        users: &[Snowflake],
    ) -> Result<HashMap<Snowflake, ContactRooms>, AppError> {
        /// Ids bound per query, far below both databases' limits.
        const CHUNK: usize = 1000;
        let mut rooms: HashMap<Snowflake, ContactRooms> = HashMap::new();
        for chunk in users.chunks(CHUNK) {
            let ids: Vec<i64> = chunk.iter().map(|u| u.0).collect();
            let list = placeholders(1, ids.len());
            let memberships =
                format!("SELECT user_id, server_id FROM members WHERE user_id IN ({list})");
            let friendships = format!(
                "SELECT user_low, user_high FROM relationships
                 WHERE status = 'accepted' AND (user_low IN ({list}) OR user_high IN ({list}))"
            );
            let (memberships, friendships) = on_reader!(self, |pool| {
                async {
                    let mut query =
                        sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(memberships.clone()));
                    for id in &ids {
                        query = query.bind(*id);
                    }
                    let memberships = query.fetch_all(pool).await?;
                    let mut query =
                        sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(friendships.clone()));
                    for id in &ids {
                        query = query.bind(*id);
                    }
                    Ok::<_, sqlx::Error>((memberships, query.fetch_all(pool).await?))
                }
                .await
            })?;
            let asked: HashSet<i64> = ids.iter().copied().collect();
            for (user, server) in memberships {
                let user = rooms.entry(Snowflake(user)).or_default();
                user.servers.push(Snowflake(server));
            }
            for (low, high) in friendships {
                for (user, friend) in [(low, high), (high, low)] {
                    if asked.contains(&user) {
                        let user = rooms.entry(Snowflake(user)).or_default();
                        user.friends.push(Snowflake(friend));
                    }
                }
            }
        }
        Ok(rooms)
    }

    /// Everyone who shares a server with `user`, and their friends: at
    /// most `limit` of each.
    pub async fn contact_ids(
        &self,
        user: Snowflake,
        limit: i64,
    ) -> Result<Vec<Snowflake>, AppError> {
        let mut ids = on_reader!(self, |pool| {
            sqlx::query_scalar::<_, i64>(
                "SELECT DISTINCT m.user_id FROM members m
                 WHERE m.server_id IN (SELECT server_id FROM members WHERE user_id = $1)
                   AND m.user_id <> $1
                 LIMIT $2",
            )
            .bind(user.0)
            .bind(limit)
            .fetch_all(pool)
            .await
        })?;
        let friends = on_reader!(self, |pool| {
            sqlx::query_scalar::<_, i64>(
                "SELECT CASE WHEN user_low = $1 THEN user_high ELSE user_low END
                 FROM relationships
                 WHERE (user_low = $1 OR user_high = $1) AND status = 'accepted'
                 LIMIT $2",
            )
            .bind(user.0)
            .bind(limit)
            .fetch_all(pool)
            .await
        })?;
        ids.extend(friends);
        ids.sort_unstable();
        ids.dedup();
        Ok(ids.into_iter().map(Snowflake).collect())
    }
}
