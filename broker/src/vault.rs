//! Tokens sealed at rest with an AEAD key that has an id, so keys rotate without logging anyone out.

use std::collections::BTreeMap;

use crate::secret::Secret;

/// What the broker keeps for a logged-in session. Never serialised in clear text outside
/// [`Vault::seal_tokens`]; `Debug` redacts the tokens.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct TokenSet {
    /// The bearer token.
    pub access_token: String,
    /// The refresh token, when the bank gave one.
    pub refresh_token: Option<String>,
    /// When the access token expires (unix seconds).
    pub expires_at: i64,
    /// Granted scopes.
    pub scopes: Vec<String>,
}

/// Why sealed data could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The key id in the data is not configured (any more).
    #[error("unknown key id {0:?}")]
    UnknownKey(String),
    /// Tampered, truncated, or sealed for another session.
    #[error("sealed data is corrupt or was sealed for another context")]
    Corrupt,
    /// A configured key is not usable (wrong length or encoding); names the key id.
    #[error("session key {0:?}: {1}")]
    BadKey(String, String),
}

/// The AEAD keys (FOUNDATION implements).
pub struct Vault {
    _keys: BTreeMap<String, Secret>,
}

impl Vault {
    /// Builds the vault from configured keys; errors name the bad key id.
    pub fn new(keys: &BTreeMap<String, Secret>, active_key: &str) -> Result<Self, VaultError> {
        let _ = (keys, active_key);
        unimplemented!("foundation")
    }

    /// Seals `plaintext` with the active key, binding it to `context` (e.g. the vault record id)
    /// as associated data. Output is a printable string carrying the key id.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> String {
        let _ = (plaintext, context);
        unimplemented!("foundation")
    }

    /// Opens data sealed by [`Vault::seal`] under any configured key.
    pub fn open(&self, sealed: &str, context: &[u8]) -> Result<Vec<u8>, VaultError> {
        let _ = (sealed, context);
        unimplemented!("foundation")
    }

    /// Convenience: seal a token set as JSON.
    pub fn seal_tokens(&self, tokens: &TokenSet, context: &[u8]) -> String {
        let _ = (tokens, context);
        unimplemented!("foundation")
    }

    /// Convenience: open a token set.
    pub fn open_tokens(&self, sealed: &str, context: &[u8]) -> Result<TokenSet, VaultError> {
        let _ = (sealed, context);
        unimplemented!("foundation")
    }
}
