//! Keyed hashes (HMAC-SHA256) with the server's own random keys. They let Helpline compare and
//! count things it must not keep in clear: a typed username that matches nobody (it may be a
//! password typed in the wrong box), the CSRF token bound to one browser's session, and the
//! device cookie of a browser that signed in before.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// A 256-bit key. `Debug` never shows it.
#[derive(Clone)]
pub struct Key([u8; 32]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(***)")
    }
}

impl Key {
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// From 64 hex digits, as the store keeps it.
    pub fn from_hex(text: &str) -> Option<Self> {
        let bytes = hex::decode(text).ok()?;
        Some(Self(bytes.try_into().ok()?))
    }

    /// The keyed hash of `parts` (each length-prefixed, so `("ab", "c")` and `("a", "bc")`
    /// differ), hex-encoded.
    pub fn tag(&self, parts: &[&[u8]]) -> String {
        hex::encode(self.mac(parts).finalize().into_bytes())
    }

    /// The keyed hash of `parts` as bytes: uniformly random to whoever lacks the key, the
    /// same every time for the same parts.
    pub fn block(&self, parts: &[&[u8]]) -> [u8; 32] {
        self.mac(parts).finalize().into_bytes().into()
    }

    /// True when `tag` is the keyed hash of `parts`, compared in constant time.
    pub fn verify(&self, parts: &[&[u8]], tag: &str) -> bool {
        match hex::decode(tag) {
            Ok(bytes) => self.mac(parts).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
    }

    fn mac(&self, parts: &[&[u8]]) -> HmacSha256 {
        let mut mac = match <HmacSha256 as KeyInit>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            // HMAC takes keys of every length.
            Err(_) => unreachable!("HMAC accepts a 32-byte key"),
        };
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac
    }
}

/// The server's keys, one per use so a tag made for one purpose never passes for another.
#[derive(Debug, Clone)]
pub struct Keys {
    /// Names the guard's counter of a typed identifier that matches nobody.
    pub identifiers: Key,
    /// Binds a form's CSRF token to the browser's cookie and session.
    pub csrf: Key,
    /// Signs device cookies.
    pub devices: Key,
    /// Derives the temporary password a call back reads, so "press 1 to hear it again" needs
    /// no copy of it in the store.
    pub callbacks: Key,
}

impl Keys {
    /// Fresh random keys: for tests and throwaway databases.
    pub fn random() -> Self {
        let k = || Key::new(crate::domain::secret::random_bytes());
        Self {
            identifiers: k(),
            csrf: k(),
            devices: k(),
            callbacks: k(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_depend_on_key_parts_and_their_boundaries() {
        let a = Key::new([1; 32]);
        let b = Key::new([2; 32]);
        let t = a.tag(&[b"ab", b"c"]);
        assert_eq!(t.len(), 64);
        assert!(a.verify(&[b"ab", b"c"], &t));
        assert!(!a.verify(&[b"a", b"bc"], &t));
        assert!(!b.verify(&[b"ab", b"c"], &t));
        assert!(!a.verify(&[b"ab", b"c"], "zz"));
        assert_eq!(format!("{a:?}"), "Key(***)");
        assert_eq!(
            Key::from_hex(&"00".repeat(32)).map(|k| k.tag(&[])),
            Some(Key::new([0; 32]).tag(&[]))
        );
        assert!(Key::from_hex("00").is_none());
    }
}
