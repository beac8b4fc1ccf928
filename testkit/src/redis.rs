//! A throw-away `redis-server` as every suite, bench and `cargo xtask cluster` starts one: on
//! loopback, its files in a directory of the caller's, nothing persisted unless asked.

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::Command;

/// What to tell someone whose machine has no `redis-server`.
pub const MISSING: &str = "install Redis (`apt-get install redis-server`) or point VALV_REDIS_SERVER at it";

/// The line `redis-server` logs once it takes connections.
pub const READY: &str = "Ready to accept connections";

/// The `redis-server` to run: `VALV_REDIS_SERVER`, else the one on `PATH`.
pub fn server() -> OsString {
    std::env::var_os("VALV_REDIS_SERVER").unwrap_or_else(|| "redis-server".into())
}

/// The command line of a server on `127.0.0.1:port` with its files in `dir`: no snapshots or
/// append-only file (a `SHUTDOWN SAVE` still writes one, uncompressed, so a test can read
/// what the store holds at rest).
pub fn command(bin: impl AsRef<OsStr>, port: u16, dir: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--rdbcompression", "no"])
        .arg("--dir")
        .arg(dir);
    cmd
}
