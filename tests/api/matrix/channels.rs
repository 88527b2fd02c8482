//! `/channels`: a server's channels are read by its members and managed by
//! its admins and owner; a DM is read by its two parties and managed by
//! nobody.

use super::rules::*;
use super::*;

pub(super) fn rows() -> Vec<Case> {
    fn general(s: &Scene) -> String {
        format!("/channels/{}", s.channel_id)
    }
    fn dm(s: &Scene) -> String {
        format!("/channels/{}", s.dm().channel_id)
    }
    vec![
        get("/channels", "the server's channels", |s| {
            format!("/channels?server_id={}", s.server_id)
        })
        .listing(|s| s.channel_id.clone())
        .expect(members_get(LISTED)),
        // Lists are oldest first: this row comes early, while every
        // caller's channels still fit on one page.
        get("/channels", "the caller's channels, with the DM", |_| {
            "/channels?limit=100".into()
        })
        .listing(|s| s.dm().channel_id.clone())
        .needs(Needs::Dm)
        .expect(listed_only_to(&[Member, Peer])),
        post("/channels", "a channel in the server", |_| {
            "/channels".into()
        })
        .body(|s| json!({"server_id": s.server_id, "name": "new-channel"}))
        .expect(admins_and_owner_get(CREATED)),
        get("/channels/{id}", "the server's channel", general).expect(members_get(OK)),
        put("/channels/{id}", "the server's channel", general)
            .body(|_| json!({"name": "renamed"}))
            .expect(admins_and_owner_get(OK)),
        delete("/channels/{id}", "the server's channel", general)
            .expect(admins_and_owner_get(NO_CONTENT)),
        // Anyone may open a DM with anyone who has not blocked them.
        post("/channels", "a DM with the peer", |_| "/channels".into())
            .body(|s| json!({"recipient_id": s.peer().id}))
            .needs(Needs::Peer)
            .expect(anyone_signed_in_gets(CREATED)),
        post("/channels", "a DM with the blocked peer", |_| {
            "/channels".into()
        })
        .body(|s| json!({"recipient_id": s.peer().id}))
        .needs(Needs::Block)
        .expect(anyone_signed_in_gets(CREATED).except(Member, BLOCKED)),
        post("/channels", "a DM with the member who blocked", |_| {
            "/channels".into()
        })
        .body(|s| json!({"recipient_id": s.cast.member.id}))
        .needs(Needs::Block)
        .expect(one_caller(Peer, BLOCKED)),
        get("/channels/{id}", "the DM", dm)
            .needs(Needs::Dm)
            .expect(both_parties_get(OK)),
        get("/channels/{id}", "the DM after a block", dm)
            .needs(Needs::Block)
            .expect(both_parties_get(OK)),
        put("/channels/{id}", "the DM", dm)
            .body(|_| json!({"name": "renamed"}))
            .needs(Needs::Dm)
            .expect(both_parties_get(FORBIDDEN)),
        delete("/channels/{id}", "the DM", dm)
            .needs(Needs::Dm)
            .expect(both_parties_get(FORBIDDEN)),
    ]
}

#[tokio::test]
async fn channel_routes_answer_each_caller_as_the_rules_say() {
    run(rows()).await;
}
