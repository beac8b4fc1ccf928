//! An offline bank that behaves like SEB's PSD2 sandbox.
//!
//! - sign-in: `oauth.rs` (the redirect flow and the token endpoint), `decoupled.rs` and
//!   `decoupled_v4.rs` (Mobile BankID), `tokens.rs` (issued tokens), `auth.rs` (the `Psu`
//!   extractor of API calls), `phone.rs` (the sandbox's BankID app);
//! - the bank: `bank.rs` (test people, accounts, payments), `ais.rs`, `pis.rs`, `signing.rs`
//!   (the SCA of payments);
//! - `controls.rs` (`/__sandbox/*`, for tests), `config.rs`, `state.rs`, `error.rs`.
//!
//! Start it in-process with [`run`] on any listener (tests use port 0):
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! valv_sandbox::run(listener, valv_sandbox::SandboxConfig::default(), std::future::pending()).await
//! # }
//! ```

pub mod ais;
pub mod auth;
pub mod bank;
pub mod config;
pub mod controls;
pub mod decoupled;
pub mod decoupled_v4;
pub mod error;
pub mod oauth;
pub mod phone;
pub mod pis;
pub mod signing;
pub mod state;
pub mod tokens;

use std::future::Future;

use axum::Router;
use tower_http::cors::CorsLayer;

pub use config::{Client, SandboxConfig, Settings};
pub use state::SandboxState;

/// The whole sandbox as one router over `state` (controls mounted only if the state's
/// config enables them).
pub fn app(state: SandboxState) -> Router {
    let mut router = Router::new()
        .merge(oauth::router())
        .merge(decoupled::router())
        .merge(decoupled_v4::router())
        .merge(phone::router())
        .merge(ais::router())
        .merge(pis::router());
    if state.config().controls {
        router = router
            .merge(controls::router().layer(CorsLayer::permissive()))
            .layer(axum::middleware::from_fn_with_state(state.clone(), controls::fault_middleware));
    }
    // Like SEB's gateway (SEB's own collection requests `{{baseUrl}}/{{payment_status_href}}`,
    // a path with `//`, and expects 200), repeated slashes in a path are merged before routing.
    let inner = router.with_state(state);
    Router::new().fallback_service(tower::ServiceExt::map_request(inner, merge_slashes))
}

/// `/pis//payments` → `/pis/payments` (the query is kept as it is).
fn merge_slashes(mut req: axum::extract::Request) -> axum::extract::Request {
    let uri = req.uri();
    if uri.path().contains("//") {
        let mut path = String::with_capacity(uri.path().len());
        for c in uri.path().chars() {
            if !(c == '/' && path.ends_with('/')) {
                path.push(c);
            }
        }
        let pq = match uri.query() {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        if let Ok(pq) = pq.parse::<axum::http::uri::PathAndQuery>() {
            let mut parts = uri.clone().into_parts();
            parts.path_and_query = Some(pq);
            if let Ok(new) = axum::http::Uri::from_parts(parts) {
                *req.uri_mut() = new;
            }
        }
    }
    req
}

/// A fresh state and its router.
pub fn build(config: SandboxConfig) -> (Router, SandboxState) {
    let state = SandboxState::with_config(config);
    (app(state.clone()), state)
}

/// Serves `state` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: SandboxState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state)).with_graceful_shutdown(shutdown).await
}

/// Builds a sandbox from `config` and serves it on `listener` until `shutdown` resolves.
pub async fn run(
    listener: tokio::net::TcpListener,
    config: SandboxConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve(listener, SandboxState::with_config(config), shutdown).await
}
