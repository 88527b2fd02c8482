//! The domain: what Guildhall does, independent of transport. Each
//! operation takes the acting user and parsed input, asks `perms`, calls
//! `store`, publishes the typed event, and returns the REST shape. HTTP
//! handlers and socket handlers both call these; neither holds the logic.
//!
//! Request bodies are defined here too (not in `http/`) because the socket
//! gateway receives the same payloads and must parse them the same way.

pub mod channels;
pub mod messages;
pub mod model;
pub mod reactions;
pub mod relationships;
pub mod servers;
pub mod sessions;
pub mod users;
pub mod values;

use serde::{Deserialize, Deserializer};

/// For PATCH-like updates: an absent field is `None`, an explicit `null`
/// is `Some(None)`, a value is `Some(Some(v))`.
pub(crate) fn explicit_null<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
