//! `/auth`, sessions, cookies and CSRF.

use reqwest::header::{COOKIE, ORIGIN, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_error, spawn_app, spawn_app_with};

/// Logs in and returns (session cookie header value, csrf token).
async fn cookie_login(app: &TestApp, username: &str) -> (String, String) {
    let res = app
        .client
        .post(app.url("/auth/login"))
        .json(&json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookies: Vec<String> = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("guildhall_session="))
        .expect("session cookie");
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Lax"), "{session}");
    assert!(
        !session.contains("Secure"),
        "not secure unless configured: {session}"
    );
    let csrf_cookie = cookies
        .iter()
        .find(|c| c.starts_with("csrf_token="))
        .expect("csrf cookie");
    assert!(
        !csrf_cookie.contains("HttpOnly"),
        "scripts must read it: {csrf_cookie}"
    );
    let body: Value = res.json().await.unwrap();
    let csrf = body["csrf_token"].as_str().unwrap().to_string();
    assert!(csrf_cookie.starts_with(&format!("csrf_token={csrf}")));
    let pair = session.split(';').next().unwrap().to_string();
    (pair, csrf)
}

async fn cookie_post(
    app: &TestApp,
    cookie: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> (StatusCode, Value) {
    let mut req = app
        .client
        .post(app.url(path))
        .header(COOKIE, cookie)
        .json(&body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    (
        status,
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        },
    )
}

#[tokio::test]
async fn login_by_username_or_email_returns_user_and_token() {
    let app = spawn_app().await;
    app.call(
        Method::POST,
        "/users",
        None,
        Some(json!({"username": "alice", "password": PASSWORD, "email": "a@x.test"})),
    )
    .await;
    for body in [
        json!({"username": "ALICE", "password": PASSWORD}),
        json!({"email": "A@x.test", "password": PASSWORD}),
    ] {
        let (status, got) = app
            .call(Method::POST, "/auth/login", None, Some(body))
            .await;
        assert_eq!(status, StatusCode::OK, "{got}");
        assert_eq!(got["user"]["username"], "alice");
        assert_eq!(got["user"]["email"], "a@x.test");
        let token = got["token"].as_str().unwrap();
        assert!(token.len() >= 40);
        let (status, me) = app.call(Method::GET, "/auth/me", Some(token), None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["id"], got["user"]["id"]);
    }
    let got = app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_error(&got, 422, "invalid_field");
}

#[tokio::test]
async fn unknown_user_and_wrong_password_get_the_same_answer() {
    let app = spawn_app().await;
    app.user("alice").await;
    let wrong = app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": "alice", "password": "not the password"})),
        )
        .await;
    let unknown = app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": "nobody", "password": "not the password"})),
        )
        .await;
    assert_error(&wrong, 401, "unauthorized");
    assert_eq!(wrong, unknown);
}

#[tokio::test]
async fn each_login_is_a_new_session_and_logout_revokes_only_it() {
    let app = spawn_app().await;
    let first = app.user("alice").await;
    let second = app.login("alice").await;
    assert_ne!(first.token, second.token);
    let (status, _) = app
        .call(Method::POST, "/auth/logout", Some(&first.token), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(&app.get("/auth/me", &first).await, 401, "unauthorized");
    assert_eq!(app.get("/auth/me", &second).await.0, StatusCode::OK);
}

#[tokio::test]
async fn bad_bearer_tokens_are_refused() {
    let app = spawn_app().await;
    for header in [
        "Bearer nonsense",
        "Bearer ",
        "Basic abc",
        "bearer",
        "Token x",
    ] {
        let res = app
            .client
            .get(app.url("/auth/me"))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{header}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    assert_error(
        &app.call(Method::GET, "/auth/me", None, None).await,
        401,
        "unauthorized",
    );
}

#[tokio::test]
async fn expired_sessions_stop_working() {
    let app = spawn_app_with(|c| c.session_ttl_hours = 0).await;
    app.call(
        Method::POST,
        "/users",
        None,
        Some(json!({"username": "alice", "password": PASSWORD})),
    )
    .await;
    let user = app.login("alice").await;
    assert_error(&app.get("/auth/me", &user).await, 401, "unauthorized");
}

#[tokio::test]
async fn cookie_writes_need_the_csrf_header() {
    let app = spawn_app().await;
    app.user("alice").await;
    let (cookie, csrf) = cookie_login(&app, "alice").await;

    // Reads need no token.
    let res = app
        .client
        .get(app.url("/auth/me"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let got = cookie_post(&app, &cookie, "/servers", &[], json!({"name": "no csrf"})).await;
    assert_error(&got, 403, "csrf_failed");
    let got = cookie_post(
        &app,
        &cookie,
        "/servers",
        &[("x-csrf-token", "wrong")],
        json!({"name": "bad csrf"}),
    )
    .await;
    assert_error(&got, 403, "csrf_failed");
    let got = cookie_post(
        &app,
        &cookie,
        "/servers",
        &[
            ("x-csrf-token", &csrf),
            (ORIGIN.as_str(), "https://evil.example"),
        ],
        json!({"name": "cross site"}),
    )
    .await;
    assert_error(&got, 403, "origin_not_allowed");
    // Nothing was created by the refused requests.
    let res = app
        .client
        .get(app.url("/servers"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    let servers: Value = res.json().await.unwrap();
    assert_eq!(servers.as_array().unwrap().len(), 0);

    let own_origin = app.base.clone();
    let got = cookie_post(
        &app,
        &cookie,
        "/servers",
        &[("x-csrf-token", &csrf), (ORIGIN.as_str(), &own_origin)],
        json!({"name": "same origin"}),
    )
    .await;
    assert_eq!(got.0, StatusCode::CREATED, "{}", got.1);
    let got = cookie_post(
        &app,
        &cookie,
        "/servers",
        &[("x-csrf-token", &csrf)],
        json!({"name": "no origin"}),
    )
    .await;
    assert_eq!(got.0, StatusCode::CREATED, "{}", got.1);
}

#[tokio::test]
async fn configured_origins_are_allowed_and_others_refused() {
    let app = spawn_app_with(|c| c.allowed_origins = vec!["https://chat.example".into()]).await;
    app.user("alice").await;
    let (cookie, csrf) = cookie_login(&app, "alice").await;
    let ok = cookie_post(
        &app,
        &cookie,
        "/servers",
        &[("x-csrf-token", &csrf), ("origin", "https://chat.example")],
        json!({"name": "ok"}),
    )
    .await;
    assert_eq!(ok.0, StatusCode::CREATED);
    let own = app.base.clone();
    let refused = cookie_post(
        &app,
        &cookie,
        "/servers",
        &[("x-csrf-token", &csrf), ("origin", &own)],
        json!({"name": "x"}),
    )
    .await;
    assert_error(&refused, 403, "origin_not_allowed");
}

#[tokio::test]
async fn bearer_requests_need_no_csrf_token_even_cross_origin() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let res = app
        .client
        .post(app.url("/servers"))
        .bearer_auth(&alice.token)
        .header("origin", "https://elsewhere.example")
        .json(&json!({"name": "bot server"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn logout_by_cookie_clears_the_cookies() {
    let app = spawn_app().await;
    app.user("alice").await;
    let (cookie, csrf) = cookie_login(&app, "alice").await;
    let res = app
        .client
        .post(app.url("/auth/logout"))
        .header(COOKIE, &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let cleared: Vec<&str> = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(
        cleared
            .iter()
            .any(|c| c.starts_with("guildhall_session=;") && c.contains("Max-Age=0")),
        "{cleared:?}"
    );
    let res = app
        .client
        .get(app.url("/auth/me"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn secure_cookies_when_configured() {
    let app = spawn_app_with(|c| c.secure_cookies = true).await;
    app.user("alice").await;
    let res = app
        .client
        .post(app.url("/auth/login"))
        .json(&json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let all: Vec<&str> = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|c| c.contains("Secure")), "{all:?}");
}

#[tokio::test]
async fn login_attempts_are_rate_limited() {
    let app = spawn_app_with(|c| c.login_attempts_per_minute = 3).await;
    app.user("alice").await; // one attempt used by the helper's login
    let bad = json!({"username": "alice", "password": "wrong password"});
    for _ in 0..2 {
        let got = app
            .call(Method::POST, "/auth/login", None, Some(bad.clone()))
            .await;
        assert_error(&got, 401, "unauthorized");
    }
    let res = app
        .client
        .post(app.url("/auth/login"))
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    // Even the right password waits; another account does not.
    let right = json!({"username": "alice", "password": PASSWORD});
    assert_error(
        &app.call(Method::POST, "/auth/login", None, Some(right))
            .await,
        429,
        "rate_limited",
    );
    app.user("bob").await;
}

#[tokio::test]
async fn secure_cookies_take_the_host_prefix_and_only_it_is_read() {
    let app = spawn_app_with(|c| c.secure_cookies = true).await;
    app.user("alice").await;
    let res = app
        .client
        .post(app.url("/auth/login"))
        .json(&json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookies: Vec<String> = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    for cookie in &cookies {
        assert!(cookie.starts_with("__Host-"), "{cookie}");
        assert!(
            cookie.contains("Secure") && cookie.contains("Path=/"),
            "{cookie}"
        );
        assert!(!cookie.to_ascii_lowercase().contains("domain="), "{cookie}");
    }
    let body: Value = res.json().await.unwrap();
    let token = body["token"].as_str().unwrap();
    let me = |cookie: String| {
        app.client
            .get(app.url("/auth/me"))
            .header(COOKIE, cookie)
            .send()
    };
    let prefixed = me(format!("__Host-guildhall_session={token}"))
        .await
        .unwrap();
    assert_eq!(prefixed.status(), StatusCode::OK);
    // An unprefixed cookie (one a sibling subdomain could have planted)
    // is not read.
    let plain = me(format!("guildhall_session={token}")).await.unwrap();
    assert_eq!(plain.status(), StatusCode::UNAUTHORIZED);
}
