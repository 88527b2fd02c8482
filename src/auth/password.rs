//! Password hashing with argon2id at the crate's defaults (m = 19 MiB,
//! t = 2, p = 1: OWASP's recommended minimum). Hashing is CPU-bound, so it
//! runs on the blocking pool, never on a request's async worker.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::domain::values::Password;
use crate::error::AppError;

pub async fn hash(password: &Password) -> Result<String, AppError> {
    let password = password.as_str().to_owned();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| AppError::Internal(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| AppError::Internal(format!("hashing task: {e}")))?
}

/// Checks `password` against a stored PHC hash; a missing account is
/// checked against a fixed dummy hash so that "no such user" and "wrong
/// password" take the same time.
pub async fn verify(password: &str, stored: Option<String>) -> Result<bool, AppError> {
    let password = password.to_owned();
    let exists = stored.is_some();
    let stored = stored.unwrap_or_else(|| dummy_hash().to_owned());
    let ok = tokio::task::spawn_blocking(move || {
        Argon2::default()
            .verify_password(password.as_bytes(), stored.as_str())
            .is_ok()
    })
    .await
    .map_err(|e| AppError::Internal(format!("verify task: {e}")))?;
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
