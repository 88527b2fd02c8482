//! `/servers/{id}/members`: listing the members, changing roles (and
//! handing the server over), leaving and kicking.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    Guild, TestApp, TestUser, accept_invite, assert_error, invite_code, invites_path, member_path,
    members_path, roles, send_raw, server_ids, server_path, server_snapshot, spawn_app,
    unreadable_bodies, values_of,
};

// ------------------------------------------------------ GET /servers/{id}/members

#[tokio::test]
async fn every_member_lists_the_members_with_their_roles() {
    let app = spawn_app().await;
    let g = app.guild().await;
    for user in [&g.owner, &g.admin, &g.member] {
        let (status, members) = app.get(&members_path(&g), user).await;
        assert_eq!(status, StatusCode::OK, "{members}");
        assert_eq!(
            values_of(&members, "user_id"),
            [
                g.owner.id.as_str(),
                g.admin.id.as_str(),
                g.member.id.as_str()
            ]
        );
        for (m, (name, role)) in members.as_array().unwrap().iter().zip([
            ("owner", "owner"),
            ("admin", "admin"),
            ("member", "member"),
        ]) {
            assert_eq!(m["server_id"], g.server_id.as_str());
            assert_eq!(m["username"], name);
            assert!(m["display_name"].is_string(), "{m}");
            assert_eq!(m["role"], role);
            assert!(m["joined_at"].as_str().unwrap().ends_with('Z'));
        }
    }
}

#[tokio::test]
async fn members_list_paginates_by_user_id() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let extra1 = app.user("extra1").await;
    let extra2 = app.user("extra2").await;
    app.join(&g.server_id, &g.owner, &extra1, "member").await;
    app.join(&g.server_id, &g.owner, &extra2, "member").await;
    // The outsider's id sits between the members' and must not show up.
    let all: Vec<String> = [&g.owner, &g.admin, &g.member, &extra1, &extra2]
        .iter()
        .map(|u| u.id.clone())
        .collect();
    let page = |query: String| {
        let path = format!("{}?{query}", members_path(&g));
        let viewer = g.member.clone();
        let app = &app;
        async move {
            let (status, list) = app.get(&path, &viewer).await;
            assert_eq!(status, StatusCode::OK, "{path}: {list}");
            values_of(&list, "user_id")
        }
    };
    assert_eq!(page(String::new()).await, all);
    assert_eq!(page("limit=2".into()).await, all[0..2]);
    assert_eq!(
        page(format!("limit=2&after={}", g.admin.id)).await,
        all[2..4]
    );
    assert_eq!(
        page(format!("after={}", extra2.id)).await,
        Vec::<String>::new()
    );
    assert_eq!(
        page(format!("limit=2&before={}", extra1.id)).await,
        all[1..3]
    );
    assert_eq!(
        page(format!("after={}&before={}", g.owner.id, extra2.id)).await,
        all[1..4]
    );
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=x", "limit"),
        ("after=x", "after"),
        ("before=-5", "before"),
    ] {
        let got = app
            .get(&format!("{}?{query}", members_path(&g)), &g.member)
            .await;
        assert_error(&got, 422, "invalid_field");
        assert_eq!(got.1["error"]["field"], field, "for {query}");
    }
}

// ------------------------------------------ PUT /servers/{id}/members/{user_id}

#[tokio::test]
async fn owner_promotes_a_member_and_demotes_an_admin() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let (status, promoted) = app
        .put(
            &member_path(&g, &g.member),
            &g.owner,
            json!({"role": "admin"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{promoted}");
    assert_eq!(promoted["server_id"], g.server_id.as_str());
    assert_eq!(promoted["user_id"], g.member.id.as_str());
    assert_eq!(promoted["username"], "member");
    assert_eq!(promoted["role"], "admin");
    let (status, demoted) = app
        .put(
            &member_path(&g, &g.admin),
            &g.owner,
            json!({"role": "member"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{demoted}");
    assert_eq!(demoted["user_id"], g.admin.id.as_str());
    assert_eq!(demoted["role"], "member");
    assert_eq!(
        roles(&app, &g.server_id, &g.member).await,
        ["owner=owner", "admin=member", "member=admin"]
    );
    // Setting the role a member already has is fine.
    let (status, same) = app
        .put(
            &member_path(&g, &g.admin),
            &g.owner,
            json!({"role": "member"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(same["role"], "member");
    // The new roles take effect: the demoted admin may no longer rename.
    let got = app
        .put(&server_path(&g), &g.admin, json!({"name": "x"}))
        .await;
    assert_error(&got, 403, "missing_permission");
    let (status, _) = app
        .put(
            &server_path(&g),
            &g.member,
            json!({"name": "By the new admin"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

/// Has `actor` give each target its role, asserting every change is
/// refused with `status` and `code` and that the server and its members
/// are as they were.
async fn assert_role_changes_refused(
    app: &TestApp,
    g: &Guild,
    actor: &TestUser,
    changes: &[(&TestUser, &str)],
    status: u16,
    code: &str,
) {
    let before = server_snapshot(app, &g.server_id, &g.owner).await;
    for &(target, role) in changes {
        let got = app
            .put(&member_path(g, target), actor, json!({"role": role}))
            .await;
        assert_error(&got, status, code);
    }
    assert_eq!(server_snapshot(app, &g.server_id, &g.owner).await, before);
}

#[tokio::test]
async fn admin_cannot_change_roles() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let changes = [
        (&g.member, "admin"),
        (&g.member, "owner"),
        (&g.owner, "member"),
        (&g.admin, "owner"),
        (&g.admin, "member"),
    ];
    assert_role_changes_refused(&app, &g, &g.admin, &changes, 403, "missing_permission").await;
}

#[tokio::test]
async fn member_cannot_change_roles() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let changes = [
        (&g.member, "admin"),
        (&g.member, "owner"),
        (&g.admin, "member"),
        (&g.owner, "member"),
    ];
    assert_role_changes_refused(&app, &g, &g.member, &changes, 403, "missing_permission").await;
}

#[tokio::test]
async fn owner_cannot_change_own_role() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let changes = ["member", "admin", "owner"].map(|role| (&g.owner, role));
    let own_role = "cannot_change_own_role";
    assert_role_changes_refused(&app, &g, &g.owner, &changes, 409, own_role).await;
}

#[tokio::test]
async fn making_a_member_owner_transfers_ownership() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let (status, new_owner) = app
        .put(
            &member_path(&g, &g.member),
            &g.owner,
            json!({"role": "owner"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{new_owner}");
    assert_eq!(new_owner["user_id"], g.member.id.as_str());
    assert_eq!(new_owner["role"], "owner");
    let (_, server) = app.get(&server_path(&g), &g.admin).await;
    assert_eq!(server["owner_id"], g.member.id.as_str());
    assert_eq!(
        roles(&app, &g.server_id, &g.admin).await,
        ["owner=admin", "admin=admin", "member=owner"]
    );

    // The old owner is an admin now: no role changes, no deleting.
    let before = server_snapshot(&app, &g.server_id, &g.member).await;
    let got = app
        .put(
            &member_path(&g, &g.admin),
            &g.owner,
            json!({"role": "member"}),
        )
        .await;
    assert_error(&got, 403, "missing_permission");
    let got = app
        .put(
            &member_path(&g, &g.owner),
            &g.owner,
            json!({"role": "owner"}),
        )
        .await;
    assert_error(&got, 403, "missing_permission");
    assert_error(
        &app.delete(&server_path(&g), &g.owner).await,
        403,
        "missing_permission",
    );
    // The new owner cannot leave or change their own role.
    assert_error(
        &app.delete(&member_path(&g, &g.member), &g.member).await,
        409,
        "owner_cannot_leave",
    );
    assert_error(
        &app.put(
            &member_path(&g, &g.member),
            &g.member,
            json!({"role": "admin"}),
        )
        .await,
        409,
        "cannot_change_own_role",
    );
    assert_eq!(server_snapshot(&app, &g.server_id, &g.member).await, before);

    // ... but does change the others' roles, and the old owner may leave.
    let (status, _) = app
        .put(
            &member_path(&g, &g.owner),
            &g.member,
            json!({"role": "member"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.delete(&member_path(&g, &g.owner), &g.owner).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        roles(&app, &g.server_id, &g.member).await,
        ["admin=admin", "member=owner"]
    );
}

#[tokio::test]
async fn ownership_can_go_to_an_admin_and_back() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let (status, _) = app
        .put(
            &member_path(&g, &g.admin),
            &g.owner,
            json!({"role": "owner"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, back) = app
        .put(
            &member_path(&g, &g.owner),
            &g.admin,
            json!({"role": "owner"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{back}");
    assert_eq!(back["role"], "owner");
    let (_, server) = app.get(&server_path(&g), &g.member).await;
    assert_eq!(server["owner_id"], g.owner.id.as_str());
    assert_eq!(
        roles(&app, &g.server_id, &g.member).await,
        ["owner=owner", "admin=admin", "member=member"]
    );
}

#[tokio::test]
async fn role_changes_for_non_members_are_404_and_transfer_nothing() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let before = server_snapshot(&app, &g.server_id, &g.owner).await;
    for target in [g.outsider.id.as_str(), "1234567890"] {
        for role in ["admin", "owner"] {
            let got = app
                .put(
                    &format!("{}/{target}", members_path(&g)),
                    &g.owner,
                    json!({"role": role}),
                )
                .await;
            assert_error(&got, 404, "not_found");
        }
    }
    assert_eq!(server_snapshot(&app, &g.server_id, &g.owner).await, before);
    assert_error(
        &app.get(&server_path(&g), &g.outsider).await,
        404,
        "not_found",
    );
}

#[tokio::test]
async fn role_changes_refuse_bad_roles_and_bodies() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let before = server_snapshot(&app, &g.server_id, &g.owner).await;
    let path = member_path(&g, &g.member);
    for body in [
        json!({"role": "superuser"}),
        json!({"role": "Admin"}),
        json!({"role": " admin"}),
        json!({"role": ""}),
        json!({"role": 1}),
        json!({"role": null}),
        json!({"role": ["admin"]}),
        json!({}),
    ] {
        let got = app.put(&path, &g.owner, body.clone()).await;
        assert_error(&got, 422, "invalid_field");
        assert_eq!(got.1["error"]["field"], "role", "for {body}");
    }
    for (body, content_type, status, code) in unreadable_bodies("role", r#"{"role": "admin"}"#) {
        let got = send_raw(&app, Method::PUT, &path, &g.owner, content_type, &body).await;
        assert_error(&got, status, code);
    }
    assert_eq!(server_snapshot(&app, &g.server_id, &g.owner).await, before);
}

// --------------------------------------- DELETE /servers/{id}/members/{user_id}

#[tokio::test]
async fn members_and_admins_can_leave() {
    let app = spawn_app().await;
    let g = app.guild().await;
    for user in [&g.member, &g.admin] {
        let (status, body) = app.delete(&member_path(&g, user), user).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(body, Value::Null);
        assert_error(&app.get(&server_path(&g), user).await, 404, "not_found");
        assert_eq!(server_ids(&app, user).await, Vec::<String>::new());
        // Leaving twice: the server is no longer visible.
        assert_error(
            &app.delete(&member_path(&g, user), user).await,
            404,
            "not_found",
        );
    }
    assert_eq!(roles(&app, &g.server_id, &g.owner).await, ["owner=owner"]);
}

#[tokio::test]
async fn owner_kicks_admins_and_members() {
    let app = spawn_app().await;
    let g = app.guild().await;
    for user in [&g.admin, &g.member] {
        let (status, body) = app.delete(&member_path(&g, user), &g.owner).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(body, Value::Null);
    }
    assert_eq!(roles(&app, &g.server_id, &g.owner).await, ["owner=owner"]);
    for user in [&g.admin, &g.member] {
        assert_kicked(&app, &g, user).await;
    }
}

#[tokio::test]
async fn admin_kicks_members() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let (status, _) = app.delete(&member_path(&g, &g.member), &g.admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        roles(&app, &g.server_id, &g.owner).await,
        ["owner=owner", "admin=admin"]
    );
    assert_kicked(&app, &g, &g.member).await;
}

/// A removed user sees nothing of the server any more.
async fn assert_kicked(app: &TestApp, g: &Guild, user: &TestUser) {
    assert_error(&app.get(&server_path(g), user).await, 404, "not_found");
    assert_error(&app.get(&members_path(g), user).await, 404, "not_found");
    assert_error(
        &app.get(&format!("/channels/{}", g.channel_id), user).await,
        404,
        "not_found",
    );
    let got = app
        .post(
            "/messages",
            user,
            json!({"channel_id": g.channel_id, "content": "let me back in"}),
        )
        .await;
    assert_error(&got, 404, "not_found");
    assert!(!server_ids(app, user).await.contains(&g.server_id));
}

#[tokio::test]
async fn removing_a_non_member_is_404() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let before = server_snapshot(&app, &g.server_id, &g.owner).await;
    for actor in [&g.owner, &g.admin, &g.member] {
        for target in [g.outsider.id.as_str(), "1234567890"] {
            let got = app
                .delete(&format!("{}/{target}", members_path(&g)), actor)
                .await;
            assert_error(&got, 404, "not_found");
        }
    }
    assert_eq!(server_snapshot(&app, &g.server_id, &g.owner).await, before);
}

#[tokio::test]
async fn a_kicked_admin_can_rejoin_by_invite_as_a_plain_member() {
    let app = spawn_app().await;
    let g = app.guild().await;
    let (status, _) = app.delete(&member_path(&g, &g.admin), &g.owner).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let code = invite_code(&app, &g, &g.owner, json!({})).await;
    assert_eq!(accept_invite(&app, &code, &g.admin).await.0, StatusCode::OK);
    assert_eq!(
        roles(&app, &g.server_id, &g.admin).await,
        ["owner=owner", "admin=member", "member=member"]
    );
    assert_error(
        &app.post(&invites_path(&g), &g.admin, json!({})).await,
        403,
        "missing_permission",
    );
}
