//! `/users`: sign-up, search, profile, change, delete.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{PASSWORD, assert_error, spawn_app};

#[tokio::test]
async fn sign_up_returns_the_user_without_secrets() {
    let app = spawn_app().await;
    let (status, body) = app
        .call(
            Method::POST,
            "/users",
            None,
            Some(json!({"username": "Alice", "password": PASSWORD, "display_name": "Alice A.", "email": "alice@example.test"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["username"], "Alice");
    assert_eq!(body["display_name"], "Alice A.");
    assert_eq!(body["email"], "alice@example.test");
    assert!(
        body["id"].as_str().unwrap().parse::<u64>().is_ok(),
        "id is a decimal string"
    );
    assert!(body["created_at"].as_str().unwrap().ends_with('Z'));
    let text = body.to_string();
    assert!(!text.contains(PASSWORD) && !text.contains("argon2") && !text.contains("password"));
}

#[tokio::test]
async fn usernames_are_unique_ignoring_case() {
    let app = spawn_app().await;
    app.user("alice").await;
    let got = app
        .call(
            Method::POST,
            "/users",
            None,
            Some(json!({"username": "ALICE", "password": PASSWORD})),
        )
        .await;
    assert_error(&got, 409, "username_taken");
}

#[tokio::test]
async fn emails_are_unique_ignoring_case() {
    let app = spawn_app().await;
    let first = app
        .call(
            Method::POST,
            "/users",
            None,
            Some(json!({"username": "a1", "password": PASSWORD, "email": "x@y.test"})),
        )
        .await;
    assert_eq!(first.0, StatusCode::CREATED);
    let got = app
        .call(
            Method::POST,
            "/users",
            None,
            Some(json!({"username": "a2", "password": PASSWORD, "email": "X@Y.test"})),
        )
        .await;
    assert_error(&got, 409, "email_taken");
}

#[tokio::test]
async fn sign_up_rejects_bad_fields_naming_them() {
    let app = spawn_app().await;
    let cases = [
        (json!({"username": "a", "password": PASSWORD}), "username"),
        (
            json!({"username": "x".repeat(33), "password": PASSWORD}),
            "username",
        ),
        (
            json!({"username": "bad name", "password": PASSWORD}),
            "username",
        ),
        (
            json!({"username": "evil\u{202e}", "password": PASSWORD}),
            "username",
        ),
        (json!({"username": "bob", "password": "short"}), "password"),
        (
            json!({"username": "bob", "password": PASSWORD, "email": "not-an-email"}),
            "email",
        ),
        (
            json!({"username": "bob", "password": PASSWORD, "display_name": ""}),
            "display_name",
        ),
        (
            json!({"username": "bob", "password": PASSWORD, "display_name": "nul\u{0}"}),
            "display_name",
        ),
        (json!({"username": 5, "password": PASSWORD}), "username"),
        (json!({"password": PASSWORD}), "username"),
        (json!({"username": "bob"}), "password"),
    ];
    for (body, field) in cases {
        let got = app
            .call(Method::POST, "/users", None, Some(body.clone()))
            .await;
        assert_error(&got, 422, "invalid_field");
        assert_eq!(got.1["error"]["field"], field, "for {body}");
    }
    // Nothing was created by any of those.
    let admin = app.user("checker").await;
    let (_, list) = app.get("/users", &admin).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
}

#[tokio::test]
async fn get_user_hides_email_from_others_and_404s_unknown_ids() {
    let app = spawn_app().await;
    app.call(
        Method::POST,
        "/users",
        None,
        Some(json!({"username": "alice", "password": PASSWORD, "email": "a@x.test"})),
    )
    .await;
    let alice = app.login("alice").await;
    let bob = app.user("bob").await;
    let (status, own) = app.get(&format!("/users/{}", alice.id), &alice).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(own["email"], "a@x.test");
    let (status, seen) = app.get(&format!("/users/{}", alice.id), &bob).await;
    assert_eq!(status, StatusCode::OK);
    assert!(seen.get("email").is_none(), "{seen}");
    assert_error(&app.get("/users/123456789", &bob).await, 404, "not_found");
    assert_error(
        &app.get("/users/not-a-number", &bob).await,
        400,
        "invalid_path",
    );
    assert_error(
        &app.call(Method::GET, &format!("/users/{}", alice.id), None, None)
            .await,
        401,
        "unauthorized",
    );
}

#[tokio::test]
async fn search_by_prefix_and_paginate() {
    let app = spawn_app().await;
    let me = app.user("zed").await;
    for name in ["anna", "Andrew", "annie", "bob", "ann_a"] {
        app.user(name).await;
    }
    let (status, list) = app.get("/users?q=AN", &me).await;
    assert_eq!(status, StatusCode::OK);
    let mut names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["Andrew", "ann_a", "anna", "annie"]);
    // `_` is not a wildcard.
    let (_, list) = app.get("/users?q=ann_", &me).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    // Pages of two, by id, with `after` and `before`.
    let (_, first) = app.get("/users?limit=2", &me).await;
    let first = first.as_array().unwrap().clone();
    assert_eq!(first.len(), 2);
    let last = first[1]["id"].as_str().unwrap();
    let (_, second) = app.get(&format!("/users?limit=2&after={last}"), &me).await;
    let second = second.as_array().unwrap().clone();
    assert_eq!(second.len(), 2);
    assert!(
        second[0]["id"].as_str().unwrap().parse::<u64>().unwrap() > last.parse::<u64>().unwrap()
    );
    let (_, back) = app
        .get(
            &format!(
                "/users?limit=2&before={}",
                second[0]["id"].as_str().unwrap()
            ),
            &me,
        )
        .await;
    assert_eq!(back.as_array().unwrap(), &first);
    // Bounds.
    assert_error(&app.get("/users?limit=0", &me).await, 422, "invalid_field");
    assert_error(
        &app.get("/users?limit=101", &me).await,
        422,
        "invalid_field",
    );
    assert_error(
        &app.get("/users?limit=abc", &me).await,
        422,
        "invalid_field",
    );
    assert_error(&app.get("/users?after=-1", &me).await, 422, "invalid_field");
    let (status, list) = app.get("/users?limit=100", &me).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn users_change_only_their_own_account() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let (status, body) = app
        .put(
            &format!("/users/{}", alice.id),
            &alice,
            json!({"display_name": "Queen Alice", "email": "q@a.test"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["display_name"], "Queen Alice");
    assert_eq!(body["email"], "q@a.test");
    // Bob may not.
    let got = app
        .put(
            &format!("/users/{}", alice.id),
            &bob,
            json!({"display_name": "pwned"}),
        )
        .await;
    assert_error(&got, 403, "missing_permission");
    let got = app.delete(&format!("/users/{}", alice.id), &bob).await;
    assert_error(&got, 403, "missing_permission");
    let (_, after) = app.get(&format!("/users/{}", alice.id), &alice).await;
    assert_eq!(after["display_name"], "Queen Alice");
    // Taking a taken name is a conflict, and changes nothing.
    let got = app
        .put(
            &format!("/users/{}", alice.id),
            &alice,
            json!({"username": "BOB"}),
        )
        .await;
    assert_error(&got, 409, "username_taken");
    // E-mail can be removed with null.
    let (_, body) = app
        .put(
            &format!("/users/{}", alice.id),
            &alice,
            json!({"email": null}),
        )
        .await;
    assert!(body.get("email").is_none(), "{body}");
    let got = app
        .put(
            &format!("/users/{}", alice.id),
            &alice,
            json!({"display_name": ""}),
        )
        .await;
    assert_error(&got, 422, "invalid_field");
}

#[tokio::test]
async fn password_change_needs_the_current_password_and_ends_other_sessions() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let other_session = app.login("alice").await;
    let got = app
        .put(
            &format!("/users/{}", alice.id),
            &alice,
            json!({"password": "new password!"}),
        )
        .await;
    assert_error(&got, 422, "invalid_field");
    assert_eq!(got.1["error"]["field"], "current_password");
    let got = app
        .put(
            &format!("/users/{}", alice.id),
            &alice,
            json!({"password": "new password!", "current_password": "wrong one!"}),
        )
        .await;
    assert_error(&got, 403, "wrong_password");
    let (status, _) = app
        .put(
            &format!("/users/{}", alice.id),
            &alice,
            json!({"password": "new password!", "current_password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // This session lives on, the other one is gone; the new password works.
    assert_eq!(app.get("/auth/me", &alice).await.0, StatusCode::OK);
    assert_error(
        &app.get("/auth/me", &other_session).await,
        401,
        "unauthorized",
    );
    let (status, _) = app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": "alice", "password": "new password!"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn deleting_an_account_revokes_sessions_and_keeps_messages_as_deleted_user() {
    let app = spawn_app().await;
    let owner = app.user("owner").await;
    let leaver = app.user("leaver").await;
    let server = app.server(&owner, "S").await;
    let server_id = server["id"].as_str().unwrap();
    app.join(server_id, &owner, &leaver, "member").await;
    let channel = app.general_channel(server_id, &owner).await;
    let message = app.message(&leaver, &channel, "remember me").await;

    let (status, _) = app.delete(&format!("/users/{}", leaver.id), &leaver).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(&app.get("/auth/me", &leaver).await, 401, "unauthorized");
    assert_error(
        &app.get(&format!("/users/{}", leaver.id), &owner).await,
        404,
        "not_found",
    );
    let (_, kept) = app
        .get(
            &format!("/messages/{}", message["id"].as_str().unwrap()),
            &owner,
        )
        .await;
    assert_eq!(kept["content"], "remember me");
    assert_eq!(kept["author"]["deleted"], true);
    assert_eq!(kept["author_id"], leaver.id.as_str());
    // No longer a member, and the name is free again.
    let (_, members) = app
        .get(&format!("/servers/{server_id}/members"), &owner)
        .await;
    assert_eq!(members.as_array().unwrap().len(), 1);
    app.user("leaver").await;
}

#[tokio::test]
async fn an_owner_cannot_delete_their_account_while_owning_a_server() {
    let app = spawn_app().await;
    let owner = app.user("owner").await;
    app.server(&owner, "Mine").await;
    let got = app.delete(&format!("/users/{}", owner.id), &owner).await;
    assert_error(&got, 409, "owns_servers");
    assert_eq!(app.get("/auth/me", &owner).await.0, StatusCode::OK);
}
