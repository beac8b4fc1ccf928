//! Errors as SEB sends them, as responses: RFC 7807 problem objects with Berlin Group codes
//! (AIS/PIS), RFC 6749 JSON (OAuth token endpoint) and SEB's auth v3 shape — the bodies are
//! `valv-psd2`'s types, the ones a client of the bank reads them with.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// An RFC 7807 problem with a Berlin Group error code, as SEB's AIS/PIS APIs send it:
/// `{"type": "https://berlingroup.com/error-codes/CODE", "title", "status", "detail", "code"}`.
#[derive(Debug, Clone)]
pub struct Problem {
    /// HTTP status.
    pub status: StatusCode,
    /// Berlin Group code, e.g. `TOKEN_INVALID`, `RESOURCE_UNKNOWN`.
    pub code: &'static str,
    /// Human-readable detail.
    pub detail: String,
}

impl Problem {
    /// A problem with the given status, Berlin Group code and detail.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self { status, code, detail: detail.into() }
    }

    /// 400 `FORMAT_ERROR`.
    pub fn format(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "FORMAT_ERROR", detail)
    }

    /// 404 `RESOURCE_UNKNOWN`.
    pub fn unknown(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "RESOURCE_UNKNOWN", detail)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = valv_psd2::Problem::berlin_group(self.status.as_u16(), self.code, self.detail);
        (self.status, [(header::CONTENT_TYPE, "application/problem+json")], json(&body)).into_response()
    }
}

/// An RFC 6749 §5.2 error from the OAuth token endpoint: `{"error", "error_description"}`.
#[derive(Debug, Clone)]
pub struct OAuthError {
    /// HTTP status (400, or 401 for `invalid_client`).
    pub status: StatusCode,
    /// RFC 6749 error code: `invalid_request`, `invalid_client`, `invalid_grant`,
    /// `unauthorized_client`, `unsupported_grant_type`, `invalid_scope`.
    pub error: &'static str,
    /// Human-readable description.
    pub description: String,
}

impl OAuthError {
    /// A 400 error with the given code.
    pub fn new(error: &'static str, description: impl Into<String>) -> Self {
        let status = if error == "invalid_client" { StatusCode::UNAUTHORIZED } else { StatusCode::BAD_REQUEST };
        Self { status, error, description: description.into() }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = valv_psd2::OAuthError::new(self.error, self.description);
        let mut res =
            (self.status, [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")], json(&body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Basic realm=\"sandbox\""));
        }
        res
    }
}

/// SEB's auth v3 error body: `{"detail": null, "title", "status", "type"}`.
#[derive(Debug, Clone)]
pub struct AuthV3Error {
    /// HTTP status (SEB uses 400, 404, 409, 422, 429).
    pub status: StatusCode,
    /// `title`, the human text.
    pub title: String,
    /// `type`, e.g. `Invalid parameter value`.
    pub kind: &'static str,
}

impl AuthV3Error {
    /// An auth v3 error.
    pub fn new(status: StatusCode, kind: &'static str, title: impl Into<String>) -> Self {
        Self { status, kind, title: title.into() }
    }
}

impl IntoResponse for AuthV3Error {
    fn into_response(self) -> Response {
        let body = valv_psd2::AuthV3Error::new(self.status.as_u16(), self.kind, self.title);
        (self.status, [(header::CONTENT_TYPE, "application/json")], json(&body)).into_response()
    }
}

/// A body as JSON text (the psd2 error types always serialise).
fn json<T: serde::Serialize>(body: &T) -> String {
    serde_json::to_string(body).unwrap_or_else(|_| String::from("{}"))
}
