//! High-entropy secrets (reset tokens, session ids) from the OS CSPRNG, and the SHA-256 digests
//! that are all the store ever keeps of them.

use rand::RngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};

/// A fresh random token of `bytes` bytes (at least 16, i.e. 128 bits), URL-safe hex.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes.max(16)];
    OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

/// SHA-256 of a token, hex-encoded: the form tokens are stored and looked up in.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_and_distinct() {
        let a = random_token(16);
        let b = random_token(16);
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert_eq!(token_digest(&a).len(), 64);
        assert_ne!(token_digest(&a), a);
    }
}
