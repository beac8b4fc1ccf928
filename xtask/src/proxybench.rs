//! Proxy overhead: the same AIS call straight to the sandbox bank and through the broker.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};

use crate::procs::free_port;
use crate::stack::{self, StackOptions};
use crate::{note, root, step};

const PERSON: &str = "9311219639";

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().max_redirects(0).http_status_as_error(false).timeout_global(Some(Duration::from_secs(30))).build().into()
}

/// Cookies the broker set, sent back by hand (the `__Host-` cookie is `Secure`; this is http).
#[derive(Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn take(&mut self, resp: &ureq::http::Response<ureq::Body>) {
        for v in resp.headers().get_all("set-cookie") {
            let Ok(v) = v.to_str() else { continue };
            let pair = v.split(';').next().unwrap_or("");
            if let Some((k, val)) = pair.split_once('=') {
                if val.is_empty() || v.to_ascii_lowercase().contains("max-age=0") {
                    self.0.remove(k.trim());
                } else {
                    self.0.insert(k.trim().to_string(), val.trim().to_string());
                }
            }
        }
    }
    fn header(&self) -> String {
        self.0.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
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
    jar.take(&resp);
    let authorize = location(&resp)?;
    let resp = agent.get(&authorize).call()?;
    let callback = location(&resp)?;
    ensure!(callback.contains("/auth/callback"), "the bank did not send us back to the broker: {}", resp.status());
    let resp = agent.get(&callback).header("cookie", jar.header()).call()?;
    jar.take(&resp);
    ensure!(resp.status().is_redirection(), "callback answered {}", resp.status());
    Ok(())
}

struct Figures {
    p50: Duration,
    p99: Duration,
    per_sec: f64,
}

/// `n` sequential calls; the closure makes one and returns whether it succeeded.
fn measure(n: usize, mut call: impl FnMut() -> Result<()>) -> Result<Figures> {
    for _ in 0..20 {
        call()?; // warm-up: connections, caches
    }
    let mut times = Vec::with_capacity(n);
    let start = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        call()?;
        times.push(t.elapsed());
    }
    let total = start.elapsed();
    times.sort();
    Ok(Figures { p50: times[n / 2], p99: times[(n * 99 / 100).min(n - 1)], per_sec: n as f64 / total.as_secs_f64() })
}

/// Runs the proxy benchmark with release builds of both servers.
pub fn run(requests: usize) -> Result<()> {
    ensure!(requests >= 10, "--requests must be at least 10");
    let state_dir = root().join("target/bench/stack");
    let _ = std::fs::remove_dir_all(&state_dir);
    std::fs::create_dir_all(&state_dir)?;
    let stack = stack::start(&StackOptions {
        broker_port: free_port()?,
        sandbox_port: free_port()?,
        controls: true,
        store: format!("sqlite://{}", state_dir.join("sessions.db").display()),
        cors: Vec::new(),
        state_dir,
        release: true,
    })?;
    step(&format!("Proxy: GET /ais/v7/identified2/accounts × {requests}, direct vs through the broker"));
    let agent = agent();
    let mut jar = Jar::default();
    login(&agent, &stack.broker.url, &mut jar)?;
    let cookie = jar.header();

    // The bearer token the broker holds, read from the sandbox's test controls, for the direct run.
    let sandbox = stack.sandbox.url.clone();
    let mut resp = agent.get(format!("{sandbox}/__sandbox/tokens?personalIdentityNumber={PERSON}")).call()?;
    let issued: serde_json::Value = serde_json::from_str(&resp.body_mut().read_to_string()?)?;
    let token = issued
        .as_array()
        .and_then(|a| a.last())
        .and_then(|t| t.get("access_token").or_else(|| t.get("accessToken")))
        .and_then(|t| t.as_str())
        .context("the sandbox listed no token for the benchmark person")?
        .to_string();

    let mut n = 0u64;
    let direct = measure(requests, || {
        n += 1;
        let resp = agent
            .get(format!("{sandbox}/ais/v7/identified2/accounts"))
            .header("authorization", format!("Bearer {token}"))
            .header("x-request-id", request_id(n))
            .header("psu-ip-address", "127.0.0.1")
            .header("accept", "application/json")
            .call()?;
        check(resp)
    })?;
    let broker = stack.broker.url.clone();
    let proxied = measure(requests, || {
        let resp = agent
            .get(format!("{broker}/api/seb/ais/v7/identified2/accounts"))
            .header("cookie", &cookie)
            .header("x-valv-csrf", "1")
            .header("accept", "application/json")
            .call()?;
        check(resp)
    })?;
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
    note(&format!("{:<24} {:>10} {:>10} {:>12}", "", "p50", "p99", "requests/s"));
    for (name, f) in [("direct to the bank", &direct), ("through the broker", &proxied)] {
        note(&format!("{name:<24} {:>10} {:>10} {:>12.0}", ms(f.p50), ms(f.p99), f.per_sec));
    }
    note(&format!(
        "broker overhead: p50 +{} ({:.2}× direct), throughput {:.2}× direct",
        ms(proxied.p50.saturating_sub(direct.p50)),
        proxied.p50.as_secs_f64() / direct.p50.as_secs_f64(),
        proxied.per_sec / direct.per_sec
    ));
    Ok(())
}

fn check(mut resp: ureq::http::Response<ureq::Body>) -> Result<()> {
    let status = resp.status();
    let body = resp.body_mut().read_to_string()?;
    if !status.is_success() {
        bail!("{status}: {}", body.chars().take(300).collect::<String>());
    }
    Ok(())
}

/// A UUID-shaped request id (the direct call must bring its own, as the broker adds one).
fn request_id(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}
