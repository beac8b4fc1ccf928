//! From a session cookie to a [`Resolved`] session without the session layer: the cookie is
//! read straight from the request headers, the session comes from the cache when the store
//! epoch allows, else from the store (session record, then token record), and the idle
//! expiry is extended lazily — at most once per eighth of the idle window, in a spawned
//! task — with a fresh cookie on that response.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue};
use time::OffsetDateTime;
use tower_sessions::session::Id;
use tower_sessions::SessionStore;

use super::cache::Resolved;
use super::id::SessionCookie;
use super::{delete_vault, load_tokens, now, store_failure};
use crate::error::ApiError;
use crate::state::AppState;

/// What a session id stands for.
#[derive(Debug)]
pub enum Resolution {
    /// A logged-in session with usable tokens.
    Active(Arc<Resolved>),
    /// A logged-in session whose tokens are gone or cannot be opened: end it.
    Ended {
        /// The session record.
        session_id: Id,
        /// Its token record.
        vault_id: String,
    },
    /// No session, or one that is not logged in.
    Anonymous,
}

/// The session id in the request's cookie named `name` (the first one: a `__Host-` cookie
/// cannot be set by another host).
pub fn session_cookie(headers: &HeaderMap, name: &str) -> Option<SessionCookie> {
    SessionCookie::parse(super::cookie_value(headers, name)?)
}

/// Bearer header value of an access token; `None` if the token is not a valid header value.
pub fn bearer(access_token: &str) -> Option<HeaderValue> {
    let mut v = HeaderValue::try_from(format!("Bearer {access_token}")).ok()?;
    v.set_sensitive(true);
    Some(v)
}

/// Resolves the session of `browser`'s cookie (see the module header): from the cache by
/// the cookie's id, else from the store at its [`SessionCookie::store_key`]. Store failures
/// are `store_unavailable`.
pub async fn resolve(state: &AppState, browser: &SessionCookie) -> Result<Resolution, ApiError> {
    let t = now();
    let idle = i64::try_from(state.config.session.idle_timeout.as_secs()).unwrap_or(i64::MAX);
    state.store.sync().await;
    let epoch = state.store.epoch();
    if let Some(e) = epoch {
        if let Some(r) = state.cache.get(browser.id(), e) {
            // Not used here for a whole idle window: ask the store (another replica may have
            // kept it alive, or it expired).
            if t.saturating_sub(r.last_used.load(Ordering::Relaxed)) < idle {
                r.last_used.store(t, Ordering::Relaxed);
                return Ok(Resolution::Active(r));
            }
        }
    }
    let key = browser.store_key();
    if state.cache.is_ended(&key) {
        return Ok(Resolution::Anonymous);
    }
    let generation = state.cache.generation();
    let Some(record) = state.store.load(&key).await.map_err(store_failure)? else {
        return Ok(Resolution::Anonymous);
    };
    let Some(auth) = super::auth_of(&record) else {
        return Ok(Resolution::Anonymous);
    };
    let Some((tokens, _)) = load_tokens(state, &auth.vault_id).await? else {
        return Ok(Resolution::Ended { session_id: key, vault_id: auth.vault_id });
    };
    let Some(bearer) = bearer(&tokens.access_token) else {
        tracing::error!(provider = %auth.provider, "stored access token is not a valid header value");
        return Err(ApiError::internal());
    };
    let provider: Arc<str> = match state.providers.get_key_value(auth.provider.as_str()) {
        Some((name, _)) => Arc::from(name.as_str()),
        None => Arc::from(auth.provider.as_str()),
    };
    let resolved = Arc::new(Resolved {
        session_id: key,
        provider,
        scopes: auth.scopes,
        login_at: auth.login_at,
        vault_id: auth.vault_id,
        bearer,
        access_expires_at: tokens.expires_at,
        epoch: epoch.unwrap_or(0),
        last_used: AtomicI64::new(t),
        // When the stored idle expiry was last set (Redis: at most then; extended sooner).
        touched_at: AtomicI64::new(record.expiry_date.unix_timestamp().saturating_sub(idle)),
    });
    if epoch.is_some() {
        state.cache.insert(generation, *browser.id(), resolved.clone());
    }
    Ok(Resolution::Active(resolved))
}

/// Ends a session found dead on the proxy path: deletes its token record and its session
/// record (both leave every cache).
pub async fn end(state: &AppState, session_id: &Id, vault_id: &str) -> Result<(), ApiError> {
    delete_vault(state, vault_id).await?;
    state.store.delete(session_id).await.map_err(store_failure)
}

/// The session cookie with a fresh `Max-Age` of the idle window (or, with `remove`, one
/// that deletes it): `HttpOnly`, `SameSite=Lax`, `Secure`, `Path=/`.
pub fn cookie(state: &AppState, id: Option<&SessionCookie>, remove: bool) -> Option<HeaderValue> {
    let cfg = &state.config.session;
    let (value, max_age) = match (id, remove) {
        (Some(id), false) => (id.value(), cfg.idle_timeout.as_secs()),
        _ => (String::new(), 0),
    };
    HeaderValue::try_from(format!("{}={value}; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age={max_age}", cfg.cookie_name)).ok()
}

/// Extends the idle expiry of `r` (the session of `browser`'s cookie) in the store when due
/// (see the module header); returns the refreshed cookie to send with this response.
pub fn touch_if_due(state: &AppState, r: &Arc<Resolved>, browser: &SessionCookie) -> Option<HeaderValue> {
    let idle = state.config.session.idle_timeout;
    let every = i64::try_from((idle / 8).as_secs()).unwrap_or(i64::MAX).max(1);
    let t = now();
    let last = r.touched_at.load(Ordering::Relaxed);
    if t.saturating_sub(last) < every || r.touched_at.compare_exchange(last, t, Ordering::AcqRel, Ordering::Relaxed).is_err() {
        return None;
    }
    let fresh_cookie = cookie(state, Some(browser), false);
    let state = state.clone();
    let entry = r.clone();
    let expiry = OffsetDateTime::now_utc() + time::Duration::try_from(idle).unwrap_or(time::Duration::minutes(30));
    state.background.clone().spawn(async move {
        match state.store.touch(&entry.session_id, expiry).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::debug!("the session ended while in use; dropping it");
                state.cache.invalidate(crate::store::Invalidation::Record(entry.session_id));
            }
            Err(e) => {
                // Try again at the next use.
                entry.touched_at.store(last, Ordering::Relaxed);
                tracing::warn!(error = %e, "extending the session's idle expiry failed");
            }
        }
    });
    fresh_cookie
}
