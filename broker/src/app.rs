//! The axum application: building the state from the configuration, the router and its
//! layers, serving and draining.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::config::{Config, ProviderConfig};
use crate::metrics::Metrics;
use crate::session::cache::SessionCache;
use crate::session::refresh::Refresher;
pub use crate::state::{AppState, Provider};
use crate::state::Shared;
use crate::store::AnyStore;
use crate::vault::Vault;
use crate::{auth, context, proxy};

/// How many resolved sessions each broker process keeps in memory (about 1 KB each).
pub const SESSION_CACHE_CAPACITY: usize = 100_000;

/// Content-Security-Policy of every response (the SPA: its own scripts and wasm only).
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn http_client(config: &Config, provider: &ProviderConfig) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(config.limits.upstream_timeout)
        .connect_timeout(config.limits.connect_timeout)
        .no_gzip()
        .user_agent(concat!("valv-broker/", env!("CARGO_PKG_VERSION")));
    if let Some(mtls) = &provider.mtls {
        let loaded = crate::tls::load_identity(mtls).map_err(|e| anyhow::anyhow!("providers.{}.mtls: {e}", provider.name))?;
        tracing::info!(provider = %provider.name, subject = %loaded.subject, not_after = loaded.not_after, "mTLS client identity loaded");
        // reqwest's `identity` would refuse SEB's X.509 v1 sandbox certificate (see `mtls`).
        let _ = loaded.identity;
        let tls = crate::mtls::client_config(mtls).map_err(|e| anyhow::anyhow!("providers.{}.mtls: {e}", provider.name))?;
        builder = builder.use_preconfigured_tls(tls);
    }
    builder.build().map_err(|e| anyhow::anyhow!("providers.{}: HTTP client: {}", provider.name, e.without_url()))
}

/// Builds the application from a validated configuration: opens the store, loads keys and
/// mTLS identities. Errors name what is wrong and never contain a secret.
pub async fn build(config: Config) -> anyhow::Result<(Router, AppState)> {
    let vault = Vault::new(&config.session.keys, &config.session.active_key).map_err(|e| anyhow::anyhow!("session.keys: {e}"))?;
    let store = AnyStore::open(&config.store).await.map_err(|e| anyhow::anyhow!("store: {e}"))?;
    let mut providers = BTreeMap::new();
    for (name, p) in &config.providers {
        let http = http_client(&config, p)?;
        providers.insert(name.clone(), Provider { config: Arc::new(p.clone()), label: Arc::new(name.clone()), http });
    }
    let origin: Arc<str> = crate::security::origin_of(&config.public_origin).into();
    let state = AppState::new(Shared {
        config: Arc::new(config),
        origin,
        providers: Arc::new(providers),
        store,
        vault: Arc::new(vault),
        metrics: Arc::new(Metrics::new()),
        cache: Arc::new(SessionCache::new(SESSION_CACHE_CAPACITY)),
        refresher: Arc::new(Refresher::default()),
        background: tokio_util::task::TaskTracker::new(),
    });
    let cache = state.cache.clone();
    state.store.set_invalidation_sink(Arc::new(move |what| cache.invalidate(what)));
    Ok((router(state.clone()), state))
}

/// The router over `state`.
pub fn router(state: AppState) -> Router {
    let cfg = &state.config;
    let idle = time::Duration::try_from(cfg.session.idle_timeout).unwrap_or(time::Duration::minutes(30));
    let sessions = SessionManagerLayer::new(state.store.clone())
        .with_name(cfg.session.cookie_name.clone())
        .with_http_only(true)
        .with_secure(true)
        .with_path("/")
        .with_same_site(SameSite::Lax)
        .with_expiry(Expiry::OnInactivity(idle))
        .with_always_save(true);

    let session_routes = Router::new()
        .route("/auth/login", get(auth::login))
        .route("/auth/callback", get(auth::callback))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/session", get(auth::session_info))
        .layer(sessions)
        // The proxy resolves its session itself, through the cache (no session layer).
        .route("/api/{provider}/{*path}", any(proxy::proxy))
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    let session_routes = match cors_layer(&cfg.cors_allowed_origins) {
        Some(cors) => session_routes.layer(cors),
        None => session_routes,
    };

    let mut app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(session_routes)
        .with_state(state.clone());
    if let Some(dir) = &cfg.static_dir {
        app = app.fallback_service(ServeDir::new(dir).append_index_html_on_directories(true));
    }
    app.layer(CatchPanicLayer::custom(|_| {
        tracing::error!("a handler panicked");
        crate::error::ApiError::internal().into_response()
    }))
    .layer(axum::middleware::from_fn_with_state(state, context::middleware))
    .layer(SetResponseHeaderLayer::overriding(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)))
    .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
    .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
    .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
}

fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    let values: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    if values.is_empty() {
        return None;
    }
    use axum::http::Method;
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(values))
            .allow_credentials(true)
            .allow_methods([Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
            .allow_headers([
                header::HeaderName::from_static("x-valv-csrf"),
                header::HeaderName::from_static("x-request-id"),
                header::CONTENT_TYPE,
                header::ACCEPT,
            ])
            .expose_headers([header::HeaderName::from_static("x-request-id"), header::RETRY_AFTER])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

async fn healthz() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], r#"{"status":"ok"}"#)
}

async fn readyz(State(store): State<AnyStore>) -> Response {
    match store.ping().await {
        Ok(()) => ([(header::CONTENT_TYPE, "application/json")], r#"{"status":"ready"}"#).into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "not ready: store unreachable");
            crate::error::ApiError::store_unavailable().into_response()
        }
    }
}

async fn metrics(State(metrics): State<Arc<Metrics>>, State(store): State<AnyStore>) -> Response {
    match store.count_active().await {
        Ok(n) => metrics.set_active_sessions(n),
        Err(err) => tracing::warn!(error = %err, "active session count failed"),
    }
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], metrics.encode())
        .into_response()
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains in-flight requests.
/// The peer address is available to handlers (for `PSU-IP-Address`).
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>()).with_graceful_shutdown(shutdown).await
}

/// Waits (at most `limit`) for the detached work of `state` — refreshes writing rotated
/// tokens, idle-expiry extensions — after the server stopped taking requests.
pub async fn drain(state: &AppState, limit: std::time::Duration) {
    state.background.close();
    if tokio::time::timeout(limit, state.background.wait()).await.is_err() {
        tracing::warn!(tasks = state.background.len(), "background work still running at shutdown");
    }
}
