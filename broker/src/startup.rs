//! Building the broker from its configuration (keys, store, providers' HTTP clients, the
//! shared state) and serving it: listening, graceful shutdown, draining detached work.

use std::collections::BTreeMap;
use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::config::{Config, ProviderConfig};
use crate::metrics::Metrics;
use crate::routes::App;
use crate::session::cache::SessionCache;
use crate::session::refresh::Refresher;
use crate::state::{AppState, Provider, Shared};
use crate::store::AnyStore;
use crate::vault::Vault;

/// How many resolved sessions each broker process keeps in memory (about 1 KB each).
pub const SESSION_CACHE_CAPACITY: usize = 100_000;

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
pub async fn build(config: Config) -> anyhow::Result<(App, AppState)> {
    let vault = Vault::new(&config.session.keys, &config.session.active_key).map_err(|e| anyhow::anyhow!("session.keys: {e}"))?;
    let store = AnyStore::open(&config.store).await.map_err(|e| anyhow::anyhow!("store: {e}"))?;
    let metrics = Metrics::new();
    let mut providers = BTreeMap::new();
    for (name, p) in &config.providers {
        if !p.pkce {
            tracing::warn!(
                provider = %name,
                "pkce = false: logins to this provider run without PKCE, so a stolen authorization code can be redeemed; turn it on unless the bank refuses it"
            );
        }
        let http = http_client(&config, p)?;
        let api = crate::upstream::api_client(&config, p)?;
        providers.insert(name.clone(), Provider::new(p.clone(), http, api, &metrics));
    }
    let origin: Arc<str> = crate::policy::csrf::origin_of(&config.public_origin).into();
    let config_rate = config.rate_limits.clone();
    let state = AppState::new(Shared {
        config: Arc::new(config),
        origin,
        providers: Arc::new(providers),
        store,
        vault: Arc::new(vault),
        metrics: Arc::new(metrics),
        cache: Arc::new(SessionCache::new(SESSION_CACHE_CAPACITY)),
        refresher: Arc::new(Refresher::default()),
        rate: Arc::new(crate::policy::rate::RateLimiter::new(&config_rate)),
        background: tokio_util::task::TaskTracker::new(),
    });
    let cache = state.cache.clone();
    state.store.set_invalidation_sink(Arc::new(move |what| cache.invalidate(what)));
    // Forget rate-limit buckets that are full again, so their memory stays bounded.
    let rate = Arc::downgrade(&state.rate);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
        every.tick().await;
        loop {
            every.tick().await;
            match rate.upgrade() {
                Some(r) => r.sweep(),
                None => return,
            }
        }
    });
    Ok((App::new(state.clone()), state))
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets in-flight requests
/// finish. Every accepted connection gets `TCP_NODELAY` and knows its peer (for
/// `PSU-IP-Address`); at most `limits.max_connections` are open at once (the rest wait in
/// the listen backlog); a connection that does not send a request's headers within
/// `limits.header_read_timeout` — also the longest a kept-alive connection may idle — is
/// closed.
pub async fn serve_router(
    listener: TcpListener,
    app: App,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = app.limits().clone();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new()).keep_alive_interval(Some(limits.header_read_timeout));
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot { Ok(s) => s, Err(_) => break },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(tower::ServiceExt::map_request(
            app.connection(Some(peer)),
            |req: http::Request<hyper::body::Incoming>| req.map(axum::body::Body::new),
        ));
        // No HTTP upgrades (the broker serves no WebSocket; an `Upgrade` header is never
        // forwarded): the plain connection future, a little cheaper per request.
        let conn = builder.serve_connection(TokioIo::new(stream), service).into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Serves `/metrics` alone on `listener` (the `metrics_listen` address) until `shutdown`.
pub async fn serve_metrics(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, crate::routes::metrics_router(state)).with_graceful_shutdown(shutdown).await
}

/// Waits (at most `limit`) for the detached work of `state` — refreshes writing rotated
/// tokens, idle-expiry extensions — after the server stopped taking requests.
pub async fn drain(state: &AppState, limit: std::time::Duration) {
    state.background.close();
    if tokio::time::timeout(limit, state.background.wait()).await.is_err() {
        tracing::warn!(tasks = state.background.len(), "background work still running at shutdown");
    }
}
