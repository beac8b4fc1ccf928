//! The wire contract between the Valv broker and its browser client, defined once and used
//! by both sides: the `error` codes of the broker's error body `{"error", "message",
//! "requestId"}` with their HTTP statuses, the client's own codes, the header names the two
//! exchange, the answer of `GET /auth/session`, and the states of a Mobile BankID login.
//!
//! Dependency-free (serde behind the `serde` feature, the TypeScript declaration of
//! [`SessionInfo`] behind `ts`), so the broker and the WebAssembly client build the same
//! definitions.

#![no_std]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

/// The `code` of every error a Valv client can see: first the broker's (the `error` member
/// of its JSON error body), then the client's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// 401 from the broker: no session.
    Unauthenticated,
    /// 401 from the broker: the session ended (refresh refused, grant revoked, lifetime over).
    SessionExpired,
    /// 403 from the broker: missing CSRF header or a cross-site request.
    Csrf,
    /// 403 from the broker: method + path not on the provider's allowlist.
    RouteNotAllowed,
    /// 400 from the broker (also 404, 405 and 408 for its own endpoints).
    BadRequest,
    /// 413 from the broker: the request body is over the limit.
    PayloadTooLarge,
    /// 429 from the broker.
    RateLimited,
    /// 502 from the broker: the bank could not be reached or answered garbage.
    UpstreamUnavailable,
    /// 504 from the broker: the bank did not answer in time.
    UpstreamTimeout,
    /// 500 from the broker, never with details.
    Internal,
    /// 503 from the broker: its session store is not reachable (the session is kept; try
    /// again shortly).
    StoreUnavailable,
    /// Client: the request never got an HTTP answer (offline, DNS, CORS, connection reset).
    Network,
    /// Client: its own timeout fired.
    Timeout,
    /// Client: the caller's `AbortSignal` aborted the request.
    Aborted,
    /// Client: the bank answered with an error (passed through by the broker).
    BankError,
    /// Client: an argument was rejected before any request was sent.
    InvalidArgument,
    /// Client: a Mobile BankID login ended without a session.
    LoginFailed,
    /// Client: a payment's Mobile BankID signing ended unsigned.
    ScaFailed,
}

impl Code {
    /// The broker's codes: the `error` values its error body can carry (the first ones of
    /// [`Code::ALL`]).
    pub const BROKER: &'static [Code] = Self::ALL.split_at(11).0;

    /// Every code: the broker's, then the client's own.
    pub const ALL: [Code; 18] = [
        Code::Unauthenticated,
        Code::SessionExpired,
        Code::Csrf,
        Code::RouteNotAllowed,
        Code::BadRequest,
        Code::PayloadTooLarge,
        Code::RateLimited,
        Code::UpstreamUnavailable,
        Code::UpstreamTimeout,
        Code::Internal,
        Code::StoreUnavailable,
        Code::Network,
        Code::Timeout,
        Code::Aborted,
        Code::BankError,
        Code::InvalidArgument,
        Code::LoginFailed,
        Code::ScaFailed,
    ];

    /// The wire and JavaScript form, e.g. `"session_expired"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Code::Unauthenticated => "unauthenticated",
            Code::SessionExpired => "session_expired",
            Code::Csrf => "csrf",
            Code::RouteNotAllowed => "route_not_allowed",
            Code::BadRequest => "bad_request",
            Code::PayloadTooLarge => "payload_too_large",
            Code::RateLimited => "rate_limited",
            Code::UpstreamUnavailable => "upstream_unavailable",
            Code::UpstreamTimeout => "upstream_timeout",
            Code::Internal => "internal",
            Code::StoreUnavailable => "store_unavailable",
            Code::Network => "network",
            Code::Timeout => "timeout",
            Code::Aborted => "aborted",
            Code::BankError => "bank_error",
            Code::InvalidArgument => "invalid_argument",
            Code::LoginFailed => "login_failed",
            Code::ScaFailed => "sca_failed",
        }
    }

    /// The HTTP status the broker answers a broker code with (`bad_request` is 400 for
    /// `/api/` and most else; its own endpoints also use 404, 405 and 408 with it); `None`
    /// for the client's codes.
    pub const fn status(self) -> Option<u16> {
        Some(match self {
            Code::Unauthenticated | Code::SessionExpired => 401,
            Code::Csrf | Code::RouteNotAllowed => 403,
            Code::BadRequest => 400,
            Code::PayloadTooLarge => 413,
            Code::RateLimited => 429,
            Code::UpstreamUnavailable => 502,
            Code::UpstreamTimeout => 504,
            Code::Internal => 500,
            Code::StoreUnavailable => 503,
            _ => return None,
        })
    }

    /// Is this one of the broker's codes.
    pub const fn is_broker(self) -> bool {
        self.status().is_some()
    }

    /// The broker code with this wire form (client-only codes are not broker codes).
    pub fn from_broker(code: &str) -> Option<Code> {
        Self::BROKER.iter().copied().find(|c| c.as_str() == code)
    }

    /// Does this error mean the browser's session is over (the app shows "signed out").
    pub const fn ends_session(self) -> bool {
        matches!(self, Code::Unauthenticated | Code::SessionExpired)
    }
}

/// Header names the broker and the client exchange (lower case, as HTTP/2 sends them).
pub mod header {
    /// The CSRF header every `/api/…` call, `POST /auth/logout` and `/auth/bankid*` call
    /// carries, with the value [`CSRF_VALUE`].
    pub const CSRF: &str = "x-valv-csrf";
    /// The only accepted value of [`CSRF`].
    pub const CSRF_VALUE: &str = "1";
    /// The request id: sent by the client (a UUID), kept by the broker when it is one, on
    /// every answer and every log line.
    pub const REQUEST_ID: &str = "x-request-id";
}

/// `GET /auth/session`: who the browser is signed in as — never a token. Members without a
/// value are left out of the JSON (and optional in its TypeScript type, `ts` feature).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct SessionInfo {
    /// A live session with tokens at the bank.
    pub authenticated: bool,
    /// The provider it is signed in at.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub provider: Option<String>,
    /// The granted scopes.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub scopes: Option<Vec<String>>,
    /// RFC 3339 time the access token expires (the broker refreshes it).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub access_expires_at: Option<String>,
    /// RFC 3339 time the session ends (idle or absolute, whichever is first).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub session_expires_at: Option<String>,
}

/// The `status` of a Mobile BankID login step (`POST /auth/bankid`, `GET /auth/bankid/{id}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BankIdStatus {
    /// Waiting for the person: show the QR code (a new one each poll) or open BankID.
    Pending,
    /// Signed: the answer set the session cookie.
    Complete,
    /// Ended without a session (`hintCode` says why).
    Failed,
}

impl BankIdStatus {
    /// The wire form.
    pub const fn as_str(self) -> &'static str {
        match self {
            BankIdStatus::Pending => "pending",
            BankIdStatus::Complete => "complete",
            BankIdStatus::Failed => "failed",
        }
    }

    /// The status with this wire form.
    pub fn parse(s: &str) -> Option<BankIdStatus> {
        [BankIdStatus::Pending, BankIdStatus::Complete, BankIdStatus::Failed].into_iter().find(|b| b.as_str() == s)
    }
}

/// BankID's link that opens the app on this device for an order's `autoStartToken`:
/// `bankid:///?autostarttoken=<token>&redirect=null`, the token percent-encoded (all but
/// RFC 3986's unreserved characters), so nothing in it can add a parameter. The broker
/// sends it as a BankID login's `autoStartUrl`; the client builds it for a payment's signing.
pub fn bankid_autostart_url(token: &str) -> String {
    let mut url = String::with_capacity(40 + token.len());
    url.push_str("bankid:///?autostarttoken=");
    push_percent_encoded(&mut url, token);
    url.push_str("&redirect=null");
    url
}

/// Appends `s` percent-encoded so it is one path segment or one query value: everything
/// but RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`) becomes `%XX`.
pub fn push_percent_encoded(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_autostart_link_carries_the_token_and_nothing_else() {
        assert_eq!(bankid_autostart_url("8a1b-2c_d.e~f"), "bankid:///?autostarttoken=8a1b-2c_d.e~f&redirect=null");
        assert_eq!(
            bankid_autostart_url("a&redirect=https://evil #x"),
            "bankid:///?autostarttoken=a%26redirect%3Dhttps%3A%2F%2Fevil%20%23x&redirect=null"
        );
        assert_eq!(bankid_autostart_url("ö"), "bankid:///?autostarttoken=%C3%B6&redirect=null");
    }

    #[test]
    fn broker_codes_come_first_and_are_the_ones_with_a_status() {
        assert!(Code::BROKER.iter().all(|c| c.status().is_some()) && Code::ALL[Code::BROKER.len()..].iter().all(|c| c.status().is_none()));
        for (i, c) in Code::ALL.iter().enumerate() {
            assert_eq!(c.is_broker(), i < Code::BROKER.len(), "{}", c.as_str());
            assert_eq!(Code::from_broker(c.as_str()), c.is_broker().then_some(*c));
            assert!(Code::ALL[..i].iter().all(|o| o.as_str() != c.as_str()), "{} twice", c.as_str());
        }
        assert_eq!(Code::from_broker("nope"), None);
        assert!(Code::SessionExpired.ends_session() && !Code::BankError.ends_session());
    }

    #[cfg(feature = "serde")]
    #[test]
    fn a_signed_out_session_is_one_member() {
        assert_eq!(serde_json::to_string(&SessionInfo::default()).ok().as_deref(), Some(r#"{"authenticated":false}"#));
        let s = SessionInfo { authenticated: true, scopes: Some(alloc::vec!["psd2_accounts".into()]), ..SessionInfo::default() };
        assert_eq!(serde_json::to_string(&s).ok().as_deref(), Some(r#"{"authenticated":true,"scopes":["psd2_accounts"]}"#));
    }

    #[test]
    fn bankid_states_round_trip() {
        for s in ["pending", "complete", "failed"] {
            assert_eq!(BankIdStatus::parse(s).map(BankIdStatus::as_str), Some(s));
        }
        assert_eq!(BankIdStatus::parse("PENDING"), None);
    }
}
