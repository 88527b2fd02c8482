//! Starts the real Guildhall server on a random loopback port with a fresh
//! database, and talks to it over HTTP as a client would.
//!
//! The database comes from `GUILDHALL_TEST_DB`: `sqlite` (default: a file
//! in a temporary directory) or `postgres` (a new database on the server
//! at `GUILDHALL_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`, dropped when the test ends).

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use guildhall::{Config, Server};

pub const PASSWORD: &str = "correct horse battery";

enum TestDb {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

/// The Redis keys of a multi-node test (its prefix), deleted when the last
/// node of the test is gone.
struct RedisKeys {
    url: String,
    prefix: String,
}

impl Drop for RedisKeys {
    fn drop(&mut self) {
        let (url, pattern) = (self.url.clone(), format!("{}:*", self.prefix));
        finish_on_own_thread(async move {
            let clean = async {
                let mut conn = redis::Client::open(url)
                    .ok()?
                    .get_multiplexed_async_connection()
                    .await
                    .ok()?;
                let keys: Vec<String> = redis::cmd("KEYS")
                    .arg(&pattern)
                    .query_async(&mut conn)
                    .await
                    .ok()?;
                if !keys.is_empty() {
                    let _: Option<i64> = redis::cmd("DEL")
                        .arg(keys)
                        .query_async(&mut conn)
                        .await
                        .ok();
                }
                Some(())
            };
            // A test's own Redis may be gone by now.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), clean).await;
        });
    }
}

/// Runs `work` to the end on a thread and runtime of its own: `Drop` runs
/// outside any runtime guarantee.
fn finish_on_own_thread(work: impl std::future::Future<Output = ()> + Send + 'static) {
    let _ = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(work);
    })
    .join();
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            finish_on_own_thread(async move {
                use sqlx::Executor;
                if let Ok(pool) = sqlx::PgPool::connect(&admin_url).await {
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    let _ = pool.execute(sqlx::AssertSqlSafe(sql)).await;
                    pool.close().await;
                }
            });
        }
    }
}

async fn fresh_database() -> (TestDb, String) {
    let kind = std::env::var("GUILDHALL_TEST_DB").unwrap_or_else(|_| "sqlite".into());
    fresh_database_of(&kind).await
}

async fn fresh_database_of(kind: &str) -> (TestDb, String) {
    if kind == "postgres" {
        use sqlx::Executor;
        let admin_url = std::env::var("GUILDHALL_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let name = format!(
            "guildhall_test_{}",
            guildhall::auth::token::random_token()
                .to_lowercase()
                .replace(['-', '_'], "")
        );
        let name = name[..40.min(name.len())].to_string();
        let pool = sqlx::PgPool::connect(&admin_url)
            .await
            .expect("connect to PostgreSQL");
        pool.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .await
            .expect("create test database");
        pool.close().await;
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(b, _)| b)
            .to_string();
        let url = format!("{base}/{name}");
        (TestDb::Postgres { admin_url, name }, url)
    } else {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("guildhall.db").display());
        (TestDb::Sqlite(dir), url)
    }
}

pub struct TestApp {
    pub base: String,
    /// `http://ADDR` of the `/metrics` listener, with `--metrics-listen`.
    pub metrics_base: Option<String>,
    config: Config,
    pub client: reqwest::Client,
    pub state: guildhall::state::AppState,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    /// Shared by the nodes of a multi-node test; dropped with the last.
    db: Arc<TestDb>,
    /// Likewise, a multi-node test's Redis keys.
    redis_keys: Option<Arc<RedisKeys>>,
}

/// A signed-up, logged-in user.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub id: String,
    pub username: String,
    pub token: String,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let (db, url) = fresh_database().await;
    let mut config = Config::with_database(url);
    // Tests make many requests from one address; the tests of the limits
    // themselves switch them back on.
    config.rate_limits = false;
    configure(&mut config);
    start(config, Arc::new(db)).await
}

/// The Redis that multi-node tests use: `GUILDHALL_TEST_REDIS_URL`, default
/// the local one.
pub fn test_redis_url() -> String {
    std::env::var("GUILDHALL_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into())
}

/// A loopback port nothing listens on (for a process the test starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits (up to 10 s) until something listens on loopback `port`.
pub async fn wait_for_port(port: u16) {
    for _ in 0..400 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("nothing listens on port {port}");
}

/// The first node of a multi-node deployment: a fresh PostgreSQL database
/// (whatever `GUILDHALL_TEST_DB` says: several nodes need PostgreSQL), the
/// test Redis, and a key prefix of its own so that test runs sharing the
/// Redis never meet. More nodes join with `TestApp::spawn_node`.
pub async fn spawn_cluster_node(configure: impl FnOnce(&mut Config)) -> TestApp {
    let mut app = spawn_postgres_app(|config| {
        config.redis_url = Some(test_redis_url());
        config.redis_prefix = format!(
            "guildhall-test-{}",
            guildhall::auth::token::random_token().to_lowercase()
        );
        configure(config);
    })
    .await;
    app.redis_keys = app.config.redis_url.clone().map(|url| {
        Arc::new(RedisKeys {
            url,
            prefix: app.config.redis_prefix.clone(),
        })
    });
    app
}

/// A single node on a fresh PostgreSQL database, whatever
/// `GUILDHALL_TEST_DB` says: for tests of PostgreSQL's own behaviour.
pub async fn spawn_postgres_app(configure: impl FnOnce(&mut Config)) -> TestApp {
    let (db, url) = fresh_database_of("postgres").await;
    let mut config = Config::with_database(url);
    config.rate_limits = false;
    configure(&mut config);
    start(config, Arc::new(db)).await
}

async fn start(config: Config, db: Arc<TestDb>) -> TestApp {
    let server = Server::bind(&config).await.expect("server starts");
    let base = format!("http://{}", server.addr);
    let metrics_base = server.metrics_addr.map(|addr| format!("http://{addr}"));
    let state = server.state.clone();
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        server
            .run(async {
                let _ = rx.await;
            })
            .await
            .expect("server runs");
    });
    // On several nodes, sockets are refused until the node hears the
    // other nodes' events: wait for that, as a load balancer would wait
    // for readiness.
    if let Some(relay) = &state.relay {
        for _ in 0..200 {
            if relay.live() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert!(relay.live(), "the node never heard the relay");
    }
    TestApp {
        base,
        metrics_base,
        config,
        client: reqwest::Client::builder().build().unwrap(),
        state,
        shutdown: Some(tx),
        server: Some(handle),
        db,
        redis_keys: None,
    }
}

impl TestApp {
    /// The SQLite file, when the test runs on SQLite.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        match &*self.db {
            TestDb::Sqlite(dir) => Some(dir.path().join("guildhall.db")),
            TestDb::Postgres { .. } => None,
        }
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.server.take() {
            let _ = handle.await;
        }
    }

    /// Stops the server gracefully and starts a new one on the same
    /// database (on a new port).
    pub async fn restart(mut self) -> TestApp {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.server.take() {
            let _ = handle.await;
        }
        let keys = self.redis_keys.take();
        let mut app = start(self.config, self.db).await;
        app.redis_keys = keys;
        app
    }

    /// Another node on this one's database (and Redis and prefix, in
    /// multi-node mode), with its own port; `configure` may change its
    /// settings.
    pub async fn spawn_node(&self, configure: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = self.config.clone();
        config.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        configure(&mut config);
        let mut node = start(config, self.db.clone()).await;
        node.redis_keys = self.redis_keys.clone();
        node
    }

    /// The PostgreSQL database's name and an administrator's URL to it
    /// (`None` on SQLite).
    pub fn postgres_admin(&self) -> Option<(String, String)> {
        match &*self.db {
            TestDb::Postgres { admin_url, name } => Some((admin_url.clone(), name.clone())),
            TestDb::Sqlite(_) => None,
        }
    }

    /// The settings this node started with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends a request, with a bearer token if given and a JSON body if
    /// given; returns the status and the parsed JSON body (`Null` if empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        read_json(req.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str, user: &TestUser) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(&user.token), None).await
    }

    pub async fn post(&self, path: &str, user: &TestUser, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(&user.token), Some(body))
            .await
    }

    pub async fn put(&self, path: &str, user: &TestUser, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(&user.token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, user: &TestUser) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, Some(&user.token), None)
            .await
    }

    /// Signs up `username` and logs in.
    pub async fn user(&self, username: &str) -> TestUser {
        let (status, body) = self
            .call(
                Method::POST,
                "/users",
                None,
                Some(json!({"username": username, "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "sign-up of {username}: {body}");
        self.login(username).await
    }

    pub async fn login(&self, username: &str) -> TestUser {
        let (status, body) = self
            .call(
                Method::POST,
                "/auth/login",
                None,
                Some(json!({"username": username, "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login of {username}: {body}");
        TestUser {
            id: body["user"]["id"].as_str().unwrap().to_string(),
            username: username.to_string(),
            token: body["token"].as_str().unwrap().to_string(),
        }
    }

    /// Creates a server owned by `owner`; returns its JSON.
    pub async fn server(&self, owner: &TestUser, name: &str) -> Value {
        let (status, body) = self.post("/servers", owner, json!({"name": name})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// The id of a server's first channel (`general`).
    pub async fn general_channel(&self, server_id: &str, user: &TestUser) -> String {
        let (status, body) = self
            .get(&format!("/channels?server_id={server_id}"), user)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body[0]["id"].as_str().unwrap().to_string()
    }

    /// Makes `user` join the server through an invite created by `inviter`,
    /// then, when `role` is not `member`, has the owner set it.
    pub async fn join(&self, server_id: &str, owner: &TestUser, user: &TestUser, role: &str) {
        let (status, invite) = self
            .post(&format!("/servers/{server_id}/invites"), owner, json!({}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{invite}");
        let code = invite["code"].as_str().unwrap();
        let (status, body) = self
            .post(&format!("/invites/{code}/accept"), user, json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if role != "member" {
            let (status, body) = self
                .put(
                    &format!("/servers/{server_id}/members/{}", user.id),
                    owner,
                    json!({"role": role}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    }

    /// A server with an owner, an admin, a member and an outsider, and the
    /// id of its general channel.
    pub async fn guild(&self) -> Guild {
        let owner = self.user("owner").await;
        let admin = self.user("admin").await;
        let member = self.user("member").await;
        let outsider = self.user("outsider").await;
        let server = self.server(&owner, "Guild").await;
        let server_id = server["id"].as_str().unwrap().to_string();
        self.join(&server_id, &owner, &admin, "admin").await;
        self.join(&server_id, &owner, &member, "member").await;
        let channel_id = self.general_channel(&server_id, &owner).await;
        Guild {
            owner,
            admin,
            member,
            outsider,
            server_id,
            channel_id,
        }
    }

    /// Posts a message and returns its JSON.
    pub async fn message(&self, user: &TestUser, channel_id: &str, content: &str) -> Value {
        let (status, body) = self
            .post(
                "/messages",
                user,
                json!({"channel_id": channel_id, "content": content}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }
}

pub struct Guild {
    pub owner: TestUser,
    pub admin: TestUser,
    pub member: TestUser,
    pub outsider: TestUser,
    pub server_id: String,
    pub channel_id: String,
}

/// Tries `attempt` every 20 ms until it succeeds, for what happens beside
/// the request that caused it; fails with the last attempt's complaint
/// after 5 s.
pub async fn eventually<T, F>(mut attempt: impl FnMut() -> F) -> T
where
    F: std::future::Future<Output = Result<T, String>>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match attempt().await {
            Ok(done) => return done,
            Err(complaint) => assert!(tokio::time::Instant::now() < deadline, "{complaint}"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Asserts an error answer: status and `error.code`.
#[track_caller]
pub fn assert_error(got: &(StatusCode, Value), status: u16, code: &str) {
    assert_eq!(got.0.as_u16(), status, "unexpected status; body: {}", got.1);
    assert_eq!(
        got.1["error"]["code"], code,
        "unexpected error code; body: {}",
        got.1
    );
    assert!(
        got.1["error"]["message"].is_string(),
        "error without message: {}",
        got.1
    );
}

/// Sends `body` byte for byte with the given Content-Type (or none), for
/// the requests `TestApp::call` cannot make: malformed JSON, JSON without
/// its content type. Error answers are JSON, so the body is parsed.
pub async fn send_raw(
    app: &TestApp,
    method: Method,
    path: &str,
    user: &TestUser,
    content_type: Option<&str>,
    body: impl AsRef<[u8]>,
) -> (StatusCode, Value) {
    let mut req = app
        .client
        .request(method, app.url(path))
        .bearer_auth(&user.token)
        .body(body.as_ref().to_vec());
    if let Some(content_type) = content_type {
        req = req.header(reqwest::header::CONTENT_TYPE, content_type);
    }
    read_json(req.send().await.expect("request sent")).await
}

/// The status and the JSON body of an answer (`Null` when empty).
pub async fn read_json(res: reqwest::Response) -> (StatusCode, Value) {
    let status = res.status();
    let text = res.text().await.expect("body read");
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("body is not JSON: {text}"))
    };
    (status, value)
}

/// Asserts that a JSON route answers 400 `malformed_json` to a body that is
/// not JSON, and 415 to `valid` sent without a JSON content type.
pub async fn assert_needs_json_body(
    app: &TestApp,
    user: &TestUser,
    method: Method,
    path: &str,
    valid: &str,
) {
    let json = Some("application/json");
    let got = send_raw(app, method.clone(), path, user, json, r#"{"name": "cut"#).await;
    assert_error(&got, 400, "malformed_json");
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let got = send_raw(app, method.clone(), path, user, content_type, valid).await;
        assert_error(&got, 415, "unsupported_media_type");
    }
}

/// Asserts that `{base}/{id}` answers 400 `invalid_path` on GET, PUT (with
/// `put_body`) and DELETE when the id is not a snowflake, and 404 when it
/// is unknown.
pub async fn assert_item_routes_check_ids(
    app: &TestApp,
    user: &TestUser,
    base: &str,
    put_body: Value,
) {
    let cases = ["abc", "12x", "-5", "1.5", "1e3", "99999999999999999999"]
        .map(|id| (id, 400, "invalid_path"))
        .into_iter()
        .chain([("123456789", 404, "not_found")]);
    for (id, status, code) in cases {
        let path = format!("{base}/{id}");
        assert_error(&app.get(&path, user).await, status, code);
        assert_error(&app.put(&path, user, put_body.clone()).await, status, code);
        assert_error(&app.delete(&path, user).await, status, code);
    }
}

/// `blocker` blocks `blocked`.
pub async fn block(app: &TestApp, blocker: &TestUser, blocked: &TestUser) {
    let (status, body) = app
        .post(
            "/friendlists",
            blocker,
            json!({"friend_id": blocked.id, "status": "blocked"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

// ------------------------------------------ servers, their invites and members

/// The JSON content type, for `send_raw`.
pub const JSON: Option<&str> = Some("application/json");

pub fn server_path(g: &Guild) -> String {
    format!("/servers/{}", g.server_id)
}

pub fn invites_path(g: &Guild) -> String {
    format!("/servers/{}/invites", g.server_id)
}

pub fn members_path(g: &Guild) -> String {
    format!("/servers/{}/members", g.server_id)
}

pub fn member_path(g: &Guild, user: &TestUser) -> String {
    format!("/servers/{}/members/{}", g.server_id, user.id)
}

/// The server and its members as `viewer` sees them: what a refused write
/// must leave exactly as it was.
pub async fn server_snapshot(app: &TestApp, server_id: &str, viewer: &TestUser) -> Value {
    let (status, server) = app.get(&format!("/servers/{server_id}"), viewer).await;
    assert_eq!(status, StatusCode::OK, "{server}");
    let (status, members) = app
        .get(&format!("/servers/{server_id}/members?limit=100"), viewer)
        .await;
    assert_eq!(status, StatusCode::OK, "{members}");
    json!({"server": server, "members": members})
}

/// `username=role` for every member, in the list's order (by user id).
pub async fn roles(app: &TestApp, server_id: &str, viewer: &TestUser) -> Vec<String> {
    let (status, members) = app
        .get(&format!("/servers/{server_id}/members?limit=100"), viewer)
        .await;
    assert_eq!(status, StatusCode::OK, "{members}");
    members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{}={}",
                m["username"].as_str().unwrap(),
                m["role"].as_str().unwrap()
            )
        })
        .collect()
}

/// The values of `key` in a JSON list.
pub fn values_of(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|item| item[key].as_str().unwrap().to_string())
        .collect()
}

/// The ids of the servers `user` lists.
pub async fn server_ids(app: &TestApp, user: &TestUser) -> Vec<String> {
    let (status, list) = app.get("/servers?limit=100", user).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    values_of(&list, "id")
}

/// Creates an invite as `user` and returns its code.
pub async fn invite_code(app: &TestApp, g: &Guild, user: &TestUser, body: Value) -> String {
    let (status, invite) = app.post(&invites_path(g), user, body).await;
    assert_eq!(status, StatusCode::CREATED, "{invite}");
    invite["code"].as_str().unwrap().to_string()
}

pub async fn accept_invite(app: &TestApp, code: &str, user: &TestUser) -> (StatusCode, Value) {
    app.post(&format!("/invites/{code}/accept"), user, json!({}))
        .await
}

/// Bodies a JSON route refuses before looking at the fields: broken JSON
/// (including a lone surrogate or invalid UTF-8 in `field`) is 400, and
/// `valid` without a JSON content type is 415.
pub fn unreadable_bodies(
    field: &str,
    valid: &str,
) -> Vec<(Vec<u8>, Option<&'static str>, u16, &'static str)> {
    let mut invalid_utf8 = format!("{{\"{field}\": \"").into_bytes();
    invalid_utf8.extend_from_slice(b"\xff\xfe\"}");
    vec![
        (
            format!("{{\"{field}\": ").into_bytes(),
            JSON,
            400,
            "malformed_json",
        ),
        (b"".to_vec(), JSON, 400, "malformed_json"),
        (
            format!("{{\"{field}\": \"\\ud800\"}}").into_bytes(),
            JSON,
            400,
            "malformed_json",
        ),
        (invalid_utf8, JSON, 400, "malformed_json"),
        (
            valid.as_bytes().to_vec(),
            None,
            415,
            "unsupported_media_type",
        ),
        (
            valid.as_bytes().to_vec(),
            Some("text/plain"),
            415,
            "unsupported_media_type",
        ),
    ]
}
