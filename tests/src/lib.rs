//! Shared helpers for Valv's end-to-end tests: real `valv-sandbox`, `valv-broker`,
//! `redis-server` and headless Chromium processes on loopback ports.
//!
//! - [`process`]: find binaries and tools (`VALV_BIN_DIR`, `VALV_CHROMEDRIVER`,
//!   `VALV_CHROMIUM`, `VALV_REDIS_SERVER`, else the test build's own profile directory — wherever
//!   `CARGO_TARGET_DIR` put it — and `PATH`), start a process,
//!   wait for its ready line, log to `target/e2e-logs/<name>-<n>.log`, SIGINT on drop.
//! - [`stack`]: the sandbox bank plus N broker replicas sharing one store.
//! - [`agent`]: a cookie-keeping HTTP client that walks the login like a browser.
//! - [`browser`]: a ChromeDriver session with headless Chromium.
//! - [`redis`]: a throw-away Redis server and a RESP reader for scanning it.
//!
//! A missing binary or tool makes the test fail with a message naming what to build or
//! install; nothing is skipped silently.

pub mod agent;
pub mod browser;
pub mod process;
pub mod redis;
pub mod stack;

pub use agent::{Agent, Body, LoginTrace, Reply};
pub use browser::Browser;
pub use process::Process;
pub use redis::RedisServer;
pub use stack::{concurrent_gets, ensure_all_status, find_secrets, Stack, Store, PERSON};
