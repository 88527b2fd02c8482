//! Hardening: sessions a user can see and end, idle timeouts, REST rate
//! limits with their headers, and CORS.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_error, read_json, spawn_app, spawn_app_with};

#[tokio::test]
async fn users_list_and_end_their_own_sessions() {
    let app = spawn_app().await;
    let phone = app.user("alice").await;
    let laptop = app.login("alice").await;
    let bob = app.user("bob").await;

    let (status, list) = app.get("/auth/sessions", &laptop).await;
    assert_eq!(status, StatusCode::OK);
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list.iter().filter(|s| s["current"] == true).count(), 1);
    let text = serde_json::to_string(&list).unwrap();
    assert!(
        !text.contains(&phone.token) && !text.contains(&laptop.token),
        "tokens never listed"
    );
    let phone_session = list.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Bob cannot see or end Alice's sessions.
    let (_, bobs) = app.get("/auth/sessions", &bob).await;
    assert_eq!(bobs.as_array().unwrap().len(), 1);
    assert_error(
        &app.delete(&format!("/auth/sessions/{phone_session}"), &bob)
            .await,
        404,
        "not_found",
    );
    assert_eq!(app.get("/auth/me", &phone).await.0, StatusCode::OK);

    let (status, _) = app
        .delete(&format!("/auth/sessions/{phone_session}"), &laptop)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(&app.get("/auth/me", &phone).await, 401, "unauthorized");
    assert_eq!(app.get("/auth/me", &laptop).await.0, StatusCode::OK);
    assert_error(
        &app.delete(&format!("/auth/sessions/{phone_session}"), &laptop)
            .await,
        404,
        "not_found",
    );
}

#[tokio::test]
async fn each_login_gets_a_fresh_token() {
    let app = spawn_app().await;
    let first = app.user("alice").await;
    let tokens: Vec<String> = vec![
        first.token.clone(),
        app.login("alice").await.token,
        app.login("alice").await.token,
    ];
    let mut unique = tokens.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 3);
}

#[tokio::test]
async fn idle_sessions_end() {
    let app = spawn_app_with(|c| c.session_idle_timeout = Duration::from_secs(3600).into()).await;
    let alice = app.user("alice").await;
    assert_eq!(app.get("/auth/me", &alice).await.0, StatusCode::OK);
    // Two hours without use, as the database records it.
    let two_hours_ago = chrono_ms() - 2 * 3_600_000;
    let id = session_id(&app, &alice).await;
    app.state
        .store
        .touch_session(id, two_hours_ago)
        .await
        .unwrap();
    // The server keeps live sessions in memory as it last read them; the
    // clock was moved behind its back, so make it read the row again.
    let alice_id = guildhall::id::Snowflake(alice.id.parse().unwrap());
    app.state.sessions.forget_user(alice_id);
    assert_error(&app.get("/auth/me", &alice).await, 401, "unauthorized");
}

fn chrono_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

async fn session_id(app: &TestApp, user: &crate::helpers::TestUser) -> guildhall::id::Snowflake {
    let (_, list) = app.get("/auth/sessions", user).await;
    let id = list[0]["id"].as_str().unwrap().parse().unwrap();
    guildhall::id::Snowflake(id)
}

/// The four rate-limit headers of an answer.
fn limit_headers(res: &reqwest::Response) -> (u32, u32, f64, String) {
    let h = res.headers();
    let get = |name: &str| {
        h.get(name)
            .unwrap_or_else(|| panic!("missing {name}"))
            .to_str()
            .unwrap()
            .to_string()
    };
    (
        get("x-ratelimit-limit").parse().unwrap(),
        get("x-ratelimit-remaining").parse().unwrap(),
        get("x-ratelimit-reset-after").parse().unwrap(),
        get("x-ratelimit-bucket"),
    )
}

#[tokio::test]
async fn rate_limits_count_down_refuse_and_recover() {
    let app = spawn_app_with(|c| {
        c.rate_limits = true;
        c.rate_limit_reads_per_minute = 60;
    })
    .await;
    let alice = app.user("alice").await;
    let me = || {
        app.client
            .get(app.url("/auth/me"))
            .bearer_auth(&alice.token)
    };
    let res = me().send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (limit, remaining, reset, bucket) = limit_headers(&res);
    assert_eq!((limit, remaining, bucket.as_str()), (60, 59, "reads"));
    assert!(reset > 0.0 && reset <= 60.0);
    for _ in 0..59 {
        assert_eq!(me().send().await.unwrap().status(), StatusCode::OK);
    }
    let res = me().send().await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let (_, remaining, _, _) = limit_headers(&res);
    assert_eq!(remaining, 0);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    let (_, body) = read_json(res).await;
    assert_eq!(body["error"]["code"], "rate_limited");
    // Another caller has a bucket of its own.
    let bob = app.user("bob").await;
    assert_eq!(app.get("/auth/me", &bob).await.0, StatusCode::OK);
    // One request a second comes back.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(me().send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn sign_up_and_message_buckets_are_stricter_and_separate() {
    let app = spawn_app_with(|c| {
        c.rate_limits = true;
        c.rate_limit_auth_per_minute = 3;
        c.rate_limit_messages_per_minute = 2;
    })
    .await;
    let owner = app.user("owner").await; // sign-up and login: 2 of 3
    let third = app
        .call(
            Method::POST,
            "/users",
            None,
            Some(json!({"username": "second", "password": PASSWORD})),
        )
        .await;
    assert_eq!(third.0, StatusCode::CREATED);
    let refused = app
        .call(
            Method::POST,
            "/users",
            None,
            Some(json!({"username": "third", "password": PASSWORD})),
        )
        .await;
    assert_error(&refused, 429, "rate_limited");
    // The refused sign-up created nothing: the name is still free later.
    let server = app.server(&owner, "S").await; // a write, not a message
    let channel = app
        .general_channel(server["id"].as_str().unwrap(), &owner)
        .await;
    for i in 0..2 {
        app.message(&owner, &channel, &format!("m{i}")).await;
    }
    let res = app
        .client
        .post(app.url("/messages"))
        .bearer_auth(&owner.token)
        .json(&json!({"channel_id": channel, "content": "one too many"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limit_headers(&res).3, "messages");
    let (_, list) = app
        .get(&format!("/messages?channel_id={channel}"), &owner)
        .await;
    assert_eq!(
        list.as_array().unwrap().len(),
        2,
        "the refused message was not stored"
    );
}

#[tokio::test]
async fn cors_allows_only_configured_origins_with_credentials() {
    let app = spawn_app_with(|c| c.allowed_origins = vec!["https://chat.example".into()]).await;
    let preflight = |origin: &str| {
        app.client
            .request(Method::OPTIONS, app.url("/messages"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type, x-csrf-token",
            )
            .send()
    };
    let ok = preflight("https://chat.example").await.unwrap();
    assert!(ok.status().is_success(), "{}", ok.status());
    let h = ok.headers();
    assert_eq!(h["access-control-allow-origin"], "https://chat.example");
    assert_eq!(h["access-control-allow-credentials"], "true");
    let allowed = h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        allowed.contains("x-csrf-token") && allowed.contains("content-type"),
        "{allowed}"
    );

    let evil = preflight("https://evil.example").await.unwrap();
    assert!(evil.headers().get("access-control-allow-origin").is_none());
    // A simple cross-origin read from elsewhere gets no CORS grant either.
    let res = app
        .client
        .get(app.url("/openapi.json"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
    let res = app
        .client
        .get(app.url("/openapi.json"))
        .header("origin", "https://chat.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://chat.example"
    );
    let _: Value = res.json().await.unwrap();
}

/// Stored-XSS payloads in the style of OWASP's filter-evasion cheat sheet.
const XSS: &[&str] = &[
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//xss.example/x.js></SCRIPT>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<IMG SRC=JaVaScRiPt:alert('XSS')>",
    "<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
    "\"><img src=x onerror=alert(1)>",
    "<svg/onload=alert(1)>",
    "<BODY ONLOAD=alert('XSS')>",
    "<IFRAME SRC=\"javascript:alert('XSS');\"></IFRAME>",
    "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "%3Cscript%3Ealert(1)%3C/script%3E",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "';alert(String.fromCharCode(88,83,83))//",
    "<META HTTP-EQUIV=\"refresh\" CONTENT=\"0;url=javascript:alert(1);\">",
    "<STYLE>@import'http://xss.example/xss.css';</STYLE>",
    "<DIV STYLE=\"background-image: url(javascript:alert('XSS'))\">",
    "{{constructor.constructor('alert(1)')()}}",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "\u{FF1C}script\u{FF1E}alert(1)\u{FF1C}/script\u{FF1E}",
    "<img src=x onerror=\"&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058&#0000097&#0000108&#0000101&#0000114&#0000116&#0000040&#0000039&#0000088&#0000083&#0000083&#0000039&#0000041\">",
    "\u{202E}gnp.exe",
];

/// Asserts an answer is JSON with the headers that keep a browser from
/// running or sniffing it.
fn assert_inert(res: &reqwest::Response) {
    let h = res.headers();
    assert!(
        h["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(
        h["content-security-policy"],
        "default-src 'none'; frame-ancestors 'none'"
    );
}

#[tokio::test]
async fn stored_xss_payloads_are_kept_byte_for_byte_and_served_inert() {
    let app = spawn_app().await;
    let g = app.guild().await;
    for payload in XSS {
        let short = payload.chars().count() <= 32;
        let fits_100 = payload.chars().count() <= 100;
        // Message content: every payload.
        let message = app.message(&g.member, &g.channel_id, payload).await;
        let res = app
            .client
            .get(app.url(&format!("/messages/{}", message["id"].as_str().unwrap())))
            .bearer_auth(&g.owner.token)
            .send()
            .await
            .unwrap();
        assert_inert(&res);
        let (_, got) = read_json(res).await;
        assert_eq!(
            got["content"].as_str().unwrap().as_bytes(),
            payload.as_bytes()
        );
        // Channel topic (up to 1024) and name, server name (up to 100).
        let mut channel = json!({"server_id": g.server_id, "name": "x", "topic": payload});
        if fits_100 {
            channel["name"] = json!(payload);
        }
        let (status, created) = app.post("/channels", &g.admin, channel.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{payload}: {created}");
        let (_, read) = app
            .get(
                &format!("/channels/{}", created["id"].as_str().unwrap()),
                &g.member,
            )
            .await;
        assert_eq!(read["topic"], channel["topic"]);
        assert_eq!(read["name"], channel["name"]);
        if fits_100 {
            let (status, _) = app
                .put(
                    &format!("/servers/{}", g.server_id),
                    &g.owner,
                    json!({"name": payload}),
                )
                .await;
            assert_eq!(status, StatusCode::OK);
            let (_, server) = app
                .get(&format!("/servers/{}", g.server_id), &g.member)
                .await;
            assert_eq!(server["name"].as_str().unwrap(), *payload);
        }
        // Display name (up to 32).
        if short {
            let (status, _) = app
                .put(
                    &format!("/users/{}", g.member.id),
                    &g.member,
                    json!({"display_name": payload}),
                )
                .await;
            assert_eq!(status, StatusCode::OK);
            let (_, user) = app
                .get(&format!("/users/{}", g.member.id), &g.outsider)
                .await;
            assert_eq!(user["display_name"].as_str().unwrap(), *payload);
        }
    }
}

#[tokio::test]
async fn quantity_limits_are_enforced() {
    let app = spawn_app_with(|c| {
        c.max_servers_per_user = 2;
        c.max_channels_per_server = 3; // `general` plus two
    })
    .await;
    let alice = app.user("alice").await;
    let first = app.server(&alice, "one").await;
    app.server(&alice, "two").await;
    let got = app.post("/servers", &alice, json!({"name": "three"})).await;
    assert_error(&got, 403, "limit_reached");
    let (_, servers) = app.get("/servers", &alice).await;
    assert_eq!(servers.as_array().unwrap().len(), 2);
    // Joining counts too.
    let bob = app.user("bob").await;
    app.server(&bob, "b1").await;
    app.server(&bob, "b2").await;
    let (_, invite) = app
        .post(
            &format!("/servers/{}/invites", first["id"].as_str().unwrap()),
            &alice,
            json!({}),
        )
        .await;
    let got = app
        .post(
            &format!("/invites/{}/accept", invite["code"].as_str().unwrap()),
            &bob,
            json!({}),
        )
        .await;
    assert_error(&got, 403, "limit_reached");

    let server_id = first["id"].as_str().unwrap();
    for name in ["a", "b"] {
        let (status, _) = app
            .post(
                "/channels",
                &alice,
                json!({"server_id": server_id, "name": name}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let got = app
        .post(
            "/channels",
            &alice,
            json!({"server_id": server_id, "name": "c"}),
        )
        .await;
    assert_error(&got, 403, "limit_reached");
    let (_, channels) = app
        .get(&format!("/channels?server_id={server_id}"), &alice)
        .await;
    assert_eq!(channels.as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn error_answers_never_reflect_input_or_secrets() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let probe = "%3Cscript%3Eprobe";
    let res = app
        .client
        .get(app.url(&format!("/users/{probe}")))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_inert(&res);
    let (status, body) = read_json(res).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!body.to_string().contains("<script>"), "{body}");
    // Nor is a value of the wrong type or an unknown enum value.
    let server = app.server(&alice, "S").await;
    let channel = app
        .general_channel(server["id"].as_str().unwrap(), &alice)
        .await;
    let got = app
        .post(
            "/messages",
            &alice,
            json!({"channel_id": channel, "content": ["<b>echo</b>"]}),
        )
        .await;
    assert_error(&got, 422, "invalid_field");
    let got2 = app
        .post(
            "/friendlists",
            &alice,
            json!({"friend_id": alice.id, "status": "<b>echo</b>"}),
        )
        .await;
    assert_error(&got2, 422, "invalid_field");
    let got3 = app.get("/users?limit=%3Cb%3Eecho", &alice).await;
    assert_error(&got3, 422, "invalid_field");
    for body in [&got.1, &got2.1, &got3.1] {
        assert!(!body.to_string().contains("echo"), "{body}");
    }
    // A wrong password is not echoed, nor is the token of a bad bearer.
    let (_, body) = app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": "alice", "password": "hunter2-secret"})),
        )
        .await;
    assert!(!body.to_string().contains("hunter2"), "{body}");
    let res = app
        .client
        .get(app.url("/auth/me"))
        .bearer_auth("leaky-token-value")
        .send()
        .await
        .unwrap();
    let (_, body) = read_json(res).await;
    assert!(!body.to_string().contains("leaky"), "{body}");
}

/// The bucket each documented route spends in is stated where the route
/// is routed; this pins the rule so that no route is unlimited and none
/// moves to another bucket unnoticed: sign-up and login spend `auth`,
/// posting messages and reactions `messages`, other writes `writes`,
/// reads `reads`.
#[tokio::test]
async fn every_documented_route_spends_in_its_bucket() {
    let app = spawn_app_with(|c| c.rate_limits = true).await;
    let (_, doc) = read_json(
        app.client
            .get(app.url("/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            let expected = match (method.as_str(), path.as_str()) {
                ("post", "/users" | "/auth/login") => "auth",
                ("post", "/messages" | "/emojis") => "messages",
                ("get", _) => "reads",
                _ => "writes",
            };
            let concrete = path
                .replace("{id}", "1")
                .replace("{user_id}", "1")
                .replace("{code}", "x");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let res = app
                .client
                .request(method.clone(), app.url(&concrete))
                .send()
                .await
                .unwrap();
            // The probes are the exception: never limited (see ops.rs).
            if ["/healthz", "/readyz"].contains(&path.as_str()) {
                assert!(!res.headers().contains_key("x-ratelimit-bucket"), "{path}");
                continue;
            }
            let bucket = res
                .headers()
                .get("x-ratelimit-bucket")
                .unwrap_or_else(|| panic!("{method} {path} is not rate limited"));
            assert_eq!(bucket, expected, "{method} {path}");
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} operations documented");
}
