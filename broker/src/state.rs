//! The state every handler shares: one `Arc`, so passing it through the layers of a request
//! costs one reference count.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::{Config, ProviderConfig};
use crate::metrics::Metrics;
use crate::session::cache::SessionCache;
use crate::session::refresh::Refresher;
use crate::store::AnyStore;
use crate::vault::Vault;

/// A provider ready to use: its configuration and its HTTP client (timeouts, no redirects,
/// mTLS identity when configured).
#[derive(Debug, Clone)]
pub struct Provider {
    /// Configuration.
    pub config: Arc<ProviderConfig>,
    /// Its name, as a metric label.
    pub label: Arc<String>,
    /// Client for the bank's OAuth endpoints (token, revocation).
    pub http: reqwest::Client,
    /// Client for the bank's API (the proxy path).
    pub api: crate::upstream::ApiClient,
    /// The method + path allowlist, compiled.
    pub allow: crate::policy::allowlist::Allowlist,
    /// The request headers forwarded to the bank (`forward_headers`), as a set.
    pub forward: crate::policy::headers::HeaderSet,
    /// Its series of API call latencies.
    pub api_latency: prometheus_client::metrics::histogram::Histogram,
    /// The path of `api_base_url` without a trailing `/`: what an API path is appended to
    /// (the request goes to the origin of `api_base_url` in origin form).
    pub api_path: String,
}

impl Provider {
    /// A provider from its configuration and its two HTTP clients, its API latencies
    /// recorded in `metrics`.
    pub fn new(config: ProviderConfig, http: reqwest::Client, api: crate::upstream::ApiClient, metrics: &crate::metrics::Metrics) -> Self {
        let api_path = config.api_base_url.path().trim_end_matches('/').to_owned();
        let allow = crate::policy::allowlist::Allowlist::new(&config.allow);
        let label = Arc::new(config.name.clone());
        let forward = crate::policy::headers::HeaderSet::new(&config.forward_headers);
        let api_latency = metrics.upstream_series(&label, "api");
        Self { config: Arc::new(config), label, http, api, allow, forward, api_latency, api_path }
    }
}

/// What [`AppState`] holds.
pub struct Shared {
    /// The configuration.
    pub config: Arc<Config>,
    /// The broker's own origin (`scheme://host:port`).
    pub origin: Arc<str>,
    /// Providers by name.
    pub providers: Arc<BTreeMap<String, Provider>>,
    /// The session store (sessions and token records).
    pub store: AnyStore,
    /// Token sealing.
    pub vault: Arc<Vault>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Resolved sessions, so the proxy path makes no store round trip.
    pub cache: Arc<SessionCache>,
    /// Refreshes in flight.
    pub refresher: Arc<Refresher>,
    /// Rate limits.
    pub rate: Arc<crate::policy::rate::RateLimiter>,
    /// Work detached from requests (refreshes, idle-expiry extensions), awaited at shutdown.
    pub background: tokio_util::task::TaskTracker,
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// Wraps `shared`.
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }

    /// A provider by name.
    pub fn provider(&self, name: &str) -> Option<&Provider> {
        self.providers.get(name)
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("origin", &self.origin).field("providers", &self.providers.keys()).finish_non_exhaustive()
    }
}

impl axum::extract::FromRef<AppState> for Arc<Metrics> {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
    }
}

impl axum::extract::FromRef<AppState> for AnyStore {
    fn from_ref(state: &AppState) -> Self {
        state.store.clone()
    }
}
