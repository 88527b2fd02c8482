//! `/friendlists`: friend requests, friendships and blocks.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, assert_error, send_raw, spawn_app};

fn id(value: &Value) -> &str {
    value["id"].as_str().expect("an id")
}

fn path_of(rel: &Value) -> String {
    format!("/friendlists/{}", id(rel))
}

/// `from` sends a friend request to `to`; asserts 201.
async fn request(app: &TestApp, from: &TestUser, to: &TestUser) -> Value {
    let (status, body) = app
        .post("/friendlists", from, json!({"friend_id": to.id}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

/// A request from `from` to `to`, accepted by `to`.
async fn friends(app: &TestApp, from: &TestUser, to: &TestUser) -> Value {
    let rel = request(app, from, to).await;
    let (status, body) = app
        .put(&path_of(&rel), to, json!({"status": "accepted"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// `user`'s friend list (first page).
async fn list_of(app: &TestApp, user: &TestUser) -> Value {
    let (status, body) = app.get("/friendlists", user).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.is_array(), "{body}");
    body
}

/// The relationship as `user` reads it, asserting they can.
async fn read(app: &TestApp, user: &TestUser, rel: &Value) -> Value {
    let (status, body) = app.get(&path_of(rel), user).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Asserts `user` cannot see `rel` at all: 404 and absent from their list.
async fn assert_invisible(app: &TestApp, user: &TestUser, rel: &Value) {
    assert_error(&app.get(&path_of(rel), user).await, 404, "not_found");
    let list = list_of(app, user).await;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"] != rel["id"]),
        "{} sees {rel} in {list}",
        user.username
    );
}

#[tokio::test]
async fn a_friend_request_is_pending_until_the_addressee_accepts() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let rel = request(&app, &alice, &bob).await;
    assert!(id(&rel).parse::<u64>().is_ok(), "{rel}");
    assert_eq!(rel["user_id"], alice.id.as_str());
    assert_eq!(rel["friend_id"], bob.id.as_str());
    assert_eq!(rel["status"], "pending");
    assert_eq!(rel["blocked_by"], Value::Null);
    assert!(rel["created_at"].as_str().unwrap().ends_with('Z'), "{rel}");
    assert_eq!(rel["updated_at"], rel["created_at"]);
    // Both parties see it, the same way.
    for user in [&alice, &bob] {
        assert_eq!(read(&app, user, &rel).await, rel);
        assert_eq!(list_of(&app, user).await, json!([rel]));
    }

    let (status, accepted) = app
        .put(&path_of(&rel), &bob, json!({"status": "accepted"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    assert_eq!(accepted["id"], rel["id"]);
    assert_eq!(accepted["user_id"], alice.id.as_str());
    assert_eq!(accepted["friend_id"], bob.id.as_str());
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(accepted["blocked_by"], Value::Null);
    assert_eq!(accepted["created_at"], rel["created_at"]);
    assert!(accepted["updated_at"].as_str() >= rel["updated_at"].as_str());
    for user in [&alice, &bob] {
        assert_eq!(read(&app, user, &rel).await, accepted);
        assert_eq!(list_of(&app, user).await, json!([accepted]));
    }
}

#[tokio::test]
async fn asking_someone_who_already_asked_you_makes_you_friends() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let rel = request(&app, &alice, &bob).await;
    let (status, body) = app
        .post("/friendlists", &bob, json!({"friend_id": alice.id}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], rel["id"]);
    assert_eq!(body["user_id"], alice.id.as_str(), "still alice's request");
    assert_eq!(body["friend_id"], bob.id.as_str());
    assert_eq!(body["status"], "accepted");
    assert_eq!(read(&app, &alice, &rel).await, body);
    assert_eq!(list_of(&app, &bob).await, json!([body]));
}

#[tokio::test]
async fn a_second_request_by_the_same_requester_is_a_conflict() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let rel = request(&app, &alice, &bob).await;
    let got = app
        .post("/friendlists", &alice, json!({"friend_id": bob.id}))
        .await;
    assert_error(&got, 409, "already_requested");
    assert_eq!(read(&app, &bob, &rel).await, rel);
    assert_eq!(list_of(&app, &alice).await, json!([rel]));
}

#[tokio::test]
async fn asking_a_friend_again_is_a_conflict() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let rel = friends(&app, &alice, &bob).await;
    for (from, to) in [(&alice, &bob), (&bob, &alice)] {
        let got = app
            .post("/friendlists", from, json!({"friend_id": to.id}))
            .await;
        assert_error(&got, 409, "already_friends");
    }
    assert_eq!(read(&app, &alice, &rel).await, rel);
    assert_eq!(list_of(&app, &bob).await, json!([rel]));
}

#[tokio::test]
async fn requests_to_yourself_unknown_users_or_with_bad_fields_are_refused() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let cases = [
        (json!({"friend_id": alice.id}), "friend_id"),
        (json!({"friend_id": "abc"}), "friend_id"),
        (json!({"friend_id": "-1"}), "friend_id"),
        (json!({"friend_id": true}), "friend_id"),
        (json!({"friend_id": null}), "friend_id"),
        (json!({}), "friend_id"),
        (json!({"friend_id": bob.id, "status": "accepted"}), "status"),
        (json!({"friend_id": bob.id, "status": "friends"}), "status"),
    ];
    for (body, field) in cases {
        let got = app.post("/friendlists", &alice, body.clone()).await;
        assert_error(&got, 422, "invalid_field");
        assert_eq!(got.1["error"]["field"], field, "for {body}");
    }
    let got = app
        .post("/friendlists", &alice, json!({"friend_id": "123456789"}))
        .await;
    assert_error(&got, 404, "not_found");
    // Nothing was created by any of those.
    assert_eq!(list_of(&app, &alice).await, json!([]));
    assert_eq!(list_of(&app, &bob).await, json!([]));
    request(&app, &alice, &bob).await;
}

#[tokio::test]
async fn a_relationship_cannot_be_set_back_to_pending() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let pending = request(&app, &alice, &bob).await;
    let accepted = friends(&app, &alice, &carol).await;
    for (rel, users) in [(&pending, [&alice, &bob]), (&accepted, [&alice, &carol])] {
        for user in users {
            let got = app
                .put(&path_of(rel), user, json!({"status": "pending"}))
                .await;
            assert_error(&got, 422, "invalid_field");
            assert_eq!(got.1["error"]["field"], "status");
        }
        assert_eq!(&read(&app, &alice, rel).await, rel);
    }
}

#[tokio::test]
async fn updates_with_bad_fields_are_refused_naming_them() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let rel = request(&app, &alice, &bob).await;
    for body in [
        json!({"status": "friends"}),
        json!({"status": "ACCEPTED"}),
        json!({}),
    ] {
        let got = app.put(&path_of(&rel), &bob, body.clone()).await;
        assert_error(&got, 422, "invalid_field");
        assert_eq!(got.1["error"]["field"], "status", "for {body}");
    }
    assert_eq!(read(&app, &bob, &rel).await, rel);
}

#[tokio::test]
async fn a_status_of_the_wrong_type_is_refused_naming_the_field() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let rel = request(&app, &alice, &bob).await;
    for status in [json!(2), json!(true), json!(["accepted"]), json!(null)] {
        let got = app
            .put(&path_of(&rel), &bob, json!({"status": status}))
            .await;
        assert_error(&got, 422, "invalid_field");
        assert_eq!(got.1["error"]["field"], "status", "for {status}");
        if !status.is_null() {
            let got = app
                .post(
                    "/friendlists",
                    &alice,
                    json!({"friend_id": carol.id, "status": status}),
                )
                .await;
            assert_error(&got, 422, "invalid_field");
            assert_eq!(got.1["error"]["field"], "status", "for {status}");
        }
    }
    assert_eq!(read(&app, &bob, &rel).await, rel);
    assert_eq!(list_of(&app, &carol).await, json!([]));
}

#[tokio::test]
async fn either_side_blocks_and_only_the_blocker_sees_the_block() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let dave = app.user("dave").await;
    // The addressee blocks a pending request; the requester blocks a friend.
    let request_to_bob = request(&app, &alice, &bob).await;
    let friendship = friends(&app, &carol, &dave).await;
    for (rel, blocker, blocked) in [
        (&request_to_bob, &bob, &alice),
        (&friendship, &carol, &dave),
    ] {
        let (status, body) = app
            .put(&path_of(rel), blocker, json!({"status": "blocked"}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["id"], rel["id"]);
        assert_eq!(body["user_id"], rel["user_id"]);
        assert_eq!(body["friend_id"], rel["friend_id"]);
        assert_eq!(body["status"], "blocked");
        assert_eq!(body["blocked_by"], blocker.id.as_str());
        assert_eq!(read(&app, blocker, rel).await, body);
        assert_eq!(list_of(&app, blocker).await, json!([body]));
        assert_invisible(&app, blocked, rel).await;
        assert_eq!(list_of(&app, blocked).await, json!([]));
    }
}

#[tokio::test]
async fn a_stranger_can_be_blocked_directly() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let (status, rel) = app
        .post(
            "/friendlists",
            &alice,
            json!({"friend_id": bob.id, "status": "blocked"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{rel}");
    assert_eq!(rel["user_id"], alice.id.as_str());
    assert_eq!(rel["friend_id"], bob.id.as_str());
    assert_eq!(rel["status"], "blocked");
    assert_eq!(rel["blocked_by"], alice.id.as_str());
    assert_eq!(list_of(&app, &alice).await, json!([rel]));
    assert_invisible(&app, &bob, &rel).await;
    // Blocking again changes nothing.
    let (status, again) = app
        .post(
            "/friendlists",
            &alice,
            json!({"friend_id": bob.id, "status": "blocked"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again, rel);
}

#[tokio::test]
async fn the_blocked_user_can_neither_touch_the_block_nor_ask_to_be_friends() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let rel = request(&app, &alice, &bob).await;
    let (status, blocked) = app
        .put(&path_of(&rel), &bob, json!({"status": "blocked"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{blocked}");

    for status in ["accepted", "blocked", "pending"] {
        let got = app
            .put(&path_of(&rel), &alice, json!({"status": status}))
            .await;
        assert_error(&got, 404, "not_found");
    }
    assert_error(&app.delete(&path_of(&rel), &alice).await, 404, "not_found");
    let got = app
        .post("/friendlists", &alice, json!({"friend_id": bob.id}))
        .await;
    assert_error(&got, 403, "blocked");
    assert_eq!(read(&app, &bob, &rel).await, blocked);
    assert_invisible(&app, &alice, &rel).await;
}

#[tokio::test]
async fn only_the_blocker_unblocks() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let rel = friends(&app, &alice, &bob).await;
    let (_, blocked) = app
        .put(&path_of(&rel), &alice, json!({"status": "blocked"}))
        .await;
    assert_eq!(blocked["blocked_by"], alice.id.as_str());
    assert_error(&app.delete(&path_of(&rel), &bob).await, 404, "not_found");
    assert_eq!(read(&app, &alice, &rel).await, blocked);
    // Befriending needs an unblock first.
    let got = app
        .put(&path_of(&rel), &alice, json!({"status": "accepted"}))
        .await;
    assert_error(&got, 409, "relationship_blocked");
    assert_eq!(read(&app, &alice, &rel).await, blocked);

    let (status, body) = app.delete(&path_of(&rel), &alice).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(body, Value::Null);
    assert_invisible(&app, &alice, &rel).await;
    assert_invisible(&app, &bob, &rel).await;
    // Unblocked means strangers again: a new request starts from scratch.
    let fresh = request(&app, &bob, &alice).await;
    assert_ne!(fresh["id"], rel["id"]);
    assert_eq!(fresh["status"], "pending");
    assert_eq!(list_of(&app, &alice).await, json!([fresh]));
}

#[tokio::test]
async fn either_side_deletes_a_pending_or_accepted_relationship() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    // Cancelled by the requester, declined by the addressee, unfriended by
    // either.
    let cases = [
        ("pending", &alice, &bob),
        ("pending", &bob, &alice),
        ("accepted", &alice, &bob),
        ("accepted", &bob, &alice),
    ];
    for (status, deleter, other) in cases {
        let rel = if status == "pending" {
            request(&app, &alice, &bob).await
        } else {
            friends(&app, &alice, &bob).await
        };
        let (code, body) = app.delete(&path_of(&rel), deleter).await;
        assert_eq!(
            code,
            StatusCode::NO_CONTENT,
            "{status} by {}",
            deleter.username
        );
        assert_eq!(body, Value::Null);
        assert_invisible(&app, deleter, &rel).await;
        assert_invisible(&app, other, &rel).await;
        assert_error(&app.delete(&path_of(&rel), deleter).await, 404, "not_found");
    }
}

#[tokio::test]
async fn a_third_user_sees_nothing_and_changes_nothing() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let pending = request(&app, &alice, &bob).await;
    let dave = app.user("dave").await;
    let accepted = friends(&app, &alice, &dave).await;
    for rel in [&pending, &accepted] {
        assert_invisible(&app, &carol, rel).await;
        for status in ["accepted", "blocked"] {
            let got = app
                .put(&path_of(rel), &carol, json!({"status": status}))
                .await;
            assert_error(&got, 404, "not_found");
        }
        assert_error(&app.delete(&path_of(rel), &carol).await, 404, "not_found");
        assert_eq!(&read(&app, &alice, rel).await, rel);
    }
    assert_eq!(list_of(&app, &carol).await, json!([]));
}

#[tokio::test]
async fn friend_lists_are_paginated_oldest_first() {
    let app = spawn_app().await;
    let me = app.user("me").await;
    let mut all = Vec::new();
    for name in ["u1", "u2", "u3", "u4", "u5"] {
        let other = app.user(name).await;
        all.push(request(&app, &me, &other).await);
    }
    assert_eq!(list_of(&app, &me).await, json!(all));

    let (status, first) = app.get("/friendlists?limit=2", &me).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first.as_array().unwrap(), &all[..2]);
    let (_, second) = app
        .get(&format!("/friendlists?limit=2&after={}", id(&all[1])), &me)
        .await;
    assert_eq!(second.as_array().unwrap(), &all[2..4]);
    let (_, last) = app
        .get(&format!("/friendlists?limit=2&after={}", id(&all[3])), &me)
        .await;
    assert_eq!(last.as_array().unwrap(), &all[4..]);
    let (_, back) = app
        .get(&format!("/friendlists?limit=2&before={}", id(&all[4])), &me)
        .await;
    assert_eq!(back.as_array().unwrap(), &all[2..4]);
    let (_, between) = app
        .get(
            &format!("/friendlists?after={}&before={}", id(&all[0]), id(&all[4])),
            &me,
        )
        .await;
    assert_eq!(between.as_array().unwrap(), &all[1..4]);

    for (query, field) in [
        ("/friendlists?limit=0", "limit"),
        ("/friendlists?limit=101", "limit"),
        ("/friendlists?limit=abc", "limit"),
        ("/friendlists?after=-1", "after"),
        ("/friendlists?before=x", "before"),
    ] {
        let got = app.get(query, &me).await;
        assert_error(&got, 422, "invalid_field");
        assert_eq!(got.1["error"]["field"], field, "for {query}");
    }
}

#[tokio::test]
async fn bad_bodies_and_paths_are_refused() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let rel = request(&app, &alice, &bob).await;
    let path = path_of(&rel);
    let create = format!(r#"{{"friend_id": "{}"}}"#, carol.id);
    let accept = r#"{"status": "accepted"}"#;

    for (method, path, good) in [
        (Method::POST, "/friendlists", create.as_str()),
        (Method::PUT, path.as_str(), accept),
    ] {
        let json = Some("application/json");
        let got = send_raw(&app, method.clone(), path, &bob, json, r#"{"status": "#).await;
        assert_error(&got, 400, "malformed_json");
        let got = send_raw(&app, method.clone(), path, &bob, json, "").await;
        assert_error(&got, 400, "malformed_json");
        let got = send_raw(&app, method.clone(), path, &bob, None, good).await;
        assert_error(&got, 415, "unsupported_media_type");
        let text = Some("text/plain");
        let got = send_raw(&app, method.clone(), path, &bob, text, good).await;
        assert_error(&got, 415, "unsupported_media_type");
    }
    assert_eq!(read(&app, &bob, &rel).await, rel);
    assert_eq!(list_of(&app, &carol).await, json!([]));

    for got in [
        app.get("/friendlists/abc", &bob).await,
        app.put("/friendlists/abc", &bob, json!({"status": "accepted"}))
            .await,
        app.delete("/friendlists/abc", &bob).await,
        app.delete("/friendlists/1.5", &bob).await,
    ] {
        assert_error(&got, 400, "invalid_path");
    }
    for got in [
        app.get("/friendlists/123456789", &bob).await,
        app.put(
            "/friendlists/123456789",
            &bob,
            json!({"status": "accepted"}),
        )
        .await,
        app.delete("/friendlists/123456789", &bob).await,
    ] {
        assert_error(&got, 404, "not_found");
    }
    assert_eq!(read(&app, &bob, &rel).await, rel);
}
