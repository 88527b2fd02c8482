//! `/servers` and their invites: members read, admins and the owner
//! manage, only the owner deletes, and an invite code lets anyone in.

use super::rules::*;
use super::*;

pub(super) fn rows() -> Vec<Case> {
    vec![
        get("/servers", "the caller's servers", |_| {
            "/servers?limit=100".into()
        })
        .listing(|s| s.server_id.clone())
        .expect(members_get(LISTED).except(Outsider, UNLISTED)),
        post("/servers", "a new server", |_| "/servers".into())
            .body(|_| json!({"name": "Another"}))
            .expect(anyone_signed_in_gets(CREATED)),
        get("/servers/{id}", "the server", Scene::server).expect(members_get(OK)),
        get("/servers/{id}", "an unknown server", |_| {
            format!("/servers/{UNKNOWN}")
        })
        .expect(unknown_to(Member)),
        put("/servers/{id}", "the server", Scene::server)
            .body(|_| json!({"name": "Renamed"}))
            .expect(admins_and_owner_get(OK)),
        delete("/servers/{id}", "the server", Scene::server)
            .expect(only_the_owner_gets(NO_CONTENT)),
        post("/servers/{id}/invites", "the server", |s| {
            format!("/servers/{}/invites", s.server_id)
        })
        .body(|_| json!({}))
        .expect(admins_and_owner_get(CREATED)),
        // A code is the permission: anyone signed in who has it joins (a
        // member is simply still one).
        post("/invites/{code}/accept", "the server's invite", |s| {
            format!("/invites/{}/accept", s.invite_code)
        })
        .expect(anyone_signed_in_gets(OK)),
        post("/invites/{code}/accept", "an unknown invite", |_| {
            "/invites/nosuchcode/accept".into()
        })
        .expect(unknown_to(Outsider)),
        get("/servers/{id}/members", "the server", |s| {
            format!("/servers/{}/members", s.server_id)
        })
        .expect(members_get(OK)),
    ]
}

#[tokio::test]
async fn server_and_invite_routes_answer_each_caller_as_the_rules_say() {
    run(rows()).await;
}
