//! Security, second round: limits keyed on the right thing (the user
//! across sessions and sockets, the address for everyone else) and the
//! client address behind a trusted proxy. Each test runs the attack
//! against the running server.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_error, spawn_app_with};
use crate::socket_client::SocketClient;

/// `GET /auth/me` with `token`, as from `forwarded_for` when given.
async fn me_with(app: &TestApp, token: &str, forwarded_for: Option<&str>) -> StatusCode {
    let mut request = app.client.get(app.url("/auth/me")).bearer_auth(token);
    if let Some(ip) = forwarded_for {
        request = request.header("x-forwarded-for", ip);
    }
    request.send().await.unwrap().status()
}

/// A sign-up as from `forwarded_for`.
async fn sign_up_from(app: &TestApp, username: &str, forwarded_for: &str) -> StatusCode {
    app.client
        .post(app.url("/users"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .status()
}

/// A login as from `forwarded_for`.
async fn login_from(
    app: &TestApp,
    username: &str,
    password: &str,
    forwarded_for: &str,
) -> StatusCode {
    app.client
        .post(app.url("/auth/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn made_up_tokens_are_counted_by_address() {
    let app = spawn_app_with(|c| {
        c.rate_limits = true;
        c.rate_limit_reads_per_minute = 5;
    })
    .await;
    let alice = app.user("alice").await;
    for i in 0..5 {
        let status = me_with(&app, &format!("made-up-token-{i}"), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // A sixth new token brings no new budget.
    assert_eq!(
        me_with(&app, "made-up-token-5", None).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(me_with(&app, "", None).await, StatusCode::TOO_MANY_REQUESTS);
    // A signed-in user counts in a budget of their own.
    assert_eq!(me_with(&app, &alice.token, None).await, StatusCode::OK);
}

#[tokio::test]
async fn a_new_session_does_not_reset_the_users_budget() {
    let app = spawn_app_with(|c| {
        c.rate_limits = true;
        c.rate_limit_messages_per_minute = 2;
    })
    .await;
    let first = app.user("alice").await;
    let second = app.login("alice").await;
    let server = app.server(&first, "S").await;
    let channel = app
        .general_channel(server["id"].as_str().unwrap(), &first)
        .await;
    app.message(&first, &channel, "one").await;
    app.message(&second, &channel, "two").await;
    let third = app.login("alice").await;
    let refused = app
        .post(
            "/messages",
            &third,
            json!({"channel_id": channel, "content": "three"}),
        )
        .await;
    assert_error(&refused, 429, "rate_limited");
}

#[tokio::test]
async fn socket_chat_spends_the_same_messages_budget_as_rest() {
    let app = spawn_app_with(|c| {
        c.rate_limits = true;
        c.rate_limit_messages_per_minute = 3;
    })
    .await;
    let alice = app.user("alice").await;
    let server = app.server(&alice, "S").await;
    let channel = app
        .general_channel(server["id"].as_str().unwrap(), &alice)
        .await;
    app.message(&alice, &channel, "by REST").await;
    let mut first = SocketClient::with_token(&app, &alice.token).await;
    let other_session = app.login("alice").await;
    let mut second = SocketClient::with_token(&app, &other_session.token).await;
    let chat = |content: &str| json!({"channel_id": channel, "content": content});
    let ack = first.emit_ack("chat", chat("socket one")).await;
    assert!(ack["message"]["id"].is_string(), "{ack}");
    let ack = second.emit_ack("chat", chat("socket two")).await;
    assert!(ack["message"]["id"].is_string(), "{ack}");
    // The budget of 3 is spent, whatever socket or session asks next.
    let ack = first.emit_ack("chat", chat("socket three")).await;
    assert_eq!(ack["error"]["code"], "rate_limited", "{ack}");
    let mut third = SocketClient::with_token(&app, &app.login("alice").await.token).await;
    let ack = third.emit_ack("chat", chat("socket four")).await;
    assert_eq!(ack["error"]["code"], "rate_limited", "{ack}");
    let refused = app.post("/messages", &alice, chat("REST again")).await;
    assert_error(&refused, 429, "rate_limited");
    let (_, list) = app
        .get(&format!("/messages?channel_id={channel}"), &alice)
        .await;
    assert_eq!(
        list.as_array().unwrap().len(),
        3,
        "nothing refused was stored"
    );
}

#[tokio::test]
async fn typing_is_throttled_per_user_and_channel_whatever_the_socket() {
    let app = spawn_app_with(|_| {}).await;
    let g = app.guild().await;
    let second_channel = app
        .post(
            "/channels",
            &g.owner,
            json!({"server_id": g.server_id, "name": "second"}),
        )
        .await
        .1["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut watcher = SocketClient::with_token(&app, &g.owner.token).await;
    let other_session = app.login(&g.member.username).await;
    let mut sockets = [
        SocketClient::with_token(&app, &g.member.token).await,
        SocketClient::with_token(&app, &other_session.token).await,
    ];
    // Two sockets, and channels alternating: A, A, B, A, B.
    for (socket, channel) in [
        (0, &g.channel_id),
        (1, &g.channel_id),
        (0, &second_channel),
        (1, &g.channel_id),
        (0, &second_channel),
    ] {
        let ack = sockets[socket]
            .emit_ack("typing", json!({"channel_id": channel}))
            .await;
        assert_eq!(ack["ok"], true, "{ack}");
    }
    let mut seen: Vec<String> = Vec::new();
    while let Ok(Some((event, data))) =
        tokio::time::timeout(Duration::from_millis(700), watcher.next_event()).await
    {
        if event == "typing" {
            assert_eq!(data["user_id"], g.member.id.as_str());
            seen.push(data["channel_id"].as_str().unwrap().to_string());
        }
    }
    seen.sort();
    let mut expected = vec![g.channel_id.clone(), second_channel.clone()];
    expected.sort();
    assert_eq!(seen, expected, "one indicator per channel");
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_a_trusted_proxy() {
    let trusted = spawn_app_with(|c| {
        c.rate_limits = true;
        c.rate_limit_auth_per_minute = 2;
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    // Two clients behind the proxy: a bucket each.
    for name in ["a1", "a2"] {
        assert_eq!(
            sign_up_from(&trusted, name, "198.51.100.1").await,
            StatusCode::CREATED
        );
    }
    assert_eq!(
        sign_up_from(&trusted, "a3", "198.51.100.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        sign_up_from(&trusted, "b1", "198.51.100.2").await,
        StatusCode::CREATED
    );
    // The client cannot pick its own address: only the right-most hop,
    // the one the proxy appended, counts.
    assert_eq!(
        sign_up_from(&trusted, "a4", "203.0.113.50, 198.51.100.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // IPv6 clients count by /64.
    for name in ["v1", "v2"] {
        assert_eq!(
            sign_up_from(&trusted, name, "2001:db8:1:1::1").await,
            StatusCode::CREATED
        );
    }
    assert_eq!(
        sign_up_from(&trusted, "v3", "2001:db8:1:1::ffff").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        sign_up_from(&trusted, "v4", "2001:db8:1:2::1").await,
        StatusCode::CREATED
    );

    // Without the flag the header is the client's word and is ignored.
    let direct = spawn_app_with(|c| {
        c.rate_limits = true;
        c.rate_limit_auth_per_minute = 2;
    })
    .await;
    assert_eq!(
        sign_up_from(&direct, "c1", "198.51.100.1").await,
        StatusCode::CREATED
    );
    assert_eq!(
        sign_up_from(&direct, "c2", "198.51.100.2").await,
        StatusCode::CREATED
    );
    assert_eq!(
        sign_up_from(&direct, "c3", "198.51.100.3").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn failed_logins_from_one_address_do_not_lock_the_owner_out() {
    let app = spawn_app_with(|c| {
        c.login_attempts_per_minute = 3;
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    app.user("alice").await;
    for _ in 0..3 {
        assert_eq!(
            login_from(&app, "alice", "wrong password!", "203.0.113.7").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        login_from(&app, "alice", PASSWORD, "203.0.113.7").await,
        StatusCode::TOO_MANY_REQUESTS,
        "the guesser is throttled"
    );
    assert_eq!(
        login_from(&app, "alice", PASSWORD, "198.51.100.20").await,
        StatusCode::OK,
        "the owner, elsewhere, is not"
    );
}

#[tokio::test]
async fn current_password_guesses_go_through_the_login_throttle() {
    let app = spawn_app_with(|c| c.login_attempts_per_minute = 3).await;
    let alice = app.user("alice").await;
    let change =
        |current: &str| json!({"password": "a brand new password", "current_password": current});
    for _ in 0..3 {
        let wrong = app
            .put(
                &format!("/users/{}", alice.id),
                &alice,
                change("not it at all"),
            )
            .await;
        assert_error(&wrong, 403, "wrong_password");
    }
    let throttled = app
        .put(&format!("/users/{}", alice.id), &alice, change(PASSWORD))
        .await;
    assert_error(&throttled, 429, "rate_limited");
    // Nothing changed: the old password still logs in.
    let (status, _): (StatusCode, Value) = app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": "alice", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_flood_of_password_hashes_is_refused_with_503_not_queued_without_end() {
    let app = spawn_app_with(|c| c.password_hash_queue = 1).await;
    let sign_ups = (0..24).map(|i| {
        app.client
            .post(app.url("/users"))
            .json(&json!({"username": format!("flood{i}"), "password": PASSWORD}))
            .send()
    });
    let answers = futures_util::future::join_all(sign_ups).await;
    let mut created = 0;
    let mut busy = 0;
    for answer in answers {
        let res = answer.unwrap();
        match res.status() {
            StatusCode::CREATED => created += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                assert!(res.headers().contains_key("retry-after"));
                let (_, body) = crate::helpers::read_json(res).await;
                assert_eq!(body["error"]["code"], "busy", "{body}");
                busy += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(created >= 1, "the hashers kept working");
    assert!(busy >= 1, "the queue is bounded ({created} created)");
    // Once the flood is over, hashing works again.
    app.user("after").await;
}
