//! Several nodes on one PostgreSQL database and one Redis: events made on
//! one node reach the sockets and caches of the others, in commit order.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::socket_client::SocketClient;

/// The next `message_create` on `socket`, skipping other events.
async fn next_message(socket: &mut SocketClient) -> Value {
    socket.expect("message_create").await
}

#[tokio::test]
async fn a_message_made_on_one_node_reaches_sockets_and_caches_on_the_others() {
    let a = spawn_cluster_node(|_| {}).await;
    let b = a.spawn_node(|_| {}).await;
    let c = a.spawn_node(|_| {}).await;
    let g = a.guild().await;
    let mut member_on_b = SocketClient::with_token(&b, &g.member.token).await;
    let mut admin_on_c = SocketClient::with_token(&c, &g.admin.token).await;
    let mut outsider_on_b = SocketClient::with_token(&b, &g.outsider.token).await;
    // Node B keeps the channel's newest messages from here on.
    let page = format!("/messages?channel_id={}", g.channel_id);
    assert_eq!(b.get(&page, &g.member).await.0, StatusCode::OK);

    let posted = a.message(&g.owner, &g.channel_id, "from A").await;
    for socket in [&mut member_on_b, &mut admin_on_c] {
        let got = next_message(socket).await;
        assert_eq!(got["id"], posted["id"]);
        assert_eq!(got["content"], "from A");
    }
    // Node B's kept page has it at once.
    let (_, listed) = b.get(&page, &g.member).await;
    assert_eq!(listed[0]["id"], posted["id"]);

    // A socket `chat` on C reaches B; an edit on B reaches C.
    let ack = admin_on_c
        .emit_ack(
            "chat",
            json!({"channel_id": g.channel_id, "content": "from C"}),
        )
        .await;
    let chat_id = ack["message"]["id"].clone();
    assert_eq!(next_message(&mut member_on_b).await["id"], chat_id);
    let (status, _) = b
        .put(
            &format!("/messages/{}", chat_id.as_str().unwrap()),
            &g.admin,
            json!({"content": "edited on B"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let edit = admin_on_c.expect("message_update").await;
    assert_eq!(edit["content"], "edited on B");
    let (_, listed) = a.get(&page, &g.owner).await;
    assert_eq!(listed[0]["content"], "edited on B");
    // The outsider, on a node that relays everything, got none of it.
    outsider_on_b
        .expect_none("message_create", Duration::from_millis(300))
        .await;
    for node in [c, b, a] {
        node.stop().await;
    }
}

#[tokio::test]
async fn posts_on_two_nodes_into_one_channel_keep_one_order_everywhere() {
    let a = spawn_cluster_node(|_| {}).await;
    let b = a.spawn_node(|_| {}).await;
    let g = a.guild().await;
    let mut on_a = SocketClient::with_token(&a, &g.member.token).await;
    let mut on_b = SocketClient::with_token(&b, &g.member.token).await;
    // Both posters' messages fit one page of 100.
    const EACH: usize = 48;
    let mut posters = Vec::new();
    for (node, user) in [
        (a.base.clone(), g.owner.clone()),
        (b.base.clone(), g.admin.clone()),
    ] {
        for lane in 0..3 {
            let (node, user, channel) = (node.clone(), user.clone(), g.channel_id.clone());
            posters.push(tokio::spawn(async move {
                let client = reqwest::Client::new();
                for i in 0..EACH / 3 {
                    let res = client
                        .post(format!("{node}/messages"))
                        .bearer_auth(&user.token)
                        .json(&json!({"channel_id": channel, "content": format!("{lane}-{i}")}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(res.status(), StatusCode::CREATED);
                }
            }));
        }
    }
    for poster in posters {
        poster.await.unwrap();
    }
    let mut seen_by = Vec::new();
    for socket in [&mut on_a, &mut on_b] {
        let mut ids = Vec::new();
        for _ in 0..2 * EACH {
            let message = next_message(socket).await;
            ids.push(message["id"].as_str().unwrap().parse::<i64>().unwrap());
        }
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "delivered out of id order: {ids:?}"
        );
        seen_by.push(ids);
    }
    assert_eq!(seen_by[0], seen_by[1], "both nodes delivered one order");
    // The stored order is the delivered order: catching up from any id
    // misses nothing.
    let (status, stored) = b
        .call(
            Method::GET,
            &format!("/messages?channel_id={}&limit=100&after=0", g.channel_id),
            Some(&g.member.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{stored}");
    let mut stored: Vec<i64> = stored
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().parse().unwrap())
        .collect();
    stored.sort_unstable();
    assert_eq!(stored, seen_by[0]);
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn a_kick_on_one_node_takes_effect_on_another_at_once() {
    let a = spawn_cluster_node(|_| {}).await;
    let b = a.spawn_node(|_| {}).await;
    let g = a.guild().await;
    let page = format!("/messages?channel_id={}", g.channel_id);
    // Node B has the member's access cached, and a socket of theirs.
    assert_eq!(b.get(&page, &g.member).await.0, StatusCode::OK);
    let mut member_on_b = SocketClient::with_token(&b, &g.member.token).await;
    let (status, body) = a
        .delete(
            &format!("/servers/{}/members/{}", g.server_id, g.member.id),
            &g.owner,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let leave = member_on_b.expect("member_leave").await;
    assert_eq!(leave["user_id"], g.member.id);
    // Once the socket heard it, node B refuses the member over REST too.
    assert_error(&b.get(&page, &g.member).await, 404, "not_found");
    let (status, _) = b
        .post(
            "/messages",
            &g.member,
            json!({"channel_id": g.channel_id, "content": "still here?"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    a.message(&g.owner, &g.channel_id, "after the kick").await;
    member_on_b
        .expect_none("message_create", Duration::from_millis(300))
        .await;
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn a_logout_on_one_node_ends_the_session_on_every_node() {
    let a = spawn_cluster_node(|_| {}).await;
    let b = a.spawn_node(|_| {}).await;
    let bob = a.user("bob").await;
    // Node B has the session cached, and a socket on it.
    assert_eq!(
        b.call(Method::GET, "/auth/me", Some(&bob.token), None)
            .await
            .0,
        StatusCode::OK
    );
    let mut on_b = SocketClient::with_token(&b, &bob.token).await;
    let (status, _) = a
        .call(Method::POST, "/auth/logout", Some(&bob.token), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(on_b.closed().await, "the socket on node B was closed");
    let (status, _) = b
        .call(Method::GET, "/auth/me", Some(&bob.token), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let refused = SocketClient::connect(&b, Some(json!({"token": bob.token})), &[])
        .await
        .err()
        .expect("the ended session opens no socket");
    assert_eq!(refused["message"], "unauthorized");
    b.stop().await;
    a.stop().await;
}
