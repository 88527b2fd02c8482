//! Contract-wide behaviour: the OpenAPI document, headers on every answer,
//! JSON errors for unknown routes and bad bodies, and storage health.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{assert_error, spawn_app};

/// Every route the API promises, as (method, OpenAPI path).
const ROUTES: &[(&str, &str)] = &[
    ("get", "/users"),
    ("post", "/users"),
    ("get", "/users/{id}"),
    ("put", "/users/{id}"),
    ("delete", "/users/{id}"),
    ("get", "/servers"),
    ("post", "/servers"),
    ("get", "/servers/{id}"),
    ("put", "/servers/{id}"),
    ("delete", "/servers/{id}"),
    ("get", "/channels"),
    ("post", "/channels"),
    ("get", "/channels/{id}"),
    ("put", "/channels/{id}"),
    ("delete", "/channels/{id}"),
    ("get", "/messages"),
    ("post", "/messages"),
    ("get", "/messages/{id}"),
    ("put", "/messages/{id}"),
    ("delete", "/messages/{id}"),
    ("get", "/emojis"),
    ("post", "/emojis"),
    ("get", "/emojis/{id}"),
    ("put", "/emojis/{id}"),
    ("delete", "/emojis/{id}"),
    ("get", "/friendlists"),
    ("post", "/friendlists"),
    ("get", "/friendlists/{id}"),
    ("put", "/friendlists/{id}"),
    ("delete", "/friendlists/{id}"),
    ("post", "/auth/login"),
    ("post", "/auth/logout"),
    ("get", "/auth/me"),
    ("get", "/auth/sessions"),
    ("delete", "/auth/sessions/{id}"),
    ("post", "/servers/{id}/invites"),
    ("post", "/invites/{code}/accept"),
    ("get", "/servers/{id}/members"),
    ("put", "/servers/{id}/members/{user_id}"),
    ("delete", "/servers/{id}/members/{user_id}"),
];

/// The probes: documented too, but public and never rate limited (their
/// own tests are in `ops.rs`).
const PROBES: &[(&str, &str)] = &[("get", "/healthz"), ("get", "/readyz")];

#[tokio::test]
async fn openapi_document_lists_every_route_and_nothing_else() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let doc: Value = res.json().await.unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    let mut documented = Vec::new();
    for (path, item) in paths {
        for method in ["get", "post", "put", "delete", "patch"] {
            if let Some(op) = item.get(method) {
                documented.push((method.to_string(), path.clone()));
                assert!(
                    op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                    "{method} {path} has no responses"
                );
            }
        }
    }
    let mut expected: Vec<(String, String)> = ROUTES
        .iter()
        .chain(PROBES)
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    expected.sort();
    documented.sort();
    assert_eq!(documented, expected);
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert!(schemes.contains_key("bearer") && schemes.contains_key("session_cookie"));
}

#[tokio::test]
async fn every_documented_route_is_served() {
    // Anonymous calls: a served route answers 401 (or, for the two public
    // ones, a validation error), never the unknown-route 404.
    let app = spawn_app().await;
    for (method, path) in ROUTES {
        let concrete = path
            .replace("{id}", "1")
            .replace("{user_id}", "1")
            .replace("{code}", "abc");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let (status, body) = app
            .call(method.clone(), &concrete, None, Some(json!({})))
            .await;
        assert_ne!(
            body["error"]["message"], "unknown route",
            "{method} {concrete}"
        );
        assert!(
            [401, 422].contains(&status.as_u16()),
            "{method} {concrete}: {status} {body}"
        );
    }
}

#[tokio::test]
async fn docs_page_is_served_with_its_own_policy() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src"),
        "{csp}"
    );
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let html = res.text().await.unwrap();
    assert!(
        html.contains("/auth/login"),
        "the page embeds the API description"
    );
}

#[tokio::test]
async fn docs_page_loads_its_script_from_this_server_only() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/docs")).send().await.unwrap();
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    for part in csp.split(';') {
        assert!(
            !part.contains("https:") && !part.contains("http:") && !part.contains('.'),
            "the policy names another origin: {part}"
        );
    }
    let html = res.text().await.unwrap();
    assert!(!html.contains("https://"), "no third-party script or style");
    let start = html
        .find("/docs/scalar-api-reference-")
        .expect("the script");
    let path = &html[start..start + html[start..].find('"').unwrap()];
    assert!(path.ends_with(".js"), "{path}");
    let script = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    assert!(
        script.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(
        script.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let body = script.text().await.unwrap();
    assert!(
        body.len() > 100_000 && body.starts_with("(function"),
        "Scalar's bundle"
    );
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = spawn_app().await;
    let user = app.user("alice").await;
    let requests = [
        app.client.get(app.url("/auth/me")).bearer_auth(&user.token),
        app.client.get(app.url("/auth/me")),
        app.client.get(app.url("/no/such/route")),
        app.client.get(app.url("/openapi.json")),
        app.client.post(app.url("/users")).body("not json"),
    ];
    for req in requests {
        let res = req.send().await.unwrap();
        let h = res.headers();
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(
            h["content-security-policy"],
            "default-src 'none'; frame-ancestors 'none'"
        );
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert!(
            h["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        assert!(h.contains_key("x-request-id"));
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let app = spawn_app().await;
    let got = app.call(Method::GET, "/nope", None, None).await;
    assert_error(&got, 404, "not_found");
    let got = app.call(Method::PATCH, "/users", None, None).await;
    assert_error(&got, 405, "method_not_allowed");
    // Input is never reflected into error pages.
    let got = app
        .call(
            Method::GET,
            "/%3Cscript%3Ealert(1)%3C/script%3E",
            None,
            None,
        )
        .await;
    assert!(!got.1.to_string().contains("script"), "{}", got.1);
}

#[tokio::test]
async fn bodies_over_64_kib_are_refused_with_413() {
    let app = spawn_app().await;
    let user = app.user("alice").await;
    let server = app.server(&user, "S").await;
    let channel = app
        .general_channel(server["id"].as_str().unwrap(), &user)
        .await;
    let huge = "x".repeat(70 * 1024);
    let got = app
        .post(
            "/messages",
            &user,
            json!({"channel_id": channel, "content": huge}),
        )
        .await;
    assert_error(&got, 413, "payload_too_large");
    let got = app
        .call(
            Method::POST,
            "/users",
            None,
            Some(json!({"username": "bob", "password": huge})),
        )
        .await;
    assert_error(&got, 413, "payload_too_large");
    let (_, list) = app
        .get(&format!("/messages?channel_id={channel}"), &user)
        .await;
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn malformed_bodies_get_clear_errors() {
    let app = spawn_app().await;
    let cases: [(&str, Option<&str>, u16, &str); 6] = [
        (
            "{\"username\": ",
            Some("application/json"),
            400,
            "malformed_json",
        ),
        ("", Some("application/json"), 400, "malformed_json"),
        ("[1, 2]", Some("application/json"), 422, "invalid_field"),
        (
            "{\"username\": \"\\ud800\", \"password\": \"xxxxxxxxxx\"}",
            Some("application/json"),
            400,
            "malformed_json",
        ),
        (
            "{\"username\": \"bob\"}",
            Some("text/plain"),
            415,
            "unsupported_media_type",
        ),
        (
            "{\"username\": \"bob\"}",
            None,
            415,
            "unsupported_media_type",
        ),
    ];
    for (body, content_type, status, code) in cases {
        let mut req = app.client.post(app.url("/users")).body(body.to_string());
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let res = req.send().await.unwrap();
        let got = (res.status(), res.json::<Value>().await.unwrap());
        assert_error(&got, status, code);
    }
    // Deeply nested JSON is refused, not a crash.
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let res = app
        .client
        .post(app.url("/users"))
        .header("content-type", "application/json")
        .body(deep)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error());
    let user = app.user("still-up").await;
    assert_eq!(app.get("/auth/me", &user).await.0, StatusCode::OK);
}

#[tokio::test]
async fn ids_are_decimal_strings_that_grow_with_time() {
    let app = spawn_app().await;
    let a = app.user("first").await;
    let b = app.user("second").await;
    let a: u64 = a.id.parse().unwrap();
    let b: u64 = b.id.parse().unwrap();
    assert!(b > a);
}

#[tokio::test]
async fn concurrent_posts_are_all_stored_once() {
    let app = spawn_app().await;
    let user = app.user("alice").await;
    let server = app.server(&user, "S").await;
    let channel = app
        .general_channel(server["id"].as_str().unwrap(), &user)
        .await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let client = app.client.clone();
        let url = app.url("/messages");
        let token = user.token.clone();
        let channel = channel.clone();
        tasks.push(tokio::spawn(async move {
            let res = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"channel_id": channel, "content": format!("m{i}")}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::CREATED);
            res.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        }));
    }
    let mut acked = Vec::new();
    for t in tasks {
        acked.push(t.await.unwrap());
    }
    let mut stored = Vec::new();
    let mut before = String::new();
    loop {
        let path = if before.is_empty() {
            format!("/messages?channel_id={channel}&limit=100")
        } else {
            format!("/messages?channel_id={channel}&limit=100&before={before}")
        };
        let (_, page) = app.get(&path, &user).await;
        let page = page.as_array().unwrap().clone();
        if page.is_empty() {
            break;
        }
        before = page.last().unwrap()["id"].as_str().unwrap().to_string();
        stored.extend(
            page.into_iter()
                .map(|m| m["id"].as_str().unwrap().to_string()),
        );
    }
    acked.sort();
    stored.sort();
    assert_eq!(acked, stored);
}

#[tokio::test]
async fn sqlite_wal_stays_small_under_many_writes() {
    let app = spawn_app().await;
    let Some(db) = app.sqlite_path() else { return }; // SQLite only
    let user = app.user("alice").await;
    let server = app.server(&user, "S").await;
    let channel = app
        .general_channel(server["id"].as_str().unwrap(), &user)
        .await;
    let content = "y".repeat(3000);
    for _ in 0..5 {
        let mut tasks = Vec::new();
        for _ in 0..400 {
            let client = app.client.clone();
            let url = app.url("/messages");
            let token = user.token.clone();
            let body = json!({"channel_id": channel, "content": content});
            tasks.push(tokio::spawn(async move {
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
        for t in tasks {
            assert_eq!(t.await.unwrap(), StatusCode::CREATED);
        }
        // Reads between bursts, as clients do.
        assert_eq!(
            app.get(&format!("/messages?channel_id={channel}"), &user)
                .await
                .0,
            StatusCode::OK
        );
    }
    let wal = db.with_extension("db-wal");
    let wal_size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    let db_size = std::fs::metadata(&db).unwrap().len();
    // 2000 messages of 3 KB is ~6 MB. Checkpoints must have moved most of
    // it to the main file (a checkpoint cannot pass a live reader, so the
    // newest frames may still be in the WAL), and the WAL stays bounded:
    // the auto-checkpoint threshold (1000 pages, 4 MB) plus one group
    // commit (a burst of 400 is one ~1.3 MB transaction), never the whole
    // history.
    assert!(
        db_size > 3_000_000,
        "main database file only {db_size} bytes: WAL never checkpointed"
    );
    assert!(wal_size < 7_000_000, "WAL grew to {wal_size} bytes");
}

#[tokio::test]
async fn data_survives_a_graceful_restart() {
    let app = spawn_app().await;
    let user = app.user("alice").await;
    let server = app.server(&user, "Kept").await;
    let server_id = server["id"].as_str().unwrap().to_string();
    let channel = app.general_channel(&server_id, &user).await;
    let message = app.message(&user, &channel, "still here").await;
    let app = app.restart().await;
    // Sessions live in the database too: the same token still works.
    let (status, got) = app
        .get(
            &format!("/messages/{}", message["id"].as_str().unwrap()),
            &user,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["content"], "still here");
    let (_, servers) = app.get("/servers", &user).await;
    assert_eq!(servers[0]["id"], server_id.as_str());
}
