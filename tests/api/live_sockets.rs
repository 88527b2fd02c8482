//! Security, second round: live sockets never outlive their rights. A
//! kick or a logout that races a handshake still reaches the new socket;
//! sessions that end by expiry or idle timeout close their sockets; an
//! event from a socket whose session ended is refused.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, TestUser, member_path, spawn_app, spawn_app_with};
use crate::socket_client::SocketClient;

/// Opens up to `n` sockets for `user` one after another; refused
/// handshakes are left out.
async fn open_sockets(app: &TestApp, user: &TestUser, n: usize) -> Vec<SocketClient> {
    let mut sockets = Vec::new();
    for _ in 0..n {
        if let Ok(socket) =
            SocketClient::connect(app, Some(json!({"token": user.token})), &[]).await
        {
            sockets.push(socket);
        }
    }
    sockets
}

#[tokio::test]
async fn sockets_opened_around_a_kick_never_hear_the_server_again() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let kick = async {
        tokio::time::sleep(Duration::from_millis(40)).await;
        app.delete(&member_path(&g, &g.member), &g.owner).await
    };
    let (mut sockets, kicked) = tokio::join!(open_sockets(&app, &g.member, 16), kick);
    assert!(kicked.0.is_success(), "{kicked:?}");
    sockets.extend(open_sockets(&app, &g.member, 2).await);
    assert!(!sockets.is_empty());
    app.message(&g.owner, &g.channel_id, "after the kick").await;
    for socket in &mut sockets {
        socket
            .expect_none("message_create", Duration::from_millis(300))
            .await;
    }
}

#[tokio::test]
async fn sockets_opened_around_a_logout_all_close() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let logout = async {
        tokio::time::sleep(Duration::from_millis(40)).await;
        app.call(Method::POST, "/auth/logout", Some(&alice.token), None)
            .await
    };
    let (sockets, out) = tokio::join!(open_sockets(&app, &alice, 16), logout);
    assert_eq!(out.0, StatusCode::NO_CONTENT, "{out:?}");
    for mut socket in sockets {
        assert!(socket.closed().await, "a socket outlived its session");
    }
    assert!(
        SocketClient::connect(&app, Some(json!({"token": alice.token})), &[])
            .await
            .is_err()
    );
}

#[tokio::test]
async fn an_idle_session_ends_and_closes_its_sockets_while_a_used_one_stays() {
    let app = spawn_app_with(|c| c.session_idle_timeout = Duration::from_secs(2).into()).await;
    let g = app.guild().await;
    let mut idle = SocketClient::with_token(&app, &g.outsider.token).await;
    let mut busy = SocketClient::with_token(&app, &g.member.token).await;
    // The member types every 400 ms for 3 s: socket events are uses.
    for _ in 0..8 {
        let ack = busy
            .emit_ack("typing", json!({"channel_id": g.channel_id}))
            .await;
        assert_eq!(ack["ok"], true, "{ack}");
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    assert!(idle.closed().await, "the idle session's socket closed");
    assert_eq!(
        app.get("/auth/me", &g.outsider).await.0,
        StatusCode::UNAUTHORIZED
    );
    let ack = busy
        .emit_ack("typing", json!({"channel_id": g.channel_id}))
        .await;
    assert_eq!(ack["ok"], true, "{ack}");
    assert_eq!(app.get("/auth/me", &g.member).await.0, StatusCode::OK);
}

#[tokio::test]
async fn an_event_from_a_socket_whose_session_ended_unseen_is_refused() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let mut socket = SocketClient::with_token(&app, &g.member.token).await;
    // The session ends where this gateway does not hear of it (as on
    // another node): straight in the database, and the cache forgets it.
    let (_, list) = app.get("/auth/sessions", &g.member).await;
    let session: i64 = list[0]["id"].as_str().unwrap().parse().unwrap();
    app.state
        .store
        .delete_session(guildhall::id::Snowflake(session))
        .await
        .unwrap();
    app.state
        .sessions
        .forget_user(guildhall::id::Snowflake(g.member.id.parse().unwrap()));
    let ack = socket
        .emit_ack(
            "chat",
            json!({"channel_id": g.channel_id, "content": "after the end"}),
        )
        .await;
    assert_eq!(ack["error"]["code"], "unauthorized", "{ack}");
    assert!(socket.closed().await);
    let (_, messages) = app
        .get(&format!("/messages?channel_id={}", g.channel_id), &g.owner)
        .await;
    assert!(
        !messages.to_string().contains("after the end"),
        "nothing was posted"
    );
}

/// The `connect_error` message of a refused handshake, or `None` if the
/// socket connected.
async fn refusal(app: &TestApp, token: &str, forwarded_for: &str) -> Option<String> {
    SocketClient::connect(
        app,
        Some(json!({ "token": token })),
        &[("x-forwarded-for", forwarded_for)],
    )
    .await
    .err()
    .map(|data| data["message"].as_str().unwrap_or_default().to_string())
}

#[tokio::test]
async fn a_user_holds_at_most_the_configured_number_of_sockets() {
    let app = spawn_app_with(|c| c.max_sockets_per_user = 3).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let mut open = open_sockets(&app, &alice, 3).await;
    assert_eq!(open.len(), 3);
    assert_eq!(
        refusal(&app, &alice.token, "-").await.as_deref(),
        Some("too_many_sockets")
    );
    // Another session of the same user counts too; another user does not.
    let phone = app.login("alice").await;
    assert_eq!(
        refusal(&app, &phone.token, "-").await.as_deref(),
        Some("too_many_sockets")
    );
    assert_eq!(refusal(&app, &bob.token, "-").await, None);
    // A closed socket frees its place.
    drop(open.pop());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while refusal(&app, &alice.token, "-").await.is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place was never freed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn socket_handshakes_are_throttled_per_address_and_per_user() {
    let app = spawn_app_with(|c| {
        c.rate_limits = true;
        c.rate_limit_connects_per_minute = 3;
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let (x, y) = ("198.51.100.1", "198.51.100.2");
    for _ in 0..3 {
        assert_eq!(refusal(&app, &alice.token, x).await, None);
    }
    assert_eq!(
        refusal(&app, &alice.token, x).await.as_deref(),
        Some("rate_limited")
    );
    // Alice's own budget is spent, from any address.
    assert_eq!(
        refusal(&app, &alice.token, y).await.as_deref(),
        Some("rate_limited")
    );
    // Address y still had room for Bob; address x has none for anyone,
    // made-up tokens included.
    assert_eq!(refusal(&app, &bob.token, y).await, None);
    assert_eq!(
        refusal(&app, &bob.token, x).await.as_deref(),
        Some("rate_limited")
    );
    assert_eq!(
        refusal(&app, "made-up", x).await.as_deref(),
        Some("rate_limited")
    );
}
