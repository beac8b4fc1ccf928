//! Test persons, their accounts and transactions, payments: the bank's data.

/// The bank's data and mutable state.
#[derive(Debug, Default)]
pub struct Bank {}

impl Bank {
    /// The deterministic bank of the five test persons.
    pub fn new() -> Self {
        Self {}
    }
}
