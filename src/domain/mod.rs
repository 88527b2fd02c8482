//! The domain: what Guildhall does, independent of transport. Each
//! operation takes the acting user and parsed input, asks `perms`, calls
//! `store`, publishes the typed event, and returns the REST shape. HTTP
//! handlers and socket handlers both call these; neither holds the logic.
//!
//! Request bodies are defined here too (not in `http/`) because the socket
//! gateway receives the same payloads and must parse them the same way.

pub mod channels;
pub mod message_writer;
pub mod messages;
pub mod model;
pub mod online;
pub mod presence;
pub mod reactions;
pub mod readiness;
pub mod ready;
pub mod relationships;
pub mod servers;
pub mod sessions;
pub mod typing;
pub mod users;
pub mod values;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::error::AppError;

/// Turns a request payload (REST body or socket event data) into `T`:
/// it must be a JSON object; a field of the wrong type or a missing one is
/// a 422 naming the field.
pub fn from_json_value<T: DeserializeOwned>(value: Value) -> Result<T, AppError> {
    if !value.is_object() {
        return Err(AppError::invalid("body", "must be a JSON object"));
    }
    serde_path_to_error::deserialize(value).map_err(invalid_input)
}

/// A 422 for input that did not deserialize, naming the field (or query
/// parameter) at fault and never echoing the value. A missing field is
/// reported at its parent's path, so its name comes from the message.
pub fn invalid_input<E: std::fmt::Display>(e: serde_path_to_error::Error<E>) -> AppError {
    let path = e.path().to_string();
    let message = without_input(&e.inner().to_string());
    let field = if path == "." {
        missing_field(&message).unwrap_or("body").to_owned()
    } else {
        path
    };
    AppError::invalid(field, message)
}

/// The field named by serde's "missing field `x`" message, if it is one.
fn missing_field(message: &str) -> Option<&str> {
    let (_, rest) = message.split_once("missing field `")?;
    rest.split_once('`').map(|(name, _)| name)
}

/// serde's messages quote the offending value (`invalid type: string
/// "<script>", expected u64`); error answers must not echo client input,
/// so keep only the kind of error and what was expected.
fn without_input(message: &str) -> String {
    match message.split_once(", expected") {
        Some((head, expected)) => {
            let kind = head.split([':', '`', '"']).next().unwrap_or(head).trim();
            format!("{kind}, expected{expected}")
        }
        None => message.to_owned(),
    }
}

/// Parses a JSON document, then `from_json_value`; bad JSON is a 400.
pub fn from_json_bytes<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| AppError::bad_request("malformed_json", e.to_string()))?;
    from_json_value(value)
}

/// For PATCH-like updates: an absent field is `None`, an explicit `null`
/// is `Some(None)`, a value is `Some(Some(v))`.
pub(crate) fn explicit_null<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
