//! The classification of failed responses (pure logic, no JS); the codes themselves are the
//! wire contract's ([`valv_wire::Code`]).

/// The `code` of a `ValvError`: the broker's error codes plus the client's own, from the
/// wire contract both sides use.
pub use valv_wire::Code as ErrorCode;

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
