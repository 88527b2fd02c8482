//! Several nodes on one PostgreSQL database and one Redis: node id leases.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;
use guildhall::Config;
use guildhall::id::MAX_NODE_ID;

async fn redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(test_redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .expect("connect to the test Redis")
}

fn lease_key(app: &TestApp, id: u16) -> String {
    format!("{}:node-id:{id}", app.config().redis_prefix)
}

/// The node id bits of a snowflake.
fn node_of(id: &str) -> u16 {
    let id: i64 = id.parse().unwrap();
    u16::try_from((id >> 12) & i64::from(MAX_NODE_ID)).unwrap()
}

async fn holder(app: &TestApp, id: u16) -> Option<String> {
    redis::cmd("GET")
        .arg(lease_key(app, id))
        .query_async(&mut redis().await)
        .await
        .unwrap()
}

/// Makes `id` look held by another node (for a minute), as a live or killed
/// node's lease would.
async fn hold_elsewhere(app: &TestApp, id: u16, holder: &str) {
    let _: () = redis::cmd("SET")
        .arg(lease_key(app, id))
        .arg(holder)
        .arg("PX")
        .arg(60_000)
        .query_async(&mut redis().await)
        .await
        .unwrap();
}

/// The other holder of `id` goes away.
async fn free(app: &TestApp, id: u16) {
    let _: () = redis::cmd("DEL")
        .arg(lease_key(app, id))
        .query_async(&mut redis().await)
        .await
        .unwrap();
}

/// Polls `check` every 50 ms for up to 10 s.
async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never happened: {what}");
}

#[tokio::test]
async fn nodes_lease_distinct_ids_and_mint_with_them() {
    let a = spawn_cluster_node(|_| {}).await;
    let b = a.spawn_node(|_| {}).await;
    let (id_a, id_b) = (a.state.ids.node_id(), b.state.ids.node_id());
    assert_ne!(id_a, id_b);
    // Each lease is in Redis, with an expiry, under a token of its own.
    let (held_a, held_b) = (holder(&a, id_a).await, holder(&a, id_b).await);
    assert!(held_a.is_some() && held_b.is_some() && held_a != held_b);
    let ttl: i64 = redis::cmd("PTTL")
        .arg(lease_key(&a, id_a))
        .query_async(&mut redis().await)
        .await
        .unwrap();
    assert!(ttl > 0 && ttl <= 60_000, "lease TTL {ttl} ms");
    // Ids minted on each node carry its id.
    let alice = a.user("alice").await;
    let bob = b.user("bob").await;
    assert_eq!(node_of(&alice.id), id_a);
    assert_eq!(node_of(&bob.id), id_b);
    // A graceful stop gives the lease back at once.
    b.stop().await;
    assert_eq!(holder(&a, id_b).await, None);
    a.stop().await;
}

#[tokio::test]
async fn a_node_id_held_by_a_live_node_is_never_taken() {
    let a = spawn_cluster_node(|_| {}).await;
    let taken = a.state.ids.node_id();
    // Asked for explicitly: start-up fails and says why.
    let mut config: Config = a.config().clone();
    config.node_id = Some(taken);
    config.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let refused = guildhall::Server::bind(&config).await;
    let error = refused
        .err()
        .expect("a held node id is refused")
        .to_string();
    assert!(error.contains(&format!("node id {taken}")), "{error}");
    // A node killed without releasing its lease keeps its id held until
    // the lease expires: a node started meanwhile takes another.
    let ghost = if taken == 0 { 1 } else { 0 };
    hold_elsewhere(&a, ghost, "a-killed-node").await;
    for _ in 0..3 {
        let b = a.spawn_node(|_| {}).await;
        let id = b.state.ids.node_id();
        assert!(id != taken && id != ghost, "node id {id} was held");
        b.stop().await;
    }
    free(&a, ghost).await;
    a.stop().await;
}

#[tokio::test]
async fn a_node_that_loses_its_lease_stops_minting_until_it_has_one_again() {
    // A set node id: losing it leaves the node with none.
    let a = spawn_cluster_node(|c| {
        c.node_id = Some(MAX_NODE_ID - 3);
        c.node_lease_ttl = Duration::from_secs(1).into();
    })
    .await;
    let id = MAX_NODE_ID - 3;
    let alice = a.user("alice").await;
    let g = a.server(&alice, "hall").await;
    let channel = a.general_channel(g["id"].as_str().unwrap(), &alice).await;
    // Another node takes the id (say this node's lease expired while it
    // was cut off from Redis).
    hold_elsewhere(&a, id, "another-node").await;
    until("writes refused without a lease", async || {
        let (status, _) = a
            .post(
                "/messages",
                &alice,
                json!({"channel_id": channel, "content": "hi"}),
            )
            .await;
        status == StatusCode::SERVICE_UNAVAILABLE
    })
    .await;
    let stored = async || {
        let (status, page) = a
            .get(&format!("/messages?channel_id={channel}"), &alice)
            .await;
        assert_eq!(status, StatusCode::OK, "reads go on without a lease");
        page.as_array().unwrap().len()
    };
    let before = stored().await;
    let response = a
        .client
        .post(a.url("/messages"))
        .bearer_auth(&alice.token)
        .json(&json!({"channel_id": channel, "content": "refused"}))
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("retry-after"));
    let (status, body) = read_json(response).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["code"], "unavailable");
    let (status, _) = a.post("/servers", &alice, json!({"name": "refused"})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(stored().await, before, "nothing written while refused");
    assert_eq!(holder(&a, id).await.as_deref(), Some("another-node"));
    // The other node goes away: the id is leased again and writes resume.
    free(&a, id).await;
    until("writes accepted again", async || {
        let (status, _) = a
            .post(
                "/messages",
                &alice,
                json!({"channel_id": channel, "content": "back"}),
            )
            .await;
        status == StatusCode::CREATED
    })
    .await;
    assert!(holder(&a, id).await.is_some_and(|t| t != "another-node"));
    a.stop().await;
}

#[tokio::test]
async fn a_node_without_a_set_id_moves_to_a_free_one_when_its_own_is_taken() {
    let a = spawn_cluster_node(|c| c.node_lease_ttl = Duration::from_secs(1).into()).await;
    let first = a.state.ids.node_id();
    hold_elsewhere(&a, first, "another-node").await;
    until("a new node id", async || a.state.ids.node_id() != first).await;
    let second = a.state.ids.node_id();
    let bob = a.user("bob").await;
    assert_eq!(node_of(&bob.id), second);
    free(&a, first).await;
    a.stop().await;
}

#[tokio::test]
async fn several_nodes_refuse_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let mut config =
        Config::with_database(format!("sqlite://{}", dir.path().join("g.db").display()));
    config.redis_url = Some(test_redis_url());
    let error = guildhall::Server::bind(&config)
        .await
        .err()
        .expect("SQLite with Redis is refused")
        .to_string();
    assert!(error.contains("need PostgreSQL"), "{error}");
}

#[tokio::test]
async fn single_node_mode_is_the_default_and_needs_no_redis() {
    let app = spawn_app().await;
    assert!(app.config().redis_url.is_none());
    assert!(app.state.redis.is_none());
    assert_eq!(app.state.ids.node_id(), 0);
    let (status, _) = app.call(Method::GET, "/users/@me", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn rate_limits_are_one_budget_across_nodes() {
    let a = spawn_cluster_node(|c| {
        c.rate_limits = true;
        c.rate_limit_messages_per_minute = 3;
    })
    .await;
    let b = a.spawn_node(|_| {}).await;
    let alice = a.user("alice").await;
    let g = a.server(&alice, "hall").await;
    let channel = a.general_channel(g["id"].as_str().unwrap(), &alice).await;
    let post = async |node: &TestApp, content: &str| {
        node.client
            .post(node.url("/messages"))
            .bearer_auth(&alice.token)
            .json(&json!({"channel_id": channel, "content": content}))
            .send()
            .await
            .unwrap()
    };
    let remaining = |r: &reqwest::Response| {
        r.headers()["x-ratelimit-remaining"]
            .to_str()
            .unwrap()
            .to_owned()
    };
    let first = post(&a, "one").await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert_eq!(remaining(&first), "2");
    let second = post(&b, "two").await;
    assert_eq!(second.status(), StatusCode::CREATED);
    assert_eq!(remaining(&second), "1", "node B counts node A's post");
    let third = post(&a, "three").await;
    assert_eq!(third.status(), StatusCode::CREATED);
    assert_eq!(remaining(&third), "0");
    for node in [&b, &a] {
        let refused = post(node, "four").await;
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        let wait: u64 = refused.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=20).contains(&wait), "retry after {wait} s");
    }
    // Another user's budget is their own.
    let bob = b.user("bob").await;
    let (status, _) = b
        .post(
            "/messages",
            &bob,
            json!({"channel_id": channel, "content": "x"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "bob sees no such channel: refused, not limited"
    );
    let (status, page) = b
        .get(&format!("/messages?channel_id={channel}"), &alice)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page.as_array().unwrap().len(), 3);
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn login_guesses_spread_over_nodes_share_one_throttle() {
    let a = spawn_cluster_node(|c| c.login_attempts_per_minute = 3).await;
    let b = a.spawn_node(|_| {}).await;
    // Signing up logs in once: one of the three attempts.
    a.user("alice").await;
    let guess = async |node: &TestApp| {
        node.call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": "alice", "password": "wrong guess"})),
        )
        .await
        .0
    };
    assert_eq!(guess(&b).await, StatusCode::UNAUTHORIZED);
    assert_eq!(guess(&a).await, StatusCode::UNAUTHORIZED);
    assert_eq!(guess(&b).await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(guess(&a).await, StatusCode::TOO_MANY_REQUESTS);
    // Even the right password waits: the throttle is on the attempts.
    let (status, _) = b
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": "alice", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    b.stop().await;
    a.stop().await;
}
