//! `/users`: anyone signed in reads accounts; only the account's own user
//! changes or deletes it.

use super::rules::*;
use super::*;
use crate::helpers::PASSWORD;

pub(super) fn rows() -> Vec<Case> {
    vec![
        get("/users", "every user", |_| "/users?limit=100".into())
            .listing(|s| s.cast.member.id.clone())
            .expect(anyone_signed_in_gets(LISTED)),
        // Sign-up is public; a session changes nothing.
        post("/users", "a new account", |_| "/users".into())
            .body(|s| json!({"username": format!("signup{}", s.tag), "password": PASSWORD}))
            .expect(everyone_gets(CREATED)),
        get("/users/{id}", "the member", |s| {
            format!("/users/{}", s.cast.member.id)
        })
        .expect(anyone_signed_in_gets(OK)),
        get("/users/{id}", "an unknown user", |_| {
            format!("/users/{UNKNOWN}")
        })
        .expect(unknown_to(Member)),
        // An account is visible to all: the outsider is refused, not
        // kept in the dark.
        put("/users/{id}", "the member", |s| {
            format!("/users/{}", s.cast.member.id)
        })
        .body(|_| json!({"display_name": "Renamed"}))
        .expect(only_the_member_gets(OK).except(Outsider, FORBIDDEN)),
        put("/users/{id}", "an unknown user", |_| {
            format!("/users/{UNKNOWN}")
        })
        .body(|_| json!({"display_name": "Renamed"}))
        .expect(unknown_to(Member)),
        delete("/users/{id}", "the peer", |s| {
            format!("/users/{}", s.peer().id)
        })
        .needs(Needs::Peer)
        .expect(anyone_signed_in_gets(FORBIDDEN).and(Peer, NO_CONTENT)),
        delete("/users/{id}", "an unknown user", |_| {
            format!("/users/{UNKNOWN}")
        })
        .expect(unknown_to(Member)),
    ]
}

#[tokio::test]
async fn user_routes_answer_each_caller_as_the_rules_say() {
    run(rows()).await;
}
