//! Shared state of the sandbox bank.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::config::{SandboxConfig, Settings};
use crate::controls::{Counters, Faults};
use crate::decoupled::DecoupledAuth;
use crate::oauth::PendingAuthorize;
use crate::tokens::TokenStore;

/// Cheap-to-clone handle to everything the sandbox knows.
#[derive(Clone)]
pub struct SandboxState {
    inner: Arc<Inner>,
}

struct Inner {
    bank: crate::bank::Bank,
    config: SandboxConfig,
    settings: Mutex<Settings>,
    tokens: Mutex<TokenStore>,
    pending: Mutex<HashMap<String, PendingAuthorize>>,
    decoupled: Mutex<HashMap<String, DecoupledAuth>>,
    faults: Mutex<Faults>,
    counters: Mutex<Counters>,
}

/// Locks a mutex, recovering from poisoning (a panicked handler must not wedge the bank).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl SandboxState {
    /// A fresh sandbox with the default config (demo client, controls off).
    pub fn new() -> Self {
        Self::with_config(SandboxConfig::default())
    }

    /// A fresh sandbox with the given config.
    pub fn with_config(config: SandboxConfig) -> Self {
        let mut tokens = TokenStore::default();
        tokens.keep_issued = config.controls;
        Self {
            inner: Arc::new(Inner {
                bank: crate::bank::Bank::new(),
                settings: Mutex::new(config.settings.clone()),
                config,
                tokens: Mutex::new(tokens),
                pending: Mutex::default(),
                decoupled: Mutex::default(),
                faults: Mutex::default(),
                counters: Mutex::default(),
            }),
        }
    }

    /// Accounts, transactions, payments: the API side's state.
    pub fn bank(&self) -> &crate::bank::Bank {
        &self.inner.bank
    }

    /// The static configuration (clients, controls flag).
    pub fn config(&self) -> &SandboxConfig {
        &self.inner.config
    }

    /// Current run-time settings (a copy).
    pub fn settings(&self) -> Settings {
        lock(&self.inner.settings).clone()
    }

    /// Replaces the run-time settings.
    pub fn set_settings(&self, s: Settings) {
        *lock(&self.inner.settings) = s;
    }

    /// The token store.
    pub fn tokens(&self) -> MutexGuard<'_, TokenStore> {
        lock(&self.inner.tokens)
    }

    /// Pending redirect-flow authorization requests by server-side id.
    pub(crate) fn pending(&self) -> MutexGuard<'_, HashMap<String, PendingAuthorize>> {
        lock(&self.inner.pending)
    }

    /// Decoupled authorizations by `auth_req_id`.
    pub(crate) fn decoupled(&self) -> MutexGuard<'_, HashMap<String, DecoupledAuth>> {
        lock(&self.inner.decoupled)
    }

    /// Injected faults.
    pub(crate) fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.inner.faults)
    }

    /// Call counters.
    pub fn counters(&self) -> MutexGuard<'_, Counters> {
        lock(&self.inner.counters)
    }

    /// Back to a fresh sandbox: tokens, pending authorizations, counters, faults, settings
    /// and the bank's data.
    pub fn reset(&self) {
        self.tokens().clear();
        self.pending().clear();
        self.decoupled().clear();
        *self.faults() = Faults::default();
        *self.counters() = Counters::default();
        self.set_settings(self.inner.config.settings.clone());
        self.bank().reset();
    }
}

impl Default for SandboxState {
    fn default() -> Self {
        Self::new()
    }
}
