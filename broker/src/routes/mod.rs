//! The route table in one place, and the service that serves it.
//!
//! `/api/{provider}/{path…}` goes straight to the proxy: no router, no request extensions, no
//! boxed layers, since every API call takes that path. Everything else goes through the axum
//! router (`/auth/*`, health, metrics, the static files). Sessions are read from the cookie
//! by [`crate::session::resolve`] on both paths. The request
//! context, panic catching and the security headers wrap both; `Cache-Control: no-store` and
//! CORS for allowlisted origins apply to `/auth/*` and `/api/*`.

pub(crate) mod auth;
pub(crate) mod bankid;
pub(crate) mod health;
pub(crate) mod proxy;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use futures::future::{BoxFuture, Either};
use futures::FutureExt;
use tower::{Layer, Service};
use tower_http::cors::{AllowOrigin, Cors, CorsLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::context;
use crate::policy::headers::REQUEST_ID;
use crate::state::AppState;

/// Content-Security-Policy of every response (the SPA: its own scripts and wasm only).
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The headers every answer carries.
fn secure(res: &mut Response) {
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// The axum router of everything but the proxy.
fn router(state: &AppState, cors: Option<CorsLayer>) -> Router {
    let cfg = &state.config;
    let auth = Router::new()
        .route("/auth/login", get(auth::login))
        .route("/auth/callback", get(auth::callback))
        .route("/auth/callback/{provider}", get(auth::callback))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/session", get(auth::session_info))
        .route("/auth/bankid", post(bankid::start))
        .route("/auth/bankid/{id}", get(bankid::poll).delete(bankid::cancel))
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    let auth = match cors {
        Some(cors) => auth.layer(cors),
        None => auth,
    };
    let mut app = Router::new().route("/healthz", get(health::healthz)).route("/readyz", get(health::readyz));
    if cfg.metrics_listen.is_none() {
        app = app.route("/metrics", get(health::metrics));
    }
    let mut app = app.merge(auth).with_state(state.clone());
    if let Some(dir) = &cfg.static_dir {
        app = app.fallback_service(ServeDir::new(dir).append_index_html_on_directories(true));
    }
    app
}

/// `/metrics` alone, for the `metrics_listen` listener.
pub fn metrics_router(state: AppState) -> Router {
    Router::new().route("/metrics", get(health::metrics)).with_state(state)
}

/// The broker as one service (see the module header); [`App::connection`] makes the
/// service of each accepted connection.
#[derive(Clone)]
pub struct App(Arc<Inner>);

struct Inner {
    state: AppState,
    router: Router,
    cors: Option<CorsLayer>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("state", &self.0.state).field("cors", &self.0.cors.is_some()).finish_non_exhaustive()
    }
}

impl App {
    /// The application over `state`.
    pub fn new(state: AppState) -> Self {
        let cors = cors_layer(&state.config.cors_allowed_origins);
        let router = router(&state, cors.clone());
        Self(Arc::new(Inner { state, router, cors }))
    }

    /// The size and time limits it serves with.
    pub fn limits(&self) -> &crate::config::Limits {
        &self.0.state.config.limits
    }

    /// The service of one connection from `peer` (the address `PSU-IP-Address` is made from).
    pub fn connection(&self, peer: Option<SocketAddr>) -> Connection {
        let proxy = proxy::ProxyService::new(self.0.state.clone(), peer);
        let api = match &self.0.cors {
            Some(cors) => Either::Left(cors.layer(proxy)),
            None => Either::Right(proxy),
        };
        Connection { state: self.0.state.clone(), router: self.0.router.clone(), api, peer: peer.map(|p| p.ip()) }
    }
}

/// The service of one connection.
#[derive(Clone)]
pub struct Connection {
    state: AppState,
    router: Router,
    api: Either<Cors<proxy::ProxyService>, proxy::ProxyService>,
    peer: Option<std::net::IpAddr>,
}

impl Connection {
    /// Whether a login step from this browser is over its rate limit (`Err(wait)`).
    fn login_allowed(&self, req: &Request) -> Result<(), std::time::Duration> {
        let path = req.uri().path();
        let starts_bankid = path == "/auth/bankid" && req.method() == axum::http::Method::POST;
        if path != "/auth/login" && !path.starts_with("/auth/callback") && !starts_bankid {
            return Ok(());
        }
        let Some(peer) = self.peer else { return Ok(()) };
        let ip = crate::policy::headers::client_ip(peer, req.headers(), &self.state.config.trusted_proxies);
        self.state.rate.login(ip)
    }
}

impl Service<Request> for Connection {
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // The router and the proxy are always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let ctx = context::RequestContext::begin(&mut req);
        if let Err(wait) = self.login_allowed(&req) {
            let state = self.state.clone();
            let mut res = ctx.finish(&state, crate::policy::rate::too_many(wait));
            secure(&mut res);
            return Box::pin(std::future::ready(Ok(res)));
        }
        let inner = if req.uri().path().starts_with("/api/") {
            Either::Left(match &mut self.api {
                Either::Left(cors) => Either::Left(cors.call(req)),
                Either::Right(proxy) => Either::Right(proxy.call(req)),
            })
        } else {
            if req.uri().path().starts_with("/auth/bankid") {
                // The bank wants the browser's address (PSU-IP-Address) with every BankID call.
                if let Some(peer) = self.peer {
                    let ip = crate::policy::headers::client_ip(peer, req.headers(), &self.state.config.trusted_proxies);
                    req.extensions_mut().insert(crate::policy::headers::ClientAddr(ip));
                }
            }
            Either::Right(self.router.call(req))
        };
        let state = self.state.clone();
        let current = ctx.current();
        let scoped = context::scope(current, async move {
            let limit = state.config.limits.request_timeout;
            let guarded = tokio::time::timeout(limit, AssertUnwindSafe(inner).catch_unwind());
            let res = match guarded.await {
                Ok(Ok(Ok(res))) => res,
                Ok(Ok(Err(never))) => match never {},
                Ok(Err(_)) => {
                    tracing::error!("a handler panicked");
                    crate::error::ApiError::internal().into_response()
                }
                Err(_) => {
                    tracing::warn!("the request took longer than limits.request_timeout");
                    crate::error::ApiError::new(crate::error::ErrorCode::RequestTimeout, "The request took too long.").into_response()
                }
            };
            let mut res = ctx.finish(&state, res);
            secure(&mut res);
            Ok(res)
        });
        Box::pin(scoped)
    }
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
            .allow_headers([crate::policy::csrf::CSRF_HEADER, REQUEST_ID, header::CONTENT_TYPE, header::ACCEPT])
            .expose_headers([REQUEST_ID, header::RETRY_AFTER])
            .max_age(std::time::Duration::from_secs(600)),
    )
}
