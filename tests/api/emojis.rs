//! `/emojis`: emoji reactions on messages, and their tallies in the
//! message JSON.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, assert_error, send_raw, spawn_app};
use crate::socket_client::SocketClient;

fn id(value: &Value) -> &str {
    value["id"].as_str().expect("an id")
}

/// Reacts and returns the reaction, asserting 201.
async fn react(app: &TestApp, user: &TestUser, message_id: &str, emoji: &str) -> Value {
    let (status, body) = app
        .post(
            "/emojis",
            user,
            json!({"message_id": message_id, "emoji": emoji}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "reacting {emoji}: {body}");
    body
}

/// The reactions on a message as `user` lists them (first page).
async fn reactions_on(app: &TestApp, user: &TestUser, message_id: &str) -> Value {
    let (status, body) = app
        .get(&format!("/emojis?message_id={message_id}"), user)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.is_array(), "{body}");
    body
}

/// The `reactions` tallies of a message, as `user` sees it.
async fn tallies(app: &TestApp, user: &TestUser, message_id: &str) -> Value {
    let (status, body) = app.get(&format!("/messages/{message_id}"), user).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["reactions"].clone()
}

#[tokio::test]
async fn reacting_returns_the_reaction_and_it_can_be_read_back() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let message = app.message(&g.owner, &g.channel_id, "hello").await;
    let reaction = react(&app, &g.member, id(&message), "👍").await;
    assert!(id(&reaction).parse::<u64>().is_ok(), "{reaction}");
    assert_eq!(reaction["message_id"], message["id"]);
    assert_eq!(reaction["channel_id"], g.channel_id.as_str());
    assert_eq!(reaction["user_id"], g.member.id.as_str());
    assert_eq!(reaction["emoji"], "👍");
    assert!(
        reaction["created_at"].as_str().unwrap().ends_with('Z'),
        "{reaction}"
    );
    // Anyone who reads the channel reads the reaction, and finds it listed.
    for viewer in [&g.owner, &g.admin, &g.member] {
        let (status, body) = app.get(&format!("/emojis/{}", id(&reaction)), viewer).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, reaction);
        assert_eq!(
            reactions_on(&app, viewer, id(&message)).await,
            json!([reaction])
        );
    }
}

#[tokio::test]
async fn unicode_emojis_are_accepted() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let message = app.message(&g.owner, &g.channel_id, "react to me").await;
    let accepted = [
        "👍",
        "❤️",
        "❤", // without the variation selector
        "👍🏽",
        "🏳️‍🌈",
        "👨‍👩‍👧",
    ];
    for emoji in accepted {
        let reaction = react(&app, &g.member, id(&message), emoji).await;
        assert_eq!(reaction["emoji"], emoji, "stored as sent");
    }
    let listed: Vec<Value> = reactions_on(&app, &g.owner, id(&message))
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["emoji"].clone())
        .collect();
    assert_eq!(listed, accepted.map(Value::from), "oldest first");
}

#[tokio::test]
async fn anything_but_one_emoji_is_refused_naming_the_field() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let message = app.message(&g.owner, &g.channel_id, "hello").await;
    let message_id = id(&message);
    let too_long = format!(":{}:", "a".repeat(33));
    let cases = [
        (json!({"message_id": message_id, "emoji": "👍👍"}), "emoji"),
        (json!({"message_id": message_id, "emoji": "👍❤️"}), "emoji"),
        (json!({"message_id": message_id, "emoji": "👍 "}), "emoji"),
        (
            json!({"message_id": message_id, "emoji": "thumbs up"}),
            "emoji",
        ),
        (json!({"message_id": message_id, "emoji": "a"}), "emoji"),
        (json!({"message_id": message_id, "emoji": ":a:"}), "emoji"),
        // Custom emojis, until servers can have their own.
        (
            json!({"message_id": message_id, "emoji": ":party_parrot:"}),
            "emoji",
        ),
        (json!({"message_id": message_id, "emoji": ":ab:"}), "emoji"),
        (json!({"message_id": message_id, "emoji": "::"}), "emoji"),
        (
            json!({"message_id": message_id, "emoji": too_long}),
            "emoji",
        ),
        (
            json!({"message_id": message_id, "emoji": ":bad name:"}),
            "emoji",
        ),
        (json!({"message_id": message_id, "emoji": ":x-y:"}), "emoji"),
        (json!({"message_id": message_id, "emoji": "party"}), "emoji"),
        (json!({"message_id": message_id, "emoji": ""}), "emoji"),
        (json!({"message_id": message_id, "emoji": 5}), "emoji"),
        (json!({"message_id": message_id, "emoji": null}), "emoji"),
        (json!({"message_id": message_id, "emoji": ["👍"]}), "emoji"),
        (json!({"message_id": message_id}), "emoji"),
        (json!({"message_id": "abc", "emoji": "👍"}), "message_id"),
        (json!({"message_id": true, "emoji": "👍"}), "message_id"),
        (json!({"emoji": "👍"}), "message_id"),
    ];
    for (body, field) in cases {
        let got = app.post("/emojis", &g.member, body.clone()).await;
        assert_error(&got, 422, "invalid_field");
        assert_eq!(got.1["error"]["field"], field, "for {body}");
    }
    assert_eq!(reactions_on(&app, &g.member, message_id).await, json!([]));
    assert_eq!(tallies(&app, &g.member, message_id).await, json!([]));
}

#[tokio::test]
async fn reacting_twice_with_the_same_emoji_is_a_conflict() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let message = app.message(&g.owner, &g.channel_id, "hello").await;
    let first = react(&app, &g.member, id(&message), "👍").await;
    let got = app
        .post(
            "/emojis",
            &g.member,
            json!({"message_id": id(&message), "emoji": "👍"}),
        )
        .await;
    assert_error(&got, 409, "already_reacted");
    assert_eq!(
        reactions_on(&app, &g.member, id(&message)).await,
        json!([first])
    );
    // Another emoji by the same user, or the same emoji by another user, is fine.
    react(&app, &g.member, id(&message), "🎉").await;
    react(&app, &g.admin, id(&message), "👍").await;
    assert_eq!(
        tallies(&app, &g.member, id(&message)).await,
        json!([
            {"emoji": "👍", "count": 2, "me": true},
            {"emoji": "🎉", "count": 1, "me": true},
        ])
    );
}

#[tokio::test]
async fn every_role_reacts_but_an_outsider_cannot_even_see_the_message() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let message = app.message(&g.member, &g.channel_id, "hello").await;
    for user in [&g.owner, &g.admin, &g.member] {
        react(&app, user, id(&message), "👀").await;
    }
    let reaction = react(&app, &g.member, id(&message), "🎉").await;
    let reaction_path = format!("/emojis/{}", id(&reaction));

    let got = app
        .post(
            "/emojis",
            &g.outsider,
            json!({"message_id": id(&message), "emoji": "👍"}),
        )
        .await;
    assert_error(&got, 404, "not_found");
    assert_error(
        &app.get(&format!("/emojis?message_id={}", id(&message)), &g.outsider)
            .await,
        404,
        "not_found",
    );
    assert_error(
        &app.get(&reaction_path, &g.outsider).await,
        404,
        "not_found",
    );
    assert_error(
        &app.put(&reaction_path, &g.outsider, json!({"emoji": "💩"}))
            .await,
        404,
        "not_found",
    );
    assert_error(
        &app.delete(&reaction_path, &g.outsider).await,
        404,
        "not_found",
    );
    // Nothing changed.
    assert_eq!(
        tallies(&app, &g.owner, id(&message)).await,
        json!([
            {"emoji": "👀", "count": 3, "me": true},
            {"emoji": "🎉", "count": 1, "me": false},
        ])
    );
    let (_, still) = app.get(&reaction_path, &g.member).await;
    assert_eq!(still, reaction);
}

#[tokio::test]
async fn message_json_tallies_reactions_for_each_viewer() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let message = app.message(&g.admin, &g.channel_id, "vote").await;
    let other = app.message(&g.admin, &g.channel_id, "untouched").await;
    react(&app, &g.owner, id(&message), "👍").await;
    react(&app, &g.member, id(&message), "👍").await;
    react(&app, &g.member, id(&message), "🎉").await;
    react(&app, &g.admin, id(&message), "🚀").await;

    let member_view = json!([
        {"emoji": "👍", "count": 2, "me": true},
        {"emoji": "🎉", "count": 1, "me": true},
        {"emoji": "🚀", "count": 1, "me": false},
    ]);
    let owner_view = json!([
        {"emoji": "👍", "count": 2, "me": true},
        {"emoji": "🎉", "count": 1, "me": false},
        {"emoji": "🚀", "count": 1, "me": false},
    ]);
    assert_eq!(tallies(&app, &g.member, id(&message)).await, member_view);
    assert_eq!(tallies(&app, &g.owner, id(&message)).await, owner_view);
    assert_eq!(tallies(&app, &g.member, id(&other)).await, json!([]));

    // The channel listing carries the same tallies.
    for (viewer, expected) in [(&g.member, &member_view), (&g.owner, &owner_view)] {
        let (status, list) = app
            .get(&format!("/messages?channel_id={}", g.channel_id), viewer)
            .await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let listed = list
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == message["id"])
            .expect("message listed");
        assert_eq!(&listed["reactions"], expected);
        let untouched = list
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == other["id"])
            .expect("other message listed");
        assert_eq!(untouched["reactions"], json!([]));
    }
}

#[tokio::test]
async fn reactions_are_listed_oldest_first_in_pages() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let message = app.message(&g.owner, &g.channel_id, "popular").await;
    let mut all = Vec::new();
    for emoji in ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣"] {
        all.push(react(&app, &g.member, id(&message), emoji).await);
    }
    let base = format!("/emojis?message_id={}", id(&message));
    assert_eq!(reactions_on(&app, &g.owner, id(&message)).await, json!(all));

    let (status, first) = app.get(&format!("{base}&limit=2"), &g.owner).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first.as_array().unwrap(), &all[..2]);
    let (_, second) = app
        .get(&format!("{base}&limit=2&after={}", id(&all[1])), &g.owner)
        .await;
    assert_eq!(second.as_array().unwrap(), &all[2..4]);
    let (_, last) = app
        .get(&format!("{base}&limit=2&after={}", id(&all[3])), &g.owner)
        .await;
    assert_eq!(last.as_array().unwrap(), &all[4..]);
    let (_, back) = app
        .get(&format!("{base}&limit=2&before={}", id(&all[4])), &g.owner)
        .await;
    assert_eq!(back.as_array().unwrap(), &all[2..4]);
    let (_, between) = app
        .get(
            &format!("{base}&after={}&before={}", id(&all[0]), id(&all[4])),
            &g.owner,
        )
        .await;
    assert_eq!(between.as_array().unwrap(), &all[1..4]);

    for (query, field) in [
        (format!("{base}&limit=0"), "limit"),
        (format!("{base}&limit=101"), "limit"),
        (format!("{base}&limit=abc"), "limit"),
        (format!("{base}&after=-1"), "after"),
        (format!("{base}&before=x"), "before"),
        ("/emojis?message_id=abc".to_string(), "message_id"),
    ] {
        let got = app.get(&query, &g.owner).await;
        assert_error(&got, 422, "invalid_field");
        assert_eq!(got.1["error"]["field"], field, "for {query}");
    }
    assert_error(
        &app.get("/emojis?message_id=123456789", &g.owner).await,
        404,
        "not_found",
    );
}

#[tokio::test]
async fn the_reactor_changes_the_emoji_of_their_reaction() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let message = app.message(&g.owner, &g.channel_id, "hello").await;
    let reaction = react(&app, &g.member, id(&message), "👍").await;
    let path = format!("/emojis/{}", id(&reaction));
    let (status, changed) = app.put(&path, &g.member, json!({"emoji": "🎉"})).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    let mut expected = reaction.clone();
    expected["emoji"] = json!("🎉");
    assert_eq!(changed, expected);
    let (_, read) = app.get(&path, &g.owner).await;
    assert_eq!(read, expected);
    assert_eq!(
        tallies(&app, &g.member, id(&message)).await,
        json!([{"emoji": "🎉", "count": 1, "me": true}])
    );
    // The old emoji is free again for a new reaction.
    react(&app, &g.member, id(&message), "👍").await;
}

#[tokio::test]
async fn changing_to_an_emoji_already_used_on_the_message_is_a_conflict() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let message = app.message(&g.owner, &g.channel_id, "hello").await;
    let thumbs = react(&app, &g.member, id(&message), "👍").await;
    let party = react(&app, &g.member, id(&message), "🎉").await;
    react(&app, &g.admin, id(&message), "🔥").await;
    let path = format!("/emojis/{}", id(&thumbs));
    let got = app.put(&path, &g.member, json!({"emoji": "🎉"})).await;
    assert_error(&got, 409, "already_reacted");
    let (_, read) = app.get(&path, &g.member).await;
    assert_eq!(read, thumbs);
    let (_, read) = app.get(&format!("/emojis/{}", id(&party)), &g.member).await;
    assert_eq!(read, party);
    // An emoji someone else used is fine; so is "changing" to the same one.
    let (status, body) = app.put(&path, &g.member, json!({"emoji": "🔥"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["emoji"], "🔥");
    let (status, body) = app.put(&path, &g.member, json!({"emoji": "🔥"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        tallies(&app, &g.member, id(&message)).await,
        json!([
            {"emoji": "🔥", "count": 2, "me": true},
            {"emoji": "🎉", "count": 1, "me": true},
        ])
    );
}

#[tokio::test]
async fn changing_to_an_invalid_emoji_is_refused_naming_the_field() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let message = app.message(&g.owner, &g.channel_id, "hello").await;
    let reaction = react(&app, &g.member, id(&message), "👍").await;
    let path = format!("/emojis/{}", id(&reaction));
    for body in [
        json!({"emoji": "👍👍"}),
        json!({"emoji": "nope"}),
        json!({"emoji": ":a:"}),
        json!({"emoji": ""}),
        json!({"emoji": 1}),
        json!({"emoji": null}),
        json!({}),
    ] {
        let got = app.put(&path, &g.member, body.clone()).await;
        assert_error(&got, 422, "invalid_field");
        assert_eq!(got.1["error"]["field"], "emoji", "for {body}");
    }
    let (_, read) = app.get(&path, &g.member).await;
    assert_eq!(read, reaction);
}

#[tokio::test]
async fn the_reactor_removes_their_own_reaction() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let message = app.message(&g.owner, &g.channel_id, "hello").await;
    let reaction = react(&app, &g.member, id(&message), "👍").await;
    let kept = react(&app, &g.admin, id(&message), "👍").await;
    let path = format!("/emojis/{}", id(&reaction));
    let (status, body) = app.delete(&path, &g.member).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(body, Value::Null);
    assert_error(&app.get(&path, &g.member).await, 404, "not_found");
    assert_error(&app.delete(&path, &g.member).await, 404, "not_found");
    assert_eq!(
        reactions_on(&app, &g.member, id(&message)).await,
        json!([kept])
    );
    assert_eq!(
        tallies(&app, &g.member, id(&message)).await,
        json!([{"emoji": "👍", "count": 1, "me": false}])
    );
}

#[tokio::test]
async fn admins_and_the_owner_remove_anyones_reaction() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let message = app.message(&g.member, &g.channel_id, "spam").await;
    let first = react(&app, &g.member, id(&message), "💩").await;
    let second = react(&app, &g.member, id(&message), "🤡").await;
    let owners = react(&app, &g.owner, id(&message), "👑").await;
    for (moderator, reaction) in [(&g.admin, &first), (&g.owner, &second), (&g.admin, &owners)] {
        let path = format!("/emojis/{}", id(reaction));
        let (status, _) = app.delete(&path, moderator).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{moderator:?}");
        assert_error(&app.get(&path, &g.member).await, 404, "not_found");
    }
    assert_eq!(tallies(&app, &g.member, id(&message)).await, json!([]));
}

#[tokio::test]
async fn member_cannot_remove_others_reaction() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let message = app.message(&g.member, &g.channel_id, "my message").await;
    let reaction = react(&app, &g.admin, id(&message), "👎").await;
    let path = format!("/emojis/{}", id(&reaction));
    // Not even on their own message.
    let got = app.delete(&path, &g.member).await;
    assert_error(&got, 403, "missing_permission");
    let (status, read) = app.get(&path, &g.member).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read, reaction);
    assert_eq!(
        reactions_on(&app, &g.member, id(&message)).await,
        json!([reaction])
    );
}

#[tokio::test]
async fn deleting_a_message_removes_its_reactions() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let message = app.message(&g.member, &g.channel_id, "short-lived").await;
    let survivor = app.message(&g.member, &g.channel_id, "stays").await;
    let gone = react(&app, &g.owner, id(&message), "👍").await;
    let also_gone = react(&app, &g.admin, id(&message), "🎉").await;
    let kept = react(&app, &g.owner, id(&survivor), "👍").await;
    let (status, _) = app
        .delete(&format!("/messages/{}", id(&message)), &g.member)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for reaction in [&gone, &also_gone] {
        let path = format!("/emojis/{}", id(reaction));
        assert_error(&app.get(&path, &g.owner).await, 404, "not_found");
        assert_error(&app.delete(&path, &g.owner).await, 404, "not_found");
    }
    assert_error(
        &app.get(&format!("/emojis?message_id={}", id(&message)), &g.owner)
            .await,
        404,
        "not_found",
    );
    let got = app
        .post(
            "/emojis",
            &g.owner,
            json!({"message_id": id(&message), "emoji": "👍"}),
        )
        .await;
    assert_error(&got, 404, "not_found");
    assert_eq!(
        reactions_on(&app, &g.owner, id(&survivor)).await,
        json!([kept])
    );
}

#[tokio::test]
async fn bad_bodies_and_paths_are_refused() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let message = app.message(&g.owner, &g.channel_id, "hello").await;
    let reaction = react(&app, &g.member, id(&message), "👍").await;
    let path = format!("/emojis/{}", id(&reaction));
    let add = format!(r#"{{"message_id": "{}", "emoji": "🎉"}}"#, id(&message));
    let change = r#"{"emoji": "🎉"}"#;

    for (method, path, good) in [
        (Method::POST, "/emojis", add.as_str()),
        (Method::PUT, path.as_str(), change),
    ] {
        let json = Some("application/json");
        let got = send_raw(&app, method.clone(), path, &g.member, json, r#"{"emoji": "#).await;
        assert_error(&got, 400, "malformed_json");
        let got = send_raw(&app, method.clone(), path, &g.member, json, "").await;
        assert_error(&got, 400, "malformed_json");
        let got = send_raw(&app, method.clone(), path, &g.member, None, good).await;
        assert_error(&got, 415, "unsupported_media_type");
        let text = Some("text/plain");
        let got = send_raw(&app, method.clone(), path, &g.member, text, good).await;
        assert_error(&got, 415, "unsupported_media_type");
    }
    assert_eq!(
        reactions_on(&app, &g.member, id(&message)).await,
        json!([reaction])
    );

    for got in [
        app.get("/emojis/abc", &g.member).await,
        app.put("/emojis/abc", &g.member, json!({"emoji": "🎉"}))
            .await,
        app.delete("/emojis/abc", &g.member).await,
        app.delete("/emojis/-5", &g.member).await,
    ] {
        assert_error(&got, 400, "invalid_path");
    }
    for got in [
        app.get("/emojis/123456789", &g.member).await,
        app.put("/emojis/123456789", &g.member, json!({"emoji": "🎉"}))
            .await,
        app.delete("/emojis/123456789", &g.member).await,
        app.post(
            "/emojis",
            &g.member,
            json!({"message_id": "123456789", "emoji": "🎉"}),
        )
        .await,
    ] {
        assert_error(&got, 404, "not_found");
    }
    assert_eq!(
        reactions_on(&app, &g.member, id(&message)).await,
        json!([reaction])
    );
}

#[tokio::test]
async fn a_block_stops_reactions_in_a_direct_message() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let (status, dm) = app
        .post("/channels", &alice, json!({"recipient_id": bob.id}))
        .await;
    assert!(status.is_success(), "{dm}");
    let message = app.message(&alice, id(&dm), "hi bob").await;
    let reaction = react(&app, &bob, id(&message), "👋").await;
    let got = app
        .post(
            "/emojis",
            &carol,
            json!({"message_id": id(&message), "emoji": "👋"}),
        )
        .await;
    assert_error(&got, 404, "not_found");

    let (status, body) = app
        .post(
            "/friendlists",
            &alice,
            json!({"friend_id": bob.id, "status": "blocked"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Neither side reacts or changes a reaction any more.
    for user in [&alice, &bob] {
        let got = app
            .post(
                "/emojis",
                user,
                json!({"message_id": id(&message), "emoji": "🎉"}),
            )
            .await;
        assert_error(&got, 403, "blocked");
    }
    let path = format!("/emojis/{}", id(&reaction));
    let got = app.put(&path, &bob, json!({"emoji": "😡"})).await;
    assert_error(&got, 403, "blocked");
    assert_eq!(
        reactions_on(&app, &alice, id(&message)).await,
        json!([reaction])
    );
}

#[tokio::test]
async fn without_a_message_the_list_is_every_readable_reaction() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let first = app.message(&g.owner, &g.channel_id, "first").await;
    let second = app.message(&g.member, &g.channel_id, "second").await;
    let (_, dm) = app
        .post("/channels", &g.member, json!({"recipient_id": g.admin.id}))
        .await;
    let in_dm = app.message(&g.admin, id(&dm), "psst").await;
    let elsewhere = app.server(&g.outsider, "Elsewhere").await;
    let elsewhere = app.general_channel(id(&elsewhere), &g.outsider).await;
    let hidden = app.message(&g.outsider, &elsewhere, "not for you").await;

    let mut visible = vec![
        react(&app, &g.owner, id(&first), "👍").await,
        react(&app, &g.member, id(&second), "🎉").await,
        react(&app, &g.admin, id(&in_dm), "👀").await,
    ];
    react(&app, &g.outsider, id(&hidden), "🙈").await;
    visible.push(react(&app, &g.member, id(&first), "🎉").await);

    // Every reaction the member can see, oldest first, nothing else.
    let (status, all) = app.get("/emojis", &g.member).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all.as_array().unwrap(), &visible);

    // Paged: limit, after, before.
    let (_, page) = app.get("/emojis?limit=2", &g.member).await;
    assert_eq!(page.as_array().unwrap(), &visible[..2]);
    let (_, page) = app
        .get(&format!("/emojis?after={}", id(&visible[1])), &g.member)
        .await;
    assert_eq!(page.as_array().unwrap(), &visible[2..]);
    let (_, page) = app
        .get(
            &format!("/emojis?limit=1&before={}", id(&visible[3])),
            &g.member,
        )
        .await;
    assert_eq!(page.as_array().unwrap(), &visible[2..3]);

    // One user's reactions, across the feed or on one message.
    let (_, mine) = app
        .get(&format!("/emojis?user_id={}", g.member.id), &g.member)
        .await;
    assert_eq!(mine, json!([visible[1], visible[3]]));
    let (_, on_first) = app
        .get(
            &format!("/emojis?message_id={}&user_id={}", id(&first), g.member.id),
            &g.member,
        )
        .await;
    assert_eq!(on_first, json!([visible[3]]));
    // The outsider's reaction stays invisible even when asked for by name.
    let (_, theirs) = app
        .get(&format!("/emojis?user_id={}", g.outsider.id), &g.member)
        .await;
    assert_eq!(theirs, json!([]));

    for (query, field) in [
        ("/emojis?user_id=abc", "user_id"),
        ("/emojis?limit=0", "limit"),
    ] {
        let got = app.get(query, &g.member).await;
        assert_error(&got, 422, "invalid_field");
        assert_eq!(got.1["error"]["field"], field, "for {query}");
    }
    let anonymous = app.call(Method::GET, "/emojis", None, None).await;
    assert_error(&anonymous, 401, "unauthorized");
}

/// 25 different emojis.
const EMOJIS: [&str; 25] = [
    "😀", "😃", "😄", "😁", "😆", "😅", "😂", "🤣", "😊", "😇", "🙂", "🙃", "😉", "😌", "😍", "🥰",
    "😘", "😗", "😙", "😚", "😋", "😛", "😝", "😜", "🤪",
];

#[tokio::test]
async fn a_message_holds_at_most_20_different_emojis() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let message = app.message(&g.owner, &g.channel_id, "react to me").await;
    for emoji in &EMOJIS[..20] {
        react(&app, &g.owner, id(&message), emoji).await;
    }
    let refused = app
        .post(
            "/emojis",
            &g.member,
            json!({"message_id": id(&message), "emoji": EMOJIS[20]}),
        )
        .await;
    assert_error(&refused, 403, "limit_reached");
    // An emoji already there still counts up.
    react(&app, &g.member, id(&message), EMOJIS[0]).await;
    // Changing to a 21st is refused too; to one already there is not.
    let mine = react(&app, &g.admin, id(&message), EMOJIS[1]).await;
    let path = format!("/emojis/{}", id(&mine));
    let refused = app.put(&path, &g.admin, json!({"emoji": EMOJIS[21]})).await;
    assert_error(&refused, 403, "limit_reached");
    let (status, _) = app.put(&path, &g.admin, json!({"emoji": EMOJIS[2]})).await;
    assert_eq!(status, StatusCode::OK);
    let tallied = tallies(&app, &g.owner, id(&message)).await;
    assert_eq!(tallied.as_array().unwrap().len(), 20, "{tallied}");
    assert!(!tallied.to_string().contains(EMOJIS[20]));
    assert!(!tallied.to_string().contains(EMOJIS[21]));
}

#[tokio::test]
async fn parallel_reactions_cannot_pass_the_emoji_cap() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let message = app.message(&g.owner, &g.channel_id, "race me").await;
    let adds = EMOJIS.iter().map(|emoji| {
        app.client
            .post(app.url("/emojis"))
            .bearer_auth(&g.member.token)
            .json(&json!({"message_id": id(&message), "emoji": emoji}))
            .send()
    });
    let answers = futures_util::future::join_all(adds).await;
    let created = answers
        .iter()
        .filter(|a| a.as_ref().unwrap().status() == StatusCode::CREATED)
        .count();
    assert_eq!(created, 20);
    let tallied = tallies(&app, &g.owner, id(&message)).await;
    assert_eq!(tallied.as_array().unwrap().len(), 20, "{tallied}");
}

#[tokio::test]
async fn an_edit_does_not_broadcast_the_editors_own_me_flags() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let mut listener = SocketClient::with_token(&app, &g.member.token).await;
    let message = app.message(&g.admin, &g.channel_id, "before").await;
    react(&app, &g.admin, id(&message), "👍").await;
    let (status, edited) = app
        .put(
            &format!("/messages/{}", id(&message)),
            &g.admin,
            json!({"content": "after"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        edited["reactions"],
        json!([{"emoji": "👍", "count": 1, "me": true}]),
        "the editor's own answer is theirs"
    );
    let update = listener.expect("message_update").await;
    assert_eq!(
        update["reactions"],
        json!([{"emoji": "👍", "count": 1, "me": false}]),
        "{update}"
    );
}
