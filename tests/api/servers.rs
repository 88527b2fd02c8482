//! `/servers`: creating, listing, reading, renaming and deleting servers,
//! by role (owner, admin, member, outsider, anonymous), with the refusals
//! and bad input; and, for every route under `/servers/{id}`, that a
//! foreign or unknown server looks the same and that credentials come
//! first. Invites are in `invites.rs`, members in `members.rs`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    accept_invite, assert_error, invite_code, invites_path, member_path, members_path, send_raw,
    server_ids, server_path, server_snapshot, spawn_app, unreadable_bodies, values_of,
};

/// Names a server may have, stored and returned byte for byte: bidi
/// overrides, right-to-left script, ZWJ sequences, combining marks,
/// zero-width characters, markup and SQL, and 100 characters of 4 bytes.
fn hostile_but_valid_names() -> Vec<String> {
    vec![
        "\u{202E}gnp.exe".into(),
        "abc\u{202E}\u{2066}def\u{2069}\u{202C}".into(),
        "مرحبا بالعالم".into(),
        "👨\u{200D}👩\u{200D}👧\u{200D}👦 family".into(),
        "Z\u{337}\u{322}\u{349}a\u{335}\u{354}l\u{338}g\u{336}o".into(),
        "e\u{301} vs \u{e9}".into(),
        "zero\u{200B}width\u{200D}joiner\u{FEFF}".into(),
        "<script>alert(1)</script>".into(),
        "'; DROP TABLE servers; --".into(),
        "😀".repeat(100),
        "x".repeat(100),
    ]
}

/// Names refused with 422 naming `name`: empty, blank, too long (counted
/// in characters), C0/C1 controls including NUL, line breaks and tabs,
/// and Unicode noncharacters.
fn invalid_names() -> Vec<String> {
    vec![
        String::new(),
        "   ".into(),
        "x".repeat(101),
        "é".repeat(101),
        "😀".repeat(101),
        "\0".into(),
        "nul\0inside".into(),
        "bell\u{7}".into(),
        "esc\u{1b}[31mred".into(),
        "line\nbreak".into(),
        "carriage\rreturn".into(),
        "tab\there".into(),
        "del\u{7f}".into(),
        "next line\u{85}".into(),
        "csi\u{9b}2J".into(),
        "\u{FFFF}".into(),
        "non\u{FDD0}char".into(),
        "plane one \u{1FFFE}".into(),
    ]
}

// ---------------------------------------------------------------- POST /servers

#[tokio::test]
async fn creator_becomes_owner_and_first_member_and_gets_a_general_channel() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let (status, server) = app
        .post("/servers", &alice, json!({"name": "Alice's place"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{server}");
    assert_eq!(server["name"], "Alice's place");
    assert_eq!(server["owner_id"], alice.id.as_str());
    let id = server["id"].as_str().unwrap();
    assert!(id.parse::<u64>().is_ok(), "id is a decimal string: {id}");
    assert!(server["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(server.as_object().unwrap().len(), 4, "{server}");

    let (status, got) = app.get(&format!("/servers/{id}"), &alice).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, server);

    let (status, members) = app.get(&format!("/servers/{id}/members"), &alice).await;
    assert_eq!(status, StatusCode::OK);
    let members = members.as_array().unwrap();
    assert_eq!(members.len(), 1, "{members:?}");
    assert_eq!(members[0]["server_id"], id);
    assert_eq!(members[0]["user_id"], alice.id.as_str());
    assert_eq!(members[0]["username"], "alice");
    assert_eq!(members[0]["role"], "owner");
    assert!(members[0]["joined_at"].as_str().unwrap().ends_with('Z'));

    let (status, channels) = app.get(&format!("/channels?server_id={id}"), &alice).await;
    assert_eq!(status, StatusCode::OK);
    let channels = channels.as_array().unwrap();
    assert_eq!(channels.len(), 1, "{channels:?}");
    assert_eq!(channels[0]["name"], "general");
    assert_eq!(channels[0]["server_id"], id);

    assert_eq!(server_ids(&app, &alice).await, [id]);
}

#[tokio::test]
async fn server_names_must_be_1_to_100_valid_characters() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    for name in invalid_names() {
        let got = app.post("/servers", &alice, json!({"name": name})).await;
        assert_error(&got, 422, "invalid_field");
        assert_eq!(got.1["error"]["field"], "name", "for {name:?}");
    }
    // Nothing was created by any of those.
    assert_eq!(server_ids(&app, &alice).await, Vec::<String>::new());
    // The bounds themselves are fine.
    for name in ["x", &"é".repeat(100)] {
        let (status, body) = app.post("/servers", &alice, json!({"name": name})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["name"], name);
    }
}

#[tokio::test]
async fn hostile_unicode_names_are_stored_byte_for_byte() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    for name in hostile_but_valid_names() {
        let (status, created) = app.post("/servers", &alice, json!({"name": name})).await;
        assert_eq!(status, StatusCode::CREATED, "{name:?}: {created}");
        assert_eq!(
            created["name"].as_str().unwrap().as_bytes(),
            name.as_bytes()
        );
        let id = created["id"].as_str().unwrap();
        let (_, got) = app.get(&format!("/servers/{id}"), &alice).await;
        assert_eq!(got["name"].as_str().unwrap().as_bytes(), name.as_bytes());
    }
    let (_, list) = app.get("/servers?limit=100", &alice).await;
    let listed: Vec<String> = values_of(&list, "name");
    assert_eq!(listed, hostile_but_valid_names());
}

#[tokio::test]
async fn create_server_refuses_unreadable_bodies_and_wrong_types() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    for (body, content_type, status, code) in unreadable_bodies("name", r#"{"name": "x"}"#) {
        let got = send_raw(&app, Method::POST, "/servers", &alice, content_type, &body).await;
        assert_error(&got, status, code);
    }
    for (body, field) in [
        (json!({"name": 5}), "name"),
        (json!({"name": null}), "name"),
        (json!({"name": ["x"]}), "name"),
        (json!({"name": {"text": "x"}}), "name"),
        (json!({"name": true}), "name"),
        (json!({}), "name"),
        (json!({"title": "x"}), "name"),
    ] {
        let got = app.post("/servers", &alice, body.clone()).await;
        assert_error(&got, 422, "invalid_field");
        assert_eq!(got.1["error"]["field"], field, "for {body}");
    }
    for body in [json!("x"), json!(5), json!(null), json!([1, 2])] {
        let got = app.post("/servers", &alice, body).await;
        assert_error(&got, 422, "invalid_field");
    }
    assert_eq!(server_ids(&app, &alice).await, Vec::<String>::new());
}

// ----------------------------------------------------------------- GET /servers

#[tokio::test]
async fn list_servers_shows_only_the_servers_one_belongs_to() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let (_, other) = app
        .post("/servers", &g.outsider, json!({"name": "Elsewhere"}))
        .await;
    let other_id = other["id"].as_str().unwrap().to_string();
    for user in [&g.owner, &g.admin, &g.member] {
        let (status, list) = app.get("/servers", user).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
        assert_eq!(list[0]["id"], g.server_id.as_str());
        assert_eq!(list[0]["name"], "Guild");
        assert_eq!(list[0]["owner_id"], g.owner.id.as_str());
        assert!(list[0]["created_at"].as_str().unwrap().ends_with('Z'));
    }
    assert_eq!(server_ids(&app, &g.outsider).await, [other_id]);
    let loner = app.user("loner").await;
    let (status, list) = app.get("/servers", &loner).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn list_servers_paginates_by_id_with_limit_after_and_before() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let mut mine = Vec::new();
    for i in 0..5 {
        let server = app.server(&alice, &format!("A{i}")).await;
        mine.push(server["id"].as_str().unwrap().to_string());
        // Bob's servers sit between Alice's ids and must never show up.
        app.server(&bob, &format!("B{i}")).await;
    }
    let page = |query: &str| {
        let path = format!("/servers?{query}");
        let alice = alice.clone();
        let app = &app;
        async move {
            let (status, list) = app.get(&path, &alice).await;
            assert_eq!(status, StatusCode::OK, "{path}: {list}");
            values_of(&list, "id")
        }
    };
    assert_eq!(page("").await, mine);
    assert_eq!(page("limit=2").await, mine[0..2]);
    assert_eq!(
        page(&format!("limit=2&after={}", mine[1])).await,
        mine[2..4]
    );
    assert_eq!(page(&format!("limit=2&after={}", mine[3])).await, mine[4..]);
    assert_eq!(
        page(&format!("after={}", mine[4])).await,
        Vec::<String>::new()
    );
    // `before` keeps the items nearest to the cursor, still in id order.
    assert_eq!(
        page(&format!("limit=2&before={}", mine[3])).await,
        mine[1..3]
    );
    assert_eq!(
        page(&format!("before={}", mine[0])).await,
        Vec::<String>::new()
    );
    assert_eq!(
        page(&format!("after={}&before={}", mine[0], mine[4])).await,
        mine[1..4]
    );
    assert_eq!(page("limit=100").await, mine);
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("after=abc", "after"),
        ("after=-1", "after"),
        ("before=1.5", "before"),
    ] {
        let got = app.get(&format!("/servers?{query}"), &alice).await;
        assert_error(&got, 422, "invalid_field");
        assert_eq!(got.1["error"]["field"], field, "for {query}");
    }
}

// ------------------------------------------------------------ GET /servers/{id}

#[tokio::test]
async fn every_member_can_get_the_server() {
    let app = spawn_app().await;
    let g = app.guild().await;
    for user in [&g.owner, &g.admin, &g.member] {
        let (status, server) = app.get(&server_path(&g), user).await;
        assert_eq!(status, StatusCode::OK, "{server}");
        assert_eq!(server["id"], g.server_id.as_str());
        assert_eq!(server["name"], "Guild");
        assert_eq!(server["owner_id"], g.owner.id.as_str());
    }
}

#[tokio::test]
async fn outsiders_get_the_same_404_as_for_an_unknown_server_on_every_route() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let before = server_snapshot(&app, &g.server_id, &g.owner).await;
    let unknown = "1234567890123";
    for server in [g.server_id.as_str(), unknown] {
        let base = format!("/servers/{server}");
        let calls = [
            app.get(&base, &g.outsider).await,
            app.put(&base, &g.outsider, json!({"name": "Mine now"}))
                .await,
            app.delete(&base, &g.outsider).await,
            app.post(&format!("{base}/invites"), &g.outsider, json!({}))
                .await,
            app.get(&format!("{base}/members"), &g.outsider).await,
            app.put(
                &format!("{base}/members/{}", g.member.id),
                &g.outsider,
                json!({"role": "admin"}),
            )
            .await,
            app.put(
                &format!("{base}/members/{}", g.outsider.id),
                &g.outsider,
                json!({"role": "owner"}),
            )
            .await,
            app.delete(&format!("{base}/members/{}", g.member.id), &g.outsider)
                .await,
            app.delete(&format!("{base}/members/{}", g.outsider.id), &g.outsider)
                .await,
        ];
        for got in calls {
            assert_error(&got, 404, "not_found");
            // Nothing tells a real server from one that does not exist.
            assert_eq!(
                got.1,
                json!({"error": {"code": "not_found", "message": "unknown server"}})
            );
        }
    }
    assert_eq!(server_snapshot(&app, &g.server_id, &g.owner).await, before);
    assert_eq!(server_ids(&app, &g.outsider).await, Vec::<String>::new());
}

#[tokio::test]
async fn ids_in_the_path_that_are_not_numbers_are_400() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let before = server_snapshot(&app, &g.server_id, &g.owner).await;
    let bad_ids = [
        "abc",
        "-1",
        "1.5",
        "+1",
        "1e3",
        "0x10",
        "%20",
        "99999999999999999999",
        "9223372036854775808",
    ];
    for bad in bad_ids {
        let (s, u) = (&g.server_id, &g.member.id);
        let calls = [
            app.get(&format!("/servers/{bad}"), &g.owner).await,
            app.put(&format!("/servers/{bad}"), &g.owner, json!({"name": "x"}))
                .await,
            app.delete(&format!("/servers/{bad}"), &g.owner).await,
            app.post(&format!("/servers/{bad}/invites"), &g.owner, json!({}))
                .await,
            app.get(&format!("/servers/{bad}/members"), &g.owner).await,
            app.put(
                &format!("/servers/{bad}/members/{u}"),
                &g.owner,
                json!({"role": "admin"}),
            )
            .await,
            app.put(
                &format!("/servers/{s}/members/{bad}"),
                &g.owner,
                json!({"role": "admin"}),
            )
            .await,
            app.delete(&format!("/servers/{bad}/members/{u}"), &g.owner)
                .await,
            app.delete(&format!("/servers/{s}/members/{bad}"), &g.owner)
                .await,
        ];
        for got in calls {
            assert_error(&got, 400, "invalid_path");
        }
    }
    // The largest id that is a number is merely unknown.
    let got = app.get("/servers/9223372036854775807", &g.owner).await;
    assert_error(&got, 404, "not_found");
    assert_eq!(server_snapshot(&app, &g.server_id, &g.owner).await, before);
}

// ------------------------------------------------------------ PUT /servers/{id}

#[tokio::test]
async fn owner_and_admin_can_rename_a_server() {
    let app = spawn_app().await;
    let g = app.guild().await;
    for (user, name) in [
        (&g.owner, "Renamed by owner"),
        (&g.admin, "Renamed by admin"),
    ] {
        let (status, server) = app.put(&server_path(&g), user, json!({"name": name})).await;
        assert_eq!(status, StatusCode::OK, "{server}");
        assert_eq!(server["id"], g.server_id.as_str());
        assert_eq!(server["name"], name);
        assert_eq!(server["owner_id"], g.owner.id.as_str());
        // Everyone sees the new name.
        let (_, seen) = app.get(&server_path(&g), &g.member).await;
        assert_eq!(seen, server);
    }
}

#[tokio::test]
async fn renaming_keeps_hostile_unicode_byte_for_byte() {
    let app = spawn_app().await;
    let g = app.guild().await;
    for name in hostile_but_valid_names() {
        let (status, server) = app
            .put(&server_path(&g), &g.admin, json!({"name": name}))
            .await;
        assert_eq!(status, StatusCode::OK, "{name:?}: {server}");
        let (_, seen) = app.get(&server_path(&g), &g.member).await;
        assert_eq!(seen["name"].as_str().unwrap().as_bytes(), name.as_bytes());
    }
}

#[tokio::test]
async fn rename_refuses_bad_names_and_bodies_and_changes_nothing() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let before = server_snapshot(&app, &g.server_id, &g.owner).await;
    for name in invalid_names() {
        let got = app
            .put(&server_path(&g), &g.owner, json!({"name": name}))
            .await;
        assert_error(&got, 422, "invalid_field");
        assert_eq!(got.1["error"]["field"], "name", "for {name:?}");
    }
    for body in [
        json!({"name": 5}),
        json!({"name": null}),
        json!({"name": ["x"]}),
        json!({}),
    ] {
        let got = app.put(&server_path(&g), &g.owner, body.clone()).await;
        assert_error(&got, 422, "invalid_field");
        assert_eq!(got.1["error"]["field"], "name", "for {body}");
    }
    for (body, content_type, status, code) in unreadable_bodies("name", r#"{"name": "x"}"#) {
        let got = send_raw(
            &app,
            Method::PUT,
            &server_path(&g),
            &g.owner,
            content_type,
            &body,
        )
        .await;
        assert_error(&got, status, code);
    }
    assert_eq!(server_snapshot(&app, &g.server_id, &g.owner).await, before);
}

#[tokio::test]
async fn renaming_an_unknown_server_is_404() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let got = app
        .put("/servers/1234567890", &alice, json!({"name": "x"}))
        .await;
    assert_error(&got, 404, "not_found");
}

// --------------------------------------------------------- DELETE /servers/{id}

#[tokio::test]
async fn owner_deletes_a_server_with_its_channels_messages_members_and_invites() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let message = app.message(&g.member, &g.channel_id, "soon gone").await;
    let message_id = message["id"].as_str().unwrap();
    let code = invite_code(&app, &g, &g.owner, json!({})).await;

    let (status, body) = app.delete(&server_path(&g), &g.owner).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(body, Value::Null);

    for user in [&g.owner, &g.admin, &g.member] {
        assert_error(&app.get(&server_path(&g), user).await, 404, "not_found");
        assert_error(&app.get(&members_path(&g), user).await, 404, "not_found");
        assert_error(
            &app.get(&format!("/channels/{}", g.channel_id), user).await,
            404,
            "not_found",
        );
        assert_error(
            &app.get(&format!("/channels?server_id={}", g.server_id), user)
                .await,
            404,
            "not_found",
        );
        assert_error(
            &app.get(&format!("/messages/{message_id}"), user).await,
            404,
            "not_found",
        );
        assert_eq!(server_ids(&app, user).await, Vec::<String>::new());
    }
    // Its invites went with it, and deleting again finds nothing.
    assert_error(
        &accept_invite(&app, &code, &g.outsider).await,
        404,
        "not_found",
    );
    assert_error(
        &app.delete(&server_path(&g), &g.owner).await,
        404,
        "not_found",
    );
    // The owner owns nothing any more, so the account can go.
    let (status, _) = app
        .delete(&format!("/users/{}", g.owner.id), &g.owner)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn deleting_an_unknown_server_is_404() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    assert_error(
        &app.delete("/servers/1234567890", &alice).await,
        404,
        "not_found",
    );
}

// -------------------------------------------------------------------- anonymous

#[tokio::test]
async fn anonymous_callers_get_401_on_every_route_and_change_nothing() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let code = invite_code(&app, &g, &g.owner, json!({"max_uses": 1})).await;
    let before = server_snapshot(&app, &g.server_id, &g.owner).await;
    let member = member_path(&g, &g.member);
    let calls: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/servers".into(), None),
        (Method::POST, "/servers".into(), Some(json!({"name": "x"}))),
        (Method::GET, server_path(&g), None),
        (Method::PUT, server_path(&g), Some(json!({"name": "x"}))),
        (Method::DELETE, server_path(&g), None),
        (Method::POST, invites_path(&g), Some(json!({}))),
        (Method::POST, invites_path(&g), None),
        (Method::POST, format!("/invites/{code}/accept"), None),
        (Method::GET, members_path(&g), None),
        (Method::PUT, member.clone(), Some(json!({"role": "owner"}))),
        (Method::DELETE, member, None),
        // Unknown and malformed targets still ask for credentials first.
        (Method::GET, "/servers/1234567890".into(), None),
        (Method::GET, "/servers/abc".into(), None),
    ];
    for (method, path, body) in calls {
        let got = app.call(method.clone(), &path, None, body).await;
        assert_error(&got, 401, "unauthorized");
    }
    assert_eq!(server_snapshot(&app, &g.server_id, &g.owner).await, before);
    // The invite's only use is still there.
    assert_eq!(
        accept_invite(&app, &code, &g.outsider).await.0,
        StatusCode::OK
    );
}
