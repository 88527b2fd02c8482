//! Extractors: a handler that takes an `Actor` states that it needs a
//! signed-in user (`Actor::authenticate` decides, see `actor.rs`); a
//! handler that takes `ClientIp` gets the peer address.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::Method;
use axum::http::request::Parts;

use crate::auth::actor::{Actor, Intent};
use crate::error::AppError;
use crate::state::AppState;

impl FromRequestParts<AppState> for Actor {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let intent = match parts.method {
            Method::GET | Method::HEAD | Method::OPTIONS => Intent::Read,
            _ => Intent::Write,
        };
        Actor::authenticate(state, &parts.headers, None, intent).await
    }
}

/// The client's address (the TCP peer; proxies are not trusted).
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        let addr = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        Ok(Self(addr))
    }
}
