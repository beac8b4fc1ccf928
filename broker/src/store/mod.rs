//! The session store: session records and token ("vault") records in memory, SQLite or
//! Redis, behind one type, [`AnyStore`].
//!
//! Every backend keeps the same promises:
//!
//! - **Conditional writes.** `create` never overwrites, `save` only updates a record that
//!   still exists and `touch` only extends one: a request still in flight can never bring
//!   back a session after logout, or a pre-login id after `cycle_id`.
//! - **A cross-replica lock** (`valv_locks` in SQLite, `valv:lock:{name}` keys in Redis, a
//!   map in memory) so that exactly one replica refreshes a session's tokens per expiry.
//! - **An index of token records** (records carrying [`VAULT_FIELD`]) with their expiry, so
//!   "active sessions" is one cheap query.
//! - **A change signal** for caches of resolved sessions ([`AnyStore::epoch`],
//!   [`AnyStore::sync`] and the invalidation sink): Redis publishes the ids it changes on
//!   `valv:invalidate` and every replica listens; SQLite logs them in `valv_changes`, read
//!   by the other processes when the WAL-index header in the `-shm` file shows a commit;
//!   memory is one process.

mod memory;
mod redis;
mod sqlite;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rand::RngCore as _;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};

use crate::config::StoreConfig;

/// The record field that marks a token ("vault") record.
pub const VAULT_FIELD: &str = "tokens";

/// How often expired sessions, index rows and locks are deleted (SQLite, memory).
const CLEANUP_PERIOD: Duration = Duration::from_secs(60);

/// Errors opening or using a store; messages never contain session data or passwords.
#[derive(Debug, thiserror::Error)]
#[error("session store: {0}")]
pub struct StoreError(pub String);

/// What a cache of store data is told when records change elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalidation {
    /// This record changed or is gone.
    Record(Id),
    /// Anything may have changed (the change channel was lost or came back).
    All,
}

/// Receives [`Invalidation`]s from the store's change channel.
pub type InvalidationSink = Arc<dyn Fn(Invalidation) + Send + Sync>;

/// One of the three backends behind one type, usable as `SessionManagerLayer<AnyStore>` and
/// directly through `tower_sessions::SessionStore` (`create`/`save`/`load`/`delete`).
#[derive(Clone)]
pub struct AnyStore {
    backend: Backend,
    sink: Arc<OnceLock<InvalidationSink>>,
}

#[derive(Clone)]
enum Backend {
    Memory(memory::MemoryBackend),
    Sqlite(sqlite::SqliteBackend),
    Redis(redis::RedisBackend),
}

impl std::fmt::Debug for AnyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.backend {
            Backend::Memory(_) => "AnyStore(memory)",
            Backend::Sqlite(_) => "AnyStore(sqlite)",
            Backend::Redis(_) => "AnyStore(redis)",
        })
    }
}

pub(crate) fn unix_now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

pub(crate) fn unix_now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// `redis://user:pass@host:port/db` without the credentials, for messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if !u.username().is_empty() || u.password().is_some() {
                let _ = u.set_username("");
                let _ = u.set_password(None);
            }
            u.to_string()
        }
        Err(_) => "(unparseable URL)".into(),
    }
}

/// The bytes a record is stored as (MessagePack, as tower-sessions' own stores).
pub(crate) fn encode(record: &Record) -> Result<Vec<u8>, StoreError> {
    rmp_serde::to_vec(record).map_err(|e| StoreError(format!("encoding a record: {e}")))
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Record, StoreError> {
    rmp_serde::from_slice(bytes).map_err(|e| StoreError(format!("decoding a record: {e}")))
}

impl AnyStore {
    /// Opens (and migrates) the configured store; starts the expired-session cleanup task
    /// (SQLite, memory; Redis expires keys itself) and, for Redis, the change listener.
    pub async fn open(config: &StoreConfig) -> Result<Self, StoreError> {
        let backend = match config {
            StoreConfig::Memory => Backend::Memory(memory::MemoryBackend::default()),
            StoreConfig::Sqlite(path) => Backend::Sqlite(sqlite::SqliteBackend::open(path).await?),
            StoreConfig::Redis(url) => Backend::Redis(redis::RedisBackend::open(url).await?),
        };
        let store = Self { backend, sink: Arc::default() };
        store.spawn_cleanup();
        Ok(store)
    }

    fn spawn_cleanup(&self) {
        if matches!(self.backend, Backend::Redis(_)) {
            return; // keys carry their own expiry
        }
        let this = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(CLEANUP_PERIOD);
            loop {
                tick.tick().await;
                if let Err(e) = this.delete_expired().await {
                    tracing::warn!(error = %e, "deleting expired sessions failed");
                }
            }
        });
    }

    /// Readiness: is the store reachable right now.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Memory(_) => Ok(()),
            Backend::Sqlite(b) => b.ping().await,
            Backend::Redis(b) => b.ping().await,
        }
    }

    /// The change epoch for caches: data read while the epoch was `e` may be served from a
    /// cache for as long as the epoch is still `e`. `None`: changes elsewhere cannot be seen
    /// right now (Redis' change channel is down), so nothing may be served from a cache.
    pub fn epoch(&self) -> Option<u64> {
        match &self.backend {
            Backend::Memory(_) => Some(0),
            Backend::Sqlite(b) => b.epoch(),
            Backend::Redis(b) => b.epoch(),
        }
    }

    /// Brings this replica's view up to date before a cache is used: SQLite reports what
    /// other processes changed since the last call to the invalidation sink (a `pread` when
    /// nothing did). Redis pushes its changes; memory has no other process.
    pub async fn sync(&self) {
        if let Backend::Sqlite(b) = &self.backend {
            match b.changes().await {
                sqlite::Changes::None => {}
                sqlite::Changes::Records(ids) => ids.into_iter().for_each(|id| self.notify(Invalidation::Record(id))),
                sqlite::Changes::All => self.notify(Invalidation::All),
            }
        }
    }

    /// Where deleted records are reported: those this process deletes, and for Redis those
    /// other replicas delete or announce with [`AnyStore::save_announcing`] (SQLite
    /// reports other processes' changes through [`AnyStore::epoch`]). Set once, at start.
    pub fn set_invalidation_sink(&self, sink: InvalidationSink) {
        if let Backend::Redis(b) = &self.backend {
            b.set_sink(sink.clone());
        }
        let _ = self.sink.set(sink);
    }

    fn notify(&self, what: Invalidation) {
        if let Some(sink) = self.sink.get() {
            sink(what);
        }
    }

    /// Updates a record that still exists (as `save`) and, in the same atomic step, tells
    /// the other replicas that `announce` changed (Redis: published on the change channel by
    /// one script; SQLite: a `valv_changes` row in the write's transaction; memory: one
    /// process). No replica can see the write without the notice. `false`: the record is gone.
    pub async fn save_announcing(&self, record: &Record, announce: &Id) -> Result<bool, StoreError> {
        let updated = match &self.backend {
            Backend::Memory(b) => b.save(record),
            Backend::Sqlite(b) => b.save_announcing(record, announce).await?,
            Backend::Redis(b) => b.save_announcing(record, announce).await?,
        };
        if updated && record.data.contains_key(VAULT_FIELD) {
            self.index_vault(record).await?;
        }
        Ok(updated)
    }

    /// Extends a record's expiry to `expiry` if it still exists; `false` when it is gone.
    pub async fn touch(&self, id: &Id, expiry: OffsetDateTime) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Memory(b) => Ok(b.touch(id, expiry)),
            Backend::Sqlite(b) => b.touch(id, expiry).await,
            Backend::Redis(b) => b.touch(id, expiry).await,
        }
    }

    /// Takes the named lock for at most `ttl` (shared by every replica using this store),
    /// waiting up to `wait` for it. `None` when it could not be had in time.
    pub async fn lock(&self, name: &str, ttl: Duration, wait: Duration) -> Result<Option<LockGuard>, StoreError> {
        let token = {
            let mut b = [0u8; 16];
            rand::rngs::OsRng.fill_bytes(&mut b);
            format!("{:032x}", u128::from_le_bytes(b))
        };
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1);
        let deadline = Instant::now() + wait;
        let mut backoff = Duration::from_millis(5);
        loop {
            let taken = match &self.backend {
                Backend::Memory(b) => b.try_lock(name, &token, ttl),
                Backend::Sqlite(b) => b.try_lock(name, &token, ttl_ms).await?,
                Backend::Redis(b) => b.try_lock(name, &token, ttl_ms).await?,
            };
            if taken {
                return Ok(Some(LockGuard { release: Some(Release { store: self.clone(), name: name.to_owned(), token }) }));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(backoff.min(deadline - now)).await;
            backoff = (backoff * 2).min(Duration::from_millis(100));
        }
    }

    /// Claims `name` for `ttl`: `true` the first time, `false` while an earlier claim lives
    /// (in every replica sharing the store). A claim is never released; it expires. Used to
    /// make a login's `state` usable once.
    pub async fn claim(&self, name: &str, ttl: Duration) -> Result<bool, StoreError> {
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1);
        match &self.backend {
            Backend::Memory(b) => Ok(b.try_lock(name, "claimed", ttl)),
            Backend::Sqlite(b) => b.try_lock(name, "claimed", ttl_ms).await,
            Backend::Redis(b) => b.try_lock(name, "claimed", ttl_ms).await,
        }
    }

    /// Records (sessions and token records, expired ones not yet cleaned up included) held by
    /// the in-memory backend; `None` for SQLite and Redis. For tests and diagnostics.
    pub async fn record_count(&self) -> Option<usize> {
        match &self.backend {
            Backend::Memory(b) => Some(b.record_count()),
            _ => None,
        }
    }

    /// Number of logged-in sessions: live token records.
    pub async fn count_active(&self) -> Result<u64, StoreError> {
        match &self.backend {
            Backend::Memory(b) => Ok(b.count_active()),
            Backend::Sqlite(b) => b.count_active().await,
            Backend::Redis(b) => b.count_active().await,
        }
    }

    async fn index_vault(&self, record: &Record) -> Result<(), StoreError> {
        let exp = record.expiry_date.unix_timestamp();
        match &self.backend {
            Backend::Memory(b) => {
                b.index_vault(record.id, exp);
                Ok(())
            }
            Backend::Sqlite(b) => b.index_vault(&record.id, exp).await,
            Backend::Redis(b) => b.index_vault(&record.id, exp).await,
        }
    }
}

fn backend_error(e: StoreError) -> session_store::Error {
    session_store::Error::Backend(e.0)
}

#[async_trait]
impl SessionStore for AnyStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match &self.backend {
            Backend::Memory(b) => b.create(record),
            Backend::Sqlite(b) => b.create(record).await.map_err(backend_error)?,
            Backend::Redis(b) => b.create(record).await.map_err(backend_error)?,
        }
        if record.data.contains_key(VAULT_FIELD) {
            self.index_vault(record).await.map_err(backend_error)?;
        }
        Ok(())
    }

    /// Updates a record that still exists; a record that is gone (logout, `cycle_id`,
    /// expiry) is not re-created.
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let updated = match &self.backend {
            Backend::Memory(b) => b.save(record),
            Backend::Sqlite(b) => b.save(record).await.map_err(backend_error)?,
            Backend::Redis(b) => b.save(record).await.map_err(backend_error)?,
        };
        if !updated {
            tracing::debug!("record is gone (logout, id rotation or expiry); not re-creating it");
            return Ok(());
        }
        if record.data.contains_key(VAULT_FIELD) {
            self.index_vault(record).await.map_err(backend_error)?;
        }
        Ok(())
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        match &self.backend {
            Backend::Memory(b) => Ok(b.load(session_id)),
            Backend::Sqlite(b) => b.load(session_id).await.map_err(backend_error),
            Backend::Redis(b) => b.load(session_id).await.map_err(backend_error),
        }
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        match &self.backend {
            Backend::Memory(b) => b.delete(session_id),
            Backend::Sqlite(b) => b.delete(session_id).await.map_err(backend_error)?,
            Backend::Redis(b) => b.delete(session_id).await.map_err(backend_error)?,
        }
        self.notify(Invalidation::Record(*session_id));
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for AnyStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match &self.backend {
            Backend::Memory(b) => {
                b.delete_expired();
                Ok(())
            }
            Backend::Sqlite(b) => b.delete_expired().await.map_err(backend_error),
            Backend::Redis(_) => Ok(()),
        }
    }
}

struct Release {
    store: AnyStore,
    name: String,
    token: String,
}

impl Release {
    async fn run(self) {
        let result = match &self.store.backend {
            Backend::Memory(b) => {
                b.release(&self.name, &self.token);
                Ok(())
            }
            Backend::Sqlite(b) => b.release(&self.name, &self.token).await,
            Backend::Redis(b) => b.release(&self.name, &self.token).await,
        };
        if let Err(e) = result {
            tracing::warn!(lock = %self.name, error = %e, "releasing a lock failed; it expires by its TTL");
        }
    }
}

/// A held lock; released on `release()`, or — if dropped — in the background (and in any
/// case by its TTL). Releasing only deletes the lock if this holder still owns it.
pub struct LockGuard {
    release: Option<Release>,
}

impl std::fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockGuard").field("name", &self.release.as_ref().map(|r| r.name.as_str())).finish()
    }
}

impl LockGuard {
    /// Releases the lock now.
    pub async fn release(mut self) {
        if let Some(r) = self.release.take() {
            r.run().await;
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let Some(r) = self.release.take() {
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(r.run());
            }
        }
    }
}
