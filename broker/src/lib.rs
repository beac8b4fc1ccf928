//! Valv's backend-for-frontend: the only holder of client secrets and tokens.
//!
//! A browser gets only a session cookie; the broker exchanges codes, keeps the tokens sealed
//! in its store ([`store`], [`vault`]) and proxies API calls with the token injected and
//! refreshed ([`proxy`], [`session`]).

pub mod app;
pub mod auth;
pub mod config;
pub mod context;
pub mod error;
pub mod metrics;
pub mod mtls;
pub mod oauth;
pub mod proxy;
pub mod secret;
pub mod security;
pub mod session;
pub mod state;
pub mod store;
pub mod tls;
pub mod vault;

/// Builds the broker from `config` and serves it on `listener` until `shutdown` resolves,
/// then drains in-flight requests (tests use port 0):
/// ```no_run
/// # async fn demo(config: valv_broker::config::Config) -> anyhow::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// valv_broker::serve(listener, config, std::future::pending()).await
/// # }
/// ```
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: config::Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (router, state) = app::build(config).await?;
    app::serve_router(listener, router, shutdown).await?;
    app::drain(&state, std::time::Duration::from_secs(30)).await;
    Ok(())
}
