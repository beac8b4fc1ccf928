//! What the broker keeps per browser: the session record (cookie `__Host-valv`) with only
//! non-secret data ([`AuthData`], pending logins), and a second "token record" (vault
//! record) in the same store with the sealed [`TokenSet`]. Token updates write the token
//! record directly, never through a request's `Session`, so a slow request finishing late
//! cannot overwrite fresh tokens with stale ones.
//!
//! [`resolve`] turns a session id into what the proxy needs, through [`cache`];
//! [`refresh`] renews tokens in tasks detached from the browser's request.

pub mod cache;
pub mod refresh;
pub mod resolve;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::{Session, SessionStore};

use crate::error::{session_error, ApiError};
use crate::state::AppState;
use crate::vault::TokenSet;

/// Session key of [`AuthData`].
pub const AUTH_KEY: &str = "valv.auth";
/// Session key of the pending logins (`Vec<PendingLogin>`).
pub const PENDING_KEY: &str = "valv.pending";
/// Key of the sealed token set inside a vault record (the store indexes records that have it,
/// for the active-session count).
const TOKENS_FIELD: &str = crate::store::VAULT_FIELD;
/// How many logins may be pending at once in one browser (several tabs).
pub const MAX_PENDING: usize = 4;
/// How long a pending login (state + PKCE verifier) stays valid.
pub const PENDING_LIFETIME_SECS: i64 = 600;

/// A logged-in session (no secrets: the tokens are in the vault record).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthData {
    /// Provider name.
    pub provider: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Login time (unix seconds), for the absolute lifetime.
    pub login_at: i64,
    /// Id of the vault record holding the sealed tokens.
    pub vault_id: String,
}

/// A login started at `/auth/login`, waiting for `/auth/callback` in the same browser.
#[derive(Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    /// The `state` sent to the bank.
    pub state: String,
    /// PKCE verifier (when the provider uses PKCE).
    pub verifier: Option<String>,
    /// Provider name.
    pub provider: String,
    /// Where to go after the login.
    pub return_to: String,
    /// Requested scopes.
    pub scopes: Vec<String>,
    /// Start time (unix seconds).
    pub created_at: i64,
}

impl std::fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingLogin").field("provider", &self.provider).field("created_at", &self.created_at).finish_non_exhaustive()
    }
}

/// Unix seconds now.
pub fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// The session's login data, if any.
pub async fn auth_data(session: &Session) -> Result<Option<AuthData>, ApiError> {
    session.get::<AuthData>(AUTH_KEY).await.map_err(session_error)
}

/// Parses a vault id.
fn vault_record_id(vault_id: &str) -> Option<Id> {
    vault_id.parse::<Id>().ok()
}

/// Creates a vault record for `tokens` that expires at `expires_at`; returns its id.
pub async fn create_vault(state: &AppState, tokens: &TokenSet, expires_at: OffsetDateTime) -> Result<String, ApiError> {
    let mut record = Record { id: Id::default(), data: HashMap::new(), expiry_date: expires_at };
    // `create` may pick another id on collision; seal only once the id is final, since the
    // sealed data is bound to it.
    state.store.create(&mut record).await.map_err(store_failure)?;
    let vault_id = record.id.to_string();
    let sealed = state.vault.seal_tokens(tokens, vault_id.as_bytes());
    record.data.insert(TOKENS_FIELD.to_owned(), serde_json::Value::String(sealed));
    state.store.save(&record).await.map_err(store_failure)?;
    Ok(vault_id)
}

/// Loads and opens the vault record. `None` when it is gone, expired, or cannot be opened
/// (unknown key, tampered) — all mean "no usable tokens".
pub async fn load_tokens(state: &AppState, vault_id: &str) -> Result<Option<(TokenSet, OffsetDateTime)>, ApiError> {
    let Some(id) = vault_record_id(vault_id) else {
        return Ok(None);
    };
    let Some(record) = state.store.load(&id).await.map_err(store_failure)? else {
        return Ok(None);
    };
    if record.expiry_date <= OffsetDateTime::now_utc() {
        return Ok(None);
    }
    let Some(sealed) = record.data.get(TOKENS_FIELD).and_then(|v| v.as_str()) else {
        return Ok(None);
    };
    match state.vault.open_tokens(sealed, vault_id.as_bytes()) {
        Ok(tokens) => Ok(Some((tokens, record.expiry_date))),
        Err(err) => {
            tracing::warn!(error = %err, "vault record could not be opened; treating the session as logged out");
            Ok(None)
        }
    }
}

/// Overwrites the vault record's tokens (refresh), keeping its expiry.
pub async fn store_tokens(state: &AppState, vault_id: &str, tokens: &TokenSet, expiry: OffsetDateTime) -> Result<(), ApiError> {
    let Some(id) = vault_record_id(vault_id) else {
        return Err(ApiError::internal());
    };
    let sealed = state.vault.seal_tokens(tokens, vault_id.as_bytes());
    let mut data = HashMap::new();
    data.insert(TOKENS_FIELD.to_owned(), serde_json::Value::String(sealed));
    let record = Record { id, data, expiry_date: expiry };
    state.store.save(&record).await.map_err(store_failure)
}

/// Deletes the vault record (logout, ended session).
pub async fn delete_vault(state: &AppState, vault_id: &str) -> Result<(), ApiError> {
    let Some(id) = vault_record_id(vault_id) else {
        return Ok(());
    };
    state.store.delete(&id).await.map_err(store_failure)
}

/// Ends the session: deletes the vault record and the session record (which drops them from
/// every replica's cache); the cookie is cleared by the session layer.
pub async fn end_session(state: &AppState, session: &Session, auth: Option<&AuthData>) -> Result<(), ApiError> {
    if let Some(a) = auth {
        delete_vault(state, &a.vault_id).await?;
    }
    session.flush().await.map_err(session_error)
}

/// A failed store call: logged, answered `store_unavailable` (503).
pub fn store_failure(err: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %err, "session store failure");
    ApiError::store_unavailable()
}
