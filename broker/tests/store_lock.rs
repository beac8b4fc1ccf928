//! `AnyStore`'s own operations on every backend (memory, SQLite temp file, Redis): the
//! cross-replica lock (exclusion, TTL takeover, release only by its holder, release lets a
//! waiter in), `count_active`, `ping`, and expired-record deletion.
//!
//! Redis: each test starts its own `redis-server` (from `VALV_REDIS_SERVER` or `PATH`) on a
//! free loopback port and kills it at the end. A missing `redis-server` FAILS the test.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{ExpiredDeletion, SessionStore};
use valv_broker::config::StoreConfig;
use valv_broker::store::{AnyStore, Invalidation, VAULT_FIELD};

/// A `redis-server` of our own, killed on drop.
struct Redis {
    url: String,
    port: u16,
    dir: PathBuf,
    child: std::process::Child,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Redis {
    async fn start() -> Redis {
        let bin = valv_testkit::redis::server();
        let port = valv_testkit::process::free_port().unwrap();
        let dir = std::env::temp_dir().join(format!("valv-lock-redis-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let child = valv_testkit::redis::command(&bin, port, &dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "redis-server ({}) is required for the Redis store tests: {e}: {}",
                    bin.to_string_lossy(),
                    valv_testkit::redis::MISSING
                )
            });
        let redis = Redis { url: format!("redis://127.0.0.1:{port}"), port, dir, child };
        // Readiness: bounded wait until it answers PING.
        for _ in 0..400 {
            if redis.ping_raw().await {
                return redis;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("redis-server on port {} did not answer PING", redis.port);
    }

    async fn ping_raw(&self) -> bool {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await else { return false };
        if s.write_all(b"*1\r\n$4\r\nPING\r\n").await.is_err() {
            return false;
        }
        let mut buf = [0u8; 16];
        matches!(s.read(&mut buf).await, Ok(n) if buf[..n].starts_with(b"+PONG"))
    }
}

/// One backend for one test; temporary files and servers go away on drop.
enum Backend {
    Memory,
    Sqlite(PathBuf),
    Redis(Redis),
}

impl Backend {
    async fn new(kind: &str) -> Backend {
        match kind {
            "memory" => Backend::Memory,
            // A directory that does not exist yet: `open` creates it.
            "sqlite" => Backend::Sqlite(std::env::temp_dir().join(format!("valv-lock-sqlite-{}", uuid::Uuid::new_v4()))),
            "redis" => Backend::Redis(Redis::start().await),
            _ => unreachable!(),
        }
    }

    fn config(&self) -> StoreConfig {
        match self {
            Backend::Memory => StoreConfig::Memory,
            Backend::Sqlite(dir) => StoreConfig::Sqlite(dir.join("nested").join("sessions.db")),
            Backend::Redis(r) => StoreConfig::Redis(r.url.clone()),
        }
    }

    /// A store as one replica opens it.
    async fn open(&self) -> AnyStore {
        AnyStore::open(&self.config()).await.expect("store opens")
    }

    /// A second replica's view of the same store (memory: the same instance).
    async fn replica(&self, first: &AnyStore) -> AnyStore {
        match self {
            Backend::Memory => first.clone(),
            _ => self.open().await,
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Backend::Sqlite(dir) = self {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

const LONG: Duration = Duration::from_secs(60);

/// Many tasks on two replicas contend for one lock; at most one is ever inside.
async fn exclusion(kind: &str) {
    let backend = Backend::new(kind).await;
    let a = backend.open().await;
    let b = backend.replica(&a).await;
    let inside = Arc::new(AtomicUsize::new(0));
    let max_inside = Arc::new(AtomicUsize::new(0));
    let entered = Arc::new(AtomicUsize::new(0));
    let tasks = (0..8).map(|i| {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        let (inside, max_inside, entered) = (inside.clone(), max_inside.clone(), entered.clone());
        tokio::spawn(async move {
            let guard = store.lock("exclusion", LONG, LONG).await.unwrap().expect("lock within the wait");
            let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
            max_inside.fetch_max(now, Ordering::SeqCst);
            entered.fetch_add(1, Ordering::SeqCst);
            for _ in 0..5 {
                tokio::task::yield_now().await;
            }
            inside.fetch_sub(1, Ordering::SeqCst);
            guard.release().await;
        })
    });
    for t in futures::future::join_all(tasks).await {
        t.unwrap();
    }
    assert_eq!(entered.load(Ordering::SeqCst), 8, "{kind}: every task got the lock in turn");
    assert_eq!(max_inside.load(Ordering::SeqCst), 1, "{kind}: never two holders at once");

    // A held lock is refused to another replica and to the same one; other names are free.
    let held = a.lock("refresh:x", LONG, Duration::ZERO).await.unwrap().expect("free lock");
    assert!(b.lock("refresh:x", LONG, Duration::ZERO).await.unwrap().is_none(), "{kind}: other replica refused");
    assert!(a.lock("refresh:x", LONG, Duration::from_millis(30)).await.unwrap().is_none(), "{kind}: same replica refused");
    let other = b.lock("refresh:y", LONG, Duration::ZERO).await.unwrap().expect("another name is independent");
    other.release().await;
    held.release().await;
}

/// An expired lock is taken over; the old holder's late release does not free the new one.
async fn ttl_takeover(kind: &str) {
    let backend = Backend::new(kind).await;
    let a = backend.open().await;
    let b = backend.replica(&a).await;
    let stale = a.lock("t", Duration::from_millis(150), Duration::ZERO).await.unwrap().expect("free lock");
    // b waits (polling) until the TTL runs out, then takes it over.
    let fresh = b.lock("t", LONG, LONG).await.unwrap().expect("taken over after the TTL");
    // The crashed-then-woken holder releases: it no longer owns the lock, nothing happens.
    stale.release().await;
    assert!(a.lock("t", LONG, Duration::ZERO).await.unwrap().is_none(), "{kind}: a stale release freed someone else's lock");
    fresh.release().await;
    let again = a.lock("t", LONG, Duration::ZERO).await.unwrap();
    assert!(again.is_some(), "{kind}: the holder's release frees it");
}

/// A waiter gets the lock once the holder releases it (long before the TTL).
async fn release_lets_the_waiter_in(kind: &str) {
    let backend = Backend::new(kind).await;
    let a = backend.open().await;
    let b = backend.replica(&a).await;
    let held = a.lock("r", LONG, Duration::ZERO).await.unwrap().expect("free lock");
    let waiter = tokio::spawn(async move { b.lock("r", LONG, LONG).await.unwrap().is_some() });
    assert!(a.lock("r", LONG, Duration::ZERO).await.unwrap().is_none(), "{kind}: still held");
    held.release().await;
    assert!(waiter.await.unwrap(), "{kind}: the waiter got the lock after the release (TTL is 60 s)");

    // Dropping a guard releases it too (in the background).
    let c = backend.replica(&a).await;
    let dropped = c.lock("d", LONG, Duration::ZERO).await.unwrap().expect("free lock");
    drop(dropped);
    assert!(a.lock("d", LONG, LONG).await.unwrap().is_some(), "{kind}: a dropped guard is released");
}

fn record(data: &[(&str, serde_json::Value)], expiry: OffsetDateTime) -> Record {
    let data: HashMap<String, serde_json::Value> = data.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    Record { id: Id::default(), data, expiry_date: expiry }
}

/// `count_active` counts live token records only: not plain session records, not expired
/// ones, not deleted ones; and it sees records written through another replica.
async fn count_active_and_ping(kind: &str) {
    let backend = Backend::new(kind).await;
    let a = backend.open().await;
    let b = backend.replica(&a).await;
    a.ping().await.expect("ping");
    b.ping().await.expect("ping");
    assert_eq!(a.count_active().await.unwrap(), 0, "{kind}: empty store");

    let later = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let mut session = record(&[("provider", "seb".into())], later);
    a.create(&mut session).await.unwrap();
    let mut v1 = record(&[(VAULT_FIELD, "sealed-1".into())], later);
    a.create(&mut v1).await.unwrap();
    let mut v2 = record(&[(VAULT_FIELD, "sealed-2".into())], later);
    b.create(&mut v2).await.unwrap();
    assert_eq!(a.count_active().await.unwrap(), 2, "{kind}: two token records, one plain session");
    assert_eq!(b.count_active().await.unwrap(), 2, "{kind}: the other replica sees the same");

    // Saving again (a refresh) does not count twice.
    v1.data.insert(VAULT_FIELD.into(), "sealed-1b".into());
    b.save(&v1).await.unwrap();
    assert_eq!(a.count_active().await.unwrap(), 2, "{kind}: a re-saved record counts once");
    assert_eq!(a.load(&v1.id).await.unwrap().unwrap().data[VAULT_FIELD], "sealed-1b");

    // An expired token record is neither loaded nor counted.
    let mut gone = record(&[(VAULT_FIELD, "old".into())], OffsetDateTime::now_utc() - time::Duration::seconds(5));
    a.create(&mut gone).await.unwrap();
    assert!(a.load(&gone.id).await.unwrap().is_none(), "{kind}: expired record not loaded");
    assert_eq!(a.count_active().await.unwrap(), 2, "{kind}: expired record not counted");
    a.delete_expired().await.unwrap();
    assert_eq!(a.count_active().await.unwrap(), 2, "{kind}: cleanup keeps live records");
    assert!(a.load(&v1.id).await.unwrap().is_some());

    // Logout deletes the token record.
    a.delete(&v2.id).await.unwrap();
    assert_eq!(b.count_active().await.unwrap(), 1, "{kind}: a deleted record not counted");
    assert!(b.load(&v2.id).await.unwrap().is_none());
    assert!(b.load(&session.id).await.unwrap().is_some(), "{kind}: the plain session is still there");
}

/// A refresh that saves tokens after a logout deleted the token record must not bring the
/// tokens back, nor count the session again.
async fn deleted_token_records_stay_deleted(kind: &str) {
    let backend = Backend::new(kind).await;
    let a = backend.open().await;
    let later = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let mut v = record(&[], later);
    a.create(&mut v).await.unwrap();
    v.data.insert(VAULT_FIELD.into(), "sealed".into());
    a.save(&v).await.unwrap();
    assert_eq!(a.count_active().await.unwrap(), 1, "{kind}");
    a.delete(&v.id).await.unwrap();
    v.data.insert(VAULT_FIELD.into(), "sealed-after-refresh".into());
    a.save(&v).await.unwrap();
    assert!(a.load(&v.id).await.unwrap().is_none(), "{kind}: the deleted token record came back");
    assert_eq!(a.count_active().await.unwrap(), 0, "{kind}: a ghost session is counted");
}

/// A request still in flight saves its session after logout (or after `cycle_id` deleted
/// the pre-login id): the record must stay gone. `touch` never brings one back either.
async fn deleted_sessions_stay_deleted(kind: &str) {
    let backend = Backend::new(kind).await;
    let a = backend.open().await;
    let b = backend.replica(&a).await;
    let later = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let mut s = record(&[("valv.pending", "[]".into())], later);
    a.create(&mut s).await.unwrap();
    assert!(b.touch(&s.id, later + time::Duration::minutes(5)).await.unwrap(), "{kind}: a live record is extended");
    a.delete(&s.id).await.unwrap();
    b.save(&s).await.unwrap();
    assert!(a.load(&s.id).await.unwrap().is_none(), "{kind}: a save after the delete brought the session back");
    assert!(!b.touch(&s.id, later).await.unwrap(), "{kind}: touch reports the record gone");
    assert!(a.load(&s.id).await.unwrap().is_none(), "{kind}: touch brought the session back");
    // `create` never replaces a record: a colliding id gets a new one.
    let mut first = record(&[("n", "1".into())], later);
    a.create(&mut first).await.unwrap();
    let mut second = record(&[("n", "2".into())], later);
    second.id = first.id;
    b.create(&mut second).await.unwrap();
    assert_ne!(second.id, first.id, "{kind}: create reused a live id");
    assert_eq!(a.load(&first.id).await.unwrap().unwrap().data["n"], "1", "{kind}: create overwrote a record");
}

/// What guards the session caches: a record deleted through one replica is reported to the
/// invalidation sink of that replica and of every other (Redis: the change channel; SQLite:
/// the change log, read by `sync` when the WAL header moved), and the epoch stays put while
/// nothing is lost.
async fn changes_are_seen(kind: &str) {
    let backend = Backend::new(kind).await;
    let a = backend.open().await;
    let b = backend.replica(&a).await;
    let seen: Arc<std::sync::Mutex<Vec<Invalidation>>> = Arc::default();
    let sink = seen.clone();
    b.set_invalidation_sink(Arc::new(move |what| sink.lock().unwrap().push(what)));
    // Redis: the subscriber connects in the background.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while b.epoch().is_none() {
        assert!(std::time::Instant::now() < deadline, "{kind}: the change channel never came up");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let later = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let mut s = record(&[("valv.auth", "x".into())], later);
    a.create(&mut s).await.unwrap();
    let before = b.epoch();
    a.delete(&s.id).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        b.sync().await;
        let noticed = seen.lock().unwrap().contains(&Invalidation::Record(s.id));
        if noticed {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{kind}: replica B never learnt of A's delete");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(b.epoch(), before, "{kind}: a reported change does not void the whole cache");
    // A plain save (an idle-expiry extension, a pending login) is not a change to report.
    let reported = seen.lock().unwrap().len();
    let mut other = record(&[("valv.auth", "y".into())], later);
    a.create(&mut other).await.unwrap();
    a.touch(&other.id, later + time::Duration::minutes(1)).await.unwrap();
    b.sync().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!seen.lock().unwrap()[reported..].contains(&Invalidation::Record(other.id)), "{kind}: a touch was reported as a change");
}

macro_rules! backend_tests {
    ($($kind:ident),* $(,)?) => {
        $(
            mod $kind {
                #[tokio::test]
                async fn lock_excludes_across_tasks_and_replicas() {
                    super::exclusion(stringify!($kind)).await;
                }
                #[tokio::test]
                async fn lock_is_taken_over_after_its_ttl() {
                    super::ttl_takeover(stringify!($kind)).await;
                }
                #[tokio::test]
                async fn release_lets_the_waiter_in() {
                    super::release_lets_the_waiter_in(stringify!($kind)).await;
                }
                #[tokio::test]
                async fn deleted_token_records_stay_deleted() {
                    super::deleted_token_records_stay_deleted(stringify!($kind)).await;
                }
                #[tokio::test]
                async fn deleted_sessions_stay_deleted() {
                    super::deleted_sessions_stay_deleted(stringify!($kind)).await;
                }
                #[tokio::test]
                async fn changes_are_seen() {
                    super::changes_are_seen(stringify!($kind)).await;
                }
                #[tokio::test]
                async fn count_active_and_ping() {
                    super::count_active_and_ping(stringify!($kind)).await;
                }
            }
        )*
    };
}

backend_tests!(memory, sqlite, redis);

/// Expired records are removed from memory, not only hidden (the memory store would otherwise
/// grow with every abandoned session).
#[tokio::test]
async fn memory_store_deletes_expired_records() {
    let store = AnyStore::open(&StoreConfig::Memory).await.unwrap();
    let past = OffsetDateTime::now_utc() - time::Duration::seconds(1);
    let later = OffsetDateTime::now_utc() + time::Duration::hours(1);
    for _ in 0..10 {
        store.create(&mut record(&[("provider", "seb".into())], past)).await.unwrap();
    }
    let mut live = record(&[("provider", "seb".into())], later);
    store.create(&mut live).await.unwrap();
    assert_eq!(store.record_count().await, Some(11));
    store.delete_expired().await.unwrap();
    assert_eq!(store.record_count().await, Some(1), "expired records are gone");
    assert!(store.load(&live.id).await.unwrap().is_some());
    store.delete(&live.id).await.unwrap();
    assert_eq!(store.record_count().await, Some(0));
}

/// The SQLite file is created with its directory and readable only by its owner.
#[cfg(unix)]
#[tokio::test]
async fn sqlite_file_is_created_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let backend = Backend::new("sqlite").await;
    let _store = backend.open().await;
    let StoreConfig::Sqlite(path) = backend.config() else { unreachable!() };
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{}", path.display());
}

/// A Redis store whose server went away is reported as not ready.
#[tokio::test]
async fn redis_ping_fails_when_the_server_is_gone() {
    let backend = Backend::new("redis").await;
    let store = backend.open().await;
    store.ping().await.expect("up");
    drop(backend); // kills the server
    let err = store.ping().await.expect_err("server gone");
    assert!(err.to_string().contains("Redis"), "{err}");
}
