//! Security, second round: races between a check and a write. Each write
//! is conditional on the state that was checked, so a change that lands
//! between the two wins.

use reqwest::StatusCode;
use serde_json::{Value, json};

use guildhall::domain::message_writer::NewMessage;
use guildhall::events::Audience;
use guildhall::id::Snowflake;
use guildhall::perms::ChannelAccess;

use crate::helpers::{TestApp, TestUser, block, member_path, spawn_app, spawn_app_with};

fn snowflake(id: &str) -> Snowflake {
    Snowflake(id.parse().unwrap())
}

/// A post by `author` in `channel` that passed its checks with `access`,
/// handed to the message writer as the domain does after checking.
async fn post_checked_earlier(
    app: &TestApp,
    author: &TestUser,
    channel: &str,
    access: ChannelAccess,
    audience: Audience,
) -> Result<guildhall::domain::model::Message, guildhall::error::AppError> {
    let author = app
        .state
        .store
        .author(snowflake(&author.id))
        .await
        .unwrap()
        .unwrap();
    app.state
        .messages
        .post(NewMessage {
            channel_id: snowflake(channel),
            author,
            content: "checked before, written after".into(),
            reply_to: None,
            nonce: None,
            audience,
            access,
        })
        .await
}

async fn contents(app: &TestApp, viewer: &TestUser, channel: &str) -> Vec<Value> {
    let (status, list) = app
        .get(&format!("/messages?channel_id={channel}"), viewer)
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].clone())
        .collect()
}

#[tokio::test]
async fn a_post_checked_before_a_kick_and_written_after_it_is_refused() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let kicked = app.delete(&member_path(&g, &g.member), &g.owner).await;
    assert!(kicked.0.is_success(), "{kicked:?}");
    let refused = post_checked_earlier(
        &app,
        &g.member,
        &g.channel_id,
        ChannelAccess::Server(Some(guildhall::domain::values::Role::Member)),
        Audience::Server(snowflake(&g.server_id)),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    assert!(contents(&app, &g.owner, &g.channel_id).await.is_empty());
    // A member's post written the same way lands.
    let landed = post_checked_earlier(
        &app,
        &g.admin,
        &g.channel_id,
        ChannelAccess::Server(Some(guildhall::domain::values::Role::Admin)),
        Audience::Server(snowflake(&g.server_id)),
    )
    .await;
    assert!(landed.is_ok(), "{landed:?}");
}

#[tokio::test]
async fn a_dm_post_checked_before_a_block_and_written_after_it_is_refused() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let (status, dm) = app
        .post("/channels", &alice, json!({"recipient_id": bob.id}))
        .await;
    assert!(status.is_success(), "{dm}");
    let dm_id = dm["id"].as_str().unwrap().to_string();
    block(&app, &bob, &alice).await;
    let audience = Audience::Users(vec![snowflake(&alice.id), snowflake(&bob.id)]);
    let refused = post_checked_earlier(
        &app,
        &alice,
        &dm_id,
        ChannelAccess::Direct {
            participant: true,
            blocked: false,
        },
        audience,
    )
    .await
    .unwrap_err();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(refused.code(), "blocked");
    assert!(contents(&app, &alice, &dm_id).await.is_empty());
}

#[tokio::test]
async fn posts_racing_a_kick_either_land_before_it_or_are_refused() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let posts = (0..40).map(|i| {
        app.client
            .post(app.url("/messages"))
            .bearer_auth(&g.member.token)
            .json(&json!({"channel_id": g.channel_id, "content": format!("race {i}")}))
            .send()
    });
    let kick = async {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        app.delete(&member_path(&g, &g.member), &g.owner).await
    };
    let (answers, kicked) = tokio::join!(futures_util::future::join_all(posts), kick);
    assert!(kicked.0.is_success());
    let mut accepted = Vec::new();
    for (i, answer) in answers.into_iter().enumerate() {
        let status = answer.unwrap().status();
        match status {
            StatusCode::CREATED => accepted.push(Value::from(format!("race {i}"))),
            StatusCode::NOT_FOUND => {}
            other => panic!("post {i}: {other}"),
        }
    }
    let mut stored = contents(&app, &g.owner, &g.channel_id).await;
    stored.sort_by_key(|v| v.to_string());
    accepted.sort_by_key(|v| v.to_string());
    assert_eq!(
        stored, accepted,
        "exactly the acknowledged posts are stored"
    );
}

#[tokio::test]
async fn a_login_checked_against_the_old_password_opens_no_session_after_a_change() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let id = snowflake(&alice.id);
    let old = app.state.store.password_hash(id).await.unwrap().unwrap();
    let changed = app
        .put(
            &format!("/users/{}", alice.id),
            &alice,
            json!({"password": "a brand new password", "current_password": crate::helpers::PASSWORD}),
        )
        .await;
    assert_eq!(changed.0, StatusCode::OK, "{changed:?}");
    let new = app.state.store.password_hash(id).await.unwrap().unwrap();
    let session = |hash: &'static str, password_hash: String| {
        let app = &app;
        async move {
            app.state
                .store
                .create_session(guildhall::store::sessions::NewSession {
                    id: app.state.ids.next().unwrap(),
                    user_id: id,
                    token_hash: hash,
                    csrf_token: "csrf",
                    now: 1,
                    expires_at: i64::MAX,
                    user_agent: "test",
                    password_hash: &password_hash,
                })
                .await
                .unwrap()
        }
    };
    assert!(!session("checked-before", old).await, "refused");
    assert!(
        session("checked-after", new).await,
        "the new hash opens one"
    );
}

#[tokio::test]
async fn logins_racing_a_password_change_leave_no_session_with_the_old_password() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let logins = (0..6).map(|_| {
        app.client
            .post(app.url("/auth/login"))
            .json(&json!({"username": "alice", "password": crate::helpers::PASSWORD}))
            .send()
    });
    let path = format!("/users/{}", alice.id);
    let change = app.put(
        &path,
        &alice,
        json!({"password": "a brand new password", "current_password": crate::helpers::PASSWORD}),
    );
    let (answers, changed) = tokio::join!(futures_util::future::join_all(logins), change);
    assert_eq!(changed.0, StatusCode::OK, "{changed:?}");
    for answer in answers {
        let res = answer.unwrap();
        if res.status() != StatusCode::OK {
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
            continue;
        }
        let body: Value = res.json().await.unwrap();
        let token = body["token"].as_str().unwrap();
        let me = app
            .client
            .get(app.url("/auth/me"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            me.status(),
            StatusCode::UNAUTHORIZED,
            "an old-password session survived"
        );
    }
}

#[tokio::test]
async fn a_relationship_write_judged_on_a_stale_state_changes_nothing() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let (_, request) = app
        .post("/friendlists", &alice, json!({"friend_id": bob.id}))
        .await;
    let id = snowflake(request["id"].as_str().unwrap());
    // Bob's accept was judged on the pending request...
    let pending = app.state.store.relationship(id).await.unwrap().unwrap();
    // ...and Alice blocks before it is written.
    let blocked = app
        .post(
            "/friendlists",
            &alice,
            json!({"friend_id": bob.id, "status": "blocked"}),
        )
        .await;
    assert!(blocked.0.is_success(), "{blocked:?}");
    let stale = app
        .state
        .store
        .set_relationship_status(
            &pending,
            guildhall::domain::values::RelationshipStatus::Accepted,
            None,
            1,
        )
        .await
        .unwrap_err();
    assert_eq!(stale.code(), "relationship_changed");
    let stale = app
        .state
        .store
        .delete_relationship(&pending)
        .await
        .unwrap_err();
    assert_eq!(stale.code(), "relationship_changed");
    let (_, now) = app
        .get(
            &format!("/friendlists/{}", request["id"].as_str().unwrap()),
            &alice,
        )
        .await;
    assert_eq!(now["status"], "blocked", "the block stands: {now}");
}

#[tokio::test]
async fn an_accept_racing_a_block_never_erases_the_block() {
    let app = spawn_app().await;
    for round in 0..5 {
        let alice = app.user(&format!("alice{round}")).await;
        let bob = app.user(&format!("bob{round}")).await;
        let (_, request) = app
            .post("/friendlists", &alice, json!({"friend_id": bob.id}))
            .await;
        let path = format!(
            "/friendlists/{}",
            request["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{request}"))
        );
        let accept = app.put(&path, &bob, json!({"status": "accepted"}));
        let block = app.post(
            "/friendlists",
            &alice,
            json!({"friend_id": bob.id, "status": "blocked"}),
        );
        let (accepted, blocked) = tokio::join!(accept, block);
        assert!(blocked.0.is_success(), "{blocked:?}");
        assert!(
            accepted.0.is_success()
                || [
                    StatusCode::FORBIDDEN,
                    StatusCode::NOT_FOUND,
                    StatusCode::CONFLICT
                ]
                .contains(&accepted.0),
            "{accepted:?}"
        );
        let (_, now) = app.get(&path, &alice).await;
        assert_eq!(now["status"], "blocked", "round {round}: {now}");
    }
}

/// Sends every request at once; returns their statuses.
async fn all_at_once(
    app: &TestApp,
    user: &TestUser,
    bodies: Vec<(&str, Value)>,
) -> Vec<StatusCode> {
    let sends = bodies.into_iter().map(|(path, body)| {
        app.client
            .post(app.url(path))
            .bearer_auth(&user.token)
            .json(&body)
            .send()
    });
    futures_util::future::join_all(sends)
        .await
        .into_iter()
        .map(|r| r.unwrap().status())
        .collect()
}

#[tokio::test]
async fn parallel_creations_cannot_pass_the_quotas() {
    let app = spawn_app_with(|c| {
        c.max_servers_per_user = 3;
        c.max_channels_per_server = 4; // `general` plus three
    })
    .await;
    let alice = app.user("alice").await;
    let servers = (0..8)
        .map(|i| ("/servers", json!({"name": format!("S{i}")})))
        .collect();
    let statuses = all_at_once(&app, &alice, servers).await;
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    assert_eq!(created, 3, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::FORBIDDEN)
    );
    let (_, mine) = app.get("/servers", &alice).await;
    assert_eq!(mine.as_array().unwrap().len(), 3);

    let server = mine[0]["id"].as_str().unwrap().to_string();
    let channels = (0..8)
        .map(|i| {
            (
                "/channels",
                json!({"server_id": server, "name": format!("c{i}")}),
            )
        })
        .collect();
    let statuses = all_at_once(&app, &alice, channels).await;
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    assert_eq!(created, 3, "{statuses:?}");
    let (_, list) = app
        .get(&format!("/channels?server_id={server}"), &alice)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 4, "{list}");
}

#[tokio::test]
async fn parallel_invite_acceptances_cannot_pass_the_server_quota() {
    let app = spawn_app_with(|c| c.max_servers_per_user = 2).await;
    let owners = [
        app.user("owner1").await,
        app.user("owner2").await,
        app.user("owner3").await,
    ];
    let bob = app.user("bob").await;
    let mut codes = Vec::new();
    for i in 0..6 {
        let owner = &owners[i / 2];
        let server = app.server(owner, &format!("S{i}")).await;
        let (status, invite) = app
            .post(
                &format!("/servers/{}/invites", server["id"].as_str().unwrap()),
                owner,
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{invite}");
        codes.push(invite["code"].as_str().unwrap().to_string());
    }
    let paths: Vec<String> = codes
        .iter()
        .map(|c| format!("/invites/{c}/accept"))
        .collect();
    let joins = paths.iter().map(|p| (p.as_str(), json!({}))).collect();
    let statuses = all_at_once(&app, &bob, joins).await;
    let joined = statuses.iter().filter(|s| s.is_success()).count();
    assert_eq!(joined, 2, "{statuses:?}");
    let (_, mine) = app.get("/servers", &bob).await;
    assert_eq!(mine.as_array().unwrap().len(), 2);
}
