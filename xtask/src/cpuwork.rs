//! CPU work per proxied call, counted by callgrind: the instructions the proxy itself
//! executes (every thread, user space) for one 1 KB API call on a kept-alive connection.
//! Unlike requests per second this figure does not move with whatever else the machine is
//! doing, so it shows what a change to the proxy path costs or saves. Baselines: Debian's
//! nginx as a plain proxy with a fixed bearer, and the floor of any hyper-based proxy
//! (`valv-hyper-floor`: hyper's server and client with nothing between), counted the same
//! way in the same run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{ensure, Context, Result};

use crate::procs::{free_port, Daemon, Server};
use crate::tools::BenchTools;

/// One counted system.
#[derive(Debug, Clone)]
pub struct Work {
    /// What was measured.
    pub system: String,
    /// Instructions per call.
    pub per_call: f64,
}

fn valgrind(tools: &BenchTools, out: &Path) -> Command {
    let mut cmd = Command::new(&tools.valgrind);
    cmd.arg("--tool=callgrind").arg("--instr-atstart=no").arg(format!("--callgrind-out-file={}.%p", out.display()));
    cmd
}

fn control(tools: &BenchTools, pid: u32, what: &str) -> Result<()> {
    let status = Command::new(&tools.callgrind_control)
        .args([what, &pid.to_string()])
        .stdout(std::process::Stdio::null())
        .status()
        .context("running callgrind_control")?;
    ensure!(status.success(), "callgrind_control {what} {pid} failed");
    Ok(())
}

/// Sum of the `totals:` lines of the dumps of `pid`.
fn totals(out: &Path, pid: u32) -> Result<u64> {
    let dir = out.parent().context("callgrind output has no directory")?;
    let prefix = format!("{}.{pid}", out.file_name().and_then(|n| n.to_str()).unwrap_or_default());
    let mut sum = 0;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if !path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(&prefix)) {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        for line in text.lines() {
            if let Some(n) = line.strip_prefix("totals:") {
                sum += n.trim().parse::<u64>().unwrap_or(0);
            }
        }
    }
    Ok(sum)
}

/// `calls` GETs of `url` on one kept-alive connection; every answer must be 200.
fn calls(url: &str, headers: &[(&str, &str)], calls: u32) -> Result<()> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    for _ in 0..calls {
        let mut req = agent.get(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut resp = req.call()?;
        let status = resp.status();
        let _ = resp.body_mut().read_to_vec()?;
        ensure!(status == 200, "{url} answered {status}");
    }
    Ok(())
}

/// Counts the instructions `pid` executes while it serves `n` calls of `url`.
fn count(tools: &BenchTools, out: &Path, pid: u32, url: &str, headers: &[(&str, &str)], n: u32) -> Result<f64> {
    calls(url, headers, 20)?;
    control(tools, pid, "--instr=on")?;
    calls(url, headers, n)?;
    control(tools, pid, "--instr=off")?;
    control(tools, pid, "--dump")?;
    std::thread::sleep(Duration::from_millis(300));
    let total = totals(out, pid)?;
    ensure!(total > 0, "callgrind counted nothing for pid {pid}");
    Ok(total as f64 / f64::from(n))
}

/// nginx as a plain proxy (one worker, no master, under valgrind) in front of `bank`.
pub fn nginx(tools: &BenchTools, dir: &Path, bank: u16, path: &str, n: u32) -> Result<Work> {
    let port = free_port()?;
    let conf = crate::proxybench::nginx_proxy_conf(dir, "proxy-cg", port, bank, true);
    let conf_path = dir.join("proxy-cg.conf");
    std::fs::write(&conf_path, conf)?;
    let out = dir.join("callgrind-nginx.out");
    let mut cmd = valgrind(tools, &out);
    cmd.arg(&tools.nginx).arg("-e").arg(dir.join("proxy-cg-error.log")).arg("-c").arg(&conf_path);
    let daemon = Daemon::start("nginx under callgrind", cmd, &dir.join("proxy-cg.log"), port)?;
    let per_call = count(tools, &out, daemon.pid(), &format!("http://127.0.0.1:{port}{path}"), &[], n)?;
    Ok(Work { system: "nginx plain proxy".into(), per_call })
}

/// `valv-hyper-floor` (hyper's server and client, nothing between) in front of `bank`.
pub fn floor(tools: &BenchTools, floor_bin: &Path, dir: &Path, bank: u16, path: &str, n: u32) -> Result<Work> {
    let port = free_port()?;
    let out = dir.join("callgrind-floor.out");
    let mut cmd = valgrind(tools, &out);
    cmd.arg(floor_bin).arg(port.to_string()).arg(bank.to_string());
    let daemon = Daemon::start("valv-hyper-floor under callgrind", cmd, &dir.join("floor-cg.log"), port)?;
    let per_call = count(tools, &out, daemon.pid(), &format!("http://127.0.0.1:{port}{path}"), &[], n)?;
    Ok(Work { system: "hyper floor (hyper server + client, nothing else)".into(), per_call })
}

/// The broker (its `config`, already logged-in session via `login`) under valgrind.
pub fn broker(tools: &BenchTools, broker_bin: &Path, config: &Path, secret: (&str, &str), path: &str, n: u32) -> Result<Work> {
    let out = scratch_out(config, "callgrind-broker.out");
    let mut cmd = valgrind(tools, &out);
    cmd.arg(broker_bin).arg("--config").arg(config).env(secret.0, secret.1);
    let server = Server::start("bench-broker-callgrind", cmd)?;
    let cookie = crate::proxybench::login_cookie(&crate::proxybench::agent(), &server.url)?;
    let url = format!("{}/api/seb{path}", server.url);
    let per_call = count(tools, &out, server.pid(), &url, &[("cookie", &cookie), ("x-valv-csrf", "1")], n)?;
    Ok(Work { system: "Valv, memory store".into(), per_call })
}

fn scratch_out(config: &Path, name: &str) -> PathBuf {
    config.parent().map_or_else(|| PathBuf::from(name), |d| d.join(name))
}
