//! `/messages`: history and its pages, posting, replies, editing, deleting,
//! and who may do each.

use reqwest::header::{CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    Guild, TestApp, TestUser, assert_error, assert_item_routes_check_ids, assert_needs_json_body,
    block, spawn_app,
};

fn id_of(value: &Value) -> &str {
    value["id"].as_str().unwrap()
}

/// `GET /messages?{query}` as `user`, which must succeed.
async fn history(app: &TestApp, user: &TestUser, query: &str) -> Vec<Value> {
    let (status, body) = app.get(&format!("/messages?{query}"), user).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().unwrap().clone()
}

/// A channel's newest messages (the first page), as `user` reads them.
async fn channel_history(app: &TestApp, user: &TestUser, channel_id: &str) -> Vec<Value> {
    history(app, user, &format!("channel_id={channel_id}")).await
}

/// Posts `content` in reply to `parent` (any JSON value, to test bad ones).
async fn post_reply(
    app: &TestApp,
    user: &TestUser,
    channel_id: &str,
    content: &str,
    parent: &Value,
) -> (StatusCode, Value) {
    app.post(
        "/messages",
        user,
        json!({"channel_id": channel_id, "content": content, "reply_to": parent}),
    )
    .await
}

/// The ids of a page of messages, in the order given.
fn ids(messages: &[Value]) -> Vec<String> {
    messages.iter().map(|m| id_of(m).to_string()).collect()
}

#[track_caller]
fn assert_newest_first(page: &[String]) {
    let numbers: Vec<u64> = page.iter().map(|id| id.parse().unwrap()).collect();
    assert!(
        numbers.windows(2).all(|w| w[0] > w[1]),
        "not newest first: {page:?}"
    );
}

/// Asserts a 422 `invalid_field` about `field`.
#[track_caller]
fn assert_invalid(got: &(StatusCode, Value), field: &str) {
    assert_error(got, 422, "invalid_field");
    assert_eq!(got.1["error"]["field"], field, "body: {}", got.1);
}

/// A guild with a second plain member.
async fn guild_with_two_members(app: &TestApp) -> (Guild, TestUser) {
    let g = app.guild().await;
    let second = app.user("member2").await;
    app.join(&g.server_id, &g.owner, &second, "member").await;
    (g, second)
}

/// Opens the DM between two users; returns its id.
async fn open_dm(app: &TestApp, user: &TestUser, other: &TestUser) -> String {
    let (status, dm) = app
        .post("/channels", user, json!({"recipient_id": other.id}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{dm}");
    id_of(&dm).to_string()
}

async fn react(app: &TestApp, user: &TestUser, message_id: &str, emoji: &str) {
    let (status, body) = app
        .post(
            "/emojis",
            user,
            json!({"message_id": message_id, "emoji": emoji}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn a_posted_message_has_the_documented_shape() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let (status, message) = app
        .post(
            "/messages",
            &g.member,
            json!({"channel_id": g.channel_id, "content": "hello"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    let mut keys: Vec<&str> = message
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "author",
            "author_id",
            "channel_id",
            "content",
            "created_at",
            "edited_at",
            "id",
            "reactions",
            "reply_to"
        ]
    );
    assert!(id_of(&message).parse::<u64>().is_ok());
    assert_eq!(message["channel_id"], g.channel_id.as_str());
    assert_eq!(message["author_id"], g.member.id.as_str());
    assert_eq!(
        message["author"],
        json!({"id": g.member.id, "username": "member", "display_name": "member", "deleted": false})
    );
    assert_eq!(message["content"], "hello");
    assert_eq!(message["reply_to"], Value::Null);
    assert!(message["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(message["edited_at"], Value::Null);
    assert_eq!(message["reactions"], json!([]));
    // Every member reads it as it was posted, alone and in the history.
    let path = format!("/messages/{}", id_of(&message));
    for user in [&g.owner, &g.admin, &g.member] {
        assert_eq!(
            app.get(&path, user).await,
            (StatusCode::OK, message.clone())
        );
        assert_eq!(
            channel_history(&app, user, &g.channel_id).await,
            std::slice::from_ref(&message)
        );
    }

    // Reactions are tallied per emoji, in first-use order; `me` is per reader.
    react(&app, &g.admin, id_of(&message), "👍").await;
    react(&app, &g.member, id_of(&message), "👍").await;
    react(&app, &g.member, id_of(&message), "🎉").await;
    for (user, me_thumb, me_party) in [
        (&g.member, true, true),
        (&g.admin, true, false),
        (&g.owner, false, false),
    ] {
        let expected = json!([
            {"emoji": "👍", "count": 2, "me": me_thumb},
            {"emoji": "🎉", "count": 1, "me": me_party},
        ]);
        let (_, read) = app.get(&path, user).await;
        assert_eq!(read["reactions"], expected, "for {}", user.username);
        let listed = channel_history(&app, user, &g.channel_id).await;
        assert_eq!(listed[0]["reactions"], expected, "for {}", user.username);
    }
}

#[tokio::test]
async fn dm_participants_post_and_read_messages() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = open_dm(&app, &alice, &bob).await;
    let first = app.message(&alice, &dm, "hi bob").await;
    let second = app.message(&bob, &dm, "hi alice").await;
    assert_eq!(second["channel_id"], dm.as_str());
    assert_eq!(second["author"]["username"], "bob");
    for user in [&alice, &bob] {
        assert_eq!(
            channel_history(&app, user, &dm).await,
            [second.clone(), first.clone()]
        );
    }
}

#[tokio::test]
async fn history_is_newest_first_with_a_default_limit_of_50_and_at_most_100() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let mut posted = Vec::new();
    for i in 0..101 {
        let message = app
            .message(&g.member, &g.channel_id, &format!("#{i}"))
            .await;
        posted.push(id_of(&message).to_string());
    }
    let newest_first: Vec<String> = posted.iter().rev().cloned().collect();
    let channel = format!("channel_id={}", g.channel_id);

    let page = ids(&history(&app, &g.member, &channel).await);
    assert_eq!(page, newest_first[..50]);
    let page = ids(&history(&app, &g.member, &format!("{channel}&limit=100")).await);
    assert_eq!(page, newest_first[..100]);
    let page = ids(&history(&app, &g.member, &format!("{channel}&limit=1")).await);
    assert_eq!(page, newest_first[..1]);
    for limit in ["0", "101", "-1", "ten"] {
        let got = app
            .get(&format!("/messages?{channel}&limit={limit}"), &g.member)
            .await;
        assert_invalid(&got, "limit");
    }
}

#[tokio::test]
async fn paging_before_and_after_yields_every_message_exactly_once() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let mut posted = Vec::new();
    for i in 1..=7 {
        let message = app
            .message(&g.member, &g.channel_id, &format!("message {i}"))
            .await;
        posted.push(id_of(&message).to_string());
    }
    let newest_first: Vec<String> = posted.iter().rev().cloned().collect();
    let channel = format!("channel_id={}&limit=3", g.channel_id);

    // Backwards from the newest, `before` the last id of each page.
    let mut seen: Vec<String> = Vec::new();
    let mut sizes = Vec::new();
    let mut query = channel.clone();
    for _ in 0..10 {
        let page = ids(&history(&app, &g.member, &query).await);
        if page.is_empty() {
            break;
        }
        assert_newest_first(&page);
        sizes.push(page.len());
        query = format!("{channel}&before={}", page.last().unwrap());
        seen.extend(page);
    }
    assert_eq!(sizes, [3, 3, 1]);
    assert_eq!(seen, newest_first);

    // Forwards from the start, `after` the first (newest) id of each page:
    // each page holds the messages right after the cursor, newest first.
    let mut seen: Vec<String> = Vec::new();
    let mut sizes = Vec::new();
    let mut cursor = "0".to_string();
    for _ in 0..10 {
        let page = ids(&history(&app, &g.member, &format!("{channel}&after={cursor}")).await);
        if page.is_empty() {
            break;
        }
        assert_newest_first(&page);
        sizes.push(page.len());
        cursor = page[0].clone();
        seen.splice(0..0, page);
    }
    assert_eq!(sizes, [3, 3, 1]);
    assert_eq!(seen, newest_first);

    // Right after a cursor in the middle, and between two cursors.
    let page = ids(&history(&app, &g.member, &format!("{channel}&after={}", posted[1])).await);
    assert_eq!(page, [posted[4].as_str(), &posted[3], &posted[2]]);
    let between = ids(&history(
        &app,
        &g.member,
        &format!(
            "channel_id={}&after={}&before={}",
            g.channel_id, posted[0], posted[6]
        ),
    )
    .await);
    assert_eq!(between, newest_first[1..6]);
}

#[tokio::test]
async fn listing_needs_a_valid_channel_id() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let c = g.channel_id.as_str();
    let cases = [
        ("?channel_id=".to_string(), "channel_id"),
        ("?channel_id=general".to_string(), "channel_id"),
        (format!("?channel_id={c}&before=abc"), "before"),
        (format!("?channel_id={c}&after=-1"), "after"),
    ];
    for (query, field) in cases {
        let got = app.get(&format!("/messages{query}"), &g.member).await;
        assert_invalid(&got, field);
    }
    assert_error(
        &app.get("/messages?channel_id=123456789", &g.member).await,
        404,
        "not_found",
    );
}

#[tokio::test]
async fn content_is_counted_in_characters_up_to_4000() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let accepted = [
        "é".repeat(4000),
        "😀".repeat(4000),
        // 4000 scalar values, though only 2000 user-perceived characters.
        "e\u{301}".repeat(2000),
        "a".to_string(),
    ];
    for content in &accepted {
        let message = app.message(&g.member, &g.channel_id, content).await;
        assert_eq!(message["content"].as_str().unwrap(), content);
    }
    let refused = [
        "a".repeat(4001),
        "é".repeat(4001),
        "😀".repeat(4001),
        "e\u{301}".repeat(2001),
    ];
    for content in refused {
        let got = app
            .post(
                "/messages",
                &g.member,
                json!({"channel_id": g.channel_id, "content": content}),
            )
            .await;
        assert_invalid(&got, "content");
    }
    let stored = channel_history(&app, &g.member, &g.channel_id).await;
    let contents: Vec<&str> = stored
        .iter()
        .rev()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, accepted);
}

#[tokio::test]
async fn content_is_stored_exactly_as_sent() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let payloads = [
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
        "javascript:alert(document.cookie)",
        "&lt;b&gt; &amp; &#x3C;",
        "'; DROP TABLE messages; --",
        "\\u0000 and \\n are just text",
        "👍🏽 🏳️‍🌈 👨‍👩‍👧‍👦 🇫🇷",
        "مرحبا بالعالم",
        "שלום \u{202E}txt.exe\u{202C} עולם",
        "e\u{301} n\u{303} Z\u{351}\u{36B}\u{343}\u{36A}",
        "𝕳𝖊𝖑𝖑𝖔 \u{200B}zero\u{200D}width",
        "line one\nline two\r\n\ttabbed\t\tend",
        "  leading and trailing spaces  ",
    ];
    let mut ids_posted = Vec::new();
    for payload in payloads {
        let message = app.message(&g.member, &g.channel_id, payload).await;
        assert_eq!(
            message["content"].as_str().unwrap().as_bytes(),
            payload.as_bytes()
        );
        let (status, read) = app
            .get(&format!("/messages/{}", id_of(&message)), &g.owner)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            read["content"].as_str().unwrap().as_bytes(),
            payload.as_bytes()
        );
        ids_posted.push(id_of(&message).to_string());
    }
    let stored = channel_history(&app, &g.admin, &g.channel_id).await;
    let contents: Vec<&[u8]> = stored
        .iter()
        .rev()
        .map(|m| m["content"].as_str().unwrap().as_bytes())
        .collect();
    let expected: Vec<&[u8]> = payloads.iter().map(|p| p.as_bytes()).collect();
    assert_eq!(contents, expected);

    // Edits are stored as sent too.
    let (status, edited) = app
        .put(
            &format!("/messages/{}", ids_posted[0]),
            &g.member,
            json!({"content": payloads[1]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["content"].as_str().unwrap(), payloads[1]);

    // The payload travels as JSON data that browsers must not sniff as HTML.
    let res = app
        .client
        .get(app.url(&format!("/messages/{}", ids_posted[1])))
        .bearer_auth(&g.member.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()[CONTENT_TYPE], "application/json");
    assert_eq!(res.headers()[X_CONTENT_TYPE_OPTIONS], "nosniff");
    let read: Value = res.json().await.unwrap();
    assert_eq!(read["content"], payloads[1]);
}

#[tokio::test]
async fn control_characters_noncharacters_and_blank_content_are_refused() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let message = app.message(&g.member, &g.channel_id, "original").await;
    let path = format!("/messages/{}", id_of(&message));
    let refused = [
        "",
        " ",
        "\n\t \r\n",
        "\u{A0}\u{3000}",
        "\u{0}",
        "nul\u{0}inside",
        "bell\u{7}",
        "back\u{8}space",
        "\u{1B}[2Jescape",
        "del\u{7F}",
        "c1\u{85}",
        "\u{FFFF}",
        "x\u{FFFE}",
        "\u{FDD0}",
        "\u{1FFFF}",
    ];
    for content in refused {
        let got = app
            .post(
                "/messages",
                &g.member,
                json!({"channel_id": g.channel_id, "content": content}),
            )
            .await;
        assert_invalid(&got, "content");
        let got = app.put(&path, &g.member, json!({"content": content})).await;
        assert_invalid(&got, "content");
    }
    assert_eq!(
        channel_history(&app, &g.member, &g.channel_id).await,
        [message]
    );
}

#[tokio::test]
async fn reply_to_must_be_a_message_of_the_same_channel() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let parent = app.message(&g.owner, &g.channel_id, "question?").await;
    let (status, reply) = post_reply(&app, &g.member, &g.channel_id, "answer", &parent["id"]).await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    assert_eq!(reply["reply_to"], parent["id"]);
    assert_eq!(
        app.get(&format!("/messages/{}", id_of(&reply)), &g.admin)
            .await,
        (StatusCode::OK, reply.clone())
    );

    let (status, other) = app
        .post(
            "/channels",
            &g.owner,
            json!({"server_id": g.server_id, "name": "other"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let elsewhere = app.message(&g.owner, id_of(&other), "elsewhere").await;
    for reply_to in [elsewhere["id"].clone(), json!("123456789")] {
        let got = post_reply(&app, &g.member, &g.channel_id, "bad reply", &reply_to).await;
        assert_invalid(&got, "reply_to");
    }
    assert_eq!(
        channel_history(&app, &g.member, &g.channel_id).await,
        [reply, parent]
    );
}

#[tokio::test]
async fn a_reply_outlives_its_parent() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let parent = app.message(&g.owner, &g.channel_id, "soon gone").await;
    let (_, reply) = post_reply(&app, &g.member, &g.channel_id, "re", &parent["id"]).await;
    let (status, _) = app
        .delete(&format!("/messages/{}", id_of(&parent)), &g.owner)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, read) = app
        .get(&format!("/messages/{}", id_of(&reply)), &g.member)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read, reply);
    // But a deleted message cannot be answered any more.
    let got = post_reply(&app, &g.member, &g.channel_id, "late", &parent["id"]).await;
    assert_invalid(&got, "reply_to");
}

#[tokio::test]
async fn only_the_author_edits_and_an_edit_sets_edited_at() {
    let app = spawn_app().await;
    let (g, second) = guild_with_two_members(&app).await;
    let message = app.message(&g.member, &g.channel_id, "first draft").await;
    let path = format!("/messages/{}", id_of(&message));

    let (status, edited) = app
        .put(&path, &g.member, json!({"content": "final version"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["id"], message["id"]);
    assert_eq!(edited["content"], "final version");
    assert_eq!(edited["created_at"], message["created_at"]);
    assert_eq!(edited["author"], message["author"]);
    let edited_at = edited["edited_at"].as_str().expect("edited_at is set");
    assert!(edited_at.ends_with('Z'));
    assert!(edited_at >= message["created_at"].as_str().unwrap());
    assert_eq!(
        app.get(&path, &g.owner).await,
        (StatusCode::OK, edited.clone())
    );

    // Nobody else, not even the owner.
    for user in [&g.owner, &g.admin, &second] {
        let got = app.put(&path, user, json!({"content": "not yours"})).await;
        assert_error(&got, 403, "missing_permission");
    }
    assert_eq!(app.get(&path, &g.member).await, (StatusCode::OK, edited));
}

#[tokio::test]
async fn authors_admins_and_the_owner_delete_messages() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let own = app.message(&g.member, &g.channel_id, "oops").await;
    let by_member = app.message(&g.member, &g.channel_id, "spam").await;
    let by_admin = app.message(&g.admin, &g.channel_id, "admin says").await;
    let by_owner = app.message(&g.owner, &g.channel_id, "owner says").await;
    let kept = app.message(&g.member, &g.channel_id, "keep me").await;
    for (message, deleter) in [
        (&own, &g.member),
        (&by_member, &g.admin),
        (&by_admin, &g.owner),
        (&by_owner, &g.admin),
    ] {
        let path = format!("/messages/{}", id_of(message));
        let (status, body) = app.delete(&path, deleter).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        assert_eq!(body, Value::Null);
        assert_error(&app.get(&path, &g.member).await, 404, "not_found");
        assert_error(&app.delete(&path, deleter).await, 404, "not_found");
        assert_error(
            &app.put(
                &path,
                &message_author(&g, message),
                json!({"content": "back"}),
            )
            .await,
            404,
            "not_found",
        );
    }
    assert_eq!(
        channel_history(&app, &g.member, &g.channel_id).await,
        [kept]
    );
}

/// Which of the guild's users wrote `message`.
fn message_author(g: &Guild, message: &Value) -> TestUser {
    [&g.owner, &g.admin, &g.member, &g.outsider]
        .into_iter()
        .find(|u| message["author_id"] == u.id.as_str())
        .cloned()
        .expect("author is one of the guild's users")
}

#[tokio::test]
async fn member_cannot_delete_others_message() {
    let app = spawn_app().await;
    let (g, second) = guild_with_two_members(&app).await;
    let by_member = app.message(&g.member, &g.channel_id, "mine").await;
    let by_admin = app.message(&g.admin, &g.channel_id, "admin's").await;
    let by_owner = app.message(&g.owner, &g.channel_id, "owner's").await;
    for message in [&by_member, &by_admin, &by_owner] {
        let got = app
            .delete(&format!("/messages/{}", id_of(message)), &second)
            .await;
        assert_error(&got, 403, "missing_permission");
    }
    let got = app
        .delete(&format!("/messages/{}", id_of(&by_admin)), &g.member)
        .await;
    assert_error(&got, 403, "missing_permission");
    assert_eq!(
        channel_history(&app, &g.owner, &g.channel_id).await,
        [by_owner, by_admin, by_member]
    );
}

#[tokio::test]
async fn kicked_member_can_no_longer_read_or_post() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let message = app
        .message(&g.member, &g.channel_id, "before the kick")
        .await;
    let path = format!("/messages/{}", id_of(&message));
    let (status, _) = app
        .delete(
            &format!("/servers/{}/members/{}", g.server_id, g.member.id),
            &g.owner,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let m = &g.member;
    let attempts = [
        app.get(&format!("/messages?channel_id={}", g.channel_id), m)
            .await,
        app.post(
            "/messages",
            m,
            json!({"channel_id": g.channel_id, "content": "still here?"}),
        )
        .await,
        app.get(&path, m).await,
        app.put(&path, m, json!({"content": "edited after the kick"}))
            .await,
        app.delete(&path, m).await,
        app.get(&format!("/channels/{}", g.channel_id), m).await,
    ];
    for got in &attempts {
        assert_error(got, 404, "not_found");
    }
    let (status, channels) = app.get("/channels", m).await;
    assert_eq!((status, channels), (StatusCode::OK, json!([])));
    // Their message stays, unchanged.
    assert_eq!(
        channel_history(&app, &g.owner, &g.channel_id).await,
        [message]
    );
}

#[tokio::test]
async fn blocking_in_a_dm_stops_posting_but_keeps_the_history() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = open_dm(&app, &alice, &bob).await;
    let from_alice = app.message(&alice, &dm, "hi").await;
    let from_bob = app.message(&bob, &dm, "hey").await;
    block(&app, &alice, &bob).await;

    for user in [&bob, &alice] {
        let got = app
            .post(
                "/messages",
                user,
                json!({"channel_id": dm, "content": "anyone there?"}),
            )
            .await;
        assert_error(&got, 403, "blocked");
    }
    let got = app
        .put(
            &format!("/messages/{}", id_of(&from_bob)),
            &bob,
            json!({"content": "changed my mind"}),
        )
        .await;
    assert_error(&got, 403, "blocked");

    // Both still read the history, unchanged.
    for user in [&alice, &bob] {
        assert_eq!(
            channel_history(&app, user, &dm).await,
            [from_bob.clone(), from_alice.clone()]
        );
        assert_eq!(
            app.get(&format!("/messages/{}", id_of(&from_alice)), user)
                .await,
            (StatusCode::OK, from_alice.clone())
        );
    }
}

#[tokio::test]
async fn message_writes_need_well_formed_json_of_the_right_types() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let message = app.message(&g.member, &g.channel_id, "original").await;
    let path = format!("/messages/{}", id_of(&message));
    let post = json!({"channel_id": g.channel_id, "content": "fine"}).to_string();
    assert_needs_json_body(&app, &g.member, Method::POST, "/messages", &post).await;
    assert_needs_json_body(
        &app,
        &g.member,
        Method::PUT,
        &path,
        r#"{"content": "fine"}"#,
    )
    .await;

    let c = g.channel_id.as_str();
    let post_cases = [
        (json!({"channel_id": c, "content": 5}), "content"),
        (json!({"channel_id": c, "content": null}), "content"),
        (json!({"channel_id": c}), "content"),
        (json!({"channel_id": true, "content": "x"}), "channel_id"),
        (json!({"channel_id": "abc", "content": "x"}), "channel_id"),
        (json!({"content": "x"}), "channel_id"),
        (
            json!({"channel_id": c, "content": "x", "reply_to": "abc"}),
            "reply_to",
        ),
        (
            json!({"channel_id": c, "content": "x", "reply_to": false}),
            "reply_to",
        ),
    ];
    for (body, field) in post_cases {
        let got = app.post("/messages", &g.member, body.clone()).await;
        assert_error(&got, 422, "invalid_field");
        assert_eq!(got.1["error"]["field"], field, "for {body}");
    }
    for (body, field) in [
        (json!({"content": 5}), "content"),
        (json!({"content": ["x"]}), "content"),
        (json!({}), "content"),
    ] {
        let got = app.put(&path, &g.member, body.clone()).await;
        assert_error(&got, 422, "invalid_field");
        assert_eq!(got.1["error"]["field"], field, "for {body}");
    }
    assert_eq!(
        channel_history(&app, &g.member, &g.channel_id).await,
        [message]
    );
}

#[tokio::test]
async fn non_numeric_message_ids_are_400_and_unknown_ones_404() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let message = app.message(&g.member, &g.channel_id, "hello").await;
    assert_item_routes_check_ids(&app, &g.member, "/messages", json!({"content": "x"})).await;
    let got = app
        .post(
            "/messages",
            &g.member,
            json!({"channel_id": "123456789", "content": "into the void"}),
        )
        .await;
    assert_error(&got, 404, "not_found");
    assert_eq!(
        channel_history(&app, &g.member, &g.channel_id).await,
        [message]
    );
}

#[tokio::test]
async fn without_a_channel_the_list_is_a_feed_of_every_readable_channel() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let (status, second) = app
        .post(
            "/channels",
            &g.owner,
            json!({"server_id": g.server_id, "name": "second"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let second = id_of(&second).to_string();
    let dm = open_dm(&app, &g.member, &g.admin).await;
    // Places the member cannot read: another server, a DM of others.
    let elsewhere = app.server(&g.outsider, "Elsewhere").await;
    let elsewhere = app.general_channel(id_of(&elsewhere), &g.outsider).await;
    let others_dm = open_dm(&app, &g.owner, &g.outsider).await;

    let mut readable = Vec::new();
    for (i, (user, channel)) in [
        (&g.owner, &g.channel_id),
        (&g.admin, &dm),
        (&g.owner, &second),
        (&g.outsider, &elsewhere),
        (&g.member, &g.channel_id),
        (&g.owner, &others_dm),
        (&g.admin, &second),
    ]
    .into_iter()
    .enumerate()
    {
        let message = app.message(user, channel, &format!("m{i}")).await;
        if channel != &elsewhere && channel != &others_dm {
            readable.push(id_of(&message).to_string());
        }
    }
    readable.reverse(); // newest first

    let feed = history(&app, &g.member, "").await;
    assert_eq!(
        feed.iter()
            .map(|m| id_of(m).to_string())
            .collect::<Vec<_>>(),
        readable
    );
    assert!(feed.iter().all(|m| m["author"]["username"].is_string()));

    // Paged like a channel's history: limit, before, after.
    let ids = |page: Vec<Value>| {
        page.iter()
            .map(|m| id_of(m).to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(history(&app, &g.member, "limit=2").await),
        readable[..2]
    );
    assert_eq!(
        ids(history(&app, &g.member, &format!("limit=2&before={}", readable[1])).await),
        readable[2..4]
    );
    assert_eq!(
        ids(history(&app, &g.member, &format!("limit=2&after={}", readable[3])).await),
        readable[1..3],
        "after= returns the messages right after the cursor, newest first"
    );

    // The outsider's feed holds their own places only.
    let theirs = ids(history(&app, &g.outsider, "").await);
    assert_eq!(theirs.len(), 2, "{theirs:?}");
    assert!(theirs.iter().all(|id| !readable.contains(id)));

    // A kicked member's feed loses the server at once; the DM stays.
    let (status, _) = app
        .delete(
            &format!("/servers/{}/members/{}", g.server_id, g.member.id),
            &g.owner,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let after_kick = history(&app, &g.member, "").await;
    assert_eq!(after_kick.len(), 1);
    assert_eq!(after_kick[0]["channel_id"], dm.as_str());

    // Bad paging is refused naming the parameter; no session, no feed.
    assert_invalid(&app.get("/messages?limit=0", &g.member).await, "limit");
    assert_invalid(&app.get("/messages?before=x", &g.member).await, "before");
    let anonymous = app.call(Method::GET, "/messages", None, None).await;
    assert_error(&anonymous, 401, "unauthorized");
}
