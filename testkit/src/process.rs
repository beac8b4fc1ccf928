//! Child processes of the test suites, the benches and `cargo xtask`: started with their
//! output kept in a log file, ready when they print a given line or accept connections on
//! their port, stopped (SIGINT, then SIGKILL) when dropped.

use std::fs::File;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};

/// How long a process may take to be ready.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a process may take to exit after SIGINT before it is killed.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// A port that was free a moment ago on 127.0.0.1 (bind port 0, read it, release it), for a
/// process whose port must be known before it starts.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0 to find a free port")?;
    Ok(listener.local_addr()?.port())
}

/// When a started process counts as ready.
#[derive(Debug, Clone, Copy)]
pub enum Ready<'a> {
    /// It printed a line (stdout or stderr) containing this text.
    Line(&'a str),
    /// It accepts TCP connections on this loopback port.
    Port(u16),
}

/// Which process group the child runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// A group of its own: signals reach everything it started, a terminal's Ctrl-C does
    /// not (tests, which stop what they start).
    Own,
    /// The caller's: a terminal's Ctrl-C reaches it as it reaches the caller (`cargo xtask
    /// demo`, which a person stops).
    Caller,
}

/// A running child process; stopped when dropped.
#[derive(Debug)]
pub struct Process {
    name: String,
    child: Child,
    log: PathBuf,
    ready_line: String,
    group: Group,
    stopped: Option<ExitStatus>,
}

impl Process {
    /// Starts `cmd` with its stdout and stderr going to `log` (created anew, first line the
    /// command without its environment, which may carry a secret) and waits up to
    /// [`START_TIMEOUT`] until it is `ready`. Fails with the log's tail when it exits first or
    /// is not ready in time.
    pub fn start(name: &str, mut cmd: Command, log: &Path, ready: Ready<'_>, group: Group) -> Result<Process> {
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let file = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        {
            let mut header = file.try_clone()?;
            let args: Vec<String> = cmd.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
            writeln!(header, "# {} {}", cmd.get_program().to_string_lossy(), args.join(" "))?;
        }
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        if group == Group::Own {
            cmd.process_group(0);
        }
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
                // Bytes, not `lines()`: a line that is not UTF-8 must not stop the reading
                // (the child would then write into a closed pipe). One write per line keeps
                // stdout's and stderr's lines whole in the log.
                let mut reader = BufReader::new(stream);
                let mut buf = Vec::new();
                while matches!(reader.read_until(b'\n', &mut buf), Ok(n) if n > 0) {
                    if !buf.ends_with(b"\n") {
                        buf.push(b'\n');
                    }
                    let _ = out.write_all(&buf);
                    let _ = tx.send(String::from_utf8_lossy(&buf[..buf.len() - 1]).into_owned());
                    buf.clear();
                }
            });
        }
        drop(tx);
        let mut process = Process { name: name.to_owned(), child, log: log.to_path_buf(), ready_line: String::new(), group, stopped: None };
        let deadline = Instant::now() + START_TIMEOUT;
        let mut output_open = true;
        loop {
            if let Some(status) = process.child.try_wait()? {
                process.stopped = Some(status);
                // Its last words into the log before the log is quoted.
                let drained = Instant::now();
                while output_open && drained.elapsed() < Duration::from_secs(1) {
                    output_open = !matches!(rx.recv_timeout(Duration::from_millis(50)), Err(mpsc::RecvTimeoutError::Disconnected));
                }
                bail!("{name} exited ({status}) before it was ready ({ready:?}); log {}:\n{}", log.display(), process.log_tail());
            }
            if let Ready::Port(port) = ready {
                // Checked after `try_wait`: a daemon that could not bind its port has exited,
                // and whatever answers there is not it.
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    break;
                }
            }
            if Instant::now() >= deadline {
                bail!("{name} was not ready ({ready:?}) within {START_TIMEOUT:?}; log {}:\n{}", log.display(), process.log_tail());
            }
            let wait = match ready {
                Ready::Line(_) => Duration::from_millis(200),
                Ready::Port(_) => Duration::from_millis(20),
            };
            if !output_open {
                // Its output is closed but it runs: only a port (or its exit) can tell more.
                if let Ready::Line(marker) = ready {
                    bail!("{name} closed its output without printing {marker:?}; log {}:\n{}", log.display(), process.log_tail());
                }
                std::thread::sleep(wait);
                continue;
            }
            match rx.recv_timeout(wait) {
                Ok(line) => {
                    if let Ready::Line(marker) = ready {
                        if line.contains(marker) {
                            process.ready_line = line;
                            break;
                        }
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    // Both pipes closed: usually the exit, which `try_wait` sees shortly.
                    output_open = false;
                    let closed = Instant::now();
                    while closed.elapsed() < Duration::from_secs(1) && matches!(process.child.try_wait(), Ok(None)) {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                }
            }
        }
        // Keep draining the pipes so the child never blocks on a full pipe.
        std::thread::spawn(move || while rx.recv().is_ok() {});
        Ok(process)
    }

    /// The line that said it was ready ([`Ready::Line`]; empty for [`Ready::Port`]).
    pub fn ready_line(&self) -> &str {
        &self.ready_line
    }

    /// The `ADDR` of a `… listening on http://ADDR` ready line.
    pub fn listening_addr(&self) -> Option<&str> {
        let rest = self.ready_line.split("listening on http://").nth(1)?;
        let addr = rest.split_whitespace().next().unwrap_or_default().trim_end_matches('/');
        (!addr.is_empty()).then_some(addr)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its resident memory now (`VmRSS` of `/proc/PID/status`), in bytes.
    pub fn rss(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kb| kb * 1024)
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

    /// Sends `signal` (`"-STOP"`, `"-CONT"`, `"-KILL"`, …) to the process (its group, when it
    /// has its own).
    pub fn signal(&self, signal: &str) {
        if self.stopped.is_some() {
            // Reaped: the pid may belong to another process by now.
            return;
        }
        let target = match self.group {
            Group::Own => format!("-{}", self.child.id()),
            Group::Caller => self.child.id().to_string(),
        };
        let _ = Command::new("kill").args([signal, "--", &target]).stdout(Stdio::null()).stderr(Stdio::null()).status();
    }

    /// Kills it with SIGKILL (a crash) and reaps it.
    pub fn kill(&mut self) -> Result<ExitStatus> {
        if let Some(status) = self.stopped {
            return Ok(status);
        }
        self.signal("-KILL");
        let status = self.child.wait()?;
        self.stopped = Some(status);
        Ok(status)
    }

    /// Whether it has exited.
    pub fn has_exited(&mut self) -> bool {
        self.stopped.is_some() || matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Waits up to `limit` for it to exit by itself; `true` if it did.
    pub fn wait_exit(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if self.has_exited() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGINT and waits up to [`STOP_TIMEOUT`] for the exit; kills it if it is still
    /// running then (and says so). Returns the exit status (idempotent).
    pub fn stop(&mut self) -> Result<ExitStatus> {
        if let Some(status) = self.stopped {
            return Ok(status);
        }
        if let Some(status) = self.child.try_wait()? {
            self.stopped = Some(status);
            return Ok(status);
        }
        self.signal("-INT");
        // A process a test paused (SIGSTOP) gets the signal when it runs again.
        self.signal("-CONT");
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                self.stopped = Some(status);
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.signal("-KILL");
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

#[cfg(test)]
mod tests {
    use super::*;

    fn log(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("valv-testkit-{}-{name}.log", std::process::id()))
    }

    #[test]
    fn ready_on_a_line_kept_in_the_log_and_stopped_on_drop() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo starting; echo 'listening on http://127.0.0.1:9/ now' >&2; exec sleep 30"]);
        let path = log("line");
        let mut p = Process::start("sh", cmd, &path, Ready::Line("listening on"), Group::Own).unwrap();
        assert_eq!(p.listening_addr(), Some("127.0.0.1:9"));
        assert!(!p.has_exited());
        let status = p.stop().unwrap();
        assert!(!status.success(), "ended by SIGINT");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# sh -c ") && text.contains("starting"), "{text}");
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn ready_when_its_port_accepts_connections() {
        let port = free_port().unwrap();
        let mut cmd = Command::new("python3");
        cmd.args([
            "-c",
            &format!("import socket,time; time.sleep(0.3); s=socket.socket(); s.bind(('127.0.0.1',{port})); s.listen(); time.sleep(30)"),
        ]);
        let path = log("port");
        let started = Instant::now();
        let p = Process::start("listener", cmd, &path, Ready::Port(port), Group::Caller).unwrap();
        assert!(started.elapsed() >= Duration::from_millis(300), "not ready before it listened");
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        drop(p);
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "stopped on drop");
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn a_process_that_exits_before_it_is_ready_fails_with_its_log() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo 'config error: no such file' >&2; exit 3"]);
        let path = log("exit");
        let err = Process::start("broken", cmd, &path, Ready::Line("listening"), Group::Own).unwrap_err().to_string();
        assert!(err.contains("broken exited") && err.contains("config error: no such file"), "{err}");
        let port = free_port().unwrap();
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "exit 4"]);
        let err = Process::start("gone", cmd, &path, Ready::Port(port), Group::Own).unwrap_err().to_string();
        assert!(err.contains("gone exited"), "{err}");
        let _ = std::fs::remove_file(path);
    }
}
