//! The in-process store (tests and single-process trials; lost at restart): records, locks
//! and the token-record index under one mutex, so every conditional write is atomic.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};

use super::unix_now;

#[derive(Default)]
struct State {
    records: HashMap<Id, Record>,
    locks: HashMap<String, (String, Instant)>,
    vaults: HashMap<Id, i64>,
}

/// See the module header.
#[derive(Clone, Default)]
pub(crate) struct MemoryBackend {
    state: Arc<Mutex<State>>,
}

impl MemoryBackend {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn create(&self, record: &mut Record) {
        let mut state = self.state();
        while state.records.contains_key(&record.id) {
            record.id = Id::default();
        }
        state.records.insert(record.id, record.clone());
    }

    pub(crate) fn save(&self, record: &Record) -> bool {
        let mut state = self.state();
        let now = OffsetDateTime::now_utc();
        match state.records.get_mut(&record.id) {
            Some(r) if r.expiry_date > now => {
                *r = record.clone();
                true
            }
            _ => false,
        }
    }

    pub(crate) fn load(&self, id: &Id) -> Option<Record> {
        let now = OffsetDateTime::now_utc();
        self.state().records.get(id).filter(|r| r.expiry_date > now).cloned()
    }

    pub(crate) fn touch(&self, id: &Id, expiry: OffsetDateTime) -> bool {
        let now = OffsetDateTime::now_utc();
        match self.state().records.get_mut(id) {
            Some(r) if r.expiry_date > now => {
                r.expiry_date = expiry;
                true
            }
            _ => false,
        }
    }

    pub(crate) fn delete(&self, id: &Id) {
        let mut state = self.state();
        state.records.remove(id);
        state.vaults.remove(id);
    }

    pub(crate) fn delete_expired(&self) {
        let mut state = self.state();
        let now = OffsetDateTime::now_utc();
        state.records.retain(|_, r| r.expiry_date > now);
        let now_s = unix_now();
        state.vaults.retain(|_, e| *e > now_s);
        let now_i = Instant::now();
        state.locks.retain(|_, (_, until)| *until > now_i);
    }

    pub(crate) fn record_count(&self) -> usize {
        self.state().records.len()
    }

    pub(crate) fn index_vault(&self, id: Id, expires_at: i64) {
        let mut state = self.state();
        if state.records.contains_key(&id) {
            state.vaults.insert(id, expires_at);
        }
    }

    pub(crate) fn count_active(&self) -> u64 {
        let mut state = self.state();
        let now = unix_now();
        state.vaults.retain(|_, e| *e > now);
        state.vaults.len() as u64
    }

    pub(crate) fn try_lock(&self, name: &str, token: &str, ttl: Duration) -> bool {
        let mut state = self.state();
        let now = Instant::now();
        match state.locks.get(name) {
            Some((_, until)) if *until > now => false,
            _ => {
                state.locks.insert(name.to_owned(), (token.to_owned(), now + ttl));
                true
            }
        }
    }

    pub(crate) fn release(&self, name: &str, token: &str) {
        let mut state = self.state();
        if state.locks.get(name).is_some_and(|(t, _)| t == token) {
            state.locks.remove(name);
        }
    }
}
