//! Access tokens for a request: refreshed before expiry (with skew) or after an upstream 401,
//! single-flight per session — an in-process mutex per vault record plus
//! [`crate::store::AnyStore::lock`] across replicas. After taking the locks the vault record
//! is re-read: if someone else already refreshed, their tokens are used and the bank is not
//! called again. A rotated refresh token is stored before the locks are released, so nobody
//! can present the old one afterwards.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::app::{AppState, Provider};
use crate::error::ApiError;
use crate::oauth::{self, TokenError};
use crate::session::{load_tokens, now, store_tokens};
use crate::vault::TokenSet;

/// In-process single-flight: one async mutex per vault id, dropped when nobody holds it;
/// and when each session last refreshed (to keep a bank whose token lifetime is shorter
/// than the skew from being asked on every request).
#[derive(Debug, Default)]
pub struct RefreshLocks {
    inner: Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
    recent: Mutex<HashMap<String, (Instant, Duration)>>,
}

impl RefreshLocks {
    /// The mutex of `vault_id`.
    pub fn get(&self, vault_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(m) = map.get(vault_id).and_then(Weak::upgrade) {
            return m;
        }
        map.retain(|_, w| w.strong_count() > 0);
        let m = Arc::new(tokio::sync::Mutex::new(()));
        map.insert(vault_id.to_owned(), Arc::downgrade(&m));
        m
    }

    /// Notes a refresh that gave a token living `lifetime`.
    fn refreshed(&self, vault_id: &str, lifetime: Duration) {
        let mut map = self.recent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.retain(|_, (at, life)| at.elapsed() < *life);
        map.insert(vault_id.to_owned(), (Instant::now(), lifetime));
    }

    /// Was `vault_id` refreshed in this process within the first half of its new token's life.
    fn recently_refreshed(&self, vault_id: &str) -> bool {
        let map = self.recent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(vault_id).is_some_and(|(at, life)| at.elapsed() < *life / 2)
    }
}

/// Why a refresh is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The access token expires within the skew (proactive).
    Skew,
    /// The bank answered 401 to this access token.
    Rejected,
}

/// What the caller must do after a refresh failed.
#[derive(Debug)]
pub enum RefreshFailure {
    /// The grant is dead: end the session and answer `session_expired`.
    SessionEnded,
    /// Answer this error; the session stays.
    Error(ApiError),
}

/// Does `tokens` need a refresh before use.
pub fn needs_refresh(tokens: &TokenSet, skew: Duration) -> bool {
    let skew = i64::try_from(skew.as_secs()).unwrap_or(i64::MAX);
    tokens.expires_at.saturating_sub(skew) <= now()
}

/// The tokens to use for a request: the stored ones, refreshed first when they expire
/// within the skew. `Ok(None)` when the vault record is gone (logged out elsewhere).
pub async fn current_tokens(state: &AppState, provider: &Provider, vault_id: &str) -> Result<Option<TokenSet>, RefreshFailure> {
    let Some((tokens, _)) = load_tokens(state, vault_id).await.map_err(RefreshFailure::Error)? else { return Ok(None) };
    if !needs_refresh(&tokens, state.config.session.refresh_skew) {
        return Ok(Some(tokens));
    }
    refresh(state, provider, vault_id, &tokens.access_token, Reason::Skew).await
}

/// Refreshes the tokens of `vault_id` unless someone already replaced `stale_access`.
pub async fn refresh(
    state: &AppState,
    provider: &Provider,
    vault_id: &str,
    stale_access: &str,
    reason: Reason,
) -> Result<Option<TokenSet>, RefreshFailure> {
    let name = provider.config.name.as_str();
    let local = state.refresh_locks.get(vault_id);
    let _local = local.lock().await;
    // Long enough for one token call; a crashed holder's lock expires by itself.
    let limits = &state.config.limits;
    let ttl = limits.upstream_timeout + limits.connect_timeout + Duration::from_secs(5);
    let guard = match state.store.lock(&format!("refresh:{vault_id}"), ttl, ttl).await {
        Ok(Some(g)) => g,
        Ok(None) => {
            tracing::warn!(provider = name, "refresh lock not obtained in time");
            state.metrics.refresh(name, "error");
            return Err(RefreshFailure::Error(ApiError::upstream_unavailable("The token refresh is taking too long; try again.")));
        }
        Err(err) => {
            tracing::error!(error = %err, "refresh lock failed");
            return Err(RefreshFailure::Error(ApiError::internal()));
        }
    };
    let result = refresh_locked(state, provider, vault_id, stale_access, reason).await;
    guard.release().await;
    result
}

async fn refresh_locked(
    state: &AppState,
    provider: &Provider,
    vault_id: &str,
    stale_access: &str,
    reason: Reason,
) -> Result<Option<TokenSet>, RefreshFailure> {
    let name = provider.config.name.as_str();
    let Some((tokens, expiry)) = load_tokens(state, vault_id).await.map_err(RefreshFailure::Error)? else { return Ok(None) };
    // Someone else refreshed while we waited: use their tokens (even when they are inside the
    // skew window — a bank with lifetimes shorter than the skew would otherwise be asked
    // once per waiting request).
    let valid = tokens.expires_at > now();
    if valid && (tokens.access_token != stale_access || (reason == Reason::Skew && state.refresh_locks.recently_refreshed(vault_id))) {
        state.metrics.refresh(name, "shared");
        return Ok(Some(tokens));
    }
    match oauth::refresh(state, provider, &tokens).await {
        Ok(fresh) => {
            // Never let the vault record outlive the session's absolute lifetime.
            let expiry: OffsetDateTime = expiry;
            store_tokens(state, vault_id, &fresh, expiry).await.map_err(RefreshFailure::Error)?;
            let lifetime = u64::try_from(fresh.expires_at.saturating_sub(now())).unwrap_or(0);
            state.refresh_locks.refreshed(vault_id, Duration::from_secs(lifetime));
            state.metrics.refresh(name, "ok");
            tracing::info!(provider = name, "access token refreshed");
            Ok(Some(fresh))
        }
        Err(TokenError::InvalidGrant) => {
            state.metrics.refresh(name, "invalid_grant");
            tracing::info!(provider = name, "refresh refused (invalid_grant): the session ends");
            Err(RefreshFailure::SessionEnded)
        }
        Err(TokenError::OAuth(code)) => {
            state.metrics.refresh(name, "error");
            tracing::warn!(provider = name, error = %code, "refresh refused by the bank");
            Err(RefreshFailure::Error(ApiError::upstream_unavailable("The bank refused to refresh the session.")))
        }
        Err(TokenError::Timeout) => {
            state.metrics.refresh(name, "error");
            Err(RefreshFailure::Error(ApiError::upstream_timeout()))
        }
        Err(TokenError::Unavailable) => {
            state.metrics.refresh(name, "error");
            Err(RefreshFailure::Error(ApiError::upstream_unavailable("The bank could not be reached to refresh the session.")))
        }
    }
}
