//! `/friendlists`: the member is always one party and the peer the other;
//! the outsider and the admin (who shares a server with the member) are
//! third users and see nothing.

use super::rules::*;
use super::*;

const STILL_BLOCKED: Want = Want::Refused(409, "relationship_blocked");

pub(super) fn rows() -> Vec<Case> {
    fn to_peer(s: &Scene) -> Value {
        json!({"friend_id": s.peer().id})
    }
    fn to_member(s: &Scene) -> Value {
        json!({"friend_id": s.cast.member.id})
    }
    fn accepted(_: &Scene) -> Value {
        json!({"status": "accepted"})
    }
    fn blocked(_: &Scene) -> Value {
        json!({"status": "blocked"})
    }
    fn relationships(_: &Scene) -> String {
        "/friendlists?limit=100".into()
    }
    fn friendlists(_: &Scene) -> String {
        "/friendlists".into()
    }
    let relationship = Scene::relationship;
    vec![
        // Lists are oldest first: these rows come early, while the
        // member's relationships still fit on one page.
        get(
            "/friendlists",
            "the caller's relationships, with a request",
            relationships,
        )
        .listing(Scene::relationship_id)
        .needs(Needs::Request)
        .expect(listed_only_to(&[Member, Peer])),
        get(
            "/friendlists",
            "the caller's relationships, with a block",
            relationships,
        )
        .listing(Scene::relationship_id)
        .needs(Needs::Block)
        .expect(listed_only_to(&[Member])),
        post("/friendlists", "a request to the peer", friendlists)
            .body(to_peer)
            .needs(Needs::Peer)
            .expect(anyone_signed_in_gets(CREATED)),
        // The peer asking back accepts the member's request.
        post(
            "/friendlists",
            "a request to the member who asked",
            friendlists,
        )
        .body(to_member)
        .needs(Needs::Request)
        .expect(one_caller(Peer, OK)),
        post(
            "/friendlists",
            "a request to the member who blocked",
            friendlists,
        )
        .body(to_member)
        .needs(Needs::Block)
        .expect(one_caller(Peer, BLOCKED)),
        get("/friendlists/{id}", "a pending request", relationship)
            .needs(Needs::Request)
            .expect(both_parties_get(OK)),
        // Only the addressee accepts; either party may block or withdraw.
        put(
            "/friendlists/{id}",
            "a pending request, to accepted",
            relationship,
        )
        .body(accepted)
        .needs(Needs::Request)
        .expect(parties_get(FORBIDDEN, OK)),
        put(
            "/friendlists/{id}",
            "a pending request, to blocked",
            relationship,
        )
        .body(blocked)
        .needs(Needs::Request)
        .expect(both_parties_get(OK)),
        delete("/friendlists/{id}", "a pending request", relationship)
            .needs(Needs::Request)
            .expect(both_parties_get(NO_CONTENT)),
        get("/friendlists/{id}", "a friendship", relationship)
            .needs(Needs::Friends)
            .expect(both_parties_get(OK)),
        put(
            "/friendlists/{id}",
            "a friendship, to blocked",
            relationship,
        )
        .body(blocked)
        .needs(Needs::Friends)
        .expect(both_parties_get(OK)),
        delete("/friendlists/{id}", "a friendship", relationship)
            .needs(Needs::Friends)
            .expect(both_parties_get(NO_CONTENT)),
        // A block exists only for the one who blocked.
        get("/friendlists/{id}", "the member's block", relationship)
            .needs(Needs::Block)
            .expect(only_the_blocker_gets(OK)),
        put(
            "/friendlists/{id}",
            "the member's block, to blocked",
            relationship,
        )
        .body(blocked)
        .needs(Needs::Block)
        .expect(only_the_blocker_gets(OK)),
        put(
            "/friendlists/{id}",
            "the member's block, to accepted",
            relationship,
        )
        .body(accepted)
        .needs(Needs::Block)
        .expect(only_the_blocker_gets(STILL_BLOCKED)),
        delete("/friendlists/{id}", "the member's block", relationship)
            .needs(Needs::Block)
            .expect(only_the_blocker_gets(NO_CONTENT)),
    ]
}

#[tokio::test]
async fn friend_list_routes_answer_each_caller_as_the_rules_say() {
    run(rows()).await;
}
