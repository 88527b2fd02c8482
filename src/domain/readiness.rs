//! Whether this node can serve: every service it depends on answers. Each
//! check is a name and an outcome; the checks run at once, so an answer
//! takes as long as the slowest check, and each is bounded by its own
//! timeout. On several nodes Redis is checked too (`redis`). The transport shows the result (`GET /readyz`); the
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

/// How long Redis has to answer a `PING`.
pub const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// Every check; the node is ready when all passed.
pub async fn check_readiness(state: &AppState) -> Vec<Check> {
    let (database, redis) = tokio::join!(database(state), redis(state));
    let mut checks = vec![database];
    checks.extend(redis);
    checks
}

/// On several nodes: Redis answers a `PING`.
async fn redis(state: &AppState) -> Option<Check> {
    let redis = state.redis.as_ref()?;
    let mut conn = redis.conn();
    let ping = redis::cmd("PING");
    let outcome =
        match tokio::time::timeout(REDIS_TIMEOUT, ping.query_async::<String>(&mut conn)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "readiness: redis did not answer");
                Err(Failure::Error)
            }
            Err(_) => {
                tracing::warn!("readiness: redis did not answer in time");
                Err(Failure::Timeout)
            }
        };
    Some(Check {
        name: "redis",
        outcome,
    })
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
