//! Password hashing with argon2id at the crate's defaults (m = 19 MiB,
//! t = 2, p = 1: OWASP's recommended minimum).
//!
//! Hashing is CPU-bound and takes 19 MiB, so it runs on a small pool of
//! threads of its own (one per core, at most `MAX_HASHERS`), never on a
//! request's async worker nor on Tokio's blocking pool: there, every
//! concurrent login got a thread and its own 19 MiB, and the allocator
//! kept each block (64 logins at once left 845 MiB behind). A hasher
//! thread reuses the same memory from one hash to the next; logins beyond
//! the pool wait their turn.

use std::sync::OnceLock;
use std::sync::mpsc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use tokio::sync::oneshot;

use crate::domain::values::Password;
use crate::error::AppError;

/// The most hasher threads, whatever the core count.
const MAX_HASHERS: usize = 4;

type Job = Box<dyn FnOnce() + Send>;

/// The hasher threads' queue, started on first use.
fn hashers() -> &'static mpsc::Sender<Job> {
    static QUEUE: OnceLock<mpsc::Sender<Job>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = std::sync::Arc::new(std::sync::Mutex::new(jobs));
        let threads = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(MAX_HASHERS);
        for i in 0..threads {
            let jobs = jobs.clone();
            let _ = std::thread::Builder::new()
                .name(format!("password-hasher-{i}"))
                .spawn(move || {
                    loop {
                        let job = jobs.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
        }
        queue
    })
}

/// Runs `work` on a hasher thread and waits for its result.
async fn on_hasher<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    let (done, result) = oneshot::channel();
    hashers()
        .send(Box::new(move || {
            let _ = done.send(work());
        }))
        .map_err(|_| AppError::Internal("password hashers stopped".into()))?;
    result
        .await
        .map_err(|_| AppError::Internal("password hasher dropped a job".into()))
}

pub async fn hash(password: &Password) -> Result<String, AppError> {
    let password = password.as_str().to_owned();
    on_hasher(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| AppError::Internal(format!("password hashing failed: {e}")))
    })
    .await?
}

/// Checks `password` against a stored PHC hash; a missing account is
/// checked against a fixed dummy hash so that "no such user" and "wrong
/// password" take the same time.
pub async fn verify(password: &str, stored: Option<String>) -> Result<bool, AppError> {
    let password = password.to_owned();
    let exists = stored.is_some();
    let ok = on_hasher(move || {
        // The dummy is hashed once, on first need, here and not on an
        // async worker.
        let against = match &stored {
            Some(hash) => hash.as_str(),
            None => dummy_hash(),
        };
        Argon2::default()
            .verify_password(password.as_bytes(), against)
            .is_ok()
    })
    .await?;
    Ok(ok && exists)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        Argon2::default()
            .hash_password(b"guildhall-timing-equaliser")
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_reject() {
        let pw = Password::parse("password", "correct horse".into()).unwrap();
        let stored = hash(&pw).await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse", Some(stored.clone())).await.unwrap());
        assert!(!verify("wrong horse!", Some(stored)).await.unwrap());
        assert!(!verify("correct horse", None).await.unwrap());
    }
}
