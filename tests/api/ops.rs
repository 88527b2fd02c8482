//! Operations: the liveness and readiness probes, the Prometheus metrics
//! (on the public port or their own) and the log formats.

use std::process::Stdio;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Executor;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStderr, Command};

use crate::helpers::{
    TestApp, assert_error, eventually, read_json, spawn_app, spawn_app_with, spawn_postgres_app,
};
use crate::socket_client::{SocketClient, WAIT};

/// `GET path` without credentials: status, `Retry-After` if any, JSON body.
async fn probe(app: &TestApp, path: &str) -> (StatusCode, Option<String>, Value) {
    let res = app.client.get(app.url(path)).send().await.unwrap();
    let retry_after = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let (status, body) = read_json(res).await;
    (status, retry_after, body)
}

/// The Prometheus text at `url`, after checking that it is served as such.
async fn scrape(client: &reqwest::Client, url: &str) -> String {
    let res = client.get(url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let content_type = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    res.text().await.unwrap()
}

/// The value of the series `name` whose labels include `labels`; `None`
/// when there is no such series.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' '))
        .find(|(series, _)| {
            let (series_name, series_labels) = series.split_once('{').unwrap_or((series, ""));
            series_name == name
                && labels
                    .iter()
                    .all(|(k, v)| series_labels.contains(&format!("{k}=\"{v}\"")))
        })
        .map(|(_, value)| value.parse().unwrap())
}

/// Scrapes until `name{labels}` has the value `want` (the fan-out and the
/// socket bookkeeping run beside the request that caused them).
async fn await_sample(app: &TestApp, name: &str, labels: &[(&str, &str)], want: f64) {
    eventually(|| async move {
        let text = scrape(&app.client, &app.url("/metrics")).await;
        match sample(&text, name, labels) {
            Some(got) if got == want => Ok(()),
            got => Err(format!(
                "{name} {labels:?}: want {want}, have {got:?}\n{text}"
            )),
        }
    })
    .await;
}

#[tokio::test]
async fn liveness_answers_ok_without_a_session() {
    let app = spawn_app().await;
    let (status, retry_after, body) = probe(&app, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(retry_after, None);
    assert_eq!(body, json!({"status": "ok"}));
}

#[tokio::test]
async fn readiness_is_ok_while_the_database_answers() {
    let app = spawn_app().await;
    let (status, retry_after, body) = probe(&app, "/readyz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(retry_after, None);
    assert_eq!(body, json!({"status": "ok", "checks": {"database": "ok"}}));
}

#[tokio::test]
async fn probes_and_metrics_are_never_rate_limited() {
    let app = spawn_app_with(|config| {
        config.rate_limits = true;
        config.rate_limit_reads_per_minute = 1;
    })
    .await;
    for _ in 0..5 {
        for path in ["/healthz", "/readyz", "/metrics"] {
            let res = app.client.get(app.url(path)).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            assert!(!res.headers().contains_key("x-ratelimit-bucket"), "{path}");
        }
    }
    // The budget is real: a limited read is refused after the first.
    let user = app.user("alice").await;
    assert_eq!(app.get("/auth/me", &user).await.0, StatusCode::OK);
    assert_error(&app.get("/auth/me", &user).await, 429, "rate_limited");
}

#[tokio::test]
async fn readiness_fails_but_liveness_holds_once_the_database_pool_is_closed() {
    let app = spawn_app().await;
    app.state.store.close().await;
    let (status, retry_after, body) = probe(&app, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(retry_after.as_deref(), Some("5"));
    assert_eq!(
        body,
        json!({"status": "unavailable", "checks": {"database": "error"}})
    );
    let (status, _, body) = probe(&app, "/healthz").await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));
}

#[tokio::test]
async fn readiness_fails_while_postgres_refuses_connections_and_recovers() {
    // PostgreSQL whatever the pass: an SQLite file cannot refuse connections.
    let app = spawn_postgres_app(|_| {}).await;
    let (admin_url, name) = app.postgres_admin().expect("a PostgreSQL test");
    assert_eq!(probe(&app, "/readyz").await.0, StatusCode::OK);
    let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
    // New connections refused first, then the server's own ended, so that
    // it cannot open a fresh one in between.
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"
        )))
        .await
        .unwrap();
    let backends = format!("FROM pg_stat_activity WHERE datname = '{name}'");
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "SELECT pg_terminate_backend(pid) {backends}"
        )))
        .await
        .unwrap();
    // Terminating only signals the backends: wait until they are gone, or
    // a ping could still reach one on its way out.
    let (admin, backends) = (&admin, &backends);
    eventually(|| async move {
        let sql = format!("SELECT count(*) {backends}");
        let left: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(admin)
            .await
            .unwrap();
        if left == 0 {
            Ok(())
        } else {
            Err(format!("{left} backends left"))
        }
    })
    .await;

    let (status, retry_after, body) = probe(&app, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(retry_after.as_deref(), Some("5"));
    assert_eq!(body["status"], "unavailable");
    assert!(
        ["error", "timeout"].contains(&body["checks"]["database"].as_str().unwrap()),
        "{body}"
    );
    assert_eq!(probe(&app, "/healthz").await.0, StatusCode::OK);

    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"
        )))
        .await
        .unwrap();
    admin.close().await;
    let app = &app;
    let body = eventually(|| async move {
        match probe(app, "/readyz").await {
            (StatusCode::OK, _, body) => Ok(body),
            (_, _, body) => Err(format!("still not ready: {body}")),
        }
    })
    .await;
    assert_eq!(body, json!({"status": "ok", "checks": {"database": "ok"}}));
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_never_by_raw_path() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    for id in [&bob.id, &bob.id, &alice.id] {
        let (status, body) = app.get(&format!("/users/{id}"), &alice).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_error(
        &app.call(Method::GET, "/no/such/route/42", None, None).await,
        404,
        "not_found",
    );
    let text = scrape(&app.client, &app.url("/metrics")).await;

    let users = [
        ("route", "/users/{id}"),
        ("method", "GET"),
        ("status", "200"),
    ];
    assert_eq!(
        sample(&text, "guildhall_http_requests_total", &users),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "guildhall_http_request_duration_seconds_count",
            &users
        ),
        Some(3.0)
    );
    assert!(
        sample(
            &text,
            "guildhall_http_request_duration_seconds_bucket",
            &users
        )
        .is_some(),
        "latency is a histogram with buckets"
    );
    let signups = [("route", "/users"), ("method", "POST"), ("status", "201")];
    assert_eq!(
        sample(&text, "guildhall_http_requests_total", &signups),
        Some(2.0)
    );
    let unmatched = [("route", "unmatched"), ("method", "GET"), ("status", "404")];
    assert_eq!(
        sample(&text, "guildhall_http_requests_total", &unmatched),
        Some(1.0)
    );
    for raw in [bob.id.as_str(), alice.id.as_str(), "/no/such/route"] {
        assert!(!text.contains(raw), "a raw path became a label: {raw}");
    }
    assert!(
        text.contains("# TYPE guildhall_http_requests_total counter"),
        "{text}"
    );
    // The pools are sampled as the metrics are rendered.
    let pool = if app.sqlite_path().is_some() {
        "sqlite_read"
    } else {
        "postgres"
    };
    let open = sample(&text, "guildhall_db_pool_connections", &[("pool", pool)]);
    assert!(open.is_some_and(|n| n >= 1.0), "{text}");
    assert!(
        sample(
            &text,
            "guildhall_db_pool_idle_connections",
            &[("pool", pool)]
        )
        .is_some()
    );
}

#[tokio::test]
async fn metrics_follow_sockets_group_commits_and_the_fanout() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let server = app.server(&alice, "Ops").await;
    let channel = app
        .general_channel(server["id"].as_str().unwrap(), &alice)
        .await;
    await_sample(&app, "guildhall_sockets_connected", &[], 0.0).await;

    let mut socket = SocketClient::with_token(&app, &alice.token).await;
    socket.expect("ready").await;
    await_sample(&app, "guildhall_sockets_connected", &[], 1.0).await;

    for i in 0..3 {
        app.message(&alice, &channel, &format!("m{i}")).await;
        socket.expect("message_create").await;
    }
    let text = scrape(&app.client, &app.url("/metrics")).await;
    // Posted one at a time: three batches of one.
    assert_eq!(
        sample(&text, "guildhall_message_batch_size_count", &[]),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "guildhall_message_batch_size_sum", &[]),
        Some(3.0)
    );
    assert_eq!(
        sample(
            &text,
            "guildhall_message_commit_duration_seconds_count",
            &[]
        ),
        Some(3.0)
    );
    await_sample(
        &app,
        "guildhall_fanout_events_total",
        &[("event", "message_create")],
        3.0,
    )
    .await;
    let text = scrape(&app.client, &app.url("/metrics")).await;
    assert_eq!(
        sample(
            &text,
            "guildhall_fanout_sockets_dropped_total",
            &[("reason", "send_queue_full")]
        ),
        Some(0.0)
    );

    drop(socket);
    await_sample(&app, "guildhall_sockets_connected", &[], 0.0).await;
}

#[tokio::test]
async fn metrics_listen_serves_metrics_on_its_own_port_only() {
    let app = spawn_app_with(|config| {
        config.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let metrics_base = app.metrics_base.clone().expect("a metrics listener");
    assert_ne!(metrics_base, app.base);
    assert_eq!(probe(&app, "/healthz").await.0, StatusCode::OK);

    let text = scrape(&app.client, &format!("{metrics_base}/metrics")).await;
    let healthz = [("route", "/healthz"), ("method", "GET"), ("status", "200")];
    assert_eq!(
        sample(&text, "guildhall_http_requests_total", &healthz),
        Some(1.0),
        "{text}"
    );
    assert_error(
        &app.call(Method::GET, "/metrics", None, None).await,
        404,
        "not_found",
    );
    // The metrics port serves nothing else.
    let res = app
        .client
        .get(format!("{metrics_base}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

/// The real binary, started with a fresh SQLite file and `args`, its
/// stderr (where logs go) read line by line.
struct Binary {
    base: String,
    lines: Lines<BufReader<ChildStderr>>,
    /// Every line read so far.
    seen: Vec<String>,
    _child: Child,
    _dir: tempfile::TempDir,
}

impl Binary {
    async fn start(args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database = format!("sqlite://{}", dir.path().join("guildhall.db").display());
        let mut child = Command::new(env!("CARGO_BIN_EXE_guildhall"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                &database,
            ])
            .args(args)
            // tower-http's events inside each request's span: one line as
            // it starts, one as it ends.
            .env("RUST_LOG", "guildhall=info,tower_http=debug")
            .env_remove("GUILDHALL_LOG_FORMAT")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut binary = Self {
            base: String::new(),
            lines: BufReader::new(stderr).lines(),
            seen: Vec::new(),
            _child: child,
            _dir: dir,
        };
        let line = binary.line_with("guildhall listening on http://").await;
        let at = line.find("http://").unwrap();
        let base: String = line[at..]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '"')
            .collect();
        binary.base = base;
        binary
    }

    /// The next line that contains `needle`.
    async fn line_with(&mut self, needle: &str) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let line = tokio::time::timeout(left, self.lines.next_line())
                .await
                .unwrap_or_else(|_| panic!("no line with {needle:?} in:\n{}", self.seen.join("\n")))
                .unwrap()
                .unwrap_or_else(|| panic!("the server exited:\n{}", self.seen.join("\n")));
            self.seen.push(line.clone());
            if line.contains(needle) {
                return line;
            }
        }
    }

    /// Makes a request; returns the request id its answer carries.
    async fn request_id(&self) -> String {
        let res = reqwest::get(format!("{}/healthz", self.base))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.headers()["x-request-id"].to_str().unwrap().to_string()
    }
}

#[tokio::test]
async fn json_logs_are_json_lines_that_carry_the_request_id() {
    let mut server = Binary::start(&["--log-format", "json"]).await;
    let id = server.request_id().await;
    let line = server.line_with(&id).await;
    let event: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["span"]["request_id"], id.as_str(), "{line}");
    assert_eq!(event["span"]["uri"], "/healthz", "{line}");
    for line in &server.seen {
        let event: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(
            event["level"].is_string() && event["fields"].is_object(),
            "{line}"
        );
    }
}

#[tokio::test]
async fn text_logs_carry_the_request_id_and_no_colour_codes_off_a_terminal() {
    let mut server = Binary::start(&[]).await;
    let id = server.request_id().await;
    let line = server.line_with(&id).await;
    assert!(line.contains(&format!("request_id={id}")), "{line}");
    for line in &server.seen {
        assert!(!line.contains('\u{1b}'), "an escape code: {line:?}");
        assert!(!line.starts_with('{'), "text, not JSON: {line}");
    }
}
