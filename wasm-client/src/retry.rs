//! When to retry a request and how long to wait (pure logic, no JS).
//!
//! Only idempotent requests are retried, and never anything under the payment
//! initiation API (`/pis/`) except reads: a payment must not be sent twice.

/// How one attempt ended, as far as the retry decision cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// No HTTP answer (fetch rejected).
    NetworkError,
    /// The client's own timeout fired.
    Timeout,
    /// The caller aborted.
    Aborted,
    /// An HTTP answer with this status.
    Status(u16),
}

/// Retry settings of a `Valv` instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 = never retry).
    pub retries: u32,
    /// Backoff before the first retry, in milliseconds (doubles per retry).
    pub base_delay_ms: u32,
    /// Longest backoff, in milliseconds.
    pub max_delay_ms: u32,
    /// Longest `Retry-After` the client waits for; a longer one is not retried.
    pub max_retry_after_ms: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { retries: 2, base_delay_ms: 250, max_delay_ms: 8_000, max_retry_after_ms: 30_000 }
    }
}

/// `true` when a request with this method and API path may be sent again.
///
/// `GET`, `HEAD` and `OPTIONS` always; `PUT` and `DELETE` unless under `/pis/`
/// (payments); `POST` and `PATCH` never.
pub fn is_retryable_request(method: &str, path: &str) -> bool {
    let m = method.as_bytes();
    if m.eq_ignore_ascii_case(b"GET") || m.eq_ignore_ascii_case(b"HEAD") || m.eq_ignore_ascii_case(b"OPTIONS") {
        return true;
    }
    (m.eq_ignore_ascii_case(b"PUT") || m.eq_ignore_ascii_case(b"DELETE")) && !path.starts_with("/pis/")
}

/// `true` for outcomes worth another try: network errors, 429, 502, 503, 504.
/// Timeouts are not retried: the timeout bounds each call as the caller configured it.
pub fn is_retryable_outcome(outcome: Outcome) -> bool {
    matches!(outcome, Outcome::NetworkError | Outcome::Status(429 | 502 | 503 | 504))
}

/// Parses a `Retry-After` header given in seconds (HTTP dates are not honoured:
/// the normal backoff is used instead). Returns milliseconds.
pub fn parse_retry_after(value: &str) -> Option<u32> {
    let v = value.trim();
    if v.is_empty() || v.len() > 9 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse::<u32>().ok().map(|s| s.saturating_mul(1000))
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0-based), or `None` when the request must
    /// not be retried. `random` is uniform in `[0, 1)` and spreads the waits ("equal
    /// jitter": half the exponential delay plus a random part of the other half).
    /// A `Retry-After` (ms) is honoured as a lower bound when it is within
    /// [`RetryPolicy::max_retry_after_ms`].
    pub fn delay_ms(
        &self,
        method: &str,
        path: &str,
        outcome: Outcome,
        retry: u32,
        retry_after_ms: Option<u32>,
        random: f64,
    ) -> Option<u32> {
        if retry >= self.retries || !is_retryable_request(method, path) || !is_retryable_outcome(outcome) {
            return None;
        }
        let exp = self.base_delay_ms.saturating_mul(1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX)).min(self.max_delay_ms);
        let random = if random.is_finite() { random.clamp(0.0, 1.0) } else { 0.0 };
        let half = exp / 2;
        // `half` ≤ u32::MAX / 2, so the product fits and the cast truncates safely.
        let jitter = (f64::from(exp - half) * random) as u32;
        let backoff = half + jitter;
        match retry_after_ms {
            Some(ra) if ra > self.max_retry_after_ms => None,
            Some(ra) => Some(ra.max(backoff)),
            None => Some(backoff),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: RetryPolicy = RetryPolicy { retries: 3, base_delay_ms: 200, max_delay_ms: 1_000, max_retry_after_ms: 5_000 };
    const ACCOUNTS: &str = "/ais/v7/identified2/accounts";
    const PAYMENT: &str = "/pis/v7/identified2/payments/sepa-credit-transfers";

    #[test]
    fn only_idempotent_non_payment_requests_are_retried() {
        assert!(is_retryable_request("GET", ACCOUNTS));
        assert!(is_retryable_request("get", PAYMENT));
        assert!(is_retryable_request("HEAD", ACCOUNTS));
        assert!(is_retryable_request("DELETE", "/other/x"));
        assert!(!is_retryable_request("DELETE", PAYMENT));
        assert!(!is_retryable_request("PUT", PAYMENT));
        assert!(!is_retryable_request("POST", ACCOUNTS));
        assert!(!is_retryable_request("POST", PAYMENT));
        assert!(!is_retryable_request("PATCH", ACCOUNTS));
    }

    #[test]
    fn only_transient_outcomes_are_retried() {
        for s in [429, 502, 503, 504] {
            assert!(is_retryable_outcome(Outcome::Status(s)), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 500, 501] {
            assert!(!is_retryable_outcome(Outcome::Status(s)), "{s}");
        }
        assert!(is_retryable_outcome(Outcome::NetworkError));
        assert!(!is_retryable_outcome(Outcome::Timeout));
        assert!(!is_retryable_outcome(Outcome::Aborted));
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let d = |retry, random| P.delay_ms("GET", ACCOUNTS, Outcome::Status(503), retry, None, random);
        assert_eq!(d(0, 0.0), Some(100));
        assert_eq!(d(0, 0.999_999), Some(199));
        assert_eq!(d(1, 0.0), Some(200));
        assert_eq!(d(1, 0.5), Some(300));
        assert_eq!(d(2, 0.0), Some(400));
        assert_eq!(d(2, 1.0), Some(800));
        // retries exhausted
        assert_eq!(d(3, 0.0), None);
        // the cap holds even for huge retry numbers
        let big = RetryPolicy { retries: u32::MAX, ..P };
        let v = big.delay_ms("GET", ACCOUNTS, Outcome::NetworkError, 40, None, 1.0);
        assert_eq!(v, Some(1_000));
        // nonsense randomness does not escape the range
        assert_eq!(d(0, f64::NAN), Some(100));
        assert_eq!(d(0, 7.0), Some(200));
    }

    #[test]
    fn posts_and_permanent_errors_get_no_delay() {
        assert_eq!(P.delay_ms("POST", PAYMENT, Outcome::Status(503), 0, None, 0.5), None);
        assert_eq!(P.delay_ms("POST", PAYMENT, Outcome::NetworkError, 0, None, 0.5), None);
        assert_eq!(P.delay_ms("GET", ACCOUNTS, Outcome::Status(400), 0, None, 0.5), None);
        let none = RetryPolicy { retries: 0, ..P };
        assert_eq!(none.delay_ms("GET", ACCOUNTS, Outcome::Status(503), 0, None, 0.5), None);
    }

    #[test]
    fn retry_after_is_honoured_within_its_limit() {
        assert_eq!(parse_retry_after("2"), Some(2_000));
        assert_eq!(parse_retry_after(" 0 "), Some(0));
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("1.5"), None);
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("99999999999"), None);
        let d = |ra| P.delay_ms("GET", ACCOUNTS, Outcome::Status(429), 0, ra, 0.0);
        assert_eq!(d(Some(2_000)), Some(2_000));
        // a shorter Retry-After never undercuts the backoff
        assert_eq!(d(Some(0)), Some(100));
        // too long: give up rather than hang
        assert_eq!(d(Some(60_000)), None);
    }
}
