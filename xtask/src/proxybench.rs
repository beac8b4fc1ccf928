//! Proxy overhead, measured with wrk against baselines from the same run: a static nginx
//! "bank" serving SEB-shaped JSON (1 KB accounts, 64 KB transactions) straight, through
//! Debian's nginx as a plain proxy adding a fixed bearer, and through the broker with each
//! store (memory, SQLite, Redis), logged in through the sandbox and pointed at that upstream.

use std::time::Duration;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context, Result};

use crate::procs::{free_port, Daemon, Server};
use crate::tools::BenchTools;
use crate::{note, step};

const PERSON: &str = "9311219639";

/// An HTTP client that follows no redirect and reports every status.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().max_redirects(0).http_status_as_error(false).timeout_global(Some(Duration::from_secs(30))).build().into()
}

/// Cookies the broker set, sent back by hand (the `__Host-` cookie is `Secure`; this is http).
#[derive(Default)]
struct Jar(valv_testkit::CookieJar);

impl Jar {
    fn take(&mut self, resp: &ureq::http::Response<ureq::Body>) -> Result<()> {
        for v in resp.headers().get_all("set-cookie") {
            self.0.take(v.to_str().context("a non-ASCII Set-Cookie")?).map_err(anyhow::Error::msg)?;
        }
        Ok(())
    }
    fn header(&self) -> String {
        self.0.header().unwrap_or_default()
    }
}

fn location(resp: &ureq::http::Response<ureq::Body>) -> Result<String> {
    resp.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .with_context(|| format!("expected a redirect, got {}", resp.status()))
}

/// Logs in through the broker's real flow (the sandbox approves `login_hint` with controls on).
fn login(agent: &ureq::Agent, broker: &str, jar: &mut Jar) -> Result<()> {
    let resp = agent.get(format!("{broker}/auth/login?provider=seb&returnTo=%2F&login_hint={PERSON}")).call()?;
    jar.take(&resp)?;
    let authorize = location(&resp)?;
    let resp = agent.get(&authorize).call()?;
    let callback = location(&resp)?;
    ensure!(callback.contains("/auth/callback"), "the bank did not send us back to the broker: {}", resp.status());
    let resp = agent.get(&callback).header("cookie", jar.header()).call()?;
    jar.take(&resp)?;
    ensure!(resp.status().is_redirection(), "callback answered {}", resp.status());
    let back = location(&resp)?;
    if let Some((_, code)) = back.split_once("valvError=") {
        anyhow::bail!("the login came back with valvError={}", code.split('&').next().unwrap_or(code));
    }
    Ok(())
}

/// Logs in at `broker` (the sandbox approves `login_hint` with its controls on) and returns
/// the `Cookie` header value of the new session.
pub fn login_cookie(agent: &ureq::Agent, broker: &str) -> Result<String> {
    let mut jar = Jar::default();
    login(agent, broker, &mut jar)?;
    Ok(jar.header())
}

/// One measurement: throughput at c=64 and latency at c=1.
#[derive(Debug, Clone, Copy, Default)]
pub struct Figures {
    /// Requests per second with 64 connections.
    pub per_sec: f64,
    /// Median latency with one connection, µs.
    pub p50_us: f64,
    /// 99th percentile latency with one connection, µs.
    pub p99_us: f64,
}

/// How long each wrk run lasts.
pub struct Durations {
    /// Seconds per run.
    pub seconds: u32,
    /// Calls counted under callgrind per system.
    pub counted_calls: u32,
}

/// The two paths of the static bank, as the broker forwards them.
pub const SMALL: &str = "/ais/v7/identified2/accounts";
/// 64 KB of transactions.
pub const LARGE: &str = "/ais/v7/identified2/accounts/bench/transactions";

fn json_of_size(bytes: usize) -> String {
    let mut out = String::from(r#"{"transactions":{"booked":["#);
    let mut i = 0;
    while out.len() + 200 < bytes {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            r#"{{"transactionId":"{i:08}","bookingDate":"2026-11-30","transactionAmount":{{"currency":"SEK","amount":"-{}.{:02}"}},"remittanceInformationUnstructured":"Bench payment {i:06}"}}"#,
            100 + i % 900,
            i % 100
        ));
        i += 1;
    }
    out.push_str("]}}");
    while out.len() < bytes {
        out.insert(out.len() - 2, ' ');
    }
    out
}

/// Starts the static upstream (one nginx worker) on a free port.
pub fn static_bank(tools: &BenchTools, dir: &Path) -> Result<(Daemon, u16)> {
    let root = dir.join("bank");
    std::fs::create_dir_all(&root)?;
    std::fs::write(root.join("accounts.json"), json_of_size(1024).replace("transactions", "accounts"))?;
    std::fs::write(root.join("transactions.json"), json_of_size(64 * 1024))?;
    let port = free_port()?;
    let conf = format!(
        r#"daemon off; master_process off; worker_processes 1; pid {dir}/bank.pid; error_log {dir}/bank-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off; keepalive_requests 1000000; client_body_temp_path {dir}/tmp;
  server {{
    listen 127.0.0.1:{port} reuseport backlog=4096; root {root};
    location = {SMALL} {{ default_type application/json; try_files /accounts.json =404; }}
    location = {LARGE} {{ default_type application/json; try_files /transactions.json =404; }}
  }}
}}
"#,
        dir = dir.display(),
        root = root.display(),
    );
    let path = dir.join("bank.conf");
    std::fs::write(&path, conf)?;
    let mut cmd = Command::new(&tools.nginx);
    cmd.arg("-e").arg(dir.join("bank-error.log")).arg("-c").arg(&path);
    Ok((Daemon::start("nginx (static bank)", cmd, &dir.join("bank.log"), port)?, port))
}

/// The configuration of nginx as a plain reverse proxy to `upstream` that sets a fixed
/// bearer: what a team would put in front of the bank without sessions. `single` runs one
/// process (no master; for callgrind), else one worker per core. Files are named `{name}.*`.
pub fn nginx_proxy_conf(dir: &Path, name: &str, port: u16, upstream: u16, single: bool) -> String {
    let processes = if single { "master_process off; worker_processes 1;" } else { "worker_processes auto;" };
    format!(
        r#"daemon off; {processes} pid {dir}/{name}.pid; error_log {dir}/{name}-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off; keepalive_requests 1000000; client_body_temp_path {dir}/tmp; proxy_temp_path {dir}/tmp;
  upstream bank {{ server 127.0.0.1:{upstream}; keepalive 128; }}
  server {{
    listen 127.0.0.1:{port} reuseport backlog=4096;
    location / {{
      proxy_pass http://bank; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header Authorization "Bearer bench-fixed-token"; proxy_set_header Cookie "";
    }}
  }}
}}
"#,
        dir = dir.display(),
    )
}

/// Starts nginx as a plain reverse proxy to `upstream` ([`nginx_proxy_conf`]).
pub fn nginx_proxy(tools: &BenchTools, dir: &Path, upstream: u16) -> Result<(Daemon, u16)> {
    let port = free_port()?;
    let path = dir.join("proxy.conf");
    std::fs::write(&path, nginx_proxy_conf(dir, "proxy", port, upstream, false))?;
    let mut cmd = Command::new(&tools.nginx);
    cmd.arg("-e").arg(dir.join("proxy-error.log")).arg("-c").arg(&path);
    Ok((Daemon::start("nginx (plain proxy)", cmd, &dir.join("proxy.log"), port)?, port))
}

/// Parses a wrk duration (`123.45us`, `1.20ms`, `2.00s`) into µs.
fn wrk_us(text: &str) -> Option<f64> {
    let t = text.trim();
    let (num, mult) = if let Some(n) = t.strip_suffix("us") {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix("ms") {
        (n, 1000.0)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1_000_000.0)
    } else {
        (t, 1.0)
    };
    num.trim().parse::<f64>().ok().map(|v| v * mult)
}

/// Runs wrk and returns (requests/s, p50 µs, p99 µs, non-2xx count).
fn wrk(tools: &BenchTools, url: &str, headers: &[(&str, &str)], connections: u32, seconds: u32) -> Result<(f64, f64, f64, u64)> {
    let mut cmd = Command::new(&tools.wrk);
    let threads = if connections == 1 { 1 } else { 2 };
    cmd.args(["--latency", "-t", &threads.to_string(), "-c", &connections.to_string(), "-d", &format!("{seconds}s")]);
    for (k, v) in headers {
        cmd.arg("-H").arg(format!("{k}: {v}"));
    }
    cmd.arg(url);
    let out = cmd.output().context("running wrk")?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    ensure!(out.status.success(), "wrk failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    let mut per_sec = None;
    let (mut p50, mut p99) = (None, None);
    let mut non2xx = 0;
    let mut errors = 0;
    for line in text.lines() {
        let l = line.trim();
        if let Some(v) = l.strip_prefix("Requests/sec:") {
            per_sec = v.trim().parse::<f64>().ok();
        } else if let Some(v) = l.strip_prefix("50%") {
            p50 = wrk_us(v);
        } else if let Some(v) = l.strip_prefix("99%") {
            p99 = wrk_us(v);
        } else if let Some(v) = l.strip_prefix("Non-2xx or 3xx responses:") {
            non2xx = v.trim().parse().unwrap_or(0);
        } else if l.starts_with("Socket errors:") {
            errors = l.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse::<u64>().ok()).sum();
        }
    }
    match (per_sec, p50, p99) {
        (Some(r), Some(a), Some(b)) => Ok((r, a, b, non2xx + errors)),
        _ => bail!("could not read wrk's output:\n{text}"),
    }
}

/// Measures `url` (c=64 throughput, c=1 latency); fails when any answer was not 2xx.
pub fn measure(tools: &BenchTools, url: &str, headers: &[(&str, &str)], d: &Durations) -> Result<Figures> {
    // Warm-up: connections, caches, the broker's session cache.
    wrk(tools, url, headers, 8, 1)?;
    let (per_sec, _, _, bad64) = wrk(tools, url, headers, 64, d.seconds)?;
    let (_, p50_us, p99_us, bad1) = wrk(tools, url, headers, 1, d.seconds)?;
    ensure!(bad64 + bad1 == 0, "{url}: {} answers were errors or not 2xx", bad64 + bad1);
    Ok(Figures { per_sec, p50_us, p99_us })
}

const CLIENT_ID: &str = "valv-bench";
const CLIENT_SECRET: &str = "valv-bench-secret";

/// What the proxy benchmark measured.
pub struct Proxy {
    /// `(system, body, figures)`.
    pub rows: Vec<(String, &'static str, Figures)>,
    /// Instructions per 1 KB call, nginx's first.
    pub work: Vec<crate::cpuwork::Work>,
}

/// The whole proxy benchmark.
/// The proxy benchmark; with `rates` off only the CPU work per call is counted.
pub fn run(tools: &BenchTools, bins: &crate::stack::Bins, dir: &Path, d: &Durations, rates: bool) -> Result<Proxy> {
    std::fs::create_dir_all(dir.join("tmp"))?;
    let (_bank, bank_port) = static_bank(tools, dir)?;
    let (_proxy, proxy_port) = nginx_proxy(tools, dir, bank_port)?;
    let api = format!("http://127.0.0.1:{bank_port}");
    let mut rows = Vec::new();
    let bodies = [("1 KB", SMALL), ("64 KB", LARGE)];

    step("Proxy overhead: direct and through nginx (the baselines)");
    for (body, path) in bodies.into_iter().filter(|_| rates) {
        let f = measure(tools, &format!("{api}{path}"), &[("authorization", "Bearer bench-fixed-token")], d)?;
        note(&format!("direct {body}: {f:?}"));
        rows.push(("direct".to_owned(), body, f));
        let f = measure(tools, &format!("http://127.0.0.1:{proxy_port}{path}"), &[], d)?;
        note(&format!("nginx proxy {body}: {f:?}"));
        rows.push(("nginx plain proxy".to_owned(), body, f));
    }
    if let (Some(floor), true) = (&bins.floor, rates) {
        step("Proxy overhead: the hyper floor (hyper's server and client, nothing between)");
        let port = free_port()?;
        let mut cmd = Command::new(floor);
        cmd.arg(port.to_string()).arg(bank_port.to_string());
        let _floor = Daemon::start("valv-hyper-floor", cmd, &dir.join("floor.log"), port)?;
        for (body, path) in bodies {
            let f = measure(tools, &format!("http://127.0.0.1:{port}{path}"), &[], d)?;
            note(&format!("hyper floor {body}: {f:?}"));
            rows.push(("hyper floor".to_owned(), body, f));
        }
    }

    // The sandbox issues the tokens; one broker per store, one at a time.
    let key = crate::stack::session_key(dir)?;
    let www = dir.join("www");
    std::fs::create_dir_all(&www)?;
    std::fs::write(www.join("index.html"), "<!doctype html><title>bench</title>")?;
    let broker_port = free_port()?;
    let sandbox_config = dir.join("sandbox.toml");
    std::fs::write(
        &sandbox_config,
        valv_testkit::sandbox_toml(CLIENT_ID, CLIENT_SECRET, &format!("http://127.0.0.1:{broker_port}/auth/callback")),
    )?;
    let sandbox_port = free_port()?;
    let mut cmd = Command::new(&bins.sandbox);
    cmd.args(["--addr", &format!("127.0.0.1:{sandbox_port}"), "--controls", "--config"]).arg(&sandbox_config);
    let _sandbox = Server::start("bench-sandbox", cmd)?;
    let bank = format!("http://localhost:{sandbox_port}");
    let redis_port = free_port()?;
    let redis_cmd = valv_testkit::redis::command(&tools.redis_server, redis_port, dir);
    let _redis = Daemon::start("redis-server", redis_cmd, &dir.join("redis.log"), redis_port)?;
    let sqlite = dir.join("sessions.db");
    for f in ["sessions.db", "sessions.db-wal", "sessions.db-shm"] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    let stores: [(&str, String); 3] = [
        ("memory", "memory".to_owned()),
        ("SQLite", format!("sqlite://{}", sqlite.display())),
        ("Redis", format!("redis://127.0.0.1:{redis_port}")),
    ];
    for (name, store) in stores {
        step(&format!("Proxy overhead: the broker, {name} store"));
        let config = dir.join(format!("broker-{name}.toml"));
        let origin = format!("http://127.0.0.1:{broker_port}");
        let toml = crate::stack::broker_toml(&format!("127.0.0.1:{broker_port}"), &origin, &store, &bank, &key, &www, |t| {
            t.api = &api;
            t.client_id = CLIENT_ID;
            // Every limit checked on every call (its cost is measured), none reached.
            t.rate_limits = crate::stack::RATE_LIMITS_UNREACHABLE;
        });
        std::fs::write(&config, toml)?;
        if !rates {
            continue;
        }
        let mut cmd = Command::new(&bins.broker);
        cmd.arg("--config").arg(&config).env("VALV_DEMO_CLIENT_SECRET", CLIENT_SECRET);
        let broker = Server::start(&format!("bench-broker-{name}"), cmd)?;
        let cookie = login_cookie(&agent(), &broker.url)?;
        for (body, path) in bodies {
            let url = format!("{}/api/seb{path}", broker.url);
            let f = measure(tools, &url, &[("cookie", &cookie), ("x-valv-csrf", "1")], d)?;
            note(&format!("broker ({name}) {body}: {f:?}"));
            rows.push((format!("Valv, {name} store"), body, f));
        }
        drop(broker);
    }

    step("CPU work per proxied call (callgrind): nginx, the hyper floor, then the broker");
    let mut work = vec![crate::cpuwork::nginx(tools, dir, bank_port, SMALL, d.counted_calls)?];
    note(&format!("{}: {:.0} instructions per call", work[0].system, work[0].per_call));
    if let Some(floor) = &bins.floor {
        let w = crate::cpuwork::floor(tools, floor, dir, bank_port, SMALL, d.counted_calls)?;
        note(&format!("{}: {:.0} instructions per call", w.system, w.per_call));
        work.push(w);
    }
    let config = dir.join("broker-memory.toml");
    let w = crate::cpuwork::broker(tools, &bins.broker, &config, ("VALV_DEMO_CLIENT_SECRET", CLIENT_SECRET), SMALL, d.counted_calls)?;
    note(&format!("{}: {:.0} instructions per call", w.system, w.per_call));
    work.push(w);
    Ok(Proxy { rows, work })
}

/// Where the benchmark keeps its scratch files.
pub fn scratch() -> PathBuf {
    crate::target_dir().join("bench/proxy")
}
