//! `/messages`: members read and post in a server's channels, the author
//! edits, the author and the moderators delete; a DM's two parties read and
//! post, each edits and deletes only their own, and a block stops posting.

use super::rules::*;
use super::*;

pub(super) fn rows() -> Vec<Case> {
    fn message(s: &Scene) -> String {
        format!("/messages/{}", s.message_id)
    }
    fn dm_message(s: &Scene) -> String {
        format!("/messages/{}", s.dm().message_id)
    }
    fn dm_history(s: &Scene) -> String {
        format!("/messages?channel_id={}", s.dm().channel_id)
    }
    fn into_dm(s: &Scene) -> Value {
        json!({"channel_id": s.dm().channel_id, "content": "hi"})
    }
    fn edited(_: &Scene) -> Value {
        json!({"content": "edited"})
    }
    vec![
        get("/messages", "the server channel's history", |s| {
            format!("/messages?channel_id={}", s.channel_id)
        })
        .listing(|s| s.message_id.clone())
        .expect(members_get(LISTED)),
        post("/messages", "the server's channel", |_| "/messages".into())
            .body(|s| json!({"channel_id": s.channel_id, "content": "hi"}))
            .expect(members_get(CREATED)),
        get("/messages/{id}", "the member's message", message)
            .expect(members_get(OK).and(OtherMember, OK)),
        put("/messages/{id}", "the member's message", message)
            .body(edited)
            .expect(only_the_member_gets(OK)),
        delete("/messages/{id}", "the member's message", message)
            .expect(the_member_and_moderators_get(NO_CONTENT)),
        get("/messages", "the DM's history", dm_history)
            .needs(Needs::Dm)
            .listing(|s| s.dm().message_id.clone())
            .expect(both_parties_get(LISTED)),
        post("/messages", "the DM", |_| "/messages".into())
            .body(into_dm)
            .needs(Needs::Dm)
            .expect(both_parties_get(CREATED)),
        get("/messages/{id}", "the member's DM message", dm_message)
            .needs(Needs::Dm)
            .expect(both_parties_get(OK)),
        // A DM has no moderators: each party edits and deletes only their own.
        put("/messages/{id}", "the member's DM message", dm_message)
            .body(edited)
            .needs(Needs::Dm)
            .expect(parties_get(OK, FORBIDDEN)),
        delete("/messages/{id}", "the member's DM message", dm_message)
            .needs(Needs::Dm)
            .expect(parties_get(NO_CONTENT, FORBIDDEN)),
        // After a block both parties still read the DM, and neither posts.
        get("/messages", "the DM's history after a block", dm_history)
            .needs(Needs::Block)
            .listing(|s| s.dm().message_id.clone())
            .expect(both_parties_get(LISTED)),
        post("/messages", "the DM after a block", |_| "/messages".into())
            .body(into_dm)
            .needs(Needs::Block)
            .expect(both_parties_get(BLOCKED)),
        put(
            "/messages/{id}",
            "the member's DM message after a block",
            dm_message,
        )
        .body(edited)
        .needs(Needs::Block)
        .expect(parties_get(BLOCKED, FORBIDDEN)),
        delete(
            "/messages/{id}",
            "the member's DM message after a block",
            dm_message,
        )
        .needs(Needs::Block)
        .expect(parties_get(NO_CONTENT, FORBIDDEN)),
    ]
}

#[tokio::test]
async fn message_routes_answer_each_caller_as_the_rules_say() {
    run(rows()).await;
}
