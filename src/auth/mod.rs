//! Authentication: password hashing, session tokens, the extractors that
//! turn a request into a user, and the CSRF / Origin rules for cookies.

pub mod actor;
pub mod credentials;
pub mod extract;
pub mod password;
pub mod ratelimit;
pub mod session_cache;
pub mod token;

pub use actor::{Actor, Intent};
pub use credentials::Via;

/// The HttpOnly cookie that carries the session token.
pub const SESSION_COOKIE: &str = "guildhall_session";
/// The script-readable cookie that carries the CSRF token.
pub const CSRF_COOKIE: &str = "csrf_token";
/// The header a cookie-authenticated write must echo the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
