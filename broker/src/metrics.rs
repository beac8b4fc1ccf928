//! Prometheus metrics (`prometheus-client`): requests by route template and status,
//! upstream latency, refreshes by outcome, active sessions.

use std::sync::{Arc, Mutex, OnceLock};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Labels of `valv_http_requests_total`: every value from a fixed set, so no request can
/// add a series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// Route template, e.g. `/api/{provider}/{*path}` (never the concrete path), `static` or
    /// `unmatched`.
    pub route: &'static str,
    /// HTTP method, or `other` for any method the broker does not serve.
    pub method: &'static str,
    /// Response status code.
    pub status: u16,
}

/// Labels of `valv_upstream_request_duration_seconds`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamLabels {
    /// Provider name (configured).
    pub provider: Arc<String>,
    /// `api`, `token` or `revoke`.
    pub kind: &'static str,
}

/// Labels of `valv_refreshes_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefreshLabels {
    /// Provider name (configured).
    pub provider: Arc<String>,
    /// `ok`, `shared` (another request or replica had refreshed), `invalid_grant`, `error`.
    pub outcome: &'static str,
}

/// The route templates a request label can name.
const ROUTES: &[&str] = &[
    "/api/{provider}/{*path}",
    "/auth/login",
    "/auth/callback",
    "/auth/callback/{provider}",
    "/auth/logout",
    "/auth/session",
    "/healthz",
    "/readyz",
    "/metrics",
];

/// The route label of a request path: its route template, `unmatched` for another path of
/// the broker's, `static` for the app's files.
pub fn route_of(path: &str) -> &'static str {
    if path.starts_with("/api/") {
        return ROUTES[0];
    }
    if let Some(r) = ROUTES.iter().find(|r| **r == path) {
        return r;
    }
    if path.strip_prefix("/auth/callback/").is_some_and(|p| !p.is_empty() && !p.contains('/')) {
        return "/auth/callback/{provider}";
    }
    if path.starts_with("/auth/") || path == "/readyz" {
        "unmatched"
    } else {
        "static"
    }
}

/// The label of a method (`other` for any the broker does not serve).
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method as M;
    match *method {
        M::GET => "GET",
        M::HEAD => "HEAD",
        M::POST => "POST",
        M::PUT => "PUT",
        M::PATCH => "PATCH",
        M::DELETE => "DELETE",
        M::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The method labels, in the order of [`method_index`].
const METHODS: usize = 8;

fn method_index(label: &str) -> usize {
    match label {
        "GET" => 0,
        "HEAD" => 1,
        "POST" => 2,
        "PUT" => 3,
        "PATCH" => 4,
        "DELETE" => 5,
        "OPTIONS" => 6,
        _ => 7,
    }
}

/// All metrics of the broker.
#[derive(Debug)]
pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    /// The `requests` series of API answers with status 200, by method, once used: the
    /// proxy's common case counted without the family's lookup (a label hash and a lock).
    api_ok: [OnceLock<Counter>; METHODS],
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
        Self { registry: Mutex::new(registry), requests, api_ok: Default::default(), upstream, refreshes, sessions }
    }

    /// Counts one answered request.
    pub fn request(&self, route: &'static str, method: &'static str, status: u16) {
        let labels = || RequestLabels { route, method, status };
        if status == 200 && route == ROUTES[0] {
            let series = &self.api_ok[method_index(method)];
            series.get_or_init(|| self.requests.get_or_create(&labels()).clone()).inc();
        } else {
            self.requests.get_or_create(&labels()).inc();
        }
    }

    /// Records one upstream call's latency.
    pub fn upstream(&self, provider: &Arc<String>, kind: &'static str, seconds: f64) {
        self.upstream_series(provider, kind).observe(seconds);
    }

    /// The upstream latency series of `provider` and `kind`, to keep and observe without a
    /// lookup (the proxy's, per provider).
    pub fn upstream_series(&self, provider: &Arc<String>, kind: &'static str) -> Histogram {
        self.upstream.get_or_create(&UpstreamLabels { provider: provider.clone(), kind }).clone()
    }

    /// Counts one refresh outcome.
    pub fn refresh(&self, provider: &Arc<String>, outcome: &'static str) {
        self.refreshes.get_or_create(&RefreshLabels { provider: provider.clone(), outcome }).inc();
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
    fn labels_come_from_fixed_sets() {
        let made_up = axum::http::Method::from_bytes(b"PROBE1X").expect("a token method");
        assert_eq!(method_label(&made_up), "other");
        assert_eq!(method_label(&axum::http::Method::DELETE), "DELETE");
        assert_eq!(route_of("/auth/login"), "/auth/login");
        assert_eq!(route_of("/api/seb/ais/v7/anything"), "/api/{provider}/{*path}");
        assert_eq!(route_of("/auth/made-up-1"), "unmatched");
        assert_eq!(route_of("/made-up/page.html"), "static");
    }

    #[test]
    fn encodes_what_was_recorded() {
        let m = Metrics::new();
        let seb = Arc::new("seb".to_owned());
        m.request("/api/{provider}/{*path}", "GET", 200);
        m.request("/api/{provider}/{*path}", "GET", 200);
        m.request("/api/{provider}/{*path}", "GET", 404);
        m.request("/api/{provider}/{*path}", "POST", 200);
        m.upstream(&seb, "api", 0.02);
        m.refresh(&seb, "ok");
        m.set_active_sessions(3);
        let text = m.encode();
        assert!(text.contains(r#"valv_http_requests_total{route="/api/{provider}/{*path}",method="GET",status="200"} 2"#), "{text}");
        assert!(text.contains(r#"valv_http_requests_total{route="/api/{provider}/{*path}",method="GET",status="404"} 1"#), "{text}");
        assert!(text.contains(r#"valv_http_requests_total{route="/api/{provider}/{*path}",method="POST",status="200"} 1"#), "{text}");
        assert!(text.contains(r#"valv_refreshes_total{provider="seb",outcome="ok"} 1"#), "{text}");
        assert!(text.contains("valv_active_sessions 3"), "{text}");
        assert!(text.contains("valv_upstream_request_duration_seconds_bucket"), "{text}");
    }
}
