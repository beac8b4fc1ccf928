//! Errors as SEB sends them: RFC 7807 problem objects with Berlin Group codes
//! (AIS/PIS), RFC 6749 JSON (OAuth token endpoint) and SEB's auth v3 shape.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

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

    /// The Berlin Group title for a code.
    pub fn title(code: &str) -> &'static str {
        match code {
            "FORMAT_ERROR" => "Format of certain request fields are not matching the XS2A requirements",
            "PARAMETER_NOT_CONSISTENT" => "Parameters submitted by TPP are not consistent",
            "PARAMETER_NOT_SUPPORTED" => "The parameter is not supported by the API provider",
            "PERIOD_INVALID" => "Requested time period out of bound",
            "TOKEN_INVALID" => "The OAuth2 token is associated to the TPP but is not valid for the addressed service/resource",
            "TOKEN_UNKNOWN" => "The OAuth2 token cannot be matched by the ASPSP relative to the TPP",
            "TOKEN_EXPIRED" => "The OAuth2 token is associated to the TPP but has expired and needs to be renewed",
            "CERTIFICATE_INVALID" => "The contents of the signature/corporate seal certificate are not matching PSD2 general requirements",
            "RESOURCE_UNKNOWN" => "The addressed resource is unknown relative to the TPP",
            "RESOURCE_EXPIRED" => "The addressed resource is associated with the TPP but has expired, not addressable anymore",
            "SERVICE_BLOCKED" => "This service is not reachable for the addressed PSU due to a channel independent blocking by the ASPSP",
            "SERVICE_INVALID" => "The addressed service is not valid for the addressed resources or the submitted data",
            "ACCESS_EXCEEDED" => "The access on the account has been exceeding the consented multiplicity without PSU involvement",
            "PAYMENT_FAILED" => "The payment initiation POST request failed during the initial process",
            "EXECUTION_DATE_INVALID" => "The requested execution date is not a valid execution date for the ASPSP",
            "PRODUCT_INVALID" => "The addressed payment product is not available for the PSU",
            "PRODUCT_UNKNOWN" => "The addressed payment product is not supported by the ASPSP",
            "CANCELLATION_INVALID" => "The addressed payment is not cancellable",
            "STATUS_INVALID" => "The addressed resource does not allow addressing the requested status",
            "INTERNAL_SERVER_ERROR" => "Internal server error",
            "SERVICE_UNAVAILABLE" => "The service is temporarily unavailable",
            _ => "Request failed",
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = json!({
            "type": format!("https://berlingroup.com/error-codes/{}", self.code),
            "title": Self::title(self.code),
            "status": self.status.as_u16(),
            "detail": self.detail,
            "code": self.code,
        });
        (self.status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response()
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
        let body = json!({ "error": self.error, "error_description": self.description });
        let mut res = (self.status, [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")], body.to_string())
            .into_response();
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
        let body = json!({ "detail": null, "title": self.title, "status": self.status.as_u16(), "type": self.kind });
        (self.status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
    }
}
