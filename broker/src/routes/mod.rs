//! The route table in one place, and the layers around it: the session layer on `/auth/*`
//! only, `Cache-Control: no-store`, CORS for allowlisted origins, panics caught, the
//! request context, and the security headers of every answer.

pub(crate) mod auth;
pub(crate) mod health;
pub(crate) mod proxy;

use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::{any, get, post};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::context;
use crate::state::AppState;

/// Content-Security-Policy of every response (the SPA: its own scripts and wasm only).
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

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
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
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
