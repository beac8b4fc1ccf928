//! The in-process cache of resolved sessions: what the proxy needs for a call (provider,
//! scopes, a ready `Authorization` value, expiries), keyed by the browser's session id (the
//! cookie's), so a call with a live session and a valid access token makes no store round
//! trip and computes no store key; invalidations name store keys and find the entry through
//! a second map.
//!
//! Coherence: an entry carries the store epoch ([`crate::store::AnyStore::epoch`]) it was
//! read under and is served only while the epoch is unchanged; every invalidation (a delete
//! here, a notice from another replica) removes the entry and moves a generation counter
//! under the same lock, and a read that started before an invalidation is not inserted
//! ([`SessionCache::insert`] takes the generation seen before the read). Bounded: at most
//! `capacity` entries; past it, expired entries go first, then arbitrary ones (a miss only
//! costs a store read).

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use axum::http::HeaderValue;
use tower_sessions::session::Id;

use crate::store::Invalidation;

/// A logged-in session as the proxy uses it. Never serialised; `Debug` hides the token.
pub struct Resolved {
    /// The session (cookie) id.
    pub session_id: Id,
    /// The provider it is logged in at.
    pub provider: Arc<str>,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Login time (unix seconds), for the absolute lifetime.
    pub login_at: i64,
    /// The token record's id.
    pub vault_id: String,
    /// `Bearer <access token>`, marked sensitive.
    pub bearer: HeaderValue,
    /// When the access token expires (unix seconds).
    pub access_expires_at: i64,
    /// The store epoch this was read under.
    pub(crate) epoch: u64,
    /// Last use through this replica (unix seconds), for the idle check.
    pub(crate) last_used: AtomicI64,
    /// When this replica last extended the session's idle expiry in the store (unix seconds;
    /// 0: not yet since it was read).
    pub(crate) touched_at: AtomicI64,
}

impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolved")
            .field("provider", &self.provider)
            .field("scopes", &self.scopes)
            .field("access_expires_at", &self.access_expires_at)
            .finish_non_exhaustive()
    }
}

impl Resolved {
    /// The access token (for comparing with the stored one).
    pub fn access_token(&self) -> &str {
        access_token_of(&self.bearer)
    }
}

/// The token in a `Bearer …` header value (empty when it is not one).
pub fn access_token_of(bearer: &HeaderValue) -> &str {
    bearer.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).unwrap_or("")
}

/// A fast keyed hash (randomly seeded per process): the key is a random 128-bit session id.
type Hasher = foldhash::fast::RandomState;

#[derive(Default)]
struct Map {
    /// By the cookie's session id.
    entries: HashMap<Id, Arc<Resolved>, Hasher>,
    /// Store key (`Resolved::session_id`) → the cookie's id of its entry.
    by_key: HashMap<Id, Id, Hasher>,
    generation: u64,
}

/// See the module header.
pub struct SessionCache {
    map: RwLock<Map>,
    /// A copy of `Map::generation` readable without the lock.
    generation: AtomicU64,
    capacity: usize,
    /// Sessions this replica ended (a logout) whose records the store has not deleted yet:
    /// never served from here again, whatever the store still holds.
    ended: std::sync::Mutex<std::collections::HashSet<Id>>,
}

/// Most sessions remembered as ended-but-not-yet-deleted (a store down through a logout
/// storm); past it a logout still clears the cookie and retries the delete.
const MAX_ENDED: usize = 100_000;

impl std::fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCache").field("capacity", &self.capacity).field("len", &self.len()).finish()
    }
}

impl SessionCache {
    /// An empty cache holding at most `capacity` sessions (0: no cache).
    pub fn new(capacity: usize) -> Self {
        Self { map: RwLock::default(), generation: AtomicU64::new(0), capacity, ended: Default::default() }
    }

    fn ended_set(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<Id>> {
        self.ended.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Marks `id` as ended here until [`SessionCache::forget_ended`] (its record is deleted).
    pub fn mark_ended(&self, id: Id) {
        let mut set = self.ended_set();
        if set.len() < MAX_ENDED {
            set.insert(id);
        } else {
            tracing::warn!("too many ended sessions wait for the store to delete them; not remembering another");
        }
    }

    /// The store deleted the record of `id`: nothing to remember.
    pub fn forget_ended(&self, id: &Id) {
        self.ended_set().remove(id);
    }

    /// Whether this replica ended `id` (see [`SessionCache::mark_ended`]).
    pub fn is_ended(&self, id: &Id) -> bool {
        self.ended_set().contains(id)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Map> {
        self.map.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Map> {
        self.map.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The bound.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Entries held now.
    pub fn len(&self) -> usize {
        self.read().entries.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entry of the browser's session id `cookie` if it was read under `epoch`.
    pub fn get(&self, cookie: &Id, epoch: u64) -> Option<Arc<Resolved>> {
        self.read().entries.get(cookie).filter(|r| r.epoch == epoch).cloned()
    }

    /// Take this before reading the store for an entry; pass it to [`SessionCache::insert`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Inserts `entry` for the browser's session id `cookie` unless something was
    /// invalidated since `generation` was taken.
    pub fn insert(&self, generation: u64, cookie: Id, entry: Arc<Resolved>) -> bool {
        if self.capacity == 0 {
            return false;
        }
        let mut guard = self.write();
        let map = &mut *guard;
        if map.generation != generation {
            return false;
        }
        if map.entries.len() >= self.capacity && !map.entries.contains_key(&cookie) {
            let now = crate::store::unix_now();
            let by_key = &mut map.by_key;
            map.entries.retain(|_, r| {
                let keep = r.access_expires_at > now;
                if !keep {
                    by_key.remove(&r.session_id);
                }
                keep
            });
            if map.entries.len() >= self.capacity {
                let victims: Vec<Id> = map.entries.keys().take(self.capacity / 16 + 1).copied().collect();
                for v in victims {
                    if let Some(r) = map.entries.remove(&v) {
                        map.by_key.remove(&r.session_id);
                    }
                }
            }
        }
        map.by_key.insert(entry.session_id, cookie);
        map.entries.insert(cookie, entry);
        true
    }

    /// Applies an invalidation.
    pub fn invalidate(&self, what: Invalidation) {
        let mut map = self.write();
        map.generation = map.generation.wrapping_add(1);
        self.generation.store(map.generation, Ordering::Release);
        match what {
            Invalidation::Record(key) => {
                if let Some(cookie) = map.by_key.remove(&key) {
                    map.entries.remove(&cookie);
                }
            }
            Invalidation::All => {
                map.entries.clear();
                map.by_key.clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: Id, epoch: u64) -> Arc<Resolved> {
        Arc::new(Resolved {
            session_id: id,
            provider: "seb".into(),
            scopes: vec![],
            login_at: 0,
            vault_id: String::new(),
            bearer: HeaderValue::from_static("Bearer t"),
            access_expires_at: i64::MAX,
            epoch,
            last_used: AtomicI64::new(0),
            touched_at: AtomicI64::new(0),
        })
    }

    #[test]
    fn a_read_older_than_an_invalidation_is_not_inserted() {
        let cache = SessionCache::new(10);
        let (cookie, key) = (Id::default(), Id::default());
        let generation = cache.generation();
        cache.invalidate(Invalidation::Record(key));
        assert!(!cache.insert(generation, cookie, entry(key, 0)));
        assert!(cache.get(&cookie, 0).is_none());
        assert!(cache.insert(cache.generation(), cookie, entry(key, 0)));
        assert_eq!(cache.get(&cookie, 0).map(|r| r.access_token().to_owned()).as_deref(), Some("t"));
    }

    #[test]
    fn an_invalidation_by_store_key_removes_the_entry_of_its_cookie() {
        let cache = SessionCache::new(10);
        let (cookie, key) = (Id::default(), Id::default());
        let (other_cookie, other_key) = (Id::default(), Id::default());
        assert!(cache.insert(cache.generation(), cookie, entry(key, 0)));
        assert!(cache.insert(cache.generation(), other_cookie, entry(other_key, 0)));
        // The cookie is not the store key: naming it invalidates nothing.
        cache.invalidate(Invalidation::Record(cookie));
        assert!(cache.get(&cookie, 0).is_some());
        cache.invalidate(Invalidation::Record(key));
        assert!(cache.get(&cookie, 0).is_none());
        assert!(cache.get(&other_cookie, 0).is_some(), "another session was dropped");
    }

    #[test]
    fn entries_are_served_only_under_their_epoch() {
        let cache = SessionCache::new(10);
        let cookie = Id::default();
        assert!(cache.insert(cache.generation(), cookie, entry(Id::default(), 7)));
        assert!(cache.get(&cookie, 7).is_some());
        assert!(cache.get(&cookie, 8).is_none());
    }

    #[test]
    fn the_bound_holds() {
        let cache = SessionCache::new(32);
        for _ in 0..1000 {
            cache.insert(cache.generation(), Id::default(), entry(Id::default(), 0));
        }
        assert!(cache.len() <= 32, "{}", cache.len());
        assert!(cache.read().by_key.len() <= 32, "the key map outgrew the entries: {}", cache.read().by_key.len());
        cache.invalidate(Invalidation::All);
        assert!(cache.is_empty() && cache.read().by_key.is_empty());
    }
}
