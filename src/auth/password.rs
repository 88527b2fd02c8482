//! Password hashing with argon2id at the crate's defaults (m = 19 MiB,
//! t = 2, p = 1: OWASP's recommended minimum).
//!
//! Hashing is CPU-bound and takes 19 MiB, so it runs on a small pool of
//! threads of its own (one per core, at most `MAX_HASHERS`), never on a
//! request's async worker nor on Tokio's blocking pool: there, every
//! concurrent login got a thread and its own 19 MiB, and the allocator
//! kept each block (64 logins at once left 845 MiB behind). Each hasher
//! thread allocates its 19 MiB once and hashes into that same memory every
//! time (`hash_password_into_with_memory`), so logins cost no allocation
//! and no page faults, and the memory held stays threads x 19 MiB. Logins
//! beyond the pool wait their turn in a bounded queue
//! (`--password-hash-queue`); past it, a hash is refused at once with 503
//! and `Retry-After` rather than holding its request open behind a flood.
//!
//! The crate's `hash_password`/`verify_password` allocate the blocks on
//! each call; the two small functions here do the same work (salt, PHC
//! string, constant-time comparison through `Output`'s `Eq`) on the
//! thread's own blocks.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

use std::cell::RefCell;

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::password_hash::{self, generate_salt};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
use tokio::sync::oneshot;

use crate::domain::values::Password;
use crate::error::AppError;

/// The most hasher threads, whatever the core count.
const MAX_HASHERS: usize = 4;

type Job = Box<dyn FnOnce() + Send>;

/// How long a refused hash is told to wait.
const BUSY_RETRY_SECS: u64 = 1;

/// The hasher threads and their queue (one per `AppState`).
pub struct Hashers {
    queue: mpsc::Sender<Job>,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
}

/// One queued job; leaves the count when it starts or is dropped unrun.
struct Waiting(Arc<AtomicUsize>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Hashers {
    /// Starts one thread per core (at most `MAX_HASHERS`); at most
    /// `max_waiting` hashes wait for them. The threads end with the pool.
    pub fn start(max_waiting: usize) -> Self {
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
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
        Self {
            queue,
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting: max_waiting.max(1),
        }
    }

    /// Runs `work` on a hasher thread and waits for its result; `Busy`
    /// when the queue is full.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            tracing::warn!("password hashing queue full; answering 503");
            return Err(AppError::Busy {
                retry_after_secs: BUSY_RETRY_SECS,
            });
        }
        let waiting = Waiting(self.waiting.clone());
        let (done, result) = oneshot::channel();
        self.queue
            .send(Box::new(move || {
                drop(waiting);
                let _ = done.send(work());
            }))
            .map_err(|_| AppError::Internal("password hashers stopped".into()))?;
        result
            .await
            .map_err(|_| AppError::Internal("password hasher dropped a job".into()))
    }

    pub async fn hash(&self, password: &Password) -> Result<String, AppError> {
        let password = password.as_str().to_owned();
        self.run(move || {
            hash_phc(password.as_bytes())
                .map_err(|e| AppError::Internal(format!("password hashing failed: {e}")))
        })
        .await?
    }

    /// Checks `password` against a stored PHC hash; a missing account is
    /// checked against a fixed dummy hash so that "no such user" and "wrong
    /// password" take the same time.
    pub async fn verify(&self, password: &str, stored: Option<String>) -> Result<bool, AppError> {
        let password = password.to_owned();
        let exists = stored.is_some();
        let ok = self
            .run(move || {
                // The dummy is hashed once, on first need, here and not on
                // an async worker.
                let against = match &stored {
                    Some(hash) => hash.as_str(),
                    None => dummy_hash(),
                };
                verify_phc(password.as_bytes(), against).unwrap_or(false)
            })
            .await?;
        Ok(ok && exists)
    }
}

thread_local! {
    /// This hasher thread's argon2 memory, allocated on its first hash.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Argon2id of `password` with `salt` and `params` into `out`, on this
/// thread's reused memory.
fn argon2_into(
    password: &[u8],
    salt: &[u8],
    params: Params,
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    let blocks_needed = params.block_count();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    BLOCKS.with_borrow_mut(|blocks| {
        if blocks.len() < blocks_needed {
            blocks.resize(blocks_needed, Block::default());
        }
        argon2.hash_password_into_with_memory(password, salt, out, &mut blocks[..blocks_needed])
    })
}

/// A new PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`).
fn hash_phc(password: &[u8]) -> password_hash::Result<String> {
    let params = Params::DEFAULT;
    let salt = Salt::new(&generate_salt())?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2_into(password, &salt, params.clone(), &mut out)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt),
        hash: Some(Output::new(&out)?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `stored`, with the
/// parameters `stored` names (so older hashes keep verifying).
fn verify_phc(password: &[u8], stored: &str) -> password_hash::Result<bool> {
    let phc = PasswordHash::new(stored)?;
    if phc.algorithm != Algorithm::Argon2id.ident() {
        return Ok(false);
    }
    let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
        return Ok(false);
    };
    let params = Params::try_from(&phc)?;
    let mut out = vec![0u8; expected.len()];
    argon2_into(password, salt, params, &mut out)?;
    // `Output`'s equality is constant-time.
    Ok(Output::new(&out)? == *expected)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_phc(b"guildhall-timing-equaliser").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_reject() {
        let hashers = Hashers::start(8);
        let pw = Password::parse("password", "correct horse".into()).unwrap();
        let stored = hashers.hash(&pw).await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(
            hashers
                .verify("correct horse", Some(stored.clone()))
                .await
                .unwrap()
        );
        assert!(!hashers.verify("wrong horse!", Some(stored)).await.unwrap());
        assert!(!hashers.verify("correct horse", None).await.unwrap());
    }

    #[test]
    fn hashes_are_the_crates_phc_strings_both_ways() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let ours = hash_phc(b"correct horse").unwrap();
        assert!(ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", ours.as_str())
                .is_ok()
        );
        let theirs = Argon2::default()
            .hash_password(b"correct horse")
            .unwrap()
            .to_string();
        assert!(verify_phc(b"correct horse", &theirs).unwrap());
        assert!(!verify_phc(b"correct horsE", &theirs).unwrap());
        // Other parameters than ours still verify (a hash from before a change).
        let light = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8, 1, 1, None).unwrap(),
        )
        .hash_password(b"pw")
        .unwrap()
        .to_string();
        assert!(verify_phc(b"pw", &light).unwrap());
        assert!(!verify_phc(b"pW", &light).unwrap());
    }
}
