//! `waitForPayment` logic: which statuses are final and how the polling interval grows
//! (pure logic, no JS).

use valv_psd2::{ScaStatus, TransactionStatus};

/// `true` when a payment's `transactionStatus` will not change any more
/// (`ACCC`, `ACSC`, `RJCT`, `CANC`; see `valv_psd2::TransactionStatus::is_final`).
/// Unknown values are not final.
pub fn is_final_payment_status(status: &str) -> bool {
    TransactionStatus::from(status).is_final()
}

/// `true` when an authorisation's `scaStatus` will not change any more
/// (`finalised`, `failed`, `exempted`).
pub fn is_final_sca_status(status: &str) -> bool {
    ScaStatus::from(status).is_final()
}

/// The next polling interval: 1.5 × the current one, at most `max_ms`.
pub fn next_interval(current_ms: f64, max_ms: f64) -> f64 {
    (current_ms * 1.5).min(max_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_payment_statuses() {
        for s in ["ACSC", "ACCC", "RJCT", "CANC"] {
            assert!(is_final_payment_status(s), "{s}");
        }
        for s in ["RCVD", "ACTC", "PDNG", "ACSP", "ACCP", "PATC", "acsc", "", "NEW"] {
            assert!(!is_final_payment_status(s), "{s}");
        }
    }

    #[test]
    fn final_sca_statuses() {
        for s in ["finalised", "failed", "exempted"] {
            assert!(is_final_sca_status(s), "{s}");
        }
        for s in ["received", "started", "scaMethodSelected", "FINALISED"] {
            assert!(!is_final_sca_status(s), "{s}");
        }
    }

    #[test]
    fn intervals_grow_to_the_cap() {
        assert_eq!(next_interval(1000.0, 10_000.0), 1500.0);
        assert_eq!(next_interval(8000.0, 10_000.0), 10_000.0);
        assert_eq!(next_interval(10_000.0, 10_000.0), 10_000.0);
    }
}
