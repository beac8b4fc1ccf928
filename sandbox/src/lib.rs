//! An offline bank that behaves like SEB's PSD2 sandbox.
//!
//! Module ownership while the crate is being built (two developers in parallel):
//! - auth side: `lib.rs`, `state.rs`, `config.rs`, `oauth.rs`, `decoupled.rs`, `tokens.rs`,
//!   `controls.rs`, `auth.rs` (the `Psu` extractor), `main.rs`
//! - API side: `bank.rs` (test data and mutable bank state), `ais.rs`, `pis.rs`

pub mod ais;
pub mod auth;
pub mod bank;
pub mod error;
pub mod pis;
pub mod state;
