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

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, TestUser, spawn_app};

/// Who calls. In a scene's server: its owner, two admins and two plain
/// members, and an outsider who is not in it. `Peer` is a user made for
/// the scene: the other party of the member's DM or relationship, to which
/// the outsider and the admins are third users.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

    fn expect(mut self, expect: &[(Who, Want)]) -> Self {
        self.expect = expect.to_vec();
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

// ---------------------------------------------------------------- the tables

fn user_rows() -> Vec<Case> {
    vec![
        get("/users", "every user", |_| "/users?limit=100".into())
            .listing(|s| s.cast.member.id.clone())
            .expect(&[
                (Anonymous, UNAUTHORIZED),
                (Outsider, LISTED),
                (Member, LISTED),
                (Admin, LISTED),
                (Owner, LISTED),
            ]),
        // Sign-up is public; a session changes nothing.
        post("/users", "a new account", |_| "/users".into())
            .body(|s| json!({"username": format!("signup{}", s.tag), "password": PASSWORD}))
            .expect(&[
                (Anonymous, CREATED),
                (Outsider, CREATED),
                (Member, CREATED),
                (Admin, CREATED),
                (Owner, CREATED),
            ]),
        get("/users/{id}", "the member", |s| {
            format!("/users/{}", s.cast.member.id)
        })
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, OK),
            (Member, OK),
            (Admin, OK),
            (Owner, OK),
        ]),
        get("/users/{id}", "an unknown user", |_| {
            format!("/users/{UNKNOWN}")
        })
        .expect(&[(Anonymous, UNAUTHORIZED), (Member, NOT_FOUND)]),
        put("/users/{id}", "the member", |s| {
            format!("/users/{}", s.cast.member.id)
        })
        .body(|_| json!({"display_name": "Renamed"}))
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, FORBIDDEN),
            (Member, OK),
            (OtherMember, FORBIDDEN),
            (Admin, FORBIDDEN),
            (Owner, FORBIDDEN),
        ]),
        put("/users/{id}", "an unknown user", |_| {
            format!("/users/{UNKNOWN}")
        })
        .body(|_| json!({"display_name": "Renamed"}))
        .expect(&[(Anonymous, UNAUTHORIZED), (Member, NOT_FOUND)]),
        delete("/users/{id}", "the peer", |s| {
            format!("/users/{}", s.peer().id)
        })
        .needs(Needs::Peer)
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, FORBIDDEN),
            (Member, FORBIDDEN),
            (Admin, FORBIDDEN),
            (Owner, FORBIDDEN),
            (Peer, NO_CONTENT),
        ]),
        delete("/users/{id}", "an unknown user", |_| {
            format!("/users/{UNKNOWN}")
        })
        .expect(&[(Anonymous, UNAUTHORIZED), (Member, NOT_FOUND)]),
    ]
}

fn auth_rows() -> Vec<Case> {
    vec![
        // Logging in is public; a session changes nothing.
        post("/auth/login", "the peer's account", |_| {
            "/auth/login".into()
        })
        .body(|s| json!({"username": s.peer().username, "password": PASSWORD}))
        .needs(Needs::Peer)
        .expect(&[
            (Anonymous, OK),
            (Outsider, OK),
            (Member, OK),
            (Admin, OK),
            (Owner, OK),
            (Peer, OK),
        ]),
        // Logging out ends the caller's own session: only the peer, made
        // for the scene, can spare it.
        post("/auth/logout", "the caller's session", |_| {
            "/auth/logout".into()
        })
        .needs(Needs::Peer)
        .expect(&[(Anonymous, UNAUTHORIZED), (Peer, NO_CONTENT)]),
        get("/auth/me", "the caller", |_| "/auth/me".into()).expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, OK),
            (Member, OK),
            (Admin, OK),
            (Owner, OK),
        ]),
        // Each caller lists only their own sessions.
        get("/auth/sessions", "the caller's sessions", |_| {
            "/auth/sessions".into()
        })
        .listing(|s| s.other_session_id.clone().unwrap())
        .needs(Needs::SecondSession)
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, UNLISTED),
            (Member, UNLISTED),
            (Admin, UNLISTED),
            (Owner, UNLISTED),
            (Peer, LISTED),
        ]),
        delete("/auth/sessions/{id}", "the peer's other session", |s| {
            let id = s.other_session_id.as_ref().unwrap();
            format!("/auth/sessions/{id}")
        })
        .needs(Needs::SecondSession)
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, NOT_FOUND),
            (Admin, NOT_FOUND),
            (Owner, NOT_FOUND),
            (Peer, NO_CONTENT),
        ]),
        delete("/auth/sessions/{id}", "an unknown session", |_| {
            format!("/auth/sessions/{UNKNOWN}")
        })
        .expect(&[(Anonymous, UNAUTHORIZED), (Member, NOT_FOUND)]),
    ]
}

fn server_rows() -> Vec<Case> {
    vec![
        get("/servers", "the caller's servers", |_| {
            "/servers?limit=100".into()
        })
        .listing(|s| s.server_id.clone())
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, UNLISTED),
            (Member, LISTED),
            (Admin, LISTED),
            (Owner, LISTED),
        ]),
        post("/servers", "a new server", |_| "/servers".into())
            .body(|_| json!({"name": "Another"}))
            .expect(&[
                (Anonymous, UNAUTHORIZED),
                (Outsider, CREATED),
                (Member, CREATED),
                (Admin, CREATED),
                (Owner, CREATED),
            ]),
        get("/servers/{id}", "the server", Scene::server).expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, OK),
            (Admin, OK),
            (Owner, OK),
        ]),
        get("/servers/{id}", "an unknown server", |_| {
            format!("/servers/{UNKNOWN}")
        })
        .expect(&[(Anonymous, UNAUTHORIZED), (Member, NOT_FOUND)]),
        put("/servers/{id}", "the server", Scene::server)
            .body(|_| json!({"name": "Renamed"}))
            .expect(&[
                (Anonymous, UNAUTHORIZED),
                (Outsider, NOT_FOUND),
                (Member, FORBIDDEN),
                (Admin, OK),
                (Owner, OK),
            ]),
        delete("/servers/{id}", "the server", Scene::server).expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, FORBIDDEN),
            (Admin, FORBIDDEN),
            (Owner, NO_CONTENT),
        ]),
        post("/servers/{id}/invites", "the server", |s| {
            format!("/servers/{}/invites", s.server_id)
        })
        .body(|_| json!({}))
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, FORBIDDEN),
            (Admin, CREATED),
            (Owner, CREATED),
        ]),
        // A code is the permission: anyone signed in who has it joins (a
        // member is simply still one).
        post("/invites/{code}/accept", "the server's invite", |s| {
            format!("/invites/{}/accept", s.invite_code)
        })
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, OK),
            (Member, OK),
            (Admin, OK),
            (Owner, OK),
        ]),
        post("/invites/{code}/accept", "an unknown invite", |_| {
            "/invites/nosuchcode/accept".into()
        })
        .expect(&[(Anonymous, UNAUTHORIZED), (Outsider, NOT_FOUND)]),
        get("/servers/{id}/members", "the server", |s| {
            format!("/servers/{}/members", s.server_id)
        })
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, OK),
            (Admin, OK),
            (Owner, OK),
        ]),
    ]
}

fn member_rows() -> Vec<Case> {
    vec![
        put("/servers/{id}/members/{user_id}", "a plain member", |s| {
            s.member_of_server(&s.cast.member)
        })
        .body(|_| json!({"role": "admin"}))
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, FORBIDDEN),
            (OtherMember, FORBIDDEN),
            (Admin, FORBIDDEN),
            (Owner, OK),
        ]),
        // Making someone else owner hands the server over.
        put(
            "/servers/{id}/members/{user_id}",
            "an admin, to owner",
            |s| s.member_of_server(&s.cast.admin),
        )
        .body(|_| json!({"role": "owner"}))
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, FORBIDDEN),
            (Admin, FORBIDDEN),
            (OtherAdmin, FORBIDDEN),
            (Owner, OK),
        ]),
        put("/servers/{id}/members/{user_id}", "the owner", |s| {
            s.member_of_server(&s.cast.owner)
        })
        .body(|_| json!({"role": "admin"}))
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, FORBIDDEN),
            (Admin, FORBIDDEN),
            (Owner, Want::Refused(409, "cannot_change_own_role")),
        ]),
        put(
            "/servers/{id}/members/{user_id}",
            "a user not in the server",
            |s| s.member_of_server(&s.cast.outsider),
        )
        .body(|_| json!({"role": "admin"}))
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, NOT_FOUND),
            (Admin, NOT_FOUND),
            (Owner, NOT_FOUND),
        ]),
        // Your own id is leaving; another's is kicking.
        delete("/servers/{id}/members/{user_id}", "a plain member", |s| {
            s.member_of_server(&s.cast.member)
        })
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, NO_CONTENT),
            (OtherMember, FORBIDDEN),
            (Admin, NO_CONTENT),
            (Owner, NO_CONTENT),
        ]),
        delete("/servers/{id}/members/{user_id}", "an admin", |s| {
            s.member_of_server(&s.cast.admin)
        })
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, FORBIDDEN),
            (Admin, NO_CONTENT),
            (OtherAdmin, FORBIDDEN),
            (Owner, NO_CONTENT),
        ]),
        delete("/servers/{id}/members/{user_id}", "the owner", |s| {
            s.member_of_server(&s.cast.owner)
        })
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, FORBIDDEN),
            (Admin, FORBIDDEN),
            (Owner, Want::Refused(409, "owner_cannot_leave")),
        ]),
        delete(
            "/servers/{id}/members/{user_id}",
            "a user not in the server",
            |s| s.member_of_server(&s.cast.outsider),
        )
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, NOT_FOUND),
            (Admin, NOT_FOUND),
            (Owner, NOT_FOUND),
        ]),
    ]
}

fn channel_rows() -> Vec<Case> {
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
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, LISTED),
            (Admin, LISTED),
            (Owner, LISTED),
        ]),
        // Lists are oldest first: this row comes early, while every
        // caller's channels still fit on one page.
        get("/channels", "the caller's channels, with the DM", |_| {
            "/channels?limit=100".into()
        })
        .listing(|s| s.dm().channel_id.clone())
        .needs(Needs::Dm)
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, UNLISTED),
            (Member, LISTED),
            (Admin, UNLISTED),
            (Owner, UNLISTED),
            (Peer, LISTED),
        ]),
        post("/channels", "a channel in the server", |_| {
            "/channels".into()
        })
        .body(|s| json!({"server_id": s.server_id, "name": "new-channel"}))
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, FORBIDDEN),
            (Admin, CREATED),
            (Owner, CREATED),
        ]),
        get("/channels/{id}", "the server's channel", general).expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, OK),
            (Admin, OK),
            (Owner, OK),
        ]),
        put("/channels/{id}", "the server's channel", general)
            .body(|_| json!({"name": "renamed"}))
            .expect(&[
                (Anonymous, UNAUTHORIZED),
                (Outsider, NOT_FOUND),
                (Member, FORBIDDEN),
                (Admin, OK),
                (Owner, OK),
            ]),
        delete("/channels/{id}", "the server's channel", general).expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, FORBIDDEN),
            (Admin, NO_CONTENT),
            (Owner, NO_CONTENT),
        ]),
        // Anyone may open a DM with anyone who has not blocked them.
        post("/channels", "a DM with the peer", |_| "/channels".into())
            .body(|s| json!({"recipient_id": s.peer().id}))
            .needs(Needs::Peer)
            .expect(&[
                (Anonymous, UNAUTHORIZED),
                (Outsider, CREATED),
                (Member, CREATED),
                (Admin, CREATED),
                (Owner, CREATED),
            ]),
        post("/channels", "a DM with the blocked peer", |_| {
            "/channels".into()
        })
        .body(|s| json!({"recipient_id": s.peer().id}))
        .needs(Needs::Block)
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, CREATED),
            (Member, BLOCKED),
            (Admin, CREATED),
            (Owner, CREATED),
        ]),
        post("/channels", "a DM with the member who blocked", |_| {
            "/channels".into()
        })
        .body(|s| json!({"recipient_id": s.cast.member.id}))
        .needs(Needs::Block)
        .expect(&[(Anonymous, UNAUTHORIZED), (Peer, BLOCKED)]),
        get("/channels/{id}", "the DM", dm)
            .needs(Needs::Dm)
            .expect(&[
                (Anonymous, UNAUTHORIZED),
                (Outsider, NOT_FOUND),
                (Member, OK),
                (Admin, NOT_FOUND),
                (Owner, NOT_FOUND),
                (Peer, OK),
            ]),
        get("/channels/{id}", "the DM after a block", dm)
            .needs(Needs::Block)
            .expect(&[
                (Anonymous, UNAUTHORIZED),
                (Outsider, NOT_FOUND),
                (Member, OK),
                (Admin, NOT_FOUND),
                (Owner, NOT_FOUND),
                (Peer, OK),
            ]),
        put("/channels/{id}", "the DM", dm)
            .body(|_| json!({"name": "renamed"}))
            .needs(Needs::Dm)
            .expect(&[
                (Anonymous, UNAUTHORIZED),
                (Outsider, NOT_FOUND),
                (Member, FORBIDDEN),
                (Admin, NOT_FOUND),
                (Owner, NOT_FOUND),
                (Peer, FORBIDDEN),
            ]),
        delete("/channels/{id}", "the DM", dm)
            .needs(Needs::Dm)
            .expect(&[
                (Anonymous, UNAUTHORIZED),
                (Outsider, NOT_FOUND),
                (Member, FORBIDDEN),
                (Admin, NOT_FOUND),
                (Owner, NOT_FOUND),
                (Peer, FORBIDDEN),
            ]),
    ]
}

fn message_rows() -> Vec<Case> {
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
    vec![
        get("/messages", "the server channel's history", |s| {
            format!("/messages?channel_id={}", s.channel_id)
        })
        .listing(|s| s.message_id.clone())
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, LISTED),
            (Admin, LISTED),
            (Owner, LISTED),
        ]),
        post("/messages", "the server's channel", |_| "/messages".into())
            .body(|s| json!({"channel_id": s.channel_id, "content": "hi"}))
            .expect(&[
                (Anonymous, UNAUTHORIZED),
                (Outsider, NOT_FOUND),
                (Member, CREATED),
                (Admin, CREATED),
                (Owner, CREATED),
            ]),
        get("/messages/{id}", "the member's message", message).expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, OK),
            (OtherMember, OK),
            (Admin, OK),
            (Owner, OK),
        ]),
        put("/messages/{id}", "the member's message", message)
            .body(|_| json!({"content": "edited"}))
            .expect(&[
                (Anonymous, UNAUTHORIZED),
                (Outsider, NOT_FOUND),
                (Member, OK),
                (OtherMember, FORBIDDEN),
                (Admin, FORBIDDEN),
                (Owner, FORBIDDEN),
            ]),
        delete("/messages/{id}", "the member's message", message).expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, NO_CONTENT),
            (OtherMember, FORBIDDEN),
            (Admin, NO_CONTENT),
            (Owner, NO_CONTENT),
        ]),
        get("/messages", "the DM's history", dm_history)
            .needs(Needs::Dm)
            .listing(|s| s.dm().message_id.clone())
            .expect(&[
                (Anonymous, UNAUTHORIZED),
                (Outsider, NOT_FOUND),
                (Member, LISTED),
                (Admin, NOT_FOUND),
                (Owner, NOT_FOUND),
                (Peer, LISTED),
            ]),
        post("/messages", "the DM", |_| "/messages".into())
            .body(into_dm)
            .needs(Needs::Dm)
            .expect(&[
                (Anonymous, UNAUTHORIZED),
                (Outsider, NOT_FOUND),
                (Member, CREATED),
                (Admin, NOT_FOUND),
                (Owner, NOT_FOUND),
                (Peer, CREATED),
            ]),
        get("/messages/{id}", "the member's DM message", dm_message)
            .needs(Needs::Dm)
            .expect(&[
                (Anonymous, UNAUTHORIZED),
                (Outsider, NOT_FOUND),
                (Member, OK),
                (Admin, NOT_FOUND),
                (Owner, NOT_FOUND),
                (Peer, OK),
            ]),
        // A DM has no moderators: each party edits and deletes only their own.
        put("/messages/{id}", "the member's DM message", dm_message)
            .body(|_| json!({"content": "edited"}))
            .needs(Needs::Dm)
            .expect(&[
                (Anonymous, UNAUTHORIZED),
                (Outsider, NOT_FOUND),
                (Member, OK),
                (Admin, NOT_FOUND),
                (Owner, NOT_FOUND),
                (Peer, FORBIDDEN),
            ]),
        delete("/messages/{id}", "the member's DM message", dm_message)
            .needs(Needs::Dm)
            .expect(&[
                (Anonymous, UNAUTHORIZED),
                (Outsider, NOT_FOUND),
                (Member, NO_CONTENT),
                (Admin, NOT_FOUND),
                (Owner, NOT_FOUND),
                (Peer, FORBIDDEN),
            ]),
        // After a block both parties still read the DM, and neither posts.
        get("/messages", "the DM's history after a block", dm_history)
            .needs(Needs::Block)
            .listing(|s| s.dm().message_id.clone())
            .expect(&[
                (Anonymous, UNAUTHORIZED),
                (Outsider, NOT_FOUND),
                (Member, LISTED),
                (Admin, NOT_FOUND),
                (Owner, NOT_FOUND),
                (Peer, LISTED),
            ]),
        post("/messages", "the DM after a block", |_| "/messages".into())
            .body(into_dm)
            .needs(Needs::Block)
            .expect(&[
                (Anonymous, UNAUTHORIZED),
                (Outsider, NOT_FOUND),
                (Member, BLOCKED),
                (Admin, NOT_FOUND),
                (Owner, NOT_FOUND),
                (Peer, BLOCKED),
            ]),
        put(
            "/messages/{id}",
            "the member's DM message after a block",
            dm_message,
        )
        .body(|_| json!({"content": "edited"}))
        .needs(Needs::Block)
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, BLOCKED),
            (Admin, NOT_FOUND),
            (Owner, NOT_FOUND),
            (Peer, FORBIDDEN),
        ]),
        delete(
            "/messages/{id}",
            "the member's DM message after a block",
            dm_message,
        )
        .needs(Needs::Block)
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, NO_CONTENT),
            (Admin, NOT_FOUND),
            (Owner, NOT_FOUND),
            (Peer, FORBIDDEN),
        ]),
    ]
}

fn emoji_rows() -> Vec<Case> {
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
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, LISTED),
            (Admin, LISTED),
            (Owner, LISTED),
        ]),
        post("/emojis", "the member's message", |_| "/emojis".into())
            .body(|s| json!({"message_id": s.message_id, "emoji": "🎉"}))
            .expect(&[
                (Anonymous, UNAUTHORIZED),
                (Outsider, NOT_FOUND),
                (Member, CREATED),
                (OtherMember, CREATED),
                (Admin, CREATED),
                (Owner, CREATED),
            ]),
        get("/emojis/{id}", "the member's reaction", reaction).expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, OK),
            (OtherMember, OK),
            (Admin, OK),
            (Owner, OK),
        ]),
        put("/emojis/{id}", "the member's reaction", reaction)
            .body(party)
            .expect(&[
                (Anonymous, UNAUTHORIZED),
                (Outsider, NOT_FOUND),
                (Member, OK),
                (OtherMember, FORBIDDEN),
                (Admin, FORBIDDEN),
                (Owner, FORBIDDEN),
            ]),
        delete("/emojis/{id}", "the member's reaction", reaction).expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, NO_CONTENT),
            (OtherMember, FORBIDDEN),
            (Admin, NO_CONTENT),
            (Owner, NO_CONTENT),
        ]),
        get("/emojis", "the reactions to the member's DM message", |s| {
            format!("/emojis?message_id={}", s.dm().message_id)
        })
        .needs(Needs::Dm)
        .listing(|s| s.dm().reaction_id.clone())
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, LISTED),
            (Admin, NOT_FOUND),
            (Owner, NOT_FOUND),
            (Peer, LISTED),
        ]),
        post("/emojis", "the member's DM message", |_| "/emojis".into())
            .body(on_dm_message)
            .needs(Needs::Dm)
            .expect(&[
                (Anonymous, UNAUTHORIZED),
                (Outsider, NOT_FOUND),
                (Member, CREATED),
                (Admin, NOT_FOUND),
                (Owner, NOT_FOUND),
                (Peer, CREATED),
            ]),
        get("/emojis/{id}", "the member's DM reaction", dm_reaction)
            .needs(Needs::Dm)
            .expect(&[
                (Anonymous, UNAUTHORIZED),
                (Outsider, NOT_FOUND),
                (Member, OK),
                (Admin, NOT_FOUND),
                (Owner, NOT_FOUND),
                (Peer, OK),
            ]),
        put("/emojis/{id}", "the member's DM reaction", dm_reaction)
            .body(party)
            .needs(Needs::Dm)
            .expect(&[
                (Anonymous, UNAUTHORIZED),
                (Outsider, NOT_FOUND),
                (Member, OK),
                (Admin, NOT_FOUND),
                (Owner, NOT_FOUND),
                (Peer, FORBIDDEN),
            ]),
        // A DM has no moderators: the other party cannot remove it.
        delete("/emojis/{id}", "the member's DM reaction", dm_reaction)
            .needs(Needs::Dm)
            .expect(&[
                (Anonymous, UNAUTHORIZED),
                (Outsider, NOT_FOUND),
                (Member, NO_CONTENT),
                (Admin, NOT_FOUND),
                (Owner, NOT_FOUND),
                (Peer, FORBIDDEN),
            ]),
        post("/emojis", "the member's DM message after a block", |_| {
            "/emojis".into()
        })
        .body(on_dm_message)
        .needs(Needs::Block)
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, BLOCKED),
            (Admin, NOT_FOUND),
            (Owner, NOT_FOUND),
            (Peer, BLOCKED),
        ]),
        put(
            "/emojis/{id}",
            "the member's DM reaction after a block",
            dm_reaction,
        )
        .body(party)
        .needs(Needs::Block)
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, BLOCKED),
            (Admin, NOT_FOUND),
            (Owner, NOT_FOUND),
            (Peer, FORBIDDEN),
        ]),
    ]
}

/// The member is always one party and the peer the other; the outsider
/// and the admin (who shares a server with the member) are third users.
fn friendlist_rows() -> Vec<Case> {
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
    vec![
        // Lists are oldest first: these rows come early, while the
        // member's relationships still fit on one page.
        get(
            "/friendlists",
            "the caller's relationships, with a request",
            |_| "/friendlists?limit=100".into(),
        )
        .listing(Scene::relationship_id)
        .needs(Needs::Request)
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, UNLISTED),
            (Member, LISTED),
            (Admin, UNLISTED),
            (Owner, UNLISTED),
            (Peer, LISTED),
        ]),
        get(
            "/friendlists",
            "the caller's relationships, with a block",
            |_| "/friendlists?limit=100".into(),
        )
        .listing(Scene::relationship_id)
        .needs(Needs::Block)
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, UNLISTED),
            (Member, LISTED),
            (Admin, UNLISTED),
            (Owner, UNLISTED),
            (Peer, UNLISTED),
        ]),
        post("/friendlists", "a request to the peer", |_| {
            "/friendlists".into()
        })
        .body(to_peer)
        .needs(Needs::Peer)
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, CREATED),
            (Member, CREATED),
            (Admin, CREATED),
            (Owner, CREATED),
        ]),
        // The peer asking back accepts the member's request.
        post("/friendlists", "a request to the member who asked", |_| {
            "/friendlists".into()
        })
        .body(to_member)
        .needs(Needs::Request)
        .expect(&[(Anonymous, UNAUTHORIZED), (Peer, OK)]),
        post(
            "/friendlists",
            "a request to the member who blocked",
            |_| "/friendlists".into(),
        )
        .body(to_member)
        .needs(Needs::Block)
        .expect(&[(Anonymous, UNAUTHORIZED), (Peer, BLOCKED)]),
        get(
            "/friendlists/{id}",
            "a pending request",
            Scene::relationship,
        )
        .needs(Needs::Request)
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, OK),
            (Admin, NOT_FOUND),
            (Owner, NOT_FOUND),
            (Peer, OK),
        ]),
        put(
            "/friendlists/{id}",
            "a pending request, to accepted",
            Scene::relationship,
        )
        .body(accepted)
        .needs(Needs::Request)
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, FORBIDDEN),
            (Admin, NOT_FOUND),
            (Owner, NOT_FOUND),
            (Peer, OK),
        ]),
        put(
            "/friendlists/{id}",
            "a pending request, to blocked",
            Scene::relationship,
        )
        .body(blocked)
        .needs(Needs::Request)
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, OK),
            (Admin, NOT_FOUND),
            (Owner, NOT_FOUND),
            (Peer, OK),
        ]),
        delete(
            "/friendlists/{id}",
            "a pending request",
            Scene::relationship,
        )
        .needs(Needs::Request)
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, NO_CONTENT),
            (Admin, NOT_FOUND),
            (Owner, NOT_FOUND),
            (Peer, NO_CONTENT),
        ]),
        get("/friendlists/{id}", "a friendship", Scene::relationship)
            .needs(Needs::Friends)
            .expect(&[
                (Anonymous, UNAUTHORIZED),
                (Outsider, NOT_FOUND),
                (Member, OK),
                (Admin, NOT_FOUND),
                (Owner, NOT_FOUND),
                (Peer, OK),
            ]),
        put(
            "/friendlists/{id}",
            "a friendship, to blocked",
            Scene::relationship,
        )
        .body(blocked)
        .needs(Needs::Friends)
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, OK),
            (Admin, NOT_FOUND),
            (Owner, NOT_FOUND),
            (Peer, OK),
        ]),
        delete("/friendlists/{id}", "a friendship", Scene::relationship)
            .needs(Needs::Friends)
            .expect(&[
                (Anonymous, UNAUTHORIZED),
                (Outsider, NOT_FOUND),
                (Member, NO_CONTENT),
                (Admin, NOT_FOUND),
                (Owner, NOT_FOUND),
                (Peer, NO_CONTENT),
            ]),
        // A block exists only for the one who blocked.
        get(
            "/friendlists/{id}",
            "the member's block",
            Scene::relationship,
        )
        .needs(Needs::Block)
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, OK),
            (Admin, NOT_FOUND),
            (Owner, NOT_FOUND),
            (Peer, NOT_FOUND),
        ]),
        put(
            "/friendlists/{id}",
            "the member's block, to blocked",
            Scene::relationship,
        )
        .body(blocked)
        .needs(Needs::Block)
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, OK),
            (Admin, NOT_FOUND),
            (Owner, NOT_FOUND),
            (Peer, NOT_FOUND),
        ]),
        put(
            "/friendlists/{id}",
            "the member's block, to accepted",
            Scene::relationship,
        )
        .body(accepted)
        .needs(Needs::Block)
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, Want::Refused(409, "relationship_blocked")),
            (Admin, NOT_FOUND),
            (Owner, NOT_FOUND),
            (Peer, NOT_FOUND),
        ]),
        delete(
            "/friendlists/{id}",
            "the member's block",
            Scene::relationship,
        )
        .needs(Needs::Block)
        .expect(&[
            (Anonymous, UNAUTHORIZED),
            (Outsider, NOT_FOUND),
            (Member, NO_CONTENT),
            (Admin, NOT_FOUND),
            (Owner, NOT_FOUND),
            (Peer, NOT_FOUND),
        ]),
    ]
}

fn all_rows() -> Vec<Case> {
    [
        user_rows(),
        auth_rows(),
        server_rows(),
        member_rows(),
        channel_rows(),
        message_rows(),
        emoji_rows(),
        friendlist_rows(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

// ---------------------------------------------------------------- the tests

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

#[tokio::test]
async fn user_routes_answer_each_caller_as_the_rules_say() {
    run(user_rows()).await;
}

#[tokio::test]
async fn auth_routes_answer_each_caller_as_the_rules_say() {
    run(auth_rows()).await;
}

#[tokio::test]
async fn server_and_invite_routes_answer_each_caller_as_the_rules_say() {
    run(server_rows()).await;
}

#[tokio::test]
async fn member_routes_answer_each_caller_as_the_rules_say() {
    run(member_rows()).await;
}

#[tokio::test]
async fn channel_routes_answer_each_caller_as_the_rules_say() {
    run(channel_rows()).await;
}

#[tokio::test]
async fn message_routes_answer_each_caller_as_the_rules_say() {
    run(message_rows()).await;
}

#[tokio::test]
async fn emoji_routes_answer_each_caller_as_the_rules_say() {
    run(emoji_rows()).await;
}

#[tokio::test]
async fn friend_list_routes_answer_each_caller_as_the_rules_say() {
    run(friendlist_rows()).await;
}
