//! Operations: the liveness and readiness probes.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Executor;

use crate::helpers::{TestApp, assert_error, eventually, read_json, spawn_app, spawn_app_with};

/// `GET path` without credentials: status, `Retry-After` if any, JSON body.
async fn probe(app: &TestApp, path: &str) -> (StatusCode, Option<String>, Value) {
    let res = app.client.get(app.url(path)).send().await.unwrap();
    let retry_after = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let (status, body) = read_json(res).await;
    (status, retry_after, body)
}

#[tokio::test]
async fn liveness_answers_ok_without_a_session() {
    let app = spawn_app().await;
    let (status, retry_after, body) = probe(&app, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(retry_after, None);
    assert_eq!(body, json!({"status": "ok"}));
}

#[tokio::test]
async fn readiness_is_ok_while_the_database_answers() {
    let app = spawn_app().await;
    let (status, retry_after, body) = probe(&app, "/readyz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(retry_after, None);
    assert_eq!(body, json!({"status": "ok", "checks": {"database": "ok"}}));
}

#[tokio::test]
async fn probes_are_never_rate_limited() {
    let app = spawn_app_with(|config| {
        config.rate_limits = true;
        config.rate_limit_reads_per_minute = 1;
    })
    .await;
    for _ in 0..5 {
        for path in ["/healthz", "/readyz"] {
            let res = app.client.get(app.url(path)).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            assert!(!res.headers().contains_key("x-ratelimit-bucket"), "{path}");
        }
    }
    // The budget is real: a limited read is refused after the first.
    let user = app.user("alice").await;
    assert_eq!(app.get("/auth/me", &user).await.0, StatusCode::OK);
    assert_error(&app.get("/auth/me", &user).await, 429, "rate_limited");
}

#[tokio::test]
async fn readiness_fails_but_liveness_holds_once_the_database_pool_is_closed() {
    let app = spawn_app().await;
    app.state.store.close().await;
    let (status, retry_after, body) = probe(&app, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(retry_after.as_deref(), Some("5"));
    assert_eq!(
        body,
        json!({"status": "unavailable", "checks": {"database": "error"}})
    );
    let (status, _, body) = probe(&app, "/healthz").await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));
}

#[tokio::test]
async fn readiness_fails_while_postgres_refuses_connections_and_recovers() {
    let app = spawn_app().await;
    let Some((admin_url, name)) = app.postgres_admin() else {
        return; // PostgreSQL only: an SQLite file cannot refuse connections
    };
    assert_eq!(probe(&app, "/readyz").await.0, StatusCode::OK);
    let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
    // New connections refused first, then the server's own ended, so that
    // it cannot open a fresh one in between.
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"
        )))
        .await
        .unwrap();
    let backends = format!("FROM pg_stat_activity WHERE datname = '{name}'");
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "SELECT pg_terminate_backend(pid) {backends}"
        )))
        .await
        .unwrap();
    // Terminating only signals the backends: wait until they are gone, or
    // a ping could still reach one on its way out.
    let (admin, backends) = (&admin, &backends);
    eventually(|| async move {
        let sql = format!("SELECT count(*) {backends}");
        let left: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(admin)
            .await
            .unwrap();
        if left == 0 {
            Ok(())
        } else {
            Err(format!("{left} backends left"))
        }
    })
    .await;

    let (status, retry_after, body) = probe(&app, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(retry_after.as_deref(), Some("5"));
    assert_eq!(body["status"], "unavailable");
    assert!(
        ["error", "timeout"].contains(&body["checks"]["database"].as_str().unwrap()),
        "{body}"
    );
    assert_eq!(probe(&app, "/healthz").await.0, StatusCode::OK);

    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"
        )))
        .await
        .unwrap();
    admin.close().await;
    let app = &app;
    let body = eventually(|| async move {
        match probe(app, "/readyz").await {
            (StatusCode::OK, _, body) => Ok(body),
            (_, _, body) => Err(format!("still not ready: {body}")),
        }
    })
    .await;
    assert_eq!(body, json!({"status": "ok", "checks": {"database": "ok"}}));
}
