//! Logins in progress, kept in the browser rather than in the store: a cookie
//! (`{session cookie}-login`, e.g. `__Host-valv-login`) holding the pending logins sealed
//! with the session key ([`crate::vault::Vault::seal`], its own context), `HttpOnly`,
//! `Secure`, `SameSite=Lax` (the bank's redirect back is a cross-site top-level GET), for
//! [`PENDING_LIFETIME_SECS`].
//!
//! So a login that is started and never finished — or a million of them, sent by an `<img>`
//! on some page — costs the broker nothing: the store sees a login only once the bank has
//! answered the callback. The `state` and PKCE verifier are sealed (the browser cannot read
//! or change them, and a cookie from another browser opens only to that browser's logins).
//! A `state` is used at most once: the callback claims it in the store
//! ([`crate::store::AnyStore::claim`]) before it goes to the bank.

use axum::http::{HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};

use super::{cookie_value, now};
use crate::state::AppState;

/// How many logins may be pending at once in one browser (several tabs).
pub const MAX_PENDING: usize = 4;
/// How long a pending login (state + PKCE verifier) stays valid.
pub const PENDING_LIFETIME_SECS: i64 = 600;
/// The longest `returnTo` a login keeps (the cookie must stay well under 4 KB).
pub const MAX_RETURN_TO: usize = 512;
/// The longest cookie value written; the oldest logins are dropped to stay under it.
const MAX_COOKIE_VALUE: usize = 3800;
/// Associated data of the sealed cookie.
const CONTEXT: &[u8] = b"valv-pending-logins/v1";

/// A login started at `/auth/login`, waiting for `/auth/callback` in the same browser.
#[derive(Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    /// The `state` sent to the bank.
    #[serde(rename = "s")]
    pub state: String,
    /// PKCE verifier (when the provider uses PKCE).
    #[serde(rename = "v", default, skip_serializing_if = "Option::is_none")]
    pub verifier: Option<String>,
    /// Provider name.
    #[serde(rename = "p")]
    pub provider: String,
    /// Where to go after the login.
    #[serde(rename = "r")]
    pub return_to: String,
    /// Requested scopes.
    #[serde(rename = "c")]
    pub scopes: Vec<String>,
    /// Start time (unix seconds).
    #[serde(rename = "t")]
    pub created_at: i64,
    /// A decoupled (Mobile BankID) login: the bank's order id. `state` is then the id the
    /// browser polls with, and this login cannot complete at `/auth/callback`.
    #[serde(rename = "d", default, skip_serializing_if = "Option::is_none")]
    pub decoupled: Option<String>,
}

impl std::fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingLogin").field("provider", &self.provider).field("created_at", &self.created_at).finish_non_exhaustive()
    }
}

/// The index of the pending login whose `state` (or BankID login id) hashes to `wanted`
/// (SHA-256, compared in constant time), of the redirect kind or the `decoupled` kind.
pub fn find(pending: &[PendingLogin], wanted: &[u8], decoupled: bool) -> Option<usize> {
    use sha2::Digest as _;
    use subtle::ConstantTimeEq as _;
    pending
        .iter()
        .position(|p| p.decoupled.is_some() == decoupled && bool::from(sha2::Sha256::digest(p.state.as_bytes()).as_slice().ct_eq(wanted)))
}

/// The store key that claims a login's `state` (or BankID login id) hashing to `wanted`, so
/// it completes once, also across replicas.
pub fn claim_key(wanted: &[u8]) -> String {
    use base64::Engine as _;
    format!("login-state:{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(wanted))
}

/// The name of the login cookie.
pub fn cookie_name(state: &AppState) -> String {
    format!("{}-login", state.config.session.cookie_name)
}

/// The browser's pending logins that are still valid. A missing, tampered, foreign or
/// undecodable cookie is no pending login.
pub fn read(state: &AppState, headers: &HeaderMap) -> Vec<PendingLogin> {
    let Some(sealed) = cookie_value(headers, &cookie_name(state)).filter(|v| !v.is_empty()) else {
        return Vec::new();
    };
    let Ok(json) = state.vault.open(sealed, CONTEXT) else {
        tracing::debug!("a login cookie that does not open; ignored");
        return Vec::new();
    };
    let mut pending: Vec<PendingLogin> = serde_json::from_slice(&json).unwrap_or_default();
    let t = now();
    pending.retain(|p| t.saturating_sub(p.created_at) < PENDING_LIFETIME_SECS && t >= p.created_at);
    pending
}

/// The `Set-Cookie` value carrying `pending` (the newest last), or deleting the cookie when
/// there is none. Drops the oldest logins past [`MAX_PENDING`] or the size limit.
pub fn cookie(state: &AppState, pending: &mut Vec<PendingLogin>) -> Option<HeaderValue> {
    while pending.len() > MAX_PENDING {
        pending.remove(0);
    }
    let name = cookie_name(state);
    loop {
        if pending.is_empty() {
            return HeaderValue::try_from(format!("{name}=; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=0")).ok();
        }
        let json = serde_json::to_vec(&pending).unwrap_or_default();
        let sealed = state.vault.seal(&json, CONTEXT);
        if sealed.len() <= MAX_COOKIE_VALUE {
            return HeaderValue::try_from(format!(
                "{name}={sealed}; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age={PENDING_LIFETIME_SECS}"
            ))
            .ok();
        }
        pending.remove(0);
    }
}
