//! Per-request context: the request id (kept from the browser when it is a UUID, else new),
//! a tracing span carrying it, the access log line (method, path without query, route
//! template, status, latency — never a query string, cookie or header value), the request
//! metric, and the rendering of every broker error into the one JSON shape.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::error::{error_body, ErrorCode, ErrorInfo};
use crate::state::AppState;

/// The request id of the current request (request extension).
#[derive(Debug, Clone, Copy)]
pub struct RequestId(pub uuid::Uuid);

/// Marks a response whose status and body come from the bank unchanged (not re-rendered).
#[derive(Debug, Clone, Copy)]
pub struct Passthrough;

/// Is this a path whose errors are rendered as broker JSON errors.
fn is_broker_path(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/auth/") || path == "/readyz"
}

/// The middleware (outermost application layer).
pub async fn middleware(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = crate::policy::headers::request_id_from(req.headers());
    req.extensions_mut().insert(RequestId(id));
    let method = crate::metrics::method_label(req.method());
    let uri = req.uri().clone();
    let path = uri.path();
    let broker_path = is_broker_path(path);
    let route = crate::metrics::route_label(req.extensions().get::<MatchedPath>().map(MatchedPath::as_str), broker_path);
    let span = tracing::info_span!("request", request_id = %id, method);
    let mut res = next.run(req).instrument(span.clone()).await;

    if let Some(info) = res.extensions_mut().remove::<ErrorInfo>() {
        let status = res.status();
        res = render(res, status, info.code, &info.message, id);
    } else if broker_path
        && res.extensions().get::<Passthrough>().is_none()
        && (res.status().is_client_error() || res.status().is_server_error())
    {
        // Errors not made by a handler (unknown route, extractor rejections, a session
        // layer failure): same shape, no details.
        let status = res.status();
        let (code, message) = match status {
            StatusCode::NOT_FOUND => (ErrorCode::NotFound, "No such endpoint."),
            StatusCode::METHOD_NOT_ALLOWED => (ErrorCode::MethodNotAllowed, "Method not allowed on this endpoint."),
            StatusCode::PAYLOAD_TOO_LARGE => (ErrorCode::PayloadTooLarge, "The request body is too large."),
            s if s.is_client_error() => (ErrorCode::BadRequest, "The request is malformed."),
            _ => (ErrorCode::Internal, "Internal error."),
        };
        res = render(res, if code == ErrorCode::Internal { StatusCode::INTERNAL_SERVER_ERROR } else { status }, code, message, id);
    }
    if let Ok(v) = HeaderValue::from_str(&id.to_string()) {
        res.headers_mut().insert("x-request-id", v);
    }
    let status = res.status().as_u16();
    state.metrics.request(route, method, status);
    // The path only: query strings (codes, state, login hints) are never logged.
    let logged_path = if path.starts_with("/auth/") || path.starts_with("/api/") { path } else { route };
    span.in_scope(|| {
        tracing::info!(path = %logged_path, route = %route, status, ms = started.elapsed().as_millis() as u64, "request");
    });
    res
}

/// Replaces the body with the JSON error, keeping headers set by inner layers (e.g. the
/// session layer's cookie removal).
fn render(res: Response, status: StatusCode, code: ErrorCode, message: &str, id: uuid::Uuid) -> Response {
    let (mut parts, _) = res.into_parts();
    parts.status = status;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_ENCODING);
    parts.headers.remove(header::LOCATION);
    let mut res = Response::from_parts(parts, Body::from(error_body(code, message, &id.to_string())));
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
