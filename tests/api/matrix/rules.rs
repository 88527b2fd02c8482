//! The answer lists the tables share, each named for the rule it states:
//! a row says `admins_and_owner_get(OK)` rather than listing six callers.
//! Every list starts with the anonymous caller (401 unless the route is
//! public) and keeps the callers in `Who` order; `except` and `and` adjust
//! a rule for the one row where it bends.

use super::Who::{self, *};
use super::{FORBIDDEN, LISTED, NOT_FOUND, UNAUTHORIZED, UNLISTED, Want};

/// Who calls a row, and what each must get.
#[derive(Clone, Debug)]
pub(super) struct Answers(Vec<(Who, Want)>);

impl Answers {
    pub(super) fn into_vec(self) -> Vec<(Who, Want)> {
        self.0
    }

    /// `who`, already a caller of the rule, gets `want` instead.
    pub(super) fn except(mut self, who: Who, want: Want) -> Self {
        let answer = self.0.iter_mut().find(|(caller, _)| *caller == who);
        answer
            .unwrap_or_else(|| panic!("{who:?} does not call this rule"))
            .1 = want;
        self
    }

    /// `who`, not a caller of the rule, calls too and gets `want`.
    pub(super) fn and(mut self, who: Who, want: Want) -> Self {
        assert!(
            self.0.iter().all(|(caller, _)| *caller != who),
            "{who:?} already calls this rule"
        );
        self.0.push((who, want));
        self.0.sort_by_key(|(caller, _)| *caller);
        self
    }
}

/// A public route: anonymous or signed in, every caller gets `want`.
pub(super) fn everyone_gets(want: Want) -> Answers {
    anyone_signed_in_gets(want).except(Anonymous, want)
}

/// Any session will do: the outsider, the member, the admin and the owner
/// all get `want`.
pub(super) fn anyone_signed_in_gets(want: Want) -> Answers {
    Answers(vec![
        (Anonymous, UNAUTHORIZED),
        (Outsider, want),
        (Member, want),
        (Admin, want),
        (Owner, want),
    ])
}

/// Only `who` can try the row (it acts on their own session or request).
pub(super) fn one_caller(who: Who, want: Want) -> Answers {
    Answers(vec![(Anonymous, UNAUTHORIZED), (who, want)])
}

/// The target does not exist: `who` gets 404.
pub(super) fn unknown_to(who: Who) -> Answers {
    one_caller(who, NOT_FOUND)
}

/// Whoever is in the server gets `want`; the outsider cannot even see it.
pub(super) fn members_get(want: Want) -> Answers {
    anyone_signed_in_gets(want).except(Outsider, NOT_FOUND)
}

/// Managing the server: a plain member is refused.
pub(super) fn admins_and_owner_get(want: Want) -> Answers {
    members_get(want).except(Member, FORBIDDEN)
}

/// What only the owner may do: admins are refused too.
pub(super) fn only_the_owner_gets(want: Want) -> Answers {
    admins_and_owner_get(want).except(Admin, FORBIDDEN)
}

/// The member's own message, reaction or account: nobody else in the
/// server, not even the owner, may change it.
pub(super) fn only_the_member_gets(want: Want) -> Answers {
    members_get(FORBIDDEN)
        .except(Member, want)
        .and(OtherMember, FORBIDDEN)
}

/// Removing the member's message, reaction or membership: the member
/// and the server's moderators may; another plain member may not.
pub(super) fn the_member_and_moderators_get(want: Want) -> Answers {
    members_get(want).and(OtherMember, FORBIDDEN)
}

/// A DM or relationship between the member and the peer: the outsider,
/// the admin and the owner are third users and get 404.
pub(super) fn parties_get(member: Want, peer: Want) -> Answers {
    anyone_signed_in_gets(NOT_FOUND)
        .except(Member, member)
        .and(Peer, peer)
}

/// Both parties of the member's DM or relationship get `want`.
pub(super) fn both_parties_get(want: Want) -> Answers {
    parties_get(want, want)
}

/// A block exists only for the member, who blocked: to the peer it is as
/// unknown as to third users.
pub(super) fn only_the_blocker_gets(want: Want) -> Answers {
    parties_get(want, NOT_FOUND)
}

/// A list of the caller's own things: `listed` find the row's target in
/// theirs, every other caller (the peer included) does not.
pub(super) fn listed_only_to(listed: &[Who]) -> Answers {
    let everyone = anyone_signed_in_gets(UNLISTED).and(Peer, UNLISTED);
    listed
        .iter()
        .fold(everyone, |answers, &who| answers.except(who, LISTED))
}
