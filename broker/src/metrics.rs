//! Prometheus metrics (`prometheus-client`): requests by route template and status,
//! upstream latency, refreshes by outcome, active sessions.

use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Labels of `valv_http_requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// Route template, e.g. `/api/{provider}/{*path}` (never the concrete path).
    pub route: String,
    /// HTTP method.
    pub method: String,
    /// Response status code.
    pub status: u16,
}

/// Labels of `valv_upstream_request_duration_seconds`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamLabels {
    /// Provider name.
    pub provider: String,
    /// `api`, `token` or `revoke`.
    pub kind: String,
}

/// Labels of `valv_refreshes_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefreshLabels {
    /// Provider name.
    pub provider: String,
    /// `ok`, `shared` (another request or replica had refreshed), `invalid_grant`, `error`.
    pub outcome: String,
}

/// All metrics of the broker.
#[derive(Debug)]
pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    upstream: Family<UpstreamLabels, Histogram>,
    refreshes: Family<RefreshLabels, Counter>,
    sessions: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("valv");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "Requests answered by the broker, by route template and status", requests.clone());
        let upstream = Family::<UpstreamLabels, Histogram>::new_with_constructor(upstream_histogram as fn() -> Histogram);
        registry.register("upstream_request_duration_seconds", "Latency of calls to the bank", upstream.clone());
        let refreshes = Family::<RefreshLabels, Counter>::default();
        registry.register("refreshes", "Access token refreshes by outcome", refreshes.clone());
        let sessions = Gauge::<i64>::default();
        registry.register("active_sessions", "Logged-in sessions (live token records in the store)", sessions.clone());
        Self { registry: Mutex::new(registry), requests, upstream, refreshes, sessions }
    }

    /// Counts one answered request.
    pub fn request(&self, route: &str, method: &str, status: u16) {
        self.requests.get_or_create(&RequestLabels { route: route.to_owned(), method: method.to_owned(), status }).inc();
    }

    /// Records one upstream call's latency.
    pub fn upstream(&self, provider: &str, kind: &str, seconds: f64) {
        self.upstream.get_or_create(&UpstreamLabels { provider: provider.to_owned(), kind: kind.to_owned() }).observe(seconds);
    }

    /// Counts one refresh outcome.
    pub fn refresh(&self, provider: &str, outcome: &str) {
        self.refreshes.get_or_create(&RefreshLabels { provider: provider.to_owned(), outcome: outcome.to_owned() }).inc();
    }

    /// Sets the active-session gauge.
    pub fn set_active_sessions(&self, n: u64) {
        self.sessions.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if prometheus_client::encoding::text::encode(&mut out, &registry).is_err() {
            tracing::error!("metrics encoding failed");
        }
        out
    }
}

fn upstream_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_what_was_recorded() {
        let m = Metrics::new();
        m.request("/api/{provider}/{*path}", "GET", 200);
        m.upstream("seb", "api", 0.02);
        m.refresh("seb", "ok");
        m.set_active_sessions(3);
        let text = m.encode();
        assert!(text.contains(r#"valv_http_requests_total{route="/api/{provider}/{*path}",method="GET",status="200"} 1"#), "{text}");
        assert!(text.contains(r#"valv_refreshes_total{provider="seb",outcome="ok"} 1"#), "{text}");
        assert!(text.contains("valv_active_sessions 3"), "{text}");
        assert!(text.contains("valv_upstream_request_duration_seconds_bucket"), "{text}");
    }
}
