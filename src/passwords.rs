//! Password and answer hashing: Argon2id with the OWASP parameters (m = 19456 KiB, t = 2,
//! p = 1). Hashing is CPU-bound, so it runs in `spawn_blocking` behind a semaphore that caps how
//! many run at once; a flood of logins queues instead of starving the runtime. Unknown users
//! are checked against a dummy hash so the time taken says nothing about who exists.

use std::sync::{Arc, OnceLock};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("password hashing task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("password hasher is shut down")]
    Closed,
    #[error("too many passwords are being checked; try again")]
    Busy,
}

fn argon2() -> Argon2<'static> {
    // Constant, valid parameters: `Params::new` only fails on out-of-range values.
    let params = Params::new(19_456, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(secret: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError::Hash(e.to_string()))
}

fn verify_blocking(phc: &str, candidate: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => argon2()
            .verify_password(candidate.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of a random string, computed once, verified against when there is no real hash.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_blocking(&crate::domain::secret::random_token(16)).unwrap_or_else(|_| {
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3bJb7rQ8m9u7bCqk7qGQXw0oQp6mJ6zQy8b5mB0m0nQ"
                .to_string()
        })
    })
}

/// Hashes and verifies secrets off the async runtime, at most `permits` at a time.
#[derive(Debug, Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
}

impl Hasher {
    pub fn new(permits: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(permits.max(1))),
        }
    }

    /// One permit per core: argon2 with p = 1 uses one core each.
    pub fn for_this_machine() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    pub async fn hash(&self, secret: &SecretString) -> Result<String, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| HashError::Closed)?;
        let secret = secret.clone();
        tokio::task::spawn_blocking(move || hash_blocking(secret.expose_secret())).await?
    }

    /// Verifies `candidate` against `phc`, or against the dummy hash when there is none, so
    /// both cases cost the same. Returns false when `phc` is `None`.
    pub async fn verify(
        &self,
        phc: Option<&str>,
        candidate: &SecretString,
    ) -> Result<bool, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| HashError::Closed)?;
        let real = phc.is_some();
        let phc = phc.unwrap_or_else(|| dummy_hash()).to_string();
        let candidate = candidate.clone();
        let ok =
            tokio::task::spawn_blocking(move || verify_blocking(&phc, candidate.expose_secret()))
                .await?;
        Ok(ok && real)
    }

    /// Computes the dummy hash now rather than on the first unknown login.
    pub async fn warm_up(&self) {
        let _ = tokio::task::spawn_blocking(dummy_hash).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let h = Hasher::new(2);
        let secret = SecretString::from("Tr0ub4dor&3");
        let phc = h.hash(&secret).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(h.verify(Some(&phc), &secret).await.unwrap());
        assert!(
            !h.verify(Some(&phc), &SecretString::from("wrong"))
                .await
                .unwrap()
        );
        assert!(!h.verify(None, &secret).await.unwrap());
        assert!(!h.verify(Some("not a hash"), &secret).await.unwrap());
    }
}
