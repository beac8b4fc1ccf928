//! Per-request context: the request id (kept from the browser when it is a UUID, else new,
//! and written back into the request's `X-Request-ID` so every later step reads the same
//! one), the task-local [`Current`] that puts it on every log line of the request, the
//! access log line (method, path without query, route template, status, latency — never a
//! query string, cookie or header value), the request metric, and the rendering of every
//! broker error into the one JSON shape.

use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::Response;

use crate::error::{error_body, ErrorCode, ErrorInfo};
use crate::policy::headers::REQUEST_ID;
use crate::state::AppState;

/// Is this a path whose errors are rendered as broker JSON errors.
fn is_broker_path(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/auth/") || path == "/readyz"
}

/// The request a task is serving, for its log lines (`request{request_id=… method="GET"}:`);
/// a task-local instead of a tracing span, which costs a span's allocation and field
/// formatting on every call.
#[derive(Clone, Copy)]
pub(crate) struct Current {
    id: [u8; 36],
    method: &'static str,
}

impl Current {
    /// The request with this id (36 bytes, a hyphenated UUID; anything else reads as zeros)
    /// and method label.
    pub(crate) fn new(id: &str, method: &'static str) -> Self {
        let mut text = [b'0'; 36];
        if id.len() == 36 {
            text.copy_from_slice(id.as_bytes());
        }
        Self { id: text, method }
    }

    /// The request id (a hyphenated UUID).
    pub(crate) fn id(&self) -> &str {
        std::str::from_utf8(&self.id).unwrap_or("-")
    }

    /// The method label (`GET`, …, `OTHER`).
    pub(crate) fn method(&self) -> &'static str {
        self.method
    }
}

tokio::task_local! {
    static CURRENT: Current;
}

/// The request the calling task serves, if any.
pub(crate) fn current() -> Option<Current> {
    CURRENT.try_with(|c| *c).ok()
}

/// Runs `fut` as the request `current`: its log lines carry the request id.
pub(crate) fn scope<F: std::future::Future>(current: Current, fut: F) -> impl std::future::Future<Output = F::Output> {
    CURRENT.scope(current, fut)
}

/// Runs `f` as the request `current` (outside a task: tests).
#[cfg(test)]
pub(crate) fn sync_scope<R>(current: Current, f: impl FnOnce() -> R) -> R {
    CURRENT.sync_scope(current, f)
}

/// What the context keeps of a request until its answer.
pub(crate) struct RequestContext {
    started: Instant,
    id: HeaderValue,
    current: Current,
    route: &'static str,
    uri: Uri,
}

impl RequestContext {
    /// Starts the context of `req`: settles its request id.
    pub(crate) fn begin(req: &mut Request) -> Self {
        let started = Instant::now();
        let id = settle_request_id(req.headers_mut());
        let method = crate::metrics::method_label(req.method());
        let uri = req.uri().clone();
        let route = crate::metrics::route_of(uri.path());
        let current = Current::new(id.to_str().unwrap_or_default(), method);
        Self { started, id, current, route, uri }
    }

    /// The request, for [`scope`].
    pub(crate) fn current(&self) -> Current {
        self.current
    }

    /// Finishes `res`: renders broker errors, adds the request id, counts and logs it.
    pub(crate) fn finish(self, state: &AppState, mut res: Response) -> Response {
        let path = self.uri.path();
        let id_text = self.id.to_str().unwrap_or_default();
        if let Some(info) = res.extensions_mut().remove::<ErrorInfo>() {
            let status = res.status();
            res = render(res, status, info.code, &info.message, id_text);
        } else if is_broker_path(path) && !path.starts_with("/api/") && (res.status().is_client_error() || res.status().is_server_error()) {
            // Errors not made by a handler (unknown route, extractor rejections, a session
            // layer failure): same shape, no details. (An `/api/` answer without an error
            // of the broker's is the bank's, passed through as it is.)
            let status = res.status();
            let (code, message) = match status {
                StatusCode::NOT_FOUND => (ErrorCode::NotFound, "No such endpoint."),
                StatusCode::METHOD_NOT_ALLOWED => (ErrorCode::MethodNotAllowed, "Method not allowed on this endpoint."),
                StatusCode::PAYLOAD_TOO_LARGE => (ErrorCode::PayloadTooLarge, "The request body is too large."),
                s if s.is_client_error() => (ErrorCode::BadRequest, "The request is malformed."),
                _ => (ErrorCode::Internal, "Internal error."),
            };
            let status = if code == ErrorCode::Internal { StatusCode::INTERNAL_SERVER_ERROR } else { status };
            res = render(res, status, code, message, id_text);
        }
        let status = res.status().as_u16();
        state.metrics.request(self.route, self.current.method, status);
        // The path only: query strings (codes, state, login hints) are never logged.
        let logged_path = if path.starts_with("/auth/") || path.starts_with("/api/") { path } else { self.route };
        let ms = self.started.elapsed().as_millis() as u64;
        crate::logging::access(&self.current, logged_path, self.route, status, ms);
        res.headers_mut().insert(REQUEST_ID, self.id);
        res
    }
}

/// The request id of a request: the browser's `X-Request-ID` when it is a UUID (in its
/// canonical lower-case form), else a new one; the request carries it from here on.
fn settle_request_id(headers: &mut axum::http::HeaderMap) -> HeaderValue {
    let id = crate::policy::headers::request_id_from(headers);
    let mut buf = uuid::Uuid::encode_buffer();
    let text = id.hyphenated().encode_lower(&mut buf);
    if let Some(sent) = headers.get(&REQUEST_ID) {
        if sent.as_bytes() == text.as_bytes() {
            return sent.clone();
        }
    }
    let value = HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("00000000-0000-0000-0000-000000000000"));
    headers.insert(REQUEST_ID, value.clone());
    value
}

/// Replaces the body with the JSON error, keeping headers set by inner layers (e.g. the
/// session layer's cookie removal).
fn render(res: Response, status: StatusCode, code: ErrorCode, message: &str, id: &str) -> Response {
    let (mut parts, _) = res.into_parts();
    parts.status = status;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_ENCODING);
    parts.headers.remove(header::LOCATION);
    let mut res = Response::from_parts(parts, Body::from(error_body(code, message, id)));
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
