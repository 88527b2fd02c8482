//! The database out of reach: requests fail cleanly with 503 and
//! `Retry-After`, and the server recovers by itself when it is back.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use sqlx::Executor;

use crate::helpers::*;

/// Closes the test database to new connections and ends the server's
/// open ones (what a PostgreSQL restart does to it), or opens it again.
async fn set_database_reachable(app: &TestApp, reachable: bool) {
    let (admin_url, name) = app.postgres_admin().expect("a PostgreSQL test");
    let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS {reachable}"
        )))
        .await
        .unwrap();
    if !reachable {
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            )))
            .await
            .unwrap();
    }
    admin.close().await;
}

#[tokio::test]
async fn a_database_outage_answers_503_then_recovers_without_a_restart() {
    let app = spawn_postgres_app(|c| c.db_pool_size = 4).await;
    let alice = app.user("alice").await;
    let g = app.server(&alice, "hall").await;
    let channel = app.general_channel(g["id"].as_str().unwrap(), &alice).await;
    app.message(&alice, &channel, "before").await;

    set_database_reachable(&app, false).await;
    for attempt in 0..3 {
        let response = app
            .client
            .post(app.url("/messages"))
            .bearer_auth(&alice.token)
            .json(&json!({"channel_id": channel, "content": format!("during {attempt}")}))
            .send()
            .await
            .unwrap();
        let retry_after = response.headers().get("retry-after").cloned();
        let (status, body) = read_json(response).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["error"]["code"], "unavailable", "{body}");
        assert!(retry_after.is_some());
    }
    let (status, body) = app
        .call(
            reqwest::Method::POST,
            "/auth/login",
            None,
            Some(json!({
                "username": "alice", "password": PASSWORD
            })),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");

    set_database_reachable(&app, true).await;
    let mut posted = None;
    for _ in 0..100 {
        let (status, body) = app
            .post(
                "/messages",
                &alice,
                json!({"channel_id": channel, "content": "after"}),
            )
            .await;
        if status == StatusCode::CREATED {
            posted = Some(body);
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(posted.is_some(), "never recovered");
    // Nothing refused was written; what was written before is there.
    let (status, page) = app
        .get(&format!("/messages?channel_id={channel}"), &alice)
        .await;
    assert_eq!(status, StatusCode::OK);
    let contents: Vec<&str> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, ["after", "before"]);
    app.stop().await;
}
