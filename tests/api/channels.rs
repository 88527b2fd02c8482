//! `/channels`: server channels and direct-message channels.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    Guild, TestApp, TestUser, assert_error, assert_item_routes_check_ids, assert_needs_json_body,
    block, spawn_app,
};

/// The ids of `GET /channels{query}` as `user` sees them, in order.
async fn channel_ids(app: &TestApp, user: &TestUser, query: &str) -> Vec<String> {
    let (status, body) = app.get(&format!("/channels{query}"), user).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

/// Asserts that the guild still has only its general channel, as `before`.
async fn assert_only_general_as_before(app: &TestApp, g: &Guild, before: &Value) {
    assert_eq!(
        channel_ids(app, &g.owner, "").await,
        [g.channel_id.as_str()]
    );
    let path = format!("/channels/{}", g.channel_id);
    assert_eq!(
        app.get(&path, &g.owner).await,
        (StatusCode::OK, before.clone())
    );
}

/// Creates a server channel as `user`; returns its JSON.
async fn create_channel(app: &TestApp, user: &TestUser, server_id: &str, name: &str) -> Value {
    let (status, body) = app
        .post(
            "/channels",
            user,
            json!({"server_id": server_id, "name": name}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

/// Opens (or finds) the DM between `user` and `other`; returns its JSON.
async fn open_dm(app: &TestApp, user: &TestUser, other: &TestUser) -> Value {
    let (status, body) = app
        .post("/channels", user, json!({"recipient_id": other.id}))
        .await;
    assert!(
        status == StatusCode::CREATED || status == StatusCode::OK,
        "{status}: {body}"
    );
    body
}

fn id_of(value: &Value) -> &str {
    value["id"].as_str().unwrap()
}

#[tokio::test]
async fn list_shows_the_channels_of_the_callers_servers_and_their_dms() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let random = create_channel(&app, &g.owner, &g.server_id, "random").await;
    let other_server = app.server(&g.outsider, "Elsewhere").await;
    let other_server_id = id_of(&other_server);
    let other_general = app.general_channel(other_server_id, &g.outsider).await;
    let dm = open_dm(&app, &g.member, &g.outsider).await;

    assert_eq!(
        channel_ids(&app, &g.member, "").await,
        [g.channel_id.as_str(), id_of(&random), id_of(&dm)]
    );
    assert_eq!(
        channel_ids(&app, &g.outsider, "").await,
        [other_general.as_str(), id_of(&dm)]
    );
    assert_eq!(
        channel_ids(&app, &g.admin, "").await,
        [g.channel_id.as_str(), id_of(&random)]
    );
    // The filter keeps one server's channels, and DMs out.
    assert_eq!(
        channel_ids(&app, &g.member, &format!("?server_id={}", g.server_id)).await,
        [g.channel_id.as_str(), id_of(&random)]
    );
    let (status, general) = app
        .get(&format!("/channels?server_id={}", g.server_id), &g.owner)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(general[0]["name"], "general");
    assert_eq!(general[0]["kind"], "text");
    assert_eq!(general[0]["server_id"], g.server_id.as_str());
    // A server the caller is not in, or that does not exist: 404.
    assert_error(
        &app.get(&format!("/channels?server_id={other_server_id}"), &g.member)
            .await,
        404,
        "not_found",
    );
    assert_error(
        &app.get("/channels?server_id=123456789", &g.member).await,
        404,
        "not_found",
    );
    let got = app.get("/channels?server_id=abc", &g.member).await;
    assert_error(&got, 422, "invalid_field");
    assert_eq!(got.1["error"]["field"], "server_id");
}

#[tokio::test]
async fn channel_list_pages_by_id() {
    let app = spawn_app().await;
    let g = app.guild().await;
    for name in ["one", "two", "three"] {
        create_channel(&app, &g.owner, &g.server_id, name).await;
    }
    let all = channel_ids(&app, &g.member, "").await;
    assert_eq!(all.len(), 4);
    let first = channel_ids(&app, &g.member, "?limit=2").await;
    assert_eq!(first, all[..2]);
    let second = channel_ids(&app, &g.member, &format!("?limit=2&after={}", first[1])).await;
    assert_eq!(second, all[2..]);
    let back = channel_ids(
        &app,
        &g.member,
        &format!("?server_id={}&limit=2&before={}", g.server_id, second[0]),
    )
    .await;
    assert_eq!(back, first);
    for query in ["?limit=0", "?limit=101", "?limit=x"] {
        let got = app.get(&format!("/channels{query}"), &g.member).await;
        assert_error(&got, 422, "invalid_field");
        assert_eq!(got.1["error"]["field"], "limit", "for {query}");
    }
}

#[tokio::test]
async fn owner_and_admin_create_server_channels() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let (status, created) = app
        .post(
            "/channels",
            &g.owner,
            json!({"server_id": g.server_id, "name": "announcements", "topic": "Read me\nfirst", "position": 3}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(id_of(&created).parse::<u64>().is_ok(), "{created}");
    assert_eq!(created["kind"], "text");
    assert_eq!(created["server_id"], g.server_id.as_str());
    assert_eq!(created["name"], "announcements");
    assert_eq!(created["topic"], "Read me\nfirst");
    assert_eq!(created["position"], 3);
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(created.get("recipients").is_none(), "{created}");
    // Members read it as it was created.
    let (status, read) = app
        .get(&format!("/channels/{}", id_of(&created)), &g.member)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read, created);

    // An admin may too; topic and position default.
    let by_admin = create_channel(&app, &g.admin, &g.server_id, "général 🎉").await;
    assert_eq!(by_admin["name"], "général 🎉");
    assert_eq!(by_admin["topic"], "");
    assert_eq!(by_admin["position"], 0);

    // The largest allowed values.
    let (status, edge) = app
        .post(
            "/channels",
            &g.owner,
            json!({"server_id": g.server_id, "name": "n".repeat(100), "topic": "t".repeat(1024), "position": 1_000_000}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{edge}");
    assert_eq!(edge["name"].as_str().unwrap().len(), 100);
    assert_eq!(edge["topic"].as_str().unwrap().len(), 1024);
    assert_eq!(edge["position"], 1_000_000);
    assert_eq!(
        channel_ids(&app, &g.member, &format!("?server_id={}", g.server_id))
            .await
            .len(),
        4
    );
}

#[tokio::test]
async fn member_cannot_create_channels_and_outsider_gets_404() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let body = json!({"server_id": g.server_id, "name": "mine"});
    let got = app.post("/channels", &g.member, body.clone()).await;
    assert_error(&got, 403, "missing_permission");
    let got = app.post("/channels", &g.outsider, body).await;
    assert_error(&got, 404, "not_found");
    let got = app
        .post(
            "/channels",
            &g.owner,
            json!({"server_id": "123456789", "name": "nowhere"}),
        )
        .await;
    assert_error(&got, 404, "not_found");
    // Nothing was created.
    assert_eq!(
        channel_ids(&app, &g.owner, "").await,
        [g.channel_id.as_str()]
    );
    assert!(channel_ids(&app, &g.outsider, "").await.is_empty());
}

#[tokio::test]
async fn create_channel_rejects_bad_fields_naming_them() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let s = g.server_id.as_str();
    let cases = [
        (json!({"server_id": s}), "name"),
        (json!({"server_id": s, "name": ""}), "name"),
        (json!({"server_id": s, "name": "   "}), "name"),
        (json!({"server_id": s, "name": "n".repeat(101)}), "name"),
        (json!({"server_id": s, "name": "two\nlines"}), "name"),
        (json!({"server_id": s, "name": "bell\u{7}"}), "name"),
        (json!({"server_id": s, "name": 5}), "name"),
        (
            json!({"server_id": s, "name": "ok", "topic": "t".repeat(1025)}),
            "topic",
        ),
        (
            json!({"server_id": s, "name": "ok", "topic": "nul\u{0}"}),
            "topic",
        ),
        (
            json!({"server_id": s, "name": "ok", "topic": ["x"]}),
            "topic",
        ),
        (
            json!({"server_id": s, "name": "ok", "position": -1}),
            "position",
        ),
        (
            json!({"server_id": s, "name": "ok", "position": 1_000_001}),
            "position",
        ),
        (
            json!({"server_id": s, "name": "ok", "position": "3"}),
            "position",
        ),
        (json!({"server_id": true, "name": "ok"}), "server_id"),
        (json!({"server_id": "abc", "name": "ok"}), "server_id"),
        (json!({"name": "ok"}), "server_id"),
        (
            json!({"server_id": s, "name": "ok", "recipient_id": g.member.id}),
            "recipient_id",
        ),
    ];
    for (body, field) in cases {
        let got = app.post("/channels", &g.owner, body.clone()).await;
        assert_error(&got, 422, "invalid_field");
        assert_eq!(got.1["error"]["field"], field, "for {body}");
    }
    // Nothing was created: no channel, and no DM with the member either.
    assert_eq!(
        channel_ids(&app, &g.owner, "").await,
        [g.channel_id.as_str()]
    );
    assert_eq!(
        channel_ids(&app, &g.member, "").await,
        [g.channel_id.as_str()]
    );
}

#[tokio::test]
async fn opening_a_dm_twice_returns_the_same_channel_from_either_side() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let (status, dm) = app
        .post("/channels", &alice, json!({"recipient_id": bob.id}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{dm}");
    assert_eq!(dm["kind"], "dm");
    assert_eq!(dm["server_id"], Value::Null);
    let mut recipients: Vec<&str> = dm["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    recipients.sort();
    let mut expected = [alice.id.as_str(), bob.id.as_str()];
    expected.sort();
    assert_eq!(recipients, expected);

    let again = app
        .post("/channels", &alice, json!({"recipient_id": bob.id}))
        .await;
    assert_eq!(again, (StatusCode::OK, dm.clone()));
    let from_bob = app
        .post("/channels", &bob, json!({"recipient_id": alice.id}))
        .await;
    assert_eq!(from_bob, (StatusCode::OK, dm.clone()));

    // One channel, seen by both.
    assert_eq!(channel_ids(&app, &alice, "").await, [id_of(&dm)]);
    assert_eq!(channel_ids(&app, &bob, "").await, [id_of(&dm)]);
    let read = app.get(&format!("/channels/{}", id_of(&dm)), &bob).await;
    assert_eq!(read, (StatusCode::OK, dm));
}

#[tokio::test]
async fn opening_the_same_dm_from_both_sides_at_once_makes_one_channel() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let (from_alice, from_bob) = tokio::join!(
        app.post("/channels", &alice, json!({"recipient_id": bob.id})),
        app.post("/channels", &bob, json!({"recipient_id": alice.id})),
    );
    let mut statuses = [from_alice.0, from_bob.0];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CREATED]);
    assert_eq!(from_alice.1, from_bob.1);
    assert_eq!(channel_ids(&app, &alice, "").await, [id_of(&from_alice.1)]);
    assert_eq!(channel_ids(&app, &bob, "").await, [id_of(&from_alice.1)]);
}

#[tokio::test]
async fn a_dm_is_readable_only_by_its_two_users() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let dm = open_dm(&app, &alice, &bob).await;
    let dm_id = id_of(&dm);
    let message = app.message(&alice, dm_id, "just between us").await;
    let message_id = id_of(&message);

    assert_error(
        &app.get(&format!("/channels/{dm_id}"), &carol).await,
        404,
        "not_found",
    );
    assert_error(
        &app.get(&format!("/messages?channel_id={dm_id}"), &carol)
            .await,
        404,
        "not_found",
    );
    assert_error(
        &app.get(&format!("/messages/{message_id}"), &carol).await,
        404,
        "not_found",
    );
    assert_error(
        &app.post(
            "/messages",
            &carol,
            json!({"channel_id": dm_id, "content": "let me in"}),
        )
        .await,
        404,
        "not_found",
    );
    assert_error(
        &app.put(
            &format!("/channels/{dm_id}"),
            &carol,
            json!({"name": "mine"}),
        )
        .await,
        404,
        "not_found",
    );
    assert_error(
        &app.delete(&format!("/channels/{dm_id}"), &carol).await,
        404,
        "not_found",
    );
    assert!(channel_ids(&app, &carol, "").await.is_empty());
    // The two still see the channel and its one message, unchanged.
    assert_eq!(
        app.get(&format!("/channels/{dm_id}"), &bob).await,
        (StatusCode::OK, dm.clone())
    );
    let (status, history) = app
        .get(&format!("/messages?channel_id={dm_id}"), &bob)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(history, json!([message]));
}

#[tokio::test]
async fn opening_a_dm_is_refused_when_either_side_blocked_the_other() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    block(&app, &alice, &bob).await;

    let got = app
        .post("/channels", &alice, json!({"recipient_id": bob.id}))
        .await;
    assert_error(&got, 403, "blocked");
    let got = app
        .post("/channels", &bob, json!({"recipient_id": alice.id}))
        .await;
    assert_error(&got, 403, "blocked");
    assert!(channel_ids(&app, &alice, "").await.is_empty());
    assert!(channel_ids(&app, &bob, "").await.is_empty());
}

#[tokio::test]
async fn a_dm_with_yourself_is_422_and_with_an_unknown_user_404() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let got = app
        .post("/channels", &alice, json!({"recipient_id": alice.id}))
        .await;
    assert_error(&got, 422, "invalid_field");
    assert_eq!(got.1["error"]["field"], "recipient_id");
    let got = app
        .post("/channels", &alice, json!({"recipient_id": "123456789"}))
        .await;
    assert_error(&got, 404, "not_found");
    let got = app
        .post("/channels", &alice, json!({"recipient_id": "bob"}))
        .await;
    assert_error(&got, 422, "invalid_field");
    assert_eq!(got.1["error"]["field"], "recipient_id");
    assert!(channel_ids(&app, &alice, "").await.is_empty());
}

#[tokio::test]
async fn members_read_a_channel_and_outsiders_get_404() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let path = format!("/channels/{}", g.channel_id);
    let (status, seen) = app.get(&path, &g.owner).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(seen["id"], g.channel_id.as_str());
    assert_eq!(seen["name"], "general");
    for user in [&g.admin, &g.member] {
        assert_eq!(app.get(&path, user).await, (StatusCode::OK, seen.clone()));
    }
    assert_error(&app.get(&path, &g.outsider).await, 404, "not_found");
}

#[tokio::test]
async fn admins_and_the_owner_change_a_channel() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let path = format!("/channels/{}", g.channel_id);
    let (status, changed) = app
        .put(&path, &g.admin, json!({"name": "lobby", "topic": "Say hi"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["id"], g.channel_id.as_str());
    assert_eq!(changed["server_id"], g.server_id.as_str());
    assert_eq!(changed["name"], "lobby");
    assert_eq!(changed["topic"], "Say hi");
    assert_eq!(changed["position"], 0);
    // Fields left out keep their value.
    let (status, moved) = app.put(&path, &g.owner, json!({"position": 7})).await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["name"], "lobby");
    assert_eq!(moved["topic"], "Say hi");
    assert_eq!(moved["position"], 7);
    // An empty topic clears it.
    let (_, cleared) = app.put(&path, &g.owner, json!({"topic": ""})).await;
    assert_eq!(cleared["topic"], "");
    assert_eq!(
        app.get(&path, &g.member).await,
        (StatusCode::OK, cleared.clone())
    );
}

#[tokio::test]
async fn update_channel_rejects_bad_fields_and_changes_nothing() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let path = format!("/channels/{}", g.channel_id);
    let (_, before) = app.get(&path, &g.owner).await;
    let cases = [
        (json!({"name": ""}), "name"),
        (json!({"name": " \t "}), "name"),
        (json!({"name": "n".repeat(101)}), "name"),
        (json!({"name": "a\nb"}), "name"),
        (json!({"name": 5}), "name"),
        (json!({"topic": "t".repeat(1025)}), "topic"),
        (json!({"topic": false}), "topic"),
        (json!({"position": -1}), "position"),
        (json!({"position": 1_000_001}), "position"),
        (json!({"position": 1.5}), "position"),
        // A valid field beside an invalid one is not applied either.
        (json!({"name": "renamed", "position": -5}), "position"),
        (json!({"name": "renamed", "topic": "\u{FFFF}"}), "topic"),
    ];
    for (body, field) in cases {
        let got = app.put(&path, &g.admin, body.clone()).await;
        assert_error(&got, 422, "invalid_field");
        assert_eq!(got.1["error"]["field"], field, "for {body}");
    }
    assert_eq!(app.get(&path, &g.owner).await, (StatusCode::OK, before));
}

#[tokio::test]
async fn dm_channels_cannot_be_renamed_or_deleted() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = open_dm(&app, &alice, &bob).await;
    let path = format!("/channels/{}", id_of(&dm));
    app.message(&bob, id_of(&dm), "hello").await;

    for user in [&alice, &bob] {
        let got = app.put(&path, user, json!({"name": "ours"})).await;
        assert_error(&got, 403, "missing_permission");
        let got = app.put(&path, user, json!({"topic": "ours"})).await;
        assert_error(&got, 403, "missing_permission");
        assert_error(&app.delete(&path, user).await, 403, "missing_permission");
    }
    assert_eq!(app.get(&path, &alice).await, (StatusCode::OK, dm.clone()));
    let (_, history) = app
        .get(&format!("/messages?channel_id={}", id_of(&dm)), &alice)
        .await;
    assert_eq!(history.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn deleting_a_channel_deletes_its_messages() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let doomed = create_channel(&app, &g.owner, &g.server_id, "doomed").await;
    let doomed_id = id_of(&doomed);
    let first = app.message(&g.member, doomed_id, "first").await;
    let (status, reply) = app
        .post(
            "/messages",
            &g.admin,
            json!({"channel_id": doomed_id, "content": "reply", "reply_to": first["id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    let (status, reaction) = app
        .post(
            "/emojis",
            &g.owner,
            json!({"message_id": first["id"], "emoji": "👍"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reaction}");
    let kept = app.message(&g.member, &g.channel_id, "elsewhere").await;

    let (status, body) = app
        .delete(&format!("/channels/{doomed_id}"), &g.admin)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(body, Value::Null);

    assert_error(
        &app.get(&format!("/channels/{doomed_id}"), &g.owner).await,
        404,
        "not_found",
    );
    assert_error(
        &app.get(&format!("/messages?channel_id={doomed_id}"), &g.owner)
            .await,
        404,
        "not_found",
    );
    for message in [&first, &reply] {
        assert_error(
            &app.get(&format!("/messages/{}", id_of(message)), &g.owner)
                .await,
            404,
            "not_found",
        );
    }
    assert_error(
        &app.get(&format!("/emojis/{}", id_of(&reaction)), &g.owner)
            .await,
        404,
        "not_found",
    );
    assert_error(
        &app.delete(&format!("/channels/{doomed_id}"), &g.owner)
            .await,
        404,
        "not_found",
    );
    // The rest of the server is untouched.
    assert_eq!(
        channel_ids(&app, &g.member, "").await,
        [g.channel_id.as_str()]
    );
    assert_eq!(
        app.get(&format!("/messages/{}", id_of(&kept)), &g.member)
            .await,
        (StatusCode::OK, kept.clone())
    );

    // The owner deletes channels too.
    let second = create_channel(&app, &g.admin, &g.server_id, "second").await;
    let (status, _) = app
        .delete(&format!("/channels/{}", id_of(&second)), &g.owner)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        channel_ids(&app, &g.member, "").await,
        [g.channel_id.as_str()]
    );
}

#[tokio::test]
async fn channel_writes_need_well_formed_json() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let path = format!("/channels/{}", g.channel_id);
    let (_, before) = app.get(&path, &g.owner).await;
    let create = json!({"server_id": g.server_id, "name": "fine"}).to_string();
    assert_needs_json_body(&app, &g.owner, Method::POST, "/channels", &create).await;
    assert_needs_json_body(&app, &g.owner, Method::PUT, &path, r#"{"name": "fine"}"#).await;
    assert_only_general_as_before(&app, &g, &before).await;
}

#[tokio::test]
async fn non_numeric_channel_ids_are_400_and_unknown_ones_404() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let path = format!("/channels/{}", g.channel_id);
    let (_, before) = app.get(&path, &g.owner).await;
    assert_item_routes_check_ids(&app, &g.owner, "/channels", json!({"name": "x"})).await;
    assert_only_general_as_before(&app, &g, &before).await;
}
