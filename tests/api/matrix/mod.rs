//! The access-control matrix: every REST route, called by every kind of
//! caller, with the answer each must get. `src/perms.rs` decides and the
//! README's "Roles and rules" promise: 401 without a session, 404 when the
//! caller may not even see the target (an outsider, a third user), 403 when
//! they see it but may not act.
//!
//! Each row is a route, a target built from a scene, and the answer per
//! caller. The runner gives every caller of a write a fresh scene of its
//! own, so that one caller's success (a delete, a kick, a hand-over) never
//! changes what the next caller meets, and it checks that every refused
//! write left everything the scene's users can read exactly as it was.
//!
//! This file is the runner; each resource's table is a file of its own, and
//! `rules.rs` names the answer lists the tables share, so that a row reads
//! as the rule it checks (`admins_and_owner_get(OK)`).

mod auth;
mod channels;
mod emojis;
mod friendlists;
mod members;
mod messages;
mod ops;
mod rules;
mod servers;
mod users;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, spawn_app};

use rules::Answers;

/// Who calls. In a scene's server: its owner, two admins and two plain
/// members, and an outsider who is not in it. `Peer` is a user made for
/// the scene: the other party of the member's DM or relationship, to which
/// the outsider and the admins are third users. A row lists its callers
/// in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Anonymous,
    Outsider,
    Member,
    OtherMember,
    Admin,
    OtherAdmin,
    Owner,
    Peer,
}

use Who::*;

/// The answer a caller must get: a success status; a 200 list that shows
/// the row's target or not; or an error status with its `error.code`.
#[derive(Clone, Copy, Debug)]
enum Want {
    Success(u16),
    Lists { target: bool },
    Refused(u16, &'static str),
}

const OK: Want = Want::Success(200);
const CREATED: Want = Want::Success(201);
const NO_CONTENT: Want = Want::Success(204);
const LISTED: Want = Want::Lists { target: true };
const UNLISTED: Want = Want::Lists { target: false };
const UNAUTHORIZED: Want = Want::Refused(401, "unauthorized");
const FORBIDDEN: Want = Want::Refused(403, "missing_permission");
const BLOCKED: Want = Want::Refused(403, "blocked");
const NOT_FOUND: Want = Want::Refused(404, "not_found");

/// An id nothing has.
const UNKNOWN: &str = "123456789";

/// What a row's target needs besides the server every scene has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Needs {
    /// The server alone: its members, a message and a reaction by the member.
    Server,
    /// A peer.
    Peer,
    /// A peer logged in twice.
    SecondSession,
    /// A DM between the member and a peer, with a message and a reaction
    /// by the member.
    Dm,
    /// That DM, after the member blocked the peer.
    Block,
    /// The member's pending friend request to a peer.
    Request,
    /// The member and a peer are friends.
    Friends,
}

/// One row of the matrix.
struct Case {
    method: Method,
    /// The route as `contract.rs` and the OpenAPI document name it.
    route: &'static str,
    /// What the row's path points at.
    target: &'static str,
    path: fn(&Scene) -> String,
    body: Option<fn(&Scene) -> Value>,
    /// For a list: the id of the item `LISTED` and `UNLISTED` look for.
    listed: Option<fn(&Scene) -> String>,
    needs: Needs,
    expect: Vec<(Who, Want)>,
}

fn row(
    method: Method,
    route: &'static str,
    target: &'static str,
    path: fn(&Scene) -> String,
) -> Case {
    Case {
        method,
        route,
        target,
        path,
        body: None,
        listed: None,
        needs: Needs::Server,
        expect: Vec::new(),
    }
}

fn get(route: &'static str, target: &'static str, path: fn(&Scene) -> String) -> Case {
    row(Method::GET, route, target, path)
}

fn post(route: &'static str, target: &'static str, path: fn(&Scene) -> String) -> Case {
    row(Method::POST, route, target, path)
}

fn put(route: &'static str, target: &'static str, path: fn(&Scene) -> String) -> Case {
    row(Method::PUT, route, target, path)
}

fn delete(route: &'static str, target: &'static str, path: fn(&Scene) -> String) -> Case {
    row(Method::DELETE, route, target, path)
}

impl Case {
    fn body(mut self, body: fn(&Scene) -> Value) -> Self {
        self.body = Some(body);
        self
    }

    fn listing(mut self, listed: fn(&Scene) -> String) -> Self {
        self.listed = Some(listed);
        self
    }

    fn needs(mut self, needs: Needs) -> Self {
        self.needs = needs;
        self
    }

    fn expect(mut self, answers: Answers) -> Self {
        self.expect = answers.into_vec();
        self
    }
}

/// The users every scene shares.
#[derive(Clone)]
struct Cast {
    owner: TestUser,
    admin: TestUser,
    other_admin: TestUser,
    member: TestUser,
    other_member: TestUser,
    outsider: TestUser,
}

/// The member's DM with the peer.
struct Dm {
    channel_id: String,
    message_id: String,
    reaction_id: String,
}

/// A fresh server with the cast in it, and whatever else a row needs.
struct Scene {
    /// Unique in the world: names made for this scene use it.
    tag: usize,
    cast: Cast,
    server_id: String,
    /// An unlimited invite to the server.
    invite_code: String,
    /// The server's `general` channel.
    channel_id: String,
    /// The member's message in `general`.
    message_id: String,
    /// The member's reaction to that message.
    reaction_id: String,
    peer: Option<TestUser>,
    dm: Option<Dm>,
    relationship_id: Option<String>,
    other_session_id: Option<String>,
}

impl Scene {
    fn user(&self, who: Who) -> Option<&TestUser> {
        Some(match who {
            Anonymous => return None,
            Outsider => &self.cast.outsider,
            Member => &self.cast.member,
            OtherMember => &self.cast.other_member,
            Admin => &self.cast.admin,
            OtherAdmin => &self.cast.other_admin,
            Owner => &self.cast.owner,
            Peer => self.peer(),
        })
    }

    fn peer(&self) -> &TestUser {
        self.peer.as_ref().expect("the row needs a peer")
    }

    fn dm(&self) -> &Dm {
        self.dm.as_ref().expect("the row needs a DM")
    }

    fn relationship_id(&self) -> String {
        let id = self.relationship_id.as_ref();
        id.expect("the row needs a relationship").clone()
    }

    fn relationship(&self) -> String {
        format!("/friendlists/{}", self.relationship_id())
    }

    fn server(&self) -> String {
        format!("/servers/{}", self.server_id)
    }

    fn member_of_server(&self, user: &TestUser) -> String {
        format!("/servers/{}/members/{}", self.server_id, user.id)
    }
}

/// One app with its cast, for one table.
struct World {
    app: TestApp,
    cast: Cast,
    scenes: AtomicUsize,
}

/// POSTs as `user`, asserting 201; returns the created thing's id.
async fn create(app: &TestApp, user: &TestUser, path: &str, body: Value) -> String {
    let (status, created) = app.post(path, user, body).await;
    assert_eq!(status, StatusCode::CREATED, "POST {path}: {created}");
    created["id"].as_str().unwrap().to_string()
}

impl World {
    async fn new() -> Self {
        let app = spawn_app().await;
        let cast = Cast {
            owner: app.user("owner").await,
            admin: app.user("admin").await,
            other_admin: app.user("admin2").await,
            member: app.user("member").await,
            other_member: app.user("member2").await,
            outsider: app.user("outsider").await,
        };
        Self {
            app,
            cast,
            scenes: AtomicUsize::new(0),
        }
    }

    async fn scene(&self, needs: Needs) -> Scene {
        let (app, cast) = (&self.app, &self.cast);
        let tag = self.scenes.fetch_add(1, Ordering::Relaxed);
        let server = app.server(&cast.owner, "Matrix").await;
        let server_id = server["id"].as_str().unwrap().to_string();
        for (user, role) in [
            (&cast.admin, "admin"),
            (&cast.other_admin, "admin"),
            (&cast.member, "member"),
            (&cast.other_member, "member"),
        ] {
            app.join(&server_id, &cast.owner, user, role).await;
        }
        let invites = format!("/servers/{server_id}/invites");
        let (status, invite) = app.post(&invites, &cast.owner, json!({})).await;
        assert_eq!(status, StatusCode::CREATED, "{invite}");
        let channel_id = app.general_channel(&server_id, &cast.owner).await;
        let message = app.message(&cast.member, &channel_id, "hello").await;
        let message_id = message["id"].as_str().unwrap().to_string();
        let reaction = json!({"message_id": message_id, "emoji": "👍"});
        let reaction_id = create(app, &cast.member, "/emojis", reaction).await;
        let mut scene = Scene {
            tag,
            cast: cast.clone(),
            server_id,
            invite_code: invite["code"].as_str().unwrap().to_string(),
            channel_id,
            message_id,
            reaction_id,
            peer: None,
            dm: None,
            relationship_id: None,
            other_session_id: None,
        };
        if needs == Needs::Server {
            return scene;
        }
        let peer = app.user(&format!("peer{tag}")).await;
        match needs {
            Needs::Server | Needs::Peer => {}
            Needs::SecondSession => {
                app.login(&peer.username).await;
                let (status, sessions) = app.get("/auth/sessions", &peer).await;
                assert_eq!(status, StatusCode::OK, "{sessions}");
                let other = sessions
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|s| s["current"] == false);
                scene.other_session_id = Some(other.unwrap()["id"].as_str().unwrap().to_string());
            }
            Needs::Dm | Needs::Block => {
                let channel_id = create(
                    app,
                    &cast.member,
                    "/channels",
                    json!({"recipient_id": peer.id}),
                )
                .await;
                let message = app.message(&cast.member, &channel_id, "psst").await;
                let message_id = message["id"].as_str().unwrap().to_string();
                let reaction = json!({"message_id": message_id, "emoji": "👍"});
                let reaction_id = create(app, &cast.member, "/emojis", reaction).await;
                scene.dm = Some(Dm {
                    channel_id,
                    message_id,
                    reaction_id,
                });
                if needs == Needs::Block {
                    let block = json!({"friend_id": peer.id, "status": "blocked"});
                    scene.relationship_id =
                        Some(create(app, &cast.member, "/friendlists", block).await);
                }
            }
            Needs::Request | Needs::Friends => {
                let request = json!({"friend_id": peer.id});
                let id = create(app, &cast.member, "/friendlists", request).await;
                if needs == Needs::Friends {
                    let accept = json!({"status": "accepted"});
                    let (status, body) =
                        app.put(&format!("/friendlists/{id}"), &peer, accept).await;
                    assert_eq!(status, StatusCode::OK, "{body}");
                }
                scene.relationship_id = Some(id);
            }
        }
        scene.peer = Some(peer);
        scene
    }

    /// Everything of the scene its users can read, each as someone allowed
    /// to: what a refused write must leave exactly as it was.
    async fn snapshot(&self, scene: &Scene) -> Vec<(String, StatusCode, Value)> {
        let cast = &scene.cast;
        let sid = &scene.server_id;
        let mut reads = vec![
            (&cast.owner, scene.server()),
            (&cast.owner, format!("/servers/{sid}/members?limit=100")),
            (&cast.owner, format!("/channels?server_id={sid}&limit=100")),
            (
                &cast.owner,
                format!("/messages?channel_id={}&limit=100", scene.channel_id),
            ),
            (
                &cast.owner,
                format!("/emojis?message_id={}&limit=100", scene.message_id),
            ),
            (&cast.member, format!("/users/{}", cast.member.id)),
            (&cast.outsider, "/servers?limit=100".to_string()),
            (&cast.outsider, "/friendlists?limit=100".to_string()),
        ];
        if let Some(peer) = &scene.peer {
            reads.extend([
                (peer, format!("/users/{}", peer.id)),
                (peer, "/auth/sessions".to_string()),
                (peer, "/friendlists?limit=100".to_string()),
                (peer, "/channels?limit=100".to_string()),
            ]);
        }
        if let Some(dm) = &scene.dm {
            reads.extend([
                (
                    &cast.member,
                    format!("/messages?channel_id={}&limit=100", dm.channel_id),
                ),
                (
                    &cast.member,
                    format!("/emojis?message_id={}&limit=100", dm.message_id),
                ),
            ]);
        }
        if scene.relationship_id.is_some() {
            reads.push((&cast.member, scene.relationship()));
        }
        let mut seen = Vec::with_capacity(reads.len());
        for (viewer, path) in reads {
            let (status, body) = self.app.get(&path, viewer).await;
            seen.push((format!("GET {path} as {}", viewer.username), status, body));
        }
        seen
    }

    /// Calls the row's route as `who`; returns what went wrong, if anything.
    async fn check(&self, case: &Case, scene: &Scene, who: Who, want: Want) -> Vec<String> {
        let path = (case.path)(scene);
        let body = case.body.map(|body| body(scene));
        let refused_write = case.method != Method::GET && matches!(want, Want::Refused(..));
        let before = if refused_write {
            Some(self.snapshot(scene).await)
        } else {
            None
        };
        let token = scene.user(who).map(|user| user.token.as_str());
        let (status, answer) = self.app.call(case.method.clone(), &path, token, body).await;
        let at = format!(
            "{} {} ({}) as {who:?}: {path}",
            case.method, case.route, case.target
        );
        let mut wrong = Vec::new();
        let right = match want {
            Want::Success(expected) => {
                status.as_u16() == expected && (expected != 204 || answer.is_null())
            }
            Want::Lists { target } => {
                let listed = case.listed.expect("a LISTED row names its target");
                let id = listed(scene);
                let items = answer.as_array().map(|items| items.iter());
                status == StatusCode::OK
                    && items.is_some_and(|mut items| {
                        items.any(|item| item["id"] == id.as_str()) == target
                    })
            }
            Want::Refused(expected, code) => {
                status.as_u16() == expected
                    && answer["error"]["code"] == code
                    && answer["error"]["message"].is_string()
            }
        };
        if !right {
            wrong.push(format!("{at}\n    want {want:?}, got {status} {answer}"));
        }
        if let Some(before) = before {
            let after = self.snapshot(scene).await;
            for (was, is) in before.iter().zip(&after) {
                if was != is {
                    wrong.push(format!(
                        "{at}\n    refused, yet {} changed:\n    from {} {}\n    to   {} {}",
                        was.0, was.1, was.2, is.1, is.2
                    ));
                }
            }
        }
        wrong
    }
}

/// Runs a table on a world of its own: reads share a scene per row, each
/// caller of a write gets its own.
async fn run(cases: Vec<Case>) {
    let world = World::new().await;
    let mut wrong = Vec::new();
    let mut checked = 0;
    for case in &cases {
        assert!(!case.expect.is_empty(), "{} has no callers", case.route);
        let shared = if case.method == Method::GET {
            Some(world.scene(case.needs).await)
        } else {
            None
        };
        for &(who, want) in &case.expect {
            let own;
            let scene = match &shared {
                Some(scene) => scene,
                None => {
                    own = world.scene(case.needs).await;
                    &own
                }
            };
            wrong.extend(world.check(case, scene, who, want).await);
            checked += 1;
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {checked} calls answered wrongly:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

fn all_rows() -> Vec<Case> {
    [
        users::rows(),
        auth::rows(),
        servers::rows(),
        members::rows(),
        channels::rows(),
        messages::rows(),
        emojis::rows(),
        friendlists::rows(),
        ops::rows(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[tokio::test]
async fn the_matrix_covers_every_documented_route() {
    let app = spawn_app().await;
    let (status, doc) = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let covered: BTreeSet<String> = all_rows()
        .iter()
        .map(|case| format!("{} {}", case.method, case.route))
        .collect();
    assert_eq!(covered, documented);
}
