//! What the broker keeps per browser: the session record (cookie `__Host-valv`), made when a
//! login completes, with only non-secret data ([`AuthData`]), and a second "token record"
//! (vault record) in the same store with the sealed [`TokenSet`]. Token updates write the
//! token record directly, so a slow request finishing late cannot overwrite fresh tokens
//! with stale ones. Logins in progress are not in the store at all ([`login`]).
//!
//! [`resolve`] turns a session id into what the proxy needs, through [`cache`];
//! [`refresh`] renews tokens in tasks detached from the browser's request.

pub mod cache;
pub(crate) mod establish;
pub mod id;
pub mod login;
pub mod refresh;
pub mod resolve;
pub(crate) mod retire;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::SessionStore;

use crate::error::ApiError;
use crate::state::AppState;
use crate::vault::TokenSet;
use id::SessionCookie;

/// Session key of [`AuthData`].
pub const AUTH_KEY: &str = "valv.auth";
/// Key of the sealed token set inside a vault record (the store indexes records that have it,
/// for the active-session count).
const TOKENS_FIELD: &str = crate::store::VAULT_FIELD;
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

/// Unix seconds now (the clock read only: no calendar conversion on the proxy path).
pub fn now() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
}

/// The value of the first cookie named `name` in `headers` (the first one: a `__Host-`
/// cookie cannot be set by another host).
pub fn cookie_value<'h>(headers: &'h axum::http::HeaderMap, name: &str) -> Option<&'h str> {
    let name = name.as_bytes();
    for value in headers.get_all(axum::http::header::COOKIE) {
        for pair in value.as_bytes().split(|b| *b == b';') {
            let pair = pair.trim_ascii();
            if pair.len() > name.len() && pair.starts_with(name) && pair[name.len()] == b'=' {
                return std::str::from_utf8(&pair[name.len() + 1..]).ok();
            }
        }
    }
    None
}

/// Creates the session record of a completed login, idle-expiring; returns its id.
pub async fn create_session(state: &AppState, auth: &AuthData) -> Result<SessionCookie, ApiError> {
    let idle = time::Duration::try_from(state.config.session.idle_timeout).unwrap_or(time::Duration::minutes(30));
    let mut data = HashMap::new();
    data.insert(AUTH_KEY.to_owned(), serde_json::to_value(auth).map_err(|_| ApiError::internal())?);
    loop {
        let cookie = SessionCookie::random();
        let key = cookie.store_key();
        let mut record = Record { id: key, data: data.clone(), expiry_date: OffsetDateTime::now_utc() + idle };
        state.store.create(&mut record).await.map_err(store_failure)?;
        if record.id == key {
            return Ok(cookie);
        }
        // The key was taken (never seen: 2^-128) and the store chose another, which no
        // cookie leads to: remove that record and draw a new id.
        state.store.delete(&record.id).await.map_err(store_failure)?;
    }
}

/// The login data of session record `id`, if it exists, is live and is logged in.
pub async fn session_auth(state: &AppState, id: &Id) -> Result<Option<AuthData>, ApiError> {
    let Some(record) = state.store.load(id).await.map_err(store_failure)? else {
        return Ok(None);
    };
    if record.expiry_date <= OffsetDateTime::now_utc() {
        return Ok(None);
    }
    Ok(auth_of(&record))
}

/// The login data a session record carries, if it is logged in.
pub(crate) fn auth_of(record: &Record) -> Option<AuthData> {
    record.data.get(AUTH_KEY).and_then(|v| serde_json::from_value::<AuthData>(v.clone()).ok())
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

/// Overwrites the vault record's tokens (refresh), keeping its expiry, and tells the other
/// replicas that session `session_id` changed in the same atomic step.
pub async fn store_tokens(
    state: &AppState,
    session_id: &Id,
    vault_id: &str,
    tokens: &TokenSet,
    expiry: OffsetDateTime,
) -> Result<(), ApiError> {
    let Some(id) = vault_record_id(vault_id) else {
        return Err(ApiError::internal());
    };
    let sealed = state.vault.seal_tokens(tokens, vault_id.as_bytes());
    let mut data = HashMap::new();
    data.insert(TOKENS_FIELD.to_owned(), serde_json::Value::String(sealed));
    let record = Record { id, data, expiry_date: expiry };
    // A token record that is gone (logout) stays gone.
    state.store.save_announcing(&record, session_id).await.map(|_| ()).map_err(store_failure)
}

/// Deletes the vault record (logout, ended session).
pub async fn delete_vault(state: &AppState, vault_id: &str) -> Result<(), ApiError> {
    let Some(id) = vault_record_id(vault_id) else {
        return Ok(());
    };
    state.store.delete(&id).await.map_err(store_failure)
}

/// Ends session `id`: deletes its vault record and its session record (which drops them
/// from every replica's cache).
pub async fn end_session(state: &AppState, id: &Id, auth: Option<&AuthData>) -> Result<(), ApiError> {
    if let Some(a) = auth {
        delete_vault(state, &a.vault_id).await?;
    }
    state.store.delete(id).await.map_err(store_failure)
}

/// A failed store call: logged, answered `store_unavailable` (503).
pub fn store_failure(err: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %err, "session store failure");
    ApiError::store_unavailable()
}

#[cfg(test)]
mod tests {
    use axum::http::{header, HeaderMap, HeaderValue};

    #[test]
    fn cookie_values_by_exact_name() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("__Host-valvx=no; other=1;  __Host-valv=abc ; __Host-valv=second"));
        h.append(header::COOKIE, HeaderValue::from_static("__Host-valv-login=; bare"));
        assert_eq!(super::cookie_value(&h, "__Host-valv"), Some("abc"));
        assert_eq!(super::cookie_value(&h, "__Host-valv-login"), Some(""));
        assert_eq!(super::cookie_value(&h, "bare"), None);
        assert_eq!(super::cookie_value(&h, "other"), Some("1"));
        assert_eq!(super::cookie_value(&HeaderMap::new(), "__Host-valv"), None);
    }
}
