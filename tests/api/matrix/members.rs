//! `/servers/{id}/members/{user_id}`: only the owner changes roles; a
//! member leaves by their own id, admins and the owner kick plain members,
//! and only the owner kicks admins.

use super::rules::*;
use super::*;

const OWN_ROLE: Want = Want::Refused(409, "cannot_change_own_role");
const OWNER_STAYS: Want = Want::Refused(409, "owner_cannot_leave");

pub(super) fn rows() -> Vec<Case> {
    vec![
        put("/servers/{id}/members/{user_id}", "a plain member", |s| {
            s.member_of_server(&s.cast.member)
        })
        .body(|_| json!({"role": "admin"}))
        .expect(only_the_owner_gets(OK).and(OtherMember, FORBIDDEN)),
        // Making someone else owner hands the server over.
        put(
            "/servers/{id}/members/{user_id}",
            "an admin, to owner",
            |s| s.member_of_server(&s.cast.admin),
        )
        .body(|_| json!({"role": "owner"}))
        .expect(only_the_owner_gets(OK).and(OtherAdmin, FORBIDDEN)),
        put("/servers/{id}/members/{user_id}", "the owner", |s| {
            s.member_of_server(&s.cast.owner)
        })
        .body(|_| json!({"role": "admin"}))
        .expect(only_the_owner_gets(OWN_ROLE)),
        put(
            "/servers/{id}/members/{user_id}",
            "a user not in the server",
            |s| s.member_of_server(&s.cast.outsider),
        )
        .body(|_| json!({"role": "admin"}))
        .expect(anyone_signed_in_gets(NOT_FOUND)),
        // Your own id is leaving; another's is kicking.
        delete("/servers/{id}/members/{user_id}", "a plain member", |s| {
            s.member_of_server(&s.cast.member)
        })
        .expect(the_member_and_moderators_get(NO_CONTENT)),
        delete("/servers/{id}/members/{user_id}", "an admin", |s| {
            s.member_of_server(&s.cast.admin)
        })
        .expect(
            only_the_owner_gets(NO_CONTENT)
                .except(Admin, NO_CONTENT)
                .and(OtherAdmin, FORBIDDEN),
        ),
        delete("/servers/{id}/members/{user_id}", "the owner", |s| {
            s.member_of_server(&s.cast.owner)
        })
        .expect(only_the_owner_gets(OWNER_STAYS)),
        delete(
            "/servers/{id}/members/{user_id}",
            "a user not in the server",
            |s| s.member_of_server(&s.cast.outsider),
        )
        .expect(anyone_signed_in_gets(NOT_FOUND)),
    ]
}

#[tokio::test]
async fn member_routes_answer_each_caller_as_the_rules_say() {
    run(rows()).await;
}
