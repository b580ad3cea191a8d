//! High-entropy secrets (reset tokens, session ids) from the OS CSPRNG, and the SHA-256 digests
//! that are all the store ever keeps of them.

use rand::Rng as _;
use rand::rand_core::UnwrapErr;
use rand::rngs::SysRng;
use sha2::{Digest, Sha256};

/// The operating system's CSPRNG. Like `OsRng` before rand 0.10 it panics if the OS cannot
/// give randomness at all: there is no safe secret to hand out then.
fn os_rng() -> UnwrapErr<SysRng> {
    UnwrapErr(SysRng)
}

/// `N` fresh random bytes from the OS (keys, salts).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    os_rng().fill_bytes(&mut buf);
    buf
}

/// A fresh random token of `bytes` bytes (at least 16, i.e. 128 bits), URL-safe hex.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes.max(16)];
    os_rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// SHA-256 of a token, hex-encoded: the form tokens are stored and looked up in.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Letters and digits that cannot be mistaken for one another when read aloud or on a small
/// screen: no 0/O/o, 1/l/I, 5/S, 2/Z.
const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRTUVWXY";
const LOWER: &[u8] = b"abcdefghijkmnpqrtuvwxy";
const DIGITS: &[u8] = b"346789";

/// A temporary password that meets the portal rules and is easy to read aloud: four letters
/// or digits, a hyphen, four more (e.g. `Hq7k-3Wmx`), with at least one upper case letter, one
/// lower case letter and one digit. About 44 bits: enough for a single-use secret that lives
/// minutes behind a lockout.
pub fn temporary_password() -> String {
    temporary_password_from(|_| random_bytes())
}

/// A temporary password drawn from `blocks`, uniformly random bytes: block 0, then 1, … as
/// long as needed. With the OS's random bytes it is [`temporary_password`]; with a keyed
/// hash's output it is the same password each time the same key and name are given, which is
/// how a call back can read its password again without the password being stored.
pub fn temporary_password_from(mut blocks: impl FnMut(u32) -> [u8; 32]) -> String {
    let all: Vec<u8> = [UPPER, LOWER, DIGITS].concat();
    // Bytes at or above the largest multiple of the alphabet's size are skipped, so every
    // character is equally likely.
    let limit = (256 / all.len() * all.len()) as u8;
    let has = |set: &[u8], cs: &[u8]| cs.iter().any(|c| set.contains(c));
    let mut chars = Vec::with_capacity(9);
    let mut n = 0u32;
    loop {
        for b in blocks(n) {
            if b >= limit {
                continue;
            }
            chars.push(all[usize::from(b) % all.len()]);
            if chars.len() < 8 {
                continue;
            }
            if has(UPPER, &chars) && has(LOWER, &chars) && has(DIGITS, &chars) {
                chars.insert(4, b'-');
                return String::from_utf8_lossy(&chars).into_owned();
            }
            chars.clear();
        }
        n = n.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_passwords_meet_the_portal_rules_and_read_easily() {
        for _ in 0..500 {
            let p = temporary_password();
            assert_eq!(p.len(), 9, "{p}");
            assert!(crate::domain::password::broken_rules(&p).is_empty(), "{p}");
            assert!(!p.chars().any(|c| "0Oo1lI5S2Z".contains(c)), "{p}");
        }
    }

    #[test]
    fn the_same_blocks_give_the_same_password_and_other_blocks_another() {
        let keyed = |seed: u8| move |n: u32| token_digest_bytes(&[seed, n as u8]);
        let a = temporary_password_from(keyed(1));
        assert_eq!(a, temporary_password_from(keyed(1)));
        assert_ne!(a, temporary_password_from(keyed(2)));
        assert!(crate::domain::password::broken_rules(&a).is_empty(), "{a}");
        // Blocks without a single usable byte are skipped, not looped on forever.
        let mut calls = 0;
        let p = temporary_password_from(|n| {
            calls += 1;
            if n < 3 {
                [255; 32]
            } else {
                token_digest_bytes(&[n as u8])
            }
        });
        assert!(calls >= 4 && p.len() == 9, "{p}");
    }

    fn token_digest_bytes(data: &[u8]) -> [u8; 32] {
        Sha256::digest(data).into()
    }

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
