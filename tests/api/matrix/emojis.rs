//! `/emojis`: whoever reads a message reacts to it; only the reactor
//! changes a reaction; the reactor and the server's moderators remove it.
//! In a DM nobody moderates, and a block stops reacting.

use super::rules::*;
use super::*;

pub(super) fn rows() -> Vec<Case> {
    fn reaction(s: &Scene) -> String {
        format!("/emojis/{}", s.reaction_id)
    }
    fn dm_reaction(s: &Scene) -> String {
        format!("/emojis/{}", s.dm().reaction_id)
    }
    fn on_dm_message(s: &Scene) -> Value {
        json!({"message_id": s.dm().message_id, "emoji": "🎉"})
    }
    fn party(_: &Scene) -> Value {
        json!({"emoji": "🎉"})
    }
    vec![
        get("/emojis", "the reactions to the member's message", |s| {
            format!("/emojis?message_id={}", s.message_id)
        })
        .listing(|s| s.reaction_id.clone())
        .expect(members_get(LISTED)),
        post("/emojis", "the member's message", |_| "/emojis".into())
            .body(|s| json!({"message_id": s.message_id, "emoji": "🎉"}))
            .expect(members_get(CREATED).and(OtherMember, CREATED)),
        get("/emojis/{id}", "the member's reaction", reaction)
            .expect(members_get(OK).and(OtherMember, OK)),
        put("/emojis/{id}", "the member's reaction", reaction)
            .body(party)
            .expect(only_the_member_gets(OK)),
        delete("/emojis/{id}", "the member's reaction", reaction)
            .expect(the_member_and_moderators_get(NO_CONTENT)),
        get("/emojis", "the reactions to the member's DM message", |s| {
            format!("/emojis?message_id={}", s.dm().message_id)
        })
        .needs(Needs::Dm)
        .listing(|s| s.dm().reaction_id.clone())
        .expect(both_parties_get(LISTED)),
        post("/emojis", "the member's DM message", |_| "/emojis".into())
            .body(on_dm_message)
            .needs(Needs::Dm)
            .expect(both_parties_get(CREATED)),
        get("/emojis/{id}", "the member's DM reaction", dm_reaction)
            .needs(Needs::Dm)
            .expect(both_parties_get(OK)),
        put("/emojis/{id}", "the member's DM reaction", dm_reaction)
            .body(party)
            .needs(Needs::Dm)
            .expect(parties_get(OK, FORBIDDEN)),
        // A DM has no moderators: the other party cannot remove it.
        delete("/emojis/{id}", "the member's DM reaction", dm_reaction)
            .needs(Needs::Dm)
            .expect(parties_get(NO_CONTENT, FORBIDDEN)),
        post("/emojis", "the member's DM message after a block", |_| {
            "/emojis".into()
        })
        .body(on_dm_message)
        .needs(Needs::Block)
        .expect(both_parties_get(BLOCKED)),
        put(
            "/emojis/{id}",
            "the member's DM reaction after a block",
            dm_reaction,
        )
        .body(party)
        .needs(Needs::Block)
        .expect(parties_get(BLOCKED, FORBIDDEN)),
    ]
}

#[tokio::test]
async fn emoji_routes_answer_each_caller_as_the_rules_say() {
    run(rows()).await;
}
