//! Child processes: find the binaries and tools, and start them (testkit's [`Process`]) with
//! a log file each under `target/e2e-logs/`.

use std::fs::OpenOptions;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{anyhow, bail, Context as _, Result};
pub use valv_testkit::process::{free_port, Process, START_TIMEOUT, STOP_TIMEOUT};
use valv_testkit::process::{Group, Ready};

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(".."))
}

/// The directory cargo put this build's binaries in: the test executable's own
/// (`<target>/<profile>/deps/…` → `<target>/<profile>`), so it is right whatever
/// `CARGO_TARGET_DIR`, cargo config or working directory placed it.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().ok();
    let deps = exe.as_deref().and_then(Path::parent);
    match deps {
        Some(d) if d.file_name().is_some_and(|n| n == "deps") => d.parent().map(Path::to_path_buf).unwrap_or_else(|| d.to_path_buf()),
        Some(d) => d.to_path_buf(),
        None => workspace_root().join("target").join("debug"),
    }
}

/// Cargo's target directory (the parent of [`profile_dir`]).
pub fn target_dir() -> PathBuf {
    let profile = profile_dir();
    profile.parent().map(Path::to_path_buf).unwrap_or(profile)
}

/// Where process logs go: `target/e2e-logs/`.
pub fn log_dir() -> PathBuf {
    target_dir().join("e2e-logs")
}

/// One of the workspace's binaries (`valv-broker`, `valv-sandbox`) from `VALV_BIN_DIR`, else
/// from this build's [`profile_dir`]. A missing binary is an error that says how to build it.
pub fn workspace_bin(name: &str) -> Result<PathBuf> {
    let dir = match std::env::var_os("VALV_BIN_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => profile_dir(),
    };
    let path = dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        bail!(
            "{} not found: build it first with `cargo build -p {name}` (or `cargo build --workspace --bins`), \
             or point VALV_BIN_DIR at the directory that holds it",
            path.display()
        )
    }
}

/// An external tool: the path in the environment variable `env`, else the first of
/// `candidates` found on `PATH`. A missing tool is an error naming what to install.
pub fn tool(env: &str, candidates: &[&str], install_hint: &str) -> Result<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        let path = PathBuf::from(path);
        if path.is_file() {
            return Ok(path);
        }
        bail!("{env}={} does not exist: {install_hint}", path.display());
    }
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path_var) {
        for name in candidates {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    bail!("none of {candidates:?} found on PATH and {env} is not set: {install_hint}")
}

/// Starts `cmd` in its own process group with stdout and stderr going to a new
/// `target/e2e-logs/<name>-<n>.log`, and waits (up to [`START_TIMEOUT`]) for a stdout or
/// stderr line that contains `ready_marker`. Fails with the log's tail when the process
/// exits or stays silent.
pub fn start(name: &str, cmd: Command, ready_marker: &str) -> Result<Process> {
    let log = new_log_file(name)?;
    let process = Process::start(name, cmd, &log, Ready::Line(ready_marker), Group::Own)?;
    // Shown with a failing test's output: where to look.
    eprintln!("{name} (pid {}) ready; log {}", process.pid(), log.display());
    Ok(process)
}

/// Starts a server whose ready line is `… listening on http://ADDR` and returns it with
/// the address it printed.
pub fn start_listening(name: &str, cmd: Command) -> Result<(Process, SocketAddr)> {
    let process = start(name, cmd, "listening on http://")?;
    let addr = process.listening_addr().ok_or_else(|| anyhow!("{name}: no address in {:?}", process.ready_line()))?;
    let addr = addr.parse().with_context(|| format!("{name}: bad address in {:?}", process.ready_line()))?;
    Ok((process, addr))
}

/// Picks `target/e2e-logs/<name>-<n>.log` with the first free `n` (creating it, so that two
/// tests starting at once do not pick the same).
fn new_log_file(name: &str) -> Result<PathBuf> {
    let dir = log_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for n in 0..100_000u32 {
        let path = dir.join(format!("{name}-{n}.log"));
        match OpenOptions::new().append(true).create_new(true).open(&path) {
            Ok(_) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
        }
    }
    bail!("no free log file name for {name} in {}", dir.display())
}
