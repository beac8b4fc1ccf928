//! Valv's backend-for-frontend: the only holder of client secrets and tokens.
//!
//! Module ownership while the broker is being built (see `broker/INTERFACES.md`):
//! `config`, `secret`, `tls`, `vault`, `store` are the foundation; `app`, `auth`, `proxy`,
//! `refresh`, `error`, `metrics`, `session` are the HTTP side.

pub mod config;
pub mod secret;
pub mod store;
pub mod tls;
pub mod vault;
