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

/// The HttpOnly cookie that carries the session token (its name without
/// `--secure-cookies`; see `session_cookie`).
pub const SESSION_COOKIE: &str = "guildhall_session";
/// The script-readable cookie that carries the CSRF token (likewise).
pub const CSRF_COOKIE: &str = "csrf_token";

/// The session cookie's name. With `--secure-cookies` it takes the
/// `__Host-` prefix: browsers accept such a cookie only from a secure
/// origin, with `Path=/` and no `Domain`, so neither a sibling subdomain
/// nor a plain-HTTP page can set or shadow it; the unprefixed name is then
/// never read.
pub fn session_cookie(secure: bool) -> &'static str {
    if secure {
        "__Host-guildhall_session"
    } else {
        SESSION_COOKIE
    }
}

/// The CSRF cookie's name, prefixed like the session cookie's.
pub fn csrf_cookie(secure: bool) -> &'static str {
    if secure {
        "__Host-csrf_token"
    } else {
        CSRF_COOKIE
    }
}
/// The header a cookie-authenticated write must echo the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
