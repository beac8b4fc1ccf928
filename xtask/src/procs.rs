//! Running commands and background servers.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};

/// Runs a command to completion, inheriting stdio; fails with the command line when it fails.
pub fn run(cmd: &mut Command) -> Result<()> {
    let line = describe(cmd);
    crate::note(&format!("$ {line}"));
    let status = cmd.status().with_context(|| format!("could not start `{line}`"))?;
    if !status.success() {
        bail!("`{line}` failed ({status})");
    }
    Ok(())
}

/// [`run`], in a process group of its own that is killed afterwards: whatever the command
/// started and left behind (a browser its WebDriver did not close) ends with it.
pub fn run_group(cmd: &mut Command) -> Result<()> {
    use std::os::unix::process::CommandExt as _;
    let line = describe(cmd);
    crate::note(&format!("$ {line}"));
    let mut child = cmd.process_group(0).spawn().with_context(|| format!("could not start `{line}`"))?;
    let status = child.wait().with_context(|| format!("`{line}` could not be waited for"))?;
    // The group's id is the child's pid; `kill` of a group no process is left in fails, harmlessly.
    let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).stderr(Stdio::null()).status();
    if !status.success() {
        bail!("`{line}` failed ({status})");
    }
    Ok(())
}

/// Runs a command and returns its stdout (trimmed), or `None` when it cannot run or fails.
pub fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `program args…` for messages.
pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Builds with `cargo build ARGS --message-format=json-render-diagnostics` and returns the
/// executables cargo reports, by name — wherever `CARGO_TARGET_DIR` puts them.
pub fn cargo_build_bins(args: &[&str]) -> Result<BTreeMap<String, PathBuf>> {
    cargo_executables("build", args, |_| true)
}

/// The workspace's server binaries from the build `cargo test --workspace` makes
/// (`cargo test --workspace --no-run`), by name.
///
/// Every debug build of `cargo xtask` goes through here: `cargo build -p …` would resolve the
/// dependencies' features without the dev-dependencies and so compile and store a second copy
/// of nearly every dependency beside the test build's (twice the disk, twice the time).
pub fn workspace_test_build_bins() -> Result<BTreeMap<String, PathBuf>> {
    cargo_executables("test", &["--workspace", "--no-run"], |msg| msg["profile"]["test"] == false)
}

/// Runs `cargo VERB ARGS --message-format=json-render-diagnostics` and collects the
/// executables of the artifacts `keep` accepts.
fn cargo_executables(verb: &str, args: &[&str], keep: impl Fn(&serde_json::Value) -> bool) -> Result<BTreeMap<String, PathBuf>> {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(crate::root()).arg(verb).args(args).arg("--message-format=json-render-diagnostics");
    crate::note(&format!("$ {}", describe(&cmd)));
    let out = cmd.stderr(Stdio::inherit()).output().with_context(|| format!("running cargo {verb}"))?;
    if !out.status.success() {
        bail!("`{}` failed ({})", describe(&cmd), out.status);
    }
    let mut bins = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if msg["reason"] == "compiler-artifact" && keep(&msg) {
            if let (Some(name), Some(exe)) = (msg["target"]["name"].as_str(), msg["executable"].as_str()) {
                bins.insert(name.to_owned(), PathBuf::from(exe));
            }
        }
    }
    Ok(bins)
}

/// A free loopback port (bound then released; the caller binds it right after).
pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("binding a free port on 127.0.0.1")?;
    Ok(l.local_addr()?.port())
}

/// A server started in the background; stopped (SIGINT, then SIGKILL) when dropped.
pub struct Server {
    name: String,
    child: Child,
    log: PathBuf,
    /// The `http://…` address it printed when it started listening.
    pub url: String,
}

impl Server {
    /// Starts `cmd`, sends its output to `target/xtask/logs/{name}.log`, and waits (up to a
    /// minute) for a stdout line containing `listening on http://ADDR`.
    pub fn start(name: &str, mut cmd: Command) -> Result<Server> {
        let dir = crate::target_dir().join("xtask/logs");
        std::fs::create_dir_all(&dir)?;
        let log = dir.join(format!("{name}.log"));
        let file = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let line = describe(&cmd);
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(file.try_clone()?))
            .spawn()
            .with_context(|| format!("could not start {name}: `{line}`"))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut file = file;
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = writeln!(file, "{line}");
                if let Some(at) = line.find("listening on http://") {
                    if let Some(tx) = tx.take() {
                        let url = line[at + "listening on ".len()..].trim().to_string();
                        let _ = tx.send(url);
                    }
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(url) => {
                    crate::note(&format!("{name} listening on {url} (log: {})", log.display()));
                    return Ok(Server { name: name.into(), child, log, url });
                }
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {
                    if let Some(status) = child.try_wait()? {
                        bail!("{name} exited ({status}) before listening: `{line}`\n{}", tail(&log));
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    bail!("{name} did not print its address within 60 s: `{line}`\n{}", tail(&log));
                }
            }
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its resident memory now (`VmRSS` of `/proc/PID/status`), in bytes.
    pub fn rss(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kb| kb * 1024)
    }

    /// The last lines of its log, for failure messages.
    pub fn log_tail(&self) -> String {
        tail(&self.log)
    }

    /// Waits for the server to exit on its own (the demo: Ctrl-C reaches it too).
    pub fn wait(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // Graceful first: both servers drain and exit on SIGINT.
            let _ = Command::new("kill").args(["-INT", &self.child.id().to_string()]).stderr(Stdio::null()).status();
            self.wait(Duration::from_secs(10));
            if let Ok(None) = self.child.try_wait() {
                eprintln!("    {} did not stop on SIGINT; killing it", self.name);
                let _ = self.child.kill();
            }
        }
        let _ = self.child.wait();
    }
}

/// The last 40 lines of a log file.
pub fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(40);
    format!("--- last lines of {} ---\n{}", path.display(), lines[from..].join("\n"))
}

/// A child process killed on drop (nginx, redis-server).
pub struct Daemon {
    name: &'static str,
    child: Child,
}

impl Daemon {
    /// Starts `cmd` with output to `log` and waits until `port` accepts connections.
    pub fn start(name: &'static str, mut cmd: Command, log: &Path, port: u16) -> Result<Daemon> {
        let file = std::fs::File::create(log)?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::from(file.try_clone()?))
            .stderr(Stdio::from(file))
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        let mut d = Daemon { name, child };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = d.child.try_wait()? {
                bail!("{name} exited ({status}); see {}", log.display());
            }
            ensure!(Instant::now() < deadline, "{name} did not listen on {port} within 20 s; see {}", log.display());
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(d)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("    {} did not stop on SIGTERM; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
