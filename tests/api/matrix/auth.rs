//! `/auth`: logging in is public; everything else acts on the caller's own
//! sessions.

use super::rules::*;
use super::*;
use crate::helpers::PASSWORD;

pub(super) fn rows() -> Vec<Case> {
    vec![
        // Logging in is public; a session changes nothing.
        post("/auth/login", "the peer's account", |_| {
            "/auth/login".into()
        })
        .body(|s| json!({"username": s.peer().username, "password": PASSWORD}))
        .needs(Needs::Peer)
        .expect(everyone_gets(OK).and(Peer, OK)),
        // Logging out ends the caller's own session: only the peer, made
        // for the scene, can spare it.
        post("/auth/logout", "the caller's session", |_| {
            "/auth/logout".into()
        })
        .needs(Needs::Peer)
        .expect(one_caller(Peer, NO_CONTENT)),
        get("/auth/me", "the caller", |_| "/auth/me".into()).expect(anyone_signed_in_gets(OK)),
        // Each caller lists only their own sessions.
        get("/auth/sessions", "the caller's sessions", |_| {
            "/auth/sessions".into()
        })
        .listing(|s| s.other_session_id.clone().unwrap())
        .needs(Needs::SecondSession)
        .expect(listed_only_to(&[Peer])),
        delete("/auth/sessions/{id}", "the peer's other session", |s| {
            let id = s.other_session_id.as_ref().unwrap();
            format!("/auth/sessions/{id}")
        })
        .needs(Needs::SecondSession)
        .expect(anyone_signed_in_gets(NOT_FOUND).and(Peer, NO_CONTENT)),
        delete("/auth/sessions/{id}", "an unknown session", |_| {
            format!("/auth/sessions/{UNKNOWN}")
        })
        .expect(unknown_to(Member)),
    ]
}

#[tokio::test]
async fn auth_routes_answer_each_caller_as_the_rules_say() {
    run(rows()).await;
}
