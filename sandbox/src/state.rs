//! Shared state of the sandbox bank.

use std::sync::Arc;

/// Cheap-to-clone handle to everything the sandbox knows.
#[derive(Clone)]
pub struct SandboxState {
    inner: Arc<Inner>,
}

struct Inner {
    bank: crate::bank::Bank,
}

impl SandboxState {
    /// A fresh sandbox.
    pub fn new() -> Self {
        Self { inner: Arc::new(Inner { bank: crate::bank::Bank::new() }) }
    }

    /// Accounts, transactions, payments: the API side's state.
    pub fn bank(&self) -> &crate::bank::Bank {
        &self.inner.bank
    }
}

impl Default for SandboxState {
    fn default() -> Self {
        Self::new()
    }
}
