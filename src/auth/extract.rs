//! Extractors: a handler that takes an `Actor` states that it needs a
//! signed-in user (`Actor::authenticate` decides, see `actor.rs`); a
//! handler that takes `ClientIp` gets the peer address.

use axum::extract::FromRequestParts;
use axum::http::Method;
use axum::http::request::Parts;

use crate::auth::actor::{Actor, Intent};
use crate::auth::credentials::FoundSession;
use crate::client_addr::ClientIp;
use crate::error::AppError;
use crate::state::AppState;

impl FromRequestParts<AppState> for Actor {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let intent = match parts.method {
            Method::GET | Method::HEAD | Method::OPTIONS => Intent::Read,
            _ => Intent::Write,
        };
        match parts.extensions.remove::<FoundSession>() {
            Some(found) => Actor::admit(state, &parts.headers, found.via, found.session, intent),
            None => Actor::authenticate(state, &parts.headers, None, intent).await,
        }
    }
}

/// The client's address, as the serve loop decided it (`client_addr`).
impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        Ok(ClientIp::of(&parts.extensions))
    }
}
