//! Session stores (tower-sessions: memory, SQLite, Redis) and the cross-replica refresh lock.

use std::time::Duration;

use crate::config::StoreConfig;

/// Errors opening or using a store; messages never contain session data.
#[derive(Debug, thiserror::Error)]
#[error("session store: {0}")]
pub struct StoreError(pub String);

/// One of the three tower-sessions stores behind one type, usable as
/// `SessionManagerLayer<AnyStore>` and directly through `tower_sessions::SessionStore`
/// (`create`/`save`/`load`/`delete`). FOUNDATION implements.
#[derive(Debug, Clone)]
pub struct AnyStore {}

impl AnyStore {
    /// Opens (and migrates) the configured store; starts the expired-session cleanup task.
    pub async fn open(config: &StoreConfig) -> Result<Self, StoreError> {
        let _ = config;
        unimplemented!("foundation")
    }

    /// Readiness: is the store reachable right now.
    pub async fn ping(&self) -> Result<(), StoreError> {
        unimplemented!("foundation")
    }

    /// Takes the named lock for at most `ttl` (shared by every replica using this store),
    /// waiting up to `wait` for it. `None` when it could not be had in time.
    pub async fn lock(&self, name: &str, ttl: Duration, wait: Duration) -> Result<Option<LockGuard>, StoreError> {
        let _ = (name, ttl, wait);
        unimplemented!("foundation")
    }

    /// Number of live (unexpired) sessions, for the `active sessions` metric.
    pub async fn count_active(&self) -> Result<u64, StoreError> {
        unimplemented!("foundation")
    }
}

/// A held lock; released on `release()` (or, if dropped, by its TTL / a background release).
#[derive(Debug)]
pub struct LockGuard {}

impl LockGuard {
    /// Releases the lock now.
    pub async fn release(self) {}
}
