//! Error codes and the classification of failed responses (pure logic, no JS).

/// The `code` of a `ValvError`: the broker's error codes plus the client's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 401 from the broker: no session.
    Unauthenticated,
    /// 401 from the broker: the session ended (refresh failed or grant revoked).
    SessionExpired,
    /// 403 from the broker: missing CSRF header or cross-site request.
    Csrf,
    /// 403 from the broker: method + path not on the provider's allowlist.
    RouteNotAllowed,
    /// 400 from the broker.
    BadRequest,
    /// 413 from the broker.
    PayloadTooLarge,
    /// 429 from the broker.
    RateLimited,
    /// 502 from the broker: the bank could not be reached.
    UpstreamUnavailable,
    /// 504 from the broker: the bank did not answer in time.
    UpstreamTimeout,
    /// 500 from the broker.
    Internal,
    /// 503 from the broker: its session store is not reachable (the session is kept; try
    /// again shortly).
    StoreUnavailable,
    /// The request never got an HTTP answer (offline, DNS, CORS, connection reset).
    Network,
    /// The client's own timeout fired.
    Timeout,
    /// The caller's `AbortSignal` aborted the request.
    Aborted,
    /// The bank answered with an error (its status and parsed body are on the error).
    BankError,
    /// An argument was rejected before any request was sent.
    InvalidArgument,
    /// A Mobile BankID login ended without a session (cancelled, timed out, failed to
    /// start); `err.body` is `{ status: "failed", hintCode }`, `err.message` BankID's text.
    LoginFailed,
    /// A payment's BankID signing ended without a signature (cancelled, timed out);
    /// `err.body` is the bank's authorisation (`scaStatus: "failed"`), `err.message` the text.
    ScaFailed,
}

/// How many of [`ErrorCode::ALL`] (the first ones) are the broker's.
const BROKER_CODES: usize = 11;

impl ErrorCode {
    /// Every code, in declaration order.
    pub const ALL: [ErrorCode; 18] = [
        ErrorCode::Unauthenticated,
        ErrorCode::SessionExpired,
        ErrorCode::Csrf,
        ErrorCode::RouteNotAllowed,
        ErrorCode::BadRequest,
        ErrorCode::PayloadTooLarge,
        ErrorCode::RateLimited,
        ErrorCode::UpstreamUnavailable,
        ErrorCode::UpstreamTimeout,
        ErrorCode::Internal,
        ErrorCode::StoreUnavailable,
        ErrorCode::Network,
        ErrorCode::Timeout,
        ErrorCode::Aborted,
        ErrorCode::BankError,
        ErrorCode::InvalidArgument,
        ErrorCode::LoginFailed,
        ErrorCode::ScaFailed,
    ];

    /// The wire / JavaScript form, e.g. `"session_expired"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::SessionExpired => "session_expired",
            ErrorCode::Csrf => "csrf",
            ErrorCode::RouteNotAllowed => "route_not_allowed",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::UpstreamUnavailable => "upstream_unavailable",
            ErrorCode::UpstreamTimeout => "upstream_timeout",
            ErrorCode::Internal => "internal",
            ErrorCode::StoreUnavailable => "store_unavailable",
            ErrorCode::Network => "network",
            ErrorCode::Timeout => "timeout",
            ErrorCode::Aborted => "aborted",
            ErrorCode::BankError => "bank_error",
            ErrorCode::InvalidArgument => "invalid_argument",
            ErrorCode::LoginFailed => "login_failed",
            ErrorCode::ScaFailed => "sca_failed",
        }
    }

    /// The broker error code with this wire form (client-only codes are not broker codes).
    pub fn from_broker(code: &str) -> Option<ErrorCode> {
        Self::ALL[..BROKER_CODES].iter().copied().find(|c| c.as_str() == code)
    }

    /// `true` when this error means the broker session is over: the app should show
    /// "logged out" and `onSessionChange` listeners hear about it.
    pub fn ends_session(self) -> bool {
        matches!(self, ErrorCode::Unauthenticated | ErrorCode::SessionExpired)
    }
}

/// The members of a broker error body, `{"error", "message", "requestId"}`, when present.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BodyFields<'a> {
    /// `error` (broker code) if it is a string.
    pub error: Option<&'a str>,
    /// `message` if it is a string.
    pub message: Option<&'a str>,
    /// `requestId` if it is a string.
    pub request_id: Option<&'a str>,
}

/// Decides whose error a failed response is.
///
/// The broker's own errors have exactly the shape `{"error": <known code>, "message",
/// "requestId"}`; anything else with an error status was passed through from the bank.
pub fn classify(fields: &BodyFields<'_>) -> ErrorCode {
    match (fields.error.and_then(ErrorCode::from_broker), fields.message) {
        (Some(code), Some(_)) => code,
        _ => ErrorCode::BankError,
    }
}

/// Fields of a bank error used to build a readable message: RFC 7807 `detail`/`title`
/// and the first Berlin Group `tppMessages[].text` (or a plain-string entry, as SEB sends).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BankErrorFields<'a> {
    /// RFC 7807 `detail`.
    pub detail: Option<&'a str>,
    /// RFC 7807 `title`.
    pub title: Option<&'a str>,
    /// The first tppMessage's text.
    pub tpp_text: Option<&'a str>,
}

/// The message of a `bank_error`: the most specific text the bank gave, else a generic one.
pub fn bank_message<'a>(fields: &BankErrorFields<'a>) -> &'a str {
    [fields.detail, fields.tpp_text, fields.title]
        .into_iter()
        .flatten()
        .find(|s| !s.trim().is_empty())
        .unwrap_or("the bank refused the request")
}

/// A generic message for a status when the body said nothing useful.
pub fn status_message(status: u16) -> &'static str {
    match status {
        400 => "bad request",
        401 => "not authenticated",
        403 => "forbidden",
        404 => "not found",
        409 => "conflict",
        413 => "payload too large",
        429 => "too many requests",
        500..=599 => "server error",
        _ => "request failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_broker_codes_come_first() {
        for (i, code) in ErrorCode::ALL.iter().enumerate() {
            let from = ErrorCode::from_broker(code.as_str());
            if i < BROKER_CODES {
                assert_eq!(from, Some(*code));
            } else {
                assert_eq!(from, None, "{} is client-only", code.as_str());
            }
        }
        assert_eq!(ErrorCode::from_broker("nope"), None);
    }

    #[test]
    fn broker_errors_are_recognised_by_shape() {
        let f = BodyFields { error: Some("session_expired"), message: Some("session ended"), request_id: Some("r1") };
        assert_eq!(classify(&f), ErrorCode::SessionExpired);
        assert!(classify(&f).ends_session());
        // An OAuth-looking or unknown error member from the bank is the bank's.
        let f = BodyFields { error: Some("invalid_grant"), message: Some("x"), request_id: None };
        assert_eq!(classify(&f), ErrorCode::BankError);
        // A known code without a message is not the broker's shape.
        let f = BodyFields { error: Some("internal"), ..BodyFields::default() };
        assert_eq!(classify(&f), ErrorCode::BankError);
        assert_eq!(classify(&BodyFields::default()), ErrorCode::BankError);
        assert!(!ErrorCode::BankError.ends_session());
        assert!(ErrorCode::Unauthenticated.ends_session());
    }

    #[test]
    fn bank_messages_prefer_the_most_specific_text() {
        let f = BankErrorFields { detail: Some("Account 123 is unknown"), title: Some("Resource unknown"), tpp_text: Some("t") };
        assert_eq!(bank_message(&f), "Account 123 is unknown");
        let f = BankErrorFields {
            detail: Some("  "),
            title: Some("Resource unknown"),
            tpp_text: Some("A similar payment is already in upcoming events."),
        };
        assert_eq!(bank_message(&f), "A similar payment is already in upcoming events.");
        assert_eq!(bank_message(&BankErrorFields::default()), "the bank refused the request");
        assert_eq!(status_message(503), "server error");
    }
}
