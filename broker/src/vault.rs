//! Tokens sealed at rest with an AEAD key that has an id, so keys rotate without logging anyone out.
//!
//! Format: `v1.<kid>.<base64url(nonce ‖ ciphertext ‖ tag)>`, XChaCha20-Poly1305 with a random
//! 192-bit nonce (random nonces are safe at this size, unlike AES-GCM's 96 bits, so no nonce
//! counter has to be shared between replicas). The associated data is `v1 ‖ kid ‖ context`:
//! a sealed value moved to another record (another `context`) or relabelled with another key
//! id does not open.
//!
//! Rotation: add a new key to `[session.keys]` and make it `active_key`; existing sessions
//! still open with the old key and are re-sealed with the new one at their next refresh.
//! Remove the old key once the absolute session lifetime has passed.

use std::collections::BTreeMap;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore as _;

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

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &"[redacted]")
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "[redacted]"))
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .finish()
    }
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

const VERSION: &str = "v1";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// The AEAD keys.
pub struct Vault {
    keys: BTreeMap<String, XChaCha20Poly1305>,
    active: String,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault").field("key_ids", &self.keys.keys().collect::<Vec<_>>()).field("active", &self.active).finish()
    }
}

/// Decodes a configured key: 32 bytes in base64 (standard or URL-safe, padded or not).
pub fn decode_key(kid: &str, encoded: &str) -> Result<[u8; 32], VaultError> {
    let text = encoded.trim();
    let bytes = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
        .ok_or_else(|| VaultError::BadKey(kid.to_owned(), "not base64 (expected 32 random bytes in base64)".into()))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| VaultError::BadKey(kid.to_owned(), format!("decodes to {} bytes; a key is 32 random bytes", bytes.len())))
}

fn valid_kid(kid: &str) -> bool {
    !kid.is_empty() && kid.len() <= 64 && kid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Vault {
    /// Builds the vault from configured keys; errors name the bad key id.
    pub fn new(keys: &BTreeMap<String, Secret>, active_key: &str) -> Result<Self, VaultError> {
        let mut ciphers = BTreeMap::new();
        for (kid, secret) in keys {
            if !valid_kid(kid) {
                return Err(VaultError::BadKey(kid.clone(), "key ids are 1-64 characters of [A-Za-z0-9_-]".into()));
            }
            let key = decode_key(kid, secret.expose())?;
            ciphers.insert(kid.clone(), XChaCha20Poly1305::new(&key.into()));
        }
        if !ciphers.contains_key(active_key) {
            return Err(VaultError::UnknownKey(active_key.to_owned()));
        }
        Ok(Self { keys: ciphers, active: active_key.to_owned() })
    }

    /// The id of the key new data is sealed with.
    pub fn active_key(&self) -> &str {
        &self.active
    }

    fn aad(kid: &str, context: &[u8]) -> Vec<u8> {
        let mut aad = Vec::with_capacity(VERSION.len() + kid.len() + context.len() + 2);
        aad.extend_from_slice(VERSION.as_bytes());
        aad.push(0);
        aad.extend_from_slice(kid.as_bytes());
        aad.push(0);
        aad.extend_from_slice(context);
        aad
    }

    /// Seals `plaintext` with the active key, binding it to `context` (e.g. the vault record id)
    /// as associated data. Output is a printable string carrying the key id.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> String {
        let kid = &self.active;
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = Self::aad(kid, context);
        // Encryption with a valid key cannot fail short of exhausting memory (the crate
        // errors only for messages over 256 GiB); an empty ciphertext would fail to open.
        let sealed = self.keys[kid].encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: &aad }).unwrap_or_default();
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        format!("{VERSION}.{kid}.{}", URL_SAFE_NO_PAD.encode(out))
    }

    /// Opens data sealed by [`Vault::seal`] under any configured key.
    pub fn open(&self, sealed: &str, context: &[u8]) -> Result<Vec<u8>, VaultError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(VERSION), Some(kid), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(VaultError::Corrupt);
        };
        let cipher = self.keys.get(kid).ok_or_else(|| VaultError::UnknownKey(kid.to_owned()))?;
        let raw = URL_SAFE_NO_PAD.decode(body).map_err(|_| VaultError::Corrupt)?;
        if raw.len() < NONCE_LEN + TAG_LEN {
            return Err(VaultError::Corrupt);
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        let aad = Self::aad(kid, context);
        cipher.decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: &aad }).map_err(|_| VaultError::Corrupt)
    }

    /// Convenience: seal a token set as JSON.
    pub fn seal_tokens(&self, tokens: &TokenSet, context: &[u8]) -> String {
        // Serialising a struct of strings and numbers cannot fail.
        let json = serde_json::to_vec(tokens).unwrap_or_default();
        self.seal(&json, context)
    }

    /// Convenience: open a token set.
    pub fn open_tokens(&self, sealed: &str, context: &[u8]) -> Result<TokenSet, VaultError> {
        let json = self.open(sealed, context)?;
        serde_json::from_slice(&json).map_err(|_| VaultError::Corrupt)
    }

    /// Whether `sealed` was sealed with a key other than the active one (re-seal it).
    pub fn needs_reseal(&self, sealed: &str) -> bool {
        sealed.split('.').nth(1).is_some_and(|kid| kid != self.active)
    }
}
