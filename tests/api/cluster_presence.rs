//! Presence and socket caps over several nodes: a user is online while any
//! node holds a socket of theirs, and the cap counts every node.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;
use crate::socket_client::SocketClient;

/// Waits on `socket` for a `presence_updates` naming `user`; returns the
/// status it gives.
async fn next_presence_of(socket: &mut SocketClient, user: &TestUser) -> String {
    loop {
        let (event, data) = socket.next_event().await.expect("socket open");
        if event != "presence_updates" {
            continue;
        }
        if let Some(update) = data
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["user_id"] == user.id)
        {
            return update["status"].as_str().unwrap().to_owned();
        }
    }
}

fn ready_status(ready: &Value, user: &TestUser) -> Option<String> {
    ready["presences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["user_id"] == user.id)
        .map(|p| p["status"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_user_is_online_while_any_node_holds_a_socket_of_theirs() {
    let a = spawn_cluster_node(|_| {}).await;
    let b = a.spawn_node(|_| {}).await;
    let g = a.guild().await;
    let mut watcher = SocketClient::with_token(&a, &g.owner.token).await;
    watcher.expect("ready").await;
    let on_a = SocketClient::with_token(&a, &g.member.token).await;
    assert_eq!(next_presence_of(&mut watcher, &g.member).await, "online");
    let mut on_b = SocketClient::with_token(&b, &g.member.token).await;
    on_b.expect("ready").await;
    // A status chosen on one node is what everyone sees.
    let ack = on_b.emit_ack("presence", json!({"status": "dnd"})).await;
    assert_eq!(ack["ok"], true, "{ack}");
    assert_eq!(next_presence_of(&mut watcher, &g.member).await, "dnd");
    // `ready` on another node reads the cluster's presence.
    let mut late = SocketClient::with_token(&b, &g.admin.token).await;
    let ready = late.expect("ready").await;
    assert_eq!(ready_status(&ready, &g.member).as_deref(), Some("dnd"));
    // Closing the socket on A leaves them online through B.
    drop(on_a);
    let quiet = tokio::time::timeout(
        Duration::from_millis(500),
        next_presence_of(&mut watcher, &g.member),
    )
    .await;
    assert!(
        quiet.is_err(),
        "no change while B holds a socket: {quiet:?}"
    );
    drop(on_b);
    assert_eq!(next_presence_of(&mut watcher, &g.member).await, "offline");
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn the_socket_cap_counts_every_node() {
    let a = spawn_cluster_node(|c| c.max_sockets_per_user = 2).await;
    let b = a.spawn_node(|_| {}).await;
    let alice = a.user("alice").await;
    let on_a = SocketClient::with_token(&a, &alice.token).await;
    let _on_b = SocketClient::with_token(&b, &alice.token).await;
    for node in [&a, &b] {
        let refused = SocketClient::connect(node, Some(json!({"token": alice.token})), &[])
            .await
            .err()
            .expect("past the cap");
        assert_eq!(refused["message"], "too_many_sockets");
    }
    drop(on_a);
    let mut reopened = None;
    for _ in 0..100 {
        match SocketClient::connect(&b, Some(json!({"token": alice.token})), &[]).await {
            Ok(socket) => {
                reopened = Some(socket);
                break;
            }
            Err(refused) => assert_eq!(refused["message"], "too_many_sockets"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        reopened.is_some(),
        "a closed socket frees its place on every node"
    );
    b.stop().await;
    a.stop().await;
}

/// A node run as its own process, so that it can be killed outright.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_killed_nodes_users_go_offline_on_the_others() {
    let ttl = Duration::from_secs(1);
    let a = spawn_cluster_node(|c| c.presence_ttl = ttl.into()).await;
    let g = a.guild().await;
    let port = free_port();
    let config = a.config();
    let node = Process(
        Command::new(env!("CARGO_BIN_EXE_guildhall"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--database-url", &config.database_url])
            .args(["--redis-url", config.redis_url.as_deref().unwrap()])
            .args(["--redis-prefix", &config.redis_prefix])
            .args(["--presence-ttl", "1s", "--rate-limits", "false"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start a node"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let mut watcher = SocketClient::with_token(&a, &g.owner.token).await;
    watcher.expect("ready").await;
    // Until the process listens and hears the relay, it refuses sockets.
    wait_for_port(port).await;
    let mut member = None;
    for _ in 0..200 {
        if let Ok(socket) =
            SocketClient::connect_to(&base, Some(json!({"token": g.member.token})), &[]).await
        {
            member = Some(socket);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _member = member.expect("the node took a socket");
    assert_eq!(next_presence_of(&mut watcher, &g.member).await, "online");
    // An acknowledged message survives the kill that follows at once.
    let acknowledged = reqwest::Client::new()
        .post(format!("{base}/messages"))
        .bearer_auth(&g.member.token)
        .json(&json!({"channel_id": g.channel_id, "content": "last words"}))
        .send()
        .await
        .unwrap();
    assert_eq!(acknowledged.status(), reqwest::StatusCode::CREATED);
    let acknowledged: Value = acknowledged.json().await.unwrap();
    drop(node); // kill -9
    let (status, stored) = a
        .get(
            &format!("/messages/{}", acknowledged["id"].as_str().unwrap()),
            &g.owner,
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(stored["content"], "last words");
    let gone = tokio::time::Instant::now();
    assert_eq!(next_presence_of(&mut watcher, &g.member).await, "offline");
    // Within the TTL and a sweep (plus the presence batch window).
    assert!(
        gone.elapsed() < ttl * 3,
        "offline after {:?}",
        gone.elapsed()
    );
    a.stop().await;
}
