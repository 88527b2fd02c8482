//! What the server keeps in memory (channel access, authors, the newest
//! messages of each channel read) never shows a stale answer: each test
//! reads first, so the memory is filled, then changes something and checks
//! that the very next read shows the change. The newest page, served from
//! memory, is compared with the same page read from the database through
//! a cursor after every change.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, accept_invite, assert_error, invite_code, spawn_app};

/// The newest page from memory and the same page read through a cursor
/// (which always goes to the database) must be equal; returns it.
async fn newest_page(app: &TestApp, user: &TestUser, channel: &str) -> Value {
    let (status, from_memory) = app
        .get(&format!("/messages?channel_id={channel}"), user)
        .await;
    assert_eq!(status, StatusCode::OK, "{from_memory}");
    let (status, from_database) = app
        .get(
            &format!("/messages?channel_id={channel}&before=9223372036854775807"),
            user,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{from_database}");
    assert_eq!(from_memory, from_database, "the kept page is stale");
    from_memory
}

fn id_of(value: &Value) -> String {
    value["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_newest_page_shows_every_change_at_once() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let first = app.message(&g.member, &g.channel_id, "first").await;
    assert_eq!(
        newest_page(&app, &g.member, &g.channel_id).await,
        json!([first])
    );

    let second = app.message(&g.admin, &g.channel_id, "second").await;
    let page = newest_page(&app, &g.member, &g.channel_id).await;
    assert_eq!(page, json!([second, first]));

    let path = format!("/messages/{}", id_of(&first));
    let (status, edited) = app
        .put(&path, &g.member, json!({"content": "first, edited"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    let page = newest_page(&app, &g.owner, &g.channel_id).await;
    assert_eq!(page[1]["content"], "first, edited");
    assert_eq!(page[1]["edited_at"], edited["edited_at"]);

    // Reactions: counts for everyone, `me` for each reader.
    let mut reactions = Vec::new();
    for user in [&g.member, &g.admin] {
        let (status, reaction) = app
            .post(
                "/emojis",
                user,
                json!({"message_id": id_of(&first), "emoji": "👍"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{reaction}");
        reactions.push(reaction);
    }
    let page = newest_page(&app, &g.member, &g.channel_id).await;
    assert_eq!(
        page[1]["reactions"],
        json!([{"emoji": "👍", "count": 2, "me": true}])
    );
    let page = newest_page(&app, &g.owner, &g.channel_id).await;
    assert_eq!(
        page[1]["reactions"],
        json!([{"emoji": "👍", "count": 2, "me": false}])
    );

    let admins = format!("/emojis/{}", id_of(&reactions[1]));
    let (status, _) = app.put(&admins, &g.admin, json!({"emoji": "🎉"})).await;
    assert_eq!(status, StatusCode::OK);
    let page = newest_page(&app, &g.admin, &g.channel_id).await;
    assert_eq!(
        page[1]["reactions"],
        json!([{"emoji": "👍", "count": 1, "me": false}, {"emoji": "🎉", "count": 1, "me": true}])
    );
    let (status, _) = app.delete(&admins, &g.admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let page = newest_page(&app, &g.admin, &g.channel_id).await;
    assert_eq!(
        page[1]["reactions"],
        json!([{"emoji": "👍", "count": 1, "me": false}])
    );

    // An author's new name shows on their earlier messages.
    let (status, _) = app
        .put(
            &format!("/users/{}", g.admin.id),
            &g.admin,
            json!({"display_name": "Renamed"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let page = newest_page(&app, &g.member, &g.channel_id).await;
    assert_eq!(page[0]["author"]["display_name"], "Renamed");

    let (status, _) = app
        .delete(&format!("/messages/{}", id_of(&second)), &g.admin)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let page = newest_page(&app, &g.member, &g.channel_id).await;
    assert_eq!(page.as_array().unwrap().len(), 1);
    assert_eq!(page[0]["id"], first["id"]);
}

#[tokio::test]
async fn a_page_with_more_than_the_kept_window_is_complete_after_deletions() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let mut posted = Vec::new();
    for i in 0..110 {
        let message = app
            .message(&g.member, &g.channel_id, &format!("#{i}"))
            .await;
        posted.push(id_of(&message));
    }
    newest_page(&app, &g.member, &g.channel_id).await;
    // Delete the 60 newest: the kept window no longer covers a full page.
    for id in posted.iter().rev().take(60) {
        let (status, _) = app.delete(&format!("/messages/{id}"), &g.member).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let page = newest_page(&app, &g.member, &g.channel_id).await;
    let got: Vec<String> = page.as_array().unwrap().iter().map(id_of).collect();
    let expected: Vec<String> = posted[..50].iter().rev().cloned().collect();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn access_read_before_a_change_is_not_used_after_it() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let history = format!("/messages?channel_id={}", g.channel_id);

    // An outsider is refused, joins, and reads at once.
    assert_error(&app.get(&history, &g.outsider).await, 404, "not_found");
    let code = invite_code(&app, &g, &g.owner, json!({})).await;
    assert_eq!(
        accept_invite(&app, &code, &g.outsider).await.0,
        StatusCode::OK
    );
    assert_eq!(app.get(&history, &g.outsider).await.0, StatusCode::OK);

    // They leave, and are refused again at once.
    let (status, _) = app
        .delete(
            &format!("/servers/{}/members/{}", g.server_id, g.outsider.id),
            &g.outsider,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(&app.get(&history, &g.outsider).await, 404, "not_found");

    // A renamed channel reads with its new name.
    let channel = format!("/channels/{}", g.channel_id);
    assert_eq!(app.get(&channel, &g.member).await.0, StatusCode::OK);
    let (status, _) = app
        .put(&channel, &g.owner, json!({"name": "renamed"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, read) = app.get(&channel, &g.member).await;
    assert_eq!(
        (status, read["name"].clone()),
        (StatusCode::OK, json!("renamed"))
    );

    // A deleted channel is gone for everyone at once.
    let (status, _) = app.delete(&channel, &g.owner).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(&app.get(&history, &g.member).await, 404, "not_found");
    let got = app
        .post(
            "/messages",
            &g.member,
            json!({"channel_id": g.channel_id, "content": "hello?"}),
        )
        .await;
    assert_error(&got, 404, "not_found");
}
