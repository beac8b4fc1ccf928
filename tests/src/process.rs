//! Child processes: find the binaries and tools, start them on loopback, wait until they are
//! ready, keep their output in a log file, stop them with SIGINT on drop.

use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};

/// How long a process may take to say it is ready.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a process may take to exit after SIGINT before it is killed.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(15);

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

/// A port that was free a moment ago on 127.0.0.1 (bind port 0, read it, release it). For
/// processes whose port must be known before they start (the broker, whose callback URL is
/// registered at the bank first).
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0 to find a free port")?;
    Ok(listener.local_addr()?.port())
}

/// A running child process; stopped (SIGINT, then SIGKILL) when dropped.
#[derive(Debug)]
pub struct Process {
    name: String,
    child: Child,
    log: PathBuf,
    ready_line: String,
    stopped: Option<ExitStatus>,
}

impl Process {
    /// Starts `cmd` in its own process group with stdout and stderr going to a new
    /// `target/e2e-logs/<name>-<n>.log`, and waits (up to [`START_TIMEOUT`]) for a stdout or
    /// stderr line that contains `ready_marker`. Fails with the log's tail when the process
    /// exits or stays silent.
    pub fn start(name: &str, mut cmd: Command, ready_marker: &str) -> Result<Process> {
        let (log, file) = new_log_file(name)?;
        {
            let mut header = file.try_clone()?;
            // Program and arguments only: the environment may carry a secret.
            let args: Vec<String> = cmd.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
            writeln!(header, "# {} {}", cmd.get_program().to_string_lossy(), args.join(" "))?;
        }
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
        let mut child = cmd.spawn().with_context(|| format!("starting {name} ({})", cmd.get_program().to_string_lossy()))?;
        let (tx, rx) = mpsc::channel::<String>();
        let streams: [Option<Box<dyn std::io::Read + Send>>; 2] = [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child.stderr.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ];
        for stream in streams.into_iter().flatten() {
            let mut out = file.try_clone()?;
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    let _ = writeln!(out, "{line}");
                    let _ = tx.send(line);
                }
            });
        }
        drop(tx);
        let mut process = Process { name: name.to_owned(), child, log, ready_line: String::new(), stopped: None };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.contains(ready_marker) => {
                    process.ready_line = line;
                    // Shown with a failing test's output: where to look.
                    eprintln!("{name} (pid {}) ready; log {}", process.child.id(), process.log.display());
                    // Keep draining the pipes so the child never blocks on a full pipe.
                    std::thread::spawn(move || while rx.recv().is_ok() {});
                    return Ok(process);
                }
                Ok(_) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    bail!(
                        "{name} did not print {ready_marker:?} within {START_TIMEOUT:?}; log {}:\n{}",
                        process.log.display(),
                        process.log_tail()
                    )
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = process.child.wait().ok();
                    process.stopped = status;
                    bail!(
                        "{name} exited ({status:?}) before printing {ready_marker:?}; log {}:\n{}",
                        process.log.display(),
                        process.log_tail()
                    )
                }
            }
        }
    }

    /// Starts a server whose ready line is `… listening on http://ADDR` and returns it with
    /// the address it printed.
    pub fn start_listening(name: &str, cmd: Command) -> Result<(Process, SocketAddr)> {
        let process = Process::start(name, cmd, "listening on http://")?;
        let addr = process.listening_addr()?;
        Ok((process, addr))
    }

    /// The address in a `listening on http://ADDR` ready line.
    pub fn listening_addr(&self) -> Result<SocketAddr> {
        let rest = self
            .ready_line
            .split("listening on http://")
            .nth(1)
            .ok_or_else(|| anyhow!("{}: no address in {:?}", self.name, self.ready_line))?;
        let addr = rest.split_whitespace().next().unwrap_or_default().trim_end_matches('/');
        addr.parse().with_context(|| format!("{}: bad address in {:?}", self.name, self.ready_line))
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The log file (stdout and stderr).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The whole log so far (lossy UTF-8).
    pub fn log_text(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.log).unwrap_or_default()).into_owned()
    }

    /// The last 40 lines of the log.
    pub fn log_tail(&self) -> String {
        let text = self.log_text();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Sends `signal` (`"-STOP"`, `"-CONT"`, `"-KILL"`, …) to the process group.
    pub fn signal(&self, signal: &str) {
        signal_group(self.child.id(), signal);
    }

    /// Kills the process group with SIGKILL (a crash) and reaps it.
    pub fn kill(&mut self) -> Result<ExitStatus> {
        if let Some(status) = self.stopped {
            return Ok(status);
        }
        signal_group(self.child.id(), "-KILL");
        let status = self.child.wait()?;
        self.stopped = Some(status);
        Ok(status)
    }

    /// Whether the process has exited.
    pub fn has_exited(&mut self) -> bool {
        self.stopped.is_some() || matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Sends SIGINT to the process group and waits up to [`STOP_TIMEOUT`] for the exit; kills
    /// it if it is still running then. Returns the exit status (idempotent).
    pub fn stop(&mut self) -> Result<ExitStatus> {
        if let Some(status) = self.stopped {
            return Ok(status);
        }
        if let Some(status) = self.child.try_wait()? {
            self.stopped = Some(status);
            return Ok(status);
        }
        signal_group(self.child.id(), "-INT");
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                self.stopped = Some(status);
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        signal_group(self.child.id(), "-KILL");
        let _ = self.child.kill();
        let status = self.child.wait()?;
        self.stopped = Some(status);
        bail!("{} did not exit within {STOP_TIMEOUT:?} of SIGINT and was killed; log {}", self.name, self.log.display())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            eprintln!("{e:#}");
        }
    }
}

/// `kill -SIG -- -PGID` (the process started its own group).
fn signal_group(pid: u32, signal: &str) {
    let _ = Command::new("kill").args([signal, "--", &format!("-{pid}")]).stdout(Stdio::null()).stderr(Stdio::null()).status();
}

/// Creates `target/e2e-logs/<name>-<n>.log` with the first free `n`.
fn new_log_file(name: &str) -> Result<(PathBuf, File)> {
    let dir = log_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for n in 0..100_000u32 {
        let path = dir.join(format!("{name}-{n}.log"));
        match OpenOptions::new().append(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
        }
    }
    bail!("no free log file name for {name} in {}", dir.display())
}
