//! Liveness, readiness (the store answers) and the Prometheus metrics.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::metrics::Metrics;
use crate::store::AnyStore;

/// `GET /healthz`: the process answers.
pub(crate) async fn healthz() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], r#"{"status":"ok"}"#)
}

/// `GET /readyz`: the store answers (else 503 `store_unavailable`).
pub(crate) async fn readyz(State(store): State<AnyStore>) -> Response {
    match store.ping().await {
        Ok(()) => ([(header::CONTENT_TYPE, "application/json")], r#"{"status":"ready"}"#).into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "not ready: store unreachable");
            crate::error::ApiError::store_unavailable().into_response()
        }
    }
}

/// `GET /metrics`: OpenMetrics text, the active-session gauge read from the store now.
pub(crate) async fn metrics(State(metrics): State<Arc<Metrics>>, State(store): State<AnyStore>) -> Response {
    match store.count_active().await {
        Ok(n) => metrics.set_active_sessions(n),
        Err(err) => tracing::warn!(error = %err, "active session count failed"),
    }
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], metrics.encode())
        .into_response()
}
