//! `AppError`: the one error type every layer returns and the edge renders.
//!
//! Each variant has a status and a stable snake_case `code()` that clients
//! may match on. Internal errors are logged with their detail and rendered
//! without it, so SQL or file paths never reach a client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("authentication required")]
    Unauthorized,
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// Unknown, or not visible to the caller: the two are indistinguishable.
    #[error("unknown {0}")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("too many requests; retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// Overloaded for now (the password hashing queue is full).
    #[error("the server is busy; retry after {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    /// A part the request needs (the database, this node's id lease) is
    /// out of reach for now; the client should retry.
    #[error("{what} is unavailable; retry after {retry_after_secs} s")]
    Unavailable {
        what: &'static str,
        retry_after_secs: u64,
    },
    #[error("internal error")]
    Internal(String),
}

impl AppError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::Forbidden {
            code,
            message: message.into(),
        }
    }

    /// A configured quantity limit was reached (servers per user, ...).
    pub fn limit_reached(message: impl Into<String>) -> Self {
        Self::Forbidden {
            code: "limit_reached",
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// A `NotFound` about a container (the channel of a message) becomes
    /// one about the thing asked for; other errors pass unchanged.
    pub fn hidden_as(self, what: &'static str) -> Self {
        match self {
            Self::NotFound(_) => Self::NotFound(what),
            other => other,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Busy { .. } | Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. }
            | Self::Forbidden { code, .. }
            | Self::Conflict { code, .. } => code,
            Self::Unauthorized => "unauthorized",
            Self::NotFound(_) => "not_found",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Invalid { .. } => "invalid_field",
            Self::RateLimited { .. } => "rate_limited",
            Self::Busy { .. } => "busy",
            Self::Unavailable { .. } => "unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    /// The error as the JSON body clients receive.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message: self.to_string(),
                field: match self {
                    Self::Invalid { field, .. } => Some(field.clone()),
                    _ => None,
                },
            },
        }
    }
}

/// `{"error": {"code", "message", "field"?}}`
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, snake_case; safe to match on.
    pub code: String,
    /// Human-readable; may change between versions.
    pub message: String,
    /// The offending input field, for `invalid_field`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let Self::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        if let Self::Unavailable { what, .. } = &self {
            tracing::warn!(what, "answered 503: unavailable");
        }
        if let Self::RateLimited { retry_after_secs }
        | Self::Busy { retry_after_secs }
        | Self::Unavailable {
            retry_after_secs, ..
        } = self
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}

impl From<sqlx::Error> for AppError {
    /// The database out of reach (down, restarting, refusing connections)
    /// is a 503 the client may retry, not a 500: sqlx reconnects by itself
    /// once it is back.
    fn from(e: sqlx::Error) -> Self {
        if is_connection_failure(&e) {
            return Self::Unavailable {
                what: "the database",
                retry_after_secs: 2,
            };
        }
        Self::Internal(format!("database: {e}"))
    }
}

/// True when `e` says the database could not be reached or dropped the
/// connection, rather than refusing the statement.
fn is_connection_failure(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        // PostgreSQL ends a session only with a FATAL (or PANIC) error:
        // refused at connection (a restart, a database closed to
        // connections) or cut off (57P01 admin shutdown). Connection
        // exceptions (class 08) say the same.
        sqlx::Error::Database(d) => {
            let fatal = d
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some_and(|pg| {
                    matches!(
                        pg.severity(),
                        sqlx::postgres::PgSeverity::Fatal | sqlx::postgres::PgSeverity::Panic
                    )
                });
            fatal || d.code().is_some_and(|c| c.starts_with("08"))
        }
        _ => false,
    }
}

impl From<redis::RedisError> for AppError {
    /// On several nodes, Redis out of reach: the client may retry.
    fn from(e: redis::RedisError) -> Self {
        tracing::warn!(error = %e, "redis");
        Self::Unavailable {
            what: "the nodes' shared state",
            retry_after_secs: 2,
        }
    }
}

impl From<crate::id::LeaseExpired> for AppError {
    fn from(_: crate::id::LeaseExpired) -> Self {
        Self::Unavailable {
            what: "this node's id lease",
            retry_after_secs: 2,
        }
    }
}

impl From<sqlx::migrate::MigrateError> for AppError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        Self::Internal(format!("migration: {e}"))
    }
}

/// True when a write failed on a UNIQUE constraint (both databases).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

/// True when a write referenced a row that no longer exists (both databases).
pub fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_foreign_key_violation())
}
