//! Valv browser library: typed SEB PSD2 calls from a single-page app through the Valv
//! broker, with the session cookie and the `X-Valv-CSRF` header — never a token in
//! JavaScript.
//!
//! The JavaScript surface is the [`Valv`] class (see `README.md` for the npm users'
//! guide). The logic that needs no browser lives in plain modules with native tests:
//! [`paths`] (URL building, `_links.next` resolution), [`validate`] (argument checks),
//! [`retry`] (which requests are retried and how long to wait), [`error`] (whose error a
//! failed answer is; the codes are the wire contract's, `valv_wire::Code`), [`poll`] (final
//! payment statuses) and [`bankid`] (BankID's texts and the QR code). The browser side is in
//! `web/`, one module per concern.
//!
//! ```
//! use valv_client::{paths, retry::{Outcome, RetryPolicy}};
//!
//! let next = paths::resolve_next(paths::AIS, "/accounts/a1/transactions?transactionSequenceNumber=2");
//! assert_eq!(next.unwrap(), "/ais/v7/identified2/accounts/a1/transactions?transactionSequenceNumber=2");
//!
//! let policy = RetryPolicy::default();
//! // A payment is never sent twice, even after a 503.
//! assert_eq!(policy.delay_ms("POST", "/pis/v7/identified2/payments/sepa-credit-transfers",
//!                            Outcome::Status(503), 0, None, 0.5), None);
//! ```

pub mod bankid;
pub mod error;
pub mod options;
pub mod paths;
pub mod poll;
pub mod retry;
pub mod validate;
mod web;

pub use web::{TransactionPages, Valv};

// Talc instead of the standard library's dlmalloc: the same job in about a quarter of the
// bytes (the browser downloads the allocator with the client), and faster.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
