//! Session stores (tower-sessions: memory, SQLite, Redis) and the cross-replica refresh lock.
//!
//! [`AnyStore`] puts the three tower-sessions stores behind one type that the session layer
//! and the vault use through [`SessionStore`]. Besides the records it keeps two small things
//! per backend:
//!
//! - a **lock** table (`valv_locks` in SQLite, `valv:lock:{name}` keys in Redis, a map in
//!   memory) so that exactly one replica refreshes a session's tokens per expiry;
//! - an **index of token records** (records carrying [`VAULT_FIELD`]: one per logged-in
//!   session) with their expiry, so that "active sessions" is one cheap query instead of a
//!   scan that decodes every record.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use fred::clients::Pool;
use fred::interfaces::{ClientLike, KeysInterface, LuaInterface, SortedSetsInterface};
use fred::types::{Expiration, SetOptions};
use rand::RngCore as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions::MemoryStore;
use tower_sessions_redis_store::RedisStore;
use tower_sessions_sqlx_store::SqliteStore;

use crate::config::StoreConfig;

/// The record field that marks a token ("vault") record; see `broker/INTERFACES.md`.
pub const VAULT_FIELD: &str = "tokens";

/// How often expired sessions, index rows and locks are deleted (SQLite, memory).
const CLEANUP_PERIOD: Duration = Duration::from_secs(60);

/// Errors opening or using a store; messages never contain session data or passwords.
#[derive(Debug, thiserror::Error)]
#[error("session store: {0}")]
pub struct StoreError(pub String);

/// One of the three tower-sessions stores behind one type, usable as
/// `SessionManagerLayer<AnyStore>` and directly through `tower_sessions::SessionStore`
/// (`create`/`save`/`load`/`delete`).
#[derive(Clone)]
pub struct AnyStore {
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    Memory {
        store: MemoryStore,
        locks: Arc<Mutex<HashMap<String, (u128, Instant)>>>,
        vaults: Arc<Mutex<HashMap<Id, i64>>>,
        /// Expiry of every record in `store`: `MemoryStore` only hides expired records on
        /// load and has no `ExpiredDeletion`, so the cleanup task deletes them from here.
        /// Held across the store call that changes a record, so a cleanup never deletes a
        /// record that a concurrent save has just extended.
        expiries: Arc<tokio::sync::Mutex<HashMap<Id, OffsetDateTime>>>,
    },
    Sqlite {
        store: SqliteStore,
        pool: SqlitePool,
    },
    Redis {
        store: RedisStore<Pool>,
        pool: Pool,
    },
}

impl std::fmt::Debug for AnyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.inner {
            Inner::Memory { .. } => "AnyStore(memory)",
            Inner::Sqlite { .. } => "AnyStore(sqlite)",
            Inner::Redis { .. } => "AnyStore(redis)",
        })
    }
}

fn unix_now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

fn unix_now_ms() -> i64 {
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

const RELEASE_SCRIPT: &str = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
const COUNT_SCRIPT: &str = "redis.call('zremrangebyscore', KEYS[1], '-inf', ARGV[1]) return redis.call('zcard', KEYS[1])";
const REDIS_VAULT_INDEX: &str = "valv:vaults";

impl AnyStore {
    /// Opens (and migrates) the configured store; starts the expired-session cleanup task
    /// (SQLite, memory; Redis expires keys itself).
    pub async fn open(config: &StoreConfig) -> Result<Self, StoreError> {
        let store = match config {
            StoreConfig::Memory => Self {
                inner: Inner::Memory {
                    store: MemoryStore::default(),
                    locks: Arc::default(),
                    vaults: Arc::default(),
                    expiries: Arc::default(),
                },
            },
            StoreConfig::Sqlite(path) => Self::open_sqlite(path).await?,
            StoreConfig::Redis(url) => Self::open_redis(url).await?,
        };
        store.spawn_cleanup();
        Ok(store)
    }

    async fn open_sqlite(path: &Path) -> Result<Self, StoreError> {
        let shown = path.display();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError(format!("cannot create the directory of {shown}: {e}")))?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(|e| StoreError(format!("cannot open SQLite database {shown}: {e}")))?;
        restrict_permissions(path);
        let store = SqliteStore::new(pool.clone());
        store.migrate().await.map_err(|e| StoreError(format!("cannot create the session table in {shown}: {e}")))?;
        for ddl in [
            "create table if not exists valv_locks (name text primary key not null, token text not null, expires_at integer not null)",
            "create table if not exists valv_vault_index (id text primary key not null, expires_at integer not null)",
        ] {
            sqlx::query(ddl).execute(&pool).await.map_err(|e| StoreError(format!("cannot create Valv's tables in {shown}: {e}")))?;
        }
        Ok(Self { inner: Inner::Sqlite { store, pool } })
    }

    async fn open_redis(url: &str) -> Result<Self, StoreError> {
        let shown = redact_url(url);
        let config =
            fred::types::config::Config::from_url(url).map_err(|e| StoreError(format!("bad Redis URL {shown}: {}", e.details())))?;
        let policy = fred::types::config::ReconnectPolicy::new_exponential(0, 100, 5_000, 2);
        let pool = Pool::new(config, None, None, Some(policy), 4).map_err(|e| StoreError(format!("Redis {shown}: {}", e.details())))?;
        let _tasks = pool.connect();
        match tokio::time::timeout(Duration::from_secs(10), pool.wait_for_connect()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(StoreError(format!("cannot connect to Redis at {shown}: {}", e.details()))),
            Err(_) => return Err(StoreError(format!("cannot connect to Redis at {shown}: no answer within 10 s"))),
        }
        let store = RedisStore::new(pool.clone());
        Ok(Self { inner: Inner::Redis { store, pool } })
    }

    fn spawn_cleanup(&self) {
        let this = self.clone();
        if matches!(this.inner, Inner::Redis { .. }) {
            return; // keys carry their own expiry
        }
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
        match &self.inner {
            Inner::Memory { .. } => Ok(()),
            Inner::Sqlite { pool, .. } => {
                sqlx::query("select 1").execute(pool).await.map(|_| ()).map_err(|e| StoreError(format!("SQLite: {e}")))
            }
            Inner::Redis { pool, .. } => match tokio::time::timeout(Duration::from_secs(2), pool.ping::<String>(None)).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => Err(StoreError(format!("Redis: {}", e.details()))),
                Err(_) => Err(StoreError("Redis: no answer to PING within 2 s".into())),
            },
        }
    }

    /// Takes the named lock for at most `ttl` (shared by every replica using this store),
    /// waiting up to `wait` for it. `None` when it could not be had in time.
    pub async fn lock(&self, name: &str, ttl: Duration, wait: Duration) -> Result<Option<LockGuard>, StoreError> {
        let token = {
            let mut b = [0u8; 16];
            rand::rngs::OsRng.fill_bytes(&mut b);
            u128::from_le_bytes(b)
        };
        let deadline = Instant::now() + wait;
        let mut backoff = Duration::from_millis(5);
        loop {
            if self.try_lock(name, token, ttl).await? {
                return Ok(Some(LockGuard { release: Some(self.release_handle(name, token)) }));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(backoff.min(deadline - now)).await;
            backoff = (backoff * 2).min(Duration::from_millis(100));
        }
    }

    async fn try_lock(&self, name: &str, token: u128, ttl: Duration) -> Result<bool, StoreError> {
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1);
        match &self.inner {
            Inner::Memory { locks, .. } => {
                let mut map = locks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let now = Instant::now();
                match map.get(name) {
                    Some((_, until)) if *until > now => Ok(false),
                    _ => {
                        map.insert(name.to_owned(), (token, now + ttl));
                        Ok(true)
                    }
                }
            }
            Inner::Sqlite { pool, .. } => {
                let now = unix_now_ms();
                let done = sqlx::query(
                    "insert into valv_locks (name, token, expires_at) values (?1, ?2, ?3) \
                     on conflict(name) do update set token = excluded.token, expires_at = excluded.expires_at \
                     where valv_locks.expires_at <= ?4",
                )
                .bind(name)
                .bind(format!("{token:032x}"))
                .bind(now.saturating_add(ttl_ms))
                .bind(now)
                .execute(pool)
                .await
                .map_err(|e| StoreError(format!("SQLite lock: {e}")))?;
                Ok(done.rows_affected() == 1)
            }
            Inner::Redis { pool, .. } => {
                let set: Option<String> = pool
                    .set(format!("valv:lock:{name}"), format!("{token:032x}"), Some(Expiration::PX(ttl_ms)), Some(SetOptions::NX), false)
                    .await
                    .map_err(|e| StoreError(format!("Redis lock: {}", e.details())))?;
                Ok(set.is_some())
            }
        }
    }

    fn release_handle(&self, name: &str, token: u128) -> Release {
        Release { store: self.clone(), name: name.to_owned(), token }
    }

    /// Records (sessions and token records, expired ones not yet cleaned up included) held by
    /// the in-memory backend; `None` for SQLite and Redis. For tests and diagnostics.
    pub async fn record_count(&self) -> Option<usize> {
        match &self.inner {
            Inner::Memory { expiries, .. } => Some(expiries.lock().await.len()),
            _ => None,
        }
    }

    /// Number of logged-in sessions: live token records.
    pub async fn count_active(&self) -> Result<u64, StoreError> {
        let now = unix_now();
        match &self.inner {
            Inner::Memory { vaults, .. } => {
                let mut map = vaults.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                map.retain(|_, exp| *exp > now);
                Ok(map.len() as u64)
            }
            Inner::Sqlite { pool, .. } => {
                let (n,): (i64,) = sqlx::query_as("select count(*) from valv_vault_index where expires_at > ?1")
                    .bind(now)
                    .fetch_one(pool)
                    .await
                    .map_err(|e| StoreError(format!("SQLite: {e}")))?;
                Ok(n.max(0) as u64)
            }
            Inner::Redis { pool, .. } => {
                let n: i64 = pool
                    .eval(COUNT_SCRIPT, vec![REDIS_VAULT_INDEX], vec![now.to_string()])
                    .await
                    .map_err(|e| StoreError(format!("Redis: {}", e.details())))?;
                Ok(n.max(0) as u64)
            }
        }
    }

    async fn index_vault(&self, record: &Record) -> Result<(), StoreError> {
        let exp = record.expiry_date.unix_timestamp();
        match &self.inner {
            Inner::Memory { vaults, .. } => {
                vaults.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(record.id, exp);
            }
            Inner::Sqlite { pool, .. } => {
                sqlx::query(
                    "insert into valv_vault_index (id, expires_at) values (?1, ?2) \
                     on conflict(id) do update set expires_at = excluded.expires_at",
                )
                .bind(record.id.to_string())
                .bind(exp)
                .execute(pool)
                .await
                .map_err(|e| StoreError(format!("SQLite: {e}")))?;
            }
            Inner::Redis { pool, .. } => {
                let _: i64 = pool
                    .zadd(REDIS_VAULT_INDEX, None, None, false, false, (exp as f64, record.id.to_string()))
                    .await
                    .map_err(|e| StoreError(format!("Redis: {}", e.details())))?;
            }
        }
        Ok(())
    }

    async fn unindex_vault(&self, id: &Id) -> Result<(), StoreError> {
        match &self.inner {
            Inner::Memory { vaults, .. } => {
                vaults.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(id);
            }
            Inner::Sqlite { pool, .. } => {
                sqlx::query("delete from valv_vault_index where id = ?1")
                    .bind(id.to_string())
                    .execute(pool)
                    .await
                    .map_err(|e| StoreError(format!("SQLite: {e}")))?;
            }
            Inner::Redis { pool, .. } => {
                let _: i64 =
                    pool.zrem(REDIS_VAULT_INDEX, id.to_string()).await.map_err(|e| StoreError(format!("Redis: {}", e.details())))?;
            }
        }
        Ok(())
    }
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    // Tokens are sealed, but session ids are bearer credentials: owner-only.
    if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
        tracing::warn!(file = %path.display(), error = %e, "could not restrict the session database to its owner");
    }
}

#[cfg(not(unix))]
fn restrict_permissions(_: &Path) {}

fn backend(e: StoreError) -> session_store::Error {
    session_store::Error::Backend(e.0)
}

#[async_trait]
impl SessionStore for AnyStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match &self.inner {
            Inner::Memory { store, expiries, .. } => {
                let mut expiries = expiries.lock().await;
                store.create(record).await?;
                expiries.insert(record.id, record.expiry_date);
            }
            Inner::Sqlite { store, .. } => store.create(record).await?,
            Inner::Redis { store, .. } => store.create(record).await?,
        }
        if record.data.contains_key(VAULT_FIELD) {
            self.index_vault(record).await.map_err(backend)?;
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        // A token record is only ever updated, never re-created: a refresh finishing just
        // after a logout must not bring the deleted tokens back (or count a ghost session).
        // (`create_vault` creates the record first, then saves the sealed tokens into it.)
        if record.data.contains_key(VAULT_FIELD) && self.load(&record.id).await?.is_none() {
            tracing::debug!("token record is gone (logout or expiry); not re-creating it");
            return Ok(());
        }
        match &self.inner {
            Inner::Memory { store, expiries, .. } => {
                let mut expiries = expiries.lock().await;
                store.save(record).await?;
                expiries.insert(record.id, record.expiry_date);
            }
            Inner::Sqlite { store, .. } => store.save(record).await?,
            Inner::Redis { store, .. } => store.save(record).await?,
        }
        if record.data.contains_key(VAULT_FIELD) {
            self.index_vault(record).await.map_err(backend)?;
        }
        Ok(())
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        let record = match &self.inner {
            Inner::Memory { store, .. } => store.load(session_id).await?,
            Inner::Sqlite { store, .. } => store.load(session_id).await?,
            Inner::Redis { store, .. } => store.load(session_id).await?,
        };
        // Every backend checks expiry on load; MemoryStore does too. Belt and braces:
        Ok(record.filter(|r| r.expiry_date > OffsetDateTime::now_utc()))
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        match &self.inner {
            Inner::Memory { store, expiries, .. } => {
                let mut expiries = expiries.lock().await;
                store.delete(session_id).await?;
                expiries.remove(session_id);
            }
            Inner::Sqlite { store, .. } => store.delete(session_id).await?,
            Inner::Redis { store, .. } => store.delete(session_id).await?,
        }
        self.unindex_vault(session_id).await.map_err(backend)
    }
}

#[async_trait]
impl ExpiredDeletion for AnyStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match &self.inner {
            Inner::Memory { store, vaults, locks, expiries } => {
                // MemoryStore only hides expired records; delete them for it.
                let mut expiries = expiries.lock().await;
                let now = OffsetDateTime::now_utc();
                let expired: Vec<Id> = expiries.iter().filter(|(_, exp)| **exp <= now).map(|(id, _)| *id).collect();
                for id in expired {
                    store.delete(&id).await?;
                    expiries.remove(&id);
                }
                drop(expiries);
                let now = unix_now();
                vaults.lock().unwrap_or_else(std::sync::PoisonError::into_inner).retain(|_, e| *e > now);
                let now = Instant::now();
                locks.lock().unwrap_or_else(std::sync::PoisonError::into_inner).retain(|_, (_, until)| *until > now);
            }
            Inner::Sqlite { store, pool } => {
                store.delete_expired().await?;
                for (sql, at) in [
                    ("delete from valv_vault_index where expires_at <= ?1", unix_now()),
                    ("delete from valv_locks where expires_at <= ?1", unix_now_ms()),
                ] {
                    sqlx::query(sql).bind(at).execute(pool).await.map_err(|e| session_store::Error::Backend(e.to_string()))?;
                }
            }
            Inner::Redis { .. } => {}
        }
        Ok(())
    }
}

struct Release {
    store: AnyStore,
    name: String,
    token: u128,
}

impl Release {
    async fn run(self) {
        let token = format!("{:032x}", self.token);
        let result = match &self.store.inner {
            Inner::Memory { locks, .. } => {
                let mut map = locks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if map.get(&self.name).is_some_and(|(t, _)| *t == self.token) {
                    map.remove(&self.name);
                }
                Ok(())
            }
            Inner::Sqlite { pool, .. } => sqlx::query("delete from valv_locks where name = ?1 and token = ?2")
                .bind(&self.name)
                .bind(&token)
                .execute(pool)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Inner::Redis { pool, .. } => pool
                .eval::<i64, _, _, _>(RELEASE_SCRIPT, vec![format!("valv:lock:{}", self.name)], vec![token])
                .await
                .map(|_| ())
                .map_err(|e| e.details().to_string()),
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
