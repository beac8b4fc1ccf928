//! The cluster benchmarks: a refresh storm (1000 concurrent calls on an expired session over
//! the replicas behind HAProxy, rotation and reuse detection on) and login throughput (full
//! authorization-code logins per second through the sandbox), and the replicas' memory
//! before and after many sessions exist.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};

use crate::cluster::Cluster;
use crate::{note, step};

/// What the refresh storm measured.
#[derive(Debug, Clone, Copy)]
pub struct Storm {
    /// Concurrent calls.
    pub calls: usize,
    /// `refresh_token` calls at the bank (must be 1).
    pub token_calls: u64,
    /// Calls not answered 200 (must be 0).
    pub failures: usize,
    /// From the first call sent to the last answer.
    pub all_served: Duration,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .max_idle_connections_per_host(2000)
        .build()
        .into()
}

fn control(agent: &ureq::Agent, cluster: &Cluster, method: &str, path: &str, body: &str) -> Result<serde_json::Value> {
    let url = format!("{}{path}", cluster.sandbox.url);
    let mut resp = match method {
        "GET" => agent.get(&url).call()?,
        "PUT" => agent.put(&url).header("content-type", "application/json").send(body)?,
        _ => agent.post(&url).header("content-type", "application/json").send(body)?,
    };
    let text = resp.body_mut().read_to_string()?;
    ensure!(resp.status().is_success(), "{method} {path}: {}: {text}", resp.status());
    Ok(if text.is_empty() { serde_json::Value::Null } else { serde_json::from_str(&text)? })
}

fn refresh_calls(agent: &ureq::Agent, cluster: &Cluster) -> Result<u64> {
    let c = control(agent, cluster, "GET", "/__sandbox/counters", "")?;
    Ok(c["tokenCalls"]["refresh_token"].as_u64().unwrap_or(0))
}

/// The refresh storm (see the module header).
pub fn storm(cluster: &Cluster, calls: usize) -> Result<Storm> {
    step(&format!("Refresh storm: {calls} concurrent calls on an expired session over {} replicas", cluster.brokers.len()));
    let agent = agent();
    control(&agent, cluster, "PUT", "/__sandbox/config", r#"{"refreshRotation": true, "reuseDetection": true}"#)?;
    let cookie = crate::proxybench::login_cookie(&agent, &cluster.url)?;
    let expired = control(&agent, cluster, "POST", "/__sandbox/tokens/expire", "")?;
    ensure!(expired["expired"].as_u64().unwrap_or(0) >= 1, "the bank had no token to expire");
    let before = refresh_calls(&agent, cluster)?;
    let barrier = Arc::new(Barrier::new(calls + 1));
    let url = format!("{}/api/seb/ais/v7/identified2/accounts", cluster.url);
    let threads: Vec<_> = (0..calls)
        .map(|_| {
            let (agent, barrier, url, cookie) = (agent.clone(), barrier.clone(), url.clone(), cookie.clone());
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || {
                    barrier.wait();
                    agent
                        .get(&url)
                        .header("cookie", &cookie)
                        .header("x-valv-csrf", "1")
                        .call()
                        .map(|mut r| (r.status().as_u16(), r.body_mut().read_to_string().unwrap_or_default()))
                        .unwrap_or((0, String::new()))
                })
                .context("starting a client thread")
        })
        .collect::<Result<_>>()?;
    barrier.wait();
    let started = Instant::now();
    let mut failures = 0;
    let mut first_failure = None;
    for t in threads {
        let (status, body) = t.join().unwrap_or((0, String::new()));
        if status != 200 {
            failures += 1;
            first_failure.get_or_insert((status, body));
        }
    }
    let all_served = started.elapsed();
    let token_calls = refresh_calls(&agent, cluster)? - before;
    if let Some((status, body)) = first_failure {
        note(&format!("first failure: {status} {}", body.chars().take(200).collect::<String>()));
    }
    Ok(Storm { calls, token_calls, failures, all_served })
}

/// Full logins (broker → bank authorize → callback → session) per second, from `threads`
/// browsers at once for `seconds`.
pub fn logins(cluster: &Cluster, threads: usize, seconds: u64) -> Result<f64> {
    step(&format!("Login throughput: {threads} browsers logging in for {seconds} s through the load balancer"));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let url = cluster.url.clone();
            std::thread::spawn(move || -> Result<u64> {
                let agent = agent();
                let mut n = 0;
                while Instant::now() < deadline {
                    crate::proxybench::login_cookie(&agent, &url)?;
                    n += 1;
                }
                Ok(n)
            })
        })
        .collect();
    let mut total = 0;
    for w in workers {
        total += w.join().map_err(|_| anyhow::anyhow!("a login thread panicked"))??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// Resident memory of every replica (bytes), summed.
pub fn rss(cluster: &Cluster) -> u64 {
    cluster.brokers.iter().filter_map(|b| b.rss()).sum()
}

/// Makes `n` sessions (full logins through the load balancer) and uses each once, so every
/// replica's cache sees its share of them.
pub fn make_sessions(cluster: &Cluster, n: usize, threads: usize) -> Result<()> {
    step(&format!("{n} sessions: a login and one call each, {threads} browsers at a time"));
    let per = n.div_ceil(threads);
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let url = cluster.url.clone();
            std::thread::spawn(move || -> Result<()> {
                let agent = agent();
                for _ in 0..per {
                    let cookie = crate::proxybench::login_cookie(&agent, &url)?;
                    let r = agent
                        .get(format!("{url}/api/seb/ais/v7/identified2/accounts"))
                        .header("cookie", &cookie)
                        .header("x-valv-csrf", "1")
                        .call()?;
                    ensure!(r.status() == 200, "a call of a new session answered {}", r.status());
                }
                Ok(())
            })
        })
        .collect();
    for w in workers {
        w.join().map_err(|_| anyhow::anyhow!("a session thread panicked"))??;
    }
    note(&format!("{} sessions in {:.0} s", per * threads, started.elapsed().as_secs_f64()));
    Ok(())
}
