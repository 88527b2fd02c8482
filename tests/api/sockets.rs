//! The Socket.IO gateway at the protocol level (see `socket_client.rs`).

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{spawn_app, spawn_app_with};
use crate::socket_client::SocketClient;

#[tokio::test]
async fn handshake_without_a_valid_token_is_refused_as_unauthorized() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    for auth in [
        None,
        Some(json!({})),
        Some(json!({"token": "nope"})),
        Some(json!({"token": 5})),
    ] {
        let refused = SocketClient::connect(&app, auth.clone(), &[]).await.err();
        assert_eq!(
            refused,
            Some(json!({"message": "unauthorized"})),
            "auth {auth:?}"
        );
    }
    // After logout the token no longer opens a socket.
    app.call(
        reqwest::Method::POST,
        "/auth/logout",
        Some(&alice.token),
        None,
    )
    .await;
    let refused = SocketClient::connect(&app, Some(json!({"token": alice.token})), &[])
        .await
        .err();
    assert_eq!(refused, Some(json!({"message": "unauthorized"})));
}

#[tokio::test]
async fn cookie_handshakes_are_checked_against_the_origin() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let cookie = format!("guildhall_session={}", alice.token);
    let refused = SocketClient::connect(
        &app,
        None,
        &[("cookie", &cookie), ("origin", "https://evil.example")],
    )
    .await
    .err();
    assert_eq!(refused, Some(json!({"message": "unauthorized"})));
    let own = app.base.clone();
    let mut ok = SocketClient::connect(&app, None, &[("cookie", &cookie), ("origin", &own)])
        .await
        .expect("same-origin cookie handshake");
    assert_eq!(ok.expect("ready").await["user"]["id"], alice.id.as_str());
}

#[tokio::test]
async fn ready_describes_the_users_world() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let mut socket = SocketClient::with_token(&app, &g.member.token).await;
    let ready = socket.expect("ready").await;
    assert_eq!(ready["user"]["id"], g.member.id.as_str());
    assert_eq!(ready["servers"][0]["id"], g.server_id.as_str());
    assert_eq!(ready["channels"][0]["id"], g.channel_id.as_str());
    assert_eq!(ready["relationships"], json!([]));
    assert!(ready["presences"].is_array());
}

#[tokio::test]
async fn chat_is_post_messages_over_the_socket() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let mut member = SocketClient::with_token(&app, &g.member.token).await;
    let mut outsider = SocketClient::with_token(&app, &g.outsider.token).await;
    let mut owner = SocketClient::with_token(&app, &g.owner.token).await;
    for s in [&mut member, &mut outsider, &mut owner] {
        s.expect("ready").await;
    }
    let ack = owner
        .emit_ack(
            "chat",
            json!({"channel_id": g.channel_id, "content": "hi all", "nonce": "abc"}),
        )
        .await;
    let message = &ack["message"];
    assert_eq!(message["content"], "hi all");
    assert_eq!(message["nonce"], "abc");
    let live = member.expect("message_create").await;
    assert_eq!(live["id"], message["id"]);
    assert_eq!(live["nonce"], "abc");
    outsider
        .expect_none("message_create", Duration::from_millis(300))
        .await;
    // Stored like any other message.
    let (_, stored) = app
        .get(
            &format!("/messages/{}", message["id"].as_str().unwrap()),
            &g.member,
        )
        .await;
    assert_eq!(stored["content"], "hi all");
    assert!(stored.get("nonce").is_none());

    // The same refusals as REST, as error acks.
    let ack = outsider
        .emit_ack("chat", json!({"channel_id": g.channel_id, "content": "x"}))
        .await;
    assert_eq!(ack["error"]["code"], "not_found");
    let ack = member
        .emit_ack("chat", json!({"channel_id": g.channel_id, "content": ""}))
        .await;
    assert_eq!(ack["error"]["code"], "invalid_field");
    assert_eq!(ack["error"]["field"], "content");
    let ack = member.emit_ack("chat", json!("not an object")).await;
    assert_eq!(ack["error"]["code"], "invalid_field");
    let ack = member
        .emit_ack("chat", json!({"channel_id": g.channel_id, "content": 7}))
        .await;
    assert_eq!(ack["error"]["field"], "content");
}

#[tokio::test]
async fn socket_events_follow_the_same_permissions_as_rest() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let dm = app
        .post("/channels", &g.member, json!({"recipient_id": g.admin.id}))
        .await
        .1;
    let dm_id = dm["id"].as_str().unwrap().to_string();
    let mut sockets = Vec::new();
    for user in [&g.owner, &g.admin, &g.member, &g.outsider] {
        let mut s = SocketClient::with_token(&app, &user.token).await;
        s.expect("ready").await;
        sockets.push(s);
    }
    // (socket: 0 owner, 1 admin, 2 member, 3 outsider; channel; refusal)
    let cases = [
        (0, g.channel_id.as_str(), None),
        (1, g.channel_id.as_str(), None),
        (2, g.channel_id.as_str(), None),
        (3, g.channel_id.as_str(), Some("not_found")),
        (2, dm_id.as_str(), None),
        (1, dm_id.as_str(), None),
        (0, dm_id.as_str(), Some("not_found")),
        (3, dm_id.as_str(), Some("not_found")),
        (2, "123456789", Some("not_found")),
    ];
    for (i, channel, refusal) in cases {
        let typing = sockets[i]
            .emit_ack("typing", json!({"channel_id": channel}))
            .await;
        let chat = sockets[i]
            .emit_ack(
                "chat",
                json!({"channel_id": channel, "content": "perm check"}),
            )
            .await;
        match refusal {
            None => {
                assert_eq!(typing, json!({"ok": true}), "typing by {i} in {channel}");
                assert_eq!(
                    chat["message"]["channel_id"], channel,
                    "chat by {i} in {channel}"
                );
            }
            Some(code) => {
                assert_eq!(typing["error"]["code"], code, "typing by {i} in {channel}");
                assert_eq!(chat["error"]["code"], code, "chat by {i} in {channel}");
            }
        }
    }
    // Refused chats stored nothing: 3 in the server channel, 2 in the DM.
    let (_, server_msgs) = app
        .get(&format!("/messages?channel_id={}", g.channel_id), &g.owner)
        .await;
    assert_eq!(server_msgs.as_array().unwrap().len(), 3);
    let (_, dm_msgs) = app
        .get(&format!("/messages?channel_id={dm_id}"), &g.member)
        .await;
    assert_eq!(dm_msgs.as_array().unwrap().len(), 2);
    // A block stops chat and typing in the DM for both sides.
    app.post(
        "/friendlists",
        &g.admin,
        json!({"friend_id": g.member.id, "status": "blocked"}),
    )
    .await;
    for i in [1, 2] {
        let chat = sockets[i]
            .emit_ack("chat", json!({"channel_id": dm_id, "content": "x"}))
            .await;
        assert_eq!(chat["error"]["code"], "blocked");
        let typing = sockets[i]
            .emit_ack("typing", json!({"channel_id": dm_id}))
            .await;
        assert_eq!(typing["error"]["code"], "blocked");
    }
}

#[tokio::test]
async fn a_burst_arrives_in_commit_order() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let mut listener = SocketClient::with_token(&app, &g.member.token).await;
    listener.expect("ready").await;
    let mut posts = Vec::new();
    for i in 0..100 {
        let client = app.client.clone();
        let url = app.url("/messages");
        let token = if i % 2 == 0 {
            g.owner.token.clone()
        } else {
            g.admin.token.clone()
        };
        let body = json!({"channel_id": g.channel_id, "content": format!("m{i}")});
        posts.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for p in posts {
        assert_eq!(p.await.unwrap(), 201);
    }
    let mut received: Vec<u64> = Vec::new();
    for _ in 0..100 {
        let m = listener.expect("message_create").await;
        received.push(m["id"].as_str().unwrap().parse().unwrap());
    }
    let mut sorted = received.clone();
    sorted.sort_unstable();
    assert_eq!(received, sorted, "events must follow id (commit) order");
    // And catching up after the first 40 yields exactly the rest.
    let after = received[39];
    let (_, page) = app
        .get(
            &format!(
                "/messages?channel_id={}&after={after}&limit=100",
                g.channel_id
            ),
            &g.member,
        )
        .await;
    let mut rest: Vec<u64> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().parse().unwrap())
        .collect();
    rest.reverse();
    assert_eq!(rest, received[40..]);
}

#[tokio::test]
async fn joining_and_leaving_change_delivery_without_reconnecting() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let newcomer = app.user("newcomer").await;
    let mut socket = SocketClient::with_token(&app, &newcomer.token).await;
    socket.expect("ready").await;
    app.message(&g.owner, &g.channel_id, "before").await;
    socket
        .expect_none("message_create", Duration::from_millis(300))
        .await;

    app.join(&g.server_id, &g.owner, &newcomer, "member").await;
    assert_eq!(
        socket.expect("server_create").await["id"],
        g.server_id.as_str()
    );
    assert_eq!(
        socket.expect("member_join").await["user_id"],
        newcomer.id.as_str()
    );
    app.message(&g.owner, &g.channel_id, "welcome").await;
    assert_eq!(socket.expect("message_create").await["content"], "welcome");

    let (status, _) = app
        .delete(
            &format!("/servers/{}/members/{}", g.server_id, newcomer.id),
            &newcomer,
        )
        .await;
    assert_eq!(status, 204);
    let left = socket.expect("member_leave").await;
    assert_eq!(
        left,
        json!({"server_id": g.server_id, "user_id": newcomer.id})
    );
    app.message(&g.owner, &g.channel_id, "after").await;
    socket
        .expect_none("message_create", Duration::from_millis(400))
        .await;
}

#[tokio::test]
async fn logging_out_or_deleting_the_account_closes_the_socket() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let mut socket = SocketClient::with_token(&app, &alice.token).await;
    socket.expect("ready").await;
    app.call(
        reqwest::Method::POST,
        "/auth/logout",
        Some(&alice.token),
        None,
    )
    .await;
    assert!(
        socket.closed().await,
        "socket of a logged-out session stays open"
    );

    let bob = app.user("bob").await;
    let mut socket = SocketClient::with_token(&app, &bob.token).await;
    socket.expect("ready").await;
    let (status, _) = app.delete(&format!("/users/{}", bob.id), &bob).await;
    assert_eq!(status, 204);
    assert!(
        socket.closed().await,
        "socket of a deleted account stays open"
    );
}

#[tokio::test]
async fn malformed_packets_never_take_the_server_down() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let mut listener = SocketClient::with_token(&app, &g.member.token).await;
    listener.expect("ready").await;
    let mut rogue = SocketClient::with_token(&app, &g.owner.token).await;
    for junk in [
        "42[bad json",
        "42{}",
        "42[\"chat\"",
        "4299999999999999999999[]",
        "9",
        "",
        "42[1,2]",
        "40/nope,",
    ] {
        rogue.send_raw(junk).await;
    }
    let huge = format!("42[\"chat\",{{\"content\":\"{}\"}}]", "x".repeat(80 * 1024));
    rogue.send_raw(&huge).await;
    // Others are unaffected and the server still answers.
    let mut owner = SocketClient::with_token(&app, &g.owner.token).await;
    let ack = owner
        .emit_ack(
            "chat",
            json!({"channel_id": g.channel_id, "content": "still up"}),
        )
        .await;
    assert_eq!(ack["message"]["content"], "still up");
    assert_eq!(
        listener.expect("message_create").await["content"],
        "still up"
    );
}

#[tokio::test]
async fn a_flood_is_refused_then_disconnected() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let mut socket = SocketClient::with_token(&app, &g.member.token).await;
    socket.expect("ready").await;
    let mut codes = Vec::new();
    for _ in 0..140 {
        let ack: Value = socket
            .emit_ack("presence", json!({"status": "online"}))
            .await;
        codes.push(ack["error"]["code"].as_str().unwrap_or("ok").to_string());
    }
    assert!(codes[..120].iter().all(|c| c == "ok"), "{codes:?}");
    assert!(
        codes[120..].iter().all(|c| c == "rate_limited"),
        "{codes:?}"
    );
    // Keep flooding without waiting: the socket is dropped.
    for _ in 0..20 {
        socket
            .send_raw("42[\"presence\",{\"status\":\"idle\"}]")
            .await;
    }
    assert!(socket.closed().await);
}

#[tokio::test]
async fn a_socket_that_stops_reading_is_dropped_and_slows_nobody() {
    let app = spawn_app_with(|c| {
        c.ping_interval_secs = 1;
        c.ping_timeout_secs = 1;
    })
    .await;
    let g = app.guild().await;
    // Connects, then never reads again (nor answers heartbeats).
    let stalled = SocketClient::with_token(&app, &g.member.token).await;
    let _ = &stalled;
    let mut reader = SocketClient::with_token(&app, &g.admin.token).await;
    reader.expect("ready").await;
    let big = "x".repeat(3900);
    for i in 0..300 {
        app.message(&g.owner, &g.channel_id, &format!("{i} {big}"))
            .await;
        reader.expect("message_create").await;
    }
    // Its missed heartbeats got it dropped: what it finally reads ends in a close.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut stalled = stalled;
    assert!(
        stalled.closed().await,
        "a socket that stopped reading is still open"
    );
}

/// The fan-out is forced to fall behind (a bus of one event, and a burst of
/// messages that the group-commit writer publishes in one go) while the
/// member is kicked. A lagging fan-out may have lost the kick's
/// `member_leave`, so it must not keep delivering on stale rights: every
/// socket is disconnected, and a reconnecting client catches up over REST.
#[tokio::test]
async fn a_lagging_fan_out_disconnects_sockets_instead_of_losing_a_kick() {
    let app = spawn_app_with(|c| {
        c.event_bus_capacity = 1;
        c.rate_limits = false;
    })
    .await;
    let g = app.guild().await;
    let mut member = SocketClient::with_token(&app, &g.member.token).await;
    member.expect("ready").await;

    let texts: Vec<String> = (0..200).map(|i| format!("burst {i}")).collect();
    let burst = texts
        .iter()
        .map(|t| app.message(&g.owner, &g.channel_id, t));
    futures_util::future::join_all(burst).await;
    let (status, _) = app
        .delete(
            &format!("/servers/{}/members/{}", g.server_id, g.member.id),
            &g.owner,
        )
        .await;
    assert_eq!(status, 204);
    let after_kick = app.message(&g.owner, &g.channel_id, "after the kick").await;

    // Whatever the socket got before the lag, it never gets the message
    // posted after the kick, and it is closed.
    let mut seen = Vec::new();
    while let Some(event) = member.next_event().await {
        seen.push(event);
    }
    assert!(
        !seen
            .iter()
            .any(|(name, data)| name == "message_create" && data["content"] == "after the kick"),
        "a kicked member's socket received a message posted after the kick"
    );

    // The owner's client reconnects and catches up on what it missed.
    let mut owner = SocketClient::with_token(&app, &g.owner.token).await;
    owner.expect("ready").await;
    let (status, page) = app
        .get(
            &format!("/messages?channel_id={}&limit=100", g.channel_id),
            &g.owner,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(page[0]["id"], after_kick["id"]);
    // And the kicked member's new socket is no longer in the server.
    let mut member = SocketClient::with_token(&app, &g.member.token).await;
    let ready = member.expect("ready").await;
    assert_eq!(ready["servers"], json!([]));
    app.message(&g.owner, &g.channel_id, "later").await;
    member
        .expect_none("message_create", Duration::from_millis(300))
        .await;
}

/// A socket that stops reading fills its queue. It must not silently skip
/// what did not fit and go on afterwards: it gets a gap-free prefix of the
/// messages and then its disconnect, while every other socket gets
/// everything. (Heartbeats are slowed down so that they are not what cuts
/// the socket off.)
#[tokio::test]
async fn a_socket_whose_queue_overflows_is_disconnected_not_skipped() {
    let app = spawn_app_with(|c| {
        c.ping_interval_secs = 120;
        c.ping_timeout_secs = 120;
        c.rate_limits = false;
    })
    .await;
    let g = app.guild().await;
    let mut stalled = SocketClient::with_token(&app, &g.member.token).await;
    stalled.expect("ready").await;
    let mut reader = SocketClient::with_token(&app, &g.admin.token).await;
    reader.expect("ready").await;

    // Enough to fill the socket's queue and the loopback buffers behind it.
    const POSTS: usize = 2500;
    let big = "x".repeat(3900);
    for i in 0..POSTS {
        app.message(&g.owner, &g.channel_id, &format!("{i} {big}"))
            .await;
        let got = reader.expect("message_create").await;
        assert!(
            got["content"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{i} "))
        );
    }

    // The stalled client now reads: a prefix, in order, then the end.
    let mut seen = 0;
    while let Some((name, data)) = stalled.next_event().await {
        if name != "message_create" {
            continue;
        }
        let content = data["content"].as_str().unwrap();
        assert!(
            content.starts_with(&format!("{seen} ")),
            "after message {seen} the stalled socket got {}",
            &content[..8]
        );
        seen += 1;
    }
    assert!(
        seen < POSTS,
        "the stalled socket never overflowed: raise POSTS"
    );
}
