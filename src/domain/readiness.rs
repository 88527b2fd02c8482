//! Whether this node can serve: every service it depends on answers. Each
//! check is a name and an outcome; the checks run at once, so an answer
//! takes as long as the slowest check, and each is bounded by its own
//! timeout. A new dependency (Redis, with scale-out) is one more check in
//! `check_readiness`. The transport shows the result (`GET /readyz`); the
//! detail of a failure goes to the log, not to the unauthenticated caller.

use std::time::Duration;

use crate::state::AppState;
use crate::store::PingError;

/// How long the database has to answer. A probe should wait a little
/// longer (Kubernetes' `timeoutSeconds` defaults to 1: set 3), so that a
/// slow database reads as a 503 naming it rather than as a probe timeout.
pub const DATABASE_TIMEOUT: Duration = Duration::from_secs(2);

/// Why a check failed, as the caller sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// No answer within the check's timeout.
    Timeout,
    /// An answer, and it was an error (refused, closed, broken).
    Error,
}

impl Failure {
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::Timeout => "timeout",
            Failure::Error => "error",
        }
    }
}

/// One dependency checked.
#[derive(Clone, Copy, Debug)]
pub struct Check {
    pub name: &'static str,
    pub outcome: Result<(), Failure>,
}

/// Every check; the node is ready when all passed.
pub async fn check_readiness(state: &AppState) -> Vec<Check> {
    let (database,) = tokio::join!(database(state));
    vec![database]
}

async fn database(state: &AppState) -> Check {
    let outcome = state.store.ping(DATABASE_TIMEOUT).await.map_err(|e| {
        tracing::warn!(error = %e, "readiness: the database did not answer");
        match e {
            PingError::TimedOut(_) => Failure::Timeout,
            PingError::Failed(_) => Failure::Error,
        }
    });
    Check {
        name: "database",
        outcome,
    }
}
