//! The broker's one error shape: `{"error", "message", "requestId"}`, its `error` codes
//! those of the wire contract ([`valv_wire::Code`]).
//!
//! Handlers return [`ApiError`]; its response carries an [`ErrorInfo`] extension and the
//! request-context middleware ([`crate::context`]) renders the JSON body with the request id,
//! so every error — including ones from layers and extractor rejections — has the same shape.
//! Internal causes are logged where they happen, never sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use valv_wire::Code;

/// A broker error: a wire code ([`ErrorCode::wire`]) and a fixed HTTP status (the wire
/// code's, but for the broker's own 404, 405 and 408, which are `bad_request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// 401: no session (or not for this provider).
    Unauthenticated,
    /// 401: the session ended (refresh refused, absolute lifetime over).
    SessionExpired,
    /// 403: CSRF header missing/wrong or a cross-site origin.
    Csrf,
    /// 403: method + path not on the provider's allowlist.
    RouteNotAllowed,
    /// 400: malformed input.
    BadRequest,
    /// 404: no such broker endpoint (shape kept; code `bad_request`).
    NotFound,
    /// 405: method not allowed on a broker endpoint (code `bad_request`).
    MethodNotAllowed,
    /// 408: the request (its body, or all of it) took too long (code `bad_request`).
    RequestTimeout,
    /// 413: request body over the limit.
    PayloadTooLarge,
    /// 429: too many requests.
    RateLimited,
    /// 502: the bank could not be reached or answered garbage.
    UpstreamUnavailable,
    /// 504: the bank did not answer in time.
    UpstreamTimeout,
    /// 503: the session store is not reachable (readiness, and any call that needs it).
    StoreUnavailable,
    /// 500: anything else, never with details.
    Internal,
}

impl ErrorCode {
    /// Its code in the wire contract.
    pub fn wire(self) -> Code {
        match self {
            Self::Unauthenticated => Code::Unauthenticated,
            Self::SessionExpired => Code::SessionExpired,
            Self::Csrf => Code::Csrf,
            Self::RouteNotAllowed => Code::RouteNotAllowed,
            Self::BadRequest | Self::NotFound | Self::MethodNotAllowed | Self::RequestTimeout => Code::BadRequest,
            Self::PayloadTooLarge => Code::PayloadTooLarge,
            Self::RateLimited => Code::RateLimited,
            Self::UpstreamUnavailable => Code::UpstreamUnavailable,
            Self::UpstreamTimeout => Code::UpstreamTimeout,
            Self::StoreUnavailable => Code::StoreUnavailable,
            Self::Internal => Code::Internal,
        }
    }

    /// The `error` string of the JSON body.
    pub fn as_str(self) -> &'static str {
        self.wire().as_str()
    }

    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            other => other.wire().status().and_then(|s| StatusCode::from_u16(s).ok()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }
}

/// An error answered by the broker itself.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// Its code.
    pub code: ErrorCode,
    /// Human text for the browser: fixed wording, never a token, secret or internal cause.
    pub message: String,
}

impl ApiError {
    /// An error with a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    /// `bad_request` (400).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    /// `unauthenticated` (401).
    pub fn unauthenticated() -> Self {
        Self::new(ErrorCode::Unauthenticated, "Not logged in. Log in first.")
    }

    /// `session_expired` (401).
    pub fn session_expired() -> Self {
        Self::new(ErrorCode::SessionExpired, "The session has ended. Log in again.")
    }

    /// `csrf` (403).
    pub fn csrf(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Csrf, message)
    }

    /// `internal` (500) — the cause must have been logged by the caller.
    pub fn internal() -> Self {
        Self::new(ErrorCode::Internal, "Internal error.")
    }

    /// `upstream_unavailable` (502).
    pub fn upstream_unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::UpstreamUnavailable, message)
    }

    /// `store_unavailable` (503) — the cause must have been logged by the caller.
    pub fn store_unavailable() -> Self {
        Self::new(ErrorCode::StoreUnavailable, "The session store is not reachable; try again shortly.")
    }

    /// `upstream_timeout` (504).
    pub fn upstream_timeout() -> Self {
        Self::new(ErrorCode::UpstreamTimeout, "The bank did not answer in time.")
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ApiError {}

/// Response extension marking a broker error; the context middleware renders its body.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    /// Which error: its wire code and HTTP status.
    pub code: ErrorCode,
    /// The body's `message`: fixed text, never a cause.
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = self.code.status().into_response();
        res.extensions_mut().insert(ErrorInfo { code: self.code, message: self.message });
        res
    }
}

/// The JSON body of an error.
pub fn error_body(code: ErrorCode, message: &str, request_id: &str) -> String {
    serde_json::json!({ "error": code.as_str(), "message": message, "requestId": request_id }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_their_statuses_and_every_wire_code_is_used() {
        let table = [
            (ErrorCode::Unauthenticated, "unauthenticated", 401),
            (ErrorCode::SessionExpired, "session_expired", 401),
            (ErrorCode::Csrf, "csrf", 403),
            (ErrorCode::RouteNotAllowed, "route_not_allowed", 403),
            (ErrorCode::BadRequest, "bad_request", 400),
            (ErrorCode::NotFound, "bad_request", 404),
            (ErrorCode::MethodNotAllowed, "bad_request", 405),
            (ErrorCode::RequestTimeout, "bad_request", 408),
            (ErrorCode::PayloadTooLarge, "payload_too_large", 413),
            (ErrorCode::RateLimited, "rate_limited", 429),
            (ErrorCode::UpstreamUnavailable, "upstream_unavailable", 502),
            (ErrorCode::UpstreamTimeout, "upstream_timeout", 504),
            (ErrorCode::StoreUnavailable, "store_unavailable", 503),
            (ErrorCode::Internal, "internal", 500),
        ];
        for (code, name, status) in table {
            assert_eq!(code.as_str(), name);
            assert_eq!(code.status().as_u16(), status);
        }
        // The broker answers with every broker code of the contract, and with no other.
        for &wire in Code::BROKER {
            assert!(table.iter().any(|(c, _, _)| c.wire() == wire), "{} is never answered", wire.as_str());
        }
        assert!(table.iter().all(|(c, _, _)| c.wire().is_broker()));
    }

    #[test]
    fn body_has_the_one_shape() {
        let v: serde_json::Value = serde_json::from_str(&error_body(ErrorCode::Csrf, "no", "abc")).expect("json");
        assert_eq!(v, serde_json::json!({"error": "csrf", "message": "no", "requestId": "abc"}));
    }
}
