//! Valv's backend-for-frontend: the only holder of client secrets and tokens.
//!
//! A browser gets only a session cookie; the broker exchanges codes, keeps the tokens sealed
//! in its store ([`store`], [`vault`]) and proxies API calls with the token injected and
//! refreshed (`routes`, [`session`]); [`startup`] builds and serves it.

pub mod config;
pub(crate) mod context;
pub(crate) mod decoupled;
pub(crate) mod error;
pub mod logging;
pub(crate) mod metrics;
pub(crate) mod mtls;
pub mod oauth;
pub mod policy;
pub(crate) mod routes;
pub mod secret;
pub mod session;
pub mod startup;
pub mod state;
pub mod store;
pub mod tls;
pub(crate) mod upstream;
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
    let (app, state) = startup::build(config).await?;
    let (stop_metrics, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
    let metrics = match state.config.metrics_listen {
        Some(at) => {
            let l = tokio::net::TcpListener::bind(at).await.map_err(|e| anyhow::anyhow!("metrics_listen: cannot bind {at}: {e}"))?;
            Some(tokio::spawn(startup::serve_metrics(l, state.clone(), async move {
                let _ = metrics_stopped.await;
            })))
        }
        None => None,
    };
    startup::serve_router(listener, app, shutdown).await?;
    let _ = stop_metrics.send(());
    if let Some(m) = metrics {
        let _ = m.await;
    }
    startup::drain(&state, std::time::Duration::from_secs(30)).await;
    Ok(())
}
