//! Several nodes when Redis goes away and comes back: REST keeps working,
//! sockets are dropped rather than left stale, and everything resumes by
//! itself, with what was missed recoverable through the catch-up route.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::socket_client::SocketClient;

/// A Redis of the test's own, on its own port, so it can be stopped.
struct OwnRedis {
    port: u16,
    process: Option<Child>,
}

impl OwnRedis {
    async fn start(port: u16) -> Self {
        let process = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs");
        wait_for_port(port).await;
        Self {
            port,
            process: Some(process),
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Connects `token` to `node`, retrying while the node refuses sockets.
async fn connect_when_ready(node: &TestApp, token: &str) -> SocketClient {
    for _ in 0..200 {
        match SocketClient::connect(node, Some(json!({ "token": token })), &[]).await {
            Ok(socket) => return socket,
            Err(refused) => assert_eq!(refused["message"], "unavailable"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the node never took a socket again");
}

#[tokio::test]
async fn a_redis_outage_drops_sockets_keeps_rest_and_everything_resumes() {
    let mut redis = OwnRedis::start(free_port()).await;
    let url = redis.url();
    let a = spawn_cluster_node(|c| {
        c.redis_url = Some(url);
        c.presence_ttl = Duration::from_secs(1).into();
    })
    .await;
    let b = a.spawn_node(|_| {}).await;
    let g = a.guild().await;
    let mut member = SocketClient::with_token(&b, &g.member.token).await;
    let before = a.message(&g.owner, &g.channel_id, "before").await;
    assert_eq!(member.expect("message_create").await["id"], before["id"]);

    let ready = |node: &TestApp| {
        let url = node.url("/readyz");
        async move {
            let res = reqwest::get(url).await.unwrap();
            let status = res.status();
            (status, res.json::<serde_json::Value>().await.unwrap())
        }
    };
    assert_eq!(
        ready(&b).await,
        (
            StatusCode::OK,
            json!({"status": "ok", "checks": {"database": "ok", "redis": "ok"}})
        )
    );

    redis.kill();
    // Not ready while Redis is away (load balancers may take the node out).
    let (status, body) = ready(&b).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    // Refused or unanswered, depending on where reconnecting is.
    assert!(
        ["error", "timeout"].contains(&body["checks"]["redis"].as_str().unwrap()),
        "{body}"
    );
    assert_eq!(body["checks"]["database"], "ok");
    // The node cannot know what it misses: the socket is dropped.
    assert!(member.closed().await, "the socket on B was closed");
    let refused = SocketClient::connect(&b, Some(json!({"token": g.member.token})), &[])
        .await
        .err()
        .expect("no socket while the nodes cannot hear each other");
    assert_eq!(refused["message"], "unavailable");
    // REST goes on, on both nodes.
    a.message(&g.owner, &g.channel_id, "during").await;
    let (status, _) = b
        .post(
            "/messages",
            &g.member,
            json!({"channel_id": g.channel_id, "content": "during, from B"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let redis = OwnRedis::start(redis.port).await;
    let mut member = connect_when_ready(&b, &g.member.token).await;
    assert_eq!(ready(&b).await.0, StatusCode::OK);
    member.expect("ready").await;
    // What was missed comes through the catch-up route.
    let (status, missed) = b
        .get(
            &format!(
                "/messages?channel_id={}&after={}",
                g.channel_id,
                before["id"].as_str().unwrap()
            ),
            &g.member,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let missed: Vec<&str> = missed
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert!(
        missed.contains(&"during") && missed.contains(&"during, from B"),
        "{missed:?}"
    );
    assert!(missed.len() == 2, "{missed:?}");
    // Fan-out resumes across nodes once A hears the relay again too.
    let _owner_on_a = connect_when_ready(&a, &g.owner.token).await;
    let after = a.message(&g.owner, &g.channel_id, "after").await;
    assert_eq!(member.expect("message_create").await["id"], after["id"]);
    // What the operator sees in /metrics: the loss, the reconnect, and
    // publishing working again.
    let metrics = reqwest::get(b.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |line_start: &str| -> f64 {
        metrics
            .lines()
            .find(|l| l.starts_with(line_start))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {line_start} in\n{metrics}"))
    };
    assert!(value("guildhall_relay_resyncs_total{reason=\"subscription_lost\"}") >= 1.0);
    assert!(value("guildhall_redis_subscriptions_total") >= 2.0);
    assert!(value("guildhall_redis_publish_duration_seconds_count") >= 1.0);
    b.stop().await;
    a.stop().await;
    drop(redis);
}
