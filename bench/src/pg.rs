//! Fresh PostgreSQL databases for one scenario each, created and dropped
//! by the bench through the administrative URL (default
//! `postgres://postgres@127.0.0.1:5432/postgres`).

use sqlx::{AssertSqlSafe, Connection, PgConnection};

pub struct PgDatabase {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    pub async fn create(admin_url: &str, tag: &str) -> anyhow::Result<Self> {
        let name = format!(
            "guildhall_bench_{tag}_{}_{}",
            std::process::id(),
            crate::clock::now_us()
        );
        let mut admin = PgConnection::connect(admin_url).await?;
        // A name the bench made itself: no quoting issue.
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut admin)
            .await?;
        let base = admin_url
            .rsplit_once('/')
            .map(|(base, _)| base)
            .unwrap_or(admin_url);
        Ok(Self {
            admin_url: admin_url.to_string(),
            url: format!("{base}/{name}"),
            name,
        })
    }

    /// Drops the database, closing any connection still open to it.
    pub async fn drop_now(self) -> anyhow::Result<()> {
        let mut admin = PgConnection::connect(&self.admin_url).await?;
        let drop = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        sqlx::raw_sql(AssertSqlSafe(drop))
            .execute(&mut admin)
            .await?;
        Ok(())
    }
}
