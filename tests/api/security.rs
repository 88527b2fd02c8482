//! Hardening: sessions a user can see and end, idle timeouts, REST rate
//! limits with their headers, and CORS.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_error, read_json, spawn_app, spawn_app_with};

#[tokio::test]
async fn users_list_and_end_their_own_sessions() {
    let app = spawn_app().await;
    let phone = app.user("alice").await;
    let laptop = app.login("alice").await;
    let bob = app.user("bob").await;

    let (status, list) = app.get("/auth/sessions", &laptop).await;
    assert_eq!(status, StatusCode::OK);
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list.iter().filter(|s| s["current"] == true).count(), 1);
    let text = serde_json::to_string(&list).unwrap();
    assert!(
        !text.contains(&phone.token) && !text.contains(&laptop.token),
        "tokens never listed"
    );
    let phone_session = list.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Bob cannot see or end Alice's sessions.
    let (_, bobs) = app.get("/auth/sessions", &bob).await;
    assert_eq!(bobs.as_array().unwrap().len(), 1);
    assert_error(
        &app.delete(&format!("/auth/sessions/{phone_session}"), &bob)
            .await,
        404,
        "not_found",
    );
    assert_eq!(app.get("/auth/me", &phone).await.0, StatusCode::OK);

    let (status, _) = app
        .delete(&format!("/auth/sessions/{phone_session}"), &laptop)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(&app.get("/auth/me", &phone).await, 401, "unauthorized");
    assert_eq!(app.get("/auth/me", &laptop).await.0, StatusCode::OK);
    assert_error(
        &app.delete(&format!("/auth/sessions/{phone_session}"), &laptop)
            .await,
        404,
        "not_found",
    );
}

#[tokio::test]
async fn each_login_gets_a_fresh_token() {
    let app = spawn_app().await;
    let first = app.user("alice").await;
    let tokens: Vec<String> = vec![
        first.token.clone(),
        app.login("alice").await.token,
        app.login("alice").await.token,
    ];
    let mut unique = tokens.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 3);
}

#[tokio::test]
async fn idle_sessions_end() {
    let app = spawn_app_with(|c| c.session_idle_hours = 1).await;
    let alice = app.user("alice").await;
    assert_eq!(app.get("/auth/me", &alice).await.0, StatusCode::OK);
    // Two hours without use, as the database records it.
    let two_hours_ago = chrono_ms() - 2 * 3_600_000;
    let id = session_id(&app, &alice).await;
    app.state
        .store
        .touch_session(id, two_hours_ago)
        .await
        .unwrap();
    assert_error(&app.get("/auth/me", &alice).await, 401, "unauthorized");
}

fn chrono_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

async fn session_id(app: &TestApp, user: &crate::helpers::TestUser) -> guildhall::id::Snowflake {
    let (_, list) = app.get("/auth/sessions", user).await;
    let id = list[0]["id"].as_str().unwrap().parse().unwrap();
    guildhall::id::Snowflake(id)
}

/// The four rate-limit headers of an answer.
fn limit_headers(res: &reqwest::Response) -> (u32, u32, f64, String) {
    let h = res.headers();
    let get = |name: &str| {
        h.get(name)
            .unwrap_or_else(|| panic!("missing {name}"))
            .to_str()
            .unwrap()
            .to_string()
    };
    (
        get("x-ratelimit-limit").parse().unwrap(),
        get("x-ratelimit-remaining").parse().unwrap(),
        get("x-ratelimit-reset-after").parse().unwrap(),
        get("x-ratelimit-bucket"),
    )
}

#[tokio::test]
async fn rate_limits_count_down_refuse_and_recover() {
    let app = spawn_app_with(|c| {
        c.rate_limits = true;
        c.rate_limit_reads_per_minute = 60;
    })
    .await;
    let alice = app.user("alice").await;
    let me = || {
        app.client
            .get(app.url("/auth/me"))
            .bearer_auth(&alice.token)
    };
    let res = me().send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (limit, remaining, reset, bucket) = limit_headers(&res);
    assert_eq!((limit, remaining, bucket.as_str()), (60, 59, "reads"));
    assert!(reset > 0.0 && reset <= 60.0);
    for _ in 0..59 {
        assert_eq!(me().send().await.unwrap().status(), StatusCode::OK);
    }
    let res = me().send().await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let (_, remaining, _, _) = limit_headers(&res);
    assert_eq!(remaining, 0);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    let (_, body) = read_json(res).await;
    assert_eq!(body["error"]["code"], "rate_limited");
    // Another caller has a bucket of its own.
    let bob = app.user("bob").await;
    assert_eq!(app.get("/auth/me", &bob).await.0, StatusCode::OK);
    // One request a second comes back.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(me().send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn sign_up_and_message_buckets_are_stricter_and_separate() {
    let app = spawn_app_with(|c| {
        c.rate_limits = true;
        c.rate_limit_auth_per_minute = 3;
        c.rate_limit_messages_per_minute = 2;
    })
    .await;
    let owner = app.user("owner").await; // sign-up and login: 2 of 3
    let third = app
        .call(
            Method::POST,
            "/users",
            None,
            Some(json!({"username": "second", "password": PASSWORD})),
        )
        .await;
    assert_eq!(third.0, StatusCode::CREATED);
    let refused = app
        .call(
            Method::POST,
            "/users",
            None,
            Some(json!({"username": "third", "password": PASSWORD})),
        )
        .await;
    assert_error(&refused, 429, "rate_limited");
    // The refused sign-up created nothing: the name is still free later.
    let server = app.server(&owner, "S").await; // a write, not a message
    let channel = app
        .general_channel(server["id"].as_str().unwrap(), &owner)
        .await;
    for i in 0..2 {
        app.message(&owner, &channel, &format!("m{i}")).await;
    }
    let res = app
        .client
        .post(app.url("/messages"))
        .bearer_auth(&owner.token)
        .json(&json!({"channel_id": channel, "content": "one too many"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limit_headers(&res).3, "messages");
    let (_, list) = app
        .get(&format!("/messages?channel_id={channel}"), &owner)
        .await;
    assert_eq!(
        list.as_array().unwrap().len(),
        2,
        "the refused message was not stored"
    );
}

#[tokio::test]
async fn cors_allows_only_configured_origins_with_credentials() {
    let app = spawn_app_with(|c| c.allowed_origins = vec!["https://chat.example".into()]).await;
    let preflight = |origin: &str| {
        app.client
            .request(Method::OPTIONS, app.url("/messages"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type, x-csrf-token",
            )
            .send()
    };
    let ok = preflight("https://chat.example").await.unwrap();
    assert!(ok.status().is_success(), "{}", ok.status());
    let h = ok.headers();
    assert_eq!(h["access-control-allow-origin"], "https://chat.example");
    assert_eq!(h["access-control-allow-credentials"], "true");
    let allowed = h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        allowed.contains("x-csrf-token") && allowed.contains("content-type"),
        "{allowed}"
    );

    let evil = preflight("https://evil.example").await.unwrap();
    assert!(evil.headers().get("access-control-allow-origin").is_none());
    // A simple cross-origin read from elsewhere gets no CORS grant either.
    let res = app
        .client
        .get(app.url("/openapi.json"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
    let res = app
        .client
        .get(app.url("/openapi.json"))
        .header("origin", "https://chat.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://chat.example"
    );
    let _: Value = res.json().await.unwrap();
}
