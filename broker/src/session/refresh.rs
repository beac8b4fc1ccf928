//! Access-token refresh: before expiry (with skew) or after an upstream 401, exactly once
//! per expiry per session across every replica, and never lost.
//!
//! - **Detached.** The token call and the write of the rotated tokens run in a task of the
//!   broker's own (tracked, awaited at shutdown), not in the browser's request: a browser
//!   that goes away mid-refresh, or a shutdown, cannot drop a rotated refresh token between
//!   the bank's answer and the store. Requests await the task's shared result.
//! - **Single flight.** In this process, one task per token record (later requests join
//!   it); across replicas, [`crate::store::AnyStore::lock`]. With the lock held the token
//!   record is re-read: if someone else already refreshed, their tokens are used and the
//!   bank is not called.
//! - **Stored before released.** The rotated tokens are written (retried while the store
//!   fails, for a few seconds) before the lock is released, so nobody can present the old
//!   refresh token afterwards; then every replica's cached copy of the session is dropped.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderValue;
use futures::future::{BoxFuture, FutureExt, Shared};
use tower_sessions::session::Id;

use crate::error::ApiError;
use crate::oauth::{self, TokenError};
use crate::session::resolve::bearer;
use crate::session::{load_tokens, now, store_tokens};
use crate::state::{AppState, Provider};
use crate::store::Invalidation;

/// Why a refresh is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The access token expires within the skew (proactive).
    Skew,
    /// The bank answered 401 to this access token.
    Rejected,
}

/// What the caller must do after a refresh failed.
#[derive(Debug, Clone)]
pub enum RefreshFailure {
    /// The grant is dead (or the token record is gone): end the session and answer
    /// `session_expired`.
    SessionEnded,
    /// Answer this error; the session stays.
    Error(ApiError),
}

/// Fresh tokens, as the proxy uses them.
#[derive(Clone)]
pub struct Fresh {
    /// `Bearer …`, sensitive.
    pub bearer: HeaderValue,
    /// When the access token expires (unix seconds).
    pub expires_at: i64,
}

type Outcome = Result<Fresh, RefreshFailure>;

/// After a refresh that followed a 401 made a token the bank refuses too, how long its 401s
/// pass through without another refresh.
pub const FUTILE_REFRESH_WINDOW: Duration = Duration::from_secs(60);

/// SHA-256 of a header value (a token is never kept in clear beyond the cache).
fn digest(v: &HeaderValue) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(v.as_bytes()).into()
}

/// The refresh tasks in flight in this process, and when each session last refreshed (to
/// keep a bank whose token lifetime is shorter than the skew from being asked on every
/// request).
#[derive(Default)]
pub struct Refresher {
    inflight: Mutex<HashMap<String, Shared<BoxFuture<'static, Outcome>>>>,
    recent: Mutex<HashMap<String, (Instant, Duration)>>,
    /// Per token record: a digest of the access token that a refresh after a 401 made, until
    /// the bank accepts it. When the bank refuses that one too, refreshing does not help:
    /// its 401s pass through.
    after_rejection: Mutex<HashMap<String, ([u8; 32], Instant)>>,
    /// Whether `after_rejection` has entries (read on every answer without the lock).
    any_after_rejection: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Refresher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refresher").finish_non_exhaustive()
    }
}

impl Refresher {
    /// Notes that `bearer` was made by a refresh after the bank refused its predecessor.
    pub fn refreshed_after_rejection(&self, vault_id: &str, bearer: &HeaderValue) {
        let mut map = self.after_rejection.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= 100_000 {
            map.clear();
        }
        map.insert(vault_id.to_owned(), (digest(bearer), Instant::now()));
        self.any_after_rejection.store(true, std::sync::atomic::Ordering::Release);
    }

    /// The bank took the token a refresh after a 401 made: a later 401 may be cured again.
    pub fn accepted_after_rejection(&self, vault_id: &str) {
        if !self.any_after_rejection.load(std::sync::atomic::Ordering::Acquire) {
            return;
        }
        let mut map = self.after_rejection.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.remove(vault_id);
        if map.is_empty() {
            self.any_after_rejection.store(false, std::sync::atomic::Ordering::Release);
        }
    }

    /// Whether `bearer` came from a refresh after a 401 (within [`FUTILE_REFRESH_WINDOW`])
    /// and was not accepted yet, so another 401 to it will not be cured by refreshing again:
    /// at most one such refresh per access token and window.
    pub fn refreshing_did_not_help(&self, vault_id: &str, bearer: &HeaderValue) -> bool {
        let map = self.after_rejection.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(vault_id).is_some_and(|(d, at)| *d == digest(bearer) && at.elapsed() < FUTILE_REFRESH_WINDOW)
    }

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

/// Does a token expiring at `expires_at` need a refresh before use.
pub fn needs_refresh(expires_at: i64, skew: Duration) -> bool {
    let skew = i64::try_from(skew.as_secs()).unwrap_or(i64::MAX);
    expires_at.saturating_sub(skew) <= now()
}

/// Refreshes the tokens of session `session_id` (token record `vault_id`) unless someone
/// already replaced `stale_access`; joins a refresh of the same record already in flight.
pub async fn refresh(state: &AppState, provider: &Provider, session_id: Id, vault_id: &str, stale_access: &str, reason: Reason) -> Outcome {
    let shared = {
        let mut map = state.refresher.inflight.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match map.get(vault_id) {
            Some(f) => f.clone(),
            None => {
                let task = {
                    let (state, provider, vault_id, stale) =
                        (state.clone(), provider.clone(), vault_id.to_owned(), stale_access.to_owned());
                    async move {
                        let out = run(&state, &provider, session_id, &vault_id, &stale, reason).await;
                        state.refresher.inflight.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&vault_id);
                        out
                    }
                };
                let handle = state.background.spawn(task);
                let f = async move {
                    handle.await.unwrap_or_else(|_| {
                        tracing::error!("a refresh task failed");
                        Err(RefreshFailure::Error(ApiError::internal()))
                    })
                }
                .boxed()
                .shared();
                map.insert(vault_id.to_owned(), f.clone());
                f
            }
        }
    };
    shared.await
}

async fn run(state: &AppState, provider: &Provider, session_id: Id, vault_id: &str, stale: &str, reason: Reason) -> Outcome {
    let name = provider.config.name.as_str();
    // Long enough for one token call; a crashed holder's lock expires by itself.
    let limits = &state.config.limits;
    let ttl = limits.upstream_timeout + limits.connect_timeout + Duration::from_secs(10);
    let guard = match state.store.lock(&format!("refresh:{vault_id}"), ttl, ttl).await {
        Ok(Some(g)) => g,
        Ok(None) => {
            tracing::warn!(provider = name, "refresh lock not obtained in time");
            state.metrics.refresh(&provider.label, "error");
            return Err(RefreshFailure::Error(ApiError::upstream_unavailable("The token refresh is taking too long; try again.")));
        }
        Err(err) => {
            tracing::error!(error = %err, "refresh lock failed");
            return Err(RefreshFailure::Error(ApiError::store_unavailable()));
        }
    };
    let result = locked(state, provider, &session_id, vault_id, stale, reason).await;
    guard.release().await;
    if let Ok((_, true)) = result {
        // New tokens (the other replicas were told with the write): drop this replica's copy.
        state.cache.invalidate(Invalidation::Record(session_id));
    }
    result.map(|(fresh, _)| fresh)
}

/// With the lock held: the fresh tokens, and whether this call changed the stored ones.
async fn locked(
    state: &AppState,
    provider: &Provider,
    session_id: &Id,
    vault_id: &str,
    stale: &str,
    reason: Reason,
) -> Result<(Fresh, bool), RefreshFailure> {
    let name = provider.config.name.as_str();
    let Some((tokens, expiry)) = load_tokens(state, vault_id).await.map_err(RefreshFailure::Error)? else {
        return Err(RefreshFailure::SessionEnded);
    };
    let fresh = |t: &crate::vault::TokenSet| -> Result<Fresh, RefreshFailure> {
        let bearer = bearer(&t.access_token).ok_or_else(|| {
            tracing::error!(provider = name, "access token is not a valid header value");
            RefreshFailure::Error(ApiError::internal())
        })?;
        Ok(Fresh { bearer, expires_at: t.expires_at })
    };
    // Someone else refreshed while we waited: use their tokens (even when they are inside the
    // skew window — a bank with lifetimes shorter than the skew would otherwise be asked
    // once per waiting request).
    let valid = tokens.expires_at > now();
    if valid && (tokens.access_token != stale || (reason == Reason::Skew && state.refresher.recently_refreshed(vault_id))) {
        state.metrics.refresh(&provider.label, "shared");
        return Ok((fresh(&tokens)?, tokens.access_token != stale));
    }
    match oauth::refresh(state, provider, &tokens).await {
        Ok(new) => {
            // The bank has rotated the grant: these tokens must reach the store. The vault
            // record keeps its expiry (the session's absolute lifetime).
            let mut delay = Duration::from_millis(100);
            let mut attempt = 1;
            loop {
                match store_tokens(state, session_id, vault_id, &new, expiry).await {
                    Ok(()) => break,
                    Err(_) if attempt < 7 => {
                        tracing::warn!(provider = name, attempt, "storing refreshed tokens failed; retrying");
                        tokio::time::sleep(delay).await;
                        delay *= 2;
                        attempt += 1;
                    }
                    Err(e) => {
                        tracing::error!(provider = name, "storing refreshed tokens failed for good; the session may have to log in again");
                        state.metrics.refresh(&provider.label, "error");
                        return Err(RefreshFailure::Error(e));
                    }
                }
            }
            let lifetime = u64::try_from(new.expires_at.saturating_sub(now())).unwrap_or(0);
            state.refresher.refreshed(vault_id, Duration::from_secs(lifetime));
            state.metrics.refresh(&provider.label, "ok");
            tracing::info!(provider = name, "access token refreshed");
            Ok((fresh(&new)?, true))
        }
        Err(TokenError::InvalidGrant) => {
            state.metrics.refresh(&provider.label, "invalid_grant");
            tracing::info!(provider = name, "refresh refused (invalid_grant): the session ends");
            Err(RefreshFailure::SessionEnded)
        }
        Err(TokenError::OAuth(code)) => {
            state.metrics.refresh(&provider.label, "error");
            tracing::warn!(provider = name, error = %code, "refresh refused by the bank");
            Err(RefreshFailure::Error(ApiError::upstream_unavailable("The bank refused to refresh the session.")))
        }
        Err(TokenError::Timeout) => {
            state.metrics.refresh(&provider.label, "error");
            Err(RefreshFailure::Error(ApiError::upstream_timeout()))
        }
        Err(TokenError::Unavailable) => {
            state.metrics.refresh(&provider.label, "error");
            Err(RefreshFailure::Error(ApiError::upstream_unavailable("The bank could not be reached to refresh the session.")))
        }
    }
}
