//! A session id as the browser holds it, and the key its record has in the store.
//!
//! The `__Host-valv` cookie carries a random 128-bit id; the store keeps the session record
//! under a SHA-256 of it ([`SessionCookie::store_key`]). Someone who reads the store (a
//! backup, a Redis dump, the SQLite file) learns record keys, which are no cookies: the id
//! cannot be found from its hash, so a copy of the store signs nobody in.

use sha2::{Digest as _, Sha256};
use tower_sessions::session::Id;

/// Domain separation of the store key's hash.
const CONTEXT: &[u8] = b"valv-session-key/v1\0";

/// The browser's session id (the cookie's value): a secret, never written to the store or a
/// log (its `Debug` shows nothing of it).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SessionCookie(Id);

impl std::fmt::Debug for SessionCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionCookie(..)")
    }
}

impl SessionCookie {
    /// A new random id (128 bits from the OS's generator, as `tower_sessions` makes them).
    pub(crate) fn random() -> Self {
        Self(Id::default())
    }

    /// Reads a cookie value; `None` when it is not an id the broker makes.
    pub fn parse(value: &str) -> Option<Self> {
        value.parse().ok().map(Self)
    }

    /// The key of this session's record in the store.
    pub fn store_key(&self) -> Id {
        let digest = Sha256::new().chain_update(CONTEXT).chain_update(self.0 .0.to_le_bytes()).finalize();
        let mut first = [0u8; 16];
        first.copy_from_slice(&digest[..16]);
        Id(i128::from_le_bytes(first))
    }

    /// The key of this session's rate-limit bucket (in this process only).
    pub(crate) fn rate_key(&self) -> u128 {
        u128::from_ne_bytes(self.0 .0.to_ne_bytes())
    }

    /// The id itself (the session cache's key: it lives in this process only).
    pub(crate) fn id(&self) -> &Id {
        &self.0
    }

    /// The cookie's value.
    pub fn value(&self) -> String {
        self.0.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::SessionCookie;

    #[test]
    fn the_store_key_is_stable_and_is_not_the_cookie() {
        let c = SessionCookie::random();
        let parsed = SessionCookie::parse(&c.value()).expect("its own value parses");
        assert_eq!(parsed, c);
        assert_eq!(parsed.store_key(), c.store_key());
        assert_ne!(c.store_key().to_string(), c.value());
        assert_ne!(SessionCookie::random().store_key(), c.store_key());
        // A store key used as a cookie leads to another record.
        let from_store = SessionCookie::parse(&c.store_key().to_string()).expect("a key parses as an id");
        assert_ne!(from_store.store_key(), c.store_key());
        assert_eq!(format!("{c:?}"), "SessionCookie(..)");
    }

    #[test]
    fn values_that_are_no_id_are_refused() {
        for v in ["", "abc", "not-base64!", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
            assert!(SessionCookie::parse(v).is_none(), "{v:?}");
        }
    }
}
