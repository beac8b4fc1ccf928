//! Running commands, and the background servers of the demo, the cluster and the benches
//! (testkit's `Process`, in this process's group).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};
pub use valv_testkit::process::free_port;
use valv_testkit::process::{Group, Process, Ready};

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

/// A server started in the background (in this process's group, so a terminal's Ctrl-C
/// reaches it too); stopped (SIGINT, then SIGKILL) when dropped.
pub struct Server {
    process: Process,
    /// The `http://…` address it printed when it started listening.
    pub url: String,
}

impl Server {
    /// Starts `cmd`, sends its output to `target/xtask/logs/{name}.log`, and waits (up to a
    /// minute) for a line containing `listening on http://ADDR`.
    pub fn start(name: &str, cmd: Command) -> Result<Server> {
        let log = crate::target_dir().join("xtask/logs").join(format!("{name}.log"));
        let process = Process::start(name, cmd, &log, Ready::Line("listening on http://"), Group::Caller)?;
        let addr = process.listening_addr().with_context(|| format!("{name} printed no address: {:?}", process.ready_line()))?;
        let url = format!("http://{addr}");
        crate::note(&format!("{name} listening on {url} (log: {})", log.display()));
        Ok(Server { process, url })
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Its resident memory now, in bytes.
    pub fn rss(&self) -> Option<u64> {
        self.process.rss()
    }

    /// The last lines of its log, for failure messages.
    pub fn log_tail(&self) -> String {
        format!("--- last lines of {} ---\n{}", self.process.log_path().display(), self.process.log_tail())
    }

    /// Waits for the server to exit on its own (the demo: Ctrl-C reaches it too).
    pub fn wait(&mut self, limit: Duration) {
        self.process.wait_exit(limit);
    }
}

/// A child process (nginx, HAProxy, redis-server) ready when its port accepts connections;
/// stopped when dropped.
pub struct Daemon(Process);

impl Daemon {
    /// Starts `cmd` with output to `log` and waits until `port` accepts connections.
    pub fn start(name: &'static str, cmd: Command, log: &Path, port: u16) -> Result<Daemon> {
        Ok(Daemon(Process::start(name, cmd, log, Ready::Port(port), Group::Caller)?))
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.0.pid()
    }
}
