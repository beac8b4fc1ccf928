//! Test persons, their accounts and transactions, payments: the bank's data.

/// The bank's data and mutable state.
#[derive(Debug, Default)]
pub struct Bank {}

impl Bank {
    /// The deterministic bank of the five test persons.
    pub fn new() -> Self {
        Self {}
    }

    /// Back to the initial deterministic data (called by `POST /__sandbox/reset`).
    /// Placeholder from the auth side: the API side replaces it when the bank has state.
    pub fn reset(&self) {}
}
